//! The orchestration log: every tracing line of a run appended to
//! `logs/pipeline_orchestration.log`.

use anyhow::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use agriflux_core::pipeline::WorkDir;

/// Starts logging to the work directory's orchestration log; keep the guard alive for the run.
pub fn init(workdir: &WorkDir) -> Result<WorkerGuard> {
    let logs = workdir.logs();
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("pipeline_orchestration.log"))
        .with_context(|| {
            format!(
                "cannot open {}",
                logs.join("pipeline_orchestration.log").display()
            )
        })?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("AGRIFLUX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .init();
    Ok(guard)
}
