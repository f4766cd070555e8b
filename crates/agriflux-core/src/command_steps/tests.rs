//! Command steps with small shell scripts: the progress protocol, failures, timeouts, Cancel
//! with a child process, large and broken output, the environment, and the pipeline file.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::spec::PipelineFileError;
use super::*;
use crate::pipeline::{CancelToken, EventSink, RunEvent};
use crate::settings::{SentinelHubSettings, SettingsResolver};

#[derive(Default)]
struct Recorder(Mutex<Vec<RunEvent>>);

impl EventSink for Recorder {
    fn emit(&self, event: &RunEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn logs(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                RunEvent::StepLog { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

fn settings(workdir: &WorkDir, env: &[(&str, &str)]) -> Settings {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SettingsResolver::new(&env, workdir.env_file(), &BTreeMap::new())
        .resolve(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
        .unwrap()
}

fn shell(script: &str) -> CommandSpec {
    CommandSpec {
        after: None,
        name: None,
        description: None,
        command: vec![script.to_string()],
        shell: true,
        env: BTreeMap::new(),
        timeout: None,
        inputs: Vec::new(),
        outputs: Vec::new(),
        metrics: None,
        secrets: Vec::new(),
    }
}

/// Runs `spec` as step 5 in a fresh work directory; `cancel` may be cancelled by the caller.
fn run_spec(
    spec: CommandSpec,
    cancel: CancelToken,
) -> (tempfile::TempDir, Recorder, Result<StepOutput, StepError>) {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let settings = settings(&workdir, &[]);
    let sink = Recorder::default();
    let step = CommandStep::new(StepId::TrainCnn, spec);
    let result = {
        let mut ctx = StepContext::new(StepId::TrainCnn, "r-1", &workdir, &settings, &sink, cancel);
        step.run(&mut ctx)
    };
    (tmp, sink, result)
}

#[test]
fn progress_and_metric_lines_drive_progress_and_curves_and_other_lines_are_logged() {
    let spec = shell(
        r#"echo starting
for i in 1 2 3; do echo "agriflux:progress {\"done\":$i,\"total\":3,\"unit\":\"epoch\"}"; done
echo 'agriflux:metric {"series":"real/loss","x":1,"value":0.5}'
echo 'agriflux:progress not json'
echo oops >&2"#,
    );
    let (_tmp, sink, result) = run_spec(spec, CancelToken::new());
    let out = result.unwrap();
    let events = sink.0.lock().unwrap().clone();
    let progress: Vec<(u64, u64, String)> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepProgress {
                done, total, unit, ..
            } => Some((*done, *total, unit.clone())),
            _ => None,
        })
        .collect();
    assert!(progress.contains(&(3, 3, "epoch".into())), "{progress:?}");
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::StepMetric { series, value, .. } if series == "real/loss" && *value == 0.5)));
    let logs = sink.logs();
    assert!(logs.iter().any(|l| l == "starting"), "{logs:?}");
    assert!(
        logs.iter().any(|l| l == "agriflux:progress not json"),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l == "oops"), "{logs:?}");
    assert!(logs[0].starts_with("Script: "), "{logs:?}");
    assert!(logs[2].starts_with("Executing: sh -c"), "{logs:?}");
    assert_eq!(out["exit_code"], 0);
}

#[test]
fn a_failing_script_fails_its_step_with_its_error_output_first() {
    let spec = shell("echo working; echo 'model file is corrupt' >&2; exit 3");
    let (_tmp, _sink, result) = run_spec(spec, CancelToken::new());
    let Err(StepError::Failed(message)) = result else {
        panic!("not a failure: {result:?}");
    };
    assert!(message.starts_with("model file is corrupt\n"), "{message}");
    assert!(message.contains("exited with status 3"), "{message}");
}

#[test]
fn a_hanging_script_is_stopped_at_its_timeout() {
    let mut spec = shell("sleep 30");
    spec.timeout = Some(1);
    let started = Instant::now();
    let (_tmp, _sink, result) = run_spec(spec, CancelToken::new());
    let Err(StepError::Failed(message)) = result else {
        panic!("not a failure: {result:?}");
    };
    assert!(message.contains("timed out after 1 s"), "{message}");
    // Not a timing assertion on speed: a stopped `sleep 30` must not have run to its end.
    assert!(started.elapsed() < Duration::from_secs(25));
}

/// Whether `pid` is still a live process (a zombie waiting to be reaped counts as gone).
#[cfg(target_os = "linux")]
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn cancel_during_a_script_with_a_child_leaves_no_process_behind() {
    let tmp_pids = tempfile::tempdir().unwrap();
    let pids = tmp_pids.path().join("pids");
    let spec = shell(&format!(
        "sleep 300 & echo $! > {p}.tmp; echo $$ >> {p}.tmp; mv {p}.tmp {p}; echo started; wait",
        p = pids.display()
    ));
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        let pids = pids.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(30);
            while !pids.exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            cancel.cancel();
        })
    };
    let (_tmp, _sink, result) = run_spec(spec, cancel);
    canceller.join().unwrap();
    assert!(matches!(result, Err(StepError::Cancelled)), "{result:?}");
    let text = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<i32> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    // The child `sleep 300` and the shell: both gone (the orphan is reaped by init shortly).
    let until = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the cancelled step");
    }
}

#[test]
fn ten_megabytes_without_a_newline_are_logged_in_pieces_no_larger_than_the_cap() {
    let spec = shell("head -c 10485760 /dev/zero | tr '\\0' 'x'; echo; echo done");
    let (_tmp, sink, result) = run_spec(spec, CancelToken::new());
    let out = result.unwrap();
    let logs = sink.logs();
    let pieces: Vec<&String> = logs.iter().filter(|l| l.starts_with('x')).collect();
    assert!(pieces.iter().all(|l| l.len() <= 8 * 1024));
    assert_eq!(
        pieces.iter().map(|l| l.len()).sum::<usize>(),
        10 * 1024 * 1024
    );
    assert!(logs.last().is_some_and(|l| l == "done"));
    assert_eq!(out["output_lines"], pieces.len() as u64 + 2);
}

#[test]
fn output_that_is_not_utf8_is_kept_with_replacement_characters() {
    let spec = shell(r"printf 'caf\351 \377ok\n'");
    let (_tmp, sink, result) = run_spec(spec, CancelToken::new());
    result.unwrap();
    assert!(
        sink.logs().iter().any(|l| l == "caf\u{fffd} \u{fffd}ok"),
        "{:?}",
        sink.logs()
    );
}

#[test]
fn settings_are_exported_and_the_secret_only_when_asked_for_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let mut settings = settings(&workdir, &[("AGRIFLUX_CNN_EPOCHS", "7")]);
    settings.sentinel_hub = SentinelHubSettings {
        client_secret: crate::settings::Secret::new("s3cr3t-for-the-script"),
        ..settings.sentinel_hub.clone()
    };
    let script = "echo \"epochs=$AGRIFLUX_CNN_EPOCHS secret=${SENTINEL_HUB_CLIENT_SECRET:-none} farm=$FARM\"";
    for (secrets, expected) in [
        (vec![], "epochs=7 secret=none farm=north"),
        (
            vec!["SENTINEL_HUB_CLIENT_SECRET".to_string()],
            // Given to the command, and masked in what it prints.
            "epochs=7 secret=[secret hidden] farm=north",
        ),
    ] {
        let mut spec = shell(script);
        spec.secrets = secrets;
        spec.env.insert("FARM".into(), "north".into());
        let sink = Recorder::default();
        let mut ctx = StepContext::new(
            StepId::TrainCnn,
            "r-1",
            &workdir,
            &settings,
            &sink,
            CancelToken::new(),
        );
        CommandStep::new(StepId::TrainCnn, spec)
            .run(&mut ctx)
            .unwrap();
        assert!(
            sink.logs().iter().any(|l| l == expected),
            "{:?}",
            sink.logs()
        );
    }
}

#[test]
fn placeholders_are_filled_from_the_settings_and_an_unknown_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let settings = settings(&workdir, &[("AGRIFLUX_CNN_EPOCHS", "9")]);
    let mut spec = shell("x");
    spec.shell = false;
    spec.command = vec![
        "python3".into(),
        "scripts/train.py".into(),
        "--epochs={cnn_epochs}".into(),
        "--seed".into(),
        "{seed}".into(),
        "{{literal}}".into(),
    ];
    let argv = spec.resolved_command(&workdir, &settings).unwrap();
    assert_eq!(argv[2], "--epochs=9");
    assert_eq!(argv[5], "{literal}");
    let (script, args) = spec.script_and_args(&argv);
    assert_eq!(script, "scripts/train.py");
    assert_eq!(args[0], "--epochs=9");
    spec.command.push("{no_such_setting}".into());
    let err = spec.resolved_command(&workdir, &settings).unwrap_err();
    assert!(err.contains("{no-such-setting}"), "{err}");
}

#[test]
fn a_changed_command_changes_the_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let settings = settings(&workdir, &[]);
    let deps = |script: &str| {
        CommandStep::new(StepId::TrainCnn, shell(script))
            .dependencies(&workdir, &settings)
            .unwrap()
    };
    assert_eq!(deps("echo a"), deps("echo a"));
    assert_ne!(deps("echo a").settings, deps("echo b").settings);
}

fn parse_error(text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(PIPELINE_FILE);
    std::fs::write(&path, text).unwrap();
    match load_pipeline_file(&path) {
        Err(e @ PipelineFileError::Invalid { .. }) => e.to_string(),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn errors_in_the_pipeline_file_name_the_line_and_the_key() {
    let err = parse_error("# mine\n[steps.train_cnn]\ncomand = [\"python3\"]\n");
    assert!(err.contains("line 3") && err.contains("comand"), "{err}");
    let err = parse_error("\n[steps.train_forest]\ncommand = [\"python3\"]\n");
    assert!(
        err.contains("line 2")
            && err.contains("no built-in step is called train_forest")
            && err.contains("after ="),
        "{err}"
    );
    let err = parse_error("[steps.export]\ncommand = [\"x\"]\nafter = \"train_forest\"\n");
    assert!(
        err.contains("line 1")
            && err.contains("steps.export.after: no step is called train_forest"),
        "{err}"
    );
    let err = parse_error("[steps.compare]\ncommand = [\"x\"]\nafter = \"train_cnn\"\n");
    assert!(
        err.contains("steps.compare.after") && err.contains("built-in"),
        "{err}"
    );
    let err = parse_error("[steps.Export]\ncommand = [\"x\"]\nafter = \"compare\"\n");
    assert!(err.contains("steps.Export: a step's name"), "{err}");
    let err = parse_error(
        "[steps.one]\ncommand = [\"x\"]\nafter = \"two\"\n\n[steps.two]\ncommand = [\"x\"]\nafter = \"one\"\n",
    );
    assert!(err.contains("line 1") && err.contains("cycle"), "{err}");
    let err = parse_error("[steps.compare]\ncommand = []\n");
    assert!(
        err.contains("line 1") && err.contains("steps.compare.command: empty"),
        "{err}"
    );
    let err = parse_error("[steps.compare]\ncommand = [\"x\"]\noutputs = [\"../elsewhere/*\"]\n");
    assert!(err.contains("inside the work directory"), "{err}");
}

#[test]
fn the_pipeline_file_replaces_only_the_steps_it_names() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    assert_eq!(pipeline_steps(&workdir).unwrap().len(), 8);
    std::fs::write(
        tmp.path().join(PIPELINE_FILE),
        "[steps.train_cnn]\ncommand = [\"python3\", \"train.py\"]\n",
    )
    .unwrap();
    let steps = pipeline_steps(&workdir).unwrap();
    let ids: Vec<StepId> = steps.iter().map(|s| s.id()).collect();
    assert_eq!(ids, StepId::ALL);
    let settings = settings(&workdir, &[]);
    let deps = steps[4].dependencies(&workdir, &settings).unwrap();
    assert!(
        deps.settings.values().any(|v| v == "python3 train.py"),
        "{:?}",
        deps.settings
    );
}

#[test]
fn added_steps_go_after_the_step_they_name_in_file_order() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    std::fs::write(
        tmp.path().join(PIPELINE_FILE),
        r#"
[steps.notify]
command = ["echo", "done"]
after = "export_csv"
name = "Tell the farm office"

[steps.export_csv]
command = ["python3", "export.py"]
after = "train_lstm"

[steps.archive]
command = ["tar", "cf", "models.tar", "models"]
after = "train_lstm"

[steps.last]
command = ["true"]
after = "update_env"
"#,
    )
    .unwrap();
    let steps = pipeline_steps(&workdir).unwrap();
    let ids: Vec<String> = steps.iter().map(|s| s.id().to_string()).collect();
    assert_eq!(
        ids,
        [
            "download",
            "validate",
            "cnn_dataset",
            "lstm_dataset",
            "train_cnn",
            "train_lstm",
            "export_csv",
            "archive",
            "notify",
            "compare",
            "update_env",
            "last"
        ]
    );
    assert_eq!(steps[8].name(), "Tell the farm office");
    assert_eq!(steps[6].name(), "export_csv");
    assert_eq!(steps[4].name(), "Train CNN Model");
}

#[test]
fn secret_named_env_values_are_fingerprinted_by_hash_not_in_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let settings = settings(&workdir, &[]);
    let deps = |token: &str| {
        let mut spec = shell("true");
        spec.env.insert("FARM_API_TOKEN".into(), token.into());
        spec.env.insert("EXPORT_FORMAT".into(), "csv".into());
        CommandStep::new(StepId::Compare, spec)
            .dependencies(&workdir, &settings)
            .unwrap()
            .settings
    };
    let one = deps("tok-1234567890");
    assert_eq!(one["env.EXPORT_FORMAT"], "csv");
    assert!(
        !one["env.FARM_API_TOKEN"].contains("tok-1234567890"),
        "{one:?}"
    );
    assert_ne!(
        one,
        deps("tok-0987654321"),
        "a changed token re-runs the step"
    );
}

#[test]
fn a_requested_secret_printed_by_the_command_is_masked_in_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let mut settings = settings(&workdir, &[]);
    settings.sentinel_hub = SentinelHubSettings {
        client_secret: crate::settings::Secret::new("s3cr3t-value-42"),
        ..settings.sentinel_hub.clone()
    };
    let mut spec = shell(
        "echo \"token=$SENTINEL_HUB_CLIENT_SECRET\"; echo \"$SENTINEL_HUB_CLIENT_SECRET\" >&2; exit 3",
    );
    spec.secrets = vec!["SENTINEL_HUB_CLIENT_SECRET".to_string()];
    let sink = Recorder::default();
    let result = {
        let mut ctx = StepContext::new(
            StepId::Compare,
            "r-1",
            &workdir,
            &settings,
            &sink,
            CancelToken::new(),
        );
        CommandStep::new(StepId::Compare, spec).run(&mut ctx)
    };
    let logs = sink.logs().join("\n");
    assert!(logs.contains("token=[secret hidden]"), "{logs}");
    assert!(!logs.contains("s3cr3t-value-42"), "{logs}");
    let Err(StepError::Failed(message)) = result else {
        panic!("the script exits 3");
    };
    assert!(!message.contains("s3cr3t-value-42"), "{message}");
}

#[test]
fn a_metrics_file_cannot_overwrite_the_steps_own_figures() {
    let mut spec = shell(
        "mkdir -p out && echo '{\"exit_code\": 0, \"script\": \"x\", \"rows\": 12}' > out/m.json; exit 0",
    );
    spec.metrics = Some("out/m.json".into());
    let (_tmp, sink, result) = run_spec(spec, CancelToken::new());
    let out = result.unwrap();
    assert_eq!(out["rows"], 12);
    assert_eq!(out["script"], "sh");
    assert!(
        sink.logs().iter().any(|l| l.contains("\"script\" ignored")),
        "{:?}",
        sink.logs()
    );
}
