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
