//! The AI-models switch, `USE_AI_MODELS` in the work directory's `.env`: where it stands, who
//! last switched it (from the `.env` change log) with that run's figures beside their
//! baselines, the latest run's gate, and switching it by hand. Step 8 switches the models on
//! only when its gate passes; by hand, `on` follows the latest run's gate unless forced. The
//! CLI's `agriflux models` and the app both show [`ModelsView`].

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::history::{self, Headline, HistoryError, RunSummary, interval};
use crate::pipeline::WorkDir;
use crate::settings::{EnvFile, SettingsError, USE_AI_MODELS_KEY, read_env_log, set_use_ai_models};

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

/// Where the switch stands, and why.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ModelsView {
    /// Whether `.env` switches the models on (`USE_AI_MODELS=true`).
    pub on: bool,
    /// `USE_AI_MODELS` as `.env` says it (trimmed), if set.
    pub value: Option<String>,
    /// The `.env` file.
    pub env_path: String,
    /// The last change of `USE_AI_MODELS` in the change log.
    pub last_switch: Option<SwitchView>,
    /// The latest run's gate decision, if a run recorded one.
    pub latest_gate: Option<GateView>,
    /// Whether `on` is allowed without force: the latest run's gate passed on its own.
    pub can_switch_on: bool,
}

/// One switch of `USE_AI_MODELS`, from the change log.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SwitchView {
    /// Whether it switched the models on.
    pub on: bool,
    /// Who: `step 8 of run <id>`, `app`, `agriflux models off` …
    pub by: String,
    /// When (ISO 8601).
    pub at: String,
    /// The value before (`""`: unset).
    pub from: String,
    /// The run whose step 8 switched, if a run did.
    pub run_id: Option<String>,
    /// That run's data and figures, while its report is still in `logs/`.
    pub run: Option<RunFigures>,
}

/// A run's data and its models' test figures beside their baselines.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct RunFigures {
    /// The run.
    pub run_id: String,
    /// When it started.
    pub started_at: String,
    /// Its data source in words ("Simulated data", "Sentinel Hub" …).
    pub source_label: String,
    /// Whether it ran on simulated data.
    pub simulated: bool,
    /// Whether its gate was forced (`--enable-models always`) rather than passed.
    pub gate_forced: bool,
    /// Its headline figures, each with its 95 % interval and its baselines'.
    pub figures: Vec<ModelFigure>,
}

/// One test figure of a model.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ModelFigure {
    /// "CNN macro-F1", "LSTM MAE" …
    pub label: String,
    /// `0.836 [0.801, 0.870]`, or the bare figure where the report has no interval.
    pub value: String,
    /// The same figure for each baseline, by name.
    pub baselines: Vec<BaselineFigure>,
}

/// A baseline's figure.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct BaselineFigure {
    /// The baseline ("majority class", "persistence" …).
    pub name: String,
    /// Its figure with its interval.
    pub value: String,
}

/// The latest run's gate.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct GateView {
    /// The run.
    pub run_id: String,
    /// Its data source in words.
    pub source_label: String,
    /// Whether the gate let the models through.
    pub enable: bool,
    /// Whether that was forced rather than earned.
    pub forced: bool,
    /// The gate's reason in plain words.
    pub reason: String,
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
pub fn models_state(workdir: &WorkDir) -> Result<ModelsView, AiModelsError> {
    let env_path = workdir.env_file();
    let value = EnvFile::load(&env_path)?
        .values()?
        .get(USE_AI_MODELS_KEY)
        .map(|v| v.trim().to_string());
    let runs = history::list_runs(workdir)?;
    // The latest run's report is read once: it is usually also the one that switched.
    let latest = runs
        .first()
        .map(|r| history::load_headline(workdir, &r.report_file))
        .transpose()?;
    let last_switch = read_env_log(&env_path)?
        .into_iter()
        .rev()
        .find_map(|record| {
            let change = record
                .changes
                .iter()
                .find(|c| c.key == USE_AI_MODELS_KEY)?
                .clone();
            Some((record, change))
        })
        .map(|(record, change)| -> Result<SwitchView, AiModelsError> {
            let report = record
                .run_id
                .as_deref()
                .and_then(|id| runs.iter().find(|r| r.run_id == id));
            let run = match (report, &latest) {
                (Some(r), Some((summary, headline))) if summary.run_id == r.run_id => {
                    Some(run_figures(summary, headline))
                }
                (Some(r), _) => {
                    let (summary, headline) = history::load_headline(workdir, &r.report_file)?;
                    Some(run_figures(&summary, &headline))
                }
                (None, _) => None,
            };
            Ok(SwitchView {
                on: change.to == "true",
                by: record.by,
                at: record.at,
                from: change.from,
                run_id: record.run_id,
                run,
            })
        })
        .transpose()?;
    let latest_gate = latest.as_ref().and_then(|(summary, headline)| {
        headline.gate.as_ref().map(|g| GateView {
            run_id: summary.run_id.clone(),
            source_label: summary.source_label.clone(),
            enable: g["enable"] == true,
            forced: g["forced"] == true,
            reason: g["reason"].as_str().unwrap_or_default().to_string(),
        })
    });
    Ok(ModelsView {
        on: value.as_deref() == Some("true"),
        value,
        env_path: env_path.display().to_string(),
        last_switch,
        can_switch_on: latest_gate.as_ref().is_some_and(|g| g.enable && !g.forced),
        latest_gate,
    })
}

/// A run's test figures with their 95 % intervals beside each baseline's (a figure alone says
/// nothing of whether the model is good enough); the bare headline where an older report has
/// no evaluation.
fn run_figures(summary: &RunSummary, headline: &Headline) -> RunFigures {
    let mut figures = Vec::new();
    let baselines = |evaluation: &Value, metric: &str| {
        evaluation["baselines"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, f)| BaselineFigure {
                name: name.replace('_', " "),
                value: interval(f.get(metric)),
            })
            .collect()
    };
    match (&headline.cnn_evaluation, &headline.cnn) {
        (Some(e), _) => {
            figures.push(ModelFigure {
                label: "CNN macro-F1".into(),
                value: interval(e.get("macro_f1")),
                baselines: baselines(e, "macro_f1"),
            });
            figures.push(ModelFigure {
                label: "CNN accuracy".into(),
                value: interval(e.get("accuracy")),
                baselines: baselines(e, "accuracy"),
            });
        }
        (None, Some(cnn)) => figures.push(ModelFigure {
            label: "CNN test accuracy".into(),
            value: format!("{:.3}", cnn.accuracy),
            baselines: Vec::new(),
        }),
        (None, None) => {}
    }
    match (&headline.lstm_evaluation, &headline.lstm) {
        (Some(e), _) => figures.push(ModelFigure {
            label: "LSTM MAE".into(),
            value: interval(e.get("mae")),
            baselines: baselines(e, "mae"),
        }),
        (None, Some(lstm)) => figures.push(ModelFigure {
            label: "LSTM test MAE".into(),
            value: format!("{:.3}", lstm.mae),
            baselines: lstm
                .persistence_mae
                .map(|mae| BaselineFigure {
                    name: "persistence".into(),
                    value: format!("{mae:.3}"),
                })
                .into_iter()
                .collect(),
        }),
        (None, None) => {}
    }
    RunFigures {
        run_id: summary.run_id.clone(),
        started_at: summary.started_at.clone(),
        source_label: summary.source_label.clone(),
        simulated: summary.simulated,
        gate_forced: headline.gate.as_ref().is_some_and(|g| g["forced"] == true),
        figures,
    }
}

/// Writes `USE_AI_MODELS=true|false` through the `.env` lock and logs it as made `by`.
/// Switching on needs the latest run's gate to have passed on its own (a gate forced with
/// `--enable-models always` held the models back), unless `force`.
pub fn switch_models(
    workdir: &WorkDir,
    on: bool,
    force: bool,
    by: &str,
) -> Result<SwitchOutcome, AiModelsError> {
    if on && !force {
        let state = models_state(workdir)?;
        if !state.can_switch_on {
            let why = state.latest_gate.map_or_else(
                || "no run of this work directory has a gate decision".to_string(),
                |g| g.reason,
            );
            return Err(AiModelsError::GateHeldBack(why));
        }
    }
    let switched = set_use_ai_models(&workdir.env_file(), on, by, None)?;
    if let Some(e) = switched.log_error {
        // `.env` is written: a log that cannot be written is worth a warning, not a failure.
        tracing::warn!("the .env change log was not written: {e}");
    }
    Ok(SwitchOutcome {
        previous: switched.previous,
        changed: switched.changed,
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
        assert!(state.on && !state.can_switch_on);
        let last = state.last_switch.unwrap();
        assert_eq!(last.by, "test on --force");
        assert_eq!(last.from, "false");
        assert!(last.on && last.run.is_none());
        assert!(state.latest_gate.is_none());
    }

    /// A report of a run on real data whose gate passed, as the pipeline writes one (only the
    /// parts the switch reads).
    fn passed_run_report() -> Value {
        let estimate = |value: f64| serde_json::json!({"value": value, "ci_low": value - 0.03, "ci_high": value + 0.03});
        serde_json::json!({
            "run_id": "20261129-101500",
            "start_time": "2026-11-29T10:15:00+00:00",
            "overall_status": "success",
            "source": "sentinel_hub",
            "simulated_data": false,
            "summary_statistics": {
                "cnn_evaluation": {
                    "macro_f1": estimate(0.81), "accuracy": estimate(0.86),
                    "baselines": {"majority_class": {"macro_f1": estimate(0.22), "accuracy": estimate(0.52)}}
                },
                "lstm_evaluation": {
                    "mae": estimate(0.05),
                    "baselines": {"persistence": {"mae": estimate(0.09)}}
                },
                "model_gate": {"enable": true, "forced": false, "mode": "gated", "reason": "passed: both models beat their best baseline"}
            },
            "steps": []
        })
    }

    #[test]
    fn names_the_run_that_switched_the_models_on_with_its_figures_and_baselines() {
        let tmp = tempfile::tempdir().unwrap();
        let workdir = WorkDir::new(tmp.path());
        std::fs::create_dir_all(workdir.logs()).unwrap();
        std::fs::write(
            workdir.logs().join("pipeline_report_20261129_101500.json"),
            passed_run_report().to_string(),
        )
        .unwrap();
        let env = workdir.env_file();
        set_use_ai_models(
            &env,
            true,
            "step 8 of run 20261129-101500",
            Some("20261129-101500"),
        )
        .unwrap();
        let state = models_state(&workdir).unwrap();
        assert!(state.on && state.can_switch_on, "{state:?}");
        let run = state.last_switch.unwrap().run.unwrap();
        assert!(!run.simulated && !run.gate_forced);
        let labels: Vec<&str> = run.figures.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["CNN macro-F1", "CNN accuracy", "LSTM MAE"]);
        assert_eq!(run.figures[0].value, "0.810 [0.780, 0.840]");
        assert_eq!(run.figures[0].baselines[0].name, "majority class");
        assert_eq!(run.figures[0].baselines[0].value, "0.220 [0.190, 0.250]");
        assert_eq!(run.figures[2].baselines[0].name, "persistence");
        // Off, then on again by hand: allowed without force, because this run's gate passed.
        switch_models(&workdir, false, false, "app").unwrap();
        let on = switch_models(&workdir, true, false, "app").unwrap();
        assert!(on.changed);
    }
}
