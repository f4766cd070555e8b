//! The run report (`logs/pipeline_report_<ts>.json`), in the original orchestrator's schema.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::events::{StepId, StepInfo, StepStatus};

/// The pipeline's name, as in the original report.
pub const PIPELINE_NAME: &str = "Real Satellite Data Integration Pipeline";

/// One step's entry in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based position.
    pub step_number: usize,
    /// Machine name.
    pub id: StepId,
    /// Human name.
    pub name: String,
    /// One-sentence description.
    pub description: String,
    /// How it ended (`pending` when the run stopped before it).
    pub status: StepStatus,
    /// ISO 8601 start, when it ran.
    pub start_time: Option<String>,
    /// ISO 8601 end, when it ran.
    pub end_time: Option<String>,
    /// Seconds it ran, when it ran.
    pub duration_seconds: Option<f64>,
    /// The error, when it failed or was cancelled.
    pub error_message: Option<String>,
    /// The step's own figures (for an up-to-date step, those of the run that produced it).
    pub output_summary: Map<String, Value>,
    /// Why the step ran, was reused (`up_to_date`) or was skipped.
    #[serde(default)]
    pub reason: Option<String>,
    /// For an up-to-date step, the run whose outputs were reused.
    #[serde(default)]
    pub reused_from: Option<String>,
}

/// Counts, durations and the model figures of this run only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryStatistics {
    /// Steps in the pipeline.
    pub total_steps: usize,
    /// Steps that succeeded.
    pub completed_steps: usize,
    /// Steps that failed.
    pub failed_steps: usize,
    /// Steps skipped by a flag.
    pub skipped_steps: usize,
    /// Steps cancelled.
    pub cancelled_steps: usize,
    /// Steps found up to date and reused from an earlier run (not run again).
    #[serde(default)]
    pub up_to_date_steps: usize,
    /// Seconds per step that ran in this run, by step name.
    pub step_durations: Map<String, Value>,
    /// Test-split accuracy of the CNN trained in this run, or reused by it (up to date; the
    /// step's `reused_from` names the run that trained it). Null when there is none.
    pub cnn_accuracy: Option<f64>,
    /// Test-split figures of the LSTM trained in (or reused by) this run.
    pub lstm_metrics: Option<Value>,
    /// Real-vs-synthetic comparison computed in (or reused by) this run.
    pub model_comparison: Option<Value>,
    /// The CNN's test figures with 95 % intervals, its baselines, per-class support, split
    /// sizes and where its labels come from.
    #[serde(default)]
    pub cnn_evaluation: Option<Value>,
    /// The LSTM's test figures with 95 % intervals, its baselines and split sizes.
    #[serde(default)]
    pub lstm_evaluation: Option<Value>,
    /// Step 8's gate: whether the models were switched on, forced, or held back, and why.
    #[serde(default)]
    pub model_gate: Option<Value>,
}

/// The whole run report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`PIPELINE_NAME`].
    pub pipeline_name: String,
    /// The run's id (its event log is `logs/runs/<run_id>/events.jsonl`).
    pub run_id: String,
    /// `simulated` or `sentinel-hub`.
    pub source: String,
    /// True when the scenes were simulated, so no figure is mistaken for a real-data result.
    pub simulated_data: bool,
    /// ISO 8601 start.
    pub start_time: String,
    /// ISO 8601 end.
    pub end_time: String,
    /// Seconds from start to end.
    pub total_duration_seconds: f64,
    /// `success`, `failed` or `cancelled`.
    pub overall_status: StepStatus,
    /// Counts, durations and model figures.
    pub summary_statistics: SummaryStatistics,
    /// The resolved settings (no secrets).
    pub settings: Value,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
}

impl SummaryStatistics {
    /// Counts and figures from the steps of one run.
    pub fn from_steps(steps: &[StepReport]) -> Self {
        let count = |status| steps.iter().filter(|s| s.status == status).count();
        let output = |id: StepId, key: &str| {
            steps
                .iter()
                .find(|s| {
                    s.id == id && matches!(s.status, StepStatus::Success | StepStatus::UpToDate)
                })
                .and_then(|s| s.output_summary.get(key))
                .filter(|v| !v.is_null())
                .cloned()
        };
        Self {
            total_steps: steps.len(),
            completed_steps: count(StepStatus::Success),
            failed_steps: count(StepStatus::Failed),
            skipped_steps: count(StepStatus::Skipped),
            cancelled_steps: count(StepStatus::Cancelled),
            up_to_date_steps: count(StepStatus::UpToDate),
            step_durations: steps
                .iter()
                .filter_map(|s| Some((s.name.clone(), Value::from(s.duration_seconds?))))
                .collect(),
            cnn_accuracy: output(StepId::TrainCnn, "test_accuracy").and_then(|v| v.as_f64()),
            lstm_metrics: output(StepId::TrainLstm, "test_metrics"),
            model_comparison: output(StepId::Compare, "model_comparison"),
            cnn_evaluation: output(StepId::TrainCnn, "evaluation"),
            lstm_evaluation: output(StepId::TrainLstm, "evaluation"),
            // Step 8 reports its gate also when it ends skipped.
            model_gate: steps
                .iter()
                .find(|s| s.id == StepId::UpdateEnv)
                .and_then(|s| s.output_summary.get("gate"))
                .filter(|v| !v.is_null())
                .cloned(),
        }
    }
}

impl StepReport {
    /// A step's report entry before it has run.
    pub(super) fn pending(info: &StepInfo) -> Self {
        StepReport {
            step_number: info.number,
            id: info.id.clone(),
            name: info.name.clone(),
            description: info.description.clone(),
            status: StepStatus::Pending,
            start_time: None,
            end_time: None,
            duration_seconds: None,
            error_message: None,
            output_summary: Map::new(),
            reason: None,
            reused_from: None,
        }
    }
}
