//! Why a run stops before or after its steps.

use std::path::PathBuf;

/// A problem that stops a run before or after its steps (not a step failure).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Another run holds the work directory.
    #[error(transparent)]
    Locked(#[from] super::lock::LockError),
    /// A folder or file of the run's own bookkeeping could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `--from` names a step this pipeline does not have.
    #[error("--from {step}: this pipeline has no such step (its steps: {steps})")]
    NoSuchStep {
        /// The step asked for.
        step: super::StepId,
        /// The pipeline's steps, comma-separated.
        steps: String,
    },
}
