//! Past runs of a work directory: the list from `logs/pipeline_report_*.json`, one run's report
//! with its own charts (kept by the compare step under `logs/runs/<id>/charts/`), and a
//! self-contained HTML export. Reports are read into [`StoredReport`], a typed view whose
//! fields that older versions did not write have defaults, so that their reports still open.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::maps::{ReportMap, Season};
use crate::pipeline::{StepId, StepStatus, WorkDir};
use crate::workfiles;

mod html;

pub use html::{escape_html, export_html};

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The name given is not a run report of this work directory.
    #[error("'{0}' is not a run report name (expected pipeline_report_<date>.json)")]
    NotAReport(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A report is not valid JSON.
    #[error("{path} is not a readable run report: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The export could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Where a run that did not succeed stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct StoppedAt {
    /// The step.
    pub step: StepId,
    /// Its human name.
    pub name: String,
    /// `failed`, `cancelled` or `interrupted`.
    pub status: StepStatus,
    /// Its error message.
    pub error: Option<String>,
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct RunSummary {
    /// The report's file name in `logs/`.
    pub report_file: String,
    /// The run's id.
    pub run_id: String,
    /// ISO 8601 start.
    pub started_at: String,
    /// Overall status.
    pub status: StepStatus,
    /// `simulated` or `sentinel-hub`.
    pub source: String,
    /// The source as the badge says it: "Simulated data", "Sentinel Hub", "Copernicus Data Space" …
    pub source_label: String,
    /// Whether the scenes were simulated.
    pub simulated: bool,
    /// Seconds from start to end.
    pub duration_s: f64,
    /// CNN test accuracy, when the CNN was trained (or reused) in this run.
    pub cnn_accuracy: Option<f64>,
    /// LSTM test MAE, when the LSTM was trained (or reused) in this run.
    pub lstm_mae: Option<f64>,
    /// The step where a failed, cancelled or interrupted run stopped.
    pub stopped_at: Option<StoppedAt>,
}

/// CNN headline figures (test split).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct CnnHeadline {
    /// Test accuracy.
    pub accuracy: f64,
    /// Cohen's kappa on the test split.
    pub kappa: Option<f64>,
    /// Test accuracy of the model trained on synthetic data.
    pub synthetic_accuracy: Option<f64>,
    /// Improvement over the synthetic baseline, in percentage points.
    pub improvement_points: Option<f64>,
    /// Improvement over the synthetic baseline, relative, in percent.
    pub improvement_relative_pct: Option<f64>,
    /// Always `test`.
    #[ts(type = "\"test\"")]
    pub split: &'static str,
}

/// LSTM headline figures (test split).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct LstmHeadline {
    /// Mean absolute error of the predicted NDVI.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: Option<f64>,
    /// MAE of the persistence baseline (last value carried forward).
    pub persistence_mae: Option<f64>,
    /// MAE of the model trained on synthetic data.
    pub synthetic_mae: Option<f64>,
    /// Always `test`.
    #[ts(type = "\"test\"")]
    pub split: &'static str,
}

/// The figures shown first in a report.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct Headline {
    /// CNN figures, when the CNN was trained.
    pub cnn: Option<CnnHeadline>,
    /// LSTM figures, when the LSTM was trained.
    pub lstm: Option<LstmHeadline>,
    /// The CNN's figures with 95 % intervals, baselines, support and split sizes (the
    /// report's `cnn_evaluation`; absent in reports of older versions).
    // The block is built with `json!` by the training steps (`evaluation` in their output
    // summary) and has grown over versions, so it stays JSON here; this is its TS shape.
    #[ts(
        type = "{ [figure: string]: unknown; baselines?: Record<string, Record<string, Estimate>>; labels?: { from_ndvi: boolean; note?: string; from?: string | null; observations_used?: number } } | null"
    )]
    pub cnn_evaluation: Option<Value>,
    /// The LSTM's figures with 95 % intervals and baselines (`lstm_evaluation`).
    #[ts(
        type = "{ [figure: string]: unknown; baselines?: Record<string, Record<string, Estimate>> } | null"
    )]
    pub lstm_evaluation: Option<Value>,
    /// Step 8's gate decision (`model_gate`): enable, forced, reason.
    #[ts(type = "{ enable: boolean; forced: boolean; mode: string; reason: string } | null")]
    pub gate: Option<Value>,
}

/// One step's line in a report.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct StepLine {
    /// Which step.
    pub step: StepId,
    /// Its position.
    pub number: usize,
    /// Its human name.
    pub name: String,
    /// How it ended.
    pub status: StepStatus,
    /// Seconds it ran.
    pub duration_s: Option<f64>,
    /// Its error.
    pub error: Option<String>,
    /// Its own figures.
    #[ts(type = "Record<string, unknown>")]
    pub output_summary: Map<String, Value>,
}

/// A chart of a run: name (also the UI test id), title and SVG document.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ChartView {
    /// Stable name, e.g. `cnn_confusion`.
    pub name: String,
    /// Title.
    pub title: String,
    /// The SVG document made by the engine.
    pub svg: String,
}

/// Everything the report view shows for one run.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ReportView {
    /// The run's history line.
    pub summary: RunSummary,
    /// Headline figures.
    pub headline: Headline,
    /// Every step.
    pub steps: Vec<StepLine>,
    /// The settings the run used (no secrets).
    #[ts(type = "Record<string, unknown>")]
    pub settings: Value,
    /// The run's own charts.
    pub charts: Vec<ChartView>,
    /// Why there are no charts, when there are none.
    pub charts_note: Option<String>,
    /// The latest date's health and forecast maps with the fields: only in the latest run's
    /// report (the maps use the current models) and only once they are made.
    pub map: Option<ReportMap>,
}

const REPORT_PREFIX: &str = "pipeline_report_";

/// Lists the runs of `workdir`, newest first. Unreadable reports are skipped with a warning in
/// the log (they stay on disk untouched).
pub fn list_runs(workdir: &WorkDir) -> Result<Vec<RunSummary>, HistoryError> {
    let logs = workdir.logs();
    let entries = match fs::read_dir(&logs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(HistoryError::Read { path: logs, source }),
    };
    let mut runs = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_report_name(&name) {
            continue;
        }
        match read_report(workdir, &name) {
            Ok(report) => runs.push(summarise(&name, &report)),
            Err(e) => tracing::warn!("history: {e}"),
        }
    }
    runs.sort_by(|a, b| {
        (b.started_at.as_str(), b.report_file.as_str())
            .cmp(&(a.started_at.as_str(), a.report_file.as_str()))
    });
    Ok(runs)
}

/// Loads one run's report view; `report_file` is a file name from [`list_runs`].
pub fn load_report(workdir: &WorkDir, report_file: &str) -> Result<ReportView, HistoryError> {
    let report = read_report(workdir, report_file)?;
    let summary = summarise(report_file, &report);
    let lines: Vec<StepLine> = report.steps.iter().map(step_line).collect();
    let (charts, charts_note) = run_charts(workdir, &summary.run_id, &report.steps);
    Ok(ReportView {
        headline: headline(&report),
        settings: report.settings,
        steps: lines,
        charts,
        charts_note,
        map: latest_map(workdir, report_file),
        summary,
    })
}

/// The maps for the report `report_file`: when it is the newest run's and the maps are made.
fn latest_map(workdir: &WorkDir, report_file: &str) -> Option<ReportMap> {
    let newest = list_runs(workdir).ok()?.into_iter().next()?;
    if newest.report_file != report_file {
        return None;
    }
    match Season::cached(workdir).and_then(|season| season.report_map()) {
        Ok(map) => Some(map),
        Err(e) => {
            tracing::debug!("report without maps: {e}");
            None
        }
    }
}

/// Loads one run's summary and headline figures only, without its charts (for callers that
/// show figures, not the report).
pub fn load_headline(
    workdir: &WorkDir,
    report_file: &str,
) -> Result<(RunSummary, Headline), HistoryError> {
    let report = read_report(workdir, report_file)?;
    Ok((summarise(report_file, &report), headline(&report)))
}

fn is_report_name(name: &str) -> bool {
    name.starts_with(REPORT_PREFIX)
        && name.ends_with(".json")
        && !name.contains(['/', '\\'])
        && !name.starts_with('.')
}

/// The parts of a run report the history reads. Fields that older versions did not write
/// default; a status or step id this version does not know makes the report unreadable.
#[derive(Deserialize)]
struct StoredReport {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    start_time: String,
    overall_status: StepStatus,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    simulated_data: bool,
    #[serde(default)]
    total_duration_seconds: Option<f64>,
    /// Model figures, whose shape grew over versions: read by key, each one optional.
    #[serde(default)]
    summary_statistics: Value,
    #[serde(default)]
    settings: Value,
    steps: Vec<StoredStep>,
}

/// One step of a [`StoredReport`].
#[derive(Deserialize)]
struct StoredStep {
    #[serde(default)]
    step_number: usize,
    id: StepId,
    #[serde(default)]
    name: String,
    status: StepStatus,
    #[serde(default)]
    duration_seconds: Option<f64>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    output_summary: Map<String, Value>,
    #[serde(default)]
    reused_from: Option<String>,
}

fn read_report(workdir: &WorkDir, name: &str) -> Result<StoredReport, HistoryError> {
    // Only plain report names: a name from the window never reaches outside `logs/`.
    if !is_report_name(name) {
        return Err(HistoryError::NotAReport(name.into()));
    }
    let path = workdir.logs().join(name);
    // The work directory is untrusted: no FIFO, device, huge file or link out of it.
    let bytes = workfiles::read_capped_within(workdir.root(), &path, workfiles::REPORT_CAP)
        .map_err(|source| HistoryError::Read {
            path: path.clone(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|e| HistoryError::Corrupt {
        path,
        message: e.to_string(),
    })
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn summarise(report_file: &str, report: &StoredReport) -> RunSummary {
    let stats = &report.summary_statistics;
    let stopped_at = report.steps.iter().find_map(|step| {
        matches!(
            step.status,
            StepStatus::Failed | StepStatus::Cancelled | StepStatus::Interrupted
        )
        .then(|| StoppedAt {
            step: step.id.clone(),
            name: step.name.clone(),
            status: step.status,
            error: step.error_message.clone(),
        })
    });
    RunSummary {
        report_file: report_file.into(),
        run_id: report.run_id.clone(),
        started_at: report.start_time.clone(),
        status: report.overall_status,
        source: report.source.clone().unwrap_or_default(),
        source_label: source_label(report),
        simulated: report.simulated_data,
        duration_s: report.total_duration_seconds.unwrap_or(0.0),
        cnn_accuracy: number(stats.get("cnn_accuracy")),
        lstm_mae: number(stats.pointer("/lstm_metrics/mae")),
        stopped_at,
    }
}

fn source_label(report: &StoredReport) -> String {
    let label = match report.source.as_deref().unwrap_or("") {
        "simulated" => "Simulated data",
        "sentinel-hub" => match report
            .settings
            .pointer("/sentinel_hub/deployment")
            .and_then(Value::as_str)
        {
            Some("cdse") => "Copernicus Data Space",
            Some("custom") => "Sentinel Hub (custom URL)",
            _ => "Sentinel Hub",
        },
        _ => "unknown source",
    };
    label.into()
}

fn headline(report: &StoredReport) -> Headline {
    let stats = &report.summary_statistics;
    let comparison = stats.get("model_comparison").cloned().unwrap_or_default();
    let cnn_output = report
        .steps
        .iter()
        .find(|step| step.id == StepId::TrainCnn)
        .map(|step| step.output_summary.clone())
        .unwrap_or_default();
    let cnn = number(stats.get("cnn_accuracy")).map(|accuracy| CnnHeadline {
        accuracy,
        kappa: number(cnn_output.get("test_cohen_kappa")),
        synthetic_accuracy: number(comparison.get("cnn_synthetic_accuracy")),
        improvement_points: number(comparison.get("cnn_accuracy_improvement_pp")),
        improvement_relative_pct: number(comparison.get("cnn_accuracy_improvement_relative_pct")),
        split: "test",
    });
    let lstm_metrics = stats.get("lstm_metrics").cloned().unwrap_or_default();
    let lstm = number(lstm_metrics.get("mae")).map(|mae| LstmHeadline {
        mae,
        r2: number(lstm_metrics.get("r2")),
        persistence_mae: number(lstm_metrics.get("persistence_mae")),
        synthetic_mae: number(comparison.get("lstm_synthetic_mae")),
        split: "test",
    });
    let present = |key: &str| stats.get(key).filter(|v| !v.is_null()).cloned();
    Headline {
        cnn,
        lstm,
        cnn_evaluation: present("cnn_evaluation"),
        lstm_evaluation: present("lstm_evaluation"),
        gate: present("model_gate"),
    }
}

/// `0.812 [0.751, 0.866]` from an estimate object of a report (`–` when it is not one).
pub fn interval(v: Option<&Value>) -> String {
    let f = |k: &str| v.and_then(|e| e.get(k)).and_then(Value::as_f64);
    match (f("value"), f("ci_low"), f("ci_high")) {
        (Some(x), Some(lo), Some(hi)) => format!("{x:.3} [{lo:.3}, {hi:.3}]"),
        _ => "–".into(),
    }
}

fn step_line(step: &StoredStep) -> StepLine {
    StepLine {
        step: step.id.clone(),
        number: step.step_number,
        name: step.name.clone(),
        status: step.status,
        duration_s: step.duration_seconds,
        error: step.error_message.clone(),
        output_summary: step.output_summary.clone(),
    }
}

#[derive(Deserialize)]
struct ChartIndexEntry {
    name: String,
    title: String,
    file: String,
}

/// The charts the compare step made for this run (or, when the step was reused from an
/// earlier run, that run's charts, which are the figures this run reports).
fn run_charts(
    workdir: &WorkDir,
    run_id: &str,
    steps: &[StoredStep],
) -> (Vec<ChartView>, Option<String>) {
    let Some(compare) = steps.iter().find(|step| step.id == StepId::Compare) else {
        return (Vec::new(), Some("this report has no compare step".into()));
    };
    let owner = match compare.status {
        StepStatus::Success => run_id.to_string(),
        StepStatus::UpToDate => match &compare.reused_from {
            Some(id) => id.clone(),
            None => {
                return (
                    Vec::new(),
                    Some("the comparison was reused; its run is not recorded".into()),
                );
            }
        },
        other => {
            return (
                Vec::new(),
                Some(format!("no charts: step 7 (compare) is {}", other.as_str())),
            );
        }
    };
    // The id comes from a file anyone may have edited: never a path out of `logs/runs`.
    if !workfiles::is_run_id(&owner) {
        return (
            Vec::new(),
            Some("no charts: the report names no valid run id".into()),
        );
    }
    let root = workdir.root();
    let dir = workdir.run_dir(&owner).join("charts");
    let index: Vec<ChartIndexEntry> =
        match workfiles::read_capped_within(root, &dir.join("index.json"), workfiles::INDEX_CAP)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(index) => index,
            None => {
                return (
                    Vec::new(),
                    Some(format!(
                        "the charts of run {owner} were not kept (no {})",
                        dir.join("index.json").display()
                    )),
                );
            }
        };
    let mut charts = Vec::new();
    for entry in index {
        // Names come from the engine; still, never follow a path out of the folder.
        if entry.file.contains(['/', '\\']) || entry.file.starts_with('.') {
            continue;
        }
        if let Ok(svg) =
            workfiles::read_capped_within(root, &dir.join(&entry.file), workfiles::CHART_CAP)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            charts.push(ChartView {
                name: entry.name,
                title: entry.title,
                svg,
            });
        }
    }
    let note = charts
        .is_empty()
        .then(|| format!("the charts of run {owner} could not be read"));
    (charts, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;
    use std::path::Path;

    fn report(run_id: &str, start: &str, status: &str, steps: Value) -> Value {
        json!({
            "pipeline_name": "x", "run_id": run_id, "source": "simulated", "simulated_data": true,
            "start_time": start, "end_time": start, "total_duration_seconds": 12.5,
            "overall_status": status,
            "summary_statistics": {"cnn_accuracy": 0.9, "lstm_metrics": {"mae": 0.02, "r2": 0.5, "persistence_mae": 0.04},
                "model_comparison": {"cnn_synthetic_accuracy": 0.5, "cnn_accuracy_improvement_pp": 40.0}},
            "settings": {"seed": 42}, "steps": steps
        })
    }

    fn write(dir: &Path, name: &str, value: &Value) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), serde_json::to_vec(value).unwrap()).unwrap();
    }

    #[test]
    fn lists_runs_newest_first_and_says_where_a_failed_run_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path());
        let failed = json!([{"id": "train_cnn", "name": "Train CNN Model", "status": "failed", "error_message": "boom"}]);
        write(
            &wd.logs(),
            "pipeline_report_1.json",
            &report("a", "2026-01-01T10:00:00+00:00", "success", json!([])),
        );
        write(
            &wd.logs(),
            "pipeline_report_2.json",
            &report("b", "2026-01-02T10:00:00+00:00", "failed", failed),
        );
        fs::write(wd.logs().join("pipeline_report_3.json"), b"{not json").unwrap();
        let runs = list_runs(&wd).unwrap();
        assert_eq!(
            runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        let stopped = runs[0].stopped_at.as_ref().unwrap();
        assert_eq!(
            (stopped.step.clone(), stopped.error.as_deref()),
            (StepId::TrainCnn, Some("boom"))
        );
        assert_eq!(runs[1].lstm_mae, Some(0.02));
    }

    #[test]
    fn refuses_names_outside_the_logs_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path());
        for name in ["../.env", "pipeline_report_../../x.json", "other.json"] {
            assert!(
                matches!(load_report(&wd, name), Err(HistoryError::NotAReport(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn shows_only_the_runs_own_charts() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path());
        let steps = json!([{"id": "compare", "name": "Compare", "status": "success"}]);
        write(
            &wd.logs(),
            "pipeline_report_1.json",
            &report("r1", "2026-01-01", "success", steps.clone()),
        );
        write(
            &wd.logs(),
            "pipeline_report_2.json",
            &report("r2", "2026-01-02", "success", steps),
        );
        let charts = wd.run_dir("r1").join("charts");
        write(
            &charts,
            "index.json",
            &json!([{"name": "cnn_metrics", "title": "CNN <metrics>", "file": "cnn_metrics.svg"}]),
        );
        fs::write(charts.join("cnn_metrics.svg"), "<svg/>").unwrap();
        let r1 = load_report(&wd, "pipeline_report_1.json").unwrap();
        assert_eq!(r1.charts.len(), 1);
        assert_eq!(
            r1.headline.cnn.as_ref().unwrap().improvement_points,
            Some(40.0)
        );
        let r2 = load_report(&wd, "pipeline_report_2.json").unwrap();
        assert!(r2.charts.is_empty());
        assert!(r2.charts_note.unwrap().contains("r2"));
    }

    #[test]
    fn exported_html_is_self_contained_and_escaped() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path());
        let steps = json!([{"id": "train_cnn", "name": "<script>alert(1)</script>", "status": "failed", "error_message": "a & b"}]);
        write(
            &wd.logs(),
            "pipeline_report_1.json",
            &report("r1", "2026-01-01", "failed", steps),
        );
        let path = export_html(&wd, "pipeline_report_1.json").unwrap();
        let html = fs::read_to_string(path).unwrap();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;") && html.contains("a &amp; b"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    fn compare_success() -> Value {
        json!([{"id": "compare", "name": "Compare", "status": "success"}])
    }

    #[test]
    fn a_run_id_that_is_a_path_never_leaves_the_runs_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path().join("wd"));
        // A chart folder outside `logs/runs`, reachable by `..` or by an absolute id.
        let outside = tmp.path().join("outside");
        let charts = outside.join("charts");
        write(
            &charts,
            "index.json",
            &json!([{"name": "x", "title": "x", "file": "x.svg"}]),
        );
        fs::write(charts.join("x.svg"), "<svg>outside</svg>").unwrap();
        for id in ["../../../outside", outside.to_str().unwrap()] {
            write(
                &wd.logs(),
                "pipeline_report_1.json",
                &report(id, "2026-01-01", "success", compare_success()),
            );
            let view = load_report(&wd, "pipeline_report_1.json").unwrap();
            assert!(view.charts.is_empty(), "{id}");
            let html =
                fs::read_to_string(export_html(&wd, "pipeline_report_1.json").unwrap()).unwrap();
            let embedded = base64::engine::general_purpose::STANDARD.encode("<svg>outside</svg>");
            assert!(
                !html.contains("outside</svg>") && !html.contains(&embedded),
                "{id}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_chart_symlinked_out_of_the_work_directory_is_not_embedded() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path().join("wd"));
        let secret = tmp.path().join("private.svg");
        fs::write(&secret, "<svg>private</svg>").unwrap();
        write(
            &wd.logs(),
            "pipeline_report_1.json",
            &report("r1", "2026-01-01", "success", compare_success()),
        );
        let charts = wd.run_dir("r1").join("charts");
        write(
            &charts,
            "index.json",
            &json!([{"name": "a", "title": "a", "file": "a.svg"}, {"name": "b", "title": "b", "file": "b.svg"}]),
        );
        std::os::unix::fs::symlink(&secret, charts.join("a.svg")).unwrap();
        fs::write(charts.join("b.svg"), "<svg>own</svg>").unwrap();
        let view = load_report(&wd, "pipeline_report_1.json").unwrap();
        let svgs: Vec<&str> = view.charts.iter().map(|c| c.svg.as_str()).collect();
        assert_eq!(svgs, ["<svg>own</svg>"]);
        let html = fs::read_to_string(export_html(&wd, "pipeline_report_1.json").unwrap()).unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        assert!(!html.contains("private") && !html.contains(&engine.encode("<svg>private</svg>")));
        assert!(html.contains(&engine.encode("<svg>own</svg>")));
    }

    #[cfg(unix)]
    #[test]
    fn a_device_or_fifo_as_report_is_refused_without_hanging() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(tmp.path());
        fs::create_dir_all(wd.logs()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", wd.logs().join("pipeline_report_1.json")).unwrap();
        let fifo = wd.logs().join("pipeline_report_2.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        write(
            &wd.logs(),
            "pipeline_report_3.json",
            &report("r3", "2026-01-03", "success", json!([])),
        );
        for name in ["pipeline_report_1.json", "pipeline_report_2.json"] {
            assert!(
                matches!(load_report(&wd, name), Err(HistoryError::Read { .. })),
                "{name}"
            );
        }
        let runs = list_runs(&wd).unwrap();
        assert_eq!(runs.len(), 1);
    }
}
