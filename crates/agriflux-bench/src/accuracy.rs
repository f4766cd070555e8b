//! `agriflux-bench accuracy`: what the models learn, seed by seed, on a pipeline-written
//! dataset — the check that a faster implementation of a layer leaves the results unchanged in
//! expectation. Two builds (before and after a change) run on the same dataset and seeds give a
//! before/after table; one seed alone cannot separate a change from trajectory noise.

use std::path::Path;

use agriflux_core::datasets::Split;
use agriflux_core::datasets::patches::{load_patch_metadata, load_patch_set};
use agriflux_core::datasets::sequences::{FEATURES, load_sequence_metadata, load_sequence_set};
use agriflux_core::ml::{
    CancelToken, CnnRequest, EpochStats, LstmRequest, PatchSet, SequenceSet, TrainConfig,
    TrainingMonitor, train_cnn, train_lstm,
};
use agriflux_core::pipeline::WorkDir;
use anyhow::Result;

/// Data tag of the pipeline's own files.
const TAG: &str = "real";

/// Ignores progress.
struct Quiet;

impl TrainingMonitor for Quiet {
    fn epoch_finished(&mut self, _stats: &EpochStats, _max_epochs: usize) {}
    fn batch_finished(&mut self, _epoch: usize, _batch: usize, _batches: usize) {}
}

/// Trains the CNN for `cnn_epochs` and the LSTM for `lstm_epochs` (the pipeline's settings
/// otherwise: Adam 1e-3, batch 32, early stopping, best epoch kept) once per seed, prints one
/// JSON line per model and seed with its test figures, then the mean and standard deviation.
pub fn run(workdir: &Path, seeds: &[u64], cnn_epochs: usize, lstm_epochs: usize) -> Result<()> {
    let dir = WorkDir::new(workdir).training();
    let cancel = CancelToken::new();
    let mut cnn_rows = Vec::new();
    if cnn_epochs > 0 {
        let norm = load_patch_metadata(&dir, TAG)?.normalisation;
        let [train, val, test] =
            [Split::Train, Split::Val, Split::Test].map(|s| load_patch_set(&dir, s, TAG));
        let (train, val, test) = (train?, val?, test?);
        for &seed in seeds {
            let cfg = TrainConfig {
                max_epochs: cnn_epochs,
                seed,
                ..TrainConfig::cnn()
            };
            let outcome = train_cnn(
                &CnnRequest::new(
                    &PatchSet::new(&train.x, &train.y),
                    &PatchSet::new(&val.x, &val.y),
                    &norm,
                    &cfg,
                ),
                &mut Quiet,
                &cancel,
            )?;
            let m = outcome.model.evaluate(&PatchSet::new(&test.x, &test.y))?;
            println!(
                "{}",
                serde_json::json!({"model": "cnn", "seed": seed, "test_accuracy": m.accuracy,
                    "test_kappa": m.cohen_kappa, "best_epoch": outcome.best_epoch})
            );
            cnn_rows.push([m.accuracy, m.cohen_kappa]);
        }
    }
    let mut lstm_rows = Vec::new();
    if lstm_epochs > 0 {
        let meta = load_sequence_metadata(&dir, TAG)?;
        let seq_len = meta.sequence_length;
        let [train, val, test] = [Split::Train, Split::Val, Split::Test]
            .map(|s| load_sequence_set(&dir, s, TAG, seq_len));
        let (train, val, test) = (train?, val?, test?);

        for &seed in seeds {
            let cfg = TrainConfig {
                max_epochs: lstm_epochs,
                seed,
                ..TrainConfig::lstm()
            };
            let outcome = train_lstm(
                &LstmRequest::new(
                    &view(&train, seq_len),
                    &view(&val, seq_len),
                    &meta.normalisation,
                    &cfg,
                ),
                &mut Quiet,
                &cancel,
            )?;
            let m = outcome.model.evaluate(&view(&test, seq_len))?;
            println!(
                "{}",
                serde_json::json!({"model": "lstm", "seed": seed, "test_mae": m.mae,
                    "test_rmse": m.rmse, "best_epoch": outcome.best_epoch})
            );
            lstm_rows.push([m.mae, m.rmse]);
        }
    }
    summary("cnn", ["test_accuracy", "test_kappa"], &cnn_rows);
    summary("lstm", ["test_mae", "test_rmse"], &lstm_rows);
    Ok(())
}

/// Prints the mean and sample standard deviation of each column.
fn summary(model: &str, names: [&str; 2], rows: &[[f64; 2]]) {
    if rows.is_empty() {
        return;
    }
    let n = rows.len() as f64;
    for (k, name) in names.iter().enumerate() {
        let mean = rows.iter().map(|r| r[k]).sum::<f64>() / n;
        let var = rows.iter().map(|r| (r[k] - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        println!(
            "{}",
            serde_json::json!({"model": model, "summary": name, "mean": mean,
                "sd": var.sqrt(), "seeds": rows.len()})
        );
    }
}

/// A pipeline sequence set as the trainer's borrowed view.
fn view(s: &agriflux_core::datasets::sequences::SequenceSet, seq_len: usize) -> SequenceSet<'_> {
    SequenceSet {
        x: &s.x,
        y: &s.y,
        n: s.y.len(),
        seq_len,
        features: FEATURES,
    }
}
