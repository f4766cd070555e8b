//! Command steps end to end: `agriflux.toml` replaces a built-in step with a script of the
//! user's, which the CLI supervises like its own steps (console lines, report entries,
//! fingerprints), and a broken pipeline file or a failing script is reported plainly.

use std::path::Path;

use agriflux_tests::{TINY, agriflux, latest_report, plan_json, run_tiny, text};
use serde_json::Value;

const COMPARE_SCRIPT: &str = r#"echo "comparing with label $2"
echo 'agriflux:progress {"done":1,"total":2,"unit":"model"}'
echo 'agriflux:progress {"done":2,"total":2,"unit":"model"}'
mkdir -p reports
echo "model,score" > reports/my_compare.csv
printf '{"my_score": 0.75, "note": "ours"}' > logs/my_compare.json
"#;

fn pipeline_file(extra_argument: &str) -> String {
    format!(
        r#"# step 7 is ours
[steps.compare]
command = ["sh", "scripts/compare.sh", "--label", "seed-{{seed}}"{extra_argument}]
inputs = ["models/*_metrics.json"]
outputs = ["reports/my_compare.csv"]
metrics = "logs/my_compare.json"
"#
    )
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_command_replaces_compare_and_stays_up_to_date_until_its_command_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run_tiny(tmp.path(), &[]);
    assert!(first.status.success(), "{}", text(&first));
    write(tmp.path(), "scripts/compare.sh", COMPARE_SCRIPT);
    write(tmp.path(), "agriflux.toml", &pipeline_file(""));
    // The plan names the command it will run, placeholders filled in.
    let plan = plan_json(tmp.path(), TINY);
    let compare = plan.iter().find(|p| p["step"] == "compare").unwrap();
    assert_eq!(compare["action"], "run", "{compare}");
    let command = compare["command"].as_str().unwrap();
    assert!(
        command.starts_with("sh scripts/compare.sh --label seed-"),
        "{command}"
    );
    assert!(plan.iter().filter(|p| p["command"].is_string()).count() == 1);
    let mut args = vec!["plan", "--workdir", tmp.path().to_str().unwrap()];
    args.extend_from_slice(TINY);
    let printed = agriflux(&args).output().unwrap();
    assert!(
        text(&printed).contains("command (agriflux.toml): sh scripts/compare.sh"),
        "{}",
        text(&printed)
    );

    let second = run_tiny(tmp.path(), &[]);
    let said = text(&second);
    assert!(second.status.success(), "{said}");
    assert!(said.contains("Script: scripts/compare.sh"), "{said}");
    assert!(
        said.contains("Executing: sh scripts/compare.sh --label seed-"),
        "{said}"
    );
    assert!(said.contains("comparing with label seed-"), "{said}");
    let report = latest_report(tmp.path());
    let compare = step(&report, "compare");
    assert_eq!(compare["status"], "success", "{compare}");
    let summary = &compare["output_summary"];
    assert_eq!(summary["my_score"], 0.75);
    assert_eq!(summary["script"], "scripts/compare.sh");
    assert_eq!(summary["args"][0], "--label");
    assert_eq!(step(&report, "train_cnn")["status"], "up_to_date");
    assert!(tmp.path().join("reports/my_compare.csv").is_file());

    let third = run_tiny(tmp.path(), &[]);
    assert!(third.status.success(), "{}", text(&third));
    let report = latest_report(tmp.path());
    assert_eq!(step(&report, "compare")["status"], "up_to_date");

    write(
        tmp.path(),
        "agriflux.toml",
        &pipeline_file(r#", "--verbose""#),
    );
    let fourth = run_tiny(tmp.path(), &[]);
    assert!(fourth.status.success(), "{}", text(&fourth));
    let report = latest_report(tmp.path());
    let compare = step(&report, "compare");
    assert_eq!(compare["status"], "success", "{compare}");
    assert_eq!(compare["output_summary"]["args"][2], "--verbose");
}

#[test]
fn a_failing_command_fails_its_step_with_its_error_output_first() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "agriflux.toml",
        "[steps.download]\ncommand = [\"sh\", \"-c\", \"echo fetching; echo 'no scenes for this farm' >&2; exit 2\"]\n",
    );
    let out = run_tiny(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = latest_report(tmp.path());
    let download = step(&report, "download");
    assert_eq!(download["status"], "failed");
    let error = download["error_message"].as_str().unwrap();
    assert!(error.starts_with("no scenes for this farm\n"), "{error}");
    assert!(error.contains("exited with status 2"), "{error}");
}

#[test]
fn a_broken_pipeline_file_is_refused_naming_its_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "agriflux.toml",
        "# mine\n[steps.train_cnn]\ncommand = [\"python3\", \"train.py\"]\ntimeout = \"an hour\"\n",
    );
    let out = run_tiny(tmp.path(), &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("agriflux.toml, line 4"), "{said}");
    assert!(said.contains("steps.train_cnn.timeout: "), "{said}");
}

/// A stand-in for the user's own CNN training, in plain Python (no numpy): it predicts class 0
/// for every test patch, writing the `.npy` file by hand, so that what step 7 reports of the
/// "real-trained" model can be told from the file alone.
const ALWAYS_CLASS_0: &str = r#"import json, os, struct, sys
meta = json.load(open("data/training/cnn_metadata_real.json"))
counts = meta["counts"]["test"]
n = sum(counts)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 4), }" % n
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
os.makedirs("models", exist_ok=True)
with open("models/cnn_real_test_predictions.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<4f", 1.0, 0.0, 0.0, 0.0) * n)
json.dump({"test_accuracy": counts[0] / n, "trainer": sys.argv[1]},
          open("models/cnn_real_metrics.json", "w"))
print('agriflux:progress {"done": 1, "total": 1, "unit": "epochs"}')
"#;

fn train_cnn_file(trainer: &str) -> String {
    format!(
        r#"[steps.train_cnn]
command = ["python3", "scripts/train.py", "{trainer}"]
inputs = ["data/training/cnn_*_real.*"]
outputs = ["models/cnn_real_test_predictions.npy"]
metrics = "models/cnn_real_metrics.json"
"#
    )
}

#[test]
fn a_replaced_train_cnn_feeds_compare_and_a_changed_command_reruns_what_reads_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "scripts/train.py", ALWAYS_CLASS_0);
    write(
        tmp.path(),
        "agriflux.toml",
        &train_cnn_file("always-healthy"),
    );
    let first = run_tiny(tmp.path(), &[]);
    assert!(first.status.success(), "{}", text(&first));
    let report = latest_report(tmp.path());
    assert_eq!(
        step(&report, "train_cnn")["output_summary"]["trainer"],
        "always-healthy"
    );
    // Step 7 compared the script's predictions, not a model of the engine's: predicting class
    // 0 everywhere is right exactly as often as class 0 occurs in the test split.
    let meta: Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("data/training/cnn_metadata_real.json")).unwrap(),
    )
    .unwrap();
    let counts: Vec<f64> = meta["counts"]["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    let share_of_class_0 = counts[0] / counts.iter().sum::<f64>();
    let compared =
        step(&report, "compare")["output_summary"]["model_comparison"]["cnn_real_accuracy"]
            .as_f64()
            .unwrap();
    assert!(
        (compared - share_of_class_0).abs() < 1e-3,
        "step 7 says {compared}, the script's predictions give {share_of_class_0}"
    );
    assert!(!tmp.path().join("models/cnn_real.bpk").exists());

    let second = run_tiny(tmp.path(), &[]);
    assert!(second.status.success(), "{}", text(&second));
    let report = latest_report(tmp.path());
    for id in ["train_cnn", "compare", "update_env"] {
        assert_eq!(step(&report, id)["status"], "up_to_date", "{id}");
    }

    write(
        tmp.path(),
        "agriflux.toml",
        &train_cnn_file("still-healthy"),
    );
    let plan = plan_json(tmp.path(), TINY);
    let action = |id: &str| {
        let p = plan.iter().find(|p| p["step"] == id).unwrap();
        (
            p["action"].as_str().unwrap().to_string(),
            p["reason"].as_str().unwrap().to_string(),
        )
    };
    let (cnn, why) = action("train_cnn");
    assert_eq!(cnn, "run");
    assert!(why.contains("setting command changed"), "{why}");
    let (compare, why) = action("compare");
    assert_eq!(compare, "run");
    assert!(why.contains("train_cnn"), "{why}");
    // Step 6 reads nothing step 5 writes.
    assert_eq!(action("train_lstm").0, "up_to_date");
    let third = run_tiny(tmp.path(), &[]);
    assert!(third.status.success(), "{}", text(&third));
    let report = latest_report(tmp.path());
    assert_eq!(step(&report, "compare")["status"], "success");
    assert_eq!(
        step(&report, "train_cnn")["output_summary"]["trainer"],
        "still-healthy"
    );
}

#[test]
fn an_added_step_runs_after_the_one_it_names_and_the_step_count_follows() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "agriflux.toml",
        r#"[steps.archive_models]
name = "Archive the models"
after = "train_lstm"
command = ["sh", "-c", "mkdir -p exports && cat models/*_real_metrics.json > exports/all_metrics.txt && echo archived"]
inputs = ["models/*_real_metrics.json"]
outputs = ["exports/all_metrics.txt"]
"#,
    );
    let plan = plan_json(tmp.path(), TINY);
    let ids: Vec<&str> = plan.iter().map(|p| p["step"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[6], "archive_models");
    assert_eq!(plan[6]["number"], 7);
    assert_eq!(plan[7]["number"], 8);
    assert_eq!(plan[6]["name"], "Archive the models");

    let out = run_tiny(tmp.path(), &[]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Step 7/9: Archive the models"), "{said}");
    assert!(
        said.contains("Step 8/9: Compare Model Performance"),
        "{said}"
    );
    assert!(said.contains("Executing: sh -c"), "{said}");
    assert!(said.contains("  archived"), "{said}");
    let report = latest_report(tmp.path());
    assert_eq!(report["steps"].as_array().unwrap().len(), 9);
    let archive = step(&report, "archive_models");
    assert_eq!(archive["status"], "success", "{archive}");
    assert_eq!(archive["step_number"], 7);
    assert_eq!(step(&report, "update_env")["step_number"], 9);
    assert!(tmp.path().join("exports/all_metrics.txt").is_file());

    // `--from` takes an added step by name, and by its number in this pipeline.
    for from in ["archive_models", "7"] {
        let plan = plan_json(tmp.path(), &[TINY, &["--from", from]].concat());
        let actions: Vec<&str> = plan.iter().map(|p| p["action"].as_str().unwrap()).collect();
        assert_eq!(&actions[..6], ["up_to_date"; 6], "--from {from}");
        assert_eq!(&actions[6..], ["run"; 3], "--from {from}");
        assert!(
            plan[6]["reason"]
                .as_str()
                .unwrap()
                .contains("re-run from archive_models")
        );
    }
    let mut args = vec![
        "plan",
        "--workdir",
        tmp.path().to_str().unwrap(),
        "--from",
        "export_all",
    ];
    args.extend_from_slice(TINY);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error, as clap's");
    assert!(
        text(&out).contains("--from export_all: expected a step: download,"),
        "{}",
        text(&out)
    );
}

/// Runs `agriflux` with `/usr/bin` first on `PATH`: the examples' `python3` needs numpy, which
/// the test machines have from Debian's python3-numpy.
fn run_tiny_with_system_python(workdir: &Path) -> std::process::Output {
    let path = format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default());
    let mut args = vec!["run", "--workdir", workdir.to_str().unwrap()];
    args.extend_from_slice(TINY);
    agriflux(&args).env("PATH", path).output().unwrap()
}

fn copy_example(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/pipelines")
        .join(name);
    for entry in walk(&from) {
        let relative = entry.strip_prefix(&from).unwrap();
        let target = to.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_example_pipelines_run_as_the_readme_shows() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    for example in ["export-metrics", "python-train-cnn"] {
        assert!(
            readme.contains(&format!("cp -r examples/pipelines/{example}/. ")),
            "the README shows how to use {example}"
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    copy_example("export-metrics", tmp.path());
    let out = run_tiny_with_system_python(tmp.path());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Step 8/9: Export Model Metrics to CSV"),
        "{said}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("exports/model_metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("source,model,predictor,figure,value,ci_low,ci_high")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            .any(|r| r.starts_with("simulated,cnn,model,accuracy,")),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("simulated,lstm,persistence,")),
        "{csv}"
    );
    let report = latest_report(tmp.path());
    let export = step(&report, "export_metrics");
    assert_eq!(export["output_summary"]["csv_rows"], rows.len());

    let tmp = tempfile::tempdir().unwrap();
    copy_example("python-train-cnn", tmp.path());
    let out = run_tiny_with_system_python(tmp.path());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let report = latest_report(tmp.path());
    let train = step(&report, "train_cnn");
    assert_eq!(train["name"], "Train CNN Model (Python softmax regression)");
    let accuracy = train["output_summary"]["test_accuracy"].as_f64().unwrap();
    let compared =
        step(&report, "compare")["output_summary"]["model_comparison"]["cnn_real_accuracy"]
            .as_f64()
            .unwrap();
    assert!(
        (accuracy - compared).abs() < 1e-3,
        "{accuracy} vs {compared}"
    );
    // No gate evidence from the script: step 8 keeps the models off.
    let env = std::fs::read_to_string(tmp.path().join(".env")).unwrap_or_default();
    assert!(!env.contains("USE_AI_MODELS=true"), "{env}");
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_string();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// Starts `agriflux run` whose step 1 is `script`, and waits for the script to write `file`.
/// The caller waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_with_download_script(
    dir: &Path,
    script: &str,
    file: &str,
) -> (std::process::Child, String) {
    write(
        dir,
        "agriflux.toml",
        &format!("[steps.download]\ncommand = [\"sh\", \"-c\", {script:?}]\n"),
    );
    let mut args = vec!["run", "--workdir", dir.to_str().unwrap()];
    args.extend_from_slice(TINY);
    let child = agriflux(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let path = dir.join(file);
    let start = std::time::Instant::now();
    loop {
        if let Ok(pid) = std::fs::read_to_string(&path)
            && pid.ends_with('\n')
        {
            return (child, pid.trim().to_string());
        }
        assert!(start.elapsed().as_secs() < 60, "the script never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits (at most 10 s) for `pid` to be gone; whether it went.
fn gone(pid: &str) -> bool {
    let start = std::time::Instant::now();
    while running(pid) {
        if start.elapsed().as_secs() >= 10 {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

#[test]
fn a_command_dies_with_a_cli_that_is_killed_outright() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut cli, pid) = start_with_download_script(
        tmp.path(),
        "echo $$ > command.pid; exec sleep 300",
        "command.pid",
    );
    assert!(running(&pid));
    cli.kill().unwrap();
    cli.wait().unwrap();
    assert!(gone(&pid), "the command {pid} outlived the killed CLI");
}

#[test]
fn a_second_ctrl_c_stops_the_command_and_what_it_started_before_the_cli_exits() {
    let tmp = tempfile::tempdir().unwrap();
    // The script and its child ignore SIGTERM: only the second Ctrl-C's SIGKILL stops them.
    let (mut cli, pid) = start_with_download_script(
        tmp.path(),
        "trap '' TERM; sleep 300 & echo $! > child.pid; wait",
        "child.pid",
    );
    assert!(running(&pid));
    for _ in 0..2 {
        std::process::Command::new("kill")
            .args(["-INT", &cli.id().to_string()])
            .status()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert_eq!(cli.wait().unwrap().code(), Some(130));
    assert!(gone(&pid), "the command's child {pid} outlived the CLI");
}
