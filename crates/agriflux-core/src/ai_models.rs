//! The AI-models switch, `USE_AI_MODELS` in the work directory's `.env`: its state with who
//! last switched it (from the `.env` change log) and the latest run's gate, and switching it
//! by hand. Step 8 switches the models on only when its gate passes; by hand, `on` follows the
//! latest run's gate unless forced. The CLI's `agriflux models` and the app use this module.

use serde_json::Value;

use crate::history::{self, HistoryError, ReportView};
use crate::pipeline::WorkDir;
use crate::settings::{
    EnvChangeRecord, EnvFile, SettingsChange, SettingsError, USE_AI_MODELS_KEY, read_env_log,
    record_env_change,
};

/// Why the switch could not be read or moved.
#[derive(Debug, thiserror::Error)]
pub enum AiModelsError {
    /// `.env` or its change log could not be read or written.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The run history could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// `on` without force while the latest run's gate did not pass.
    #[error("not switched on: the latest run's gate did not pass ({0})")]
    GateHeldBack(String),
}

/// Where the switch stands.
#[derive(Debug)]
pub struct ModelsState {
    /// `USE_AI_MODELS` as `.env` says it (trimmed), if set.
    pub value: Option<String>,
    /// The last change of `USE_AI_MODELS` in the change log.
    pub last_switch: Option<EnvChangeRecord>,
    /// The report of the run whose step 8 made that change, if a run did and its report is
    /// still in `logs/`.
    pub switched_by_run: Option<ReportView>,
    /// The latest run's report.
    pub latest_run: Option<ReportView>,
}

impl ModelsState {
    /// Whether `.env` switches the models on.
    pub fn is_on(&self) -> bool {
        self.value.as_deref() == Some("true")
    }

    /// The `USE_AI_MODELS` change of [`Self::last_switch`].
    pub fn last_change(&self) -> Option<&SettingsChange> {
        self.last_switch
            .as_ref()?
            .changes
            .iter()
            .find(|c| c.key == USE_AI_MODELS_KEY)
    }
}

/// What a switch did.
#[derive(Debug, PartialEq, Eq)]
pub struct SwitchOutcome {
    /// The value before (`None`: unset).
    pub previous: Option<String>,
    /// Whether `.env` was written (not when it already said so).
    pub changed: bool,
}

/// Reads the switch, its last change and the runs behind them.
pub fn models_state(workdir: &WorkDir) -> Result<ModelsState, AiModelsError> {
    let env_path = workdir.env_file();
    let value = EnvFile::load(&env_path)?
        .values()?
        .get(USE_AI_MODELS_KEY)
        .map(|v| v.trim().to_string());
    let last_switch = read_env_log(&env_path)?
        .into_iter()
        .rev()
        .find(|r| r.changes.iter().any(|c| c.key == USE_AI_MODELS_KEY));
    let runs = history::list_runs(workdir)?;
    let load = |file: &str| history::load_report(workdir, file);
    let switched_by_run = match last_switch.as_ref().and_then(|r| r.run_id.as_deref()) {
        Some(id) => runs
            .iter()
            .find(|r| r.run_id == id)
            .map(|r| load(&r.report_file))
            .transpose()?,
        None => None,
    };
    let latest_run = runs.first().map(|r| load(&r.report_file)).transpose()?;
    Ok(ModelsState {
        value,
        last_switch,
        switched_by_run,
        latest_run,
    })
}

/// The latest run's gate decision (`enable`, `forced`, `reason` …), if any run recorded one.
pub fn latest_gate(state: &ModelsState) -> Option<&Value> {
    state.latest_run.as_ref()?.headline.gate.as_ref()
}

/// Writes `USE_AI_MODELS=true|false` under the `.env` lock and logs it as made `by`. Switching
/// on needs the latest run's gate to have passed on its own (a gate forced with
/// `--enable-models always` held the models back), unless `force`.
pub fn switch_models(
    workdir: &WorkDir,
    on: bool,
    force: bool,
    by: &str,
) -> Result<SwitchOutcome, AiModelsError> {
    if on && !force {
        let state = models_state(workdir)?;
        let gate = latest_gate(&state);
        let passed = gate.is_some_and(|g| g["enable"] == true && g["forced"] != true);
        if !passed {
            let why = gate
                .and_then(|g| g["reason"].as_str())
                .unwrap_or("no run of this work directory has a gate decision");
            return Err(AiModelsError::GateHeldBack(why.to_string()));
        }
    }
    let value = if on { "true" } else { "false" };
    let env_path = workdir.env_file();
    // Read, edit, write and log under the `.env` lock, as the settings panel and step 8 do.
    let _lock = EnvFile::lock(&env_path)?;
    let mut env = EnvFile::load(&env_path)?;
    let previous = env
        .values()?
        .get(USE_AI_MODELS_KEY)
        .map(|v| v.trim().to_string());
    if previous.as_deref() == Some(value) {
        return Ok(SwitchOutcome {
            previous,
            changed: false,
        });
    }
    env.set(USE_AI_MODELS_KEY, value);
    env.save()?;
    let change = SettingsChange::new(USE_AI_MODELS_KEY, previous.as_deref().unwrap_or(""), value);
    // `.env` is written: a log that cannot be written is worth a warning, not a failure.
    if let Err(e) = record_env_change(&env_path, by, None, &[change]) {
        tracing::warn!("the .env change log was not written: {e}");
    }
    Ok(SwitchOutcome {
        previous,
        changed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_writes_false_and_logs_it_and_on_needs_a_passed_gate_or_force() {
        let tmp = tempfile::tempdir().unwrap();
        let workdir = WorkDir::new(tmp.path());
        std::fs::write(workdir.env_file(), "# farm\nUSE_AI_MODELS=true\n").unwrap();
        let off = switch_models(&workdir, false, false, "test off").unwrap();
        assert_eq!(off.previous.as_deref(), Some("true"));
        assert!(off.changed);
        let text = std::fs::read_to_string(workdir.env_file()).unwrap();
        assert_eq!(text, "# farm\nUSE_AI_MODELS=false\n");
        // No run, so no gate: `on` is refused and writes nothing.
        let refused = switch_models(&workdir, true, false, "test on").unwrap_err();
        assert!(
            matches!(refused, AiModelsError::GateHeldBack(_)),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(workdir.env_file()).unwrap(), text);
        switch_models(&workdir, true, true, "test on --force").unwrap();
        let again = switch_models(&workdir, true, true, "test on --force").unwrap();
        assert!(!again.changed);
        let state = models_state(&workdir).unwrap();
        assert!(state.is_on());
        assert_eq!(state.last_switch.as_ref().unwrap().by, "test on --force");
        assert_eq!(state.last_change().unwrap().from, "false");
        assert!(state.latest_run.is_none() && state.switched_by_run.is_none());
    }
}
