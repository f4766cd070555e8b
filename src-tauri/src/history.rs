//! History and report commands: past runs, one run's report with its charts, HTML export,
//! and opening a folder in the file manager.

use std::path::PathBuf;

use agriflux_core::history::{self, ReportView, RunSummary};
use agriflux_core::settings::{EnvChangeRecord, read_env_log};
use serde::Deserialize;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt as _;
use ts_rs::TS;

use crate::error::{CommandError, ErrorKind, blocking};
use crate::workdir::Workspace;

/// The runs of the work directory, newest first.
#[tauri::command(rename_all = "snake_case")]
pub async fn list_runs(workspace: State<'_, Workspace>) -> Result<Vec<RunSummary>, CommandError> {
    let workdir = workspace.current()?;
    let dir = workdir.dir().clone();
    blocking(move || {
        history::list_runs(&dir)
            .map_err(|e| CommandError::history("The list of past runs could not be read.", e))
    })
    .await
}

/// One run's report view; `report_file` is a name from `list_runs`.
#[tauri::command(rename_all = "snake_case")]
pub async fn load_report(
    workspace: State<'_, Workspace>,
    report_file: String,
) -> Result<ReportView, CommandError> {
    let workdir = workspace.current()?;
    let dir = workdir.dir().clone();
    let name = report_name(&report_file);
    blocking(move || {
        history::load_report(&dir, &name)
            .map_err(|e| CommandError::history("This run's report could not be opened.", e))
    })
    .await
}

/// The file name of a report given by name or by its path (as `run_started` names the report
/// of an interrupted run); the engine then looks for it in `logs/` only.
fn report_name(report_file: &str) -> String {
    std::path::Path::new(report_file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes the run's self-contained HTML report and returns its path.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_report(
    workspace: State<'_, Workspace>,
    report_file: String,
) -> Result<String, CommandError> {
    let workdir = workspace.current()?;
    let dir = workdir.dir().clone();
    blocking(move || {
        history::export_html(&dir, &report_name(&report_file))
            .map(|p| p.display().to_string())
            .map_err(|e| CommandError::history("The HTML report could not be written.", e))
    })
    .await
}

/// Every write of the work directory's `.env` (the settings panel, step 8, `agriflux
/// models`), newest first, secrets masked.
#[tauri::command(rename_all = "snake_case")]
pub async fn env_changes(
    workspace: State<'_, Workspace>,
) -> Result<Vec<EnvChangeRecord>, CommandError> {
    let workdir = workspace.current()?;
    let env_path = workdir.env_file();
    blocking(move || {
        let mut records = read_env_log(&env_path).map_err(|e| {
            CommandError::new(
                ErrorKind::Files,
                "The log of .env changes could not be read.",
            )
            .with_detail(e)
        })?;
        records.reverse();
        Ok(records)
    })
    .await
}

/// The folders the window may open: only these, never a path it names.
#[derive(Clone, Copy, Debug, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// `reports/`.
    Reports,
    /// The work directory.
    Workdir,
    /// `logs/`.
    Logs,
}

/// Opens one of the work directory's folders in the desktop's file manager, through the
/// opener plugin (which starts the handler detached, so no child is left unreaped).
#[tauri::command(rename_all = "snake_case")]
pub async fn open_folder<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
    folder: Folder,
) -> Result<(), CommandError> {
    let workdir = workspace.current()?;
    let path: PathBuf = match folder {
        Folder::Reports => workdir.dir().reports(),
        Folder::Workdir => workdir.root().to_path_buf(),
        Folder::Logs => workdir.dir().logs(),
    };
    std::fs::create_dir_all(&path).map_err(|e| {
        CommandError::new(ErrorKind::Files, "The folder could not be created.")
            .with_detail(format!("cannot create {}: {e}", path.display()))
    })?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            CommandError::new(
                ErrorKind::Files,
                format!("No file manager could open the folder {}.", path.display()),
            )
            .with_detail(e)
        })
}
