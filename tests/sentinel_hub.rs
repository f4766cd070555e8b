//! The Sentinel Hub client against the emulator, through the engine API: token reuse, paging
//! and duplicate collapsing, 429 / 5xx / 403 / 400 handling, truncated images, expired tokens,
//! the 2500 px limit, and reflectance equal to the served DN / 10000.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::{CLIENT_ID, CLIENT_SECRET, Emulator, Fault, Samples, bbox_for_grid};
use agriflux_core::pipeline::CancelToken;
use agriflux_core::sentinel_hub::{RetryPolicy, SentinelHubSource};
use agriflux_core::settings::{Bbox, DateRange, SentinelHubSettings, SettingsResolver};
use agriflux_core::source::{Acquisition, SceneSource};
use chrono::NaiveDate;

fn settings(emu: &Emulator, id: &str, secret: &str) -> SentinelHubSettings {
    let env: BTreeMap<String, String> = [
        ("SENTINEL_HUB_CLIENT_ID", id.to_string()),
        ("SENTINEL_HUB_CLIENT_SECRET", secret.to_string()),
        ("SENTINEL_HUB_BASE_URL", emu.base_url()),
        ("SENTINEL_HUB_TOKEN_URL", emu.token_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let flags = BTreeMap::new();
    SettingsResolver::new(&env, PathBuf::from(".env"), &flags)
        .resolve_sentinel_hub()
        .unwrap()
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        max_rate_wait: Duration::from_secs(10),
        ..RetryPolicy::default()
    }
}

fn source(emu: &Emulator, policy: RetryPolicy) -> SentinelHubSource {
    SentinelHubSource::new(&settings(emu, CLIENT_ID, CLIENT_SECRET), policy, ".env").unwrap()
}

fn parse_bbox(text: &str) -> Bbox {
    let v: Vec<f64> = text.split(',').map(|x| x.parse().unwrap()).collect();
    Bbox {
        min_lon: v[0],
        min_lat: v[1],
        max_lon: v[2],
        max_lat: v[3],
    }
}

/// An area whose 10 m grid is exactly the served cube's, so pixels map one to one.
fn area(samples: &Samples) -> Bbox {
    parse_bbox(&bbox_for_grid(1.2, 43.6, samples.width, samples.height))
}

fn year_2018() -> DateRange {
    DateRange {
        start: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2018, 12, 31).unwrap(),
    }
}

fn acq(date: &str) -> Acquisition {
    Acquisition {
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        cloud_cover: 3.5,
    }
}

fn first_date() -> Acquisition {
    acq("2018-04-29")
}

fn small_area() -> Bbox {
    parse_bbox(&bbox_for_grid(1.2, 43.6, 80, 70))
}

#[test]
fn search_follows_pages_and_collapses_duplicate_tiles() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| {
        s.duplicates = true;
        s.page_size = 3;
    });
    let src = source(&emu, fast_policy());
    let found = src
        .search(&small_area(), &year_2018(), 20.0, &CancelToken::new())
        .unwrap();
    let dates: Vec<String> = found.iter().map(|a| a.date.to_string()).collect();
    assert_eq!(
        dates,
        Samples::synthetic().dates,
        "one acquisition per UTC day"
    );
    assert!(
        found.iter().all(|a| a.cloud_cover == 3.5),
        "lowest tile cloud cover kept"
    );
    // 14 features in pages of 3: 5 pages, one token for all of them.
    assert_eq!(emu.counts(), (1, 5, 0));
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
    // The cloud filter is sent: below 5 % only the 3.5 % tiles remain (still 7 days).
    let found = src
        .search(&small_area(), &year_2018(), 3.0, &CancelToken::new())
        .unwrap();
    assert!(found.is_empty());
}

#[test]
fn every_date_with_one_token_and_reflectance_equal_to_served_dn() {
    let samples = Samples::best();
    let area = area(&samples);
    let emu = Emulator::start(Samples::best());
    let src = source(&emu, fast_policy());
    let found = src
        .search(&area, &year_2018(), 20.0, &CancelToken::new())
        .unwrap();
    assert_eq!(found.len(), samples.dates.len());
    for (t, a) in found.iter().enumerate() {
        let scene = src.fetch(a, &area).unwrap();
        assert_eq!((scene.width, scene.height), (samples.width, samples.height));
        for r in 0..scene.height {
            for c in 0..scene.width {
                for b in 0..4 {
                    let served = samples.value(t, r, c, b);
                    let got = scene.bands[(r * scene.width + c) * 4 + b];
                    if served.is_nan() {
                        assert!(got.is_nan(), "{} ({r},{c},{b}) should be NaN", a.date);
                        assert_eq!(scene.data_mask[r * scene.width + c], 0);
                    } else {
                        assert!(
                            (got - served).abs() <= 1e-4,
                            "{} ({r},{c},{b}): {got} vs {served}",
                            a.date
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        emu.counts(),
        (1, 1, samples.dates.len()),
        "one token for the run"
    );
    let pu = src.processing_units().unwrap();
    assert!(
        (pu - 1.25 * samples.dates.len() as f64).abs() < 1e-9,
        "{pu}"
    );
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[test]
fn retry_after_429_is_waited_for_and_shown() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault("process", Fault::RateLimit(800));
    let src = source(&emu, fast_policy());
    src.fetch(&first_date(), &small_area()).unwrap();
    let (answered_429, retried) = emu.with(|s| {
        let t429 = s
            .log
            .iter()
            .find(|(e, _, st)| e == "process" && *st == 429)
            .map(|x| x.1)
            .unwrap();
        let arrivals: Vec<_> = s.arrivals.iter().filter(|(e, _)| e == "process").collect();
        assert_eq!(arrivals.len(), 2);
        (t429, arrivals[1].1)
    });
    let gap = retried.duration_since(answered_429);
    assert!(gap >= Duration::from_millis(800), "retried after {gap:?}");
    let notices = src.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("rate limited, retrying in 0.8 s")),
        "{notices:?}"
    );
}

#[test]
fn rate_limit_waits_are_bounded() {
    let emu = Emulator::start(Samples::synthetic());
    for _ in 0..5 {
        emu.push_fault("process", Fault::RateLimit(400));
    }
    let policy = RetryPolicy {
        max_rate_wait: Duration::from_millis(1000),
        ..fast_policy()
    };
    let err = source(&emu, policy)
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate limited"), "{err}");
    assert!(err.contains("429"), "{err}");
    assert_eq!(
        emu.counts().2,
        3,
        "two waits of 0.4 s fit in 1 s, the third does not"
    );
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault(
        "process",
        Fault::Status(503, r#"{"error":{"status":503,"message":"busy"}}"#.into()),
    );
    emu.push_fault("process", Fault::Status(502, "Bad gateway".into()));
    let src = source(&emu, fast_policy());
    let scene = src.fetch(&first_date(), &small_area()).unwrap();
    assert_eq!((scene.width, scene.height), (80, 70));
    assert_eq!(emu.counts().2, 3);
    let notices = src.take_notices().join("\n");
    assert!(
        notices.contains("HTTP 503") && notices.contains("retrying"),
        "{notices}"
    );
}

#[test]
fn server_errors_give_up_after_bounded_attempts() {
    let emu = Emulator::start(Samples::synthetic());
    for _ in 0..10 {
        emu.push_fault(
            "process",
            Fault::Status(
                500,
                r#"{"error":{"status":500,"message":"internal"}}"#.into(),
            ),
        );
    }
    let err = source(&emu, fast_policy())
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 500") && err.contains("internal"),
        "{err}"
    );
    assert_eq!(emu.counts().2, 5, "5 attempts");
}

#[test]
fn forbidden_and_bad_request_fail_at_once_with_the_server_message() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault(
        "process",
        Fault::Status(
            403,
            r#"{"error":{"status":403,"reason":"Forbidden","message":"Insufficient processing units in your account","code":"INSUFFICIENT_PU"}}"#.into(),
        ),
    );
    let src = source(&emu, fast_policy());
    let err = src
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Insufficient processing units in your account"),
        "{err}"
    );
    assert!(err.contains("403"), "{err}");
    assert_eq!(emu.counts().2, 1, "no retry after 403");

    emu.push_fault(
        "process",
        Fault::Status(
            400,
            r#"{"error":{"status":400,"reason":"Bad Request","message":"Invalid bbox","code":"COMMON_BAD_PAYLOAD"}}"#.into(),
        ),
    );
    let err = src
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 400") && err.contains("Invalid bbox"),
        "{err}"
    );
    assert_eq!(emu.counts().2, 2, "no retry after 400");
}

#[test]
fn truncated_image_is_an_error_never_zeros() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault("process", Fault::Truncated);
    let err = source(&emu, fast_policy())
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bands.tif is not a valid image"), "{err}");
    assert!(err.contains("2018-04-29"), "{err}");
}

#[test]
fn expired_token_is_refreshed_once_then_reused() {
    let emu = Emulator::start(Samples::synthetic());
    let src = source(&emu, fast_policy());
    src.fetch(&first_date(), &small_area()).unwrap();
    emu.push_fault("process", Fault::ExpireToken);
    src.fetch(&acq("2018-05-13"), &small_area()).unwrap();
    src.fetch(&acq("2018-07-08"), &small_area()).unwrap();
    assert_eq!(
        emu.counts(),
        (2, 0, 4),
        "one refresh after the 401, then reused"
    );
}

#[test]
fn unauthorised_twice_fails_with_a_clear_message() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault("process", Fault::ExpireToken);
    emu.push_fault("process", Fault::ExpireToken);
    let err = source(&emu, fast_policy())
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && err.contains("fresh token"), "{err}");
    assert_eq!(emu.counts(), (2, 0, 2));
}

#[test]
fn area_over_2500_px_is_refused_naming_the_limit() {
    let emu = Emulator::start(Samples::synthetic());
    let big = parse_bbox(&bbox_for_grid(1.0, 43.0, 2600, 300));
    let err = source(&emu, fast_policy())
        .fetch(&first_date(), &big)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2500 px per side"), "{err}");
    assert_eq!(emu.counts(), (0, 0, 0), "nothing sent");
}

#[test]
fn missing_credentials_are_refused_before_any_request() {
    let emu = Emulator::start(Samples::synthetic());
    let err = SentinelHubSource::new(&settings(&emu, "", ""), fast_policy(), "/w/.env")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("SENTINEL_HUB_CLIENT_ID") && err.contains("/w/.env"),
        "{err}"
    );
}

/// Millisecond bounds for the abuse tests: the same logic as production, faster.
fn tight_policy() -> RetryPolicy {
    RetryPolicy {
        default_retry_after: Duration::from_millis(20),
        min_rate_wait: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(200),
        max_rate_wait: Duration::from_millis(800),
        max_requests: 8,
        ..fast_policy()
    }
}

#[test]
fn endless_429_with_retry_after_zero_ends_rate_limited_after_few_requests() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| s.rate_limit_forever = Some(Some("0".into())));
    let err = source(&emu, tight_policy())
        .fetch(&first_date(), &small_area())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate limited"), "{err}");
    let (tokens, _, _) = emu.counts();
    assert!(tokens <= 8, "{tokens} token requests for one call");
}

#[test]
fn a_429_without_retry_after_waits_a_growing_minimum() {
    let emu = Emulator::start(Samples::synthetic());
    for _ in 0..3 {
        emu.push_fault("process", Fault::RateLimitNoHeader);
    }
    let policy = RetryPolicy {
        max_rate_wait: Duration::from_secs(5),
        ..tight_policy()
    };
    source(&emu, policy)
        .fetch(&first_date(), &small_area())
        .unwrap();
    let arrivals: Vec<_> = emu.with(|s| {
        s.arrivals
            .iter()
            .filter(|(e, _)| e == "process")
            .map(|a| a.1)
            .collect()
    });
    assert_eq!(arrivals.len(), 4);
    // 20 ms, then 40 ms, then 80 ms at least (plus jitter): the wait doubles.
    for (i, min_ms) in [20u64, 40, 80].iter().enumerate() {
        let gap = arrivals[i + 1].duration_since(arrivals[i]);
        assert!(gap >= Duration::from_millis(*min_ms), "wait {i}: {gap:?}");
    }
}

#[test]
fn absurd_retry_after_values_are_clamped_not_panicked_on() {
    let emu = Emulator::start(Samples::synthetic());
    for v in ["1e300", "-5", "NaN", "inf", "soon", "18446744073709551616"] {
        emu.push_fault("process", Fault::RateLimitRaw(v.into()));
    }
    let policy = RetryPolicy {
        max_rate_wait: Duration::from_secs(5),
        max_requests: 10,
        ..tight_policy()
    };
    let scene = source(&emu, policy)
        .fetch(&first_date(), &small_area())
        .unwrap();
    assert_eq!((scene.width, scene.height), (80, 70));
    assert_eq!(emu.counts().2, 7);
}

#[test]
fn absurd_expires_in_values_are_clamped_not_panicked_on() {
    for v in [
        serde_json::json!(1e300),
        serde_json::json!(-1),
        serde_json::json!(0),
        serde_json::json!("NaN"),
        serde_json::json!(f64::MAX),
        serde_json::json!(null),
    ] {
        let emu = Emulator::start(Samples::synthetic());
        emu.with(|s| s.expires_in_override = Some(v.clone()));
        let src = source(&emu, fast_policy());
        src.fetch(&first_date(), &small_area()).unwrap();
        src.fetch(&acq("2018-05-13"), &small_area()).unwrap();
        assert_eq!(emu.counts(), (1, 0, 2), "expires_in {v}: token reused");
    }
}

#[test]
fn an_echoing_token_service_never_shows_the_secret() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| s.echo_token_body = true);
    let src = source(&emu, fast_policy());
    let err = src.fetch(&first_date(), &small_area()).unwrap_err();
    let shown = format!("{err} {err:?} {:?}", src.take_notices());
    let encoded = agriflux_core::sentinel_hub::redact::form_encode(CLIENT_SECRET);
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(!shown.contains(&encoded), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("HTTP 400"), "{shown}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let emu = Emulator::start(Samples::synthetic());
    let mut s = settings(&emu, CLIENT_ID, CLIENT_SECRET);
    s.token_url = "http://identity.example.com/token".into();
    let err = SentinelHubSource::new(&s, fast_policy(), ".env")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("SENTINEL_HUB_TOKEN_URL") && err.contains("https://"),
        "{err}"
    );
    let env: BTreeMap<String, String> = [
        ("SENTINEL_HUB_BASE_URL", "http://sh.example.com"),
        ("SENTINEL_HUB_TOKEN_URL", "https://sh.example.com/token"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let flags = BTreeMap::new();
    let err = SettingsResolver::new(&env, PathBuf::from("/w/.env"), &flags)
        .resolve_sentinel_hub()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SENTINEL_HUB_BASE_URL") && err.contains("https://"),
        "{err}"
    );
    assert_eq!(emu.counts(), (0, 0, 0));
}

#[test]
fn a_run_longer_than_the_token_lifetime_refreshes_once() {
    let emu = Emulator::start(Samples::synthetic());
    emu.with(|s| s.token_lifetime = Duration::from_secs(2));
    let policy = RetryPolicy {
        min_token_lifetime: Duration::from_millis(1),
        ..fast_policy()
    };
    let src = source(&emu, policy);
    src.fetch(&first_date(), &small_area()).unwrap();
    // Past the refresh point (half of the 2 s lifetime).
    std::thread::sleep(Duration::from_millis(1100));
    src.fetch(&acq("2018-05-13"), &small_area()).unwrap();
    src.fetch(&acq("2018-07-08"), &small_area()).unwrap();
    assert_eq!(emu.counts(), (2, 0, 3), "one refresh");
    assert_eq!(emu.answered("process", 401), 0, "refreshed before expiry");
}

#[test]
fn a_token_expiring_before_its_expires_in_is_refreshed_once_on_401_never_looping() {
    let emu = Emulator::start(Samples::synthetic());
    // The service says 1 s; the client believes at least 30 s (its default floor).
    emu.with(|s| s.token_lifetime = Duration::from_secs(1));
    let src = source(&emu, fast_policy());
    src.fetch(&first_date(), &small_area()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    src.fetch(&acq("2018-05-13"), &small_area()).unwrap();
    assert_eq!(emu.counts(), (2, 0, 3), "one 401, one refresh, one retry");
    assert_eq!(emu.answered("process", 401), 1);
}

#[test]
fn a_429_from_the_token_endpoint_is_waited_for() {
    let emu = Emulator::start(Samples::synthetic());
    emu.push_fault("token", Fault::RateLimitNoHeader);
    let src = source(&emu, tight_policy());
    src.fetch(&first_date(), &small_area()).unwrap();
    assert_eq!(emu.counts(), (2, 0, 1));
}

#[test]
fn an_exhausted_monthly_quota_says_so_and_is_not_retried() {
    for status in [403, 402] {
        let emu = Emulator::start(Samples::synthetic());
        emu.with(|s| {
            s.quota_images = Some(1);
            s.quota_status = status;
        });
        let src = source(&emu, fast_policy());
        src.fetch(&first_date(), &small_area()).unwrap();
        let err = src
            .fetch(&acq("2018-05-13"), &small_area())
            .unwrap_err()
            .to_string();
        let expected = format!(
            "the processing-unit quota of this account is used up for this month ({})",
            crate::emulator::QUOTA_MESSAGE
        );
        assert!(err.contains(&expected), "{status}: {err}");
        assert_eq!(emu.counts().2, 2, "{status}: not retried");
    }
}

/// The two members of a Process API answer.
fn process_members(emu: &Emulator) -> Vec<(String, Vec<u8>)> {
    use agriflux_core::sentinel_hub::process::{PROCESS_PATH, process_body};
    use std::io::Read;
    let src = source(emu, fast_policy());
    let body = process_body(&first_date(), &small_area(), 80, 70);
    let reply = src
        .client()
        .post_json(
            PROCESS_PATH,
            &body,
            "application/x-tar",
            &CancelToken::new(),
        )
        .unwrap();
    let mut archive = tar::Archive::new(&reply.body[..]);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn the_emulator_serves_gdal_compressed_tiffs_like_the_service() {
    use crate::emulator::{Compression, gdal_available, tiff_tag};
    if !gdal_available() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "GDAL (gdal_translate) is required when CI=true"
        );
        println!("skipped: gdal_translate is missing");
        return;
    }
    // (mode, Compression tag 259, Predictor tag 317, TileWidth tag 322)
    let cases = [
        (Compression::Deflate32946, 32946, Some(2), None),
        (Compression::LzwTiled, 5, Some(2), Some(256)),
        (Compression::None, 1, None, None),
    ];
    for (mode, code, predictor, tile) in cases {
        let emu = Emulator::start(Samples::synthetic());
        emu.with(|s| s.compression = mode);
        let members = process_members(&emu);
        assert_eq!(members.len(), 2);
        for (name, tif) in &members {
            assert_eq!(tiff_tag(tif, 259), Some(code), "{mode:?} {name}");
            assert_eq!(tiff_tag(tif, 317), predictor, "{mode:?} {name}");
            assert_eq!(tiff_tag(tif, 322), tile, "{mode:?} {name}");
            assert_eq!(tiff_tag(tif, 256), Some(80), "{mode:?} {name} width");
        }
    }
}
