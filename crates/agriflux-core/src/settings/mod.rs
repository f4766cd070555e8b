//! Typed run settings: defaults, the work directory's `.env`, and command-line overrides.
//!
//! Every option is also a `.env` key `AGRIFLUX_<OPTION>` (for example `--cnn-epochs` is
//! `AGRIFLUX_CNN_EPOCHS`); a flag overrides its key, a key overrides the default. Parsing
//! errors name the flag or the key (and the file) that held the bad value.

mod env_file;
pub mod form;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use env_file::EnvFile;

/// The `.env` key the last step sets to switch the AI models on.
pub const USE_AI_MODELS_KEY: &str = "USE_AI_MODELS";

/// Why settings could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value could not be parsed; `origin` says which flag or key held it.
    #[error("invalid value '{value}' for {origin}: {reason}")]
    Invalid {
        origin: String,
        value: String,
        reason: String,
    },
    /// `.env` could not be read.
    #[error("cannot read {path}: {source}")]
    EnvRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `.env` is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    EnvNotUtf8 { path: PathBuf },
    /// `.env` has a line that is not `KEY=value`, a comment or blank.
    #[error("cannot parse {path}: {message}")]
    EnvParse { path: PathBuf, message: String },
    /// `.env` is read-only, so it cannot be updated.
    #[error("{path} is read-only: make it writable (chmod u+w) so the pipeline can update it")]
    EnvReadOnly { path: PathBuf },
    /// `.env` could not be written.
    #[error("cannot write {path}: {source}")]
    EnvWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value set in `.env` would not read back equal (nothing was written).
    #[error(
        "cannot write {key} to {path}: the value would not read back the same; nothing was written"
    )]
    EnvValueNotRoundTrip { path: PathBuf, key: String },
}

/// Where scenes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The built-in simulated Sentinel-2 source (no account needed; always labelled simulated).
    Simulated,
    /// The Sentinel Hub APIs (commercial or Copernicus Data Space).
    SentinelHub,
    /// GeoTIFFs the user already has, read from a folder (`--scenes-dir`).
    Files,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Simulated => "simulated",
            Self::SentinelHub => "sentinel-hub",
            Self::Files => "files",
        })
    }
}

/// An area in WGS84 degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bbox {
    /// Western edge (longitude).
    pub min_lon: f64,
    /// Southern edge (latitude).
    pub min_lat: f64,
    /// Eastern edge (longitude).
    pub max_lon: f64,
    /// Northern edge (latitude).
    pub max_lat: f64,
}

impl Bbox {
    /// Width and height in metres (spherical approximation at the box's centre latitude).
    pub fn size_m(&self) -> (f64, f64) {
        let lat = (self.min_lat + self.max_lat).to_radians() / 2.0;
        let width = (self.max_lon - self.min_lon) * 111_320.0 * lat.cos();
        let height = (self.max_lat - self.min_lat) * 110_574.0;
        (width, height)
    }
}

impl fmt::Display for Bbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.min_lon, self.min_lat, self.max_lon, self.max_lat
        )
    }
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

/// Which Sentinel Hub service the credentials belong to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deployment {
    /// Sentinel Hub (commercial, Planet): services.sentinel-hub.com.
    #[default]
    Commercial,
    /// Copernicus Data Space Ecosystem (free): sh.dataspace.copernicus.eu.
    Cdse,
    /// Any other service: `SENTINEL_HUB_BASE_URL` and `SENTINEL_HUB_TOKEN_URL` must be set.
    Custom,
}

impl Deployment {
    /// The preset API base and token URLs (`None` for `custom`).
    pub fn preset_urls(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Commercial => Some((
                "https://services.sentinel-hub.com",
                "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token",
            )),
            Self::Cdse => Some((
                "https://sh.dataspace.copernicus.eu",
                "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token",
            )),
            Self::Custom => None,
        }
    }

    /// A human name of the service, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Commercial => "commercial Sentinel Hub",
            Self::Cdse => "Copernicus Data Space Ecosystem",
            Self::Custom => "custom Sentinel Hub service",
        }
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Commercial => "commercial",
            Self::Cdse => "cdse",
            Self::Custom => "custom",
        })
    }
}

/// Text shown in place of a secret.
pub const REDACTED: &str = "***";

/// A secret (the OAuth client secret): its Debug, Display and Serialize forms never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, only for sending it to the token service.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        // A serialised secret is only ever the redaction marker: it carries no secret back.
        Ok(if value == REDACTED {
            Self::default()
        } else {
            Self(value)
        })
    }
}

/// The Sentinel Hub account and service, from the `SENTINEL_HUB_*` keys of `.env`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SentinelHubSettings {
    /// OAuth client id (`SENTINEL_HUB_CLIENT_ID`).
    pub client_id: String,
    /// OAuth client secret (`SENTINEL_HUB_CLIENT_SECRET`); never shown or serialised.
    pub client_secret: Secret,
    /// Configuration instance id (`SENTINEL_HUB_INSTANCE_ID`): kept for compatibility, unused.
    pub instance_id: Option<String>,
    /// Which service (`SENTINEL_HUB_DEPLOYMENT`: commercial, cdse or custom).
    pub deployment: Deployment,
    /// API base URL (`SENTINEL_HUB_BASE_URL`, else the deployment's preset).
    pub base_url: String,
    /// OAuth token URL (`SENTINEL_HUB_TOKEN_URL`, else the deployment's preset).
    pub token_url: String,
}

impl SentinelHubSettings {
    /// Whether both the client id and the secret are set.
    pub fn has_credentials(&self) -> bool {
        !self.client_id.trim().is_empty() && !self.client_secret.is_empty()
    }
}

/// One command-line option, its `.env` key and what it means.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// The flag without dashes, e.g. `cnn-epochs`.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
}

impl OptionSpec {
    /// The `.env` key of this option, e.g. `AGRIFLUX_CNN_EPOCHS`.
    pub fn env_key(&self) -> String {
        format!("AGRIFLUX_{}", self.name.replace('-', "_").to_uppercase())
    }
}

/// Every setting that a flag or a `.env` key can set.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "source",
        help: "scene source: simulated | sentinel-hub | files (default: simulated unless Sentinel Hub credentials are set)",
    },
    OptionSpec {
        name: "skip-download",
        help: "skip step 1 and use the scenes already in the work directory",
    },
    OptionSpec {
        name: "skip-validation",
        help: "skip step 2",
    },
    OptionSpec {
        name: "bbox",
        help: "area MINLON,MINLAT,MAXLON,MAXLAT in WGS84 degrees",
    },
    OptionSpec {
        name: "start",
        help: "first date YYYY-MM-DD (with --end)",
    },
    OptionSpec {
        name: "end",
        help: "last date YYYY-MM-DD (with --start)",
    },
    OptionSpec {
        name: "days-back",
        help: "search the last N days up to today (default 365)",
    },
    OptionSpec {
        name: "target-count",
        help: "most acquisitions to download (default 20)",
    },
    OptionSpec {
        name: "cloud-threshold",
        help: "highest tile cloud cover in percent (default 20)",
    },
    OptionSpec {
        name: "min-valid-dates",
        help: "fewest dates that must pass validation (default 15)",
    },
    OptionSpec {
        name: "min-valid-fraction",
        help: "smallest clear-pixel fraction for a date to pass (default 0.5)",
    },
    OptionSpec {
        name: "samples-per-class",
        help: "CNN training patches per class after balancing",
    },
    OptionSpec {
        name: "sequence-length",
        help: "dates per LSTM input sequence (default 10)",
    },
    OptionSpec {
        name: "cnn-epochs",
        help: "most CNN training epochs",
    },
    OptionSpec {
        name: "lstm-epochs",
        help: "most LSTM training epochs",
    },
    OptionSpec {
        name: "cnn-patience",
        help: "CNN early-stopping patience in epochs (default 10)",
    },
    OptionSpec {
        name: "lstm-patience",
        help: "LSTM early-stopping patience in epochs (default 15)",
    },
    OptionSpec {
        name: "cnn-min-accuracy",
        help: "CNN test accuracy below which the run warns (default 0.85)",
    },
    OptionSpec {
        name: "seed",
        help: "seed of every random choice (default 42)",
    },
    OptionSpec {
        name: "scenes-dir",
        help: "folder of Sentinel-2 L2A GeoTIFFs read by --source files (one multi-band file per date, or one file per band)",
    },
    OptionSpec {
        name: "pu-budget",
        help: "most Sentinel Hub processing units a download may need; a larger estimate is refused before any request (default: 10000 on Copernicus Data Space, none elsewhere)",
    },
    OptionSpec {
        name: "labels",
        help: "ground-truth observations (GeoJSON points or polygons with a class healthy/moderate/stressed/critical or 0-3 and an optional date) that label the CNN's patches; default: the simulated source's hidden truth, or labels derived from NDVI",
    },
    OptionSpec {
        name: "enable-models",
        help: "gated (default): step 8 switches the models on only for real data that beats its baselines beyond the test's uncertainty | always",
    },
];

/// The original's area: Ludhiana, Punjab (about 951 x 1110 px at 10 m).
pub const ORIGINAL_BBOX: Bbox = Bbox {
    min_lon: 75.8,
    min_lat: 30.9,
    max_lon: 75.9,
    max_lat: 31.0,
};

/// The simulated source's default area: a 6.5 km square inside the original's (about
/// 649 x 652 px, 5 x 5 spatial blocks of 128 px), large enough for a test split of 6 blocks
/// while a whole run still finishes in a few minutes on two cores.
pub const SIMULATED_BBOX: Bbox = Bbox {
    min_lon: 75.80,
    min_lat: 30.90,
    max_lon: 75.868,
    max_lat: 30.959,
};

/// Largest area side accepted, in metres (the Sentinel Hub process API's 2500 px at 10 m).
pub const MAX_BBOX_SIDE_M: f64 = 25_000.0;

/// Where a raw setting value came from, for error messages.
struct Raw<'a> {
    value: &'a str,
    origin: String,
}

/// Settings resolution: defaults, then `.env` values, then flags.
pub struct SettingsResolver<'a> {
    env: &'a BTreeMap<String, String>,
    env_path: PathBuf,
    flags: &'a BTreeMap<String, String>,
}

impl<'a> SettingsResolver<'a> {
    /// Resolves from `.env` values (read from `env_path`) and flags keyed by option name.
    pub fn new(
        env: &'a BTreeMap<String, String>,
        env_path: PathBuf,
        flags: &'a BTreeMap<String, String>,
    ) -> Self {
        Self {
            env,
            env_path,
            flags,
        }
    }

    fn raw(&self, name: &str) -> Option<Raw<'a>> {
        if let Some(value) = self.flags.get(name) {
            return Some(Raw {
                value,
                origin: format!("--{name}"),
            });
        }
        let key = format!("AGRIFLUX_{}", name.replace('-', "_").to_uppercase());
        self.env
            .get(&key)
            .filter(|v| !v.trim().is_empty())
            .map(|value| Raw {
                value,
                origin: format!("{key} in {}", self.env_path.display()),
            })
    }

    fn parse<T>(
        &self,
        name: &str,
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, SettingsError> {
        match self.raw(name) {
            None => Ok(default),
            Some(raw) => parse(raw.value.trim()).ok_or_else(|| SettingsError::Invalid {
                origin: raw.origin,
                value: raw.value.to_string(),
                reason: expected.to_string(),
            }),
        }
    }

    fn count(&self, name: &str, default: usize, min: usize) -> Result<usize, SettingsError> {
        self.parse(
            name,
            default,
            &format!("expected a whole number of at least {min}"),
            |v| v.parse::<usize>().ok().filter(|n| *n >= min),
        )
    }

    fn fraction(&self, name: &str, default: f64, max: f64) -> Result<f64, SettingsError> {
        self.parse(
            name,
            default,
            &format!("expected a number from 0 to {max}"),
            |v| v.parse::<f64>().ok().filter(|x| (0.0..=max).contains(x)),
        )
    }

    fn flag(&self, name: &str) -> Result<bool, SettingsError> {
        self.parse(name, false, "expected true or false", |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            }
        })
    }

    /// Whether the `.env` holds a Sentinel Hub client id and secret.
    pub fn has_sentinel_hub_credentials(&self) -> bool {
        let set = |k: &str| self.env.get(k).is_some_and(|v| !v.trim().is_empty());
        set("SENTINEL_HUB_CLIENT_ID") && set("SENTINEL_HUB_CLIENT_SECRET")
    }

    /// Resolves and validates every setting; `today` anchors `--days-back`.
    pub fn resolve(&self, today: NaiveDate) -> Result<Settings, SettingsError> {
        let (source, source_reason) = match self.raw("source") {
            Some(raw) => match raw.value.trim() {
                "simulated" => (SourceKind::Simulated, format!("chosen by {}", raw.origin)),
                "sentinel-hub" => (SourceKind::SentinelHub, format!("chosen by {}", raw.origin)),
                "files" => (SourceKind::Files, format!("chosen by {}", raw.origin)),
                _ => {
                    return Err(SettingsError::Invalid {
                        origin: raw.origin,
                        value: raw.value.to_string(),
                        reason: "expected simulated, sentinel-hub or files".into(),
                    });
                }
            },
            None if self.has_sentinel_hub_credentials() => (
                SourceKind::SentinelHub,
                "Sentinel Hub credentials are configured".into(),
            ),
            None => (
                SourceKind::Simulated,
                "no Sentinel Hub credentials configured (set SENTINEL_HUB_CLIENT_ID and SENTINEL_HUB_CLIENT_SECRET in .env to download real imagery)".into(),
            ),
        };
        let simulated = source == SourceKind::Simulated;
        let default_bbox = if simulated {
            SIMULATED_BBOX
        } else {
            ORIGINAL_BBOX
        };
        let bbox = self.parse(
            "bbox",
            default_bbox,
            "expected MINLON,MINLAT,MAXLON,MAXLAT in degrees",
            parse_bbox,
        )?;
        if let Some(raw) = self.raw("bbox") {
            check_bbox(&bbox).map_err(|reason| SettingsError::Invalid {
                origin: raw.origin,
                value: raw.value.to_string(),
                reason,
            })?;
        }
        let dates = self.resolve_dates(today)?;
        // The simulated source's defaults keep a whole run to a few minutes on two cores;
        // the original's defaults are for real imagery. Any key or flag overrides either.
        let (samples, cnn_epochs, lstm_epochs) = if simulated {
            (250, 8, 30)
        } else {
            (2000, 50, 100)
        };
        Ok(Settings {
            source,
            source_reason,
            bbox,
            dates,
            target_count: self.count("target-count", 20, 1)?,
            cloud_threshold: self.fraction("cloud-threshold", 20.0, 100.0)?,
            min_valid_dates: self.count("min-valid-dates", 15, 1)?,
            min_valid_fraction: self.fraction("min-valid-fraction", 0.5, 1.0)?,
            samples_per_class: self.count("samples-per-class", samples, 1)?,
            sequence_length: self.count("sequence-length", 10, 2)?,
            cnn_epochs: self.count("cnn-epochs", cnn_epochs, 1)?,
            lstm_epochs: self.count("lstm-epochs", lstm_epochs, 1)?,
            cnn_patience: self.count("cnn-patience", 10, 1)?,
            lstm_patience: self.count("lstm-patience", 15, 1)?,
            cnn_min_accuracy: self.fraction("cnn-min-accuracy", 0.85, 1.0)?,
            seed: self.parse("seed", 42, "expected a whole number", |v| v.parse().ok())?,
            enable_models: self.parse(
                "enable-models",
                crate::evaluation::EnableModels::Gated,
                "expected gated or always",
                crate::evaluation::EnableModels::parse,
            )?,
            skip_download: self.flag("skip-download")?,
            skip_validation: self.flag("skip-validation")?,
            sentinel_hub: self.resolve_sentinel_hub()?,
            step_timeouts_s: self.resolve_timeouts()?,
            scenes_dir: self.resolve_scenes_dir(source)?,
            labels: self.resolve_path("labels"),
            pu_budget: self.parse(
                "pu-budget",
                None,
                "expected a number of processing units of at least 0",
                |v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x >= 0.0)
                        .map(Some)
                },
            )?,
        })
    }

    /// The files source's folder: a flag's relative path is taken from the current
    /// directory, a `.env` value's from the `.env`'s folder. Required by `--source files`.
    fn resolve_scenes_dir(&self, source: SourceKind) -> Result<Option<PathBuf>, SettingsError> {
        let dir = self.resolve_path("scenes-dir");
        if dir.is_none() && source == SourceKind::Files {
            return Err(SettingsError::Invalid {
                origin: "--source files".into(),
                value: String::new(),
                reason: "the files source needs a folder: set --scenes-dir DIR or AGRIFLUX_SCENES_DIR in .env".into(),
            });
        }
        Ok(dir)
    }

    /// A path option: a flag's relative path is taken from the current directory, a `.env`
    /// value's from the `.env`'s folder; `None` when unset or empty.
    fn resolve_path(&self, name: &str) -> Option<PathBuf> {
        let raw = self.raw(name)?;
        let path = PathBuf::from(raw.value.trim());
        if path.as_os_str().is_empty() {
            return None;
        }
        if path.is_absolute() {
            return Some(path);
        }
        let base = if self.flags.contains_key(name) {
            std::env::current_dir().unwrap_or_default()
        } else {
            self.env_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        Some(base.join(path))
    }

    /// Per-step time limits: generous defaults (a step that needs longer is stuck, not slow),
    /// each settable as `AGRIFLUX_<STEP ID>_TIMEOUT` in seconds, e.g. `AGRIFLUX_TRAIN_CNN_TIMEOUT`.
    fn resolve_timeouts(&self) -> Result<BTreeMap<String, u64>, SettingsError> {
        const HOUR: u64 = 3600;
        let defaults = [
            ("download", 6 * HOUR),
            ("validate", HOUR),
            ("cnn_dataset", 2 * HOUR),
            ("lstm_dataset", 2 * HOUR),
            ("train_cnn", 24 * HOUR),
            ("train_lstm", 24 * HOUR),
            ("compare", 48 * HOUR),
            ("update_env", 600),
        ];
        let mut limits = BTreeMap::new();
        for (step, default) in defaults {
            let name = format!("{}-timeout", step.replace('_', "-"));
            let seconds = self.parse(
                &name,
                default,
                "expected a whole number of seconds of at least 1",
                |v| v.parse::<u64>().ok().filter(|n| *n >= 1),
            )?;
            limits.insert(step.to_string(), seconds);
        }
        Ok(limits)
    }

    fn env_value(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The Sentinel Hub settings from the `SENTINEL_HUB_*` keys of `.env`.
    pub fn resolve_sentinel_hub(&self) -> Result<SentinelHubSettings, SettingsError> {
        let origin = |key: &str| format!("{key} in {}", self.env_path.display());
        let base = self.env_value("SENTINEL_HUB_BASE_URL");
        let token = self.env_value("SENTINEL_HUB_TOKEN_URL");
        let deployment = match self.env_value("SENTINEL_HUB_DEPLOYMENT") {
            None if base.is_some() || token.is_some() => Deployment::Custom,
            None => Deployment::Commercial,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "commercial" | "sentinel-hub" | "sentinelhub" => Deployment::Commercial,
                "cdse" | "copernicus" => Deployment::Cdse,
                "custom" => Deployment::Custom,
                _ => {
                    return Err(SettingsError::Invalid {
                        origin: origin("SENTINEL_HUB_DEPLOYMENT"),
                        value: v,
                        reason: "expected commercial, cdse or custom".into(),
                    });
                }
            },
        };
        let url = |key: &str, value: Option<String>, preset: Option<&str>| {
            match value {
            Some(v) if v.starts_with("http://") && !crate::sentinel_hub::url_is_secure(&v) => {
                Err(SettingsError::Invalid {
                    origin: origin(key),
                    value: v,
                    reason: "plain http:// would send the client secret unencrypted: use https:// (http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost)".into(),
                })
            }
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Ok(v.trim_end_matches('/').to_string())
            }
            Some(v) => Err(SettingsError::Invalid {
                origin: origin(key),
                value: v,
                reason: "expected an http:// or https:// URL".into(),
            }),
            None => preset
                .map(str::to_string)
                .ok_or_else(|| SettingsError::Invalid {
                    origin: origin("SENTINEL_HUB_DEPLOYMENT"),
                    value: "custom".into(),
                    reason: format!("a custom deployment needs {key} in the same file"),
                }),
        }
        };
        let presets = deployment.preset_urls();
        Ok(SentinelHubSettings {
            client_id: self.env_value("SENTINEL_HUB_CLIENT_ID").unwrap_or_default(),
            client_secret: Secret::new(
                self.env_value("SENTINEL_HUB_CLIENT_SECRET")
                    .unwrap_or_default(),
            ),
            instance_id: self.env_value("SENTINEL_HUB_INSTANCE_ID"),
            deployment,
            base_url: url("SENTINEL_HUB_BASE_URL", base, presets.map(|p| p.0))?,
            token_url: url("SENTINEL_HUB_TOKEN_URL", token, presets.map(|p| p.1))?,
        })
    }

    fn resolve_dates(&self, today: NaiveDate) -> Result<DateRange, SettingsError> {
        let date = |name: &str| {
            self.parse(name, None, "expected a date YYYY-MM-DD", |v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().map(Some)
            })
        };
        let (start, end) = (date("start")?, date("end")?);
        match (start, end) {
            (Some(start), Some(end)) if start <= end => Ok(DateRange { start, end }),
            (Some(_), Some(_)) => Err(SettingsError::Invalid {
                origin: "--start/--end".into(),
                value: format!("{}..{}", start.unwrap_or_default(), end.unwrap_or_default()),
                reason: "the start date is after the end date".into(),
            }),
            (Some(_), None) | (None, Some(_)) => Err(SettingsError::Invalid {
                origin: "--start/--end".into(),
                value: String::new(),
                reason: "give both --start and --end, or --days-back".into(),
            }),
            (None, None) => {
                let days = self.count("days-back", 365, 1)?;
                Ok(DateRange {
                    start: today - chrono::Days::new(days as u64),
                    end: today,
                })
            }
        }
    }
}

fn parse_bbox(text: &str) -> Option<Bbox> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<_>>()?;
    match parts[..] {
        [min_lon, min_lat, max_lon, max_lat] => Some(Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }),
        _ => None,
    }
}

/// Checks ranges, order and size of an area; the error says what is wrong and how to fix it.
pub fn check_bbox(b: &Bbox) -> Result<(), String> {
    if !(-180.0..=180.0).contains(&b.min_lon) || !(-180.0..=180.0).contains(&b.max_lon) {
        return Err("longitudes must be between -180 and 180".into());
    }
    if !(-90.0..=90.0).contains(&b.min_lat) || !(-90.0..=90.0).contains(&b.max_lat) {
        return Err("latitudes must be between -90 and 90".into());
    }
    if b.min_lon >= b.max_lon || b.min_lat >= b.max_lat {
        return Err(
            "the minimum must be less than the maximum (order: MINLON,MINLAT,MAXLON,MAXLAT)".into(),
        );
    }
    let (w, h) = b.size_m();
    if w < 640.0 || h < 640.0 {
        return Err(format!(
            "the area is {w:.0} m x {h:.0} m; it must be at least 640 m on each side (64 pixels at 10 m) to hold one training patch"
        ));
    }
    if w > MAX_BBOX_SIDE_M || h > MAX_BBOX_SIDE_M {
        return Err(format!(
            "the area is {w:.0} m x {h:.0} m; each side must be at most {MAX_BBOX_SIDE_M:.0} m (2500 px at 10 m): split a larger area into several runs"
        ));
    }
    Ok(())
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
