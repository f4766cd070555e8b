//! Generates the permissions of the app's own commands (`allow-<command>`), which
//! `capabilities/main.json` grants to the main window; nothing else is allowed. The test hooks
//! exist (and get permissions) only with the `test-hooks` feature. Also dates the build for the
//! About box.

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
    "workspace_view",
    "choose_workdir",
    "open_recent_workdir",
    "open_demo_workdir",
    "about",
];

const TEST_HOOKS: &[&str] = &[
    "test_log_burst",
    "test_stub_folder_dialog",
    "test_pretend_focus",
    "test_notifications",
];

fn main() {
    let mut commands = COMMANDS.to_vec();
    if std::env::var_os("CARGO_FEATURE_TEST_HOOKS").is_some() {
        commands.extend_from_slice(TEST_HOOKS);
    }
    // The About box's build date: SOURCE_DATE_EPOCH when a reproducible build sets it.
    let built = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now);
    println!(
        "cargo:rustc-env=AGRIFLUX_BUILD_DATE={}",
        built.format("%Y-%m-%d")
    );
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // `AppManifest::commands` wants a `'static` list; a build script runs once, so leaking it
    // costs nothing.
    let commands: &'static [&'static str] = Box::leak(commands.into_boxed_slice());
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build script failed");
}
