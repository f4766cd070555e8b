//! The Sentinel Hub client secret never leaks: every failure path the real `agriflux` binary
//! has with a secret configured — broken `.env` shapes, HTTP 401/403/429/5xx answers, a token
//! service that echoes the request — leaves the secret out of the console, the logs, the run
//! reports, the event logs, the fingerprints and the exported HTML.
//! (A panic inside a step is covered at library level, in agriflux-core's tests/pipeline.rs.)

use std::path::Path;
use std::process::Output;

use crate::emulator::{CLIENT_ID, CLIENT_SECRET, Emulator, Fault, Samples};
use agriflux_core::pipeline::WorkDir;
use agriflux_tests::{agriflux, run_tiny, snapshot, text};

/// The secret as the token request sends it (form-encoded), which an echo would carry.
const SECRET_FORM_ENCODED: &str = "Zx9-s3cr3t%26value%2B%2F%3D%25emul";

/// Fails if any form of the secret is in `outputs` or in any file of `dir` but `.env` (the
/// exported HTML of every run report included: it is written first).
fn assert_secret_nowhere(dir: &Path, outputs: &[&Output]) {
    let workdir = WorkDir::new(dir);
    for run in agriflux_core::history::list_runs(&workdir).unwrap() {
        agriflux_core::history::export_html(&workdir, &run.report_file).unwrap();
    }
    let forms = [CLIENT_SECRET, SECRET_FORM_ENCODED, "s3cr3t"];
    for out in outputs {
        let all = text(out);
        for form in forms {
            assert!(!all.contains(form), "secret ({form}) in output:\n{all}");
        }
    }
    let files = snapshot(dir);
    for (path, bytes) in &files {
        if path == Path::new(".env") {
            continue;
        }
        let hay = String::from_utf8_lossy(bytes);
        for form in forms {
            assert!(
                !hay.contains(form),
                "secret ({form}) found in {}",
                path.display()
            );
        }
    }
}

fn check(dir: &Path) -> Output {
    agriflux(&["check-connection", "--workdir", dir.to_str().unwrap()])
        .output()
        .unwrap()
}

fn run_sentinel_hub(dir: &Path, samples: &Samples) -> Output {
    let args = crate::emulator::run_args(dir, samples);
    agriflux(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap()
}

#[test]
fn broken_env_files_name_the_line_and_key_but_never_the_secret() {
    let shapes = [
        (
            "unclosed quote",
            format!(
                "A=1\nSENTINEL_HUB_CLIENT_SECRET=\"{CLIENT_SECRET}\nSENTINEL_HUB_CLIENT_ID={CLIENT_ID}\n"
            ),
            "line 2",
        ),
        (
            "value with a space",
            format!(
                "SENTINEL_HUB_CLIENT_ID={CLIENT_ID}\nSENTINEL_HUB_CLIENT_SECRET={CLIENT_SECRET} copied too much\n"
            ),
            "line 2",
        ),
        (
            "unknown escape",
            format!("# settings\n\nSENTINEL_HUB_CLIENT_SECRET={CLIENT_SECRET}\\q\n"),
            "line 3",
        ),
        (
            "unclosed single quote",
            format!("SENTINEL_HUB_CLIENT_SECRET='{CLIENT_SECRET}\n"),
            "line 1",
        ),
    ];
    for (shape, env, line) in shapes {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), &env).unwrap();
        let run = run_tiny(dir.path(), &[]);
        let checked = check(dir.path());
        for out in [&run, &checked] {
            assert_ne!(out.status.code(), Some(0), "{shape}: {}", text(out));
            let all = text(out);
            assert!(
                all.contains(".env")
                    && all.contains(line)
                    && all.contains("SENTINEL_HUB_CLIENT_SECRET"),
                "{shape}: {all}"
            );
        }
        assert_secret_nowhere(dir.path(), &[&run, &checked]);
    }
}

#[test]
fn an_env_file_with_a_byte_order_mark_is_read() {
    let emu = Emulator::start(Samples::synthetic());
    let dir = tempfile::tempdir().unwrap();
    let env = format!("\u{feff}{}", emu.env_text(CLIENT_ID, CLIENT_SECRET));
    std::fs::write(dir.path().join(".env"), env).unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_secret_nowhere(dir.path(), &[&out]);
}

#[test]
fn http_failures_never_leak_the_secret() {
    let samples = Samples::synthetic();
    let emu = Emulator::start(Samples::synthetic());
    let faults: Vec<(&'static str, Fault)> = vec![
        (
            "token",
            Fault::Status(
                401,
                r#"{"error":"invalid_client","error_description":"Invalid client secret"}"#.into(),
            ),
        ),
        (
            "catalog",
            Fault::Status(
                403,
                r#"{"error":{"status":403,"message":"Forbidden"}}"#.into(),
            ),
        ),
        ("token", Fault::RateLimit(60_000)),
        (
            "process",
            Fault::Status(503, r#"{"error":{"status":503,"message":"down"}}"#.into()),
        ),
    ];
    for (endpoint, fault) in faults {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            emu.env_text(CLIENT_ID, CLIENT_SECRET),
        )
        .unwrap();
        // Queued for both commands (and the retries of a 5xx).
        for _ in 0..8 {
            emu.push_fault(endpoint, fault.clone());
        }
        let checked = check(dir.path());
        let run = run_sentinel_hub(dir.path(), &samples);
        emu.with(|s| s.faults.clear());
        assert_ne!(
            run.status.code(),
            Some(0),
            "{endpoint} {fault:?}: {}",
            text(&run)
        );
        assert_secret_nowhere(dir.path(), &[&checked, &run]);
    }
}

/// A token service (or a proxy before it) that echoes the form it got, secret included, in
/// its error: the client must not pass the body on unredacted.
#[test]
fn a_token_service_echoing_the_request_never_leaks_the_secret() {
    let samples = Samples::synthetic();
    let emu = Emulator::start(Samples::synthetic());
    let echo = format!(
        r#"{{"error":"invalid_request","error_description":"cannot parse grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET_FORM_ENCODED} (raw {CLIENT_SECRET})"}}"#
    );
    for status in [400, 401, 500] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            emu.env_text(CLIENT_ID, CLIENT_SECRET),
        )
        .unwrap();
        for _ in 0..8 {
            emu.push_fault("token", Fault::Status(status, echo.clone()));
        }
        let checked = check(dir.path());
        let run = run_sentinel_hub(dir.path(), &samples);
        emu.with(|s| s.faults.clear());
        assert_secret_nowhere(dir.path(), &[&checked, &run]);
    }
}
