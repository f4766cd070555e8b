//! Shared helpers for the end-to-end tests: run the real `agriflux` binary on
//! temporary work directories with tiny settings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Flags that make a whole run take seconds: a 2.6 km x 2 km area, 14 dates, tiny training.
pub const TINY: &[&str] = &[
    "--bbox",
    "75.80,30.90,75.827,30.918",
    "--start",
    "2025-01-01",
    "--end",
    "2025-12-31",
    "--target-count",
    "14",
    "--min-valid-dates",
    "10",
    "--sequence-length",
    "5",
    "--samples-per-class",
    "16",
    "--cnn-epochs",
    "1",
    "--lstm-epochs",
    "2",
];

/// [`TINY`] with some flags' values replaced, e.g. `tiny_with(&[("--cnn-epochs", "50")])`.
pub fn tiny_with(overrides: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    let mut args = TINY.to_vec();
    for (flag, value) in overrides {
        match args.iter().position(|a| a == flag) {
            Some(i) => args[i + 1] = value,
            None => args.extend([*flag, *value]),
        }
    }
    args
}

/// The `agriflux` binary that cargo built for this test run.
///
/// The tests are declared by the `agriflux-cli` package, so cargo builds its binary, with the
/// tests' own feature set, before running them; it lies beside the `deps/` folder that holds the
/// test executable.
pub fn agriflux_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>/agriflux
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let bin = profile_dir.join(format!("agriflux{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.exists(),
            "{} is missing: run these tests through cargo as tests of the agriflux-cli package",
            bin.display()
        );
        bin
    })
}

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared/data/real-s2` beside the repository, if present.
pub fn real_samples_dir() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/data/real-s2");
    dir.exists().then_some(dir)
}

/// A command running `agriflux` with `args`, without the caller's AGRIFLUX_* environment.
pub fn agriflux(args: &[&str]) -> Command {
    let mut cmd = Command::new(agriflux_bin());
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("AGRIFLUX_") || key.starts_with("SENTINEL_HUB_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `agriflux run --workdir DIR <TINY> <extra>` to completion.
pub fn run_tiny(workdir: &Path, extra: &[&str]) -> Output {
    let dir = workdir.to_str().expect("utf-8 path");
    let mut args = vec!["run", "--workdir", dir];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    agriflux(&args).output().expect("agriflux runs")
}

/// The text of stdout and stderr together, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The newest `logs/pipeline_report_*.json` of a work directory.
pub fn latest_report(workdir: &Path) -> Value {
    let mut reports: Vec<PathBuf> = std::fs::read_dir(workdir.join("logs"))
        .expect("logs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pipeline_report_") && n.ends_with(".json"))
        })
        .collect();
    reports.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    read_json(reports.last().expect("a run report"))
}

/// Parses a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// SHA-256-free fingerprint of every file under `dir`: path -> bytes (for "nothing else touched").
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.insert(p.strip_prefix(dir).unwrap_or(&p).to_path_buf(), bytes);
            }
        }
    }
    out
}

/// Whether a command exists on this machine.
pub fn have(program: &str, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `agriflux plan --json --workdir DIR <flags>` (e.g. `&tiny_with(…)`) and returns its
/// steps.
pub fn plan_json(workdir: &Path, flags: &[&str]) -> Vec<Value> {
    let dir = workdir.to_str().expect("utf-8 path");
    let mut args = vec!["plan", "--json", "--workdir", dir];
    args.extend_from_slice(flags);
    let out = agriflux(&args).output().expect("agriflux plan runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan --json is not JSON: {e}\n{}", text(&out)));
    plan.as_array().expect("a JSON array").clone()
}

/// Copies every file and folder under `from` into `to` (created).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// The events of one run, from `logs/runs/<run_id>/events.jsonl`.
pub fn run_events(workdir: &Path, run_id: &str) -> Vec<Value> {
    let path = workdir.join(format!("logs/runs/{run_id}/events.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}
