//! Settings commands: the form over the work directory's `.env`, live checks, saving, the
//! source badge and the Sentinel Hub connection test. The client secret goes in, never out.

use agriflux_core::sentinel_hub::check_connection;
use agriflux_core::settings::SourceKind;
use agriflux_core::settings::form::{
    self, SaveOutcome, SettingsCheck, SettingsEdits, SettingsView,
};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::error::{CommandError, blocking};
use crate::run::{RunOptions, resolve_settings};
use crate::workdir::Workspace;

/// The data source badge of the header.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SourceBadge {
    /// Where a run would take its scenes from.
    pub kind: SourceKind,
    /// "Simulated data", "Sentinel Hub", "Copernicus Data Space" …
    pub label: String,
    /// Why this source is used.
    pub reason: String,
}

/// What the header shows.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The work directory.
    pub workdir: String,
    /// Its `.env`.
    pub env_path: String,
    /// The source a run would use now.
    pub source: SourceBadge,
}

/// The header's facts: version, work directory, source.
#[tauri::command(rename_all = "snake_case")]
pub async fn app_info(workspace: State<'_, Workspace>) -> Result<AppInfo, CommandError> {
    let workdir = workspace.current()?;
    let env_path = workdir.env_file();
    let (kind, label, reason) = form::source_badge(&env_path);
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        workdir: workdir.root().display().to_string(),
        env_path: env_path.display().to_string(),
        source: SourceBadge {
            kind,
            label,
            reason,
        },
    })
}

/// The settings form, from `.env` (the secret only as "set" or not).
#[tauri::command(rename_all = "snake_case")]
pub async fn read_settings(workspace: State<'_, Workspace>) -> Result<SettingsView, CommandError> {
    let workdir = workspace.current()?;
    let env_path = workdir.env_file();
    blocking(move || form::read_settings(&env_path).map_err(CommandError::settings)).await
}

/// Checks edited values and keys without writing anything.
#[tauri::command(rename_all = "snake_case")]
pub async fn check_settings(
    workspace: State<'_, Workspace>,
    edits: SettingsEdits,
) -> Result<SettingsCheck, CommandError> {
    let workdir = workspace.current()?;
    let env_path = workdir.env_file();
    blocking(move || form::check_settings(&env_path, &edits).map_err(CommandError::settings)).await
}

/// Writes edited values and keys to `.env` (every other byte kept) when all are valid.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(
    workspace: State<'_, Workspace>,
    edits: SettingsEdits,
) -> Result<SaveOutcome, CommandError> {
    let workdir = workspace.current()?;
    let env_path = workdir.env_file();
    let outcome =
        blocking(move || form::save_settings(&env_path, &edits).map_err(CommandError::settings))
            .await?;
    tracing::info!(
        changed = ?outcome.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ok = outcome.ok,
        "settings saved"
    );
    Ok(outcome)
}

/// The answer of a connection test, said plainly.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ConnectionResult {
    /// Whether the service answered.
    pub ok: bool,
    /// What works, or what is wrong.
    pub message: String,
}

/// Fetches a token and runs a one-result catalog search with the saved settings.
#[tauri::command(rename_all = "snake_case")]
pub async fn test_connection(
    workspace: State<'_, Workspace>,
) -> Result<ConnectionResult, CommandError> {
    let workdir = workspace.current()?;
    let settings = resolve_settings(&workdir, &RunOptions::default())?;
    let env_path = workdir.env_file().display().to_string();
    blocking(move || {
        let sh = &settings.sentinel_hub;
        Ok(match check_connection(sh, &settings.bbox, &env_path) {
            Ok(report) => ConnectionResult {
                ok: true,
                message: format!(
                    "Connected: token obtained and catalog search answered by {} at {} ({} acquisition(s) in the last 30 days over the area)",
                    report.label, report.base_url, report.features
                ),
            },
            Err(e) => ConnectionResult {
                ok: false,
                message: format!("Connection failed: {e}"),
            },
        })
    })
    .await
}
