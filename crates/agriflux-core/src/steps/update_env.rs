//! Step 8: set `USE_AI_MODELS=true` in `.env`, keeping every other byte.

use serde_json::json;

use crate::pipeline::{Step, StepContext, StepError, StepId, StepOutput};
use crate::settings::{EnvFile, USE_AI_MODELS_KEY};

/// Switches the AI models on.
pub struct UpdateEnvStep;

impl Step for UpdateEnvStep {
    fn id(&self) -> StepId {
        StepId::UpdateEnv
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let path = ctx.workdir.env_file();
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
