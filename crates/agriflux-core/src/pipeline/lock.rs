//! One run per work directory: a lock file held for the whole run, and the recovery of runs
//! whose process died without finishing (their lock is stale, their event log has no end).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Local, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{RunEvent, StepStatus};
use super::report::{PIPELINE_NAME, RunReport, StepReport, SummaryStatistics};
use super::runner::pending_report;
use super::{WorkDir, write_json_atomic};

/// What the lock file says about the run holding it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The run's id.
    pub run_id: String,
    /// The process running it.
    pub pid: u32,
    /// ISO 8601 start time.
    pub started_at: String,
}

/// Why a run could not take the work directory.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process is running a pipeline in this directory.
    #[error(
        "another run is going in {dir}: run {} (pid {}, started {}); wait for it or cancel it",
        .holder.run_id, .holder.pid, .holder.started_at
    )]
    Busy {
        /// The work directory.
        dir: PathBuf,
        /// Who holds the lock.
        holder: LockInfo,
    },
    /// The lock file could not be created or read.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The work directory's lock; released (file removed) when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether a process with this id is alive. Where this cannot be told, assume it is, so a
/// live run is never taken over.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl RunLock {
    /// Takes the lock of `workdir` for `info`. A lock left by a dead process is stale: it is
    /// taken over, and its holder is returned so its run can be recorded as interrupted.
    pub fn acquire(
        workdir: &WorkDir,
        info: &LockInfo,
    ) -> Result<(Self, Option<LockInfo>), LockError> {
        let path = workdir.logs().join("run.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(workdir.logs()).map_err(io)?;
        let mut stale = None;
        for _ in 0..3 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let text = serde_json::to_string(info)
                        .map_err(std::io::Error::other)
                        .map_err(io)?;
                    file.write_all(text.as_bytes())
                        .and_then(|_| file.sync_all())
                        .map_err(io)?;
                    return Ok((Self { path }, stale));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    match serde_json::from_str::<LockInfo>(&text) {
                        Ok(holder)
                            if holder.pid != std::process::id() && process_alive(holder.pid) =>
                        {
                            return Err(LockError::Busy {
                                dir: workdir.root().to_path_buf(),
                                holder,
                            });
                        }
                        Ok(holder) => {
                            tracing::warn!(
                                run_id = holder.run_id,
                                pid = holder.pid,
                                "taking over a stale lock"
                            );
                            stale = Some(holder);
                        }
                        // A lock file cut short by a crash between create and write.
                        Err(_) => tracing::warn!("removing an unreadable lock file"),
                    }
                    fs::remove_file(&path).map_err(io)?;
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("the lock kept changing hands")))
    }
}

/// Writes the report of a run whose process died, from its event log: finished steps as they
/// ended, the step that was running as `interrupted`, the rest `pending`. Returns its path.
pub fn record_interrupted_run(workdir: &WorkDir, holder: &LockInfo) -> Option<PathBuf> {
    let events_path = workdir.run_dir(&holder.run_id).join("events.jsonl");
    let text = fs::read_to_string(&events_path).ok()?;
    let events: Vec<RunEvent> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if events
        .iter()
        .any(|e| matches!(e, RunEvent::RunFinished { .. }))
    {
        return None;
    }
    let Some(RunEvent::RunStarted {
        run_id,
        started_at,
        source,
        steps,
        settings,
        ..
    }) = events.first().cloned()
    else {
        return None;
    };
    let mut reports: Vec<StepReport> = steps.iter().map(|s| pending_report(s.id)).collect();
    for event in &events {
        match event {
            RunEvent::StepStarted { step, .. } => {
                if let Some(r) = reports.iter_mut().find(|r| r.id == *step) {
                    r.status = StepStatus::Interrupted;
                    r.error_message = Some(format!(
                        "interrupted: the process (pid {}) stopped while this step was running",
                        holder.pid
                    ));
                }
            }
            RunEvent::StepFinished {
                step,
                status,
                duration_s,
                error,
                output_summary,
                reason,
                reused_from,
            } => {
                if let Some(r) = reports.iter_mut().find(|r| r.id == *step) {
                    r.status = *status;
                    r.duration_seconds = (*status != StepStatus::UpToDate).then_some(*duration_s);
                    r.error_message = error.clone();
                    r.output_summary = output_summary.as_object().cloned().unwrap_or_default();
                    r.reason = reason.clone();
                    r.reused_from = reused_from.clone();
                }
            }
            _ => {}
        }
    }
    let now = Local::now();
    let report = RunReport {
        pipeline_name: PIPELINE_NAME.into(),
        run_id: run_id.clone(),
        simulated_data: source == "simulated",
        source,
        start_time: started_at.clone(),
        end_time: now.to_rfc3339_opts(SecondsFormat::Secs, false),
        total_duration_seconds: chrono::DateTime::parse_from_rfc3339(&started_at)
            .map(|s| (now.fixed_offset() - s).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0),
        overall_status: StepStatus::Interrupted,
        summary_statistics: SummaryStatistics::from_steps(&reports),
        settings: if settings.is_null() {
            Value::Null
        } else {
            settings
        },
        steps: reports,
    };
    // Named after the run's start so it sorts with the run, not with the one that found it.
    let stamp = run_id.get(..15).unwrap_or(&run_id).replace('-', "_");
    let path = workdir.logs().join(format!("pipeline_report_{stamp}.json"));
    let path = if path.exists() {
        workdir
            .logs()
            .join(format!("pipeline_report_{stamp}_interrupted.json"))
    } else {
        path
    };
    write_json_atomic(&path, &report).ok()?;
    tracing::warn!(run_id, report = %path.display(), "recorded an interrupted run");
    Some(path)
}
