//! Step 3: the CNN patch dataset (`data/training/cnn_*_real.npy`).

use serde_json::json;

use super::{REAL, dataset_files, load_usable_scenes, scene_deps};
use crate::datasets::patches::{PatchConfig, build_patch_splits, save_patch_splits};
use crate::datasets::{DatasetError, Split};
use crate::pipeline::{
    Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir, ensure_free_space,
};
use crate::settings::Settings;

/// Builds the CNN training set.
pub struct CnnDatasetStep;

pub(crate) fn dataset_error(e: DatasetError) -> StepError {
    match e {
        DatasetError::Cancelled => StepError::Cancelled,
        other => StepError::failed(other.to_string()),
    }
}

impl Step for CnnDatasetStep {
    fn id(&self) -> StepId {
        StepId::CnnDataset
    }

    /// Reads the scenes; depends on the patches per class and the seed; writes the real
    /// CNN splits and their metadata.
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        Some(
            scene_deps(workdir, settings)
                .setting("samples_per_class", settings.samples_per_class)
                .setting("seed", settings.seed)
                .outputs(dataset_files(workdir, "cnn", REAL, &Split::ALL, true)),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let scenes = load_usable_scenes(ctx)?;
        let cfg = PatchConfig::new(ctx.settings.samples_per_class, ctx.settings.seed);
        let source = ctx.settings.source.to_string();
        let cancel = ctx.cancel_token().clone();
        let mut splits =
            build_patch_splits(&scenes, &cfg, REAL, &source, &cancel, |done, total| {
                ctx.progress(done as u64, total as u64, "dates", "cutting patches");
            })
            .map_err(dataset_error)?;
        splits.metadata.excluded_dates = super::failed_validation(ctx.workdir);
        let dir = ctx.workdir.training();
        let patches = (splits.train.len() + splits.val.len() + splits.test.len()) as u64;
        let bytes = patches * (64 * 64 * 4 * 4 + 8 + 24) + 64 * 1024;
        ensure_free_space(&dir, bytes, &format!("{patches} CNN patches"))?;
        save_patch_splits(&dir, &splits).map_err(dataset_error)?;
        let m = &splits.metadata;
        for (class, count) in m.counts_before_balancing["train"].iter().enumerate() {
            if *count == 0 {
                ctx.warn(format!(
                    "class {} has no training patch in this area and season; the model cannot learn it",
                    crate::datasets::CLASS_NAMES[class]
                ));
            }
        }
        ctx.info(format!(
            "patches: train {} (balanced from {}), validation {}, test {}",
            splits.train.len(),
            m.counts_before_balancing["train"].iter().sum::<usize>(),
            splits.val.len(),
            splits.test.len()
        ));
        let mut out = StepOutput::new();
        out.insert("dates_used".into(), json!(scenes.len()));
        out.insert("train_patches".into(), json!(splits.train.len()));
        out.insert("val_patches".into(), json!(splits.val.len()));
        out.insert("test_patches".into(), json!(splits.test.len()));
        out.insert("class_counts".into(), json!(m.counts));
        out.insert(
            "class_counts_before_balancing".into(),
            json!(m.counts_before_balancing),
        );
        out.insert("skipped_invalid".into(), json!(m.skipped_invalid));
        out.insert("output_dir".into(), json!(dir.display().to_string()));
        Ok(out)
    }
}
