//! Incremental, resumable runs end to end: steps whose fingerprint matches are `up_to_date` and
//! reused, changed settings or files re-run exactly the steps that depend on them (with the
//! reason), a cancelled run resumes at the step it stopped in, `--from` and `--force` re-run
//! steps anyway, and `agriflux plan` predicts exactly what `agriflux run` then does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use agriflux_tests::{
    TINY, agriflux, copy_tree, latest_report, plan_json, read_json, run_events, text, tiny_with,
};
use serde_json::Value;

const STEPS: [&str; 8] = [
    "download",
    "validate",
    "cnn_dataset",
    "lstm_dataset",
    "train_cnn",
    "train_lstm",
    "compare",
    "update_env",
];

/// `agriflux run --workdir DIR <flags>`.
fn run_with(dir: &Path, flags: &[&str]) -> Output {
    let mut args = vec!["run", "--workdir", dir.to_str().unwrap()];
    args.extend_from_slice(flags);
    agriflux(&args).output().unwrap()
}

/// One successful tiny run, shared (read only) by the tests; each test works on a copy.
fn baseline() -> &'static (PathBuf, Value) {
    static BASE: OnceLock<(PathBuf, Value)> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = run_with(&dir, TINY);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let report = latest_report(&dir);
        (dir, report)
    })
}

/// A copy of the baseline's work directory, and the baseline's report.
fn copy_of_baseline() -> (tempfile::TempDir, Value) {
    let (base, report) = baseline();
    let dir = tempfile::tempdir().unwrap();
    copy_tree(base, dir.path());
    (dir, report.clone())
}

fn actions(plan: &[Value]) -> Vec<&str> {
    plan.iter().map(|p| p["action"].as_str().unwrap()).collect()
}

fn statuses(report: &Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect()
}

fn reason<'a>(plan: &'a [Value], step: &str) -> &'a str {
    plan.iter()
        .find(|p| p["step"] == step)
        .and_then(|p| p["reason"].as_str())
        .unwrap_or_else(|| panic!("no {step} in {plan:?}"))
}

/// The run did what the plan said, step by step, with the same reasons; and its
/// `run_started` event carries that same plan.
fn assert_run_follows_plan(dir: &Path, plan: &[Value], report: &Value) {
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(plan.len(), steps.len());
    for (p, s) in plan.iter().zip(steps) {
        assert_eq!(p["step"], s["id"]);
        let expected = match p["action"].as_str().unwrap() {
            // On simulated data the gate holds the models back: step 8 runs and ends skipped.
            "run" if s["id"] == "update_env" => "skipped",
            "run" => "success",
            "up_to_date" => "up_to_date",
            "skip" => "skipped",
            other => panic!("unknown action {other}"),
        };
        assert_eq!(s["status"], expected, "plan {p} vs report step {s}");
        assert_eq!(s["reason"], p["reason"], "{}", s["id"]);
        assert_eq!(s["reused_from"], p["reused_from"], "{}", s["id"]);
    }
    let events = run_events(dir, report["run_id"].as_str().unwrap());
    assert_eq!(events[0]["type"], "run_started");
    assert_eq!(events[0]["plan"], Value::Array(plan.to_vec()));
}

/// Which steps ran (had a `step_started` event) in a run.
fn started_steps(dir: &Path, report: &Value) -> Vec<String> {
    run_events(dir, report["run_id"].as_str().unwrap())
        .iter()
        .filter(|e| e["type"] == "step_started")
        .map(|e| e["step"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_identical_second_run_runs_no_step_and_reuses_the_figures() {
    let (dir, first) = copy_of_baseline();
    let dir = dir.path();
    let first_id = first["run_id"].as_str().unwrap();
    assert_eq!(statuses(&first)[..7], ["success"; 7]);
    assert_eq!(
        statuses(&first)[7],
        "skipped",
        "the gate holds simulated models back"
    );

    let plan = plan_json(dir, TINY);
    assert_eq!(actions(&plan), ["up_to_date"; 8], "{plan:?}");
    for p in &plan {
        assert_eq!(p["reused_from"], first_id);
        assert_eq!(
            p["reason"],
            format!("settings, inputs and outputs unchanged since run {first_id}")
        );
    }

    let clock = Instant::now();
    let out = run_with(dir, TINY);
    let elapsed = clock.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        format!("Step 5/8: Train CNN Model: up to date — reused from run {first_id}"),
        "Plan: 0 steps to run, 8 up to date, 0 skipped".to_string(),
        "Up to date (reused): 8".to_string(),
        "Nothing to do: every step was up to date".to_string(),
        format!(
            "CNN Accuracy: {:.3} [",
            first["summary_statistics"]["cnn_evaluation"]["accuracy"]["value"]
                .as_f64()
                .unwrap()
        ),
        format!("(reused from run {first_id})"),
        "✅ PIPELINE COMPLETED SUCCESSFULLY!".to_string(),
    ] {
        assert!(stdout.contains(&needle), "missing {needle:?} in\n{stdout}");
    }
    assert!(
        !stdout.contains("Status: running"),
        "no step ran:\n{stdout}"
    );

    let second = latest_report(dir);
    assert_ne!(second["run_id"], first["run_id"]);
    assert_eq!(second["overall_status"], "success");
    assert_eq!(statuses(&second), ["up_to_date"; 8]);
    for (now, before) in second["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(first["steps"].as_array().unwrap())
    {
        assert_eq!(now["reused_from"], first_id, "{now}");
        assert_eq!(
            now["output_summary"], before["output_summary"],
            "{} keeps the figures of the run that produced it",
            now["id"]
        );
        assert!(now["duration_seconds"].is_null(), "{now}");
    }
    let (s1, s2) = (&first["summary_statistics"], &second["summary_statistics"]);
    assert_eq!(s2["up_to_date_steps"], 8);
    assert_eq!(s2["completed_steps"], 0);
    for figure in ["cnn_accuracy", "lstm_metrics", "model_comparison"] {
        assert!(!s1[figure].is_null(), "{figure}");
        assert_eq!(s2[figure], s1[figure], "{figure}");
    }
    assert!(
        second["total_duration_seconds"].as_f64().unwrap() < 10.0,
        "{}",
        second["total_duration_seconds"]
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");

    assert_run_follows_plan(dir, &plan, &second);
    let events = run_events(dir, second["run_id"].as_str().unwrap());
    assert!(started_steps(dir, &second).is_empty());
    let finished: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "step_finished")
        .collect();
    assert_eq!(finished.len(), 8);
    for e in finished {
        assert_eq!(e["status"], "up_to_date", "{e}");
        assert_eq!(e["reused_from"], first_id, "{e}");
        assert!(e["reason"].as_str().unwrap().contains("unchanged"), "{e}");
    }

    // The skip flags keep their meaning: a skipped step is skipped, the rest stay up to date.
    let mut flags = TINY.to_vec();
    flags.push("--skip-download");
    let plan = plan_json(dir, &flags);
    assert_eq!(actions(&plan)[0], "skip");
    assert_eq!(plan[0]["reason"], "skipped by --skip-download");
    assert!(actions(&plan)[1..].iter().all(|a| *a == "up_to_date"));
}

#[test]
fn changing_cnn_epochs_reruns_only_the_steps_that_depend_on_it_as_planned() {
    let (dir, first) = copy_of_baseline();
    let dir = dir.path();
    let flags = tiny_with(&[("--cnn-epochs", "2")]);
    let plan = plan_json(dir, &flags);
    assert_eq!(
        actions(&plan),
        [
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "run",
            "up_to_date",
            "run",
            "run"
        ],
        "{plan:#?}"
    );
    assert_eq!(
        reason(&plan, "train_cnn"),
        "setting cnn_epochs changed from 1 to 2"
    );
    assert_eq!(
        reason(&plan, "compare"),
        "setting cnn_epochs changed from 1 to 2"
    );
    assert_eq!(
        reason(&plan, "update_env"),
        "an earlier step re-ran: train_cnn (this step reads its outputs)"
    );

    // The console plan says the same.
    let mut args = vec!["plan", "--workdir", dir.to_str().unwrap()];
    args.extend_from_slice(&flags);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let console = String::from_utf8_lossy(&out.stdout);
    println!("{console}");
    assert!(
        console.contains("5. Train CNN Model")
            && console.contains("run         setting cnn_epochs changed from 1 to 2"),
        "{console}"
    );
    assert!(
        console.contains("3 steps to run, 5 up to date, 0 skipped."),
        "{console}"
    );

    let out = run_with(dir, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Why: setting cnn_epochs changed from 1 to 2"),
        "{stdout}"
    );
    let report = latest_report(dir);
    assert_run_follows_plan(dir, &plan, &report);
    assert_eq!(
        started_steps(dir, &report),
        ["train_cnn", "compare", "update_env"]
    );
    assert_eq!(report["steps"][5]["reused_from"], first["run_id"]);
    let history = read_json(&dir.join("models/cnn_real_history.json"));
    assert_eq!(
        history["max_epochs"], 2,
        "the CNN was retrained with 2 epochs"
    );

    // And now that setting is recorded: the next identical run reuses everything.
    let plan = plan_json(dir, &flags);
    assert_eq!(actions(&plan), ["up_to_date"; 8], "{plan:#?}");
    assert_eq!(plan[4]["reused_from"], report["run_id"]);
    assert_eq!(plan[5]["reused_from"], first["run_id"]);
}

#[test]
fn a_corrupted_training_array_reruns_its_producer_with_the_reason() {
    let (dir, _) = copy_of_baseline();
    let dir = dir.path();
    let victim = dir.join("data/training/cnn_X_train_real.npy");
    let original = std::fs::read(&victim).unwrap();
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&victim, &bytes).unwrap();

    let plan = plan_json(dir, TINY);
    assert_eq!(plan[2]["action"], "run");
    assert_eq!(
        reason(&plan, "cnn_dataset"),
        "output file data/training/cnn_X_train_real.npy changed"
    );
    assert_eq!(
        plan[3]["action"], "up_to_date",
        "the LSTM dataset is intact"
    );
    assert_eq!(plan[5]["action"], "up_to_date", "the LSTM is intact");
    assert_eq!(
        reason(&plan, "train_cnn"),
        "an earlier step re-ran: cnn_dataset (this step reads its outputs)"
    );

    let out = run_with(dir, TINY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Why: output file data/training/cnn_X_train_real.npy changed"),
        "{stdout}"
    );
    let report = latest_report(dir);
    assert_run_follows_plan(dir, &plan, &report);
    assert_eq!(report["steps"][2]["status"], "success");
    assert_eq!(
        report["steps"][2]["reason"],
        "output file data/training/cnn_X_train_real.npy changed"
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        original,
        "the seeded dataset step rewrote the same array"
    );
}

#[test]
fn a_run_cancelled_in_train_lstm_resumes_at_train_lstm() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // Many epochs so the LSTM is surely training when the signal comes.
    let long = tiny_with(&[("--lstm-epochs", "500"), ("--lstm-patience", "500")]);
    let mut args = vec![
        "run",
        "--workdir",
        dir.to_str().unwrap(),
        "--events",
        "jsonl",
    ];
    args.extend_from_slice(&long);
    let mut child = agriflux(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut training = false;
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["type"] == "step_progress" && event["step"] == "train_lstm" {
            training = true;
            break;
        }
    }
    assert!(training, "train_lstm never reported progress");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _rest: Vec<String> = lines.map_while(Result::ok).collect();
    let signalled = Instant::now();
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
    let cancelled = latest_report(dir);
    assert_eq!(
        statuses(&cancelled),
        [
            "success",
            "success",
            "success",
            "success",
            "success",
            "cancelled",
            "pending",
            "pending"
        ]
    );
    let record = read_json(&dir.join("logs/fingerprints/train_lstm.json"));
    assert_eq!(record["state"], "cancelled", "{record}");
    let cancelled_id = cancelled["run_id"].as_str().unwrap();

    // Re-run (with the tiny epochs): the five finished steps are reused.
    let plan = plan_json(dir, TINY);
    assert_eq!(
        actions(&plan),
        [
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "run",
            "run",
            "run"
        ],
        "{plan:#?}"
    );
    assert_eq!(
        reason(&plan, "train_lstm"),
        format!("the last attempt (run {cancelled_id}) was cancelled")
    );
    for p in &plan[..5] {
        assert_eq!(p["reused_from"], cancelled_id);
    }
    let out = run_with(dir, TINY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = latest_report(dir);
    assert_run_follows_plan(dir, &plan, &report);
    let started = started_steps(dir, &report);
    assert_eq!(started.first().map(String::as_str), Some("train_lstm"));
    assert_eq!(started, ["train_lstm", "compare", "update_env"]);
    assert_eq!(report["summary_statistics"]["up_to_date_steps"], 5);
    assert!(report["summary_statistics"]["cnn_accuracy"].is_f64());
}

#[test]
fn from_and_force_rerun_steps_as_planned() {
    let (dir, first) = copy_of_baseline();
    let dir = dir.path();
    let first_id = first["run_id"].as_str().unwrap();

    let mut flags = TINY.to_vec();
    flags.extend(["--from", "train_cnn"]);
    let plan = plan_json(dir, &flags);
    assert_eq!(
        actions(&plan),
        [
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "up_to_date",
            "run",
            "run",
            "run",
            "run"
        ]
    );
    for p in &plan[4..] {
        assert_eq!(p["reason"], "re-run from train_cnn (--from)");
    }
    let out = run_with(dir, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = latest_report(dir);
    assert_run_follows_plan(dir, &plan, &report);
    assert_eq!(
        started_steps(dir, &report),
        ["train_cnn", "train_lstm", "compare", "update_env"]
    );
    assert_eq!(report["steps"][0]["reused_from"], first_id);

    // --force with --skip-download: the skip flag still wins for step 1; every other step runs.
    let mut flags = TINY.to_vec();
    flags.extend(["--force", "--skip-download"]);
    let plan = plan_json(dir, &flags);
    assert_eq!(actions(&plan)[0], "skip");
    assert!(actions(&plan)[1..].iter().all(|a| *a == "run"), "{plan:?}");
    for p in &plan[1..] {
        assert_eq!(p["reason"], "forced (--force)");
    }
    let out = run_with(dir, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = latest_report(dir);
    assert_run_follows_plan(dir, &plan, &report);
    assert_eq!(started_steps(dir, &report), STEPS[1..]);

    // Unknown step names are refused with the list of steps.
    let mut args = vec![
        "plan",
        "--workdir",
        dir.to_str().unwrap(),
        "--from",
        "train",
    ];
    args.extend_from_slice(TINY);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("train_cnn, train_lstm"),
        "{}",
        text(&out)
    );
}
