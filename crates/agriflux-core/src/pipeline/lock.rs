//! One run per work directory: an advisory lock (`flock`) on `logs/run.lock`, held on an
//! open file for the whole run, and the recovery of runs whose process died without finishing.
//!
//! The kernel owns the lock: it is released when the holder's file is closed, however the
//! process ends, and it holds across PID namespaces and containers sharing the folder. The
//! file's JSON (run id, pid, start time, host) never decides anything: it only feeds the
//! "already running" message, and, found non-empty by the next run to take the lock, names
//! the run that died so that it can be recorded as interrupted.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{Local, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::WorkDir;
use super::events::{RunEvent, StepStatus};
use super::report::{PIPELINE_NAME, RunReport, StepReport, SummaryStatistics};
use crate::atomic_file;
use agriflux_raster::SourceKind;

/// What the lock file says about the run holding it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The run's id.
    pub run_id: String,
    /// The process running it (as its own PID namespace sees it).
    pub pid: u32,
    /// ISO 8601 start time.
    pub started_at: String,
    /// The machine (host name) running it; empty in lock files of older versions.
    #[serde(default)]
    pub host: String,
}

/// Why a run could not take the work directory.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or thread) holds the work directory's lock.
    #[error("another run is going in {dir}: {}; wait for it or cancel it", describe(.holder.as_ref()))]
    Busy {
        /// The work directory.
        dir: PathBuf,
        /// Who holds the lock, when its lock file could be read yet.
        holder: Option<LockInfo>,
    },
    /// The lock file could not be created, locked or written.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn describe(holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) if h.host.is_empty() => {
            format!("run {} (pid {}, started {})", h.run_id, h.pid, h.started_at)
        }
        Some(h) => format!(
            "run {} (pid {} on {}, started {})",
            h.run_id, h.pid, h.host, h.started_at
        ),
        None => "a run that is just starting".into(),
    }
}

/// The work directory's lock, held while this value lives. Dropping it empties the lock file
/// (a clean end leaves no run to recover) and closes it, which releases the lock. The file is
/// never removed: another process may already hold it open, waiting for the lock, and a new
/// file under the same name would give two holders.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The machine's host name, for the "already running" message.
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

impl RunLock {
    /// Takes the lock of `workdir` for `info`, or says who holds it. When the lock file still
    /// names a run (its process died before emptying it), that run is returned so that it can
    /// be recorded as interrupted.
    pub fn acquire(
        workdir: &WorkDir,
        info: &LockInfo,
    ) -> Result<(Self, Option<LockInfo>), LockError> {
        Self::acquire_at(&workdir.logs().join("run.lock"), workdir.root(), info)
    }

    fn acquire_at(
        path: &Path,
        dir: &Path,
        info: &LockInfo,
    ) -> Result<(Self, Option<LockInfo>), LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    holder: read_info(&mut file),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let stale = read_info(&mut file);
        if let Some(holder) = &stale {
            tracing::warn!(
                run_id = holder.run_id,
                pid = holder.pid,
                "the previous run's process ended without finishing it"
            );
        }
        let text = serde_json::to_string(info)
            .map_err(std::io::Error::other)
            .map_err(io)?;
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(io)?;
        Ok((Self { file }, stale))
    }
}

/// The holder named in the lock file; `None` when it is empty (a clean end) or cut short.
/// Capped: the file is in the work directory, which anyone may have written to.
fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the report of a run whose process died, from its event log: finished steps as they
/// ended, the step that was running as `interrupted`, the rest `pending`. Returns its path.
pub fn record_interrupted_run(workdir: &WorkDir, holder: &LockInfo) -> Option<PathBuf> {
    if !crate::workfiles::is_run_id(&holder.run_id) {
        tracing::warn!("the lock file names no valid run id; nothing to recover");
        return None;
    }
    let events_path = workdir.run_dir(&holder.run_id).join("events.jsonl");
    let bytes = crate::workfiles::read_capped(&events_path, crate::workfiles::EVENTS_CAP).ok()?;
    let text = String::from_utf8_lossy(&bytes);
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
    let mut reports: Vec<StepReport> = steps.iter().map(StepReport::pending).collect();
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
        simulated_data: source == SourceKind::Simulated,
        source: source.to_string(),
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
    atomic_file::write_json(&path, &report).ok()?;
    tracing::warn!(run_id, report = %path.display(), "recorded an interrupted run");
    Some(path)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    fn info(run_id: &str, pid: u32) -> LockInfo {
        LockInfo {
            run_id: run_id.into(),
            pid,
            started_at: "2026-01-01T00:00:00+00:00".into(),
            host: "test".into(),
        }
    }

    #[test]
    fn of_two_runs_started_at_the_same_instant_exactly_one_gets_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..50 {
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    let workdir = WorkDir::new(dir.path());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let got = RunLock::acquire(&workdir, &info(&format!("r{round}-{i}"), 7));
                        // Both threads try before either lets go.
                        barrier.wait();
                        got.is_ok()
                    })
                })
                .collect();
            let winners = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count();
            assert_eq!(winners, 1, "round {round}");
        }
    }

    #[test]
    fn a_lock_held_in_this_very_process_is_busy_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let workdir = WorkDir::new(dir.path());
        let me = info("mine", std::process::id());
        let (_held, _) = RunLock::acquire(&workdir, &me).unwrap();
        match RunLock::acquire(&workdir, &info("second", std::process::id())) {
            Err(LockError::Busy { holder, .. }) => assert_eq!(holder, Some(me)),
            other => panic!("expected busy, got {other:?}"),
        }
    }

    #[test]
    fn a_lock_file_naming_a_live_pid_but_not_locked_is_a_dead_run() {
        // The PID may have been reused by an unrelated process: only the kernel lock counts.
        let dir = tempfile::tempdir().unwrap();
        let workdir = WorkDir::new(dir.path());
        fs::create_dir_all(workdir.logs()).unwrap();
        let dead = info("dead-run", 1);
        fs::write(
            workdir.logs().join("run.lock"),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let (_lock, stale) = RunLock::acquire(&workdir, &info("new", 5)).unwrap();
        assert_eq!(stale, Some(dead));
    }

    #[test]
    fn a_clean_end_leaves_an_empty_lock_file_that_is_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let workdir = WorkDir::new(dir.path());
        let path = workdir.logs().join("run.lock");
        let (lock, _) = RunLock::acquire(&workdir, &info("one", 5)).unwrap();
        drop(lock);
        assert_eq!(fs::read(&path).unwrap(), b"");
        let (_lock, stale) = RunLock::acquire(&workdir, &info("two", 5)).unwrap();
        assert_eq!(stale, None);
    }
}
