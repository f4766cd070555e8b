//! Crash-and-resume soak: runs the pipeline on the simulated source with tiny settings, kills
//! it at seeded random moments (SIGKILL, SIGINT, SIGTERM — whatever step it is in: downloads,
//! dataset writes, training, report writing), resumes each time, and checks that the outputs
//! end up byte-identical to an uninterrupted run of the same seed, with no stray temporary
//! files and every killed run in the history as interrupted or cancelled.
//!
//! `cargo test --workspace --features agriflux-app/test-hooks --test soak` runs the short version (10 kills);
//! `cargo test --workspace --features agriflux-app/test-hooks --test soak -- --kills 200 --seed 7` runs a long one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use agriflux_tests::{TINY, agriflux, read_json, text};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

struct Options {
    kills: usize,
    seed: u64,
}

fn options() -> Options {
    let mut options = Options { kills: 10, seed: 1 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || {
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", args[i]))
        };
        match args[i].as_str() {
            "--kills" => options.kills = value() as usize,
            "--seed" => options.seed = value(),
            // What cargo's test runner passes on (filters, --nocapture, …) is not for us.
            _ => {}
        }
        i += 1;
    }
    options
}

fn run_command(dir: &Path) -> std::process::Command {
    let mut args = vec!["run", "--workdir", dir.to_str().unwrap(), "--seed", "11"];
    args.extend_from_slice(TINY);
    let mut cmd = agriflux(&args);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

/// SHA-256 of every output the user keeps: scenes, datasets, models, `.env`.
///
/// A weights file (`.bpk`) is left out, and so is its hash in the sidecar: burn gives each
/// batch-norm running statistic a random id when the network is built and stores it in the
/// record, so two identical trainings write files that differ in those ids alone (the trainable
/// parameters are numbered in order when saving). What the weights do is still compared: each
/// model's saved test predictions (`*_test_predictions.npy`) must be identical.
fn output_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for top in ["data", "models", ".env"] {
        for path in files_under(&dir.join(top)) {
            if path.extension().is_some_and(|e| e == "bpk") {
                continue;
            }
            let mut bytes = std::fs::read(&path).unwrap();
            if top == "models" && path.extension().is_some_and(|e| e == "json") {
                let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                if let Some(sidecar) = doc.as_object_mut() {
                    sidecar.remove("weights_sha256");
                }
                bytes = serde_json::to_vec(&doc).unwrap();
            }
            out.insert(
                path.strip_prefix(dir).unwrap().to_path_buf(),
                format!("{:x}", Sha256::digest(&bytes)),
            );
        }
    }
    out
}

fn files_under(path: &Path) -> Vec<PathBuf> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Vec::new();
    };
    if !meta.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap().flatten() {
        files.extend(files_under(&entry.path()));
    }
    files
}

/// Files a write in progress leaves (`.name.tmp-…`), which a finished run must not have left.
fn stray_temporary_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.contains(".tmp-") || name.ends_with(".tmp") || name.ends_with(".partial")
        })
        .collect()
}

/// Each run report's (run id, overall status).
fn history(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("pipeline_report_") && name.ends_with(".json")
        })
        .map(|e| {
            let report = read_json(&e.path());
            (
                report["run_id"].as_str().unwrap_or_default().to_string(),
                report["overall_status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// The run folders whose event log shows the run started (`run_started` was written).
fn started_runs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("logs/runs")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("events.jsonl"))
                .is_ok_and(|t| t.contains("\"run_started\""))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[derive(Default, Debug)]
struct Figures {
    by_signal: BTreeMap<&'static str, usize>,
    resumes: usize,
    finished_before_kill: usize,
    completions: usize,
}

fn wait(child: Child) -> std::process::Output {
    child.wait_with_output().expect("agriflux ends")
}

fn main() {
    let options = options();
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);

    let reference = tempfile::tempdir().unwrap();
    let clock = Instant::now();
    let out = wait(run_command(reference.path()).spawn().unwrap());
    let full_run = clock.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expected = output_hashes(reference.path());
    assert!(
        expected.keys().any(|p| p
            .to_string_lossy()
            .ends_with("cnn_real_test_predictions.npy")),
        "the reference run made no models"
    );

    let soak = tempfile::tempdir().unwrap();
    let dir = soak.path();
    let mut figures = Figures::default();
    let signals = [
        ("SIGKILL", libc::SIGKILL),
        ("SIGINT", libc::SIGINT),
        ("SIGTERM", libc::SIGTERM),
    ];
    let mut kills = 0;
    let mut force_next = false;
    while kills < options.kills {
        let mut cmd = run_command(dir);
        if force_next {
            // Start over on top of complete outputs: kills then land in overwrites too.
            cmd.arg("--force");
            force_next = false;
        }
        let mut child = cmd.spawn().unwrap();
        let delay = full_run.mul_f64(rng.random_range(0.0..1.0));
        let (name, signal) = signals[rng.random_range(0..signals.len())];
        let deadline = Instant::now() + delay;
        let mut exited = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if exited.is_none() {
            // SAFETY: `kill` on the id of our own child, which has not been reaped yet.
            unsafe { libc::kill(child.id() as i32, signal) };
            kills += 1;
            *figures.by_signal.entry(name).or_default() += 1;
        }
        let out = wait(child);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(130) | None),
            "run ended with {code:?} (not success, interrupted or killed):\n{}",
            text(&out)
        );
        if exited.is_some() {
            figures.finished_before_kill += 1;
        }
        if code == Some(0) {
            figures.completions += 1;
            assert_eq!(output_hashes(dir), expected, "outputs after a complete run");
            force_next = true;
        } else {
            figures.resumes += 1;
        }
    }
    // Resume to the end and compare.
    let out = wait(run_command(dir).spawn().unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    figures.completions += 1;
    let got = output_hashes(dir);
    for (path, hash) in &expected {
        assert_eq!(got.get(path), Some(hash), "{} differs", path.display());
    }
    assert_eq!(got, expected);
    let stray = stray_temporary_files(dir);
    assert!(stray.is_empty(), "stray temporary files: {stray:?}");

    // Every run that started is in the history; the killed ones as interrupted or cancelled.
    let history = history(dir);
    let reported: BTreeMap<&str, &str> = history
        .iter()
        .map(|(id, status)| (id.as_str(), status.as_str()))
        .collect();
    let runs = started_runs(dir);
    let mut not_success = 0;
    for run in &runs {
        let status = reported
            .get(run.as_str())
            .unwrap_or_else(|| panic!("run {run} is not in the history: {history:?}"));
        assert!(
            matches!(*status, "success" | "interrupted" | "cancelled"),
            "run {run} is {status}"
        );
        if *status != "success" {
            not_success += 1;
        }
    }
    assert_eq!(
        not_success + figures.completions,
        runs.len(),
        "each run either completed or is recorded interrupted/cancelled: {history:?}"
    );
    println!(
        "soak passed: seed {}, {} kills {:?}, {} resumes, {} complete runs, {} runs ended before their kill, {} runs in history ({} interrupted or cancelled), reference run {:.1} s, total {:.1} s",
        options.seed,
        kills,
        figures.by_signal,
        figures.resumes,
        figures.completions,
        figures.finished_before_kill,
        runs.len(),
        not_success,
        full_run.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
