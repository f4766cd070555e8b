//! The `.env` change log, `logs/env_changes.jsonl` in the work directory: one JSON line per
//! write of `.env` (the settings panel, step 8, `agriflux models`) saying when, by whom and
//! which keys changed. A secret's value is never written, only `(set)`, `(changed)` or
//! `(removed)`; a key is a secret by its name ([`is_secret_name`]).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{EnvFile, SettingsError, USE_AI_MODELS_KEY};

/// The log's file name, under the work directory's `logs/`.
pub const ENV_LOG_FILE: &str = "env_changes.jsonl";

/// One key written to `.env`; a secret's values appear only as `(set)`, `(changed)` or
/// `(removed)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SettingsChange {
    /// The key.
    pub key: String,
    /// The old value (`""` when it was unset).
    pub from: String,
    /// The new value (`""` when it was removed).
    pub to: String,
}

impl SettingsChange {
    /// The change of `key` from `old` to `new` (`""`: unset), a secret's values masked.
    pub fn new(key: &str, old: &str, new: &str) -> Self {
        if !is_secret_name(key) {
            return Self {
                key: key.into(),
                from: old.into(),
                to: new.into(),
            };
        }
        let from = if old.is_empty() { "" } else { "(set)" };
        let to = match (old.is_empty(), new.is_empty()) {
            (_, true) => "(removed)",
            (true, false) => "(set)",
            (false, false) => "(changed)",
        };
        Self {
            key: key.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// The removal of `key`, whose value was `old`: `to` is `(removed)` (a secret's `from`
    /// masked as by [`SettingsChange::new`]).
    pub fn removed(key: &str, old: &str) -> Self {
        Self {
            to: "(removed)".into(),
            ..Self::new(key, old, "")
        }
    }
}

/// One write of `.env`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnvChangeRecord {
    /// ISO 8601 time of the write.
    pub at: String,
    /// Who wrote: `settings panel`, `step 8 of run <id>`, `agriflux models off` …
    pub by: String,
    /// The run whose step 8 wrote, if a run did.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The keys written.
    pub changes: Vec<SettingsChange>,
}

/// Whether a key's value is a secret, by its name: `…_SECRET`, `…_PASSWORD`, `…_TOKEN`,
/// `…_KEY`, or any name containing `SECRET`.
pub fn is_secret_name(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    key.contains("SECRET")
        || ["_PASSWORD", "_TOKEN", "_KEY"]
            .iter()
            .any(|end| key.ends_with(end))
}

/// The log of the work directory whose `.env` is `env_path`.
pub fn env_log_path(env_path: &Path) -> PathBuf {
    env_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("logs")
        .join(ENV_LOG_FILE)
}

/// What [`edit_env`] wrote.
#[derive(Debug)]
pub struct EnvEdit {
    /// The keys written (secrets masked), in the order the edit made them.
    pub changes: Vec<SettingsChange>,
    /// Why the change log was not written, when it was not (`.env` itself was saved).
    pub log_error: Option<SettingsError>,
}

/// The one way to write `.env`: under the `.env` lock, loads the file, lets `edit` change it
/// (given the values as they are now) and say what it changed, saves it when it changed
/// something and appends one record by `by` to the change log. The lock spans the whole read,
/// edit, write and log, so the settings panel, step 8 and the CLI never lose each other's
/// edits and the log keeps the order of the writes.
///
/// A log that cannot be written does not fail the edit (`.env` is already saved): it comes
/// back as [`EnvEdit::log_error`] for the caller to warn about.
pub fn edit_env(
    env_path: &Path,
    by: &str,
    run_id: Option<&str>,
    edit: impl FnOnce(
        &mut EnvFile,
        &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<SettingsChange>, SettingsError>,
) -> Result<EnvEdit, SettingsError> {
    let _lock = EnvFile::lock(env_path)?;
    let mut file = EnvFile::load(env_path)?;
    let before = file.values()?;
    let changes = edit(&mut file, &before)?;
    if changes.is_empty() {
        return Ok(EnvEdit {
            changes,
            log_error: None,
        });
    }
    file.save()?;
    let log_error = record_env_change(env_path, by, run_id, &changes).err();
    Ok(EnvEdit { changes, log_error })
}

/// What [`set_use_ai_models`] did.
#[derive(Debug)]
pub struct ModelsSwitched {
    /// `USE_AI_MODELS` before (trimmed; `None`: unset).
    pub previous: Option<String>,
    /// Whether `.env` was written (not when it already said so).
    pub changed: bool,
    /// Why the change log was not written, when it was not.
    pub log_error: Option<SettingsError>,
}

/// Writes `USE_AI_MODELS=true|false` through [`edit_env`], as made `by` (step 8 of a run, the
/// app's switch, `agriflux models`); nothing when `.env` already says so.
pub fn set_use_ai_models(
    env_path: &Path,
    on: bool,
    by: &str,
    run_id: Option<&str>,
) -> Result<ModelsSwitched, SettingsError> {
    let value = if on { "true" } else { "false" };
    let mut previous = None;
    let edit = edit_env(env_path, by, run_id, |env, values| {
        previous = values.get(USE_AI_MODELS_KEY).map(|v| v.trim().to_string());
        if previous.as_deref() == Some(value) {
            return Ok(Vec::new());
        }
        env.set(USE_AI_MODELS_KEY, value);
        let from = previous.as_deref().unwrap_or("");
        Ok(vec![SettingsChange::new(USE_AI_MODELS_KEY, from, value)])
    })?;
    Ok(ModelsSwitched {
        previous,
        changed: !edit.changes.is_empty(),
        log_error: edit.log_error,
    })
}

/// Appends one record (now, `by`, `changes`) to the log beside `env_path`; nothing when
/// `changes` is empty. [`edit_env`] holds the `.env` lock, so records keep the order of the
/// writes.
fn record_env_change(
    env_path: &Path,
    by: &str,
    run_id: Option<&str>,
    changes: &[SettingsChange],
) -> Result<(), SettingsError> {
    if changes.is_empty() {
        return Ok(());
    }
    let path = env_log_path(env_path);
    let io = |source| SettingsError::EnvWrite {
        path: path.clone(),
        source,
    };
    let record = EnvChangeRecord {
        at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        by: by.into(),
        run_id: run_id.map(str::to_string),
        changes: changes.to_vec(),
    };
    let mut line = serde_json::to_string(&record).expect("a record serialises");
    line.push('\n');
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    // One `write` of one line in append mode: records from two processes never interleave.
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)
}

/// The log's records, oldest first; a line that is not a record (a torn or edited line) is
/// skipped. A missing log is empty.
pub fn read_env_log(env_path: &Path) -> Result<Vec<EnvChangeRecord>, SettingsError> {
    let path = env_log_path(env_path);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SettingsError::EnvRead { path, source }),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret_are_secret() {
        for key in [
            "SENTINEL_HUB_CLIENT_SECRET",
            "WEATHER_API_KEY",
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "my_secret_thing",
        ] {
            assert!(is_secret_name(key), "{key}");
        }
        for key in [
            "AGRIFLUX_SEED",
            "USE_AI_MODELS",
            "KEYBOARD_LAYOUT",
            "TOKENS_PER_DAY",
        ] {
            assert!(!is_secret_name(key), "{key}");
        }
    }

    #[test]
    fn a_secrets_values_never_reach_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let env = tmp.path().join(".env");
        let changes = [
            SettingsChange::new("WEATHER_API_KEY", "", "abc-123"),
            SettingsChange::new("WEATHER_API_KEY", "abc-123", "def-456"),
            SettingsChange::new("WEATHER_API_KEY", "def-456", ""),
            SettingsChange::new("USE_AI_MODELS", "true", "false"),
        ];
        record_env_change(&env, "agriflux models off", None, &changes).unwrap();
        let text = fs::read_to_string(env_log_path(&env)).unwrap();
        assert!(
            !text.contains("abc-123") && !text.contains("def-456"),
            "{text}"
        );
        let records = read_env_log(&env).unwrap();
        assert_eq!(records.len(), 1);
        let to: Vec<&str> = records[0].changes.iter().map(|c| c.to.as_str()).collect();
        assert_eq!(to, ["(set)", "(changed)", "(removed)", "false"]);
        assert_eq!(records[0].by, "agriflux models off");
    }

    #[test]
    fn appends_in_order_and_skips_a_torn_line() {
        let tmp = tempfile::tempdir().unwrap();
        let env = tmp.path().join(".env");
        assert!(read_env_log(&env).unwrap().is_empty());
        record_env_change(&env, "a", None, &[SettingsChange::new("K", "", "1")]).unwrap();
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(env_log_path(&env))
            .unwrap();
        file.write_all(b"{\"at\": \"2026-").unwrap();
        file.write_all(b"\n").unwrap();
        record_env_change(
            &env,
            "b",
            Some("r-2"),
            &[SettingsChange::new("K", "1", "2")],
        )
        .unwrap();
        record_env_change(&env, "nothing", None, &[]).unwrap();
        let records = read_env_log(&env).unwrap();
        let by: Vec<&str> = records.iter().map(|r| r.by.as_str()).collect();
        assert_eq!(by, ["a", "b"]);
        assert_eq!(records[1].run_id.as_deref(), Some("r-2"));
    }
}
