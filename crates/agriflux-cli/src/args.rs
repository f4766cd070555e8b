//! Command-line arguments. Values stay strings here: the engine parses them, so an error names
//! the flag (or the `.env` key) the same way in the CLI and the desktop app.

use std::collections::BTreeMap;
use std::path::PathBuf;

use agriflux_core::pipeline::{RunOptions, StepId};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// AgriFlux: Sentinel-2 imagery to trained crop-health models, from the terminal.
#[derive(Parser, Debug)]
#[command(name = "agriflux", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the eight-step pipeline in a work directory.
    ///
    /// Every option can also be set in the work directory's .env as AGRIFLUX_<OPTION>, e.g.
    /// AGRIFLUX_CNN_EPOCHS=3; a flag overrides its key. A step whose fingerprint (settings it
    /// depends on, input and output hashes) matches an earlier run is up to date and reused, not
    /// run again; --from and --force re-run steps anyway. Exit codes: 0 success, 1 a step
    /// failed, 130 interrupted (Ctrl-C).
    Run(Box<RunArgs>),
    /// Show what `run` with the same options would do with each step (run, up to date or
    /// skip) and why, without running anything.
    Plan(Box<PlanArgs>),
    /// Check the Sentinel Hub settings of a work directory's .env: fetch a token and run a
    /// one-result catalog search. Exit codes: 0 connected, 1 failed (the message says why).
    CheckConnection(CheckConnectionArgs),
}

/// Options of `agriflux check-connection`.
#[derive(Args, Debug)]
pub struct CheckConnectionArgs {
    /// Work directory whose .env holds the SENTINEL_HUB_* keys.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workdir: PathBuf,
}

/// How events are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    /// One JSON object per line on stdout (for other programs).
    Jsonl,
}

/// Options of `agriflux run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Work directory, settings and run options (shared with `agriflux plan`).
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Print events as JSON lines on stdout instead of the console view
    #[arg(long, value_name = "FORMAT")]
    pub events: Option<EventsFormat>,
}

/// Options of `agriflux plan`: the same as `run`'s.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Work directory, settings and run options (as for `agriflux run`).
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Print the plan as a JSON array ({"step", "action", "reason", "reused_from"} per step)
    #[arg(long)]
    pub json: bool,
}

/// A step by machine name (`train_cnn`, also `train-cnn`) or number (`5`).
fn parse_step(text: &str) -> Result<StepId, String> {
    let name = text.trim().replace('-', "_");
    StepId::parse(&name)
        .or_else(|| {
            name.parse::<usize>()
                .ok()
                .and_then(|n| StepId::ALL.get(n.checked_sub(1)?).copied())
        })
        .ok_or_else(|| {
            let names: Vec<&str> = StepId::ALL.iter().map(|s| s.as_str()).collect();
            format!("expected a step: {}, or its number 1-8", names.join(", "))
        })
}

/// The work directory, the settings and the per-invocation options of a run or a plan.
#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Work directory: holds .env, data/, models/, reports/ and logs/.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workdir: PathBuf,
    /// Scene source: simulated | sentinel-hub | files [env: AGRIFLUX_SOURCE; default: simulated unless
    /// SENTINEL_HUB_CLIENT_ID and SENTINEL_HUB_CLIENT_SECRET are set]
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// Mark step 1 skipped and use the scenes already downloaded [env: AGRIFLUX_SKIP_DOWNLOAD]
    #[arg(long)]
    pub skip_download: bool,
    /// Mark step 2 skipped [env: AGRIFLUX_SKIP_VALIDATION]
    #[arg(long)]
    pub skip_validation: bool,
    /// Area in WGS84 degrees [env: AGRIFLUX_BBOX; default: 75.8,30.9,75.9,31.0 (Ludhiana), or a
    /// 3.8 km square inside it for the simulated source]
    #[arg(
        long,
        value_name = "MINLON,MINLAT,MAXLON,MAXLAT",
        allow_hyphen_values = true
    )]
    pub bbox: Option<String>,
    /// First date searched, YYYY-MM-DD, with --end [env: AGRIFLUX_START]
    #[arg(long, value_name = "DATE", requires = "end")]
    pub start: Option<String>,
    /// Last date searched, YYYY-MM-DD, with --start [env: AGRIFLUX_END]
    #[arg(long, value_name = "DATE", requires = "start")]
    pub end: Option<String>,
    /// Search the last N days up to today [env: AGRIFLUX_DAYS_BACK; default: 365]
    #[arg(long, value_name = "N", conflicts_with_all = ["start", "end"])]
    pub days_back: Option<String>,
    /// Most acquisitions to download [env: AGRIFLUX_TARGET_COUNT; default: 20]
    #[arg(long, value_name = "N")]
    pub target_count: Option<String>,
    /// Highest tile cloud cover in percent [env: AGRIFLUX_CLOUD_THRESHOLD; default: 20]
    #[arg(long, value_name = "PCT")]
    pub cloud_threshold: Option<String>,
    /// Fewest dates that must pass validation [env: AGRIFLUX_MIN_VALID_DATES; default: 15]
    #[arg(long, value_name = "N")]
    pub min_valid_dates: Option<String>,
    /// Smallest clear-pixel fraction for a date to pass [env: AGRIFLUX_MIN_VALID_FRACTION; default: 0.5]
    #[arg(long, value_name = "FRACTION")]
    pub min_valid_fraction: Option<String>,
    /// CNN training patches per class after balancing [env: AGRIFLUX_SAMPLES_PER_CLASS;
    /// default: 2000, 250 on the simulated source]
    #[arg(long, value_name = "N")]
    pub samples_per_class: Option<String>,
    /// Dates per LSTM input sequence [env: AGRIFLUX_SEQUENCE_LENGTH; default: 10]
    #[arg(long, value_name = "N")]
    pub sequence_length: Option<String>,
    /// Most CNN epochs [env: AGRIFLUX_CNN_EPOCHS; default: 50, 8 on the simulated source]
    #[arg(long, value_name = "N")]
    pub cnn_epochs: Option<String>,
    /// Most LSTM epochs [env: AGRIFLUX_LSTM_EPOCHS; default: 100, 30 on the simulated source]
    #[arg(long, value_name = "N")]
    pub lstm_epochs: Option<String>,
    /// CNN early-stopping patience in epochs [env: AGRIFLUX_CNN_PATIENCE; default: 10]
    #[arg(long, value_name = "N")]
    pub cnn_patience: Option<String>,
    /// LSTM early-stopping patience in epochs [env: AGRIFLUX_LSTM_PATIENCE; default: 15]
    #[arg(long, value_name = "N")]
    pub lstm_patience: Option<String>,
    /// CNN test accuracy below which the run warns [env: AGRIFLUX_CNN_MIN_ACCURACY; default: 0.85]
    #[arg(long, value_name = "FRACTION")]
    pub cnn_min_accuracy: Option<String>,
    /// Seed of every random choice [env: AGRIFLUX_SEED; default: 42]
    #[arg(long, value_name = "N")]
    pub seed: Option<String>,
    /// Folder of Sentinel-2 L2A GeoTIFFs for --source files: one multi-band file per date or
    /// one file per band (B02, B03, B04, B08, optional SCL) [env: AGRIFLUX_SCENES_DIR]
    #[arg(long, value_name = "DIR")]
    pub scenes_dir: Option<String>,
    /// Most Sentinel Hub processing units a download may need; a larger estimate is refused
    /// before any request [env: AGRIFLUX_PU_BUDGET; default: 10000 on Copernicus Data Space]
    #[arg(long, value_name = "PU")]
    pub pu_budget: Option<String>,
    /// Ground-truth observations (GeoJSON points or polygons with a `class` and an optional
    /// `date`) that label the CNN's patches; the simulated source writes its hidden truth to
    /// data/scenes/ground_truth_simulated.geojson [env: AGRIFLUX_LABELS; default: labels
    /// derived from NDVI]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<String>,
    /// gated: step 8 switches the models on only for real data that beats its baselines;
    /// always: regardless (recorded in the report) [env: AGRIFLUX_ENABLE_MODELS; default: gated]
    #[arg(long, value_name = "gated|always")]
    pub enable_models: Option<String>,
    /// Re-run this step and every later one even if up to date: download, validate,
    /// cnn_dataset, lstm_dataset, train_cnn, train_lstm, compare, update_env (or 1-8). Earlier
    /// steps run only if they are not up to date. Not a setting: never read from .env
    #[arg(long, value_name = "STEP", value_parser = parse_step)]
    pub from: Option<StepId>,
    /// Re-run every step, whatever their fingerprints say. Not a setting: never read from .env
    #[arg(long)]
    pub force: bool,
}

impl PipelineArgs {
    /// The per-invocation options (`--from`, `--force`).
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            from: self.from,
            force: self.force,
        }
    }

    /// The options given on the command line, keyed by option name (`cnn-epochs`, …).
    pub fn option_values(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                map.insert(name.to_string(), v.clone());
            }
        };
        put("source", &self.source);
        put("bbox", &self.bbox);
        put("start", &self.start);
        put("end", &self.end);
        put("days-back", &self.days_back);
        put("target-count", &self.target_count);
        put("cloud-threshold", &self.cloud_threshold);
        put("min-valid-dates", &self.min_valid_dates);
        put("min-valid-fraction", &self.min_valid_fraction);
        put("samples-per-class", &self.samples_per_class);
        put("sequence-length", &self.sequence_length);
        put("cnn-epochs", &self.cnn_epochs);
        put("lstm-epochs", &self.lstm_epochs);
        put("cnn-patience", &self.cnn_patience);
        put("lstm-patience", &self.lstm_patience);
        put("cnn-min-accuracy", &self.cnn_min_accuracy);
        put("seed", &self.seed);
        put("scenes-dir", &self.scenes_dir);
        put("pu-budget", &self.pu_budget);
        put("labels", &self.labels);
        put("enable-models", &self.enable_models);
        if self.skip_download {
            map.insert("skip-download".into(), "true".into());
        }
        if self.skip_validation {
            map.insert("skip-validation".into(), "true".into());
        }
        map
    }
}
