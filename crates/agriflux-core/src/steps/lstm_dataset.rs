//! Step 4: the LSTM sequence dataset (`data/training/lstm_*_real.npy`).

use serde_json::json;

use super::UsesSettings;
use super::cnn_dataset::dataset_error;
use super::{REAL, dataset_files, load_usable_scenes, scene_deps};
use crate::datasets::Split;
use crate::datasets::sequences::{build_sequence_splits, save_sequence_splits};
use crate::pipeline::{
    Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir, ensure_free_space,
};
use crate::settings::Settings;

/// Builds the LSTM training set.
pub struct LstmDatasetStep;

impl Step for LstmDatasetStep {
    fn id(&self) -> StepId {
        StepId::LstmDataset
    }

    /// Reads the scenes; depends on the sequence length (no random choice); writes the real
    /// LSTM splits and their metadata.
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        Some(
            scene_deps(workdir, settings)
                .uses(settings, &["sequence-length"])
                .outputs(dataset_files(workdir, "lstm", REAL, &Split::ALL, true)),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let scenes = load_usable_scenes(ctx)?;
        let source = ctx.settings.source.to_string();
        let mut splits = build_sequence_splits(
            &scenes,
            ctx.settings.sequence_length,
            REAL,
            &source,
            ctx.cancel_token(),
        )
        .map_err(dataset_error)?;
        splits.metadata.excluded_dates = super::failed_validation(ctx.workdir);
        if splits.metadata.target_dates.get("test").map_or(0, Vec::len)
            < crate::datasets::sequences::MIN_TEST_DATES
        {
            ctx.warn(format!(
                "the LSTM test split has fewer than {} target dates: its figures are uncertain (add dates)",
                crate::datasets::sequences::MIN_TEST_DATES
            ));
        }
        let dir = ctx.workdir.training();
        let values = (splits.train.x.len() + splits.val.x.len() + splits.test.x.len()) as u64;
        ensure_free_space(&dir, values * 4 + 64 * 1024, "the LSTM sequences")?;
        save_sequence_splits(&dir, &splits).map_err(dataset_error)?;
        let m = &splits.metadata;
        ctx.info(format!(
            "sequences: train {}, validation {}, test {} ({} windows dropped for clouds)",
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            m.dropped_invalid
        ));
        let mut out = StepOutput::new();
        out.insert("dates_used".into(), json!(scenes.len()));
        out.insert("sequence_length".into(), json!(m.sequence_length));
        out.insert("train_sequences".into(), json!(splits.train.len()));
        out.insert("val_sequences".into(), json!(splits.val.len()));
        out.insert("test_sequences".into(), json!(splits.test.len()));
        out.insert("target_dates".into(), json!(m.target_dates));
        out.insert("gaps_days".into(), json!(m.gaps_days));
        out.insert("dropped_invalid".into(), json!(m.dropped_invalid));
        out.insert("output_dir".into(), json!(dir.display().to_string()));
        Ok(out)
    }
}
