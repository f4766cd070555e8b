//! The layout of a work directory: where each step reads and writes.

use std::path::{Path, PathBuf};

/// A work directory and the fixed places inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkDir {
    root: PathBuf,
}

impl WorkDir {
    /// Wraps `root` (nothing is created until a step writes).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The work directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings file, `.env`.
    pub fn env_file(&self) -> PathBuf {
        self.root.join(".env")
    }

    /// `data/scenes/`: one folder per acquisition date.
    pub fn scenes(&self) -> PathBuf {
        self.root.join("data").join("scenes")
    }

    /// `data/training/`: the `.npy` datasets and their metadata.
    pub fn training(&self) -> PathBuf {
        self.root.join("data").join("training")
    }

    /// `models/`: trained models, metrics and training histories.
    pub fn models(&self) -> PathBuf {
        self.root.join("models")
    }

    /// `reports/`: the comparison report and charts.
    pub fn reports(&self) -> PathBuf {
        self.root.join("reports")
    }

    /// `logs/`: the orchestration log, run reports and validation reports.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `logs/fingerprints/`: one record per step of what it last read and wrote.
    pub fn fingerprints(&self) -> PathBuf {
        self.logs().join("fingerprints")
    }

    /// `logs/runs/<run-id>/`: one run's event log.
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.logs().join("runs").join(run_id)
    }
}
