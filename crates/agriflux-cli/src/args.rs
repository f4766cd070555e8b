//! Command-line arguments. Values stay strings here: the engine parses them, so an error names
//! the flag (or the `.env` key) the same way in the CLI and the desktop app.

use std::collections::BTreeMap;
use std::path::PathBuf;

use agriflux_core::pipeline::{RunOptions, Step};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::settings_flags::SettingsFlags;

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
    /// Say whether the AI models are switched on (USE_AI_MODELS in .env), by which run or
    /// command and with which figures; or switch them on or off. Every change is logged in
    /// logs/env_changes.jsonl.
    Models(ModelsArgs),
    /// Make the season's maps from the downloaded scenes and the run's models: per date,
    /// GeoTIFFs and PNG overlays of true colour, NDVI, clouds, the CNN's health classes and
    /// confidence, the LSTM's NDVI forecast and its change, under maps/<date>/; with fields,
    /// maps/fields.geojson and maps/fields.csv. Dates already made are read from the cache.
    Map(MapArgs),
}

/// Options of `agriflux map`.
#[derive(Args, Debug)]
pub struct MapArgs {
    /// Work directory with downloaded scenes (data/scenes/) and trained models (models/).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workdir: PathBuf,
    /// The date whose files are listed: YYYY-MM-DD of a downloaded scene, or latest.
    #[arg(long, default_value = "latest", value_name = "DATE")]
    pub date: String,
    /// Import field boundaries first (GeoJSON polygons with a "name" property, WGS 84 or a
    /// WGS 84 UTM zone); they replace the work directory's fields/fields.geojson.
    #[arg(long, value_name = "FILE")]
    pub fields: Option<PathBuf>,
    /// Print the date's map as JSON (without the images) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `agriflux models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ModelsAction,
    /// Work directory whose .env holds USE_AI_MODELS.
    #[arg(long, default_value = ".", value_name = "DIR", global = true)]
    pub workdir: PathBuf,
}

/// `agriflux models` actions.
#[derive(Subcommand, Debug, Clone, Copy)]
pub enum ModelsAction {
    /// Print whether the models are on, who switched them and the latest run's gate.
    Status,
    /// Write USE_AI_MODELS=true: only when the latest run's gate passed, unless --force.
    On {
        /// Switch them on even though the latest run's gate held them back.
        #[arg(long)]
        force: bool,
    },
    /// Write USE_AI_MODELS=false.
    Off,
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

/// The work directory, the settings and the per-invocation options of a run or a plan.
#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Work directory: holds .env, data/, models/, reports/ and logs/.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workdir: PathBuf,
    /// Every setting (`--cnn-epochs`, `--bbox`, …), from the engine's settings table.
    #[command(flatten)]
    pub settings: SettingsFlags,
    /// Re-run this step and every later one even if up to date: download, validate,
    /// cnn_dataset, lstm_dataset, train_cnn, train_lstm, compare, update_env, a step
    /// agriflux.toml adds, or its number (1-8 without added steps). Earlier steps run only if
    /// they are not up to date. Not a setting: never read from .env
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
    /// Re-run every step, whatever their fingerprints say. Not a setting: never read from .env
    #[arg(long)]
    pub force: bool,
}

impl PipelineArgs {
    /// The per-invocation options (`--from`, `--force`), `--from` looked up among `steps`
    /// by machine name (`train_cnn`, also `train-cnn`) or number.
    pub fn run_options(&self, steps: &[Box<dyn Step>]) -> Result<RunOptions, String> {
        let from = match &self.from {
            None => None,
            Some(text) => {
                let name = text.trim().replace('-', "_");
                let by_number = name
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| steps.get(n.checked_sub(1)?));
                let found = by_number
                    .map(|s| s.id())
                    .or_else(|| steps.iter().map(|s| s.id()).find(|id| id.as_str() == name));
                let Some(id) = found else {
                    let names: Vec<String> = steps.iter().map(|s| s.id().to_string()).collect();
                    return Err(format!(
                        "--from {text}: expected a step: {}, or its number 1-{}",
                        names.join(", "),
                        steps.len()
                    ));
                };
                Some(id)
            }
        };
        Ok(RunOptions {
            from,
            force: self.force,
        })
    }

    /// The settings given on the command line, keyed by option name (`cnn-epochs`, …).
    pub fn option_values(&self) -> BTreeMap<String, String> {
        self.settings.0.clone()
    }
}
