//! Run commands: start a run on a background thread, cancel it, and give a reloaded window
//! the whole state of the current run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agriflux_core::command_steps::{PipelineFileError, pipeline_steps};
use agriflux_core::pipeline::{
    self, CancelToken, PlannedStep, Step, StepId, plan_run as plan, run_pipeline,
};
use agriflux_core::settings::{Settings, load_settings};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout};
use ts_rs::TS;

use crate::bridge::{LiveRun, RunJournal};
use crate::error::{CommandError, ErrorKind, blocking};
use crate::notify::notify_run_end;
use crate::workdir::{AppWorkDir, Workspace};

/// What the window asks for when it presses Run.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct RunOptions {
    /// Mark step 1 skipped and use the scenes already downloaded.
    #[serde(default)]
    pub skip_download: bool,
    /// Mark step 2 skipped.
    #[serde(default)]
    pub skip_validation: bool,
    /// Re-run from this step on, even if later steps are up to date.
    #[serde(default)]
    pub from_step: Option<StepId>,
    /// Re-run every step.
    #[serde(default)]
    pub force: bool,
}

impl RunOptions {
    /// The engine's view of the options that are not settings.
    fn engine_options(&self) -> pipeline::RunOptions {
        pipeline::RunOptions {
            from: self.from_step.clone(),
            force: self.force,
        }
    }
}

/// The answer to `start_run`.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StartedRun {
    /// The new run's id.
    pub run_id: String,
}

/// The one run this app session supervises (the engine's lock keeps other processes out).
#[derive(Default)]
pub struct RunManager {
    current: Mutex<Option<CurrentRun>>,
}

struct CurrentRun {
    view: Arc<dyn Fn() -> LiveRun + Send + Sync>,
    cancel: CancelToken,
}

impl RunManager {
    /// Whether a run of this window is going.
    pub(crate) fn is_running(&self) -> bool {
        self.snapshot().is_some_and(|live| live.running)
    }

    fn snapshot(&self) -> Option<LiveRun> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().map(|run| (run.view)())
    }
}

/// Resolves the settings of a run the way the CLI does: `.env`, then the window's options.
pub(crate) fn resolve_settings(
    workdir: &AppWorkDir,
    options: &RunOptions,
) -> Result<Settings, CommandError> {
    let mut flags = BTreeMap::new();
    if options.skip_download {
        flags.insert("skip-download".to_string(), "true".to_string());
    }
    if options.skip_validation {
        flags.insert("skip-validation".to_string(), "true".to_string());
    }
    load_settings(&workdir.env_file(), &flags).map_err(CommandError::settings)
}

/// Marks the journal finished however the run thread ends (a panic included), so the window
/// never waits for a run that is gone.
struct FinishOnDrop<R: Runtime>(Arc<RunJournal<R>>);

impl<R: Runtime> Drop for FinishOnDrop<R> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Starts a run; answers once the engine has announced it (or refused it, e.g. because
/// another run holds the work directory).
#[tauri::command(rename_all = "snake_case")]
pub async fn start_run<R: Runtime>(
    app: AppHandle<R>,
    runs: State<'_, RunManager>,
    workspace: State<'_, Workspace>,
    options: RunOptions,
) -> Result<StartedRun, CommandError> {
    let workdir = workspace.current()?;
    let settings = resolve_settings(&workdir, &options)?;
    let engine_options = options.engine_options();
    let cancel = CancelToken::new();
    // Checked and claimed under one hold of the mutex, so that two Run presses arriving
    // together start one run (the engine's lock then keeps other processes out).
    let journal = {
        let mut current = runs.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = current
            .as_ref()
            .map(|run| (run.view)())
            .filter(|l| l.running)
        {
            return Err(CommandError::new(
                ErrorKind::Conflict,
                "A run is already going in this window: cancel it or wait for it to end.",
            )
            .with_detail(format!("run {}", live.run_id)));
        }
        let journal = RunJournal::start(app.clone());
        let view_journal = Arc::clone(&journal);
        *current = Some(CurrentRun {
            view: Arc::new(move || view_journal.snapshot()),
            cancel: cancel.clone(),
        });
        journal
    };
    let steps = pipeline_steps_of(&workdir)?;
    // Why the engine refused the run (the lock is held, a folder cannot be written), if it does.
    let (refused_tx, mut refused_rx) = oneshot::channel::<CommandError>();
    let dir = workdir.dir().clone();
    let thread_journal = Arc::clone(&journal);
    let notify_app = app;
    // The run is long, CPU-bound and blocking: a thread of its own, named for debuggers.
    std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let _finish = FinishOnDrop(Arc::clone(&thread_journal));
            let result = run_pipeline(
                &steps,
                &settings,
                &engine_options,
                &dir,
                thread_journal.as_ref(),
                cancel,
            );
            // The app stays open, idle, after a run: give the run's buffers back.
            agriflux_core::ml::return_freed_memory();
            match result {
                // Sent before the journal ends, so the window's "finished" follows it.
                Ok(outcome) => notify_run_end(&notify_app, &outcome.report),
                Err(e) => {
                    tracing::error!("run could not start or finish: {e}");
                    let _ = refused_tx.send(CommandError::pipeline("The run could not start.", e));
                }
            }
        })
        .map_err(|e| CommandError::internal(format!("cannot start the run thread: {e}")))?;

    // Wait, without holding a runtime thread, until the run has an id or is refused.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(run_id) = journal.run_id() {
            return Ok(StartedRun { run_id });
        }
        match timeout(Duration::from_millis(20), &mut refused_rx).await {
            Ok(Ok(refusal)) => {
                *runs.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
                return Err(refusal);
            }
            // The thread ended without a refusal: it started the run, or it panicked.
            Ok(Err(_)) => {
                return journal
                    .run_id()
                    .map(|run_id| StartedRun { run_id })
                    .ok_or_else(|| {
                        CommandError::internal("the run thread ended before the run started")
                    });
            }
            Err(_) if Instant::now() > deadline => {
                return Err(CommandError::internal(
                    "the engine did not start the run within 30 s",
                ));
            }
            Err(_) => {}
        }
    }
}

/// Asks the current run to stop; steps end within a couple of seconds as `cancelled`.
#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_run(runs: State<'_, RunManager>) -> Result<(), CommandError> {
    let current = runs.current.lock().unwrap_or_else(|p| p.into_inner());
    match current.as_ref() {
        Some(run) => {
            run.cancel.cancel();
            Ok(())
        }
        None => Err(CommandError::new(
            ErrorKind::Conflict,
            "No run is going, so there is nothing to cancel.",
        )),
    }
}

/// The current (or last) run of this app session, for a window that (re)loads.
#[tauri::command(rename_all = "snake_case")]
pub async fn run_state(runs: State<'_, RunManager>) -> Result<Option<LiveRun>, CommandError> {
    Ok(runs.snapshot())
}

/// What a run with these options would do, step by step, and why (nothing is run).
#[tauri::command(rename_all = "snake_case")]
pub async fn plan_run(
    workspace: State<'_, Workspace>,
    options: RunOptions,
) -> Result<Vec<PlannedStep>, CommandError> {
    let workdir = workspace.current()?;
    let settings = resolve_settings(&workdir, &options)?;
    let dir = workdir.dir().clone();
    blocking(move || {
        plan(
            &pipeline_steps(&dir).map_err(pipeline_file_error)?,
            &settings,
            &options.engine_options(),
            &dir,
        )
        .map_err(|e| CommandError::pipeline("The run could not be planned.", e))
    })
    .await
}

/// The run's steps: the built-in ones, with the commands of the work directory's
/// `agriflux.toml` in their place.
fn pipeline_steps_of(workdir: &AppWorkDir) -> Result<Vec<Box<dyn Step>>, CommandError> {
    pipeline_steps(workdir.dir()).map_err(pipeline_file_error)
}

fn pipeline_file_error(e: PipelineFileError) -> CommandError {
    CommandError::new(
        ErrorKind::Settings,
        "The pipeline file agriflux.toml could not be used.",
    )
    .with_detail(e)
}
