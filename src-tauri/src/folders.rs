//! Work-directory commands: what the welcome view and the header's folder menu show, a folder
//! picked in the system's dialog or from the recent list, and the simulated-data demo folder.
//!
//! The window never names an arbitrary path: it can open a folder the user picked in the
//! dialog the backend shows, or one from the recent list, so a compromised page cannot point
//! the app (and its runs' writes) at a folder of its choosing.

use std::path::{Path, PathBuf};

use agriflux_core::pipeline::WorkDir;
use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime, State};
use tauri_plugin_dialog::DialogExt as _;
use ts_rs::TS;

use crate::error::{CommandError, ErrorKind};
use crate::map::AppMaps;
use crate::run::RunManager;
use crate::workdir::{AppWorkDir, Workspace};

/// The demo folder's name in the user's documents.
const DEMO_FOLDER: &str = "AgriFlux demo";

/// A folder opened before.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RecentFolder {
    /// Its absolute path.
    pub path: String,
    /// Its last component, for a short label.
    pub name: String,
    /// Whether it still exists (a removed folder is listed, greyed, so the user knows why).
    pub exists: bool,
    /// Whether it holds run reports.
    pub has_runs: bool,
}

/// The work directory open now and the folders the user can switch to.
#[derive(Clone, Debug, Serialize, TS)]
pub struct WorkspaceView {
    /// The open work directory; `None` on a first start (the welcome view).
    pub current: Option<String>,
    /// Folders opened before, newest first.
    pub recent: Vec<RecentFolder>,
    /// Where "Try it with simulated data" makes (or reuses) its folder.
    pub demo_folder: Option<String>,
}

/// The welcome view's and the folder menu's facts.
#[tauri::command(rename_all = "snake_case")]
pub async fn workspace_view<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
) -> Result<WorkspaceView, CommandError> {
    Ok(view(&app, &workspace))
}

/// Shows the system's folder dialog and opens the folder picked; `None` when the user
/// cancelled (nothing changes).
#[tauri::command(rename_all = "snake_case")]
pub async fn choose_workdir<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
    runs: State<'_, RunManager>,
    maps: State<'_, AppMaps>,
) -> Result<Option<WorkspaceView>, CommandError> {
    refuse_while_running(&runs)?;
    let Some(folder) = pick_folder(&app).await? else {
        return Ok(None);
    };
    switch_to(&workspace, &maps, &folder)?;
    Ok(Some(view(&app, &workspace)))
}

/// Opens a folder of the recent list.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_recent_workdir<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
    runs: State<'_, RunManager>,
    maps: State<'_, AppMaps>,
    path: String,
) -> Result<WorkspaceView, CommandError> {
    refuse_while_running(&runs)?;
    let path = PathBuf::from(path);
    if !workspace.recent().contains(&path) {
        return Err(CommandError::new(
            ErrorKind::NotFound,
            "That folder is not in the recent list: open it with \"Open a work directory…\".",
        )
        .with_detail(path.display()));
    }
    if !path.is_dir() {
        return Err(CommandError::new(
            ErrorKind::NotFound,
            "That folder no longer exists: it was moved or removed.",
        )
        .with_detail(path.display()));
    }
    switch_to(&workspace, &maps, &path)?;
    Ok(view(&app, &workspace))
}

/// Makes (or reuses) the demo folder in the user's documents and opens it; the window then
/// starts a run, which uses the simulated source since the folder has no credentials.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_demo_workdir<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
    runs: State<'_, RunManager>,
    maps: State<'_, AppMaps>,
) -> Result<WorkspaceView, CommandError> {
    refuse_while_running(&runs)?;
    let folder = demo_folder(&app).ok_or_else(|| {
        CommandError::new(
            ErrorKind::Files,
            "Your documents folder could not be found: open a work directory instead.",
        )
    })?;
    if folder.exists() && !folder.is_dir() {
        return Err(CommandError::new(
            ErrorKind::Files,
            "A file stands where the demo folder goes: move it, or open a work directory.",
        )
        .with_detail(folder.display()));
    }
    switch_to(&workspace, &maps, &folder)?;
    Ok(view(&app, &workspace))
}

fn refuse_while_running(runs: &RunManager) -> Result<(), CommandError> {
    if runs.is_running() {
        return Err(CommandError::new(
            ErrorKind::Conflict,
            "A run is going in this folder: cancel it or wait for it to end before switching.",
        ));
    }
    Ok(())
}

fn switch_to(workspace: &Workspace, maps: &AppMaps, folder: &Path) -> Result<(), CommandError> {
    let dir = AppWorkDir::new(folder).map_err(|e| {
        CommandError::new(
            ErrorKind::Files,
            "That folder cannot be used as a work directory.",
        )
        .with_detail(e)
    })?;
    tracing::info!(workdir = %dir.root().display(), "work directory opened");
    // The map's pointer queries read the season last made: it belongs to the old folder.
    maps.clear();
    workspace.switch(dir);
    Ok(())
}

async fn pick_folder<R: Runtime>(app: &AppHandle<R>) -> Result<Option<PathBuf>, CommandError> {
    #[cfg(feature = "test-hooks")]
    if let Some(answer) = crate::test_hooks::stubbed_folder(app) {
        return Ok(answer);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Open a work directory")
        .pick_folder(move |folder| {
            let _ = tx.send(folder);
        });
    let picked = rx.await.map_err(CommandError::internal)?;
    picked.map(|p| p.into_path()).transpose().map_err(|e| {
        CommandError::new(ErrorKind::Files, "That folder cannot be opened.").with_detail(e)
    })
}

/// `<documents>/AgriFlux demo`. A machine without the XDG user folders set up (a minimal
/// install) has no documents folder in the path resolver: `~/Documents` is what its file
/// managers use then.
fn demo_folder<R: Runtime>(app: &AppHandle<R>) -> Option<PathBuf> {
    let paths = app.path();
    let documents = paths
        .document_dir()
        .or_else(|_| paths.home_dir().map(|home| home.join("Documents")))
        .ok()?;
    Some(documents.join(DEMO_FOLDER))
}

fn view<R: Runtime>(app: &AppHandle<R>, workspace: &Workspace) -> WorkspaceView {
    WorkspaceView {
        current: workspace
            .current_if_any()
            .map(|d| d.root().display().to_string()),
        recent: workspace
            .recent()
            .into_iter()
            .map(|path| RecentFolder {
                name: path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                ),
                exists: path.is_dir(),
                has_runs: WorkDir::new(path.clone()).reports().is_dir(),
                path: path.display().to_string(),
            })
            .collect(),
        demo_folder: demo_folder(app).map(|p| p.display().to_string()),
    }
}
