//! The `.env` keys outside the settings form: the ones the crop-monitoring system that reads
//! the same file uses (a database path, a weather API key …). Listed in file order with their
//! comments, edited, added and removed through the same writer as the form. A key whose name
//! says it is a secret ([`is_secret_name`]) is never sent out: only whether it is set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{EnvFile, SettingsChange, SettingsError, USE_AI_MODELS_KEY, is_secret_name};

/// One key of `.env` that the form does not show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct EnvKeyView {
    /// The key.
    pub key: String,
    /// Its value as read (`""` for a secret, which is never sent).
    pub value: String,
    /// Whether the name says it is a secret: shown as set or not, replaced, never read.
    pub secret: bool,
    /// Whether it has a non-empty value.
    pub is_set: bool,
    /// The `#` lines right above it and its trailing comment.
    pub comment: Option<String>,
    /// The (1-based) line of the assignment that is used.
    pub line: u32,
}

/// A key assigned on more than one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct DuplicateKey {
    /// The key.
    pub key: String,
    /// Every line that assigns it, in order.
    pub lines: Vec<u32>,
    /// The line whose value is used: the last one, as AgriFlux (and python-dotenv) read the
    /// file. Edits change that line; removing the key removes every line.
    pub used_line: u32,
}

/// An edit of a key outside the form.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EnvKeyEdit {
    /// Sets (or adds) a key; for a secret that is set, `""` keeps the stored value.
    Set {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Removes every assignment of a key.
    Remove {
        /// The key.
        key: String,
    },
}

impl EnvKeyEdit {
    /// The key edited.
    pub fn key(&self) -> &str {
        match self {
            Self::Set { key, .. } | Self::Remove { key } => key,
        }
    }
}

/// The keys of `file` outside `form_keys` (and `USE_AI_MODELS`, which has its own switch), in
/// the order of their first assignment, and every key assigned more than once.
pub fn other_keys(
    file: &EnvFile,
    form_keys: &[String],
) -> Result<(Vec<EnvKeyView>, Vec<DuplicateKey>), SettingsError> {
    let values = file.values()?;
    let entries = file.entries();
    let mut lines: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for entry in &entries {
        lines
            .entry(entry.key.as_str())
            .or_default()
            .push(entry.line as u32);
    }
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    for entry in &entries {
        let key = entry.key.as_str();
        if !seen.insert(key) || key == USE_AI_MODELS_KEY || form_keys.iter().any(|k| k == key) {
            continue;
        }
        let used = entries.iter().rev().find(|e| e.key == key).unwrap_or(entry);
        let value = values.get(key).cloned().unwrap_or_default();
        let secret = is_secret_name(key);
        keys.push(EnvKeyView {
            key: key.to_string(),
            is_set: !value.trim().is_empty(),
            value: if secret { String::new() } else { value },
            secret,
            comment: used.comment.clone().or_else(|| entry.comment.clone()),
            line: used.line as u32,
        });
    }
    let duplicates = lines
        .into_iter()
        .filter(|(_, lines)| lines.len() > 1)
        .map(|(key, lines)| DuplicateKey {
            key: key.to_string(),
            used_line: *lines.last().expect("more than one line"),
            lines,
        })
        .collect();
    Ok((keys, duplicates))
}

/// Whether `key` is a name `.env` readers accept everywhere: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A reason per key for each edit that cannot be made: a bad name for a new key, a key the
/// form or the AI-models switch edits, a value on several lines, or the same key edited twice.
/// A key already in the file (`existing`) keeps its name whatever it is (dotenv readers accept
/// `a.b`), so that every key the panel lists can be edited and removed.
pub fn check_env_edits(
    edits: &[EnvKeyEdit],
    form_keys: &[String],
    existing: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for edit in edits {
        let key = edit.key();
        let reason = if !is_valid_key(key) && !existing.contains_key(key) {
            Some(if key.is_empty() {
                "a key needs a name".to_string()
            } else {
                "a key is letters, digits and _, and does not start with a digit".to_string()
            })
        } else if key == USE_AI_MODELS_KEY {
            Some("switched with the AI-models switch at the top of Settings".to_string())
        } else if form_keys.iter().any(|k| k == key) {
            Some("edited in the form above".to_string())
        } else if !seen.insert(key) {
            Some("edited twice in one save".to_string())
        } else if matches!(edit, EnvKeyEdit::Set { value, .. } if value.contains(['\n', '\r'])) {
            Some("must be a single line".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            errors.insert(key.to_string(), reason);
        }
    }
    errors
}

/// Applies checked `edits` to `file`, whose values were `before`; returns what changed (a
/// secret masked). A secret set to `""` keeps its value.
pub fn apply_env_edits(
    file: &mut EnvFile,
    before: &BTreeMap<String, String>,
    edits: &[EnvKeyEdit],
) -> Vec<SettingsChange> {
    let mut changes = Vec::new();
    for edit in edits {
        let key = edit.key();
        let old = before.get(key);
        match edit {
            EnvKeyEdit::Set { value, .. } => {
                let keep_secret = is_secret_name(key) && value.is_empty() && old.is_some();
                if keep_secret || old == Some(value) {
                    continue;
                }
                file.set(key, value);
                changes.push(SettingsChange::new(
                    key,
                    old.map_or("", String::as_str),
                    value,
                ));
            }
            EnvKeyEdit::Remove { .. } => {
                if file.remove(key) {
                    changes.push(SettingsChange::removed(key, old.map_or("", String::as_str)));
                }
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "\
# AgriFlux
AGRIFLUX_SEED=7

# the monitoring system's database
export DATABASE_PATH=\"/var/lib/crops/db.sqlite\"   # sqlite
WEATHER_API_KEY='wk-9f8e7d6c5b'
REPORT_TITLE='North farm'
REPORT_TITLE=\"South farm\" # this one is used
USE_AI_MODELS=false
";

    fn file(text: &str) -> (tempfile::TempDir, EnvFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, text).unwrap();
        let file = EnvFile::load(&path).unwrap();
        (dir, file)
    }

    fn form() -> Vec<String> {
        vec!["AGRIFLUX_SEED".to_string()]
    }

    #[test]
    fn lists_the_keys_outside_the_form_in_file_order_with_the_secret_masked() {
        let (_dir, env) = file(ENV);
        let (keys, duplicates) = other_keys(&env, &form()).unwrap();
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(names, ["DATABASE_PATH", "WEATHER_API_KEY", "REPORT_TITLE"]);
        assert_eq!(keys[0].value, "/var/lib/crops/db.sqlite");
        assert_eq!(
            keys[0].comment.as_deref(),
            Some("the monitoring system's database · sqlite")
        );
        assert!(keys[1].secret && keys[1].is_set && keys[1].value.is_empty());
        assert!(!serde_json::to_string(&keys).unwrap().contains("wk-9f8e"));
        assert_eq!(keys[2].value, "South farm");
        assert_eq!(keys[2].line, 8);
        assert_eq!(
            duplicates,
            [DuplicateKey {
                key: "REPORT_TITLE".into(),
                lines: vec![7, 8],
                used_line: 8
            }]
        );
    }

    #[test]
    fn rejects_invalid_key_names_and_keys_of_the_form() {
        let set = |key: &str| EnvKeyEdit::Set {
            key: key.into(),
            value: "x".into(),
        };
        let mut edits = vec![
            set("1ST_KEY"),
            set("MY-KEY"),
            set("MY KEY"),
            set(""),
            set("AGRIFLUX_SEED"),
            set("USE_AI_MODELS"),
            set("_OK_1"),
            EnvKeyEdit::Set {
                key: "TWO_LINES".into(),
                value: "a\nb".into(),
            },
            set("TWICE"),
            EnvKeyEdit::Remove {
                key: "TWICE".into(),
            },
        ];
        let existing: BTreeMap<String, String> = [("app.mode".to_string(), "field".to_string())]
            .into_iter()
            .collect();
        edits.push(set("app.mode"));
        let errors = check_env_edits(&edits, &form(), &existing);
        for key in ["1ST_KEY", "MY-KEY", "MY KEY"] {
            assert!(errors[key].contains("letters, digits and _"), "{key}");
        }
        assert!(
            !errors.contains_key("app.mode"),
            "a key already in .env can be edited whatever its name"
        );
        assert!(errors[""].contains("needs a name"));
        assert!(errors["AGRIFLUX_SEED"].contains("form above"));
        assert!(errors["USE_AI_MODELS"].contains("AI-models switch"));
        assert!(errors["TWO_LINES"].contains("single line"));
        assert!(errors["TWICE"].contains("twice"));
        assert!(!errors.contains_key("_OK_1"));
    }

    #[test]
    fn edits_the_used_line_of_a_duplicate_and_removal_removes_every_line() {
        let (_dir, mut env) = file(ENV);
        let before = env.values().unwrap();
        let changes = apply_env_edits(
            &mut env,
            &before,
            &[EnvKeyEdit::Set {
                key: "REPORT_TITLE".into(),
                value: "East farm".into(),
            }],
        );
        assert_eq!(
            changes,
            [SettingsChange::new(
                "REPORT_TITLE",
                "South farm",
                "East farm"
            )]
        );
        assert_eq!(
            env.text(),
            ENV.replace("\"South farm\" # this", "\"East farm\" # this")
        );
        let changes = apply_env_edits(
            &mut env,
            &before,
            &[EnvKeyEdit::Remove {
                key: "REPORT_TITLE".into(),
            }],
        );
        assert_eq!(changes[0].to, "(removed)");
        assert!(!env.text().contains("REPORT_TITLE"));
    }

    #[test]
    fn a_secret_is_replaced_never_read_and_an_empty_field_keeps_it() {
        let (_dir, mut env) = file(ENV);
        let before = env.values().unwrap();
        let keep = apply_env_edits(
            &mut env,
            &before,
            &[EnvKeyEdit::Set {
                key: "WEATHER_API_KEY".into(),
                value: String::new(),
            }],
        );
        assert!(keep.is_empty());
        assert_eq!(env.text(), ENV);
        let replaced = apply_env_edits(
            &mut env,
            &before,
            &[EnvKeyEdit::Set {
                key: "WEATHER_API_KEY".into(),
                value: "wk-new-value".into(),
            }],
        );
        assert_eq!(replaced[0].from, "(set)");
        assert_eq!(replaced[0].to, "(changed)");
        assert!(env.text().contains("WEATHER_API_KEY='wk-new-value'\n"));
    }
}
