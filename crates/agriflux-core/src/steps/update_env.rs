//! Step 8: set `USE_AI_MODELS=true` in `.env`, keeping every other byte — only for models
//! that earned it (real data, each model beating its best baseline beyond the uncertainty of
//! the test), unless `--enable-models always`.

use std::path::Path;

use serde_json::{Value, json};

use super::UsesSettings;
use super::{REAL, model_files};
use crate::evaluation::{GateDecision, GateEvidence, decide};
use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir,
};
use crate::settings::{EnvFile, Settings, SourceKind, USE_AI_MODELS_KEY, set_use_ai_models};

/// The metrics files steps 5 and 6 write, whose `gate_evidence` the gate reads.
const METRICS_FILES: [&str; 2] = ["cnn_real_metrics.json", "lstm_real_metrics.json"];

/// The gate evidence recorded in `models/<file>`, or why there is none.
fn read_evidence(path: &Path) -> Result<Option<GateEvidence>, StepError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StepError::failed(format!("{}: {e}", path.display()))),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))?;
    match value.get("gate_evidence") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| StepError::failed(format!("{}: gate_evidence: {e}", path.display()))),
    }
}

/// The gate's decision from the evidence steps 5 and 6 recorded.
fn decide_for(workdir: &WorkDir, settings: &Settings) -> Result<GateDecision, StepError> {
    let models = workdir.models();
    let mut evidence = Vec::new();
    for file in METRICS_FILES {
        evidence.extend(read_evidence(&models.join(file))?);
    }
    let simulated = settings.source == SourceKind::Simulated;
    Ok(decide(
        simulated,
        settings.enable_models,
        evidence,
        METRICS_FILES.len(),
    ))
}

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
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        let value = EnvFile::load(&workdir.env_file())
            .and_then(|env| env.values())
            .ok()
            .and_then(|v| v.get(USE_AI_MODELS_KEY).cloned());
        // When the gate holds the models back there is nothing to keep in place.
        let enable = decide_for(workdir, settings).is_ok_and(|d| d.enable);
        let not_in_place = match value.as_deref().map(str::trim) {
            _ if !enable => None,
            Some("true") => None,
            Some(other) => Some(format!(".env says {USE_AI_MODELS_KEY}={other}, not true")),
            None => Some(format!(".env does not set {USE_AI_MODELS_KEY}=true")),
        };
        Some(
            StepDeps::new()
                .inputs(model_files(workdir, "cnn", REAL, false))
                .inputs(model_files(workdir, "lstm", REAL, false))
                .inputs(METRICS_FILES.map(|f| FileSet::file(workdir.models().join(f))))
                .uses(settings, &["enable-models", "source"])
                .not_in_place(not_in_place),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let decision = decide_for(ctx.workdir, ctx.settings)?;
        let gate = json!(decision);
        if !decision.enable {
            ctx.warn(format!("{USE_AI_MODELS_KEY} not set: {}", decision.reason));
            let mut out = StepOutput::new();
            out.insert("gate".into(), gate);
            out.insert("models_enabled".into(), json!(false));
            return Err(StepError::Skipped {
                reason: decision.reason,
                output: out,
            });
        }
        if decision.forced {
            ctx.warn(decision.reason.clone());
        } else {
            ctx.info(format!("gate {}", decision.reason));
        }
        let path = ctx.workdir.env_file();
        let existed = path.exists();
        // Through the `.env` lock: the app's Save may be editing the file right now.
        let by = format!("step 8 of run {}", ctx.run_id);
        let switched = set_use_ai_models(&path, true, &by, Some(ctx.run_id))?;
        if let Some(e) = &switched.log_error {
            // `.env` says true: a log that cannot be written is worth a warning, not a failure.
            ctx.warn(format!("the .env change log was not written: {e}"));
        }
        let (previous, changed) = (switched.previous, switched.changed);
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
        out.insert("created".into(), json!(!existed));
        out.insert("gate".into(), gate);
        out.insert("models_enabled".into(), json!(true));
        Ok(out)
    }
}
