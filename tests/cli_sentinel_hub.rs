//! The real `agriflux` binary against the Sentinel Hub emulator: a full run on the real
//! Bouconne sample, resume after SIGKILL mid-download, a truncated image failing step 1, and
//! `check-connection`'s message for each failure. The client secret must never leak.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::{CLIENT_ID, CLIENT_SECRET, Compression, Emulator, Fault, Samples, run_args};
use agriflux_core::raster::geotiff::{RasterData, read_geotiff};
use agriflux_tests::{agriflux, latest_report, snapshot, text};

fn workdir_for(emu: &Emulator, id: &str, secret: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), emu.env_text(id, secret)).unwrap();
    dir
}

fn run(dir: &Path, samples: &Samples) -> Output {
    let args = run_args(dir, samples);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    agriflux(&args).output().unwrap()
}

/// Fails if the secret appears in the outputs or any file of `dir` other than `.env`.
fn assert_secret_nowhere(dir: &Path, outputs: &[&Output]) {
    let encoded = agriflux_core::sentinel_hub::redact::form_encode(CLIENT_SECRET);
    for out in outputs {
        assert!(!text(out).contains(CLIENT_SECRET), "secret in output");
        assert!(!text(out).contains(&encoded), "encoded secret in output");
    }
    for (path, bytes) in snapshot(dir) {
        if path == Path::new(".env") {
            continue;
        }
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(CLIENT_SECRET) && !hay.contains(&encoded),
            "secret found in {}",
            path.display()
        );
    }
}

fn bouconne_or_skip(test: &str) -> Option<Samples> {
    let s = Samples::bouconne();
    if s.is_none() {
        println!("{test}: skipped: ../shared/data/real-s2/bouconne-2018 is absent");
    }
    s
}

#[test]
fn full_run_on_real_bouconne_reflectance_served_as_deflate_32946() {
    full_run_on_real_bouconne(Compression::default_mode());
}

#[test]
fn full_run_on_real_bouconne_reflectance_served_as_lzw_tiles() {
    full_run_on_real_bouconne(Compression::LzwTiled);
}

/// The whole pipeline against the emulator serving the real Bouconne sample in `compression`.
fn full_run_on_real_bouconne(compression: Compression) {
    let Some(samples) = bouconne_or_skip("full_run") else {
        return;
    };
    let emu = Emulator::start(Samples::bouconne().unwrap());
    emu.with(|s| {
        s.duplicates = true;
        s.compression = compression;
    });
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = run(dir.path(), &samples);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = latest_report(dir.path());
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 8);
    for step in &steps[..7] {
        assert_eq!(step["status"], "success", "{step}");
    }
    // Real data: the gate decides on the figures, and says why either way.
    let gate = &report["summary_statistics"]["model_gate"];
    let reason = gate["reason"].as_str().unwrap_or_default();
    assert!(!reason.contains("simulated"), "{gate}");
    match steps[7]["status"].as_str() {
        Some("success") => assert_eq!(gate["enable"], true, "{gate}"),
        Some("skipped") => assert!(reason.starts_with("held back"), "{gate}"),
        other => panic!("step 8 ended {other:?}"),
    }
    let download = &steps[0]["output_summary"];
    assert_eq!(download["source"], "sentinel-hub", "{download}");
    assert_eq!(download["downloaded"], 7, "{download}");
    assert_eq!(download["processing_units"], 7.0 * 1.25, "{download}");
    // The estimate for 7 dates of the sample's grid with 5 input bands, next to the spent PU.
    let px = (samples.width * samples.height) as f64;
    let pu_per_date = px / (512.0 * 512.0) * 5.0 / 3.0;
    let estimate = download["pu_estimate"].as_f64().unwrap();
    assert!(
        (estimate / (7.0 * pu_per_date) - 1.0).abs() < 0.02,
        "{download}"
    );
    assert_eq!(download["requests_estimate"], 1 + 7 + 1, "{download}");
    assert_eq!(
        emu.counts(),
        (1, 1, 7),
        "one token, one catalog page, 7 images"
    );
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
    // The downloaded reflectance is the served data within DN rounding.
    for (t, date) in samples.dates.iter().enumerate() {
        let scene = dir.path().join("data/scenes").join(date);
        let raster = read_geotiff(&scene.join("bands.tif")).unwrap();
        assert_eq!(
            (raster.width, raster.height),
            (samples.width, samples.height)
        );
        let RasterData::F32(values) = &raster.data else {
            panic!("float32 bands")
        };
        for (i, got) in values.iter().enumerate() {
            let (px, b) = (i / 4, i % 4);
            let served = samples.value(t, px / samples.width, px % samples.width, b);
            if served.is_nan() {
                assert!(got.is_nan(), "{date} sample {i}");
            } else {
                assert!(
                    (got - served).abs() <= 1e-4,
                    "{date} sample {i}: {got} vs {served}"
                );
            }
        }
        let meta = std::fs::read_to_string(scene.join("metadata.json")).unwrap();
        assert!(meta.contains("sentinel-hub"), "{meta}");
    }
    assert_secret_nowhere(dir.path(), &[&out]);
}

#[test]
fn killed_mid_download_resumes_with_only_the_missing_dates() {
    let Some(samples) = bouconne_or_skip("resume") else {
        return;
    };
    let emu = Emulator::start(Samples::bouconne().unwrap());
    emu.with(|s| s.stall_after = Some(3));
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let args = run_args(dir.path(), &samples);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = agriflux(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let scenes = dir.path().join("data/scenes");
    let complete = || {
        samples
            .dates
            .iter()
            .filter(|d| scenes.join(d).join("metadata.json").exists())
            .count()
    };
    let start = Instant::now();
    while complete() < 3 || emu.counts().2 < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "download never stalled"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(complete(), 3);
    emu.with(|s| {
        s.stall_after = None;
        s.released = true;
        s.process_requests = 0;
    });
    let out = run(dir.path(), &samples);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        emu.counts().2,
        4,
        "only the 4 missing dates are fetched again"
    );
    let download = &latest_report(dir.path())["steps"][0]["output_summary"];
    assert_eq!(download["downloaded"], 4, "{download}");
    assert_eq!(download["reused"], 3, "{download}");
}

#[test]
fn truncated_image_fails_the_download_step_clearly() {
    let samples = Samples::best();
    let emu = Emulator::start(Samples::best());
    for _ in 0..7 {
        emu.push_fault("process", Fault::Truncated);
    }
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = run(dir.path(), &samples);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = latest_report(dir.path());
    assert_eq!(report["steps"][0]["status"], "failed");
    let msg = report["steps"][0]["error_message"].to_string();
    assert!(msg.contains("not a valid image"), "{msg}");
    // No half-written scene looks complete.
    for d in &samples.dates {
        assert!(
            !dir.path()
                .join("data/scenes")
                .join(d)
                .join("metadata.json")
                .exists()
        );
    }
    assert_secret_nowhere(dir.path(), &[&out]);
}

fn check(dir: &Path) -> Output {
    agriflux(&["check-connection", "--workdir", dir.to_str().unwrap()])
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_connection_succeeds_and_names_each_failure() {
    let emu = Emulator::start(Samples::synthetic());
    let mut outputs = Vec::new();

    let ok_dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = check(ok_dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("connection OK"), "{}", text(&out));
    assert_eq!(emu.counts(), (1, 1, 0));
    outputs.push(out);

    let dir = workdir_for(&emu, CLIENT_ID, "not-the-secret");
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("wrong secret") && e.contains("Invalid client secret"),
        "{e}"
    );
    assert!(!e.contains("not-the-secret"), "{e}");
    outputs.push(out);

    let dir = workdir_for(&emu, "sh-0f1e2d3c-cdse-client", CLIENT_SECRET);
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("wrong deployment for these credentials"), "{e}");
    assert!(
        e.contains("Commercial Sentinel Hub and Copernicus Data Space credentials do not cross"),
        "{e}"
    );
    outputs.push(out);

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "SENTINEL_HUB_CLIENT_ID={CLIENT_ID}\nSENTINEL_HUB_CLIENT_SECRET={CLIENT_SECRET}\nSENTINEL_HUB_BASE_URL=http://127.0.0.1:{port}\nSENTINEL_HUB_TOKEN_URL=http://127.0.0.1:{port}/token\n"
        ),
    )
    .unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("unreachable host") && e.contains("cannot reach"),
        "{e}"
    );
    outputs.push(out);

    emu.push_fault("token", Fault::RateLimit(5000));
    let out = check(ok_dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("rate limited") && e.contains("429"), "{e}");
    outputs.push(out);

    emu.push_fault(
        "catalog",
        Fault::Status(
            403,
            r#"{"error":{"status":403,"message":"Your account has expired"}}"#.into(),
        ),
    );
    let out = check(ok_dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("access denied") && e.contains("Your account has expired"),
        "{e}"
    );
    outputs.push(out);

    for _ in 0..2 {
        emu.push_fault(
            "catalog",
            Fault::Status(
                500,
                r#"{"error":{"status":500,"message":"Catalog backend down"}}"#.into(),
            ),
        );
    }
    let out = check(ok_dir.path());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("HTTP 500") && e.contains("Catalog backend down"),
        "{e}"
    );
    outputs.push(out);

    let refs: Vec<&Output> = outputs.iter().collect();
    assert_secret_nowhere(ok_dir.path(), &refs);
}

#[test]
fn check_connection_against_endless_429_ends_by_itself_rate_limited() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| s.rate_limit_forever = Some(Some("0".into())));
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let e = stderr(&out);
    assert!(e.contains("rate limited"), "{e}");
    let (tokens, catalog, process) = emu.counts();
    assert!(
        tokens <= 6 && catalog == 0 && process == 0,
        "{:?}",
        emu.counts()
    );
}

#[test]
fn check_connection_with_an_echoing_token_service_shows_no_secret() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| s.echo_token_body = true);
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("connection failed"), "{}", text(&out));
    assert_secret_nowhere(dir.path(), &[&out]);
}

#[test]
fn check_connection_refuses_plain_http_to_a_remote_host() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "SENTINEL_HUB_CLIENT_ID={CLIENT_ID}\nSENTINEL_HUB_CLIENT_SECRET={CLIENT_SECRET}\nSENTINEL_HUB_BASE_URL=https://sh.example.com\nSENTINEL_HUB_TOKEN_URL=http://identity.example.com/token\n"
        ),
    )
    .unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let e = stderr(&out);
    assert!(
        e.contains("SENTINEL_HUB_TOKEN_URL") && e.contains("https://") && e.contains("loopback"),
        "{e}"
    );
}

#[test]
fn exhausted_quota_keeps_downloaded_dates_and_a_rerun_fetches_only_the_rest() {
    let samples = Samples::best();
    let emu = Emulator::start(Samples::best());
    emu.with(|s| s.quota_images = Some(3));
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let out = run(dir.path(), &samples);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = latest_report(dir.path());
    assert_eq!(report["steps"][0]["status"], "failed");
    let msg = report["steps"][0]["error_message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "the processing-unit quota of this account is used up for this month ({})",
            crate::emulator::QUOTA_MESSAGE
        )),
        "{msg}"
    );
    let scenes = dir.path().join("data/scenes");
    let kept: Vec<&String> = samples
        .dates
        .iter()
        .filter(|d| scenes.join(d).join("metadata.json").exists())
        .collect();
    assert_eq!(kept.len(), 3, "every served date is kept: {kept:?}");
    // The quota resets: only the missing dates are fetched.
    emu.with(|s| {
        s.quota_images = None;
        s.process_requests = 0;
    });
    let out = run(dir.path(), &samples);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(emu.counts().2, samples.dates.len() - 3);
    let download = &latest_report(dir.path())["steps"][0]["output_summary"];
    assert_eq!(download["reused"], 3, "{download}");
    assert_secret_nowhere(dir.path(), &[&out]);
}

#[test]
fn plan_shows_the_cost_and_a_smaller_budget_refuses_the_run_before_any_request() {
    let samples = Samples::best();
    let emu = Emulator::start(Samples::best());
    let dir = workdir_for(&emu, CLIENT_ID, CLIENT_SECRET);
    let mut args = run_args(dir.path(), &samples);
    args[0] = "plan".into();
    let plan_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = agriflux(&plan_args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Sentinel Hub cost: about"),
        "{}",
        text(&out)
    );
    let mut json_args = plan_args.clone();
    json_args.push("--json");
    let out = agriflux(&json_args).output().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cost = &plan[0]["cost"];
    assert_eq!(cost["dates"], 7, "{cost}");
    assert_eq!(cost["requests"], 1 + 7 + 1, "{cost}");
    let pu = cost["processing_units"].as_f64().unwrap();
    assert!(pu > 0.0, "{cost}");
    assert!(
        plan[1].get("cost").is_none(),
        "only the download step has a cost"
    );

    let mut run_args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_args[0] = "run";
    let budget = (pu / 2.0).floor().max(1.0).to_string();
    assert!(pu > 1.0, "{cost}");
    run_args.extend(["--pu-budget", budget.as_str()]);
    let out = agriflux(&run_args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = latest_report(dir.path())["steps"][0]["error_message"].to_string();
    assert!(
        msg.contains("exceeds the budget") && msg.contains(&format!("{budget} PU")),
        "{msg}"
    );
    assert_eq!(emu.counts(), (0, 0, 0), "nothing was requested");
}
