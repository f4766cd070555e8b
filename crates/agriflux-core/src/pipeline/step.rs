//! The `Step` trait and what a step sees while it runs.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::disk::NotEnoughSpace;
use super::events::{EventSink, LogLevel, RunEvent, StepId};
use super::fingerprint::StepDeps;
use super::{CancelToken, WorkDir};
use crate::sentinel_hub::cost::CostEstimate;
use crate::settings::Settings;

/// The figures a step reports (its `output_summary`).
pub type StepOutput = Map<String, Value>;

/// Why a step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The user cancelled the run while this step was running.
    #[error("cancelled by the user")]
    Cancelled,
    /// The step failed; the message says what and where.
    #[error("{0}")]
    Failed(String),
    /// The step chose not to act (e.g. the gate held the models back): it ends `skipped`
    /// with the reason in plain words and its figures; the run goes on.
    #[error("skipped: {reason}")]
    Skipped {
        /// Why, in plain words.
        reason: String,
        /// The step's figures (its `output_summary`).
        output: StepOutput,
    },
}

impl StepError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

macro_rules! step_error_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for StepError {
            fn from(e: $t) -> Self {
                Self::Failed(e.to_string())
            }
        }
    )*};
}

step_error_from!(
    crate::settings::SettingsError,
    crate::raster::RasterError,
    crate::datasets::npy::NpyError,
    crate::datasets::DatasetError,
    crate::charts::ChartError,
);

impl From<crate::ml::MlError> for StepError {
    fn from(e: crate::ml::MlError) -> Self {
        match e {
            crate::ml::MlError::Cancelled => Self::Cancelled,
            other => Self::Failed(other.to_string()),
        }
    }
}

/// One stage of the pipeline.
pub trait Step: Send + Sync {
    /// Stable machine name.
    fn id(&self) -> StepId;
    /// The human name shown in the console, the report and the UI.
    fn name(&self) -> String {
        self.id().name().into()
    }
    /// One sentence saying what the step does.
    fn description(&self) -> String {
        self.id().description().into()
    }
    /// Runs the step; long loops check [`StepContext::check_cancel`].
    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError>;

    /// What the step reads, writes and depends on, for incremental runs: a step whose record
    /// matches these (same settings, same input and output hashes) is up to date and not run
    /// again. `None` (the default): the step declares nothing and always runs.
    fn dependencies(&self, _workdir: &WorkDir, _settings: &Settings) -> Option<StepDeps> {
        None
    }

    /// What running the step would cost in a paid service's units, shown in the plan before
    /// anything runs. `None` (the default): nothing billed.
    fn cost_estimate(&self, _settings: &Settings, _workdir: &WorkDir) -> Option<CostEstimate> {
        None
    }

    /// The command line of a step that runs the user's command, shown in the plan. `None`
    /// (the default): a built-in step.
    fn external_command(&self, _workdir: &WorkDir, _settings: &Settings) -> Option<String> {
        None
    }
}

impl From<NotEnoughSpace> for StepError {
    fn from(e: NotEnoughSpace) -> Self {
        StepError::Failed(e.to_string())
    }
}

/// What a running step can see and do: the work directory, the settings, progress and logs.
pub struct StepContext<'a> {
    /// Which step is running.
    pub step: StepId,
    /// The run's id.
    pub run_id: &'a str,
    /// The work directory.
    pub workdir: &'a WorkDir,
    /// The resolved settings.
    pub settings: &'a Settings,
    sink: &'a dyn EventSink,
    cancel: CancelToken,
    last_progress: Option<Instant>,
}

/// Progress events closer together than this are dropped (the last one always goes out).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

impl<'a> StepContext<'a> {
    /// A context for `step` (the runner makes these; tests may too).
    pub fn new(
        step: StepId,
        run_id: &'a str,
        workdir: &'a WorkDir,
        settings: &'a Settings,
        sink: &'a dyn EventSink,
        cancel: CancelToken,
    ) -> Self {
        Self {
            step,
            run_id,
            workdir,
            settings,
            sink,
            cancel,
            last_progress: None,
        }
    }

    /// The run's cancel token (for loops in other modules).
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// Returns `Err(Cancelled)` once the user has cancelled.
    pub fn check_cancel(&self) -> Result<(), StepError> {
        if self.cancel.is_cancelled() {
            Err(StepError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports `done` of `total` units (throttled to what the eye can follow).
    pub fn progress(&mut self, done: u64, total: u64, unit: &str, message: impl Into<String>) {
        let now = Instant::now();
        let due = self
            .last_progress
            .is_none_or(|t| now.duration_since(t) >= PROGRESS_INTERVAL);
        if due || done >= total {
            self.last_progress = Some(now);
            self.sink.emit(&RunEvent::StepProgress {
                step: self.step.clone(),
                done,
                total,
                unit: unit.to_string(),
                message: message.into(),
            });
        }
    }

    /// Adds a point to a live curve (e.g. `real/val_loss` at epoch 3).
    pub fn metric(&self, series: &str, x: f64, value: f64) {
        self.sink.emit(&RunEvent::StepMetric {
            step: self.step.clone(),
            series: series.to_string(),
            x,
            value,
        });
    }

    /// Logs a line to the event stream and to the orchestration log.
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        let message = message.into();
        match level {
            LogLevel::Debug => tracing::debug!(step = %self.step, "{message}"),
            LogLevel::Info => tracing::info!(step = %self.step, "{message}"),
            LogLevel::Warn => tracing::warn!(step = %self.step, "{message}"),
            LogLevel::Error => tracing::error!(step = %self.step, "{message}"),
        }
        self.sink.emit(&RunEvent::StepLog {
            step: self.step.clone(),
            level,
            message,
        });
    }

    /// Logs an info line.
    pub fn info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message);
    }

    /// Logs a warning.
    pub fn warn(&self, message: impl Into<String>) {
        self.log(LogLevel::Warn, message);
    }
}
