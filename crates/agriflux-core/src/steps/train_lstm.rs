//! Step 6: train the NDVI forecasting LSTM and evaluate it against the persistence baseline.

use serde_json::json;

use super::UsesSettings;
use super::cnn_dataset::dataset_error;
use super::evaluate::{
    LSTM_BASELINES, baseline_figures, baseline_pairs, evaluate_lstm_models, headline,
    lstm_gate_evidence, lstm_split_sizes,
};
use super::training::{MetricsReport, evaluate_lstm, train_lstm, write_predictions};
use super::{REAL, model_path, round4, test_predictions_path, training_step_deps};
use crate::datasets::Split;
use crate::datasets::sequences::{load_sequence_metadata, load_sequence_set};
use crate::ml::RegressionMetrics;
use crate::pipeline::{Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir};
use crate::settings::Settings;

/// Trains and evaluates the LSTM.
pub struct TrainLstmStep;

impl Step for TrainLstmStep {
    fn id(&self) -> StepId {
        StepId::TrainLstm
    }

    /// Reads the real LSTM splits and metadata and depends on epochs, patience, seed and the
    /// sequence length (it checks the dataset against it).
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        let used = ["lstm-epochs", "lstm-patience", "seed", "sequence-length"];
        Some(training_step_deps(workdir, "lstm").uses(settings, &used))
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let dir = ctx.workdir.training();
        let meta = load_sequence_metadata(&dir, REAL).map_err(dataset_error)?;
        if meta.sequence_length != ctx.settings.sequence_length {
            return Err(StepError::failed(format!(
                "the LSTM dataset has sequences of {} dates but this run asks for {}: run the LSTM dataset step again",
                meta.sequence_length, ctx.settings.sequence_length
            )));
        }
        let l = meta.sequence_length;
        let train = load_sequence_set(&dir, Split::Train, REAL, l).map_err(dataset_error)?;
        let val = load_sequence_set(&dir, Split::Val, REAL, l).map_err(dataset_error)?;
        let test = load_sequence_set(&dir, Split::Test, REAL, l).map_err(dataset_error)?;
        let model_file = model_path(ctx, "lstm", REAL);
        let outcome = train_lstm(ctx, REAL, &train, &val, &meta.normalisation, &model_file)?;
        ctx.check_cancel()?;

        let (predictions, metrics) = evaluate_lstm(&outcome.model, &test)?;
        let persistence = RegressionMetrics::compute(&test.y, &test.persistence(l));
        write_predictions(
            &test_predictions_path(ctx.workdir, "lstm"),
            test.len(),
            1,
            &predictions,
        )?;
        if metrics.mae >= persistence.mae {
            ctx.warn(format!(
                "the LSTM (test MAE {:.4}) does not beat the persistence baseline (MAE {:.4})",
                metrics.mae, persistence.mae
            ));
        }
        let evaluation = evaluate_lstm_models(
            &meta,
            &test,
            &[("model", predictions.as_slice())],
            &baseline_pairs("model", &LSTM_BASELINES),
            ctx.settings.seed,
        );
        let gate_evidence = lstm_gate_evidence(&evaluation, "model");
        if let Some(e) = &gate_evidence {
            ctx.info(format!("LSTM test figures: {}", e.sentence()));
        }
        let model = &evaluation.predictors["model"];
        let figures = json!({
            "mae": model.mae,
            "rmse": model.rmse,
            "r2": model.r2,
            "skill_vs_persistence": model.skill,
            "test_target_dates": evaluation.target_dates,
            "test_spatial_clusters": evaluation.spatial_clusters,
        });
        let baselines = baseline_figures(&evaluation.predictors, &LSTM_BASELINES);
        let split_sizes = lstm_split_sizes(&meta);
        let headline = headline(
            figures,
            baselines,
            &gate_evidence,
            split_sizes,
            evaluation.resamples,
        );
        let extra = json!({
            "test_sequences": test.len(),
            "metrics": metrics,
            "persistence_baseline": persistence,
        });
        let report = MetricsReport {
            model: "lstm_real",
            source: &meta.source,
            evaluation: json!(evaluation),
            headline: &headline,
            outcome: &outcome,
            num_params: outcome.model.num_params(),
            model_file: &model_file,
        };
        let metrics_path = report.write(ctx, extra)?;

        let mut out = StepOutput::new();
        out.insert(
            "test_metrics".into(),
            json!({
                "evaluated_on": "test",
                "n": test.len(),
                "mae": round4(metrics.mae),
                "rmse": round4(metrics.rmse),
                "r2": round4(metrics.r2),
                "persistence_mae": round4(persistence.mae),
                "persistence_rmse": round4(persistence.rmse),
                "persistence_r2": round4(persistence.r2),
            }),
        );
        out.insert("evaluation".into(), headline);
        out.insert("best_epoch".into(), json!(outcome.best_epoch));
        out.insert("epochs_run".into(), json!(outcome.history.len()));
        out.insert("stopped_early".into(), json!(outcome.stopped_early));
        out.insert("num_params".into(), json!(outcome.model.num_params()));
        out.insert("model_file".into(), json!(model_file.display().to_string()));
        out.insert(
            "metrics_file".into(),
            json!(metrics_path.display().to_string()),
        );
        Ok(out)
    }
}
