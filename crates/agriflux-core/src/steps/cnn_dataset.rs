//! Step 3: the CNN patch dataset (`data/training/cnn_*_real.npy`).

use serde_json::json;

use super::UsesSettings;
use super::{REAL, dataset_files, load_usable_scenes, scene_deps};
use crate::datasets::patches::{
    OBSERVED_LABELS_STRIDE, PatchConfig, PatchLabels, build_patch_splits, save_patch_splits,
};
use crate::datasets::{DatasetError, Split};
use crate::ground_truth::{GridObservations, Observations, SIMULATED_TRUTH_FILE};
use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir, ensure_free_space,
};
use crate::raster::scene::Scene;
use crate::settings::{Settings, SourceKind};

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
                .uses(settings, &["samples-per-class", "seed"])
                .setting(
                    "labels",
                    settings
                        .labels
                        .as_ref()
                        .map_or_else(|| "ndvi".into(), |p| p.display().to_string()),
                )
                .inputs(settings.labels.clone().map(FileSet::file))
                .outputs(dataset_files(workdir, "cnn", REAL, &Split::ALL, true)),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let scenes = load_usable_scenes(ctx)?;
        let mut cfg = PatchConfig::new(ctx.settings.samples_per_class, ctx.settings.seed);
        let source = ctx.settings.source.to_string();
        let cancel = ctx.cancel_token().clone();
        let observations = observations_on_grid(ctx, &scenes)?;
        if observations.is_some() {
            cfg.stride = OBSERVED_LABELS_STRIDE;
        }
        let labels = match &observations {
            Some((grid, from)) => PatchLabels::Observed {
                observations: grid,
                from: from.clone(),
            },
            None => {
                ctx.warn(crate::steps::evaluate::NDVI_LABELS_NOTE);
                PatchLabels::Ndvi
            }
        };
        let mut splits = build_patch_splits(
            &scenes,
            &cfg,
            &labels,
            REAL,
            &source,
            &cancel,
            |done, total| {
                ctx.progress(done as u64, total as u64, "dates", "cutting patches");
            },
        )
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
        out.insert(
            "labels".into(),
            json!({
                "source": m.label_source,
                "from": m.labels_from,
                "observations_on_grid": m.observations_on_grid,
                "observations_used": m.observations_used,
                "patches_without_observation": m.unlabelled,
            }),
        );
        if let Some(from) = &m.labels_from {
            ctx.info(format!(
                "labels: {} of {} observations on the grid labelled patches ({from}); {} patch positions had none",
                m.observations_used, m.observations_on_grid, m.unlabelled
            ));
        }
        out.insert("output_dir".into(), json!(dir.display().to_string()));
        Ok(out)
    }
}

/// The run's observations on the scenes' grid with where they come from, or `None` for
/// NDVI-derived labels.
fn observations_on_grid(
    ctx: &mut StepContext<'_>,
    scenes: &[Scene],
) -> Result<Option<(GridObservations, String)>, StepError> {
    // Only `--labels`: the simulated truth beside the scenes is used when named there, since
    // on the small areas of quick runs too few patch centres fall on an established crop to
    // fill every split.
    let Some(path) = ctx.settings.labels.clone() else {
        return Ok(None);
    };
    let from =
        if path.ends_with(SIMULATED_TRUTH_FILE) && ctx.settings.source == SourceKind::Simulated {
            format!("the simulated source's hidden truth ({})", path.display())
        } else {
            path.display().to_string()
        };
    let observations = Observations::read(&path).map_err(|e| StepError::failed(e.to_string()))?;
    let first = scenes
        .first()
        .ok_or_else(|| StepError::failed("no usable scenes to label"))?;
    let grid = GridObservations::project(
        &observations,
        first.crs,
        &first.transform,
        first.width,
        first.height,
    )
    .map_err(|e| StepError::failed(e.to_string()))?;
    if grid.is_empty() {
        return Err(StepError::failed(format!(
            "none of the {} observations in {} lies on the scenes' area ({} x {} px, EPSG:{}): check the file's coordinates (GeoJSON is longitude, latitude in WGS84)",
            observations.items.len(),
            path.display(),
            first.width,
            first.height,
            first.crs.epsg
        )));
    }
    if grid.outside > 0 {
        ctx.warn(format!(
            "{} of {} observations in {} lie outside the scenes' area and are not used",
            grid.outside,
            observations.items.len(),
            path.display()
        ));
    }
    Ok(Some((grid, from)))
}
