//! The one error type of every command: plain words for the window first, the technical
//! detail below (UI.md: "the error first, in plain words, with the technical detail below").

use agriflux_core::history::HistoryError;
use agriflux_core::pipeline::{LockError, PipelineError};
use agriflux_core::settings::SettingsError;
use serde::Serialize;
use ts_rs::TS;

/// What went wrong, so that the window can choose its words and actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// `.env`, or a value in it, is not valid.
    Settings,
    /// The request clashes with the state: a run is already going, or none is.
    Conflict,
    /// What was asked for does not exist (any more), e.g. a deleted report.
    NotFound,
    /// A file or folder could not be read or written.
    Files,
    /// A bug or a crashed thread: nothing the user did.
    Internal,
}

/// A failed command, as the window receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct CommandError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// One plain sentence, shown first.
    pub summary: String,
    /// The technical cause (paths, the system's error, the parser's message), shown below.
    pub detail: Option<String>,
}

impl CommandError {
    /// An error with a summary only.
    pub fn new(kind: ErrorKind, summary: impl Into<String>) -> Self {
        Self {
            kind,
            summary: summary.into(),
            detail: None,
        }
    }

    /// The same error with `detail` below its summary.
    pub fn with_detail(mut self, detail: impl ToString) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    /// The settings could not be loaded or are invalid; the engine's message says which key.
    pub fn settings(e: SettingsError) -> Self {
        Self::new(
            ErrorKind::Settings,
            "The settings in .env could not be used.",
        )
        .with_detail(e)
    }

    /// A report of the history could not be read or exported.
    pub fn history(summary: &str, e: HistoryError) -> Self {
        let kind = match &e {
            HistoryError::NotAReport(_) => ErrorKind::NotFound,
            HistoryError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            HistoryError::Read { .. }
            | HistoryError::Corrupt { .. }
            | HistoryError::Write { .. } => ErrorKind::Files,
        };
        Self::new(kind, summary).with_detail(e)
    }

    /// The engine refused to plan or start a run.
    pub fn pipeline(summary: &str, e: PipelineError) -> Self {
        match &e {
            PipelineError::Locked(LockError::Busy { .. }) => Self::new(
                ErrorKind::Conflict,
                "Another run is using this work folder: wait for it to end, or cancel it.",
            ),
            _ => Self::new(ErrorKind::Files, summary),
        }
        .with_detail(e)
    }

    /// Blocking work died (a panic): a bug.
    pub fn internal(detail: impl ToString) -> Self {
        Self::new(
            ErrorKind::Internal,
            "Something went wrong inside AgriFlux Studio; its log (folder shown in About) says more.",
        )
        .with_detail(detail)
    }
}

/// Runs blocking file work off the async runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(CommandError::internal)?
}
