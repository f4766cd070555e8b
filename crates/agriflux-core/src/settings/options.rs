//! The table of run options: each one's flag, `.env` key, default and help.

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
