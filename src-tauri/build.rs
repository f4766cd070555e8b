//! Generates the permissions of the app's own commands (`allow-<command>`), which
//! `capabilities/main.json` grants to the main window; nothing else is allowed.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "start_run",
            "cancel_run",
            "run_state",
            "plan_run",
            "list_runs",
            "load_report",
            "export_report",
            "open_folder",
            "read_settings",
            "check_settings",
            "save_settings",
            "test_connection",
            "test_log_burst",
        ]),
    ))
    .expect("tauri build script failed");
}
