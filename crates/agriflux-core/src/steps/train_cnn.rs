//! Step 5: train the crop-health CNN on the real patches and evaluate it on the test split.

use serde_json::json;

use super::UsesSettings;
use super::cnn_dataset::dataset_error;
use super::evaluate::{
    CNN_BASELINES, baseline_figures, baseline_pairs, cnn_gate_evidence, cnn_labels,
    cnn_split_sizes, evaluate_cnn_models, headline,
};
use super::training::{MetricsReport, evaluate_cnn, train_cnn, write_predictions};
use super::{REAL, model_path, round4, test_predictions_path, training_step_deps};
use crate::datasets::CLASS_NAMES;
use crate::datasets::Split;
use crate::datasets::patches::{load_patch_metadata, load_patch_set};
use crate::pipeline::{
    Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir, ensure_free_space,
};
use crate::settings::Settings;

/// Trains and evaluates the CNN.
pub struct TrainCnnStep;

impl Step for TrainCnnStep {
    fn id(&self) -> StepId {
        StepId::TrainCnn
    }

    /// Reads the real CNN splits and metadata (so `samples_per_class` reaches it through those
    /// files) and depends on epochs, patience, seed and the quality gate.
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        let used = ["cnn-epochs", "cnn-patience", "seed", "cnn-min-accuracy"];
        Some(training_step_deps(workdir, "cnn").uses(settings, &used))
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let dir = ctx.workdir.training();
        let meta = load_patch_metadata(&dir, REAL).map_err(dataset_error)?;
        let train = load_patch_set(&dir, Split::Train, REAL).map_err(dataset_error)?;
        let val = load_patch_set(&dir, Split::Val, REAL).map_err(dataset_error)?;
        let test = load_patch_set(&dir, Split::Test, REAL).map_err(dataset_error)?;
        let model_file = model_path(ctx, "cnn", REAL);
        // The weights (1.14 M float32 parameters and batch-norm statistics), sidecar and history.
        ensure_free_space(&ctx.workdir.models(), 6_000_000, "the CNN model")?;
        let outcome = train_cnn(ctx, REAL, &train, &val, &meta.normalisation, &model_file)?;
        ctx.check_cancel()?;

        // The headline figures are the SAVED model's, on the held-out test split.
        let (proba, metrics) = evaluate_cnn(&outcome.model, &test)?;
        let flat: Vec<f32> = proba.iter().flatten().copied().collect();
        write_predictions(
            &test_predictions_path(ctx.workdir, "cnn"),
            test.len(),
            4,
            &flat,
        )?;
        let min = ctx.settings.cnn_min_accuracy;
        let gate_passed = metrics.accuracy >= min;
        if !gate_passed {
            ctx.warn(format!(
                "quality gate: test accuracy {:.4} is below the minimum {min:.2} (reported as a warning)",
                metrics.accuracy
            ));
        }
        // The model beside its baselines on the same test patches, with block-bootstrap
        // intervals computed from the stored predictions.
        let evaluation = evaluate_cnn_models(
            &meta,
            &test,
            &[("model", proba.as_slice())],
            &baseline_pairs("model", &CNN_BASELINES),
            ctx.settings.seed,
        );
        let gate_evidence = cnn_gate_evidence(&evaluation, "model");
        let labels = cnn_labels(&meta);
        let split_sizes = cnn_split_sizes(&meta);
        if let Some(e) = &gate_evidence {
            ctx.info(format!("CNN test figures: {}", e.sentence()));
        }
        if let Some(note) = labels.get("note").and_then(|v| v.as_str()) {
            let rule = &evaluation.predictors["ndvi_rule_centre"].accuracy;
            ctx.warn(format!("{note} (the rule itself scores accuracy {rule})"));
        }
        let model = &evaluation.predictors["model"];
        let figures = json!({
            "accuracy": model.accuracy,
            "macro_f1": model.macro_f1,
            "cohen_kappa": model.cohen_kappa,
            "support": evaluation.support,
            "test_blocks": evaluation.clusters,
            "labels": labels,
        });
        let baselines = baseline_figures(&evaluation.predictors, &CNN_BASELINES);
        let headline = headline(
            figures,
            baselines,
            &gate_evidence,
            split_sizes,
            evaluation.resamples,
        );
        let extra = json!({
            "test_patches": test.len(),
            "class_names": CLASS_NAMES,
            "metrics": metrics,
            "quality_gate": {"min_accuracy": min, "passed": gate_passed},
        });
        let report = MetricsReport {
            model: "cnn_real",
            source: &meta.source,
            evaluation: json!(evaluation),
            headline: &headline,
            outcome: &outcome,
            num_params: outcome.model.num_params(),
            model_file: &model_file,
        };
        let metrics_path = report.write(ctx, extra)?;

        let mut out = StepOutput::new();
        out.insert("evaluated_on".into(), json!("test"));
        out.insert("test_accuracy".into(), json!(round4(metrics.accuracy)));
        out.insert(
            "test_weighted_f1".into(),
            json!(round4(metrics.weighted_f1)),
        );
        out.insert(
            "test_cohen_kappa".into(),
            json!(round4(metrics.cohen_kappa)),
        );
        out.insert("test_patches".into(), json!(test.len()));
        out.insert("evaluation".into(), headline);
        out.insert("best_epoch".into(), json!(outcome.best_epoch));
        out.insert("epochs_run".into(), json!(outcome.history.len()));
        out.insert("stopped_early".into(), json!(outcome.stopped_early));
        out.insert("num_params".into(), json!(outcome.model.num_params()));
        out.insert("quality_gate_passed".into(), json!(gate_passed));
        out.insert("model_file".into(), json!(model_file.display().to_string()));
        out.insert(
            "metrics_file".into(),
            json!(metrics_path.display().to_string()),
        );
        Ok(out)
    }
}
