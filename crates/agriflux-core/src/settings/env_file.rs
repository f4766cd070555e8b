//! Reading and format-preserving editing of a `.env` file.
//!
//! Values are read with `dotenvy` (the same rules as every other tool that reads the file).
//! Edits touch only the value of the key being set: comments, blank lines, order, quoting,
//! `export` prefixes, unknown keys, a byte-order mark and CRLF line ends stay as they are, and
//! the file keeps its mode.
//!
//! The file holds the Sentinel Hub client secret, so no error ever quotes its content: a parse
//! error names the file, the line number and the key only. Saving is atomic and private (a
//! 0600 temporary file beside the target, fsynced, renamed, the folder fsynced), edits a
//! symlinked `.env` at its target, refuses a value that would not read back equal, and runs
//! under [`EnvLock`] so that the app's Save and a run's step 8 never lose each other's edits.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::SettingsError;
use crate::atomic_file::{self, Access};

/// A `.env` file held as its original lines, so that edits change nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFile {
    path: PathBuf,
    text: String,
    existed: bool,
    /// The file started with a UTF-8 byte-order mark (kept on save).
    bom: bool,
    /// The values set (`None`: removed) since loading, checked to read back before saving.
    edited: Vec<(String, Option<String>)>,
}

const BOM: char = '\u{feff}';

impl EnvFile {
    /// Loads `path`; a missing file is an empty one (it is created on [`EnvFile::save`]).
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        match fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| SettingsError::EnvNotUtf8 {
                    path: path.to_path_buf(),
                })?;
                let bom = text.starts_with(BOM);
                Ok(Self {
                    path: path.to_path_buf(),
                    text: text.trim_start_matches(BOM).to_string(),
                    existed: true,
                    bom,
                    edited: Vec::new(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_path_buf(),
                existed: false,
                ..Self::default()
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

    /// Every key and value, parsed by `dotenvy`; a malformed line is an error naming its
    /// number and key, never its content (it may be the secret).
    pub fn values(&self) -> Result<BTreeMap<String, String>, SettingsError> {
        parse(&self.text).map_err(|e| SettingsError::EnvParse {
            path: self.path.clone(),
            message: describe_parse_error(&e, &self.text),
        })
    }

    /// Sets `key` to `value`: rewrites the value of its last assignment in place (keeping an
    /// `export` prefix, the quote style and a trailing comment), or appends `KEY=value`.
    pub fn set(&mut self, key: &str, value: &str) {
        self.edited.push((key.to_string(), Some(value.to_string())));
        let last = logical_lines(&self.text)
            .into_iter()
            .rev()
            .find_map(|span| {
                parse_assignment(&self.text[span.clone()])
                    .filter(|a| a.key == key)
                    .map(|a| {
                        (
                            span.start + a.value_start,
                            span.start + a.value_end,
                            a.quote,
                        )
                    })
            });
        match last {
            Some((start, end, quote)) => {
                self.text
                    .replace_range(start..end, &render_value(value, quote));
            }
            None => {
                let eol = self.line_end();
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push_str(eol);
                }
                self.text.push_str(key);
                self.text.push('=');
                self.text
                    .push_str(&render_value(value, needs_quotes(value)));
                self.text.push_str(eol);
            }
        }
    }

    /// Removes every assignment of `key` (each whole line, a multi-line value's lines
    /// included); comments and every other line stay. Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.edited.push((key.to_string(), None));
        let spans: Vec<_> = logical_lines(&self.text)
            .into_iter()
            .filter(|span| parse_assignment(&self.text[span.clone()]).is_some_and(|a| a.key == key))
            .collect();
        for span in spans.iter().rev() {
            self.text.replace_range(span.clone(), "");
        }
        !spans.is_empty()
    }

    /// Every assignment of the file in file order, with its line and comment. A key assigned
    /// more than once appears once per assignment; [`EnvFile::values`] takes the last.
    pub fn entries(&self) -> Vec<EnvEntry> {
        let mut entries = Vec::new();
        // The `#` lines right above the current line, with no blank line in between.
        let mut comment_above: Vec<&str> = Vec::new();
        for span in logical_lines(&self.text) {
            let text = &self.text[span.clone()];
            let trimmed = text.trim();
            if let Some(comment) = trimmed.strip_prefix('#') {
                comment_above.push(comment.trim());
                continue;
            }
            if let Some(a) = parse_assignment(text) {
                let after = text[a.value_end..].trim();
                let trailing = after
                    .strip_prefix('#')
                    .map(str::trim)
                    .filter(|c| !c.is_empty());
                let above = comment_above.join(" ");
                let comment = match (above.is_empty(), trailing) {
                    (false, Some(t)) => Some(format!("{above} · {t}")),
                    (false, None) => Some(above),
                    (true, t) => t.map(str::to_string),
                };
                entries.push(EnvEntry {
                    key: a.key.to_string(),
                    line: self.text[..span.start].matches('\n').count() + 1,
                    comment,
                });
            }
            comment_above.clear();
        }
        entries
    }

    /// The file's line end: CRLF when it already uses them.
    fn line_end(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Writes the file atomically and privately, keeping the original file's permissions (a
    /// new file gets mode 0600 because it may hold secrets). A symlinked file is written at
    /// its target. The new text is parsed first: a value set since loading that would not
    /// read back equal is refused with an error naming its key, and nothing is written.
    ///
    /// Callers that read, edit and write hold [`EnvFile::lock`] around all three.
    pub fn save(&self) -> Result<(), SettingsError> {
        let not_parsed = self.values().map_err(|e| match e {
            SettingsError::EnvParse { path, message } => SettingsError::EnvParse {
                path,
                message: format!("{message} (after the edit; nothing was written)"),
            },
            other => other,
        })?;
        for (key, value) in &self.edited {
            if not_parsed.get(key) != value.as_ref() {
                return Err(SettingsError::EnvValueNotRoundTrip {
                    path: self.path.clone(),
                    key: key.clone(),
                });
            }
        }
        let target = resolve_target(&self.path).map_err(|source| SettingsError::EnvWrite {
            path: self.path.clone(),
            source,
        })?;
        let write_err = |source| SettingsError::EnvWrite {
            path: target.clone(),
            source,
        };
        let metadata = fs::metadata(&target);
        if let Ok(meta) = &metadata
            && meta.permissions().readonly()
        {
            return Err(SettingsError::EnvReadOnly {
                path: self.path.clone(),
            });
        }
        // Private from the first byte (the secret is never readable by others, not even for a
        // moment), then given the original file's mode if there was one.
        atomic_file::write_with(&target, Access::Private, |file| {
            if self.bom {
                file.write_all(BOM.to_string().as_bytes())?;
            }
            file.write_all(self.text.as_bytes())?;
            restore_mode(file, metadata.as_ref().ok())
        })
        .map_err(write_err)
    }

    /// Takes the `.env` edit lock (an `flock` on `.env.lock` beside the file, or beside its
    /// target when it is a symlink), waiting for another holder: the app's Save, the CLI
    /// and step 8 hold it around read-edit-write. A separate file, because `.env` itself is
    /// replaced by each save and a lock on a replaced file protects nothing.
    pub fn lock(path: &Path) -> Result<EnvLock, SettingsError> {
        let target = resolve_target(path).map_err(|source| SettingsError::EnvWrite {
            path: path.to_path_buf(),
            source,
        })?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".env".into());
        let lock_path = parent_dir(&target).join(format!("{name}.lock"));
        let io = |source| SettingsError::EnvWrite {
            path: lock_path.clone(),
            source,
        };
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(EnvLock { _file: file })
    }

    /// Loads `path`, applies `edit` and saves when it returns `true`, all under
    /// [`EnvFile::lock`]; returns the file as saved.
    pub fn update(
        path: &Path,
        edit: impl FnOnce(&mut EnvFile) -> Result<bool, SettingsError>,
    ) -> Result<EnvFile, SettingsError> {
        let _lock = Self::lock(path)?;
        let mut file = Self::load(path)?;
        if edit(&mut file)? {
            file.save()?;
        }
        Ok(file)
    }

    /// Whether the file existed when it was loaded.
    pub fn existed(&self) -> bool {
        self.existed
    }
}

/// One assignment of a `.env` file, as [`EnvFile::entries`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    /// The key.
    pub key: String,
    /// The (1-based) line where the assignment starts.
    pub line: usize,
    /// The `#` lines right above it and its trailing `# comment`, without the `#`.
    pub comment: Option<String>,
}

/// The `.env` edit lock; released when dropped (or when the process ends, by the kernel).
#[derive(Debug)]
pub struct EnvLock {
    _file: fs::File,
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The file a save replaces: `path` itself, or what its symlinks lead to (a dangling link's
/// target is created).
fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&target)?;
                target = parent_dir(&target).join(link);
            }
            Ok(_) => return Ok(target),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn restore_mode(file: &fs::File, original: Option<&fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match original {
        Some(meta) => file.set_permissions(fs::Permissions::from_mode(
            meta.permissions().mode() & 0o7777,
        )),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn restore_mode(_file: &fs::File, _original: Option<&fs::Metadata>) -> std::io::Result<()> {
    Ok(())
}

/// Where dotenvy's line splitter is at the end of a physical line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SplitState {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    WhiteSpace,
}

/// The byte ranges of the file's logical lines (a quoted value may span several physical
/// lines), each with its line end. This mirrors dotenvy's private line splitter state for
/// state, so that an edit finds the same assignments dotenvy reads: no crate exposes it.
fn logical_lines(text: &str) -> Vec<std::ops::Range<usize>> {
    use SplitState::*;
    let mut spans = Vec::new();
    let mut start = 0;
    let mut end = 0;
    let mut state = Complete;
    for line in text.split_inclusive('\n') {
        end += line.len();
        if start + line.len() == end && line.trim_start().starts_with('#') {
            spans.push(start..end);
            start = end;
            continue;
        }
        let mut comment = false;
        for c in line.chars() {
            state = match state {
                WhiteSpace if c == '#' => {
                    comment = true;
                    break;
                }
                WhiteSpace => match c {
                    '\\' => Escape,
                    '"' => WeakOpen,
                    '\'' => StrongOpen,
                    _ => Complete,
                },
                Escape => Complete,
                Complete => match c {
                    c if c.is_whitespace() && c != '\n' && c != '\r' => WhiteSpace,
                    '\\' => Escape,
                    '"' => WeakOpen,
                    '\'' => StrongOpen,
                    _ => Complete,
                },
                WeakOpen => match c {
                    '\\' => WeakOpenEscape,
                    '"' => Complete,
                    _ => WeakOpen,
                },
                WeakOpenEscape => WeakOpen,
                StrongOpen => match c {
                    '\\' => StrongOpenEscape,
                    '\'' => Complete,
                    _ => StrongOpen,
                },
                StrongOpenEscape => StrongOpen,
            };
        }
        if comment || state == Complete {
            spans.push(start..end);
            start = end;
            state = Complete;
        }
    }
    if start < text.len() {
        // An unclosed quote runs to the end; `values` reports it as a parse error.
        spans.push(start..text.len());
    }
    spans
}

fn parse(text: &str) -> Result<BTreeMap<String, String>, dotenvy::Error> {
    let mut values = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (key, value) = item?;
        values.insert(key, value);
    }
    Ok(values)
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
        // Single quotes take a value literally, but dotenvy's line splitter still treats a
        // backslash before the closing quote as an escape, and a newline as a new line.
        Quote::Single if !value.contains(['\'', '\\', '\n', '\r']) => format!("'{value}'"),
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

/// Says where the file does not parse without quoting any of it: dotenvy's error carries
/// the offending line or value, which may be the secret.
fn describe_parse_error(error: &dotenvy::Error, text: &str) -> String {
    let dotenvy::Error::LineParse(fragment, _) = error else {
        return "it cannot be read as KEY=value lines".into();
    };
    let line = locate(text, fragment);
    let key = line.and_then(|n| text.lines().nth(n)).and_then(parse_key);
    let place = match (line, key) {
        (Some(n), Some(key)) => format!("line {} (key {key})", n + 1),
        (Some(n), None) => format!("line {}", n + 1),
        (None, _) => "a line".into(),
    };
    format!(
        "{place} is not a valid KEY=value assignment (check its quotes, spaces and backslashes; \
         a value with spaces needs quotes)"
    )
}

/// The (0-based) line where the logical line that fails to parse starts: the first place the
/// fragment dotenvy reports occurs such that the text before it parses and the text through it
/// does not.
fn locate(text: &str, fragment: &str) -> Option<usize> {
    let needle = fragment.trim_end_matches(['\n', '\r']);
    if needle.is_empty() {
        return None;
    }
    text.match_indices(needle).find_map(|(pos, _)| {
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let end = pos + needle.len();
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        (parse(&text[..line_start]).is_ok() && parse(&text[..line_end]).is_err())
            .then(|| text[..line_start].matches('\n').count())
    })
}

/// The key of a `KEY=...` or `export KEY=...` line, if it has a well-formed one.
fn parse_key(line: &str) -> Option<&str> {
    let rest = line.trim_start();
    let rest = rest
        .strip_prefix("export")
        .filter(|r| r.starts_with([' ', '\t']))
        .map_or(rest, str::trim_start);
    let key = rest[..rest.find('=')?].trim_end();
    (!key.is_empty()
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then_some(key)
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

    const SECRET: &str = "s3cr3t-Value-42";

    fn parse_error(text: &str) -> String {
        let (_dir, env) = env_with(text);
        env.values().unwrap_err().to_string()
    }

    #[test]
    fn parse_errors_name_line_and_key_but_never_the_value() {
        for (text, line) in [
            (
                format!("A=1\nSENTINEL_HUB_CLIENT_SECRET=\"{SECRET}\nB=2\n"),
                "line 2",
            ),
            (
                format!("A=1\n\nSENTINEL_HUB_CLIENT_SECRET={SECRET} x\n"),
                "line 3",
            ),
            (
                format!("SENTINEL_HUB_CLIENT_SECRET={SECRET}\\q\n"),
                "line 1",
            ),
            (
                format!("# c\nSENTINEL_HUB_CLIENT_SECRET='{SECRET}\n"),
                "line 2",
            ),
        ] {
            let err = parse_error(&text);
            assert!(!err.contains(SECRET), "{err}");
            assert!(!err.contains("s3cr3t"), "{err}");
            assert!(err.contains(line), "{text:?}: {err}");
            assert!(err.contains("key SENTINEL_HUB_CLIENT_SECRET"), "{err}");
            assert!(err.contains(".env"), "{err}");
        }
    }

    #[test]
    fn accepts_and_keeps_a_byte_order_mark() {
        let (_dir, mut env) = env_with(&format!("\u{feff}SENTINEL_HUB_CLIENT_SECRET={SECRET}\n"));
        assert_eq!(env.values().unwrap()["SENTINEL_HUB_CLIENT_SECRET"], SECRET);
        env.set("A", "1");
        env.save().unwrap();
        let bytes = fs::read(env.path()).unwrap();
        assert!(bytes.starts_with("\u{feff}SENTINEL_HUB".as_bytes()));
        assert_eq!(
            EnvFile::load(env.path()).unwrap().values().unwrap()["A"],
            "1"
        );
    }

    #[test]
    fn new_keys_take_the_files_crlf_line_ends() {
        let (_dir, mut env) = env_with("A=1\r\nB=2\r\n");
        env.set("C", "3");
        assert_eq!(env.text(), "A=1\r\nB=2\r\nC=3\r\n");
    }

    #[test]
    fn a_trailing_backslash_in_a_single_quoted_value_reads_back() {
        let (_dir, mut env) = env_with("A='x'\nB=2\n");
        env.set("A", "C:\\dir\\");
        env.save().unwrap();
        let values = EnvFile::load(env.path()).unwrap().values().unwrap();
        assert_eq!(values["A"], "C:\\dir\\");
        assert_eq!(values["B"], "2");
    }

    #[test]
    fn a_key_inside_a_multi_line_value_is_not_an_assignment() {
        // `A=1` here is inside NOTE's quoted value, as dotenvy reads it: setting A appends it.
        let text = "NOTE=\"first\nA=1\n\"\n";
        let (_dir, mut env) = env_with(text);
        env.set("A", "2");
        env.save().unwrap();
        assert_eq!(
            fs::read_to_string(env.path()).unwrap(),
            format!("{text}A=2\n")
        );
        let values = env.values().unwrap();
        assert_eq!(values["NOTE"], "first\nA=1\n");
        assert_eq!(values["A"], "2");
    }

    #[test]
    fn refuses_to_save_an_edit_that_would_not_read_back_and_writes_nothing() {
        // The safety net under `set` and `remove`: an edit the new text would not give back
        // (here recorded without touching the text) is refused, naming its key.
        let (_dir, mut env) = env_with("A=1\n");
        env.edited.push(("A".into(), Some("2".into())));
        let err = env.save().unwrap_err();
        assert!(
            matches!(&err, SettingsError::EnvValueNotRoundTrip { key, .. } if key == "A"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(env.path()).unwrap(), "A=1\n");
    }

    #[test]
    fn a_multi_line_value_is_edited_and_removed_whole() {
        let text = "# note\nNOTE=\"first\nsecond\" # two lines\nB=2\n";
        let (_dir, mut env) = env_with(text);
        env.set("NOTE", "one line");
        assert_eq!(env.text(), "# note\nNOTE=\"one line\" # two lines\nB=2\n");
        let (_dir, mut env) = env_with(text);
        assert!(env.remove("NOTE"));
        assert_eq!(env.text(), "# note\nB=2\n");
    }

    #[test]
    fn removing_a_key_keeps_every_other_byte() {
        let (_dir, mut env) = env_with(MESSY);
        assert!(env.remove("SOME_UNKNOWN_KEY"));
        assert_eq!(
            env.text(),
            MESSY.replace("  SOME_UNKNOWN_KEY='keep me'\n", "")
        );
        env.save().unwrap();
        assert!(!env.values().unwrap().contains_key("SOME_UNKNOWN_KEY"));
        assert!(!env.remove("NOT_THERE"));
    }

    #[test]
    fn removing_a_repeated_key_removes_every_assignment() {
        let (_dir, mut env) = env_with("A=1\r\nB=2\r\nA=3\r\n");
        env.remove("A");
        assert_eq!(env.text(), "B=2\r\n");
    }

    #[test]
    fn lists_assignments_in_file_order_with_their_lines_and_comments() {
        let (_dir, env) = env_with(
            "# header\n\n# the database\n# of the farm\nexport DB='x' # sqlite\nA=1\n\n# about B\nB=\"two\nlines\"\nA=2\n",
        );
        let listed: Vec<(String, usize, Option<String>)> = env
            .entries()
            .into_iter()
            .map(|e| (e.key, e.line, e.comment))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    "DB".into(),
                    5,
                    Some("the database of the farm · sqlite".into())
                ),
                ("A".into(), 6, None),
                ("B".into(), 9, Some("about B".into())),
                ("A".into(), 11, None),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_env_is_edited_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("settings.env");
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("settings.env", &link).unwrap();
        let mut env = EnvFile::load(&link).unwrap();
        env.set("A", "2");
        env.save().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "A=2\n");
    }

    #[cfg(unix)]
    #[test]
    fn saving_leaves_no_temporary_file_and_a_private_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        EnvFile::update(&path, |env| {
            env.set("SENTINEL_HUB_CLIENT_SECRET", SECRET);
            Ok(true)
        })
        .unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".env", ".env.lock"]);
    }

    #[test]
    fn concurrent_saves_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, "# shared\n").unwrap();
        let writers: Vec<_> = ["APP", "STEP"]
            .into_iter()
            .map(|who| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..40 {
                        EnvFile::update(&path, |env| {
                            env.set(&format!("{who}_{i}"), &i.to_string());
                            env.set(&format!("{who}_LAST"), &i.to_string());
                            Ok(true)
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let values = EnvFile::load(&path).unwrap().values().unwrap();
        for who in ["APP", "STEP"] {
            for i in 0..40 {
                assert_eq!(values[&format!("{who}_{i}")], i.to_string());
            }
            assert_eq!(values[&format!("{who}_LAST")], "39");
        }
    }

    mod round_trip {
        use proptest::prelude::*;

        use super::*;

        fn value() -> impl Strategy<Value = String> {
            // Biased towards the characters that need quoting or escaping.
            proptest::collection::vec(
                prop_oneof![
                    3 => proptest::char::range('a', 'z'),
                    1 => proptest::sample::select(vec![
                        '"', '\'', '\\', '#', ' ', '\t', '\n', '$', '=', '{', '}', 'é', '\u{feff}',
                    ]),
                    1 => any::<char>(),
                ],
                0..24,
            )
            .prop_map(|chars| chars.into_iter().collect())
        }

        proptest! {
            #[test]
            fn any_value_written_reads_back_equal(
                value in value(),
                line in proptest::sample::select(vec![
                    "", "K=old\n", "K='old'\n", "K=\"old\"\n", "export K=old # c\n", "K=old\r\n",
                ]),
            ) {
                let (_dir, mut env) = env_with(&format!("A=1\n{line}B=2\n"));
                env.set("K", &value);
                env.save().unwrap();
                let values = EnvFile::load(env.path()).unwrap().values().unwrap();
                prop_assert_eq!(&values["K"], &value);
                prop_assert_eq!(&values["A"], "1");
                prop_assert_eq!(&values["B"], "2");
            }
        }
    }
}
