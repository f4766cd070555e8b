//! Planning a run: which steps run, which are up to date (reused), which are skipped, and why.
//!
//! A step is **up to date** when its record (`logs/fingerprints/<step>.json`) is the fingerprint
//! of a successful run by this engine version with the same settings (only those the step
//! depends on), and its input and output files still hash to what was recorded. Otherwise it
//! runs, and the reason says which check failed first:
//!
//! 1. a skip flag (`--skip-download`, `--skip-validation`): `skip`;
//! 2. `--force`, or `--from STEP` for that step and every later one;
//! 3. no record ("first run"), or the last attempt did not succeed;
//! 4. the engine version, then the settings (naming each setting with old and new value);
//! 5. an earlier step that produces this step's inputs runs in this run ("an earlier step
//!    re-ran"). This holds even if that step's outputs come out byte-identical: the plan is
//!    made before anything runs, and a run does exactly what its plan says;
//! 6. an input file changed, is missing or new; then an output file;
//! 7. the step's effect outside its files is not in place (`.env` lacks `USE_AI_MODELS=true`).

use super::WorkDir;
use super::error::PipelineError;
use super::events::{PlannedAction, PlannedStep, StepId};
use super::fingerprint::{
    ENGINE_VERSION, FileHasher, FileSet, Fingerprint, Record, RecordState, StepDeps, file_changes,
    read_record, settings_changes,
};
use super::step::Step;
use crate::settings::Settings;

/// Per-invocation choices of a run (not settings: they are never stored in `.env`).
#[derive(Default, Clone, Debug)]
pub struct RunOptions {
    /// Re-run this step and every later one, whatever their fingerprints say.
    pub from: Option<StepId>,
    /// Re-run every step.
    pub force: bool,
}

/// A planned step with what the runner needs to carry it out.
pub(crate) struct PlanEntry {
    pub planned: PlannedStep,
    /// The step's declarations (`None`: it declares none and always runs).
    pub deps: Option<StepDeps>,
    /// For an up-to-date step, its fingerprint (the reused `output_summary`).
    pub record: Option<Fingerprint>,
}

/// What a run with these settings and options would do, step by step, without running or
/// writing anything. The desktop app shows it before a run; `agriflux plan` prints it.
pub fn plan_run(
    steps: &[Box<dyn Step>],
    settings: &Settings,
    options: &RunOptions,
    workdir: &WorkDir,
) -> Result<Vec<PlannedStep>, PipelineError> {
    let mut hasher = FileHasher::new();
    Ok(make_plan(steps, settings, options, workdir, &mut hasher)?
        .into_iter()
        .map(|e| e.planned)
        .collect())
}

/// The first line of `text`, at most `max` characters.
fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Why a step with these declarations must run judging by its record alone (state, engine
/// version, settings), or `Ok(fingerprint)` when the record is a matching fingerprint.
pub(crate) fn record_verdict(
    record: Record,
    current_settings: &std::collections::BTreeMap<String, String>,
) -> Result<Fingerprint, String> {
    let fp = match record {
        Record::Missing => return Err("first run".into()),
        Record::Unreadable(why) => {
            return Err(format!("its record cannot be read ({why})"));
        }
        Record::Found(fp) => *fp,
    };
    match fp.state {
        RecordState::Done => {}
        RecordState::Started => {
            return Err(format!(
                "the last attempt (run {}) did not finish",
                fp.run_id
            ));
        }
        RecordState::Cancelled => {
            return Err(format!(
                "the last attempt (run {}) was cancelled",
                fp.run_id
            ));
        }
        RecordState::Failed => {
            return Err(format!(
                "the last attempt (run {}) failed: {}",
                fp.run_id,
                short(fp.error.as_deref().unwrap_or("unknown error"), 160)
            ));
        }
    }
    if fp.engine_version != ENGINE_VERSION {
        return Err(format!(
            "engine version changed from {} to {ENGINE_VERSION}",
            fp.engine_version
        ));
    }
    let changes = settings_changes(&fp.settings, current_settings);
    if !changes.is_empty() {
        return Err(changes.join("; "));
    }
    Ok(fp)
}

/// Where `--from` starts, by position (an added step has no fixed number); an error when the
/// pipeline has no such step.
pub(crate) fn from_index(
    steps: &[Box<dyn Step>],
    options: &RunOptions,
) -> Result<Option<usize>, PipelineError> {
    let Some(from) = &options.from else {
        return Ok(None);
    };
    let position = steps.iter().position(|s| s.id() == *from);
    position.map(Some).ok_or_else(|| PipelineError::NoSuchStep {
        step: from.clone(),
        steps: steps
            .iter()
            .map(|s| s.id().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The plan, with the records of up-to-date steps.
pub(crate) fn make_plan(
    steps: &[Box<dyn Step>],
    settings: &Settings,
    options: &RunOptions,
    workdir: &WorkDir,
    hasher: &mut FileHasher,
) -> Result<Vec<PlanEntry>, PipelineError> {
    let from_index = from_index(steps, options)?;
    // Steps that run in this plan, with the files they write (`None`: undeclared).
    let mut running: Vec<(StepId, Option<Vec<FileSet>>)> = Vec::new();
    let mut plan = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let id = step.id();
        let deps = step.dependencies(workdir, settings);
        // Why this step re-runs whatever its record says, when `--force` or `--from` asks.
        let rerun = if options.force {
            Some("forced (--force)".to_string())
        } else {
            options
                .from
                .as_ref()
                .filter(|_| from_index.is_some_and(|f| index >= f))
                .map(|from| format!("re-run from {from} (--from)"))
        };
        let (action, reason, record) = decide(
            &id,
            deps.as_ref(),
            settings,
            rerun,
            workdir,
            hasher,
            &running,
        );
        if action == PlannedAction::Run {
            running.push((id.clone(), deps.as_ref().map(|d| d.outputs.clone())));
        }
        plan.push(PlanEntry {
            planned: PlannedStep {
                step: id.clone(),
                number: index + 1,
                name: step.name(),
                action,
                reason,
                reused_from: record.as_ref().map(|r| r.run_id.clone()),
                cost: (action == PlannedAction::Run)
                    .then(|| step.cost_estimate(settings, workdir))
                    .flatten(),
                command: step.external_command(workdir, settings),
            },
            deps,
            record,
        });
    }
    Ok(plan)
}

/// Whether step `id` runs, and why. `rerun`: why `--force` or `--from` re-runs it, if they do
/// (a skip flag still wins).
fn decide(
    id: &StepId,
    deps: Option<&StepDeps>,
    settings: &Settings,
    rerun: Option<String>,
    workdir: &WorkDir,
    hasher: &mut FileHasher,
    running: &[(StepId, Option<Vec<FileSet>>)],
) -> (PlannedAction, String, Option<Fingerprint>) {
    let run = |reason: String| (PlannedAction::Run, reason, None);
    if *id == StepId::Download && settings.skip_download {
        return (
            PlannedAction::Skip,
            "skipped by --skip-download".into(),
            None,
        );
    }
    if *id == StepId::Validate && settings.skip_validation {
        return (
            PlannedAction::Skip,
            "skipped by --skip-validation".into(),
            None,
        );
    }
    if let Some(reason) = rerun {
        return run(reason);
    }
    let Some(deps) = deps else {
        return run(
            "this step does not declare what it reads and writes, so it always runs".into(),
        );
    };
    let fp = match record_verdict(read_record(workdir, id), &deps.settings) {
        Ok(fp) => fp,
        Err(reason) => return run(reason),
    };
    let producers: Vec<StepId> = running
        .iter()
        .filter(|(_, outputs)| match outputs {
            None => true,
            Some(outputs) => deps
                .inputs
                .iter()
                .any(|i| outputs.iter().any(|o| i.overlaps(o))),
        })
        .map(|(p, _)| p.clone())
        .collect();
    if !producers.is_empty() {
        let names: Vec<&str> = producers.iter().map(|p| p.as_str()).collect();
        return run(if names.len() == 1 {
            format!(
                "an earlier step re-ran: {} (this step reads its outputs)",
                names[0]
            )
        } else {
            format!(
                "earlier steps re-ran: {} (this step reads their outputs)",
                names.join(", ")
            )
        });
    }
    let inputs = hasher.hash_sets(workdir, &deps.inputs);
    if let Some(why) = file_changes("input", &fp.inputs, &inputs) {
        return run(why);
    }
    let outputs = hasher.hash_sets(workdir, &deps.outputs);
    if let Some(why) = file_changes("output", &fp.outputs, &outputs) {
        return run(why);
    }
    if let Some(why) = &deps.not_in_place {
        return run(why.clone());
    }
    let reason = format!(
        "settings, inputs and outputs unchanged since run {}",
        fp.run_id
    );
    (PlannedAction::UpToDate, reason, Some(fp))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::pipeline::fingerprint::write_record;
    use crate::pipeline::{StepContext, StepError, StepOutput};

    /// A step reading `in_<id>.txt`-style files and writing one, depending on one setting.
    struct Fake {
        id: StepId,
        reads: Vec<&'static str>,
        writes: Vec<&'static str>,
    }

    impl Step for Fake {
        fn id(&self) -> StepId {
            self.id.clone()
        }
        fn run(&self, _ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
            Ok(StepOutput::new())
        }
        fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
            let f = |n: &&str| FileSet::file(workdir.root().join(n));
            Some(
                StepDeps::new()
                    .setting("seed", settings.seed)
                    .inputs(self.reads.iter().map(f))
                    .outputs(self.writes.iter().map(f)),
            )
        }
    }

    fn settings(seed: &str) -> Settings {
        let flags = BTreeMap::from([("seed".to_string(), seed.to_string())]);
        crate::settings::SettingsResolver::new(&BTreeMap::new(), "/w/.env".into(), &flags)
            .resolve(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
            .unwrap()
    }

    fn steps() -> Vec<Box<dyn Step>> {
        vec![
            Box::new(Fake {
                id: StepId::CnnDataset,
                reads: vec!["scene.bin"],
                writes: vec!["x.npy"],
            }),
            Box::new(Fake {
                id: StepId::LstmDataset,
                reads: vec!["scene.bin"],
                writes: vec!["l.npy"],
            }),
            Box::new(Fake {
                id: StepId::TrainCnn,
                reads: vec!["x.npy"],
                writes: vec!["model.bpk"],
            }),
        ]
    }

    /// Records every step as done now, as the runner does after success.
    fn record_all(dir: &Path, seed: &str) {
        let wd = WorkDir::new(dir);
        let s = settings(seed);
        let mut hasher = FileHasher::new();
        for step in steps() {
            let deps = step.dependencies(&wd, &s).unwrap();
            let mut fp = Fingerprint::marker(step.id(), RecordState::Done, "run-1", None);
            fp.settings = deps.settings.clone();
            fp.inputs = hasher.hash_sets(&wd, &deps.inputs);
            fp.outputs = hasher.hash_sets(&wd, &deps.outputs);
            write_record(&wd, &fp).unwrap();
        }
    }

    fn plan(dir: &Path, seed: &str, options: &RunOptions) -> Vec<(PlannedAction, String)> {
        plan_run(&steps(), &settings(seed), options, &WorkDir::new(dir))
            .unwrap()
            .into_iter()
            .map(|p| (p.action, p.reason))
            .collect()
    }

    fn workdir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in ["scene.bin", "x.npy", "l.npy", "model.bpk"] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        dir
    }

    #[test]
    fn first_run_then_up_to_date_with_the_producing_run() {
        let dir = workdir();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert!(
            p.iter()
                .all(|(a, r)| *a == PlannedAction::Run && r == "first run")
        );
        record_all(dir.path(), "1");
        let planned = plan_run(
            &steps(),
            &settings("1"),
            &RunOptions::default(),
            &WorkDir::new(dir.path()),
        )
        .unwrap();
        for p in &planned {
            assert_eq!(p.action, PlannedAction::UpToDate, "{p:?}");
            assert_eq!(p.reused_from.as_deref(), Some("run-1"));
        }
        let json = serde_json::to_value(&planned[0]).unwrap();
        assert_eq!(json["action"], "up_to_date");
        assert_eq!(json["step"], "cnn_dataset");
    }

    #[test]
    fn a_changed_setting_is_named_with_both_values() {
        let dir = workdir();
        record_all(dir.path(), "1");
        let p = plan(dir.path(), "2", &RunOptions::default());
        assert_eq!(
            p[0],
            (
                PlannedAction::Run,
                "setting seed changed from 1 to 2".into()
            )
        );
    }

    #[test]
    fn a_changed_output_reruns_its_producer_and_then_its_consumers() {
        let dir = workdir();
        record_all(dir.path(), "1");
        std::fs::write(dir.path().join("x.npy"), "corrupt").unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(
            p[0],
            (PlannedAction::Run, "output file x.npy changed".into())
        );
        assert_eq!(p[1].0, PlannedAction::UpToDate, "not a consumer: {p:?}");
        assert_eq!(
            p[2],
            (
                PlannedAction::Run,
                "an earlier step re-ran: cnn_dataset (this step reads its outputs)".into()
            )
        );
    }

    #[test]
    fn a_changed_or_missing_input_is_named() {
        let dir = workdir();
        record_all(dir.path(), "1");
        std::fs::write(dir.path().join("scene.bin"), "other").unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(p[0].1, "input file scene.bin changed");
        std::fs::remove_file(dir.path().join("scene.bin")).unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(p[1].1, "input file scene.bin is missing");
    }

    #[test]
    fn force_from_and_unfinished_attempts() {
        let dir = workdir();
        record_all(dir.path(), "1");
        let p = plan(
            dir.path(),
            "1",
            &RunOptions {
                from: Some(StepId::LstmDataset),
                force: false,
            },
        );
        assert_eq!(p[0].0, PlannedAction::UpToDate);
        assert_eq!(p[1].1, "re-run from lstm_dataset (--from)");
        assert_eq!(p[2].1, "re-run from lstm_dataset (--from)");
        let p = plan(
            dir.path(),
            "1",
            &RunOptions {
                from: None,
                force: true,
            },
        );
        assert!(p.iter().all(|(_, r)| r == "forced (--force)"));

        let wd = WorkDir::new(dir.path());
        let marker = |state, error: Option<&str>| {
            Fingerprint::marker(StepId::TrainCnn, state, "run-2", error.map(String::from))
        };
        write_record(&wd, &marker(RecordState::Started, None)).unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(p[2].1, "the last attempt (run run-2) did not finish");
        write_record(&wd, &marker(RecordState::Cancelled, None)).unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(p[2].1, "the last attempt (run run-2) was cancelled");
        write_record(&wd, &marker(RecordState::Failed, Some("disk full\nmore"))).unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(p[2].1, "the last attempt (run run-2) failed: disk full");
        let mut old = marker(RecordState::Done, None);
        old.engine_version = "0.0.1".into();
        write_record(&wd, &old).unwrap();
        let p = plan(dir.path(), "1", &RunOptions::default());
        assert_eq!(
            p[2].1,
            format!("engine version changed from 0.0.1 to {ENGINE_VERSION}")
        );
    }

    #[test]
    fn skip_flags_win_and_undeclared_steps_always_run() {
        let mut s = settings("1");
        s.skip_download = true;
        struct Bare;
        impl Step for Bare {
            fn id(&self) -> StepId {
                StepId::Download
            }
            fn run(&self, _ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
                Ok(StepOutput::new())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(dir.path());
        let steps: Vec<Box<dyn Step>> = vec![Box::new(Bare)];
        let options = RunOptions {
            from: None,
            force: true,
        };
        let p = plan_run(&steps, &s, &options, &wd).unwrap();
        assert_eq!(p[0].action, PlannedAction::Skip);
        assert_eq!(p[0].reason, "skipped by --skip-download");
        s.skip_download = false;
        let p = plan_run(&steps, &s, &RunOptions::default(), &wd).unwrap();
        assert_eq!(p[0].action, PlannedAction::Run);
        assert!(p[0].reason.contains("always runs"), "{}", p[0].reason);
    }
}
