//! Step 8: set `USE_AI_MODELS=true` in `.env`, keeping every other byte.

use serde_json::json;

use super::{REAL, model_files};
use crate::pipeline::{Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir};
use crate::settings::{EnvFile, Settings, USE_AI_MODELS_KEY};

/// Switches the AI models on.
pub struct UpdateEnvStep;

impl Step for UpdateEnvStep {
    fn id(&self) -> StepId {
        StepId::UpdateEnv
    }

    /// Switches on the models of steps 5 and 6, so it reads their weights: after a model is
    /// retrained it runs again. Its effect is one line of `.env`, not a file of its own (the
    /// rest of `.env` is the user's settings), so it is up to date only while `.env` still
    /// says `USE_AI_MODELS=true`.
    fn dependencies(&self, workdir: &WorkDir, _settings: &Settings) -> Option<StepDeps> {
        let value = EnvFile::load(&workdir.env_file())
            .and_then(|env| env.values())
            .ok()
            .and_then(|v| v.get(USE_AI_MODELS_KEY).cloned());
        let not_in_place = match value.as_deref().map(str::trim) {
            Some("true") => None,
            Some(other) => Some(format!(".env says {USE_AI_MODELS_KEY}={other}, not true")),
            None => Some(format!(".env does not set {USE_AI_MODELS_KEY}=true")),
        };
        Some(
            StepDeps::new()
                .inputs(model_files(workdir, "cnn", REAL, false))
                .inputs(model_files(workdir, "lstm", REAL, false))
                .not_in_place(not_in_place),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let path = ctx.workdir.env_file();
        // Held around read-edit-write: the app's Save may be editing the file right now.
        let _lock = EnvFile::lock(&path)?;
        let mut env = EnvFile::load(&path)?;
        let previous = env.values()?.get(USE_AI_MODELS_KEY).cloned();
        env.set(USE_AI_MODELS_KEY, "true");
        let changed = previous.as_deref() != Some("true");
        if changed || !env.existed() {
            env.save()?;
        }
        ctx.info(format!(
            "{USE_AI_MODELS_KEY}=true in {} (was {})",
            path.display(),
            previous.as_deref().unwrap_or("unset")
        ));
        let mut out = StepOutput::new();
        out.insert("env_file".into(), json!(path.display().to_string()));
        out.insert("previous_value".into(), json!(previous));
        out.insert("new_value".into(), json!("true"));
        out.insert("changed".into(), json!(changed));
        out.insert("created".into(), json!(!env.existed()));
        Ok(out)
    }
}
