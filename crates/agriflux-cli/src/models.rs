//! `agriflux models status|on|off`: prints the engine's view of the AI-models switch
//! ([`agriflux_core::ai_models`]): its state, who last switched it (step 8 of which run, with
//! that run's figures, or a command) and the latest run's gate; or switches it by hand.

use std::process::ExitCode;

use anyhow::Result;

use agriflux_core::ai_models::{
    AiModelsError, ModelsState, latest_gate, models_state, switch_models,
};
use agriflux_core::history::{ReportView, interval};
use agriflux_core::pipeline::WorkDir;
use agriflux_core::settings::USE_AI_MODELS_KEY;

use crate::args::{ModelsAction, ModelsArgs};

/// Runs the action; exit 0, or 1 when `on` is refused.
pub fn run(args: ModelsArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.workdir);
    let (on, force) = match args.action {
        ModelsAction::Status => {
            print_status(&workdir, &models_state(&workdir)?);
            return Ok(ExitCode::SUCCESS);
        }
        ModelsAction::On { force } => (true, force),
        ModelsAction::Off => (false, false),
    };
    let by = match (on, force) {
        (false, _) => "agriflux models off",
        (true, false) => "agriflux models on",
        (true, true) => "agriflux models on --force",
    };
    let value = if on { "true" } else { "false" };
    let env_path = workdir.env_file();
    match switch_models(&workdir, on, force, by) {
        Ok(outcome) if !outcome.changed => {
            println!(
                "{USE_AI_MODELS_KEY} is already {value} in {}",
                env_path.display()
            );
        }
        Ok(outcome) => println!(
            "{USE_AI_MODELS_KEY}={value} in {} (was {})",
            env_path.display(),
            outcome.previous.as_deref().unwrap_or("unset")
        ),
        Err(e @ AiModelsError::GateHeldBack(_)) => {
            eprintln!("error: {e}; add --force to switch the models on anyway");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(workdir: &WorkDir, state: &ModelsState) {
    println!(
        "AI models: {} ({USE_AI_MODELS_KEY}={} in {})",
        if state.is_on() { "on" } else { "off" },
        state.value.as_deref().unwrap_or("(unset)"),
        workdir.env_file().display()
    );
    match (&state.last_switch, state.last_change()) {
        (Some(record), Some(change)) => {
            println!(
                "  switched {} by {} at {} (was {})",
                if change.to == "true" { "on" } else { "off" },
                record.by,
                record.at,
                if change.from.is_empty() {
                    "unset"
                } else {
                    &change.from
                }
            );
            match (&record.run_id, &state.switched_by_run) {
                (Some(_), Some(view)) => print_figures(view),
                (Some(id), None) => println!("  (the report of run {id} is no longer in logs/)"),
                _ => {}
            }
        }
        _ => println!("  no change of {USE_AI_MODELS_KEY} is in the change log"),
    }
    if let Some(view) = &state.latest_run {
        println!(
            "Latest run {} ({}): {}",
            view.summary.run_id,
            view.summary.source_label,
            latest_gate(state)
                .and_then(|g| g["reason"].as_str())
                .unwrap_or("no gate decision recorded")
        );
    }
}

/// The run's test figures with their 95 % intervals beside each baseline's (a figure alone
/// says nothing of whether the model is good enough).
fn print_figures(view: &ReportView) {
    let data = if view.summary.simulated {
        "simulated data"
    } else {
        "real data"
    };
    println!("  run {} ({data}):", view.summary.run_id);
    if let Some(cnn) = &view.headline.cnn {
        println!("    CNN test accuracy {:.3}", cnn.accuracy);
    }
    if let Some(e) = &view.headline.cnn_evaluation {
        println!(
            "    CNN macro-F1 {} · accuracy {}",
            interval(e.get("macro_f1")),
            interval(e.get("accuracy"))
        );
        for (name, f) in e["baselines"].as_object().into_iter().flatten() {
            println!(
                "      baseline {name}: macro-F1 {}",
                interval(f.get("macro_f1"))
            );
        }
    }
    if let Some(lstm) = &view.headline.lstm {
        println!("    LSTM test MAE {:.3}", lstm.mae);
    }
    if let Some(e) = &view.headline.lstm_evaluation {
        println!("    LSTM MAE {}", interval(e.get("mae")));
        for (name, f) in e["baselines"].as_object().into_iter().flatten() {
            println!("      baseline {name}: MAE {}", interval(f.get("mae")));
        }
    }
}
