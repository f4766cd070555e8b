//! Typed run settings: defaults, the work directory's `.env`, and command-line overrides.
//!
//! Every option is also a `.env` key `AGRIFLUX_<OPTION>` (for example `--cnn-epochs` is
//! `AGRIFLUX_CNN_EPOCHS`); a flag overrides its key, a key overrides the default. Parsing
//! errors name the flag or the key (and the file) that held the bad value.

mod env_file;
pub mod env_keys;
mod env_log;
pub mod form;
mod options;
mod resolver;
mod sentinel_hub;

use std::collections::BTreeMap;

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::raster::{Bbox, SourceKind};
pub use env_file::{EnvEntry, EnvFile};
pub use env_log::{
    ENV_LOG_FILE, EnvChangeRecord, EnvEdit, ModelsSwitched, SettingsChange, edit_env, env_log_path,
    is_secret_name, read_env_log, set_use_ai_models,
};
pub use options::{FormGroup, OPTIONS, OptionInput, OptionSpec, env_key, option};
pub use resolver::{
    MAX_BBOX_SIDE_M, ORIGINAL_BBOX, SIMULATED_BBOX, SettingsResolver, check_bbox, load_settings,
};
pub use sentinel_hub::{Deployment, REDACTED, Secret, SentinelHubSettings, url_is_secure};

/// The `.env` key the last step sets to switch the AI models on.
pub const USE_AI_MODELS_KEY: &str = "USE_AI_MODELS";

/// Why settings could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value could not be parsed; `origin` says which flag or key held it.
    #[error("invalid value '{value}' for {origin}: {reason}")]
    Invalid {
        /// The flag or `.env` key (and file) that held the value.
        origin: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `.env` could not be read.
    #[error("cannot read {path}: {source}")]
    EnvRead {
        /// The `.env` file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// `.env` is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    EnvNotUtf8 {
        /// The `.env` file.
        path: PathBuf,
    },
    /// `.env` has a line that is not `KEY=value`, a comment or blank.
    #[error("cannot parse {path}: {message}")]
    EnvParse {
        /// The `.env` file.
        path: PathBuf,
        /// Which line, and what is wrong with it.
        message: String,
    },
    /// `.env` is read-only, so it cannot be updated.
    #[error("{path} is read-only: make it writable (chmod u+w) so the pipeline can update it")]
    EnvReadOnly {
        /// The `.env` file.
        path: PathBuf,
    },
    /// `.env` could not be written.
    #[error("cannot write {path}: {source}")]
    EnvWrite {
        /// The `.env` file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A value set in `.env` would not read back equal (nothing was written).
    #[error(
        "cannot write {key} to {path}: the value would not read back the same; nothing was written"
    )]
    EnvValueNotRoundTrip {
        /// The `.env` file.
        path: PathBuf,
        /// The key whose value would change.
        key: String,
    },
}

/// The acquisition dates to search, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// First day searched.
    pub start: NaiveDate,
    /// Last day searched.
    pub end: NaiveDate,
}

/// Everything a run needs to know, resolved and validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Where scenes come from.
    pub source: SourceKind,
    /// Why this source was chosen (shown in the first lines of a run).
    pub source_reason: String,
    /// Area of interest.
    pub bbox: Bbox,
    /// Dates searched.
    pub dates: DateRange,
    /// Most acquisitions downloaded.
    pub target_count: usize,
    /// Highest tile cloud cover (percent) of an acquisition to download.
    pub cloud_threshold: f64,
    /// Fewest dates that must pass validation.
    pub min_valid_dates: usize,
    /// Smallest fraction of valid (clear, with data) pixels for a date to pass validation.
    pub min_valid_fraction: f64,
    /// Training patches per class after balancing (train split only).
    pub samples_per_class: usize,
    /// Dates in one LSTM input sequence.
    pub sequence_length: usize,
    /// Most CNN training epochs.
    pub cnn_epochs: usize,
    /// Most LSTM training epochs.
    pub lstm_epochs: usize,
    /// Early-stopping patience of the CNN (epochs without a better validation loss).
    pub cnn_patience: usize,
    /// Early-stopping patience of the LSTM.
    pub lstm_patience: usize,
    /// Minimum test accuracy of the CNN; below it the run warns (the real number is shown).
    pub cnn_min_accuracy: f64,
    /// Seed of every random choice in the run.
    pub seed: u64,
    /// Whether step 8 switches the models on only when they beat their baselines on real
    /// data (`gated`) or regardless (`always`).
    #[serde(default)]
    pub enable_models: crate::evaluation::EnableModels,
    /// Mark the download step skipped and use the scenes already in the work directory.
    pub skip_download: bool,
    /// Mark the validation step skipped.
    pub skip_validation: bool,
    /// Sentinel Hub account and service (from `SENTINEL_HUB_*` keys in `.env`).
    #[serde(default)]
    pub sentinel_hub: SentinelHubSettings,
    /// Time limit of each step in seconds, by step id (`AGRIFLUX_<STEP>_TIMEOUT`).
    #[serde(default)]
    pub step_timeouts_s: BTreeMap<String, u64>,
    /// Folder of GeoTIFFs read by the files source (`--scenes-dir`, `AGRIFLUX_SCENES_DIR`).
    #[serde(default)]
    pub scenes_dir: Option<PathBuf>,
    /// Ground-truth observations (GeoJSON) that label the CNN's patches (`--labels`,
    /// `AGRIFLUX_LABELS`); without it, simulated runs use the source's hidden truth and other
    /// sources the NDVI rule.
    #[serde(default)]
    pub labels: Option<PathBuf>,
    /// Most Sentinel Hub processing units one download may need (`AGRIFLUX_PU_BUDGET`); unset:
    /// the free Copernicus Data Space quota on cdse, no limit elsewhere.
    #[serde(default)]
    pub pu_budget: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(env: &[(&str, &str)], flags: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let flags: BTreeMap<String, String> = flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SettingsResolver::new(&env, PathBuf::from("/w/.env"), &flags)
            .resolve(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
    }

    #[test]
    fn defaults_to_simulated_source_without_credentials() {
        let s = resolve(&[], &[]).unwrap();
        assert_eq!(s.source, SourceKind::Simulated);
        assert!(s.source_reason.contains("no Sentinel Hub credentials"));
        assert_eq!(s.bbox, SIMULATED_BBOX);
        assert_eq!(s.dates.end, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!((s.dates.end - s.dates.start).num_days(), 365);
    }

    #[test]
    fn flag_overrides_env_key() {
        let s = resolve(&[("AGRIFLUX_CNN_EPOCHS", "3")], &[]).unwrap();
        assert_eq!(s.cnn_epochs, 3);
        let s = resolve(&[("AGRIFLUX_CNN_EPOCHS", "3")], &[("cnn-epochs", "5")]).unwrap();
        assert_eq!(s.cnn_epochs, 5);
    }

    #[test]
    fn bad_env_value_names_the_key_and_file() {
        let err = resolve(&[("AGRIFLUX_CNN_EPOCHS", "many")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("AGRIFLUX_CNN_EPOCHS in /w/.env"), "{err}");
        assert!(err.contains("'many'"), "{err}");
    }

    #[test]
    fn bad_flag_value_names_the_flag() {
        let err = resolve(&[], &[("cloud-threshold", "150")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--cloud-threshold"), "{err}");
    }

    #[test]
    fn rejects_inverted_bbox() {
        let err = resolve(&[], &[("bbox", "75.9,30.9,75.8,31.0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("minimum must be less than the maximum"),
            "{err}"
        );
    }

    #[test]
    fn rejects_bbox_too_large_with_hint() {
        let err = resolve(&[], &[("bbox", "75,30,76,31")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 25000 m"), "{err}");
    }

    #[test]
    fn explicit_dates_must_be_ordered() {
        let s = resolve(&[], &[("start", "2025-01-01"), ("end", "2025-12-31")]).unwrap();
        assert_eq!(s.dates.start, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        assert!(resolve(&[], &[("start", "2025-12-31"), ("end", "2025-01-01")]).is_err());
        assert!(resolve(&[], &[("start", "2025-01-01")]).is_err());
    }

    #[test]
    fn credentials_select_sentinel_hub_by_default() {
        let s = resolve(
            &[
                ("SENTINEL_HUB_CLIENT_ID", "id"),
                ("SENTINEL_HUB_CLIENT_SECRET", "s"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.source, SourceKind::SentinelHub);
        assert_eq!(s.bbox, ORIGINAL_BBOX);
        assert_eq!(s.cnn_epochs, 50);
    }

    #[test]
    fn secret_never_serialised_or_shown() {
        let s = resolve(
            &[
                ("SENTINEL_HUB_CLIENT_ID", "my-id"),
                ("SENTINEL_HUB_CLIENT_SECRET", "hunter2-very-secret"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.sentinel_hub.client_secret.expose(), "hunter2-very-secret");
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("my-id"), "{json}");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.sentinel_hub.client_secret.to_string().contains("hunter2"));
        let back: Settings = serde_json::from_str(&json).unwrap();
        assert!(back.sentinel_hub.client_secret.is_empty());
    }

    #[test]
    fn sentinel_hub_deployments_and_overrides() {
        let s = resolve(&[("SENTINEL_HUB_DEPLOYMENT", "cdse")], &[]).unwrap();
        assert_eq!(s.sentinel_hub.deployment, Deployment::Cdse);
        assert_eq!(
            s.sentinel_hub.base_url,
            "https://sh.dataspace.copernicus.eu"
        );
        assert!(s.sentinel_hub.token_url.contains("identity.dataspace"));
        let s = resolve(&[], &[]).unwrap();
        assert_eq!(s.sentinel_hub.deployment, Deployment::Commercial);
        let s = resolve(
            &[
                ("SENTINEL_HUB_BASE_URL", "http://127.0.0.1:9/"),
                ("SENTINEL_HUB_TOKEN_URL", "http://127.0.0.1:9/token"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.sentinel_hub.deployment, Deployment::Custom);
        assert_eq!(s.sentinel_hub.base_url, "http://127.0.0.1:9");
        let err = resolve(&[("SENTINEL_HUB_DEPLOYMENT", "custom")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SENTINEL_HUB_BASE_URL"), "{err}");
        let err = resolve(&[("SENTINEL_HUB_DEPLOYMENT", "planet")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("commercial, cdse or custom"), "{err}");
    }

    #[test]
    fn every_option_has_an_agriflux_key() {
        let spec = OPTIONS.iter().find(|o| o.name == "cnn-epochs").unwrap();
        assert_eq!(spec.env_key(), "AGRIFLUX_CNN_EPOCHS");
    }
}
