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

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed, so a killed process never leaves a half-written file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and call, so concurrent writers never share a temporary file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
