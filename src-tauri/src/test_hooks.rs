//! Hooks for the desktop tests, refused unless the app was started with
//! `AGRIFLUX_STUDIO_TEST_HOOKS=1`: a burst of log lines through the real event bridge (the
//! window stays responsive under a flood), the folder dialog's answer given in advance (a
//! WebDriver session cannot click in a GTK dialog), the window's focus pretended, and the
//! run-end notifications sent so far.

use std::path::PathBuf;
use std::sync::Mutex;

use agriflux_core::pipeline::{EventSink, LogLevel, RunEvent, StepId, StepInfo};
use tauri::{AppHandle, Manager as _, Runtime, State};

use crate::bridge::RunJournal;
use crate::error::{CommandError, ErrorKind};

/// What the hooks set and record.
#[derive(Default)]
pub struct TestHookState {
    /// The folder dialog's next answer: `Some(None)` is "the user cancelled".
    folder_answer: Mutex<Option<Option<PathBuf>>>,
    focus: Mutex<Option<bool>>,
    notifications: Mutex<Vec<SentNotification>>,
}

/// A notification the app sent, as `test_notifications` returns it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SentNotification {
    /// Its headline.
    pub title: String,
    /// Its text.
    pub body: String,
}

fn hooks_on() -> Result<(), CommandError> {
    if std::env::var("AGRIFLUX_STUDIO_TEST_HOOKS").as_deref() != Ok("1") {
        return Err(CommandError::new(
            ErrorKind::Conflict,
            "Test hooks are off: start the app with AGRIFLUX_STUDIO_TEST_HOOKS=1.",
        ));
    }
    Ok(())
}

/// The folder dialog's stubbed answer, taken once, if a test gave one.
pub fn stubbed_folder<R: Runtime>(app: &AppHandle<R>) -> Option<Option<PathBuf>> {
    let state = app.try_state::<TestHookState>()?;
    let mut answer = state
        .folder_answer
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    answer.take()
}

/// Whether a test pretends the window has (or lacks) the focus.
pub fn focus_override<R: Runtime>(app: &AppHandle<R>) -> Option<bool> {
    let state = app.try_state::<TestHookState>()?;
    *state.focus.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps a notification for `test_notifications`.
pub fn record_notification<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Some(state) = app.try_state::<TestHookState>() {
        let mut sent = state
            .notifications
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        sent.push(SentNotification {
            title: title.into(),
            body: body.into(),
        });
    }
}

/// Makes the next folder dialog answer `path` (`None`: as if the user cancelled).
#[tauri::command(rename_all = "snake_case")]
pub async fn test_stub_folder_dialog(
    hooks: State<'_, TestHookState>,
    path: Option<String>,
) -> Result<(), CommandError> {
    hooks_on()?;
    *hooks
        .folder_answer
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(path.map(PathBuf::from));
    Ok(())
}

/// Pretends the window has the focus (`true`), lacks it (`false`), or asks the window again
/// (`None`).
#[tauri::command(rename_all = "snake_case")]
pub async fn test_pretend_focus(
    hooks: State<'_, TestHookState>,
    focused: Option<bool>,
) -> Result<(), CommandError> {
    hooks_on()?;
    *hooks.focus.lock().unwrap_or_else(|p| p.into_inner()) = focused;
    Ok(())
}

/// The run-end notifications sent since the app started.
#[tauri::command(rename_all = "snake_case")]
pub async fn test_notifications(
    hooks: State<'_, TestHookState>,
) -> Result<Vec<SentNotification>, CommandError> {
    hooks_on()?;
    Ok(hooks
        .notifications
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone())
}

/// Starts a pretend run (id `test-log-burst`) whose step 1 logs `count` lines as fast as the
/// bridge takes them; the step stays running.
#[tauri::command(rename_all = "snake_case")]
pub async fn test_log_burst<R: Runtime>(
    app: AppHandle<R>,
    count: usize,
) -> Result<(), CommandError> {
    hooks_on()?;
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
