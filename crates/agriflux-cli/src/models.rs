//! `agriflux models status|on|off`: prints the engine's view of the AI-models switch
//! ([`agriflux_core::ai_models`]): its state, who last switched it (step 8 of which run, with
//! that run's figures, or a command) and the latest run's gate; or switches it by hand.

use std::process::ExitCode;

use anyhow::Result;

use agriflux_core::ai_models::{
    AiModelsError, ModelsView, RunFigures, models_state, switch_models,
};
use agriflux_core::pipeline::WorkDir;
use agriflux_core::settings::USE_AI_MODELS_KEY;

use crate::args::{ModelsAction, ModelsArgs};

/// Runs the action; exit 0, or 1 when `on` is refused.
pub fn run(args: ModelsArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.workdir);
    let (on, force) = match args.action {
        ModelsAction::Status => {
            print_status(&models_state(&workdir)?);
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

fn print_status(state: &ModelsView) {
    println!(
        "AI models: {} ({USE_AI_MODELS_KEY}={} in {})",
        if state.on { "on" } else { "off" },
        state.value.as_deref().unwrap_or("(unset)"),
        state.env_path
    );
    match &state.last_switch {
        Some(switch) => {
            println!(
                "  switched {} by {} at {} (was {})",
                if switch.on { "on" } else { "off" },
                switch.by,
                switch.at,
                if switch.from.is_empty() {
                    "unset"
                } else {
                    &switch.from
                }
            );
            match (&switch.run_id, &switch.run) {
                (Some(_), Some(run)) => print_figures(run),
                (Some(id), None) => println!("  (the report of run {id} is no longer in logs/)"),
                _ => {}
            }
        }
        None => println!("  no change of {USE_AI_MODELS_KEY} is in the change log"),
    }
    if let Some(gate) = &state.latest_gate {
        println!(
            "Latest run {} ({}): {}",
            gate.run_id, gate.source_label, gate.reason
        );
    }
}

/// The run's test figures with their 95 % intervals beside each baseline's.
fn print_figures(run: &RunFigures) {
    let data = if run.simulated {
        "simulated data"
    } else {
        "real data"
    };
    let gate = if run.gate_forced { ", gate forced" } else { "" };
    println!("  run {} ({data}{gate}):", run.run_id);
    for figure in &run.figures {
        println!("    {} {}", figure.label, figure.value);
        for baseline in &figure.baselines {
            println!("      baseline {}: {}", baseline.name, baseline.value);
        }
    }
}
