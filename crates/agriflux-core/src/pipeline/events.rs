//! The typed event stream of a run: the contract between the engine and every front end.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::sentinel_hub::cost::CostEstimate;
use agriflux_raster::SourceKind;

/// Stable machine name of a step: one of the eight built-in steps, or one that the work
/// directory's `agriflux.toml` adds after them (`[steps.<name>]` with `after = …`).
///
/// It is serialised as its machine name (`"train_cnn"`, `"export_csv"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, TS)]
#[ts(type = "string")]
pub enum StepId {
    /// 1: download scenes.
    Download,
    /// 2: validate scene quality.
    Validate,
    /// 3: build the CNN patch dataset.
    CnnDataset,
    /// 4: build the LSTM sequence dataset.
    LstmDataset,
    /// 5: train the CNN.
    TrainCnn,
    /// 6: train the LSTM.
    TrainLstm,
    /// 7: compare with synthetic-data models.
    Compare,
    /// 8: switch the AI models on in `.env`.
    UpdateEnv,
    /// A step `agriflux.toml` adds, by its table name.
    Added(AddedStepName),
}

/// The name of a step `agriflux.toml` adds: a lowercase letter, then lowercase letters, digits
/// and `_` (at most 64), and not a built-in step's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddedStepName(std::sync::Arc<str>);

impl AddedStepName {
    /// `name` as an added step's name, or `None` when it is not one (see the type).
    pub fn new(name: &str) -> Option<Self> {
        let well_formed = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        (well_formed && StepId::built_in(name).is_none()).then(|| Self(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl StepId {
    /// The built-in steps in pipeline order.
    pub const ALL: [StepId; 8] = [
        Self::Download,
        Self::Validate,
        Self::CnnDataset,
        Self::LstmDataset,
        Self::TrainCnn,
        Self::TrainLstm,
        Self::Compare,
        Self::UpdateEnv,
    ];

    /// The machine name, e.g. `train_cnn`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Download => "download",
            Self::Validate => "validate",
            Self::CnnDataset => "cnn_dataset",
            Self::LstmDataset => "lstm_dataset",
            Self::TrainCnn => "train_cnn",
            Self::TrainLstm => "train_lstm",
            Self::Compare => "compare",
            Self::UpdateEnv => "update_env",
            Self::Added(name) => name.as_str(),
        }
    }

    /// The human name shown in the console, the report and the UI (an added step's own name
    /// comes from its `name` key; this is its machine name).
    pub fn name(&self) -> &str {
        match self {
            Self::Download => "Download Real Satellite Data",
            Self::Validate => "Validate Data Quality",
            Self::CnnDataset => "Prepare CNN Training Data",
            Self::LstmDataset => "Prepare LSTM Training Data",
            Self::TrainCnn => "Train CNN Model",
            Self::TrainLstm => "Train LSTM Model",
            Self::Compare => "Compare Model Performance",
            Self::UpdateEnv => "Update Configuration",
            Self::Added(name) => name.as_str(),
        }
    }

    /// One sentence saying what the step does.
    pub fn description(&self) -> &str {
        match self {
            Self::Download => {
                "Download Sentinel-2 imagery (bands, scene classification, indices) for the area and dates"
            }
            Self::Validate => {
                "Check bands, index ranges, clear-pixel fractions, checksums and date coverage"
            }
            Self::CnnDataset => {
                "Extract 64x64 patches labelled by NDVI crop-health class, split spatially, balance the training split"
            }
            Self::LstmDataset => "Build NDVI time series of 32x32 blocks, split by time",
            Self::TrainCnn => {
                "Train the crop-health CNN with early stopping and evaluate it on the test split"
            }
            Self::TrainLstm => {
                "Train the NDVI forecasting LSTM and evaluate it against the persistence baseline"
            }
            Self::Compare => {
                "Train baseline models on synthetic data and compare both on the same real test split"
            }
            Self::UpdateEnv => "Set USE_AI_MODELS=true in .env, keeping every other line as it was",
            Self::Added(_) => "A command added by agriflux.toml",
        }
    }

    /// The built-in step with machine name `text`, such as `train_cnn`.
    pub fn built_in(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The step with machine name `text`: a built-in one, else an added one when `text` is a
    /// well-formed name (whether a pipeline has it is the pipeline's to say).
    pub fn parse(text: &str) -> Option<Self> {
        Self::built_in(text).or_else(|| AddedStepName::new(text).map(Self::Added))
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StepId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StepId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a step name")))
    }
}

/// Where a step (or a whole run) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Started, not finished.
    Running,
    /// Finished without error.
    Success,
    /// Finished with an error.
    Failed,
    /// Not run on purpose (a skip flag).
    Skipped,
    /// Stopped by the user.
    Cancelled,
    /// The process died (killed, power loss) while the step or run was going.
    Interrupted,
    /// Not run: its fingerprint matched, so its outputs from an earlier run were reused.
    UpToDate,
}

impl StepStatus {
    /// The lower-case name used in reports and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::UpToDate => "up_to_date",
        }
    }
}

/// A step as announced at the start of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct StepInfo {
    /// Machine name.
    pub id: StepId,
    /// 1-based position.
    pub number: usize,
    /// Human name.
    pub name: String,
    /// One-sentence description.
    pub description: String,
}

/// Severity of a step's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something the user should look at; the step goes on.
    Warn,
    /// Something failed.
    Error,
}

/// One event of a run, serialised as tagged JSON (`{"type": "step_started", …}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run began.
    RunStarted {
        /// Unique id of the run (also its folder under `logs/runs/`).
        run_id: String,
        /// ISO 8601 start time.
        started_at: String,
        /// Where the scenes come from.
        source: SourceKind,
        /// Why that source was chosen.
        source_reason: String,
        /// The steps, in order.
        steps: Vec<StepInfo>,
        /// The resolved settings (no secrets).
        #[ts(type = "Record<string, unknown>")]
        settings: Value,
        /// The report written for an earlier run found interrupted (its process died).
        #[serde(default)]
        interrupted_run_report: Option<String>,
        /// What the run will do with each step, and why (computed before any step runs).
        #[serde(default)]
        plan: Vec<PlannedStep>,
    },
    /// A step began.
    StepStarted {
        /// Which step.
        step: StepId,
        /// Its 1-based position.
        number: usize,
        /// How many steps the run has.
        total: usize,
    },
    /// Progress inside a step, e.g. 12/20 scenes or epoch 7/50.
    StepProgress {
        /// Which step.
        step: StepId,
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
        /// What a unit is: `scenes`, `epochs`, `patches` …
        unit: String,
        /// A short line about the current unit.
        message: String,
    },
    /// One point of a live curve, e.g. series `real/val_loss` at epoch 3.
    StepMetric {
        /// Which step.
        step: StepId,
        /// Curve name.
        series: String,
        /// X value (epoch).
        x: f64,
        /// Y value.
        value: f64,
    },
    /// A log line of a step.
    StepLog {
        /// Which step.
        step: StepId,
        /// Severity.
        level: LogLevel,
        /// The line.
        message: String,
    },
    /// A step ended (success, failed, skipped, cancelled, or up to date: an up-to-date step
    /// has no `step_started`).
    StepFinished {
        /// Which step.
        step: StepId,
        /// How it ended.
        status: StepStatus,
        /// Seconds it ran.
        duration_s: f64,
        /// The error, when it failed or was cancelled.
        error: Option<String>,
        /// The step's own figures (for an up-to-date step, those of the run that produced it).
        #[ts(type = "Record<string, unknown>")]
        output_summary: Value,
        /// Why the step ran, was reused or was skipped.
        #[serde(default)]
        reason: Option<String>,
        /// For an up-to-date step, the run whose outputs were reused.
        #[serde(default)]
        reused_from: Option<String>,
    },
    /// The run ended.
    RunFinished {
        /// `success`, `failed` or `cancelled`.
        status: StepStatus,
        /// Where the run report was written.
        report_path: String,
        /// The report's `summary_statistics`.
        #[ts(type = "Record<string, unknown>")]
        summary: Value,
    },
}

/// Receives a run's events; implemented by the CLI's printer, the desktop bridge and the log.
pub trait EventSink: Send + Sync {
    /// Handles one event. Must not block for long: it is called from the step's thread.
    fn emit(&self, event: &RunEvent);
}

/// A sink that drops every event (for tests and headless helpers).
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&self, _event: &RunEvent) {}
}

impl<F: Fn(&RunEvent) + Send + Sync> EventSink for F {
    fn emit(&self, event: &RunEvent) {
        self(event)
    }
}

/// What a run will do with a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PlannedAction {
    /// The step runs.
    Run,
    /// The step's outputs are reused from an earlier run.
    UpToDate,
    /// The step is skipped by a flag.
    Skip,
}

impl PlannedAction {
    /// `run`, `up_to_date` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::UpToDate => "up_to_date",
            Self::Skip => "skip",
        }
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PlannedStep {
    /// Which step.
    pub step: StepId,
    /// Its 1-based position in this pipeline.
    #[serde(default)]
    pub number: usize,
    /// Its human name.
    #[serde(default)]
    pub name: String,
    /// Run, up to date, or skip.
    pub action: PlannedAction,
    /// Why, e.g. `setting cnn_epochs changed from 2 to 3`.
    pub reason: String,
    /// For an up-to-date step, the run that produced its outputs.
    pub reused_from: Option<String>,
    /// For a download from Sentinel Hub that runs: the estimated processing units and requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostEstimate>,
    /// For a command step of the work directory's `agriflux.toml`: the command line it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_tagged_json() {
        let event = RunEvent::StepProgress {
            step: StepId::TrainCnn,
            done: 7,
            total: 50,
            unit: "epochs".into(),
            message: "val_loss 0.41".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "step_progress");
        assert_eq!(json["step"], "train_cnn");
        let back: RunEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn built_in_step_ids_are_stable_and_in_pipeline_order() {
        let names: Vec<_> = StepId::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "download",
                "validate",
                "cnn_dataset",
                "lstm_dataset",
                "train_cnn",
                "train_lstm",
                "compare",
                "update_env"
            ]
        );
        assert_eq!(StepId::parse("train_lstm"), Some(StepId::TrainLstm));
    }

    #[test]
    fn added_step_names_round_trip_and_never_shadow_built_in_ones() {
        let added = StepId::parse("export_csv").unwrap();
        assert_eq!(
            added,
            StepId::Added(AddedStepName::new("export_csv").unwrap())
        );
        let json = serde_json::to_value(&added).unwrap();
        assert_eq!(json, "export_csv");
        assert_eq!(serde_json::from_value::<StepId>(json).unwrap(), added);
        assert!(AddedStepName::new("train_cnn").is_none());
        for bad in ["", "Export", "9lives", "a-b", "a b", "é"] {
            assert!(StepId::parse(bad).is_none(), "{bad}");
        }
        assert!(serde_json::from_value::<StepId>(serde_json::json!("Nope!")).is_err());
    }
}
