//! One run per work directory, by the kernel's lock: two `agriflux run` started together in
//! one directory give exactly one run, also when each is in its own PID namespace (where both
//! are PID 1, so no PID says anything about the other).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use agriflux_tests::{TINY, agriflux, agriflux_bin, text};

/// The run folders (`logs/runs/<id>`) of a work directory.
fn runs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("logs/runs"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn run_args(dir: &Path) -> Vec<String> {
    let mut args = vec!["run".to_string(), "--workdir".into()];
    args.push(dir.to_str().unwrap().into());
    args.extend(TINY.iter().map(|s| s.to_string()));
    args
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

/// Of the two outputs, exactly one ran (exit 0) and the other was turned away by the lock.
fn assert_exactly_one_ran(dir: &Path, outputs: &[Output]) {
    let ran = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    let all: String = outputs.iter().map(text).collect::<Vec<_>>().join("\n");
    assert_eq!(ran, 1, "{all}");
    let refused = outputs.iter().find(|o| o.status.code() != Some(0)).unwrap();
    assert!(
        text(refused).contains("another run is going"),
        "{}",
        text(refused)
    );
    assert_eq!(runs(dir).len(), 1, "{:?}\n{all}", runs(dir));
}

#[test]
fn two_runs_started_together_in_one_directory_give_exactly_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = run_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let children = [spawn(agriflux(&args)), spawn(agriflux(&args))];
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert_exactly_one_ran(dir.path(), &outputs);
}

/// Whether this machine lets us make PID namespaces (root, or a kernel allowing it).
fn unshare_permitted() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn two_runs_in_separate_pid_namespaces_give_exactly_one_run() {
    if !unshare_permitted() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "unshare --pid --fork --mount-proc is not permitted here, and CI=true needs this test"
        );
        println!("skipped: unshare --pid --fork --mount-proc is not permitted (run as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let in_namespace = || {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc"])
            .arg(agriflux_bin())
            .args(run_args(dir.path()));
        for (key, _) in std::env::vars() {
            if key.starts_with("AGRIFLUX_") || key.starts_with("SENTINEL_HUB_") {
                cmd.env_remove(key);
            }
        }
        spawn(cmd)
    };
    let children = [in_namespace(), in_namespace()];
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert_exactly_one_ran(dir.path(), &outputs);
    // Both were PID 1 in their namespace: the lock file's PID alone could not tell them apart.
    let lock = std::fs::read_to_string(dir.path().join("logs/run.lock")).unwrap();
    assert!(lock.is_empty(), "a clean end empties the lock file: {lock}");
}
