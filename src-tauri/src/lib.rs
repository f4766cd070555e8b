//! AgriFlux Studio: Tauri commands and the event bridge over the `agriflux-core` engine.
//!
//! Each module holds the commands of one domain; the engine does the work. The window can only
//! call these commands (see `capabilities/main.json`) and listen to the `run-events` event.

mod about;
mod bindings;
mod bridge;
mod error;
mod folders;
mod history;
mod map;
mod models;
mod notify;
mod run;
mod settings;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod webview;
mod workdir;

use std::ffi::OsString;

pub use bindings::{BINDINGS_FILE, typescript_declarations};
pub use bridge::{EVENT_NAME, EventBatch};
pub use error::{CommandError, ErrorKind};
pub use webview::prepare_environment;
pub use workdir::{AppWorkDir, StartupError, Workspace};

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
            folders::workspace_view,
            folders::choose_workdir,
            folders::open_recent_workdir,
            folders::open_demo_workdir,
            about::about,
            $($extra),*
        ]
    };
}

/// Where the app keeps its own files.
pub enum AppFolders {
    /// The platform's folders for the app (Tauri's path resolver): the log in its log folder,
    /// the recent work directories in its config folder.
    Platform,
    /// The recent work directories in `config`; no log file (tests).
    At {
        /// The config folder.
        config: std::path::PathBuf,
    },
    /// Nothing remembered, no log file (tests).
    None,
}

/// How the app starts: the work directory asked for, and where it keeps its own files.
pub struct Startup {
    /// `--workdir DIR`; `None` reopens the most recent folder, or shows the welcome view.
    pub workdir: Option<std::path::PathBuf>,
    /// Where the log and the recent folders go.
    pub folders: AppFolders,
}

/// Keeps the log writer's worker alive as long as the app.
struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Registers every command, the plugins and the app's state on `builder` (a real one, or
/// Tauri's mock builder in tests); [`open_workspace`] then gives the built app its folders.
pub fn setup<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    let builder = builder
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .manage(run::RunManager::default())
        .manage(map::AppMaps::default());
    let builder = builder.setup(|app| {
        webview::tune_main_webview(app);
        // Test hooks exist only in builds with the `test-hooks` feature (the desktop tests'
        // build), which grants them to the window at start; release builds have neither.
        #[cfg(feature = "test-hooks")]
        {
            use tauri::Manager as _;
            app.add_capability(include_str!("../test-capabilities/test-hooks.json"))?;
        }
        Ok(())
    });
    #[cfg(feature = "test-hooks")]
    let builder = builder
        .manage(test_hooks::TestHookState::default())
        .invoke_handler(commands![
            test_hooks::test_log_burst,
            test_hooks::test_stub_folder_dialog,
            test_hooks::test_pretend_focus,
            test_hooks::test_notifications
        ]);
    #[cfg(not(feature = "test-hooks"))]
    let builder = builder.invoke_handler(commands![]);
    builder
}

/// Opens the work directory `startup` asks for (or the most recent one) in the built `app`,
/// and starts the log where `startup.folders` says.
pub fn open_workspace<R: tauri::Runtime>(
    app: &tauri::App<R>,
    startup: Startup,
) -> Result<(), StartupError> {
    use tauri::Manager as _;
    let platform = |dir: tauri::Result<std::path::PathBuf>| {
        dir.map_err(|e| StartupError::Tauri(format!("the app's folders cannot be found: {e}")))
    };
    let recent_file = match startup.folders {
        AppFolders::Platform => {
            let guard = workdir::init_logging(&platform(app.path().app_log_dir())?)?;
            app.manage(LogGuard(guard));
            Some(platform(app.path().app_config_dir())?.join("recent-folders.json"))
        }
        AppFolders::At { config } => Some(config.join("recent-folders.json")),
        AppFolders::None => None,
    };
    let workspace = Workspace::open(startup.workdir, recent_file)?;
    match workspace.current_if_any() {
        Some(dir) => tracing::info!(workdir = %dir.root().display(), "AgriFlux Studio started"),
        None => tracing::info!("AgriFlux Studio started with no work directory: welcome view"),
    }
    app.manage(workspace);
    Ok(())
}

/// The app's configuration, embedded UI and permissions (generated at compile time), for any
/// runtime: the real one, or the mock runtime in tests so that they go through the same
/// capability checks as the window.
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app with its command-line arguments (`--workdir DIR`).
pub fn run(args: Vec<OsString>) -> Result<(), StartupError> {
    let startup = Startup {
        workdir: workdir::workdir_argument(&args)?,
        folders: AppFolders::Platform,
    };
    let app = setup(tauri::Builder::default())
        .build(context())
        .map_err(|e| StartupError::Tauri(e.to_string()))?;
    open_workspace(&app, startup)?;
    app.run(|_app, event| {
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
