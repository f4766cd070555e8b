//! Renders run events for a person (banners, live progress bars, summary) or as JSON lines.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use agriflux_core::pipeline::{
    EventSink, LogLevel, PlannedAction, PlannedStep, RunEvent, RunReport, StepId, StepInfo,
    StepStatus, WorkDir,
};
use agriflux_core::settings::{Settings, SourceKind};

const RULE: &str =
    "================================================================================";

/// Prints every event as one JSON object per line on stdout.
pub struct JsonLines;

impl EventSink for JsonLines {
    fn emit(&self, event: &RunEvent) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|_| out.flush());
        }
    }
}

/// The first lines of a run: where, which source and why.
pub fn print_header(workdir: &WorkDir, settings: &Settings) {
    println!("{RULE}");
    println!("AgriFlux: {}", agriflux_core::pipeline::PIPELINE_NAME);
    println!("{RULE}");
    println!("Work directory: {}", workdir.root().display());
    match settings.source {
        SourceKind::Simulated => println!(
            "Data source: SIMULATED Sentinel-2 (not real imagery): {}",
            settings.source_reason
        ),
        SourceKind::SentinelHub => {
            println!("Data source: Sentinel Hub ({})", settings.source_reason)
        }
        SourceKind::Files => println!(
            "Data source: scene files in {} ({}); the area and dates come from the files",
            settings
                .scenes_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            settings.source_reason
        ),
    }
    println!(
        "Area: {}  Dates: {} to {}  Up to {} acquisitions below {}% cloud",
        settings.bbox,
        settings.dates.start,
        settings.dates.end,
        settings.target_count,
        settings.cloud_threshold
    );
    println!(
        "Training: CNN up to {} epochs, LSTM up to {} epochs, {} patches per class, seed {}",
        settings.cnn_epochs, settings.lstm_epochs, settings.samples_per_class, settings.seed
    );
    println!();
}

/// The console view: a banner per step, a progress bar inside long steps, a line per result.
pub struct Console {
    state: Mutex<ConsoleState>,
}

#[derive(Default)]
struct ConsoleState {
    total: usize,
    bar: Option<ProgressBar>,
    /// Why each step runs, from the run's plan.
    reasons: BTreeMap<StepId, String>,
    /// Each step's number and names, from `run_started`.
    steps: BTreeMap<StepId, StepInfo>,
}

/// "2 steps to run, 6 up to date, 0 skipped".
fn plan_counts(plan: &[PlannedStep]) -> String {
    let count = |a| plan.iter().filter(|p| p.action == a).count();
    let run = count(PlannedAction::Run);
    format!(
        "{run} step{} to run, {} up to date, {} skipped",
        if run == 1 { "" } else { "s" },
        count(PlannedAction::UpToDate),
        count(PlannedAction::Skip)
    )
}

/// `agriflux plan`: each step with its action and the reason.
pub fn print_plan(workdir: &WorkDir, plan: &[PlannedStep]) {
    println!(
        "Plan for {} (nothing is run; `agriflux run` with the same options does this):",
        workdir.root().display()
    );
    println!();
    for p in plan {
        let action = match p.action {
            PlannedAction::Run => "run",
            PlannedAction::UpToDate => "up to date",
            PlannedAction::Skip => "skip",
        };
        println!("  {}. {:<28}  {action:<10}  {}", p.number, p.name, p.reason);
        if let Some(cost) = &p.cost {
            println!("     Sentinel Hub cost: {}", cost.summary());
        }
        if let Some(command) = &p.command {
            println!("     command (agriflux.toml): {command}");
        }
    }
    println!();
    println!("{}.", plan_counts(plan));
}

impl Console {
    /// A console view writing to stdout (bars go to stderr and only on a terminal).
    pub fn new() -> Self {
        Self {
            state: Mutex::new(ConsoleState::default()),
        }
    }
}

impl ConsoleState {
    /// What `run_started` said of `step` (its machine name alone for a step it did not list).
    fn info(&self, step: &StepId) -> StepInfo {
        self.steps.get(step).cloned().unwrap_or_else(|| StepInfo {
            id: step.clone(),
            number: 0,
            name: step.name().into(),
            description: step.description().into(),
        })
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    fn bar(&mut self, total: u64, unit: &str) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total);
            let template = format!(
                "  [{{elapsed_precise}}] {{bar:36.cyan/blue}} {{pos}}/{{len}} {unit}  {{wide_msg}}"
            );
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        })
    }
}

impl EventSink for Console {
    fn emit(&self, event: &RunEvent) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match event {
            RunEvent::RunStarted {
                steps,
                run_id,
                interrupted_run_report,
                plan,
                ..
            } => {
                state.total = steps.len();
                state.reasons = plan
                    .iter()
                    .map(|p| (p.step.clone(), p.reason.clone()))
                    .collect();
                state.steps = steps.iter().map(|s| (s.id.clone(), s.clone())).collect();
                if let Some(report) = interrupted_run_report {
                    println!(
                        "⚠ The previous run in this directory was interrupted (its process died); recorded in {report}"
                    );
                }
                println!("Run {run_id}: {} steps", steps.len());
                if !plan.is_empty() {
                    println!("Plan: {}", plan_counts(plan));
                }
            }
            RunEvent::StepStarted {
                step,
                number,
                total,
            } => {
                println!();
                println!("{RULE}");
                let info = state.info(step);
                println!("Step {number}/{total}: {}", info.name);
                println!("{RULE}");
                println!("Description: {}", info.description);
                println!("Status: running");
                if let Some(reason) = state.reasons.get(step) {
                    println!("Why: {reason}");
                }
                println!("{RULE}");
            }
            RunEvent::StepProgress {
                done,
                total,
                unit,
                message,
                ..
            } => {
                let bar = state.bar(*total, unit);
                if bar.length() != Some(*total) {
                    bar.set_length(*total);
                }
                bar.set_position(*done);
                bar.set_message(message.clone());
            }
            RunEvent::StepMetric { .. } => {}
            RunEvent::StepLog { level, message, .. } => {
                let line = match level {
                    LogLevel::Debug => return,
                    LogLevel::Info => format!("  {message}"),
                    LogLevel::Warn => format!("  ⚠ {message}"),
                    LogLevel::Error => format!("  ✗ {message}"),
                };
                state.println(&line);
            }
            RunEvent::StepFinished {
                step,
                status,
                duration_s,
                error,
                reused_from,
                output_summary,
                ..
            } => {
                if let Some(bar) = state.bar.take() {
                    bar.finish_and_clear();
                }
                let StepInfo {
                    number: n, name, ..
                } = state.info(step);
                match status {
                    StepStatus::Success => {
                        println!("✓ Step {n} completed successfully ({duration_s:.1}s)")
                    }
                    StepStatus::Skipped => {
                        println!();
                        // A step that chose not to act (the gate) says why; a flag skip
                        // was asked for.
                        match output_summary.get("skipped_reason").and_then(Value::as_str) {
                            Some(r) => println!("⊘ Step {n} skipped: {name}: {r}"),
                            None => println!("⊘ Step {n} skipped: {name} (as requested)"),
                        }
                    }
                    StepStatus::UpToDate => {
                        println!(
                            "↺ Step {n}/{}: {name}: up to date — reused from run {}",
                            state.total,
                            reused_from.as_deref().unwrap_or("unknown")
                        );
                    }
                    StepStatus::Cancelled => println!("■ Step {n} cancelled ({duration_s:.1}s)"),
                    StepStatus::Interrupted => {
                        println!("■ Step {n} interrupted ({duration_s:.1}s)")
                    }
                    _ => println!(
                        "✗ Step {n} failed ({duration_s:.1}s): {}",
                        error.as_deref().unwrap_or("unknown error")
                    ),
                }
            }
            RunEvent::RunFinished { .. } => {}
        }
        let _ = std::io::stdout().flush();
    }
}

fn figure(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// The final summary block, as in the original's "Summary Report Example", from the report.
pub fn print_summary(report: &RunReport, report_path: &Path) {
    let s = &report.summary_statistics;
    println!();
    println!("{RULE}");
    println!("PIPELINE EXECUTION SUMMARY");
    println!("{RULE}");
    println!("Pipeline: {}", report.pipeline_name);
    if report.simulated_data {
        println!(
            "Data source: simulated (SIMULATED DATA: every figure below is from generated scenes)"
        );
    } else {
        println!("Data source: {}", report.source);
    }
    println!("Start time: {}", report.start_time);
    println!("End time: {}", report.end_time);
    println!(
        "Total duration: {:.1} seconds ({:.1} minutes)",
        report.total_duration_seconds,
        report.total_duration_seconds / 60.0
    );
    println!(
        "Overall status: {}",
        report.overall_status.as_str().to_uppercase()
    );
    println!();
    println!("Step Summary:");
    println!("  Total steps: {}", s.total_steps);
    println!("  Completed: {}", s.completed_steps);
    println!("  Failed: {}", s.failed_steps);
    println!("  Skipped: {}", s.skipped_steps);
    if s.up_to_date_steps > 0 {
        println!("  Up to date (reused): {}", s.up_to_date_steps);
    }
    if s.cancelled_steps > 0 {
        println!("  Cancelled: {}", s.cancelled_steps);
    }
    let durations: BTreeMap<usize, (&str, f64)> = report
        .steps
        .iter()
        .filter_map(|st| Some((st.step_number, (st.name.as_str(), st.duration_seconds?))))
        .collect();
    if !durations.is_empty() {
        println!();
        println!("Step durations:");
        for (n, (name, secs)) in durations {
            println!("  {n}. {name:<32} {secs:>8.1}s");
        }
    }
    let reused: Vec<_> = report
        .steps
        .iter()
        .filter(|st| st.status == StepStatus::UpToDate)
        .collect();
    if !reused.is_empty() {
        println!();
        println!("Up to date (not run again):");
        for st in &reused {
            println!(
                "  {}. {:<32} reused from run {}",
                st.step_number,
                st.name,
                st.reused_from.as_deref().unwrap_or("unknown")
            );
        }
    }
    // The run a figure comes from, when its step was up to date.
    let reused_from = |id: StepId| {
        report
            .steps
            .iter()
            .find(|st| st.id == id && st.status == StepStatus::UpToDate)
            .and_then(|st| st.reused_from.clone())
    };
    let origin =
        |id: StepId| reused_from(id).map_or(String::new(), |r| format!("  (reused from run {r})"));
    if s.cnn_accuracy.is_some() || s.lstm_metrics.is_some() {
        println!();
        let any_reused =
            !origin(StepId::TrainCnn).is_empty() || !origin(StepId::TrainLstm).is_empty();
        println!(
            "Model Performance (held-out test split{}):",
            if any_reused { "" } else { ", this run" }
        );
        if let Some(e) = &s.cnn_evaluation {
            println!(
                "  CNN Accuracy: {}  macro-F1: {}{}",
                estimate(e.get("accuracy")),
                estimate(e.get("macro_f1")),
                origin(StepId::TrainCnn)
            );
        } else if let Some(acc) = s.cnn_accuracy {
            println!("  CNN Accuracy: {acc:.3}{}", origin(StepId::TrainCnn));
        }
        if let Some(e) = &s.lstm_evaluation {
            let persistence = e["baselines"].get("persistence").and_then(|p| p.get("mae"));
            println!(
                "  LSTM MAE: {}  R²: {}  (persistence baseline MAE {}){}",
                estimate(e.get("mae")),
                estimate(e.get("r2")),
                estimate(persistence),
                origin(StepId::TrainLstm),
            );
        } else if let Some(m) = &s.lstm_metrics {
            println!(
                "  LSTM MAE: {:.4}  RMSE: {:.4}  R²: {:.4}  (persistence baseline MAE {:.4}){}",
                figure(m, "mae").unwrap_or(f64::NAN),
                figure(m, "rmse").unwrap_or(f64::NAN),
                figure(m, "r2").unwrap_or(f64::NAN),
                figure(m, "persistence_mae").unwrap_or(f64::NAN),
                origin(StepId::TrainLstm),
            );
        }
    }
    print_evaluation(s);
    if let Some(c) = &s.model_comparison {
        println!();
        println!(
            "Model Comparison (Real vs Synthetic, same real test split{}):",
            reused_from(StepId::Compare)
                .map_or(String::new(), |r| format!("; reused from run {r}"))
        );
        if let (Some(r), Some(syn), Some(pp)) = (
            figure(c, "cnn_real_accuracy"),
            figure(c, "cnn_synthetic_accuracy"),
            figure(c, "cnn_accuracy_improvement_pp"),
        ) {
            let rel = figure(c, "cnn_accuracy_improvement_relative_pct")
                .map_or("n/a".to_string(), |v| format!("{v:+.2}%"));
            println!(
                "  CNN Improvement: {pp:+.2} percentage points (relative {rel}); accuracy {r:.4} vs {syn:.4}"
            );
        }
        if let (Some(r), Some(syn)) = (figure(c, "lstm_real_mae"), figure(c, "lstm_synthetic_mae"))
        {
            let rel = figure(c, "lstm_mae_reduction_relative_pct")
                .map_or("n/a".to_string(), |v| format!("{v:+.2}%"));
            println!(
                "  LSTM Improvement: {rel} lower MAE (relative; positive = real-trained better); MAE {r:.4} vs {syn:.4}"
            );
        }
    }
    println!();
    println!("Report: {}", report_path.display());
    match report.overall_status {
        StepStatus::Success => {
            println!("✅ PIPELINE COMPLETED SUCCESSFULLY!");
            if s.completed_steps == 0 && s.up_to_date_steps > 0 {
                println!(
                    "Nothing to do: every step was up to date (agriflux run --force re-runs them)."
                );
            }
            let gate = s.model_gate.as_ref();
            let enabled = gate.and_then(|g| g.get("enable")).and_then(Value::as_bool);
            let reason = gate
                .and_then(|g| g.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if report.simulated_data {
                println!(
                    "Models trained on SIMULATED data; configure Sentinel Hub credentials for real imagery."
                );
            }
            match enabled {
                Some(true) if reason.starts_with("forced") => {
                    println!("AI models switched on ({reason}).")
                }
                Some(true) => println!(
                    "AI models switched on: trained on real satellite data and better than their baselines ({reason})."
                ),
                Some(false) => println!("AI models NOT switched on — {reason}."),
                None => {}
            }
        }
        StepStatus::Cancelled => {
            println!("⏹ PIPELINE CANCELLED. Outputs of completed steps are intact.");
        }
        _ => {
            if let Some(failed) = report
                .steps
                .iter()
                .find(|st| st.status == StepStatus::Failed)
            {
                println!(
                    "❌ PIPELINE FAILED at step {}: {}",
                    failed.step_number, failed.name
                );
                println!(
                    "Error: {}",
                    failed.error_message.as_deref().unwrap_or("unknown")
                );
            } else {
                println!("❌ PIPELINE FAILED");
            }
        }
    }
    println!("{RULE}");
}

/// `0.812 [0.751, 0.866]` from an estimate object (`value`, `ci_low`, `ci_high`).
fn estimate(v: Option<&Value>) -> String {
    let f = |k: &str| v.and_then(|e| e.get(k)).and_then(Value::as_f64);
    match (f("value"), f("ci_low"), f("ci_high")) {
        (Some(x), Some(lo), Some(hi)) => format!("{x:.3} [{lo:.3}, {hi:.3}]"),
        (Some(x), _, _) => format!("{x:.3}"),
        _ => "n/a".into(),
    }
}

/// The test figures with their 95 % intervals, beside the baselines, and the split sizes.
fn print_evaluation(s: &agriflux_core::pipeline::SummaryStatistics) {
    if let Some(c) = &s.cnn_evaluation {
        println!();
        let test = &c["split_sizes"]["test"];
        println!(
            "CNN on the test split ({} patches, {} blocks; 95% block-bootstrap intervals):",
            test["patches"], test["blocks"]
        );
        println!(
            "  model:                 accuracy {}  macro-F1 {}  kappa {}",
            estimate(c.get("accuracy")),
            estimate(c.get("macro_f1")),
            estimate(c.get("cohen_kappa"))
        );
        if let Some(b) = c["baselines"].as_object() {
            for (name, f) in b {
                println!(
                    "  {:<22} accuracy {}  macro-F1 {}",
                    format!("{}:", name.replace('_', " ")),
                    estimate(f.get("accuracy")),
                    estimate(f.get("macro_f1"))
                );
            }
        }
        if let Some(support) = c["support"].as_array() {
            let parts: Vec<String> = agriflux_core::datasets::CLASS_NAMES
                .iter()
                .zip(support)
                .map(|(n, v)| format!("{n} {v}"))
                .collect();
            println!("  test support: {}", parts.join(", "));
        }
        let sizes: Vec<String> = ["train", "val", "test"]
            .iter()
            .map(|k| {
                let sz = &c["split_sizes"][k];
                format!("{k} {} patches / {} blocks", sz["patches"], sz["blocks"])
            })
            .collect();
        println!("  splits: {}", sizes.join("; "));
        if let Some(note) = c["labels"]["note"].as_str() {
            println!("  ⚠ {note} (compare with the NDVI rule's score above)");
        } else if let Some(from) = c["labels"]["from"].as_str() {
            println!(
                "  labels: {} ground observations used, from {from}",
                c["labels"]["observations_used"]
            );
        }
    }
    if let Some(l) = &s.lstm_evaluation {
        println!();
        println!(
            "LSTM on the test split ({} target dates; 95% bootstrap over areas x dates):",
            l["test_target_dates"]
        );
        println!(
            "  model:                 MAE {}  R² {}  skill vs persistence {}",
            estimate(l.get("mae")),
            estimate(l.get("r2")),
            estimate(l.get("skill_vs_persistence"))
        );
        if let Some(b) = l["baselines"].as_object() {
            for (name, f) in b {
                println!(
                    "  {:<22} MAE {}",
                    format!("{}:", name.replace('_', " ")),
                    estimate(f.get("mae"))
                );
            }
        }
        let sizes: Vec<String> = ["train", "val", "test"]
            .iter()
            .map(|k| {
                let sz = &l["split_sizes"][k];
                format!(
                    "{k} {} sequences / {} dates",
                    sz["sequences"], sz["target_dates"]
                )
            })
            .collect();
        println!("  splits: {}", sizes.join("; "));
    }
    if let Some(g) = &s.model_gate {
        println!();
        println!(
            "Model gate ({}): {}",
            g["mode"].as_str().unwrap_or("gated"),
            g["reason"].as_str().unwrap_or("")
        );
    }
}
