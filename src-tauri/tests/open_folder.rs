//! "Open folder" hands the folder to the desktop's opener and leaves no child process behind.
//! A test binary of its own: it puts a stand-in `xdg-open` first on PATH, which no other test
//! may see change under it.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::json;

mod support;
use support::{app, invoke};

/// Children of this process that have exited and were never waited for.
fn zombie_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 1 && fields[0] == "Z" && fields[1] == me {
            zombies.push(stat.trim().to_string());
        }
    }
    zombies
}

#[test]
fn opening_a_folder_leaves_no_zombie_process() {
    // The check sees an unreaped child (what spawning `xdg-open` and never waiting left).
    let mut child = std::process::Command::new("/bin/true").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while zombie_children().is_empty() {
        assert!(Instant::now() < deadline, "an unreaped child never showed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait().unwrap();
    assert_eq!(zombie_children(), Vec::<String>::new());

    let work = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{0}.part' && mv '{0}.part' '{0}'\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: this binary's only test, set before the app starts any thread of its own.
    unsafe { std::env::set_var("PATH", path) };

    let (_app, window) = app(work.path());
    invoke(&window, "open_folder", json!({"folder": "reports"})).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while !opened.exists() {
        assert!(Instant::now() < deadline, "the opener was never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let target = std::fs::read_to_string(&opened).unwrap();
    assert!(target.ends_with("reports"), "opened {target}");
    // Time for an unreaped opener to show up as a zombie.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(zombie_children(), Vec::<String>::new());
}
