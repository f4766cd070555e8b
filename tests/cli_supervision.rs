//! Supervision end to end: one run per work directory, stale locks, and runs whose process
//! was killed outright being recorded as interrupted by the next start.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use agriflux_tests::{agriflux, latest_report, run_tiny, text, tiny_with};
use serde_json::Value;

/// Starts a long tiny run printing JSON lines, and waits until CNN training reports progress.
/// The caller waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_long_run(dir: &std::path::Path) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut args = vec![
        "run",
        "--workdir",
        dir.to_str().unwrap(),
        "--events",
        "jsonl",
    ];
    args.extend(tiny_with(&[
        ("--cnn-epochs", "500"),
        ("--cnn-patience", "500"),
    ]));
    let mut child = agriflux(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["type"] == "step_progress" && event["step"] == "train_cnn" {
            return (child, lines);
        }
    }
    panic!("train_cnn never reported progress");
}

fn wait(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_run_in_the_same_directory_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _lines) = start_long_run(dir.path());
    let out = agriflux(&["run", "--workdir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another run is going"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(wait(&mut first), Some(130));
    // The lock file stays (the kernel lock on it is what counts); a clean end empties it so
    // that it names no run.
    let lock = std::fs::read(dir.path().join("logs/run.lock")).unwrap_or_default();
    assert!(
        lock.is_empty(),
        "the lock names no run at the end: {lock:?}"
    );
}

#[test]
fn a_stale_lock_of_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    // No process has this id (Linux pids stay below 2^22).
    std::fs::write(
        dir.path().join("logs/run.lock"),
        r#"{"run_id":"20250101-000000-00001","pid":99999999,"started_at":"2025-01-01T00:00:00+00:00"}"#,
    )
    .unwrap();
    let out = run_tiny(dir.path(), &["--skip-download"]);
    let all = text(&out);
    assert!(!all.contains("another run is going"), "{all}");
    assert!(all.contains("no scenes in"), "the run went ahead: {all}");
}

#[test]
fn a_killed_run_is_recorded_as_interrupted_by_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _lines) = start_long_run(dir.path());
    let killed_run = latest_run_id(dir.path());
    Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status()
        .unwrap();
    wait(&mut first);
    assert!(
        dir.path().join("logs/run.lock").exists(),
        "SIGKILL leaves the lock behind"
    );

    let out = run_tiny(dir.path(), &["--skip-download"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("was interrupted"),
        "{}",
        text(&out)
    );
    let reports: Vec<Value> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pipeline_report_")
        })
        .map(|p| agriflux_tests::read_json(&p))
        .collect();
    let interrupted = reports
        .iter()
        .find(|r| r["run_id"] == killed_run.as_str())
        .expect("a report for the killed run");
    assert_eq!(interrupted["overall_status"], "interrupted");
    assert_eq!(interrupted["steps"][0]["status"], "success");
    assert_eq!(interrupted["steps"][4]["status"], "interrupted");
    assert!(
        interrupted["steps"][4]["error_message"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    assert_eq!(interrupted["steps"][5]["status"], "pending");
    // Nothing half-written passes for a finished output: the killed step left no model.
    assert_eq!(latest_report(dir.path())["overall_status"], "success");
}

fn latest_run_id(dir: &std::path::Path) -> String {
    let runs = std::fs::read_dir(dir.join("logs/runs")).unwrap();
    runs.filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .unwrap()
}

/// Unmounts a test file system when the test ends, pass or fail.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_workdir_on_a_nearly_full_disk_fails_with_the_free_space_message() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount a 2 MB tmpfs here (needs root)");
        return;
    }
    let _unmount = Mounted(small.clone());
    let out = run_tiny(&small, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("not enough free space") && all.contains("14 scenes"),
        "{all}"
    );
    assert!(all.contains("MB needed") || all.contains("needed"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    let report = latest_report(&small);
    assert_eq!(report["steps"][0]["status"], "failed");
    let scenes = std::fs::read_dir(small.join("data/scenes"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(scenes, 0, "nothing was written before the check");
}
