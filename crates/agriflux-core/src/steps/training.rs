//! Shared by the training and comparison steps: train a model with live events, evaluate it on
//! a split, and write its history, metrics and predictions.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::atomic_file;
use crate::datasets::npy::{NpyError, read_npy, write_npy};
use crate::datasets::patches::PatchSet;
use crate::datasets::sequences::SequenceSet;
use crate::ml::{
    self, CancelToken, ClassificationMetrics, EpochStats, MlError, Normalisation,
    RegressionMetrics, TrainConfig, TrainingMonitor, TrainingOutcome,
};
use crate::pipeline::{StepContext, StepError};

/// Turns training progress into events: live curves (`real/val_loss`, `synthetic_cnn/val_loss`),
/// epoch progress and a log line per epoch.
pub(crate) struct EventMonitor<'c, 'a> {
    ctx: &'c mut StepContext<'a>,
    tag: &'static str,
    /// The curves' name before `/`: the tag, or with the model for step 7's two models.
    series: String,
}

impl<'c, 'a> EventMonitor<'c, 'a> {
    /// A monitor of the `kind` (`CNN`, `LSTM`) model trained on `tag` data. Step 7 trains
    /// both synthetic models in one step, so their curves are named `synthetic_cnn/…` and
    /// `synthetic_lstm/…`; steps 5 and 6 train one model each, named `real/…`.
    pub(crate) fn new(ctx: &'c mut StepContext<'a>, tag: &'static str, kind: &str) -> Self {
        let series = if tag == super::SYNTHETIC {
            format!("{tag}_{}", kind.to_lowercase())
        } else {
            tag.to_string()
        };
        Self { ctx, tag, series }
    }
}

impl TrainingMonitor for EventMonitor<'_, '_> {
    fn epoch_finished(&mut self, s: &EpochStats, max_epochs: usize) {
        let tag = self.tag;
        let series = &self.series;
        let x = s.epoch as f64;
        self.ctx
            .metric(&format!("{series}/train_loss"), x, s.train_loss);
        self.ctx
            .metric(&format!("{series}/val_loss"), x, s.val_loss);
        let mut line = format!(
            "{tag} model, epoch {}/{max_epochs}: train loss {:.4}, val loss {:.4}",
            s.epoch, s.train_loss, s.val_loss
        );
        if let Some(a) = s.train_accuracy {
            self.ctx.metric(&format!("{series}/train_accuracy"), x, a);
        }
        if let Some(a) = s.val_accuracy {
            self.ctx.metric(&format!("{series}/val_accuracy"), x, a);
            line.push_str(&format!(", val accuracy {a:.3}"));
        }
        if let Some(m) = s.val_mae {
            self.ctx.metric(&format!("{series}/val_mae"), x, m);
            line.push_str(&format!(", val MAE {m:.4}"));
        }
        self.ctx
            .progress(s.epoch as u64, max_epochs as u64, "epochs", line.clone());
        self.ctx.info(line);
    }

    fn batch_finished(&mut self, epoch: usize, batch: usize, batches: usize) {
        self.ctx.progress(
            epoch as u64 - 1,
            self.epochs_total(),
            "epochs",
            format!("{} model, epoch {epoch}, batch {batch}/{batches}", self.tag),
        );
    }
}

impl EventMonitor<'_, '_> {
    fn epochs_total(&self) -> u64 {
        match self.ctx.step {
            crate::pipeline::StepId::TrainLstm => self.ctx.settings.lstm_epochs as u64,
            crate::pipeline::StepId::TrainCnn => self.ctx.settings.cnn_epochs as u64,
            _ => self
                .ctx
                .settings
                .cnn_epochs
                .max(self.ctx.settings.lstm_epochs) as u64,
        }
    }
}

/// The CNN's training settings from the run settings.
pub(crate) fn cnn_config(ctx: &StepContext<'_>) -> TrainConfig {
    TrainConfig {
        max_epochs: ctx.settings.cnn_epochs,
        patience: ctx.settings.cnn_patience,
        seed: ctx.settings.seed,
        ..TrainConfig::cnn()
    }
}

/// The LSTM's training settings from the run settings.
pub(crate) fn lstm_config(ctx: &StepContext<'_>) -> TrainConfig {
    TrainConfig {
        max_epochs: ctx.settings.lstm_epochs,
        patience: ctx.settings.lstm_patience,
        seed: ctx.settings.seed,
        ..TrainConfig::lstm()
    }
}

fn io_failed(path: &Path, e: impl std::fmt::Display) -> StepError {
    StepError::failed(format!("{}: {e}", path.display()))
}

/// Writes `<model stem>_history.json` beside the model file.
fn write_history<M>(
    model_file: &Path,
    source: &str,
    outcome: &TrainingOutcome<M>,
    max_epochs: usize,
) -> Result<(), StepError> {
    let stem = model_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = model_file.with_file_name(format!("{stem}_history.json"));
    let value = json!({
        "model": stem,
        "source": source,
        "max_epochs": max_epochs,
        "epochs_run": outcome.history.len(),
        "best_epoch": outcome.best_epoch,
        "stopped_early": outcome.stopped_early,
        "restored_best_weights": true,
        "history": outcome.history,
    });
    atomic_file::write_json(&path, &value).map_err(|e| io_failed(&path, e))
}

/// What one training is about: the model's kind, its data sizes, and where it is saved.
struct Training<'p> {
    /// `CNN` or `LSTM`.
    kind: &'static str,
    /// `patches` or `sequences`.
    unit: &'static str,
    /// Training and validation samples.
    sizes: (usize, usize),
    model_file: &'p Path,
}

impl<'p> Training<'p> {
    fn new(
        kind: &'static str,
        unit: &'static str,
        sizes: (usize, usize),
        model_file: &'p Path,
    ) -> Self {
        Self {
            kind,
            unit,
            sizes,
            model_file,
        }
    }
}

/// Trains one model with live events tagged `tag`, saves it and its history, and says which
/// epoch's weights were kept. `train` runs the training; `save` writes the model.
fn train_and_save<M>(
    ctx: &mut StepContext<'_>,
    tag: &'static str,
    training: Training<'_>,
    config: &TrainConfig,
    train: impl FnOnce(&mut EventMonitor<'_, '_>, &CancelToken) -> Result<TrainingOutcome<M>, MlError>,
    save: impl FnOnce(&M, &Path) -> Result<(), MlError>,
) -> Result<TrainingOutcome<M>, StepError> {
    let Training {
        kind,
        unit,
        sizes: (n_train, n_val),
        model_file,
    } = training;
    let cancel = ctx.cancel_token().clone();
    ctx.info(format!(
        "training the {tag} {kind} on {n_train} {unit} (validation {n_val}), up to {} epochs",
        config.max_epochs
    ));
    let outcome = train(&mut EventMonitor::new(ctx, tag, kind), &cancel)?;
    save(&outcome.model, model_file)?;
    write_history(model_file, tag, &outcome, config.max_epochs)?;
    ctx.info(format!(
        "{tag} {kind}: best epoch {} of {} run{}; its weights were restored",
        outcome.best_epoch,
        outcome.history.len(),
        if outcome.stopped_early {
            " (stopped early)"
        } else {
            ""
        }
    ));
    Ok(outcome)
}

/// Trains a CNN on `train`/`val` with events tagged `tag`, saving it to `model_file`.
pub(crate) fn train_cnn(
    ctx: &mut StepContext<'_>,
    tag: &'static str,
    train: &PatchSet,
    val: &PatchSet,
    norm: &Normalisation,
    model_file: &Path,
) -> Result<TrainingOutcome<ml::CnnClassifier>, StepError> {
    let config = cnn_config(ctx);
    let (train_set, val_set) = (
        ml::PatchSet::new(&train.x, &train.y),
        ml::PatchSet::new(&val.x, &val.y),
    );
    let request = ml::CnnRequest::new(&train_set, &val_set, norm, &config);
    let training = Training::new("CNN", "patches", (train.len(), val.len()), model_file);
    let train =
        |monitor: &mut EventMonitor, cancel: &CancelToken| ml::train_cnn(&request, monitor, cancel);
    train_and_save(ctx, tag, training, &config, train, ml::CnnClassifier::save)
}

/// Trains an LSTM on `train`/`val` with events tagged `tag`, saving it to `model_file`.
pub(crate) fn train_lstm(
    ctx: &mut StepContext<'_>,
    tag: &'static str,
    train: &SequenceSet,
    val: &SequenceSet,
    norm: &Normalisation,
    model_file: &Path,
) -> Result<TrainingOutcome<ml::LstmRegressor>, StepError> {
    let config = lstm_config(ctx);
    let seq_len = ctx.settings.sequence_length;
    fn set(s: &SequenceSet, seq_len: usize) -> ml::SequenceSet<'_> {
        ml::SequenceSet {
            x: &s.x,
            y: &s.y,
            n: s.len(),
            seq_len,
            features: crate::datasets::sequences::FEATURES,
        }
    }
    let (train_set, val_set) = (set(train, seq_len), set(val, seq_len));
    let request = ml::LstmRequest::new(&train_set, &val_set, norm, &config);
    let training = Training::new("LSTM", "sequences", (train.len(), val.len()), model_file);
    let train = |monitor: &mut EventMonitor, cancel: &CancelToken| {
        ml::train_lstm(&request, monitor, cancel)
    };
    train_and_save(ctx, tag, training, &config, train, ml::LstmRegressor::save)
}

/// Predicts `set` with a CNN and computes its metrics.
pub(crate) fn evaluate_cnn(
    model: &ml::CnnClassifier,
    set: &PatchSet,
) -> Result<(Vec<[f32; 4]>, ClassificationMetrics), StepError> {
    let proba = model.predict_proba(&set.x, set.len())?;
    let metrics = ClassificationMetrics::compute(&set.y, &proba);
    Ok((proba, metrics))
}

/// Predicts `set` with an LSTM and computes its metrics.
pub(crate) fn evaluate_lstm(
    model: &ml::LstmRegressor,
    set: &SequenceSet,
) -> Result<(Vec<f32>, RegressionMetrics), StepError> {
    let predictions = model.predict(&set.x, set.len())?;
    let metrics = RegressionMetrics::compute(&set.y, &predictions);
    Ok((predictions, metrics))
}

/// Reads the test-split predictions a real-data training step wrote, `rows` rows of `width`
/// values (float32 or float64). These files, not the saved model, are what step 7 compares: a
/// user's own training command that replaces step 5 or 6 writes them in the same shape.
pub(crate) fn read_predictions(
    path: &Path,
    rows: usize,
    width: usize,
) -> Result<Vec<f32>, StepError> {
    let (shape, values) = match read_npy::<f32>(path) {
        Err(NpyError::WrongDtype { .. }) => read_npy::<f64>(path)
            .map(|(shape, v)| (shape, v.into_iter().map(|x| x as f32).collect::<Vec<_>>())),
        other => other,
    }
    .map_err(|e| StepError::failed(format!("cannot read the test predictions: {e}")))?;
    let expected: &[usize] = if width == 1 { &[rows] } else { &[rows, width] };
    let alternative = [rows, 1];
    if shape != expected && !(width == 1 && shape == alternative) {
        return Err(StepError::failed(format!(
            "{}: shape {shape:?}, but the test split has {rows} samples, so {expected:?} was \
             expected",
            path.display()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(StepError::failed(format!(
            "{}: holds values that are not finite numbers",
            path.display()
        )));
    }
    Ok(values)
}

/// Writes predictions as `.npy` (rows of `width` values).
pub(crate) fn write_predictions(
    path: &Path,
    rows: usize,
    width: usize,
    values: &[f32],
) -> Result<(), StepError> {
    let shape: Vec<usize> = if width == 1 {
        vec![rows]
    } else {
        vec![rows, width]
    };
    write_npy(path, &shape, values).map_err(|e| StepError::failed(e.to_string()))
}

/// `models/<model>_metrics.json`: the fields both training steps record (the test evaluation
/// and its headline, where the data came from, how training went, the model file).
pub(crate) struct MetricsReport<'a, M> {
    /// `cnn_real` or `lstm_real`.
    pub model: &'a str,
    /// The dataset's source (`simulated`, `sentinel-hub`, `files`).
    pub source: &'a str,
    /// Every predictor's figures on the test split.
    pub evaluation: serde_json::Value,
    /// The figures the report shows first (with `gate_evidence`).
    pub headline: &'a serde_json::Value,
    /// The training run.
    pub outcome: &'a TrainingOutcome<M>,
    /// The model's parameter count.
    pub num_params: usize,
    /// The saved model.
    pub model_file: &'a Path,
}

impl<M> MetricsReport<'_, M> {
    /// Writes the report, with the step's own `extra` fields (an object) merged in, and
    /// returns its path.
    pub(crate) fn write(
        &self,
        ctx: &StepContext<'_>,
        extra: serde_json::Value,
    ) -> Result<PathBuf, StepError> {
        let path = ctx
            .workdir
            .models()
            .join(format!("{}_metrics.json", self.model));
        let mut report = json!({
            "evaluation": self.evaluation,
            "headline": self.headline,
            "gate_evidence": self.headline["gate_evidence"],
            "model": self.model,
            "source": self.source,
            "simulated_data": self.source == "simulated",
            "evaluated_on": "test",
            "best_epoch": self.outcome.best_epoch,
            "epochs_run": self.outcome.history.len(),
            "stopped_early": self.outcome.stopped_early,
            "num_params": self.num_params,
            // Relative to the work directory: the folder can be moved, and two runs of one
            // seed in two folders write the same file.
            "model_file": self
                .model_file
                .strip_prefix(ctx.workdir.root())
                .unwrap_or(self.model_file)
                .display()
                .to_string(),
        });
        if let (Some(report), serde_json::Value::Object(extra)) = (report.as_object_mut(), extra) {
            report.extend(extra);
        }
        atomic_file::write_json(&path, &report).map_err(|e| io_failed(&path, e))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Vec<f32>, StepError>) -> String {
        match result {
            Err(StepError::Failed(m)) => m,
            other => panic!("not a failure: {other:?}"),
        }
    }

    #[test]
    fn reads_predictions_of_either_float_width_and_refuses_a_wrong_shape_or_non_finite_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cnn_real_test_predictions.npy");
        // numpy's default dtype, as a user's script writes it.
        write_npy::<f64>(&path, &[2, 4], &[1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0]).unwrap();
        assert_eq!(
            read_predictions(&path, 2, 4).unwrap(),
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0]
        );
        let m = message(read_predictions(&path, 3, 4));
        assert!(m.contains("shape [2, 4]") && m.contains("3 samples"), "{m}");

        write_npy::<f32>(&path, &[2, 1], &[0.4, 0.6]).unwrap();
        assert_eq!(read_predictions(&path, 2, 1).unwrap(), [0.4, 0.6]);
        write_npy::<f32>(&path, &[2], &[0.4, f32::NAN]).unwrap();
        assert!(message(read_predictions(&path, 2, 1)).contains("not finite"));

        std::fs::write(&path, b"not an array").unwrap();
        assert!(
            message(read_predictions(&path, 2, 1)).contains("cannot read the test predictions")
        );
    }
}
