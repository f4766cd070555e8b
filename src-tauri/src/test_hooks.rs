//! A hook for the desktop tests, refused unless the app was started with
//! `AGRIFLUX_STUDIO_TEST_HOOKS=1`: it pushes a burst of log lines through the real event
//! bridge, to show that the window stays responsive under a flood.

use agriflux_core::pipeline::{EventSink, LogLevel, RunEvent, StepId, StepInfo};
use tauri::{AppHandle, Runtime};

use crate::bridge::RunJournal;
use crate::error::{CommandError, ErrorKind};

/// Starts a pretend run (id `test-log-burst`) whose step 1 logs `count` lines as fast as the
/// bridge takes them; the step stays running.
#[tauri::command(rename_all = "snake_case")]
pub async fn test_log_burst<R: Runtime>(
    app: AppHandle<R>,
    count: usize,
) -> Result<(), CommandError> {
    if std::env::var("AGRIFLUX_STUDIO_TEST_HOOKS").as_deref() != Ok("1") {
        return Err(CommandError::new(
            ErrorKind::Conflict,
            "Test hooks are off: start the app with AGRIFLUX_STUDIO_TEST_HOOKS=1.",
        ));
    }
    let journal = RunJournal::start(app);
    journal.emit(&RunEvent::RunStarted {
        run_id: "test-log-burst".into(),
        started_at: chrono::Local::now().to_rfc3339(),
        source: agriflux_core::settings::SourceKind::Simulated,
        source_reason: "test hook".into(),
        steps: StepId::ALL
            .iter()
            .enumerate()
            .map(|(index, id)| StepInfo {
                id: id.clone(),
                number: index + 1,
                name: id.name().into(),
                description: id.description().into(),
            })
            .collect(),
        settings: serde_json::Value::Null,
        interrupted_run_report: None,
        plan: Vec::new(),
    });
    journal.emit(&RunEvent::StepStarted {
        step: StepId::Download,
        number: 1,
        total: StepId::ALL.len(),
    });
    for i in 0..count {
        journal.emit(&RunEvent::StepLog {
            step: StepId::Download,
            level: LogLevel::Info,
            message: format!("test line {} of {count}", i + 1),
        });
    }
    journal.finish();
    Ok(())
}
