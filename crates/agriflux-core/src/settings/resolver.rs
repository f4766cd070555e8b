//! Resolving settings: defaults, then the work directory's `.env`, then command-line flags,
//! each value validated and errors naming where it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{
    Bbox, DateRange, Deployment, Secret, SentinelHubSettings, Settings, SettingsError, SourceKind,
    url_is_secure,
};

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

/// The settings of a run whose work directory's `.env` is `env_path`: defaults, then the
/// `.env` (a missing file is empty), then `flags` keyed by option name (`cnn-epochs`, …).
/// The one way the CLI and the desktop app load settings.
pub fn load_settings(
    env_path: &Path,
    flags: &BTreeMap<String, String>,
) -> Result<Settings, SettingsError> {
    let values = super::EnvFile::load(env_path)?.values()?;
    SettingsResolver::new(&values, env_path.to_path_buf(), flags)
        .resolve(chrono::Local::now().date_naive())
}

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
        let key = super::env_key(name);
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
            Some(v) if v.starts_with("http://") && !url_is_secure(&v) => {
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

pub(super) fn parse_bbox(text: &str) -> Option<Bbox> {
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
