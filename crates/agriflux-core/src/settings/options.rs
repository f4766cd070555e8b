//! The one table of run settings. Each entry gives a setting's flag, `.env` key, help, how the
//! settings form shows it, and how to read its resolved value back, so the CLI's flags
//! (`agriflux-cli`'s `args.rs`), the app's form (`form.rs`) and the README's option list all
//! come from here. Parsing, defaults and validation are in `resolver.rs`, typed per setting;
//! a test below resolves every entry's example value through its flag and its `.env` key and
//! reads it back, so an entry that the resolver ignores fails.

use std::path::Path;

use super::Settings;

/// How a setting is given: its flag's shape and its form field's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionInput {
    /// A flag without a value (`--skip-download`); `true` or `false` in `.env`.
    Switch,
    /// A number.
    Number,
    /// A date `YYYY-MM-DD`.
    Date,
    /// An area `MINLON,MINLAT,MAXLON,MAXLAT` (may start with a minus sign).
    Bbox,
    /// A file or folder.
    Path,
    /// One of a few words.
    Choice(&'static [&'static str]),
}

/// Where the settings form shows a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormGroup {
    /// "Sentinel Hub", after the account fields.
    SentinelHub,
    /// "Area and dates".
    Area,
    /// "Training".
    Training,
    /// Not in the form: a per-run choice (the skip flags).
    Hidden,
}

/// One setting: its flag, `.env` key, help, form field and resolved value.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// The flag without dashes, e.g. `cnn-epochs`; the `.env` key follows from it.
    pub name: &'static str,
    /// One line of help, for `--help`, the form and the README.
    pub help: &'static str,
    /// The form's label.
    pub label: &'static str,
    /// How it is given.
    pub input: OptionInput,
    /// The placeholder of its value in `--help` (empty for a switch).
    pub value_name: &'static str,
    /// Where the form shows it.
    pub group: FormGroup,
    /// Flags that must be given with this one.
    pub requires: &'static [&'static str],
    /// Flags that cannot be given with this one.
    pub conflicts_with: &'static [&'static str],
    /// The value a run with these settings uses, as text (the form's placeholder).
    pub current: fn(&Settings) -> String,
    /// A valid value other than the default, for the table's own test.
    pub example: &'static str,
}

impl OptionSpec {
    /// The `.env` key of this option, e.g. `AGRIFLUX_CNN_EPOCHS`.
    pub fn env_key(&self) -> String {
        env_key(self.name)
    }
}

/// The `.env` key of option `name`: `AGRIFLUX_` and the name in upper case with underscores.
pub fn env_key(name: &str) -> String {
    format!("AGRIFLUX_{}", name.replace('-', "_").to_uppercase())
}

/// The option called `name`, if there is one.
pub fn option(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

fn path_text(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

/// Every setting that a flag or a `.env` key can set, in `--help` order.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "source",
        help: "scene source: simulated | sentinel-hub | files (default: simulated unless Sentinel Hub credentials are set)",
        label: "Source",
        input: OptionInput::Choice(&["simulated", "sentinel-hub", "files"]),
        value_name: "SOURCE",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.source.to_string(),
        example: "sentinel-hub",
    },
    OptionSpec {
        name: "skip-download",
        help: "mark step 1 skipped and use the scenes already in the work directory",
        label: "Skip the download",
        input: OptionInput::Switch,
        value_name: "",
        group: FormGroup::Hidden,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.skip_download.to_string(),
        example: "true",
    },
    OptionSpec {
        name: "skip-validation",
        help: "mark step 2 skipped",
        label: "Skip validation",
        input: OptionInput::Switch,
        value_name: "",
        group: FormGroup::Hidden,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.skip_validation.to_string(),
        example: "true",
    },
    OptionSpec {
        name: "bbox",
        help: "area MINLON,MINLAT,MAXLON,MAXLAT in WGS84 degrees (default: Ludhiana, 75.8,30.9,75.9,31.0, or a 6.5 km square inside it on the simulated source)",
        label: "Area (bbox)",
        input: OptionInput::Bbox,
        value_name: "MINLON,MINLAT,MAXLON,MAXLAT",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| {
            let b = &s.bbox;
            format!("{},{},{},{}", b.min_lon, b.min_lat, b.max_lon, b.max_lat)
        },
        example: "75.81,30.91,75.83,30.93",
    },
    OptionSpec {
        name: "start",
        help: "first date YYYY-MM-DD (with --end)",
        label: "First date",
        input: OptionInput::Date,
        value_name: "DATE",
        group: FormGroup::Area,
        requires: &["end"],
        conflicts_with: &[],
        current: |s| s.dates.start.to_string(),
        example: "2025-03-01",
    },
    OptionSpec {
        name: "end",
        help: "last date YYYY-MM-DD (with --start)",
        label: "Last date",
        input: OptionInput::Date,
        value_name: "DATE",
        group: FormGroup::Area,
        requires: &["start"],
        conflicts_with: &[],
        current: |s| s.dates.end.to_string(),
        example: "2025-09-30",
    },
    OptionSpec {
        name: "days-back",
        help: "search the last N days up to today (default 365)",
        label: "Days back",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &["start", "end"],
        current: |s| (s.dates.end - s.dates.start).num_days().to_string(),
        example: "90",
    },
    OptionSpec {
        name: "target-count",
        help: "most acquisitions to download (default 20)",
        label: "Target count",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.target_count.to_string(),
        example: "12",
    },
    OptionSpec {
        name: "cloud-threshold",
        help: "highest tile cloud cover in percent (default 20)",
        label: "Cloud threshold",
        input: OptionInput::Number,
        value_name: "PCT",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.cloud_threshold.to_string(),
        example: "35",
    },
    OptionSpec {
        name: "min-valid-dates",
        help: "fewest dates that must pass validation (default 15)",
        label: "Min valid dates",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.min_valid_dates.to_string(),
        example: "9",
    },
    OptionSpec {
        name: "min-valid-fraction",
        help: "smallest clear-pixel fraction for a date to pass (default 0.5)",
        label: "Min valid fraction",
        input: OptionInput::Number,
        value_name: "FRACTION",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.min_valid_fraction.to_string(),
        example: "0.7",
    },
    OptionSpec {
        name: "samples-per-class",
        help: "CNN training patches per class after balancing (default 2000, 250 on the simulated source)",
        label: "Samples per class",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.samples_per_class.to_string(),
        example: "64",
    },
    OptionSpec {
        name: "sequence-length",
        help: "dates per LSTM input sequence (default 10)",
        label: "Sequence length",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.sequence_length.to_string(),
        example: "6",
    },
    OptionSpec {
        name: "cnn-epochs",
        help: "most CNN training epochs (default 50, 8 on the simulated source)",
        label: "CNN epochs",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.cnn_epochs.to_string(),
        example: "3",
    },
    OptionSpec {
        name: "lstm-epochs",
        help: "most LSTM training epochs (default 100, 30 on the simulated source)",
        label: "LSTM epochs",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.lstm_epochs.to_string(),
        example: "4",
    },
    OptionSpec {
        name: "cnn-patience",
        help: "CNN early-stopping patience in epochs (default 10)",
        label: "CNN patience",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.cnn_patience.to_string(),
        example: "5",
    },
    OptionSpec {
        name: "lstm-patience",
        help: "LSTM early-stopping patience in epochs (default 15)",
        label: "LSTM patience",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.lstm_patience.to_string(),
        example: "6",
    },
    OptionSpec {
        name: "cnn-min-accuracy",
        help: "CNN test accuracy below which the run warns (default 0.85)",
        label: "CNN minimum accuracy",
        input: OptionInput::Number,
        value_name: "FRACTION",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.cnn_min_accuracy.to_string(),
        example: "0.9",
    },
    OptionSpec {
        name: "seed",
        help: "seed of every random choice (default 42)",
        label: "Seed",
        input: OptionInput::Number,
        value_name: "N",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.seed.to_string(),
        example: "7",
    },
    OptionSpec {
        name: "scenes-dir",
        help: "folder of Sentinel-2 L2A GeoTIFFs read by --source files (one multi-band file per date, or one file per band)",
        label: "Scenes folder (files source)",
        input: OptionInput::Path,
        value_name: "DIR",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| path_text(s.scenes_dir.as_deref()),
        example: "/srv/scenes",
    },
    OptionSpec {
        name: "pu-budget",
        help: "most Sentinel Hub processing units a download may need; a larger estimate is refused before any request (default: 10000 on Copernicus Data Space, none elsewhere)",
        label: "Processing-unit budget",
        input: OptionInput::Number,
        value_name: "PU",
        group: FormGroup::SentinelHub,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.pu_budget.map(|b| b.to_string()).unwrap_or_default(),
        example: "2500",
    },
    OptionSpec {
        name: "labels",
        help: "ground-truth observations (GeoJSON points or polygons with a class healthy/moderate/stressed/critical or 0-3 and an optional date) that label the CNN's patches; default: the simulated source's hidden truth, or labels derived from NDVI",
        label: "Ground-truth labels (GeoJSON)",
        input: OptionInput::Path,
        value_name: "FILE",
        group: FormGroup::Area,
        requires: &[],
        conflicts_with: &[],
        current: |s| path_text(s.labels.as_deref()),
        example: "/srv/fields.geojson",
    },
    OptionSpec {
        name: "enable-models",
        help: "when step 8 switches the models on: gated (default), only for real data that beats its baselines beyond the test's uncertainty, or always",
        label: "Switch the models on",
        input: OptionInput::Choice(&["gated", "always"]),
        value_name: "MODE",
        group: FormGroup::Training,
        requires: &[],
        conflicts_with: &[],
        current: |s| s.enable_models.to_string(),
        example: "always",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    use chrono::NaiveDate;

    use super::*;
    use crate::settings::SettingsResolver;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    /// Settings from `.env` values and flags (no file is read).
    fn resolve(env: &[(String, &str)], flags: &[(&str, &str)]) -> Settings {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let flags: BTreeMap<String, String> = flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SettingsResolver::new(&env, PathBuf::from("/w/.env"), &flags)
            .resolve(today())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The option and the ones it requires, each with its example.
    fn with_partners(spec: &OptionSpec) -> Vec<(&'static str, &'static str)> {
        let mut given = vec![(spec.name, spec.example)];
        given.extend(
            spec.requires
                .iter()
                .map(|r| (*r, option(r).unwrap().example)),
        );
        given
    }

    #[test]
    fn every_option_is_resolved_from_its_flag_and_read_back() {
        let defaults = resolve(&[], &[]);
        for spec in OPTIONS {
            assert_ne!(
                (spec.current)(&defaults),
                spec.example,
                "{}: the example must differ from the default",
                spec.name
            );
            let settings = resolve(&[], &with_partners(spec));
            assert_eq!((spec.current)(&settings), spec.example, "--{}", spec.name);
        }
    }

    #[test]
    fn every_option_is_resolved_from_its_env_key_and_read_back() {
        for spec in OPTIONS {
            let env: Vec<(String, &str)> = with_partners(spec)
                .into_iter()
                .map(|(name, value)| (env_key(name), value))
                .collect();
            let settings = resolve(&env, &[]);
            assert_eq!(
                (spec.current)(&settings),
                spec.example,
                "{}",
                spec.env_key()
            );
        }
    }

    #[test]
    fn names_are_unique_and_relations_name_real_options() {
        let names: BTreeSet<&str> = OPTIONS.iter().map(|o| o.name).collect();
        assert_eq!(names.len(), OPTIONS.len());
        for spec in OPTIONS {
            for other in spec.requires.iter().chain(spec.conflicts_with) {
                assert!(names.contains(other), "{} names {other}", spec.name);
            }
            assert_eq!(
                spec.value_name.is_empty(),
                spec.input == OptionInput::Switch,
                "{}: a value name exactly when the flag takes a value",
                spec.name
            );
        }
    }
}
