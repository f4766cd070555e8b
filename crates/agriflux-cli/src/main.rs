//! `agriflux`: runs the AgriFlux pipeline headless. A thin adapter over `agriflux-core`:
//! parse flags, load `.env`, start the run, render its events, map the outcome to an exit code.

mod args;
mod connection;
mod console;
mod logging;
mod map;
mod models;
mod settings_flags;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use agriflux_core::command_steps::pipeline_steps;
use agriflux_core::pipeline::{
    CancelToken, EventSink, StepStatus, WorkDir, plan_run, run_pipeline,
};
use agriflux_core::settings::{Settings, load_settings};

use args::{Cli, Command, EventsFormat, PipelineArgs, PlanArgs, RunArgs};

/// Exit code of a run interrupted by Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    agriflux_core::ml::keep_freed_memory_for_reuse();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(*args),
        Command::Plan(args) => plan(*args),
        Command::CheckConnection(args) => connection::run(args),
        Command::Models(args) => models::run(args),
        Command::Map(args) => map::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A flag whose value only the work directory's pipeline can check (`--from`): refused as
/// clap refuses a bad flag, with exit code 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The settings of a run or a plan: defaults, the work directory's `.env`, then the flags.
fn resolve_settings(workdir: &WorkDir, args: &PipelineArgs) -> Result<Settings> {
    Ok(load_settings(&workdir.env_file(), &args.option_values())?)
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.pipeline.workdir);
    let settings = resolve_settings(&workdir, &args.pipeline)?;
    let steps = pipeline_steps(&workdir)?;
    let options = match args.pipeline.run_options(&steps) {
        Ok(options) => options,
        Err(usage) => return Ok(usage_error(&usage)),
    };
    let plan = plan_run(&steps, &settings, &options, &workdir)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        console::print_plan(&workdir, &plan);
    }
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let args_workdir = &args.pipeline.workdir;
    let workdir = WorkDir::new(args_workdir);
    std::fs::create_dir_all(workdir.root()).with_context(|| {
        format!(
            "cannot create the work directory {}",
            args_workdir.display()
        )
    })?;
    let settings = resolve_settings(&workdir, &args.pipeline)?;
    let steps = pipeline_steps(&workdir)?;
    let options = match args.pipeline.run_options(&steps) {
        Ok(options) => options,
        Err(usage) => return Ok(usage_error(&usage)),
    };
    let _log_guard = logging::init(&workdir)?;

    let cancel = CancelToken::new();
    let handler_token = cancel.clone();
    ctrlc::set_handler(move || {
        if handler_token.is_cancelled() {
            // A second Ctrl-C: the user wants out now.
            // Exiting now skips the run's own clean-up: stop its command, if one runs.
            agriflux_core::command_steps::stop_running_commands();
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        handler_token.cancel();
    })
    .context("cannot install the Ctrl-C handler")?;

    let sink: Box<dyn EventSink> = match args.events {
        Some(EventsFormat::Jsonl) => Box::new(console::JsonLines),
        None => {
            console::print_header(&workdir, &settings);
            Box::new(console::Console::new())
        }
    };
    let outcome = run_pipeline(&steps, &settings, &options, &workdir, sink.as_ref(), cancel)?;
    if args.events.is_none() {
        console::print_summary(&outcome.report, &outcome.report_path);
    }
    Ok(match outcome.report.overall_status {
        StepStatus::Success => ExitCode::SUCCESS,
        StepStatus::Cancelled => ExitCode::from(EXIT_INTERRUPTED),
        _ => ExitCode::from(1),
    })
}
