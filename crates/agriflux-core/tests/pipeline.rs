//! Engine integration: the runner drives steps in order and reports every outcome, through the
//! library alone (no CLI), on temporary work directories.

use std::collections::BTreeMap;
use std::sync::Mutex;

use agriflux_core::pipeline::{
    CancelToken, RunEvent, RunOptions, Step, StepContext, StepError, StepId, StepOutput,
    StepStatus, WorkDir, run_pipeline,
};
use agriflux_core::settings::{Settings, SettingsResolver, SourceKind};
use agriflux_core::steps::standard_steps;

fn tiny_settings(extra: &[(&str, &str)]) -> Settings {
    let mut flags: BTreeMap<String, String> = [
        ("bbox", "75.80,30.90,75.827,30.918"),
        ("start", "2025-01-01"),
        ("end", "2025-12-31"),
        ("target-count", "14"),
        ("min-valid-dates", "10"),
        ("sequence-length", "5"),
        ("samples-per-class", "8"),
        ("cnn-epochs", "1"),
        ("lstm-epochs", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        flags.insert(k.to_string(), v.to_string());
    }
    let env = BTreeMap::new();
    SettingsResolver::new(&env, "/nonexistent/.env".into(), &flags)
        .resolve(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .unwrap()
}

/// Collects events for inspection.
#[derive(Default)]
struct Recorder(Mutex<Vec<RunEvent>>);

impl agriflux_core::pipeline::EventSink for Recorder {
    fn emit(&self, event: &RunEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

/// A test-only step standing in for a step with a bug.
struct Panicking(StepId);

impl Step for Panicking {
    fn id(&self) -> StepId {
        self.0.clone()
    }
    fn run(&self, _ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        panic!("index out of bounds in a test step")
    }
}

/// A test-only step that succeeds at once.
struct Instant(StepId);

impl Step for Instant {
    fn id(&self) -> StepId {
        self.0.clone()
    }
    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        ctx.progress(1, 1, "things", "done");
        Ok(StepOutput::new())
    }
}

/// A test-only step that never finishes on its own; it only notices cancellation.
struct Hanging(StepId);

impl Step for Hanging {
    fn id(&self) -> StepId {
        self.0.clone()
    }
    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        loop {
            ctx.check_cancel()?;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[test]
fn a_hanging_step_fails_when_it_passes_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<Box<dyn Step>> = vec![
        Box::new(Instant(StepId::Download)),
        Box::new(Hanging(StepId::Validate)),
        Box::new(Instant(StepId::CnnDataset)),
    ];
    let settings = tiny_settings(&[("validate-timeout", "1")]);
    assert_eq!(settings.step_timeouts_s["validate"], 1);
    let outcome = run_pipeline(
        &steps,
        &settings,
        &RunOptions::default(),
        &WorkDir::new(dir.path()),
        &Recorder::default(),
        CancelToken::new(),
    )
    .unwrap();
    let report = &outcome.report;
    assert_eq!(report.overall_status, StepStatus::Failed);
    assert_eq!(report.steps[1].status, StepStatus::Failed);
    let message = report.steps[1].error_message.as_deref().unwrap();
    assert!(
        message.contains("timed out after 1 s") && message.contains("AGRIFLUX_VALIDATE_TIMEOUT"),
        "{message}"
    );
    assert_eq!(report.steps[2].status, StepStatus::Pending);
}

#[test]
fn timeouts_have_generous_defaults_and_reject_bad_values() {
    let settings = tiny_settings(&[]);
    assert!(settings.step_timeouts_s["train_cnn"] >= 3600);
    let env = BTreeMap::from([("AGRIFLUX_TRAIN_CNN_TIMEOUT".to_string(), "soon".to_string())]);
    let err = SettingsResolver::new(&env, "/w/.env".into(), &BTreeMap::new())
        .resolve(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("AGRIFLUX_TRAIN_CNN_TIMEOUT"), "{err}");
}

#[test]
fn whole_pipeline_emits_ordered_events_and_live_training_curves() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(dir.path());
    let recorder = Recorder::default();
    let outcome = run_pipeline(
        &standard_steps(),
        &tiny_settings(&[]),
        &RunOptions::default(),
        &workdir,
        &recorder,
        CancelToken::new(),
    )
    .unwrap();
    assert_eq!(
        outcome.report.overall_status,
        StepStatus::Success,
        "{:#?}",
        outcome.report.steps
    );
    let events = recorder.0.into_inner().unwrap();
    assert!(
        matches!(events.first(), Some(RunEvent::RunStarted { source, .. }) if *source == SourceKind::Simulated)
    );
    assert!(matches!(
        events.last(),
        Some(RunEvent::RunFinished {
            status: StepStatus::Success,
            ..
        })
    ));
    let started: Vec<StepId> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepStarted { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started, StepId::ALL.to_vec());
    for series in [
        "real/train_loss",
        "real/val_loss",
        "real/val_accuracy",
        // Step 7 trains two models: each has curves of its own.
        "synthetic_cnn/val_accuracy",
        "synthetic_lstm/val_mae",
    ] {
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RunEvent::StepMetric { series: s, .. } if s == series)),
            "no {series} points"
        );
    }
    assert!(events.iter().any(|e| matches!(e, RunEvent::StepProgress { step: StepId::TrainCnn, unit, .. } if unit == "epochs")));
    assert!(outcome.report_path.exists());
}

#[test]
fn a_panicking_step_fails_with_its_message_and_later_steps_stay_pending() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<Box<dyn Step>> = vec![
        Box::new(Instant(StepId::Download)),
        Box::new(Panicking(StepId::Validate)),
        Box::new(Instant(StepId::CnnDataset)),
    ];
    let outcome = run_pipeline(
        &steps,
        &tiny_settings(&[]),
        &RunOptions::default(),
        &WorkDir::new(dir.path()),
        &Recorder::default(),
        CancelToken::new(),
    )
    .unwrap();
    let report = &outcome.report;
    assert_eq!(report.overall_status, StepStatus::Failed);
    assert_eq!(report.steps[0].status, StepStatus::Success);
    assert_eq!(report.steps[1].status, StepStatus::Failed);
    let message = report.steps[1].error_message.as_deref().unwrap();
    assert!(
        message.contains("validate") && message.contains("index out of bounds"),
        "{message}"
    );
    assert_eq!(report.steps[2].status, StepStatus::Pending);
    assert!(
        outcome.report_path.exists(),
        "the report is written after a panic"
    );
}

#[test]
fn skip_flags_mark_steps_skipped_without_running_them() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<Box<dyn Step>> = vec![
        Box::new(Panicking(StepId::Download)),
        Box::new(Panicking(StepId::Validate)),
        Box::new(Instant(StepId::CnnDataset)),
    ];
    let settings = tiny_settings(&[("skip-download", "true"), ("skip-validation", "true")]);
    let outcome = run_pipeline(
        &steps,
        &settings,
        &RunOptions::default(),
        &WorkDir::new(dir.path()),
        &Recorder::default(),
        CancelToken::new(),
    )
    .unwrap();
    let statuses: Vec<_> = outcome.report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            StepStatus::Skipped,
            StepStatus::Skipped,
            StepStatus::Success
        ]
    );
    assert_eq!(outcome.report.summary_statistics.skipped_steps, 2);
    assert_eq!(outcome.report.overall_status, StepStatus::Success);
}

#[test]
fn a_cancelled_run_stops_before_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let steps: Vec<Box<dyn Step>> = vec![Box::new(Instant(StepId::Download))];
    let outcome = run_pipeline(
        &steps,
        &tiny_settings(&[]),
        &RunOptions::default(),
        &WorkDir::new(dir.path()),
        &Recorder::default(),
        cancel,
    )
    .unwrap();
    assert_eq!(outcome.report.overall_status, StepStatus::Cancelled);
    assert_eq!(outcome.report.steps[0].status, StepStatus::Pending);
}

const SECRET: &str = "Pq7-step-s3cr3t-value";

/// A step with a bug that panics with everything it knows in the message.
struct PanickingWithSettings(StepId);

impl Step for PanickingWithSettings {
    fn id(&self) -> StepId {
        self.0.clone()
    }
    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        panic!("unexpected settings: {:?}", ctx.settings)
    }
}

#[test]
fn a_panic_or_a_broken_env_in_step_8_never_puts_the_secret_in_reports_events_or_html() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(dir.path());
    let env: BTreeMap<String, String> = [
        ("SENTINEL_HUB_CLIENT_ID", "step-id"),
        ("SENTINEL_HUB_CLIENT_SECRET", SECRET),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut settings = SettingsResolver::new(&env, workdir.env_file(), &BTreeMap::new())
        .resolve(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .unwrap();
    // Past the gate (no models were trained here), so that step 8 reads `.env`.
    settings.enable_models = agriflux_core::evaluation::EnableModels::Always;
    let recorder = Recorder::default();
    let panicking: Vec<Box<dyn Step>> = vec![Box::new(PanickingWithSettings(StepId::Download))];
    let first = run_pipeline(
        &panicking,
        &settings,
        &RunOptions::default(),
        &workdir,
        &recorder,
        CancelToken::new(),
    )
    .unwrap();
    assert_eq!(first.report.steps[0].status, StepStatus::Failed);
    // Step 8 finds `.env` broken on the secret's line (edited by hand during the run).
    std::fs::write(
        workdir.env_file(),
        format!("SENTINEL_HUB_CLIENT_ID=step-id\nSENTINEL_HUB_CLIENT_SECRET=\"{SECRET}\n"),
    )
    .unwrap();
    let update_env: Vec<Box<dyn Step>> = standard_steps()
        .into_iter()
        .filter(|s| s.id() == StepId::UpdateEnv)
        .collect();
    let second = run_pipeline(
        &update_env,
        &settings,
        &RunOptions::default(),
        &workdir,
        &recorder,
        CancelToken::new(),
    )
    .unwrap();
    let message = second.report.steps[0].error_message.clone().unwrap();
    assert!(
        message.contains("line 2") && message.contains("SENTINEL_HUB_CLIENT_SECRET"),
        "{message}"
    );
    for outcome in [&first, &second] {
        let name = outcome.report_path.file_name().unwrap().to_str().unwrap();
        agriflux_core::history::export_html(&workdir, name).unwrap();
    }
    let events = format!("{:?}", recorder.0.lock().unwrap());
    assert!(!events.contains("s3cr3t"), "secret in the events");
    let mut stack = vec![dir.path().to_path_buf()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path != workdir.env_file() {
                seen += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(!text.contains("s3cr3t"), "secret in {}", path.display());
            }
        }
    }
    // Two reports, two event logs, two HTML exports at least.
    assert!(seen >= 6, "{seen} files checked");
}
