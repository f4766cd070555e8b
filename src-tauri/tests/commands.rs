//! The app's commands on Tauri's mock runtime (no window, no display): the same IPC path the
//! web view uses, with the app's real capabilities, so arguments, answers and permissions are
//! checked as the window sees them.

use std::time::{Duration, Instant};

use serde_json::json;

mod support;
use support::{app, invoke};

const TINY_ENV: &str = "# tiny test farm\n\
AGRIFLUX_BBOX=75.80,30.90,75.827,30.918\n\
AGRIFLUX_START=2025-01-01\nAGRIFLUX_END=2025-12-31\n\
AGRIFLUX_TARGET_COUNT=14\nAGRIFLUX_MIN_VALID_DATES=10\nAGRIFLUX_SEQUENCE_LENGTH=5\n\
AGRIFLUX_SAMPLES_PER_CLASS=16\nAGRIFLUX_CNN_EPOCHS=1\nAGRIFLUX_LSTM_EPOCHS=2\n";

#[test]
fn app_info_names_the_workdir_and_the_simulated_source() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());
    let info = invoke(&window, "app_info", json!({})).unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    assert_eq!(info["workdir"], root.display().to_string());
    assert_eq!(info["source"]["kind"], "simulated");
    assert_eq!(info["source"]["label"], "Simulated data");
}

#[test]
fn saves_settings_and_never_sends_the_secret_back() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".env"), "# keep me\nAGRIFLUX_SEED=1\n").unwrap();
    let (_app, window) = app(tmp.path());
    let saved = invoke(
        &window,
        "save_settings",
        json!({"edits": {"values": {"AGRIFLUX_SEED": "9", "SENTINEL_HUB_CLIENT_SECRET": "top-secret-123"}}}),
    )
    .unwrap();
    assert_eq!(saved["ok"], true);
    let env = std::fs::read_to_string(tmp.path().join(".env")).unwrap();
    assert!(env.starts_with("# keep me\nAGRIFLUX_SEED=9\n"), "{env}");
    let read = invoke(&window, "read_settings", json!({})).unwrap();
    for answer in [&saved, &read] {
        assert!(!answer.to_string().contains("top-secret"), "{answer}");
    }
    let bad = invoke(
        &window,
        "save_settings",
        json!({"edits": {"values": {"AGRIFLUX_SEED": "x"}}}),
    )
    .unwrap();
    assert_eq!(bad["ok"], false);
    assert!(bad["errors"]["AGRIFLUX_SEED"].is_string());
}

#[test]
fn lists_the_env_changes_newest_first_without_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".env"), "AGRIFLUX_SEED=1\n").unwrap();
    let (_app, window) = app(tmp.path());
    assert_eq!(
        invoke(&window, "env_changes", json!({})).unwrap(),
        json!([])
    );
    let values = json!({"edits": {"values": {"AGRIFLUX_SEED": "2", "SENTINEL_HUB_CLIENT_SECRET": "top-secret-123"}}});
    invoke(&window, "save_settings", values).unwrap();
    invoke(
        &window,
        "save_settings",
        json!({"edits": {"values": {"AGRIFLUX_SEED": "3"}}}),
    )
    .unwrap();
    let changes = invoke(&window, "env_changes", json!({})).unwrap();
    assert!(!changes.to_string().contains("top-secret"), "{changes}");
    let records = changes.as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0]["changes"],
        json!([{"key": "AGRIFLUX_SEED", "from": "2", "to": "3"}])
    );
    assert_eq!(records[1]["by"], "settings panel");
}

#[test]
fn edits_keys_outside_the_form_and_never_sends_a_secret_named_value() {
    let tmp = tempfile::tempdir().unwrap();
    let env =
        "# monitoring\nexport DB_PATH=\"/srv/db\" # sqlite\nWEATHER_API_KEY=wk-top-secret-9\n";
    std::fs::write(tmp.path().join(".env"), env).unwrap();
    let (_app, window) = app(tmp.path());
    let read = invoke(&window, "read_settings", json!({})).unwrap();
    assert!(!read.to_string().contains("wk-top-secret"), "{read}");
    assert_eq!(
        read["env_keys"],
        json!([
            {"key": "DB_PATH", "value": "/srv/db", "secret": false, "is_set": true, "comment": "monitoring · sqlite", "line": 2},
            {"key": "WEATHER_API_KEY", "value": "", "secret": true, "is_set": true, "comment": null, "line": 3}
        ])
    );
    let edits = json!({"edits": {"env_keys": [
        {"action": "set", "key": "DB_PATH", "value": "/srv/db2"},
        {"action": "remove", "key": "WEATHER_API_KEY"},
        {"action": "set", "key": "9LIVES", "value": "x"}
    ]}});
    let refused = invoke(&window, "save_settings", edits).unwrap();
    assert_eq!(refused["ok"], false);
    assert!(refused["errors"]["9LIVES"].is_string(), "{refused}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".env")).unwrap(),
        env
    );
    let edits = json!({"edits": {"env_keys": [
        {"action": "set", "key": "DB_PATH", "value": "/srv/db2"},
        {"action": "remove", "key": "WEATHER_API_KEY"}
    ]}});
    let saved = invoke(&window, "save_settings", edits).unwrap();
    assert_eq!(saved["ok"], true, "{saved}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".env")).unwrap(),
        "# monitoring\nexport DB_PATH=\"/srv/db2\" # sqlite\n"
    );
}

#[test]
fn switches_the_ai_models_off_and_refuses_on_without_a_passed_gate() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".env"), "USE_AI_MODELS=true\n").unwrap();
    let (_app, window) = app(tmp.path());
    let state = invoke(&window, "models_state", json!({})).unwrap();
    assert_eq!(state["on"], true);
    assert_eq!(state["can_switch_on"], false);
    let off = invoke(&window, "switch_models", json!({"on": false})).unwrap();
    assert_eq!(off["on"], false);
    assert_eq!(off["last_switch"]["by"], "app (AI-models switch)");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".env")).unwrap(),
        "USE_AI_MODELS=false\n"
    );
    let refused = invoke(&window, "switch_models", json!({"on": true})).unwrap_err();
    assert_eq!(refused["kind"], "conflict", "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("no run"),
        "{refused}"
    );
    let changes = invoke(&window, "env_changes", json!({})).unwrap();
    assert_eq!(changes[0]["changes"][0]["to"], "false");
}

#[test]
fn refuses_report_names_outside_the_logs_folder() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".env"), "SENTINEL_HUB_CLIENT_SECRET=s\n").unwrap();
    let (_app, window) = app(tmp.path());
    let err = invoke(&window, "load_report", json!({"report_file": "../.env"})).unwrap_err();
    assert_eq!(err["kind"], "not_found", "{err}");
    assert_eq!(err["summary"], "This run's report could not be opened.");
    assert!(
        err["detail"].as_str().unwrap().contains("not a run report"),
        "{err}"
    );
    let err = invoke(&window, "open_folder", json!({"folder": "/etc"})).unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
}

#[test]
fn failed_commands_say_what_failed_in_plain_words_with_the_cause_below() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join(".env"),
        "AGRIFLUX_SEED=not-a-number\nSENTINEL_HUB_CLIENT_SECRET=top-secret-123\n",
    )
    .unwrap();
    let (_app, window) = app(tmp.path());
    let options = json!({"options": {"skip_download": false, "skip_validation": false, "from_step": null, "force": false}});
    let err = invoke(&window, "plan_run", options).unwrap_err();
    assert_eq!(err["kind"], "settings", "{err}");
    assert_eq!(err["summary"], "The settings in .env could not be used.");
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("AGRIFLUX_SEED") && detail.contains("not-a-number"),
        "{detail}"
    );
    assert!(!err.to_string().contains("top-secret"), "{err}");

    let err = invoke(&window, "cancel_run", json!({})).unwrap_err();
    assert_eq!(err["kind"], "conflict", "{err}");
    assert!(err["detail"].is_null(), "{err}");
}

#[test]
fn a_whole_run_streams_through_the_bridge_and_a_second_start_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".env"), TINY_ENV).unwrap();
    let (_app, window) = app(tmp.path());
    let options = json!({"options": {"skip_download": false, "skip_validation": false, "from_step": null, "force": false}});
    let started = invoke(&window, "start_run", options.clone()).unwrap();
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let refused = invoke(&window, "start_run", options).unwrap_err();
    assert_eq!(refused["kind"], "conflict", "{refused}");
    assert!(
        refused["summary"]
            .as_str()
            .unwrap()
            .contains("already going"),
        "{refused}"
    );
    assert_eq!(refused["detail"], format!("run {run_id}"));

    let deadline = Instant::now() + Duration::from_secs(900);
    let live = loop {
        let live = invoke(&window, "run_state", json!({})).unwrap();
        if live["running"] == false {
            break live;
        }
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(live["run_id"], run_id);
    let events = live["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "run_started");
    assert_eq!(live["next_seq"].as_u64().unwrap() as usize, events.len());
    let finished: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "step_finished")
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    // Simulated data never passes the gate before step 8: it ends skipped, with the reason.
    assert_eq!(finished[..7], ["success"; 7]);
    assert_eq!(finished[7], "skipped");
    let gate = events
        .iter()
        .find(|e| e["type"] == "step_finished" && e["status"] == "skipped")
        .unwrap();
    assert!(
        gate.to_string().contains("simulated"),
        "the skipped step 8 says why: {gate}"
    );
    let last = events.last().unwrap();
    assert_eq!(
        (&last["type"], &last["status"]),
        (&json!("run_finished"), &json!("success"))
    );

    let runs = invoke(&window, "list_runs", json!({})).unwrap();
    let report_file = runs[0]["report_file"].as_str().unwrap();
    let report = invoke(&window, "load_report", json!({"report_file": report_file})).unwrap();
    assert_eq!(report["summary"]["run_id"], run_id);
    assert!(report["charts"].as_array().unwrap().len() >= 5);
    assert!(
        report["charts"][0]["svg"]
            .as_str()
            .unwrap()
            .contains("<svg")
    );
}

/// The test hooks are granted only by the capability the `test-hooks` build adds at start;
/// the release capability file never names one.
#[test]
fn the_release_capability_grants_no_test_hooks() {
    let main = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/main.json"),
    )
    .unwrap();
    let hooks: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("test-capabilities/test-hooks.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for hook in hooks["permissions"].as_array().unwrap() {
        let hook = hook.as_str().unwrap();
        assert!(!main.contains(&format!("\"{hook}\"")), "{hook} in {main}");
    }
    let build =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs"))
            .unwrap();
    assert!(
        build.contains("CARGO_FEATURE_TEST_HOOKS"),
        "the hook's permission is generated only with the feature"
    );
}
