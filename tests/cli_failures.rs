//! End-to-end failure paths: each gives a clear, specific error, the right exit code, a written
//! report, and loses no data.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agriflux_core::datasets::Split;
use agriflux_core::datasets::patches::load_patch_set;
use agriflux_tests::{agriflux, latest_report, run_tiny, snapshot, text, tiny_with};
use serde_json::Value;

fn stderr_and_stdout(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn skip_download_on_empty_workdir_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_tiny(dir.path(), &["--skip-download"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = stderr_and_stdout(&out);
    assert!(all.contains("no scenes in"), "{all}");
    let report = latest_report(dir.path());
    assert_eq!(report["overall_status"], "failed");
    assert_eq!(report["steps"][0]["status"], "skipped");
    assert_eq!(report["steps"][1]["status"], "failed");
    assert_eq!(report["steps"][2]["status"], "pending");
    assert!(!dir.path().join(".env").exists(), "nothing was switched on");
}

#[test]
fn corrupt_scene_fails_validation_naming_the_date_and_touches_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // Past the gate, so that `.env` exists and the test can see it left alone.
    let out = run_tiny(dir.path(), &["--enable-models", "always"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut scenes: Vec<_> = std::fs::read_dir(dir.path().join("data/scenes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    scenes.sort();
    let victim = &scenes[3];
    let date = victim.file_name().unwrap().to_string_lossy().into_owned();
    let bands = victim.join("bands.tif");
    let len = std::fs::metadata(&bands).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&bands)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let keep = ["data/training", "models", "reports", ".env"];
    let before: Vec<_> = keep.iter().map(|p| snapshot(&dir.path().join(p))).collect();
    let env_before = std::fs::read(dir.path().join(".env")).unwrap();
    let out = run_tiny(dir.path(), &["--skip-download"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = stderr_and_stdout(&out);
    assert!(
        all.contains(&date),
        "the failure names the date {date}: {all}"
    );
    assert!(
        all.contains("files_and_checksums") || all.contains("checksum"),
        "{all}"
    );
    let report = latest_report(dir.path());
    assert_eq!(report["steps"][1]["status"], "failed");
    assert!(
        report["steps"][1]["error_message"]
            .as_str()
            .unwrap()
            .contains(&date)
    );
    let after: Vec<_> = keep.iter().map(|p| snapshot(&dir.path().join(p))).collect();
    assert!(
        before == after,
        "a failed validation must not touch datasets, models, reports"
    );
    assert_eq!(std::fs::read(dir.path().join(".env")).unwrap(), env_before);
}

#[test]
fn ctrl_c_during_training_cancels_and_keeps_earlier_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap();
    let mut args = vec!["run", "--workdir", workdir, "--events", "jsonl"];
    // Many epochs so training is surely running when the signal comes.
    args.extend(tiny_with(&[
        ("--cnn-epochs", "500"),
        ("--cnn-patience", "500"),
    ]));
    let mut child = agriflux(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut training = false;
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["type"] == "step_progress" && event["step"] == "train_cnn" {
            training = true;
            break;
        }
    }
    assert!(training, "train_cnn never reported progress");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(60),
            "no exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(130));
    let finished: Vec<Value> = rest
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(finished.iter().any(|e| e["type"] == "step_finished"
        && e["step"] == "train_cnn"
        && e["status"] == "cancelled"));
    let report = latest_report(dir.path());
    assert_eq!(report["overall_status"], "cancelled");
    assert_eq!(report["steps"][4]["status"], "cancelled");
    for later in 5..8 {
        assert_eq!(report["steps"][later]["status"], "pending");
    }
    // Earlier outputs are intact and readable; no model file pretends to be finished.
    for split in Split::ALL {
        assert!(
            !load_patch_set(&dir.path().join("data/training"), split, "real")
                .unwrap()
                .is_empty()
        );
    }
    assert!(!dir.path().join("models/cnn_real.bpk").exists());
    assert!(!dir.path().join(".env").exists());
}

#[cfg(unix)]
#[test]
fn read_only_env_fails_the_last_step_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, "# mine\nUSE_AI_MODELS=false\n").unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Forced: on simulated data the gate would otherwise leave .env alone.
    let out = run_tiny(dir.path(), &["--enable-models", "always"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = stderr_and_stdout(&out);
    assert!(all.contains("read-only"), "{all}");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "# mine\nUSE_AI_MODELS=false\n"
    );
    let report = latest_report(dir.path());
    assert_eq!(report["steps"][7]["status"], "failed");
    assert_eq!(report["steps"][6]["status"], "success");
}

#[test]
fn bad_flag_value_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = agriflux(&[
        "run",
        "--workdir",
        dir.path().to_str().unwrap(),
        "--cnn-epochs",
        "many",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cnn-epochs") && err.contains("'many'"),
        "{err}"
    );
}

#[test]
fn bad_env_value_names_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "AGRIFLUX_BBOX=75.9,30.9,75.8,31.0\n",
    )
    .unwrap();
    let out = agriflux(&["run", "--workdir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AGRIFLUX_BBOX") && err.contains(".env"),
        "{err}"
    );
    assert!(
        err.contains("minimum must be less than the maximum"),
        "{err}"
    );
}

#[test]
fn malformed_env_line_is_reported_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# ok\nA=1\nthis is not a setting\n",
    )
    .unwrap();
    let out = agriflux(&["run", "--workdir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn run_help_documents_every_option_and_its_env_key() {
    let out = agriflux(&["run", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for spec in agriflux_core::settings::OPTIONS {
        assert!(
            help.contains(&format!("--{}", spec.name)),
            "--{} undocumented",
            spec.name
        );
        assert!(
            help.contains(&spec.env_key()),
            "{} undocumented",
            spec.env_key()
        );
    }
}
