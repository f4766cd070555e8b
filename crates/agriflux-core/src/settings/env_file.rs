//! Reading and format-preserving editing of a `.env` file.
//!
//! Values are read with `dotenvy` (the same rules as every other tool that reads the file).
//! Edits touch only the value of the key being set: comments, blank lines, order, quoting,
//! `export` prefixes and unknown keys stay byte for byte, and the file keeps its mode.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::SettingsError;

/// A `.env` file held as its original lines, so that edits change nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFile {
    path: PathBuf,
    text: String,
    existed: bool,
}

impl EnvFile {
    /// Loads `path`; a missing file is an empty one (it is created on [`EnvFile::save`]).
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        match fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| SettingsError::EnvNotUtf8 {
                    path: path.to_path_buf(),
                })?;
                Ok(Self {
                    path: path.to_path_buf(),
                    text,
                    existed: true,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_path_buf(),
                text: String::new(),
                existed: false,
            }),
            Err(source) => Err(SettingsError::EnvRead {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current text, with any edits applied.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every key and value, parsed by `dotenvy`; a malformed line is an error naming it.
    pub fn values(&self) -> Result<BTreeMap<String, String>, SettingsError> {
        let mut values = BTreeMap::new();
        for item in dotenvy::from_read_iter(self.text.as_bytes()) {
            let (key, value) = item.map_err(|e| SettingsError::EnvParse {
                path: self.path.clone(),
                message: describe_dotenvy_error(&e, &self.text),
            })?;
            values.insert(key, value);
        }
        Ok(values)
    }

    /// Sets `key` to `value`: rewrites the value of its last assignment in place (keeping an
    /// `export` prefix, the quote style and a trailing comment), or appends `KEY=value`.
    pub fn set(&mut self, key: &str, value: &str) {
        let lines: Vec<&str> = self.text.split_inclusive('\n').collect();
        let found = lines.iter().enumerate().rev().find_map(|(i, line)| {
            parse_assignment(line)
                .filter(|a| a.key == key)
                .map(|a| (i, a))
        });
        match found {
            Some((index, assignment)) => {
                let line = lines[index];
                let rendered = render_value(value, assignment.quote);
                let mut new_line = String::with_capacity(line.len() + value.len());
                new_line.push_str(&line[..assignment.value_start]);
                new_line.push_str(&rendered);
                new_line.push_str(&line[assignment.value_end..]);
                let mut text = String::with_capacity(self.text.len() + value.len());
                for (i, l) in lines.iter().enumerate() {
                    text.push_str(if i == index { &new_line } else { l });
                }
                self.text = text;
            }
            None => {
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push('\n');
                }
                self.text.push_str(key);
                self.text.push('=');
                self.text
                    .push_str(&render_value(value, needs_quotes(value)));
                self.text.push('\n');
            }
        }
    }

    /// Writes the file atomically (temporary file, then rename), keeping the original file's
    /// permissions; a new file gets mode 0600 because it may hold secrets.
    pub fn save(&self) -> Result<(), SettingsError> {
        let write_err = |source| SettingsError::EnvWrite {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let metadata = fs::metadata(&self.path);
        if let Ok(meta) = &metadata
            && meta.permissions().readonly()
        {
            return Err(SettingsError::EnvReadOnly {
                path: self.path.clone(),
            });
        }
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".env".into());
        let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(self.text.as_bytes())?;
            file.sync_all()?;
            set_mode(&tmp, metadata.as_ref().ok())?;
            fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        Ok(())
    }

    /// Whether the file existed when it was loaded.
    pub fn existed(&self) -> bool {
        self.existed
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, original: Option<&fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = original.map_or(0o600, |m| m.permissions().mode() & 0o7777);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _original: Option<&fs::Metadata>) -> std::io::Result<()> {
    Ok(())
}

/// How a value is quoted on its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Where the key and the value sit on one `KEY=value` line.
#[derive(Debug)]
struct Assignment<'a> {
    key: &'a str,
    value_start: usize,
    value_end: usize,
    quote: Quote,
}

fn parse_assignment(line: &str) -> Option<Assignment<'_>> {
    let body_end = line.trim_end_matches(['\n', '\r']).len();
    let body = &line[..body_end];
    let indent = body.len() - body.trim_start().len();
    let mut rest_start = indent;
    if body[rest_start..].starts_with("export ") || body[rest_start..].starts_with("export\t") {
        rest_start += "export".len();
        rest_start += body[rest_start..].len() - body[rest_start..].trim_start().len();
    }
    let rest = &body[rest_start..];
    let eq = rest.find('=')?;
    let key = rest[..eq].trim_end();
    if key.is_empty()
        || key.starts_with('#')
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    let mut value_start = rest_start + eq + 1;
    value_start += body[value_start..].len() - body[value_start..].trim_start().len();
    let value_text = &body[value_start..];
    let (quote, value_len) = match value_text.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let closing = closing_quote(&value_text[1..], q)?;
            (
                if q == '\'' {
                    Quote::Single
                } else {
                    Quote::Double
                },
                closing + 2,
            )
        }
        _ => {
            // An unquoted value ends at a ` #` comment; trailing spaces before it stay as they are.
            let end = value_text.find(" #").or_else(|| value_text.find("\t#"));
            let raw = &value_text[..end.unwrap_or(value_text.len())];
            (Quote::None, raw.trim_end().len())
        }
    };
    Some(Assignment {
        key,
        value_start,
        value_end: value_start + value_len,
        quote,
    })
}

fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn needs_quotes(value: &str) -> Quote {
    if value
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '#' | '"' | '\'' | '\\' | '$' | '='))
    {
        Quote::Double
    } else {
        Quote::None
    }
}

fn render_value(value: &str, quote: Quote) -> String {
    match quote {
        Quote::None if needs_quotes(value) == Quote::None => value.to_string(),
        Quote::Single if !value.contains('\'') => format!("'{value}'"),
        _ => {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
                .replace('\n', "\\n");
            format!("\"{escaped}\"")
        }
    }
}

fn describe_dotenvy_error(error: &dotenvy::Error, text: &str) -> String {
    if let dotenvy::Error::LineParse(line, index) = error {
        let number = text
            .lines()
            .position(|l| l == line || l.trim_end() == line.trim_end())
            .map_or_else(String::new, |n| format!("line {}: ", n + 1));
        format!("{number}cannot parse `{line}` at character {index}")
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSY: &str = "# AgriFlux settings\n\nexport SENTINEL_HUB_CLIENT_ID=\"abc-123\"  # the id\n  SOME_UNKNOWN_KEY='keep me'\nUSE_AI_MODELS=false # set by the pipeline\nEMPTY=\n\n# trailing comment";

    fn env_with(text: &str) -> (tempfile::TempDir, EnvFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, text).unwrap();
        let env = EnvFile::load(&path).unwrap();
        (dir, env)
    }

    #[test]
    fn keeps_comments_when_updating_env() {
        let (_dir, mut env) = env_with(MESSY);
        env.set("USE_AI_MODELS", "true");
        let expected = MESSY.replace("USE_AI_MODELS=false # set", "USE_AI_MODELS=true # set");
        assert_eq!(env.text(), expected);
        env.save().unwrap();
        assert_eq!(fs::read_to_string(env.path()).unwrap(), expected);
    }

    #[test]
    fn keeps_export_prefix_and_quote_style() {
        let (_dir, mut env) = env_with(MESSY);
        env.set("SENTINEL_HUB_CLIENT_ID", "new-id");
        assert!(
            env.text()
                .contains("export SENTINEL_HUB_CLIENT_ID=\"new-id\"  # the id\n")
        );
        env.set("SOME_UNKNOWN_KEY", "still kept");
        assert!(env.text().contains("  SOME_UNKNOWN_KEY='still kept'\n"));
    }

    #[test]
    fn appends_missing_key_after_last_line_without_newline() {
        let (_dir, mut env) = env_with("A=1");
        env.set("USE_AI_MODELS", "true");
        assert_eq!(env.text(), "A=1\nUSE_AI_MODELS=true\n");
    }

    #[test]
    fn creates_missing_file_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let mut env = EnvFile::load(&path).unwrap();
        assert!(!env.existed());
        env.set("USE_AI_MODELS", "true");
        env.save().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "USE_AI_MODELS=true\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn keeps_file_mode_when_saving() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, mut env) = env_with("A=1\n");
        fs::set_permissions(env.path(), fs::Permissions::from_mode(0o640)).unwrap();
        env.set("A", "2");
        env.save().unwrap();
        assert_eq!(
            fs::metadata(env.path()).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn reads_values_with_dotenv_rules() {
        let (_dir, env) = env_with(MESSY);
        let values = env.values().unwrap();
        assert_eq!(values["SENTINEL_HUB_CLIENT_ID"], "abc-123");
        assert_eq!(values["SOME_UNKNOWN_KEY"], "keep me");
        assert_eq!(values["USE_AI_MODELS"], "false");
        assert_eq!(values["EMPTY"], "");
    }

    #[test]
    fn malformed_line_names_the_line() {
        let (_dir, env) = env_with("A=1\nthis line is not an assignment\n");
        let err = env.values().unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn quotes_values_that_need_it() {
        let (_dir, mut env) = env_with("");
        env.set("AGRIFLUX_NOTE", "two words # not a comment");
        let values = env.values().unwrap();
        assert_eq!(values["AGRIFLUX_NOTE"], "two words # not a comment");
    }

    #[test]
    fn updates_last_assignment_of_a_repeated_key() {
        let (_dir, mut env) = env_with("A=1\nA=2\n");
        env.set("A", "3");
        assert_eq!(env.text(), "A=1\nA=3\n");
        assert_eq!(env.values().unwrap()["A"], "3");
    }

    #[cfg(unix)]
    #[test]
    fn read_only_env_gives_clear_error_and_is_untouched() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, mut env) = env_with("A=1\n");
        fs::set_permissions(env.path(), fs::Permissions::from_mode(0o444)).unwrap();
        env.set("A", "2");
        let err = env.save().unwrap_err().to_string();
        assert!(err.contains("read-only"), "{err}");
        assert_eq!(
            fs::read_to_string(dir.path().join(".env")).unwrap(),
            "A=1\n"
        );
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let (_dir, mut env) = env_with("# c\r\nUSE_AI_MODELS=false\r\nB=2\r\n");
        env.set("USE_AI_MODELS", "true");
        assert_eq!(env.text(), "# c\r\nUSE_AI_MODELS=true\r\nB=2\r\n");
    }
}
