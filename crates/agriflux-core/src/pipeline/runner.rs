//! Runs steps in order: skip flags, stop at the first failure, cancel, panics, timing, and the
//! event log and report of every run.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, SecondsFormat};
use serde_json::Value;

use super::error::PipelineError;
use super::events::{EventSink, PlannedAction, RunEvent, StepId, StepInfo, StepStatus};
use super::fingerprint::{FileHasher, Fingerprint, RecordState, write_record};
use super::lock::{LockInfo, RunLock, record_interrupted_run};
use super::plan::{PlanEntry, RunOptions, from_index, make_plan};
use super::report::{PIPELINE_NAME, RunReport, StepReport, SummaryStatistics};
use super::step::{Step, StepContext, StepError, StepOutput};
use super::{CancelToken, WorkDir};
use crate::atomic_file;
use crate::settings::{Settings, SourceKind};

/// What a finished run left behind.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report, as written.
    pub report: RunReport,
    /// Where the report was written.
    pub report_path: PathBuf,
}

/// Forwards events to the caller's sink and appends them to the run's `events.jsonl`.
struct TeeSink<'a> {
    outer: &'a dyn EventSink,
    file: Mutex<BufWriter<File>>,
}

impl EventSink for TeeSink<'_> {
    fn emit(&self, event: &RunEvent) {
        if let Ok(mut file) = self.file.lock()
            && let Ok(line) = serde_json::to_string(event)
        {
            // Flushed per event so that a killed run leaves a replayable log.
            let _ = writeln!(file, "{line}").and_then(|_| file.flush());
        }
        self.outer.emit(event);
    }
}

fn iso(t: DateTime<Local>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Runs `steps` (in pipeline order) on `workdir` with `settings`, sending events to `sink`.
///
/// Before any step runs, the run is planned (see [`super::plan_run`]): a step whose fingerprint
/// matches is `up_to_date` and reused, not run again; `options` can force steps to re-run. The
/// plan is in the `run_started` event, and each step's reason in its `step_finished` event and
/// report entry.
///
/// Step failures do not make this an `Err`: they are in the report. Only the run's own
/// bookkeeping (creating `logs/`, writing the report) can fail.
pub fn run_pipeline(
    steps: &[Box<dyn Step>],
    settings: &Settings,
    options: &RunOptions,
    workdir: &WorkDir,
    sink: &dyn EventSink,
    cancel: CancelToken,
) -> Result<RunOutcome, PipelineError> {
    // Checked before the run takes the lock and opens its log.
    from_index(steps, options)?;
    let started = Local::now();
    let clock = Instant::now();
    let run_id = format!(
        "{}-{:05}",
        started.format("%Y%m%d-%H%M%S"),
        std::process::id() % 100_000
    );
    let lock_info = LockInfo {
        run_id: run_id.clone(),
        pid: std::process::id(),
        started_at: iso(started),
        host: super::lock::host_name(),
    };
    // Held until this function returns: one run per work directory.
    let (_lock, stale) = RunLock::acquire(workdir, &lock_info)?;
    let recovered = stale.and_then(|holder| record_interrupted_run(workdir, &holder));
    let swept = crate::workfiles::remove_stray_temp_files(workdir.root());
    if swept > 0 {
        tracing::info!(
            files = swept,
            "removed temporary files of interrupted writes"
        );
    }
    let run_dir = workdir.run_dir(&run_id);
    let io_err = |path: PathBuf| move |source| PipelineError::Io { path, source };
    fs::create_dir_all(&run_dir).map_err(io_err(run_dir.clone()))?;
    let events_path = run_dir.join("events.jsonl");
    let file = File::create(&events_path).map_err(io_err(events_path.clone()))?;
    let sink = TeeSink {
        outer: sink,
        file: Mutex::new(BufWriter::new(file)),
    };
    let settings_json = serde_json::to_value(settings).unwrap_or(Value::Null);

    let mut hasher = FileHasher::new();
    let plan = make_plan(steps, settings, options, workdir, &mut hasher)?;
    for entry in &plan {
        let p = &entry.planned;
        tracing::info!(step = %p.step, action = p.action.as_str(), "plan: {}", p.reason);
    }

    let infos: Vec<StepInfo> = steps
        .iter()
        .enumerate()
        .map(|(index, s)| StepInfo {
            id: s.id(),
            number: index + 1,
            name: s.name(),
            description: s.description(),
        })
        .collect();
    tracing::info!(run_id, source = %settings.source, "run started");
    sink.emit(&RunEvent::RunStarted {
        run_id: run_id.clone(),
        started_at: iso(started),
        source: settings.source,
        source_reason: settings.source_reason.clone(),
        steps: infos.clone(),
        settings: settings_json.clone(),
        interrupted_run_report: recovered.map(|p| p.display().to_string()),
        plan: plan.iter().map(|e| e.planned.clone()).collect(),
    });

    let mut reports: Vec<StepReport> = infos.iter().map(StepReport::pending).collect();
    let total = steps.len();
    let mut overall = StepStatus::Success;
    for ((index, step), planned) in steps.iter().enumerate().zip(plan) {
        let id = step.id();
        let entry = &mut reports[index];
        let PlanEntry {
            planned,
            deps,
            record,
        } = planned;
        if planned.action == PlannedAction::Skip {
            entry.status = StepStatus::Skipped;
            entry.reason = Some(planned.reason);
            tracing::info!(step = %id, "skipped by flag");
            sink.emit(&finished_event(entry));
            continue;
        }
        if cancel.is_cancelled() {
            overall = StepStatus::Cancelled;
            break;
        }
        if planned.action == PlannedAction::UpToDate
            && let Some(record) = record
        {
            entry.status = StepStatus::UpToDate;
            entry.output_summary = record.output_summary;
            entry.reason = Some(planned.reason);
            entry.reused_from = Some(record.run_id);
            tracing::info!(step = %id, reused_from = entry.reused_from, "up to date");
            sink.emit(&finished_event(entry));
            continue;
        }
        entry.reason = Some(planned.reason);
        // What the step reads, hashed before it runs; and a marker replacing its record, so
        // that a run killed inside the step leaves no record vouching for its outputs.
        let input_hashes = deps.as_ref().map(|d| hasher.hash_sets(workdir, &d.inputs));
        if deps.is_some() {
            save_record(
                workdir,
                &Fingerprint::marker(id.clone(), RecordState::Started, &run_id, None),
            );
        }
        sink.emit(&RunEvent::StepStarted {
            step: id.clone(),
            number: index + 1,
            total,
        });
        tracing::info!(step = %id, reason = entry.reason, "step started");
        let step_start = Local::now();
        let step_clock = Instant::now();
        let limit = settings
            .step_timeouts_s
            .get(id.as_str())
            .map_or(Duration::MAX, |s| Duration::from_secs(*s));
        let (result, timed_out) =
            run_supervised(step.as_ref(), &id, limit, &cancel, |step_cancel| {
                StepContext::new(id.clone(), &run_id, workdir, settings, &sink, step_cancel)
            });
        let result = match result {
            Err(_) if timed_out => Err(StepError::failed(format!(
                "step {id} timed out after {} (limit set by AGRIFLUX_{}_TIMEOUT)",
                human_duration(limit),
                id.as_str().to_uppercase()
            ))),
            other => other,
        };
        entry.start_time = Some(iso(step_start));
        entry.end_time = Some(iso(Local::now()));
        entry.duration_seconds = Some(round3(step_clock.elapsed().as_secs_f64()));
        match result {
            Ok(output) => {
                entry.status = StepStatus::Success;
                entry.output_summary = output;
            }
            Err(StepError::Cancelled) => {
                entry.status = StepStatus::Cancelled;
                entry.error_message = Some("cancelled by the user".into());
                overall = StepStatus::Cancelled;
            }
            Err(StepError::Skipped { reason, mut output }) => {
                // `reason` stays the plan's (why the step ran); why it did nothing is among
                // its figures.
                entry.status = StepStatus::Skipped;
                output.insert("skipped_reason".into(), Value::String(reason));
                entry.output_summary = output;
            }
            Err(StepError::Failed(message)) => {
                entry.status = StepStatus::Failed;
                entry.error_message = Some(message);
                overall = StepStatus::Failed;
            }
        }
        if let Some(deps) = &deps {
            // Written only now that the step has finished and its outputs are in place.
            let record = match entry.status {
                StepStatus::Success | StepStatus::Skipped => Fingerprint {
                    settings: deps.settings.clone(),
                    inputs: input_hashes.unwrap_or_default(),
                    outputs: hasher.hash_sets(workdir, &deps.outputs),
                    output_summary: entry.output_summary.clone(),
                    duration_seconds: entry.duration_seconds,
                    ..Fingerprint::marker(id.clone(), RecordState::Done, &run_id, None)
                },
                StepStatus::Cancelled => Fingerprint::marker(
                    id.clone(),
                    RecordState::Cancelled,
                    &run_id,
                    entry.error_message.clone(),
                ),
                _ => Fingerprint::marker(
                    id.clone(),
                    RecordState::Failed,
                    &run_id,
                    entry.error_message.clone(),
                ),
            };
            save_record(workdir, &record);
        }
        match &entry.error_message {
            Some(e) => tracing::error!(step = %id, status = entry.status.as_str(), "{e}"),
            None => {
                tracing::info!(step = %id, duration_s = entry.duration_seconds, "step succeeded")
            }
        }
        sink.emit(&finished_event(entry));
        if overall != StepStatus::Success {
            break;
        }
    }

    let ended = Local::now();
    let summary = SummaryStatistics::from_steps(&reports);
    let report = RunReport {
        pipeline_name: PIPELINE_NAME.into(),
        run_id: run_id.clone(),
        source: settings.source.to_string(),
        simulated_data: settings.source == SourceKind::Simulated,
        start_time: iso(started),
        end_time: iso(ended),
        total_duration_seconds: round3(clock.elapsed().as_secs_f64()),
        overall_status: overall,
        summary_statistics: summary,
        settings: settings_json,
        steps: reports,
    };
    let report_path = report_path(workdir, started);
    atomic_file::write_json(&report_path, &report).map_err(io_err(report_path.clone()))?;
    tracing::info!(status = overall.as_str(), report = %report_path.display(), "run finished");
    sink.emit(&RunEvent::RunFinished {
        status: overall,
        report_path: report_path.display().to_string(),
        summary: serde_json::to_value(&report.summary_statistics).unwrap_or(Value::Null),
    });
    Ok(RunOutcome {
        report,
        report_path,
    })
}

/// Writes a step's record; a failure only costs the next run a re-run of the step, so it is
/// logged, not fatal.
fn save_record(workdir: &WorkDir, record: &Fingerprint) {
    if let Err(e) = write_record(workdir, record) {
        tracing::warn!(step = %record.step, "cannot write the step's fingerprint: {e}");
    }
}

/// Adds, once per process, a panic hook that writes the panic and its backtrace to the log
/// (the step's error carries the message; the backtrace is for whoever fixes the bug).
fn log_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::error!("panic: {info}\nbacktrace:\n{backtrace}");
            previous(info);
        }));
    });
}

/// Runs one step on this thread while a watchdog thread forwards the run's cancellation and
/// cancels the step when it passes `limit`. A panic becomes a failure naming the step.
/// Returns the step's result and whether the time limit was hit.
fn run_supervised<'a>(
    step: &dyn Step,
    id: &StepId,
    limit: Duration,
    run_cancel: &CancelToken,
    make_ctx: impl FnOnce(CancelToken) -> StepContext<'a>,
) -> (Result<StepOutput, StepError>, bool) {
    log_panics();
    let step_cancel = CancelToken::new();
    let done = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if run_cancel.is_cancelled() {
                    step_cancel.cancel();
                }
                if started.elapsed() >= limit {
                    timed_out.store(true, Ordering::SeqCst);
                    step_cancel.cancel();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let mut ctx = make_ctx(step_cancel.clone());
        let result = catch_unwind(AssertUnwindSafe(|| step.run(&mut ctx)));
        done.store(true, Ordering::SeqCst);
        result
    });
    let result = result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(StepError::failed(format!("step {id} panicked: {message}")))
    });
    (result, timed_out.load(Ordering::SeqCst))
}

/// "90 s", "12 min", "3 h".
fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s >= 3600 {
        format!("{} h", s / 3600)
    } else if s.is_multiple_of(60) && s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn finished_event(entry: &StepReport) -> RunEvent {
    RunEvent::StepFinished {
        step: entry.id.clone(),
        status: entry.status,
        duration_s: entry.duration_seconds.unwrap_or(0.0),
        error: entry.error_message.clone(),
        output_summary: Value::Object(entry.output_summary.clone()),
        reason: entry.reason.clone(),
        reused_from: entry.reused_from.clone(),
    }
}

/// `logs/pipeline_report_YYYYmmdd_HHMMSS.json`, with a suffix if that second is taken.
fn report_path(workdir: &WorkDir, started: DateTime<Local>) -> PathBuf {
    let stem = format!("pipeline_report_{}", started.format("%Y%m%d_%H%M%S"));
    let mut path = workdir.logs().join(format!("{stem}.json"));
    let mut n = 2;
    while path.exists() {
        path = workdir.logs().join(format!("{stem}_{n}.json"));
        n += 1;
    }
    path
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
