//! The settings form of the desktop app: which `.env` keys it edits, their current values and
//! defaults, per-field validation, and saving with a list of what changed. The secret is never
//! read back out: the form only says whether one is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::pipeline::StepId;

use super::env_keys::{
    DuplicateKey, EnvKeyEdit, EnvKeyView, apply_env_edits, check_env_edits, other_keys,
};
use super::{
    Bbox, EnvFile, FormGroup, OPTIONS, OptionInput, OptionSpec, Settings, SettingsChange,
    SettingsError, SettingsResolver, SourceKind, check_bbox, edit_env, is_secret_name,
};

/// The `.env` key of the OAuth client secret.
pub const SECRET_KEY: &str = "SENTINEL_HUB_CLIENT_SECRET";

/// How a field is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// A date `YYYY-MM-DD`.
    Date,
    /// One of a few values.
    Select,
    /// A secret: written, never read back.
    Secret,
    /// An area `MINLON,MINLAT,MAXLON,MAXLAT`.
    Bbox,
}

/// One field of the form.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SettingsField {
    /// The `.env` key.
    pub key: String,
    /// A short label.
    pub label: String,
    /// One line of help.
    pub help: String,
    /// How it is edited.
    pub kind: FieldKind,
    /// The value in `.env` (`""` when unset; always `""` for the secret).
    pub value: String,
    /// The value used when the field is unset.
    pub placeholder: String,
    /// The choices of a select field.
    pub options: Option<Vec<String>>,
    /// Whether `.env` holds a value (the only thing said about the secret).
    pub is_set: bool,
}

/// A titled group of fields.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SettingsGroup {
    /// Stable id: `sentinel_hub`, `area`, `training`, `advanced`.
    pub id: String,
    /// Title shown above the group.
    pub title: String,
    /// The fields, in display order.
    pub fields: Vec<SettingsField>,
}

/// The whole form.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SettingsView {
    /// The `.env` file the form edits.
    pub env_path: String,
    /// The groups, in display order.
    pub groups: Vec<SettingsGroup>,
    /// The other keys of `.env`, in file order.
    pub env_keys: Vec<EnvKeyView>,
    /// Every key `.env` assigns more than once, and which line is used.
    pub duplicates: Vec<DuplicateKey>,
}

/// What the panel sends to check or save: the form's edited fields and the edits of the
/// other keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, TS)]
pub struct SettingsEdits {
    /// Key → new text of each edited form field (`""` unsets; for the secret, keeps it).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Edits of the keys outside the form, in the order made.
    #[serde(default)]
    pub env_keys: Vec<EnvKeyEdit>,
}

/// Size of an area at Sentinel-2's 10 m resolution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, TS)]
pub struct AreaSize {
    /// Width in pixels.
    pub width_px: u32,
    /// Height in pixels.
    pub height_px: u32,
    /// Area in square kilometres.
    pub km2: f64,
}

/// The outcome of checking edited values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, TS)]
pub struct SettingsCheck {
    /// Reason per `.env` key, for each invalid field.
    pub errors: BTreeMap<String, String>,
    /// Size of the area the values describe, when it is valid.
    pub area: Option<AreaSize>,
    /// The edited keys outside the form whose names make them secrets: their inputs are
    /// masked, and their values never come back.
    pub secret_keys: Vec<String>,
}

/// What saving did.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SaveOutcome {
    /// False when a value was invalid; nothing was written then.
    pub ok: bool,
    /// Reason per key for each invalid value.
    pub errors: BTreeMap<String, String>,
    /// What was written.
    pub changes: Vec<SettingsChange>,
    /// The file.
    pub env_path: String,
}

struct FieldSpec {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    kind: FieldKind,
    options: &'static [&'static str],
}

const fn field(key: &'static str, label: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        key,
        label,
        help: "",
        kind,
        options: &[],
    }
}

const SENTINEL_HUB_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        help: "commercial (services.sentinel-hub.com), cdse (Copernicus Data Space) or custom URLs",
        options: &["commercial", "cdse", "custom"],
        ..field("SENTINEL_HUB_DEPLOYMENT", "Deployment", FieldKind::Select)
    },
    FieldSpec {
        help: "OAuth client id of your Sentinel Hub or Copernicus Data Space account",
        ..field("SENTINEL_HUB_CLIENT_ID", "Client id", FieldKind::Text)
    },
    FieldSpec {
        help: "OAuth client secret; stored in .env (mode 0600) and never shown again",
        ..field(SECRET_KEY, "Client secret", FieldKind::Secret)
    },
    FieldSpec {
        help: "configuration instance id (optional; kept for older tools)",
        ..field("SENTINEL_HUB_INSTANCE_ID", "Instance id", FieldKind::Text)
    },
    FieldSpec {
        help: "API base URL of a custom deployment",
        ..field("SENTINEL_HUB_BASE_URL", "Base URL", FieldKind::Text)
    },
    FieldSpec {
        help: "OAuth token URL of a custom deployment",
        ..field("SENTINEL_HUB_TOKEN_URL", "Token URL", FieldKind::Text)
    },
];

/// Every key the form edits.
pub fn form_keys() -> Vec<String> {
    let mut keys: Vec<String> = SENTINEL_HUB_FIELDS.iter().map(|f| f.key.into()).collect();
    keys.extend(
        OPTIONS
            .iter()
            .filter(|o| o.group != FormGroup::Hidden)
            .map(OptionSpec::env_key),
    );
    keys.extend(StepId::ALL.iter().map(|s| timeout_key(s.as_str())));
    keys
}

/// The options of one form group, in table order.
fn options_in(group: FormGroup) -> impl Iterator<Item = &'static OptionSpec> {
    OPTIONS.iter().filter(move |o| o.group == group)
}

fn timeout_key(step: &str) -> String {
    format!("AGRIFLUX_{}_TIMEOUT", step.to_uppercase())
}

/// Resolves settings from `.env` values alone (no flags), as a run with no flags would.
fn resolve(values: &BTreeMap<String, String>, env_path: &Path) -> Result<Settings, SettingsError> {
    SettingsResolver::new(values, env_path.to_path_buf(), &BTreeMap::new()).resolve(today())
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Builds the form from the `.env` file at `env_path` (a missing file is an empty form).
pub fn read_settings(env_path: &Path) -> Result<SettingsView, SettingsError> {
    let file = EnvFile::load(env_path)?;
    let values = file.values()?;
    let (env_keys, duplicates) = other_keys(&file, &form_keys())?;
    let defaults = resolve(&BTreeMap::new(), env_path).ok();
    let current = resolve(&values, env_path).ok();
    let value_of = |key: &str| values.get(key).cloned().unwrap_or_default();
    let option_field = |spec: &OptionSpec| {
        let key = spec.env_key();
        let (kind, options) = match spec.input {
            OptionInput::Bbox => (FieldKind::Bbox, None),
            OptionInput::Date => (FieldKind::Date, None),
            OptionInput::Choice(words) => (
                FieldKind::Select,
                Some(words.iter().map(|w| w.to_string()).collect()),
            ),
            OptionInput::Path => (FieldKind::Text, None),
            OptionInput::Number | OptionInput::Switch => (FieldKind::Number, None),
        };
        // Defaults depend on the source (simulated runs are smaller), so show the ones that
        // apply to the current settings when they resolve.
        let basis = current.as_ref().or(defaults.as_ref());
        SettingsField {
            value: if is_secret_name(&key) {
                String::new()
            } else {
                value_of(&key)
            },
            placeholder: basis.map(spec.current).unwrap_or_default(),
            options,
            is_set: values.get(&key).is_some_and(|v| !v.trim().is_empty()),
            label: spec.label.into(),
            help: spec.help.into(),
            kind,
            key,
        }
    };
    let mut sentinel_hub = Vec::new();
    for spec in SENTINEL_HUB_FIELDS {
        let secret = spec.kind == FieldKind::Secret || is_secret_name(spec.key);
        sentinel_hub.push(SettingsField {
            key: spec.key.into(),
            label: spec.label.into(),
            help: spec.help.into(),
            kind: spec.kind,
            value: if secret {
                String::new()
            } else {
                value_of(spec.key)
            },
            placeholder: match spec.key {
                "SENTINEL_HUB_DEPLOYMENT" => "commercial".into(),
                _ => String::new(),
            },
            options: (!spec.options.is_empty())
                .then(|| spec.options.iter().map(|s| s.to_string()).collect()),
            is_set: values.get(spec.key).is_some_and(|v| !v.trim().is_empty()),
        });
    }
    sentinel_hub.extend(options_in(FormGroup::SentinelHub).map(option_field));
    let advanced = StepId::ALL
        .iter()
        .map(|id| {
            let step = id.as_str();
            let key = timeout_key(step);
            SettingsField {
                value: value_of(&key),
                placeholder: current
                    .as_ref()
                    .or(defaults.as_ref())
                    .and_then(|s| s.step_timeouts_s.get(step))
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                options: None,
                is_set: values.get(&key).is_some_and(|v| !v.trim().is_empty()),
                label: format!("Time limit: {}", step.replace('_', " ")),
                help: "seconds before the step is stopped and fails as timed out".into(),
                kind: FieldKind::Number,
                key,
            }
        })
        .collect();
    Ok(SettingsView {
        env_path: env_path.display().to_string(),
        groups: vec![
            group("sentinel_hub", "Sentinel Hub", sentinel_hub),
            group(
                "area",
                "Area and dates",
                options_in(FormGroup::Area).map(option_field).collect(),
            ),
            group(
                "training",
                "Training",
                options_in(FormGroup::Training).map(option_field).collect(),
            ),
            group("advanced", "Advanced", advanced),
        ],
        env_keys,
        duplicates,
    })
}

fn group(id: &str, title: &str, fields: Vec<SettingsField>) -> SettingsGroup {
    SettingsGroup {
        id: id.into(),
        title: title.into(),
        fields,
    }
}

/// Checks `edits` on top of the `.env` at `env_path`, and gives a reason beside each invalid
/// field or key.
pub fn check_settings(
    env_path: &Path,
    edits: &SettingsEdits,
) -> Result<SettingsCheck, SettingsError> {
    let mut values = EnvFile::load(env_path)?.values()?;
    let known = form_keys();
    let mut errors = check_env_edits(&edits.env_keys, &known, &values);
    // A key outside the form may still be a setting (a hidden option such as
    // `AGRIFLUX_SKIP_DOWNLOAD`): the resolver checks it with the rest.
    for edit in edits
        .env_keys
        .iter()
        .filter(|e| !errors.contains_key(e.key()))
    {
        match edit {
            EnvKeyEdit::Set { key, value } if !(value.is_empty() && is_secret_name(key)) => {
                values.insert(key.clone(), value.clone());
            }
            EnvKeyEdit::Set { .. } => {}
            EnvKeyEdit::Remove { key } => {
                values.remove(key);
            }
        }
    }
    for (key, value) in &edits.values {
        if !known.contains(key) {
            errors.insert(key.clone(), "not a setting this form edits".into());
        } else if value.contains(['\n', '\r']) {
            errors.insert(key.clone(), "must be a single line".into());
        } else if key == SECRET_KEY && value.is_empty() {
            // An empty secret field means "keep the stored one".
        } else {
            values.insert(key.clone(), value.trim().to_string());
        }
    }
    // The resolver stops at the first bad value: blank each one it names and go on, so that
    // every invalid field gets its own reason in one pass.
    for _ in 0..known.len() {
        match resolve(&values, env_path) {
            Ok(_) => break,
            Err(SettingsError::Invalid { origin, reason, .. }) => {
                let key = key_of_origin(&origin);
                let Some(key) = key else {
                    errors.insert("AGRIFLUX_END".into(), reason);
                    break;
                };
                errors.entry(key.clone()).or_insert(reason);
                if values.remove(&key).is_none() {
                    break;
                }
            }
            Err(other) => return Err(other),
        }
    }
    let area = match edits
        .values
        .get("AGRIFLUX_BBOX")
        .or(values.get("AGRIFLUX_BBOX"))
        .filter(|v| !v.trim().is_empty())
    {
        Some(text) => super::resolver::parse_bbox(text)
            .filter(|b| check_bbox(b).is_ok())
            .map(area_size),
        None => resolve(&values, env_path).ok().map(|s| area_size(s.bbox)),
    };
    let secret_keys = edits
        .env_keys
        .iter()
        .map(EnvKeyEdit::key)
        .filter(|k| is_secret_name(k))
        .map(str::to_string)
        .collect();
    Ok(SettingsCheck {
        errors,
        area,
        secret_keys,
    })
}

/// The `.env` key named at the start of a [`SettingsError::Invalid`] origin such as
/// `AGRIFLUX_SEED in /w/.env`; `None` for the date-range check, which names two flags.
fn key_of_origin(origin: &str) -> Option<String> {
    let first = origin.split_whitespace().next()?;
    first
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        .then(|| first.to_string())
}

fn area_size(b: Bbox) -> AreaSize {
    let (w, h) = b.size_m();
    AreaSize {
        width_px: (w / 10.0).round() as u32,
        height_px: (h / 10.0).round() as u32,
        km2: (w * h / 1e6 * 100.0).round() / 100.0,
    }
}

/// Checks `edits` and, when all are valid, writes them to `.env` keeping every other byte of
/// the file, and logs them; returns what changed. Nothing is written when a value is invalid.
pub fn save_settings(env_path: &Path, edits: &SettingsEdits) -> Result<SaveOutcome, SettingsError> {
    let check = check_settings(env_path, edits)?;
    let env_path_text = env_path.display().to_string();
    if !check.errors.is_empty() {
        return Ok(SaveOutcome {
            ok: false,
            errors: check.errors,
            changes: Vec::new(),
            env_path: env_path_text,
        });
    }
    // Through the one `.env` writer: a run's step 8 writing at the same moment loses nothing
    // and is not lost.
    let edit = edit_env(env_path, "settings panel", None, |file, before| {
        let mut changes = Vec::new();
        for (key, value) in &edits.values {
            let value = value.trim();
            let old = before.get(key).map(|v| v.trim()).unwrap_or("");
            if old == value || (key == SECRET_KEY && value.is_empty()) {
                continue;
            }
            file.set(key, value);
            changes.push(SettingsChange::new(key, old, value));
        }
        changes.extend(apply_env_edits(file, before, &edits.env_keys));
        Ok(changes)
    })?;
    if let Some(e) = edit.log_error {
        // `.env` is saved: a log that cannot be written is worth a warning, not a failed save.
        tracing::warn!("the .env change log was not written: {e}");
    }
    Ok(SaveOutcome {
        ok: true,
        errors: BTreeMap::new(),
        changes: edit.changes,
        env_path: env_path_text,
    })
}

/// The source a run with no flags would use, with its badge label and the reason.
pub fn source_badge(env_path: &Path) -> (SourceKind, String, String) {
    let values = EnvFile::load(env_path)
        .and_then(|f| f.values())
        .unwrap_or_default();
    match resolve(&values, env_path) {
        Ok(s) => {
            let label = match (s.source, s.sentinel_hub.deployment) {
                (SourceKind::Simulated, _) => "Simulated data",
                (SourceKind::Files, _) => "Scene files",
                (_, super::Deployment::Commercial) => "Sentinel Hub",
                (_, super::Deployment::Cdse) => "Copernicus Data Space",
                (_, super::Deployment::Custom) => "Sentinel Hub (custom URL)",
            };
            (s.source, label.into(), s.source_reason)
        }
        Err(e) => (
            SourceKind::Simulated,
            "Simulated data".into(),
            format!("settings need fixing before a run: {e}"),
        ),
    }
}

/// The `.env` path of a work directory.
pub fn env_path_of(workdir: &Path) -> PathBuf {
    workdir.join(".env")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(pairs: &[(&str, &str)]) -> SettingsEdits {
        SettingsEdits {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_keys: Vec::new(),
        }
    }

    #[test]
    fn never_reads_the_secret_back() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "SENTINEL_HUB_CLIENT_SECRET=hunter2-very-secret\n").unwrap();
        let view = read_settings(&env).unwrap();
        let json = serde_json::to_string(&view).unwrap();
        assert!(!json.contains("hunter2"));
        let secret = view.groups[0]
            .fields
            .iter()
            .find(|f| f.key == SECRET_KEY)
            .unwrap();
        assert!(secret.is_set);
        assert_eq!(secret.value, "");
    }

    #[test]
    fn names_every_invalid_field_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        let check = check_settings(
            &env,
            &edits(&[
                ("AGRIFLUX_CNN_EPOCHS", "zero"),
                ("AGRIFLUX_BBOX", "10,10,9,9"),
                ("AGRIFLUX_SEED", "7"),
            ]),
        )
        .unwrap();
        assert!(check.errors.contains_key("AGRIFLUX_CNN_EPOCHS"));
        assert!(check.errors["AGRIFLUX_BBOX"].contains("minimum must be less"));
        assert!(!check.errors.contains_key("AGRIFLUX_SEED"));
        assert_eq!(check.area, None);
    }

    #[test]
    fn computes_the_area_in_pixels_and_square_kilometres() {
        let dir = tempfile::tempdir().unwrap();
        let check = check_settings(
            &dir.path().join(".env"),
            &edits(&[("AGRIFLUX_BBOX", "75.80,30.90,75.84,30.935")]),
        )
        .unwrap();
        let area = check.area.unwrap();
        assert!(check.errors.is_empty());
        assert!((380..=390).contains(&area.width_px), "{area:?}");
        assert!(area.km2 > 14.0 && area.km2 < 16.0, "{area:?}");
    }

    #[test]
    fn saving_keeps_comments_and_lists_changes_with_the_secret_masked() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "# my farm\nAGRIFLUX_SEED=1 # lucky\n").unwrap();
        let outcome = save_settings(
            &env,
            &edits(&[
                ("AGRIFLUX_SEED", "2"),
                (SECRET_KEY, "s3cr3t-value"),
                ("AGRIFLUX_CNN_EPOCHS", "3"),
            ]),
        )
        .unwrap();
        assert!(outcome.ok);
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(
            text.starts_with("# my farm\nAGRIFLUX_SEED=2 # lucky\n"),
            "{text}"
        );
        assert!(text.contains("AGRIFLUX_CNN_EPOCHS=3"));
        assert!(text.contains("s3cr3t-value"));
        let json = serde_json::to_string(&outcome).unwrap();
        assert!(!json.contains("s3cr3t"), "{json}");
        assert_eq!(outcome.changes.len(), 3);
        // The change log records the same three keys, by the panel, with no secret.
        let log = std::fs::read_to_string(crate::settings::env_log_path(&env)).unwrap();
        assert!(!log.contains("s3cr3t"), "{log}");
        let records = crate::settings::read_env_log(&env).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].by, "settings panel");
        assert_eq!(records[0].changes, outcome.changes);
    }

    #[test]
    fn refuses_to_write_anything_when_one_value_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "AGRIFLUX_SEED=1\n").unwrap();
        let outcome = save_settings(
            &env,
            &edits(&[("AGRIFLUX_SEED", "2"), ("AGRIFLUX_LSTM_EPOCHS", "-4")]),
        )
        .unwrap();
        assert!(!outcome.ok);
        assert!(outcome.errors.contains_key("AGRIFLUX_LSTM_EPOCHS"));
        assert_eq!(std::fs::read_to_string(&env).unwrap(), "AGRIFLUX_SEED=1\n");
    }

    #[test]
    fn an_empty_secret_field_keeps_the_stored_secret() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "SENTINEL_HUB_CLIENT_SECRET=keep-me\n").unwrap();
        let outcome = save_settings(&env, &edits(&[(SECRET_KEY, "")])).unwrap();
        assert!(outcome.ok && outcome.changes.is_empty());
        assert!(std::fs::read_to_string(&env).unwrap().contains("keep-me"));
    }

    const MONITORING_ENV: &str = "\
# the crop-monitoring system's settings
export DATABASE_PATH=\"/var/lib/crops/db.sqlite\"   # sqlite
WEATHER_API_KEY='wk-9f8e7d6c5b' # forecasts
OLD_FLAG=1
AGRIFLUX_SEED=3
";

    #[test]
    fn edits_adds_and_removes_keys_outside_the_form_keeping_every_other_byte() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, MONITORING_ENV).unwrap();
        let view = read_settings(&env).unwrap();
        let keys: Vec<&str> = view.env_keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["DATABASE_PATH", "WEATHER_API_KEY", "OLD_FLAG"]);
        assert!(!serde_json::to_string(&view).unwrap().contains("wk-9f8e"));
        let outcome = save_settings(
            &env,
            &SettingsEdits {
                values: BTreeMap::new(),
                env_keys: vec![
                    EnvKeyEdit::Set {
                        key: "DATABASE_PATH".into(),
                        value: "/srv/crops.db".into(),
                    },
                    EnvKeyEdit::Set {
                        key: "FIELD_BOUNDARIES_KEY".into(),
                        value: "fb-0123456789".into(),
                    },
                    EnvKeyEdit::Remove {
                        key: "OLD_FLAG".into(),
                    },
                ],
            },
        )
        .unwrap();
        assert!(outcome.ok, "{outcome:?}");
        let text = std::fs::read_to_string(&env).unwrap();
        assert_eq!(
            text,
            MONITORING_ENV
                .replace("/var/lib/crops/db.sqlite", "/srv/crops.db")
                .replace("OLD_FLAG=1\n", "")
                + "FIELD_BOUNDARIES_KEY=fb-0123456789\n"
        );
        let json = serde_json::to_string(&outcome).unwrap();
        assert!(!json.contains("fb-0123"), "{json}");
        let log = std::fs::read_to_string(crate::settings::env_log_path(&env)).unwrap();
        assert!(
            !log.contains("fb-0123") && log.contains("(removed)"),
            "{log}"
        );
    }

    #[test]
    fn an_invalid_key_name_or_a_form_key_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, MONITORING_ENV).unwrap();
        let outcome = save_settings(
            &env,
            &SettingsEdits {
                values: BTreeMap::new(),
                env_keys: vec![
                    EnvKeyEdit::Set {
                        key: "2FA-CODE".into(),
                        value: "x".into(),
                    },
                    EnvKeyEdit::Set {
                        key: "AGRIFLUX_SEED".into(),
                        value: "4".into(),
                    },
                    EnvKeyEdit::Set {
                        key: "AGRIFLUX_SKIP_DOWNLOAD".into(),
                        value: "maybe".into(),
                    },
                ],
            },
        )
        .unwrap();
        assert!(!outcome.ok);
        assert!(outcome.errors["2FA-CODE"].contains("letters, digits and _"));
        assert!(outcome.errors["AGRIFLUX_SEED"].contains("form above"));
        assert!(
            outcome.errors.contains_key("AGRIFLUX_SKIP_DOWNLOAD"),
            "{outcome:?}"
        );
        assert_eq!(std::fs::read_to_string(&env).unwrap(), MONITORING_ENV);
    }

    #[test]
    fn duplicate_keys_are_listed_with_the_line_that_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "AGRIFLUX_SEED=1\nTITLE=a\nAGRIFLUX_SEED=2\nTITLE=b\n").unwrap();
        let view = read_settings(&env).unwrap();
        let seed = view
            .groups
            .iter()
            .flat_map(|g| &g.fields)
            .find(|f| f.key == "AGRIFLUX_SEED");
        assert_eq!(seed.unwrap().value, "2");
        let lines: Vec<(&str, &[u32], u32)> = view
            .duplicates
            .iter()
            .map(|d| (d.key.as_str(), d.lines.as_slice(), d.used_line))
            .collect();
        assert_eq!(
            lines,
            [("AGRIFLUX_SEED", &[1, 3][..], 3), ("TITLE", &[2, 4][..], 4)]
        );
        assert_eq!(view.env_keys[0].value, "b");
    }

    #[test]
    fn concurrent_saves_from_the_panel_and_step_8_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, MONITORING_ENV).unwrap();
        const ROUNDS: usize = 25;
        let panel = {
            let env = env.clone();
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let edits = SettingsEdits {
                        values: [("AGRIFLUX_SEED".to_string(), (100 + i).to_string())].into(),
                        env_keys: vec![EnvKeyEdit::Set {
                            key: format!("PANEL_{i}"),
                            value: i.to_string(),
                        }],
                    };
                    assert!(save_settings(&env, &edits).unwrap().ok);
                }
            })
        };
        // Step 8 writes through `set_use_ai_models`, as the pipeline's step does.
        let step_8 = {
            let env = env.clone();
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let run = format!("run-{i}");
                    let by = format!("step 8 of {run}");
                    crate::settings::set_use_ai_models(&env, i % 2 == 0, &by, Some(&run)).unwrap();
                }
            })
        };
        panel.join().unwrap();
        step_8.join().unwrap();
        let values = EnvFile::load(&env).unwrap().values().unwrap();
        for i in 0..ROUNDS {
            assert_eq!(values[&format!("PANEL_{i}")], i.to_string());
        }
        assert_eq!(values["AGRIFLUX_SEED"], (100 + ROUNDS - 1).to_string());
        assert_eq!(values["USE_AI_MODELS"], "true");
        assert_eq!(values["WEATHER_API_KEY"], "wk-9f8e7d6c5b");
        let records = crate::settings::read_env_log(&env).unwrap();
        let by_panel = records.iter().filter(|r| r.by == "settings panel").count();
        let by_step = records.iter().filter(|r| r.run_id.is_some()).count();
        assert_eq!((by_panel, by_step), (ROUNDS, ROUNDS));
    }
}
