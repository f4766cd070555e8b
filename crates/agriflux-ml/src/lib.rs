//! Machine learning: the crop-health CNN and the NDVI-forecasting LSTM, trained with burn.
//!
//! Both models keep the original system's architectures (see [`CnnArchitecture`] and
//! [`LstmArchitecture`]) and train with Adam on the pure-Rust `flex` CPU backend by default;
//! a [`TrainingRequest`] names the data, normalisation, hyper-parameters, architecture and
//! device of one training.
//!
//! - [`train_cnn`] / [`train_lstm`] run a seeded, cancellable training loop with early stopping
//!   on the validation loss that restores the best epoch's weights, reporting every batch and
//!   epoch to a [`TrainingMonitor`].
//! - [`CnnClassifier`] / [`LstmRegressor`] predict from raw (unnormalised) inputs; the
//!   [`Normalisation`] fitted on the training split travels with the model and is applied
//!   inside.
//! - `save` writes the weights (burnpack) and a JSON sidecar atomically; `load` reproduces the
//!   predictions bit for bit and says clearly when a file is missing, corrupt or incompatible.
//! - [`metrics`] computes the evaluation figures the pipeline reports.
//!
//! Reproducibility: burn's `flex` backend has one process-wide random generator (weight
//! initialisation, dropout). Training therefore holds a process-wide lock, so trainings in one
//! process run one after the other and two runs with the same seed give identical weights.
//! Prediction and loading use no randomness and never wait for that lock.

mod activations;
mod bilstm;
mod cnn;
mod kernels;
mod lstm;
pub mod metrics;
mod normalisation;
mod persist;
mod training;

#[cfg(test)]
mod test_support;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use agriflux_base::CancelToken;
pub use burn::tensor::Device;
pub use cnn::{
    CNN_BANDS, CNN_CLASSES, CNN_PATCH_SIZE, CnnArchitecture, CnnClassifier, CnnRequest, PatchSet,
    train_cnn,
};
pub use lstm::{
    LstmArchitecture, LstmRegressor, LstmRequest, SequenceSet, persistence_forecast, train_lstm,
};
pub use metrics::{ClassMetrics, ClassificationMetrics, RegressionMetrics};
pub use normalisation::Normalisation;
pub use training::{TrainingOutcome, TrainingRequest};

/// Tunes the C allocator of a program that trains models to keep freed memory for reuse; call
/// once at its start.
///
/// Why: every training step allocates and frees batch-sized activation buffers (up to ~17 MB).
/// By default glibc serves such sizes with fresh `mmap`s and returns them on free, so each
/// step pays page faults and the kernel zeroing pages (~10 % of CNN training time in profiles).
/// Raising the thresholds keeps those buffers in the allocator's heap. Does nothing on other
/// platforms.
pub fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's tuning parameters; 32 MiB is glibc's largest
    // accepted mmap threshold on 64-bit systems.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Returns the heap's free memory to the system; call when a long computation has ended in a
/// program that stays open (the desktop app after a run), since
/// [`keep_freed_memory_for_reuse`] otherwise keeps up to 256 MiB of it. Does nothing on other
/// platforms.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free pages of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The device models train and predict on unless told otherwise: burn's pure-Rust `flex` CPU
/// backend.
pub fn default_device() -> Device {
    Device::flex()
}

/// Hyper-parameters shared by both trainers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    /// Upper bound on the number of epochs.
    pub max_epochs: usize,
    /// Samples per optimiser step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Epochs without a better validation loss before training stops; 0 disables early
    /// stopping (the best epoch's weights are still the ones returned).
    pub patience: usize,
    /// Seed for weight initialisation, dropout and the per-epoch shuffles.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The CNN's settings of the original: 50 epochs, batch 32, learning rate 1e-3, patience 10.
    fn default() -> Self {
        Self::cnn()
    }
}

impl TrainConfig {
    /// The original CNN settings: up to 50 epochs, batch 32, Adam 1e-3, patience 10, seed 42.
    pub fn cnn() -> Self {
        Self {
            max_epochs: 50,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 10,
            seed: 42,
        }
    }

    /// The original LSTM settings: up to 100 epochs, batch 32, Adam 1e-3, patience 15, seed 42.
    pub fn lstm() -> Self {
        Self {
            max_epochs: 100,
            patience: 15,
            ..Self::cnn()
        }
    }

    /// Checks that the settings can drive a training run.
    pub fn validate(&self) -> Result<(), MlError> {
        if self.max_epochs == 0 {
            return Err(MlError::InvalidConfig(
                "max_epochs must be at least 1".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(MlError::InvalidConfig(
                "batch_size must be at least 1".into(),
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(MlError::InvalidConfig(format!(
                "learning_rate must be a positive number, got {}",
                self.learning_rate
            )));
        }
        Ok(())
    }
}

/// One epoch's figures (train and validation), 1-based epoch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochStats {
    /// Epoch number, starting at 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's samples (training mode: dropout on).
    pub train_loss: f64,
    /// Mean validation loss (evaluation mode).
    pub val_loss: f64,
    /// Training accuracy (classifier only).
    pub train_accuracy: Option<f64>,
    /// Validation accuracy (classifier only).
    pub val_accuracy: Option<f64>,
    /// Validation mean absolute error (regressor only).
    pub val_mae: Option<f64>,
}

/// Receives progress while a model trains (the pipeline turns these into events).
pub trait TrainingMonitor {
    /// Called after each epoch's validation, with the epoch's figures.
    fn epoch_finished(&mut self, stats: &EpochStats, max_epochs: usize);
    /// Called after each optimiser step; `batch` is 1-based out of `batches` in the epoch.
    fn batch_finished(&mut self, _epoch: usize, _batch: usize, _batches: usize) {}
}

/// A [`TrainingMonitor`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMonitor;

impl TrainingMonitor for NoMonitor {
    fn epoch_finished(&mut self, _stats: &EpochStats, _max_epochs: usize) {}
}

/// Errors of the machine-learning module.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// The cancel token was triggered while training.
    #[error("training cancelled")]
    Cancelled,
    /// A split holds no samples.
    #[error("the {split} set is empty")]
    EmptyDataset {
        /// Which split ("training", "validation", ...).
        split: &'static str,
    },
    /// An array does not have the length its declared shape implies.
    #[error("{what}: expected {expected} values, got {actual}")]
    ShapeMismatch {
        /// The array and the shape it should have.
        what: String,
        /// Expected number of values.
        expected: usize,
        /// Number of values found.
        actual: usize,
    },
    /// A class label is outside `0..classes`.
    #[error("{split} label {label} at sample {index} is not a class in 0..{classes}")]
    InvalidLabel {
        /// Which split.
        split: &'static str,
        /// Sample index.
        index: usize,
        /// The offending label.
        label: i64,
        /// Number of classes.
        classes: usize,
    },
    /// An input holds NaN or an infinity.
    #[error("{what} holds a non-finite value at index {index}")]
    NonFinite {
        /// The array.
        what: String,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// Training hyper-parameters that cannot be used.
    #[error("invalid training configuration: {0}")]
    InvalidConfig(String),
    /// A model architecture that cannot be built.
    #[error("invalid architecture: {0}")]
    InvalidArchitecture(String),
    /// A normalisation that does not fit the data.
    #[error("invalid normalisation: {0}")]
    InvalidNormalisation(String),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged: non-finite {which} loss in epoch {epoch} (try a lower learning rate)"
    )]
    Diverged {
        /// "training" or "validation".
        which: &'static str,
        /// 1-based epoch.
        epoch: usize,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file exists but its contents are damaged.
    #[error("model file {path} is corrupt: {reason}")]
    CorruptModel {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model file is intact but was written for another model or format version.
    #[error("model file {path} is incompatible: {reason}")]
    IncompatibleModel {
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// The tensor backend reported an error.
    #[error("tensor backend error: {0}")]
    Backend(String),
}

/// Version of the sidecar format written by `save`.
pub const MODEL_FORMAT_VERSION: u32 = 1;
