//! Generates the permissions of the app's own commands (`allow-<command>`), which
//! `capabilities/main.json` grants to the main window; nothing else is allowed. The test hook
//! `test_log_burst` exists (and gets a permission) only with the `test-hooks` feature.

const COMMANDS: &[&str] = &[
    "app_info",
    "start_run",
    "cancel_run",
    "run_state",
    "plan_run",
    "list_runs",
    "load_report",
    "export_report",
    "open_folder",
    "env_changes",
    "map_view",
    "map_point",
    "import_fields",
    "export_fields_csv",
    "models_state",
    "switch_models",
    "read_settings",
    "check_settings",
    "save_settings",
    "test_connection",
];

fn main() {
    let mut commands = COMMANDS.to_vec();
    if std::env::var_os("CARGO_FEATURE_TEST_HOOKS").is_some() {
        commands.push("test_log_burst");
    }
    // `AppManifest::commands` wants a `'static` list; a build script runs once, so leaking it
    // costs nothing.
    let commands: &'static [&'static str] = Box::leak(commands.into_boxed_slice());
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build script failed");
}
