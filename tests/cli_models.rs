//! `agriflux models`: the state of `USE_AI_MODELS` with who switched it, switching by hand
//! against the latest run's gate, and the `.env` change log every writer appends to.

use agriflux_tests::{agriflux, latest_report, run_tiny, text};

#[test]
fn models_status_names_the_run_that_switched_them_and_every_switch_is_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    // A forced gate: step 8 writes USE_AI_MODELS=true although simulated data never passes.
    let out = run_tiny(tmp.path(), &["--enable-models", "always"]);
    assert!(out.status.success(), "{}", text(&out));
    let run_id = latest_report(tmp.path())["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let models = |args: &[&str]| {
        let mut all = vec!["models"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--workdir", dir]);
        agriflux(&all).output().unwrap()
    };

    let status = models(&["status"]);
    let said = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{}", text(&status));
    assert!(said.contains("AI models: on"), "{said}");
    assert!(
        said.contains(&format!("by step 8 of run {run_id}")),
        "{said}"
    );
    assert!(
        said.contains("(simulated data, gate forced)")
            && said.contains("CNN macro-F1")
            && said.contains("LSTM MAE")
            && said.contains("baseline persistence: "),
        "{said}"
    );

    let off = models(&["off"]);
    assert!(off.status.success(), "{}", text(&off));
    let env = std::fs::read_to_string(tmp.path().join(".env")).unwrap();
    assert!(env.contains("USE_AI_MODELS=false"), "{env}");
    let said = String::from_utf8_lossy(&models(&["status"]).stdout).into_owned();
    assert!(
        said.contains("AI models: off") && said.contains("by agriflux models off"),
        "{said}"
    );

    // The latest run's gate held the models back (it was forced): `on` needs --force.
    let refused = models(&["on"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("--force"), "{}", text(&refused));
    let env_after = std::fs::read_to_string(tmp.path().join(".env")).unwrap();
    assert_eq!(env_after, env, "a refused switch writes nothing");
    let forced = models(&["on", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));

    let log = std::fs::read_to_string(tmp.path().join("logs/env_changes.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by: Vec<&str> = records.iter().map(|r| r["by"].as_str().unwrap()).collect();
    assert_eq!(
        by,
        [
            format!("step 8 of run {run_id}").as_str(),
            "agriflux models off",
            "agriflux models on --force"
        ]
    );
    assert_eq!(records[0]["run_id"], run_id.as_str());
    let to: Vec<&str> = records
        .iter()
        .map(|r| r["changes"][0]["to"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["true", "false", "true"]);
}
