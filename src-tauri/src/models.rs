//! AI-models commands: where `USE_AI_MODELS` stands with the run that switched it, and the
//! switch itself (on only when the latest run's gate passed; the CLI has `--force`).

use agriflux_core::ai_models::{self, AiModelsError, ModelsView};
use tauri::State;

use crate::error::{CommandError, ErrorKind, blocking};
use crate::workdir::Workspace;

/// Who the change log names for a switch made in the app.
const SWITCHED_BY: &str = "app (AI-models switch)";

fn command_error(summary: &str, e: AiModelsError) -> CommandError {
    match e {
        AiModelsError::Settings(e) => CommandError::settings(e),
        AiModelsError::History(e) => CommandError::history(summary, e),
        AiModelsError::GateHeldBack(reason) => CommandError::new(
            ErrorKind::Conflict,
            "The AI models stay off: the latest run's models did not pass the gate.",
        )
        .with_detail(reason),
    }
}

/// The switch, who last moved it (with that run's figures beside their baselines) and the
/// latest run's gate.
#[tauri::command(rename_all = "snake_case")]
pub async fn models_state(workspace: State<'_, Workspace>) -> Result<ModelsView, CommandError> {
    let workdir = workspace.current()?;
    let root = workdir.dir().clone();
    blocking(move || {
        ai_models::models_state(&root)
            .map_err(|e| command_error("The AI-models switch could not be read.", e))
    })
    .await
}

/// Switches the AI models on or off in `.env` (logged as made in the app) and returns the
/// new state.
#[tauri::command(rename_all = "snake_case")]
pub async fn switch_models(
    workspace: State<'_, Workspace>,
    on: bool,
) -> Result<ModelsView, CommandError> {
    let workdir = workspace.current()?;
    let root = workdir.dir().clone();
    blocking(move || {
        let summary = "The AI models could not be switched.";
        ai_models::switch_models(&root, on, false, SWITCHED_BY)
            .map_err(|e| command_error(summary, e))?;
        tracing::info!(on, "AI models switched in the app");
        ai_models::models_state(&root).map_err(|e| command_error(summary, e))
    })
    .await
}
