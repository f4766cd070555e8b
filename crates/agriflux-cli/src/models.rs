//! `agriflux models status|on|off`: whether `USE_AI_MODELS` is on, who switched it (from the
//! `.env` change log) with that run's figures, and switching it by hand. Step 8 switches the
//! models on only when its gate passes; `on` follows the latest run's gate unless `--force`.

use std::process::ExitCode;

use anyhow::{Context, Result};

use agriflux_core::history::{self, ReportView};
use agriflux_core::pipeline::WorkDir;
use agriflux_core::settings::{
    EnvFile, SettingsChange, USE_AI_MODELS_KEY, read_env_log, record_env_change,
};

use crate::args::{ModelsAction, ModelsArgs};

/// Runs the action; exit 0, or 1 when `on` is refused.
pub fn run(args: ModelsArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.workdir);
    match args.action {
        ModelsAction::Status => status(&workdir),
        ModelsAction::On { force } => switch_on(&workdir, force),
        ModelsAction::Off => switch(&workdir, "false", "agriflux models off"),
    }
}

fn status(workdir: &WorkDir) -> Result<ExitCode> {
    let env_path = workdir.env_file();
    let value = EnvFile::load(&env_path)?
        .values()?
        .get(USE_AI_MODELS_KEY)
        .map(|v| v.trim().to_string());
    let on = value.as_deref() == Some("true");
    println!(
        "AI models: {} ({USE_AI_MODELS_KEY}={} in {})",
        if on { "on" } else { "off" },
        value.as_deref().unwrap_or("(unset)"),
        env_path.display()
    );
    let log = read_env_log(&env_path)?;
    let last = log.iter().rev().find_map(|record| {
        let change = record.changes.iter().find(|c| c.key == USE_AI_MODELS_KEY)?;
        Some((record, change))
    });
    match last {
        Some((record, change)) => {
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
            if let Some(run_id) = &record.run_id {
                match report_of(workdir, run_id)? {
                    Some(view) => print_figures(&view),
                    None => println!("  (the report of run {run_id} is no longer in logs/)"),
                }
            }
        }
        None => println!("  no change of {USE_AI_MODELS_KEY} is in the change log"),
    }
    if let Some(view) = latest_report(workdir)? {
        let gate = view.headline.gate.as_ref();
        println!(
            "Latest run {} ({}): {}",
            view.summary.run_id,
            view.summary.source_label,
            gate.and_then(|g| g["reason"].as_str())
                .unwrap_or("no gate decision recorded")
        );
    }
    Ok(ExitCode::SUCCESS)
}

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
    if let Some(lstm) = &view.headline.lstm {
        let persistence = lstm
            .persistence_mae
            .map_or_else(String::new, |p| format!(" (persistence {p:.3})"));
        println!("    LSTM test MAE {:.3}{persistence}", lstm.mae);
    }
}

fn report_of(workdir: &WorkDir, run_id: &str) -> Result<Option<ReportView>> {
    let runs = history::list_runs(workdir)?;
    match runs.iter().find(|r| r.run_id == run_id) {
        Some(run) => Ok(Some(history::load_report(workdir, &run.report_file)?)),
        None => Ok(None),
    }
}

fn latest_report(workdir: &WorkDir) -> Result<Option<ReportView>> {
    match history::list_runs(workdir)?.first() {
        Some(run) => Ok(Some(history::load_report(workdir, &run.report_file)?)),
        None => Ok(None),
    }
}

fn switch_on(workdir: &WorkDir, force: bool) -> Result<ExitCode> {
    let gate = latest_report(workdir)?.and_then(|view| view.headline.gate);
    // Passed on its own: a gate forced by `--enable-models always` held the models back.
    let passed = gate
        .as_ref()
        .is_some_and(|g| g["enable"] == true && g["forced"] != true);
    if !passed && !force {
        let why = gate
            .as_ref()
            .and_then(|g| g["reason"].as_str().map(str::to_string))
            .unwrap_or_else(|| "no run of this work directory has a gate decision".into());
        eprintln!(
            "error: not switched on: the latest run's gate did not pass ({why}); add --force to switch the models on anyway"
        );
        return Ok(ExitCode::from(1));
    }
    let by = if passed {
        "agriflux models on"
    } else {
        "agriflux models on --force"
    };
    switch(workdir, "true", by)
}

fn switch(workdir: &WorkDir, value: &str, by: &str) -> Result<ExitCode> {
    let env_path = workdir.env_file();
    // Read, edit, write and log under the `.env` lock, as the settings panel and step 8 do.
    let _lock = EnvFile::lock(&env_path)?;
    let mut env = EnvFile::load(&env_path)?;
    let previous = env
        .values()?
        .get(USE_AI_MODELS_KEY)
        .map(|v| v.trim().to_string());
    if previous.as_deref() == Some(value) {
        println!(
            "{USE_AI_MODELS_KEY} is already {value} in {}",
            env_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    env.set(USE_AI_MODELS_KEY, value);
    env.save()
        .with_context(|| format!("cannot switch the models in {}", env_path.display()))?;
    let change = SettingsChange::new(USE_AI_MODELS_KEY, previous.as_deref().unwrap_or(""), value);
    if let Err(e) = record_env_change(&env_path, by, None, &[change]) {
        eprintln!("warning: the .env change log was not written: {e}");
    }
    println!(
        "{USE_AI_MODELS_KEY}={value} in {} (was {})",
        env_path.display(),
        previous.as_deref().unwrap_or("unset")
    );
    if value == "true" && by.ends_with("--force") {
        println!("switched on by hand although the latest run's gate held the models back");
    }
    Ok(ExitCode::SUCCESS)
}
