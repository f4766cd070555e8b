//! The eight steps of the pipeline, one module each, over the engine's domain modules.

mod cnn_dataset;
mod compare;
mod download;
mod evaluate;
mod lstm_dataset;
mod train_cnn;
mod train_lstm;
mod training;
mod update_env;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use cnn_dataset::CnnDatasetStep;
pub use compare::{COMPARISON_REPORT, CompareStep};
pub use download::{DownloadStep, source_for};
pub use lstm_dataset::LstmDatasetStep;
pub use train_cnn::TrainCnnStep;
pub use train_lstm::TrainLstmStep;
pub use update_env::UpdateEnvStep;
pub use validate::ValidateStep;

use crate::datasets::Split;
use crate::pipeline::{FileSet, Step, StepContext, StepDeps, StepError, WorkDir};
use crate::raster::scene::{Scene, list_scene_dirs, read_scene};
use crate::settings::{Settings, option};

/// The eight steps in pipeline order.
pub fn standard_steps() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(DownloadStep),
        Box::new(ValidateStep),
        Box::new(CnnDatasetStep),
        Box::new(LstmDatasetStep),
        Box::new(TrainCnnStep),
        Box::new(TrainLstmStep),
        Box::new(CompareStep),
        Box::new(UpdateEnvStep),
    ]
}

/// Declares the settings a step depends on by their names in the settings table
/// ([`crate::settings::OPTIONS`]), so that a fingerprint's setting names and values come from
/// the one table: `cnn-epochs` is recorded as `cnn_epochs` with the value the run uses.
pub(crate) trait UsesSettings {
    /// These dependencies plus the settings `names` and their values in `settings`.
    fn uses(self, settings: &Settings, names: &[&str]) -> Self;
}

impl UsesSettings for StepDeps {
    fn uses(self, settings: &Settings, names: &[&str]) -> Self {
        names.iter().fold(self, |deps, name| {
            // A name outside the table is a bug in a step, found by any test that plans a run.
            let spec = option(name).unwrap_or_else(|| panic!("no setting is called {name}"));
            deps.setting(&name.replace('-', "_"), (spec.current)(settings))
        })
    }
}

/// What a training step reads and writes: the real `kind` (`cnn` or `lstm`) splits and
/// metadata in; the model, its sidecar and history, the test predictions and the metrics out.
pub(crate) fn training_step_deps(workdir: &WorkDir, kind: &str) -> StepDeps {
    let models = workdir.models();
    StepDeps::new()
        .inputs(dataset_files(workdir, kind, REAL, &Split::ALL, true))
        .outputs(model_files(workdir, kind, REAL, true))
        .outputs([
            FileSet::file(test_predictions_path(workdir, kind)),
            FileSet::file(models.join(format!("{kind}_{REAL}_metrics.json"))),
        ])
}

/// `models/<kind>_real_test_predictions.npy`: what the real-data `kind` model (`cnn`, `lstm`)
/// predicted for the test split, written by step 5 or 6 (or the user's command replacing it)
/// and compared by step 7.
pub(crate) fn test_predictions_path(workdir: &WorkDir, kind: &str) -> PathBuf {
    workdir
        .models()
        .join(format!("{kind}_{REAL}_test_predictions.npy"))
}

/// The file of a trained model: `models/<kind>_<tag>.bpk` (burnpack weights; a `.json` sidecar beside it).
pub fn model_path(ctx: &StepContext<'_>, kind: &str, tag: &str) -> PathBuf {
    ctx.workdir.models().join(format!("{kind}_{tag}.bpk"))
}

/// The dataset files of `kind` (`cnn` or `lstm`) and `tag` for `splits` under `data/training/`:
/// `{kind}_{X,y,origin}_{split}_{tag}.npy`, and with `metadata` also `{kind}_metadata_{tag}.json`.
pub(crate) fn dataset_files(
    workdir: &WorkDir,
    kind: &str,
    tag: &str,
    splits: &[Split],
    metadata: bool,
) -> Vec<FileSet> {
    let dir = workdir.training();
    let mut files = Vec::new();
    for split in splits {
        for array in ["X", "y", "origin"] {
            files.push(FileSet::file(
                dir.join(format!("{kind}_{array}_{}_{tag}.npy", split.as_str())),
            ));
        }
    }
    if metadata {
        files.push(FileSet::file(
            dir.join(format!("{kind}_metadata_{tag}.json")),
        ));
    }
    files
}

/// A trained model's files under `models/`: weights `{kind}_{tag}.bpk`, their `.json`
/// sidecar, and with `history` also `{kind}_{tag}_history.json`.
pub(crate) fn model_files(workdir: &WorkDir, kind: &str, tag: &str, history: bool) -> Vec<FileSet> {
    let dir = workdir.models();
    let mut files = vec![
        FileSet::file(dir.join(format!("{kind}_{tag}.bpk"))),
        FileSet::file(dir.join(format!("{kind}_{tag}.json"))),
    ];
    if history {
        files.push(FileSet::file(
            dir.join(format!("{kind}_{tag}_history.json")),
        ));
    }
    files
}

/// `data/validation_status.json`: the dates step 2 failed, each with the checks it failed.
pub(crate) fn validation_status_path(workdir: &WorkDir) -> PathBuf {
    workdir.training().with_file_name("validation_status.json")
}

/// The dates the last validation failed, with the checks they failed (empty when step 2 has
/// not written its status, e.g. with `--skip-validation` on a fresh work directory).
pub(crate) fn failed_validation(workdir: &WorkDir) -> BTreeMap<String, Vec<String>> {
    std::fs::read_to_string(validation_status_path(workdir))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v["failed_dates"].clone()).ok())
        .unwrap_or_default()
}

/// What [`load_usable_scenes`] depends on: every file under `data/scenes/`, and the settings
/// that choose among the scene folders (source, area, clear-pixel fraction).
pub(crate) fn scene_deps(workdir: &WorkDir, settings: &Settings) -> StepDeps {
    StepDeps::new()
        .uses(settings, &["source", "bbox", "min-valid-fraction"])
        .inputs([
            FileSet::tree(workdir.scenes()),
            FileSet::file(validation_status_path(workdir)),
        ])
}

/// The scenes this run's settings ask for (same area and source), intact, with enough clear
/// pixels, sorted by date. Other folders are ignored with a log line saying why.
pub(crate) fn load_usable_scenes(ctx: &mut StepContext<'_>) -> Result<Vec<Scene>, StepError> {
    let scenes_dir = ctx.workdir.scenes();
    let dirs = list_scene_dirs(&scenes_dir).map_err(|e| StepError::failed(e.to_string()))?;
    if dirs.is_empty() {
        return Err(StepError::failed(format!(
            "no scenes in {}: run the download step first (without --skip-download)",
            scenes_dir.display()
        )));
    }
    let mut scenes = Vec::new();
    let total = dirs.len() as u64;
    let failed = failed_validation(ctx.workdir);
    for (i, (date, dir)) in dirs.iter().enumerate() {
        ctx.check_cancel()?;
        if let Some(checks) = failed.get(&date.to_string()) {
            ctx.info(format!(
                "{date}: left out (failed validation: {})",
                checks.join("; ")
            ));
            continue;
        }
        ctx.progress(i as u64, total, "scenes", format!("reading {date}"));
        let (scene, meta) =
            read_scene(dir).map_err(|e| StepError::failed(format!("scene {date}: {e}")))?;
        if meta.source != ctx.settings.source || meta.bbox != ctx.settings.bbox {
            ctx.info(format!(
                "{date}: ignored (downloaded for source {} and area {}, this run uses {} and {})",
                meta.source, meta.bbox, ctx.settings.source, ctx.settings.bbox
            ));
            continue;
        }
        let fraction = scene.valid_fraction();
        if fraction < ctx.settings.min_valid_fraction {
            ctx.info(format!(
                "{date}: not used ({:.0}% clear pixels, below {:.0}%)",
                fraction * 100.0,
                ctx.settings.min_valid_fraction * 100.0
            ));
            continue;
        }
        scenes.push(scene);
    }
    ctx.progress(total, total, "scenes", "scenes read");
    if scenes.is_empty() {
        return Err(StepError::failed(format!(
            "none of the {} scene folders in {} matches this run's area and source with enough clear pixels",
            dirs.len(),
            scenes_dir.display()
        )));
    }
    Ok(scenes)
}

/// The tag of a run's data in file names and reports: `real` (even when simulated, the files
/// are the "real-data" side of the comparison; the metadata says `source: simulated`).
pub const REAL: &str = "real";
/// The tag of the synthetic baseline's data.
pub const SYNTHETIC: &str = "synthetic";

/// Rounds for reports (4 decimals).
pub(crate) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::settings::SettingsResolver;

    #[test]
    fn settings_used_are_recorded_as_fingerprints_always_recorded_them() {
        // The names and texts of fingerprints written before the settings table named them:
        // a change here would make every step of every work directory run again.
        let env = BTreeMap::from([
            ("AGRIFLUX_SCENES_DIR".to_string(), "/srv/scenes".to_string()),
            ("AGRIFLUX_CNN_MIN_ACCURACY".to_string(), "0.9".to_string()),
        ]);
        let s = SettingsResolver::new(&env, PathBuf::from("/w/.env"), &BTreeMap::new())
            .resolve(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
            .unwrap();
        let by_hand = StepDeps::new()
            .setting("source", s.source)
            .setting("bbox", s.bbox)
            .setting("start", s.dates.start)
            .setting("end", s.dates.end)
            .setting("cloud_threshold", s.cloud_threshold)
            .setting("min_valid_fraction", s.min_valid_fraction)
            .setting("cnn_min_accuracy", s.cnn_min_accuracy)
            .setting("seed", s.seed)
            .setting("enable_models", s.enable_models)
            .setting("scenes_dir", s.scenes_dir.as_ref().unwrap().display());
        let from_table = StepDeps::new().uses(
            &s,
            &[
                "source",
                "bbox",
                "start",
                "end",
                "cloud-threshold",
                "min-valid-fraction",
                "cnn-min-accuracy",
                "seed",
                "enable-models",
                "scenes-dir",
            ],
        );
        assert_eq!(from_table, by_hand);
    }

    #[test]
    #[should_panic(expected = "no setting is called cnn_epochs")]
    fn a_setting_outside_the_table_is_a_bug() {
        let s = SettingsResolver::new(&BTreeMap::new(), PathBuf::from(".env"), &BTreeMap::new())
            .resolve(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
            .unwrap();
        let _ = StepDeps::new().uses(&s, &["cnn_epochs"]);
    }
}
