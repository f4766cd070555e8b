//! AgriFlux Studio: Tauri commands and the event bridge over the `agriflux-core` engine.
//!
//! Each module holds the commands of one domain; the engine does the work. The window can only
//! call these commands (see `capabilities/main.json`) and listen to the `run-events` event.

mod bindings;
mod bridge;
mod error;
mod history;
mod map;
mod models;
mod run;
mod settings;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod workdir;

use std::ffi::OsString;

pub use bindings::{BINDINGS_FILE, typescript_declarations};
pub use bridge::{EVENT_NAME, EventBatch};
pub use error::{CommandError, ErrorKind};
pub use workdir::{AppWorkDir, StartupError};

/// The app's commands, plus `extra` ones (the test hooks of test builds).
macro_rules! commands {
    ($($extra:path),*) => {
        tauri::generate_handler![
            settings::app_info,
            run::start_run,
            run::cancel_run,
            run::run_state,
            run::plan_run,
            history::list_runs,
            history::load_report,
            history::export_report,
            history::open_folder,
            history::env_changes,
            map::map_view,
            map::map_point,
            map::import_fields,
            map::export_fields_csv,
            models::models_state,
            models::switch_models,
            settings::read_settings,
            settings::check_settings,
            settings::save_settings,
            settings::test_connection,
            $($extra),*
        ]
    };
}

/// Registers every command and the app's state on `builder` (a real one, or Tauri's mock
/// builder in tests).
pub fn setup<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    workdir: AppWorkDir,
) -> tauri::Builder<R> {
    let builder = builder
        .plugin(tauri_plugin_opener::init())
        .manage(run::RunManager::default())
        .manage(map::AppMaps::default())
        .manage(workdir);
    // Test hooks exist only in builds with the `test-hooks` feature (the desktop test's
    // build), which grants them to the window at start; release builds have neither.
    #[cfg(feature = "test-hooks")]
    let builder = builder
        .setup(|app| {
            use tauri::Manager as _;
            app.add_capability(include_str!("../test-capabilities/test-hooks.json"))?;
            Ok(())
        })
        .invoke_handler(commands![test_hooks::test_log_burst]);
    #[cfg(not(feature = "test-hooks"))]
    let builder = builder.invoke_handler(commands![]);
    builder
}

/// The app's configuration, embedded UI and permissions (generated at compile time), for any
/// runtime: the real one, or the mock runtime in tests so that they go through the same
/// capability checks as the window.
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app with its command-line arguments (`--workdir DIR`).
pub fn run(args: Vec<OsString>) -> Result<(), StartupError> {
    let workdir = AppWorkDir::from_args(&args)?;
    let _log = workdir::init_logging(&workdir)?;
    tracing::info!(workdir = %workdir.root().display(), "AgriFlux Studio started");
    setup(tauri::Builder::default(), workdir)
        .build(context())
        .map_err(|e| StartupError::Tauri(e.to_string()))?
        .run(|_app, event| {
            // The process ends with the window, run thread and all: a command step of
            // agriflux.toml would run on alone.
            if let tauri::RunEvent::Exit = event {
                let stopped = agriflux_core::command_steps::stop_running_commands();
                if stopped > 0 {
                    tracing::info!(stopped, "stopped the running command steps at exit");
                }
            }
        });
    Ok(())
}
