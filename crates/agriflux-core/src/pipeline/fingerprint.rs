//! Step fingerprints: what a step read, the settings it used and what it wrote, recorded after
//! it succeeded, so that a later run can tell whether the step is up to date.
//!
//! Each step's record is `logs/fingerprints/<step>.json`, written with [`atomic_file::write_json`](crate::atomic_file::write_json):
//! - before the step runs, the record is replaced by a `started` marker (so a run killed inside
//!   the step never leaves a record vouching for half-written outputs);
//! - after it succeeded and its outputs are in place, by the `done` fingerprint: engine version,
//!   settings the step depends on, XXH3-128 content hashes of its input and output files, and
//!   its `output_summary` (reused in the report of a run that finds it up to date);
//! - after it failed or was cancelled, by a `failed` / `cancelled` marker with the error.
//!
//! File paths in records are relative to the work directory (with `/`), so a moved work
//! directory keeps its records.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::WorkDir;
use super::events::StepId;
use crate::atomic_file;

/// The engine version recorded in fingerprints (a new engine re-runs every step once).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A set of files a step reads or writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSet {
    /// One file (absent files are simply not in the set).
    File(PathBuf),
    /// Every file under a folder, recursively (names starting with `.`, such as temporary
    /// files, are left out).
    Tree(PathBuf),
    /// The files matching a glob pattern (an absolute path with `*`, `?`, `[…]` or `**`), as a
    /// command step declares its inputs and outputs.
    Glob(PathBuf),
    /// The files directly inside `dir` whose names start with `prefix` and end with `suffix`.
    Matching {
        /// The folder.
        dir: PathBuf,
        /// Start of the file name.
        prefix: String,
        /// End of the file name, e.g. `.svg`.
        suffix: String,
    },
}

impl FileSet {
    /// One file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// Every file under a folder.
    pub fn tree(dir: impl Into<PathBuf>) -> Self {
        Self::Tree(dir.into())
    }

    /// Files matching the glob `pattern` (an absolute path).
    pub fn glob(pattern: impl Into<PathBuf>) -> Self {
        Self::Glob(pattern.into())
    }

    /// The folder a glob cannot leave: its path up to the first component with a wildcard.
    fn glob_root(pattern: &Path) -> PathBuf {
        pattern
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect()
    }

    /// Files in `dir` named `<prefix>…<suffix>`.
    pub fn matching(dir: impl Into<PathBuf>, prefix: &str, suffix: &str) -> Self {
        Self::Matching {
            dir: dir.into(),
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    /// Whether a file of `self` can also be a file of `other` (judged on the declarations, so
    /// it holds before the files exist).
    pub fn overlaps(&self, other: &FileSet) -> bool {
        use FileSet::*;
        match (self, other) {
            // Judged on the folder a glob cannot leave: it may overlap more than it does,
            // which re-runs a step too often, never too seldom.
            (Glob(pattern), other) | (other, Glob(pattern)) => {
                let root = Tree(Self::glob_root(pattern));
                match other {
                    Glob(p) => root.overlaps(&Tree(Self::glob_root(p))),
                    other => root.overlaps(other),
                }
            }
            (File(a), File(b)) => a == b,
            (File(f), Tree(d)) | (Tree(d), File(f)) => f.starts_with(d),
            (Tree(a), Tree(b)) => a.starts_with(b) || b.starts_with(a),
            (
                File(f),
                Matching {
                    dir,
                    prefix,
                    suffix,
                },
            )
            | (
                Matching {
                    dir,
                    prefix,
                    suffix,
                },
                File(f),
            ) => {
                f.parent() == Some(dir.as_path())
                    && f.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with(prefix.as_str()) && n.ends_with(suffix.as_str())
                    })
            }
            (Tree(d), Matching { dir, .. }) | (Matching { dir, .. }, Tree(d)) => dir.starts_with(d),
            (Matching { dir: a, .. }, Matching { dir: b, .. }) => a == b,
        }
    }

    /// The files of the set that exist now, sorted.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Self::File(p) => {
                if p.is_file() {
                    vec![p.clone()]
                } else {
                    Vec::new()
                }
            }
            Self::Tree(dir) => {
                let mut out = Vec::new();
                walk(dir, &mut out);
                out.sort();
                out
            }
            Self::Glob(pattern) => {
                let hidden = |p: &Path| {
                    p.components()
                        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
                };
                let root = Self::glob_root(pattern);
                let mut out: Vec<PathBuf> = glob::glob(&pattern.to_string_lossy())
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|p| p.is_file() && !hidden(p.strip_prefix(&root).unwrap_or(p)))
                    .collect();
                out.sort();
                out
            }
            Self::Matching {
                dir,
                prefix,
                suffix,
            } => {
                let mut out: Vec<PathBuf> = fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        !n.starts_with('.')
                            && n.starts_with(prefix.as_str())
                            && n.ends_with(suffix.as_str())
                    })
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                out.sort();
                out
            }
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

/// What a step depends on and produces, for incremental runs (see [`super::Step::dependencies`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepDeps {
    /// The settings the step's result depends on, by name, as text (only those: a setting that
    /// changes the step's input files is covered by the input hashes).
    pub settings: BTreeMap<String, String>,
    /// The files it reads.
    pub inputs: Vec<FileSet>,
    /// The files it writes.
    pub outputs: Vec<FileSet>,
    /// When the step's effect outside its output files is not in place, why (e.g. `.env` does
    /// not say `USE_AI_MODELS=true`): the step then runs.
    pub not_in_place: Option<String>,
}

impl StepDeps {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a setting the step depends on.
    pub fn setting(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.settings.insert(name.to_string(), value.to_string());
        self
    }

    /// Adds input files.
    pub fn inputs(mut self, sets: impl IntoIterator<Item = FileSet>) -> Self {
        self.inputs.extend(sets);
        self
    }

    /// Adds output files.
    pub fn outputs(mut self, sets: impl IntoIterator<Item = FileSet>) -> Self {
        self.outputs.extend(sets);
        self
    }

    /// Records that the step's effect is not in place, and why.
    pub fn not_in_place(mut self, why: Option<String>) -> Self {
        self.not_in_place = why;
        self
    }
}

/// Where a step's record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// The step succeeded; the record is its fingerprint.
    Done,
    /// The step was started and has not finished (or its process died).
    Started,
    /// The step failed.
    Failed,
    /// The step was cancelled.
    Cancelled,
}

/// A step's record in `logs/fingerprints/<step>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Which step.
    pub step: StepId,
    /// `done` (a fingerprint) or a marker of an attempt that did not succeed.
    pub state: RecordState,
    /// The run that wrote the record (for `done`: the run that produced the outputs).
    pub run_id: String,
    /// ISO 8601 time of writing.
    pub recorded_at: String,
    /// The engine version (`CARGO_PKG_VERSION`) that ran the step.
    pub engine_version: String,
    /// The error, for `failed` and `cancelled`.
    #[serde(default)]
    pub error: Option<String>,
    /// Settings the step depends on, by name.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Content hash of each input file, by path relative to the work directory.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Content hash of each output file, by path relative to the work directory.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// The step's `output_summary`.
    #[serde(default)]
    pub output_summary: Map<String, Value>,
    /// Seconds the step ran.
    #[serde(default)]
    pub duration_seconds: Option<f64>,
}

impl Fingerprint {
    /// A marker for an attempt that has not (yet) succeeded.
    pub fn marker(step: StepId, state: RecordState, run_id: &str, error: Option<String>) -> Self {
        Self {
            step,
            state,
            run_id: run_id.to_string(),
            recorded_at: now(),
            engine_version: ENGINE_VERSION.into(),
            error,
            settings: BTreeMap::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            output_summary: Map::new(),
            duration_seconds: None,
        }
    }
}

fn now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `logs/fingerprints/<step>.json`.
pub fn record_path(workdir: &WorkDir, step: &StepId) -> PathBuf {
    workdir.fingerprints().join(format!("{step}.json"))
}

/// What reading a step's record found.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// No record: the step never ran here (with this engine).
    Missing,
    /// A record that cannot be read or parsed (the message says why).
    Unreadable(String),
    /// The record.
    Found(Box<Fingerprint>),
}

/// Reads a step's record.
pub fn read_record(workdir: &WorkDir, step: &StepId) -> Record {
    let path = record_path(workdir, step);
    match fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Record::Missing,
        Err(e) => Record::Unreadable(format!("{}: {e}", rel(workdir, &path))),
        Ok(bytes) => match serde_json::from_slice::<Fingerprint>(&bytes) {
            Ok(f) if f.step == *step => Record::Found(Box::new(f)),
            Ok(f) => Record::Unreadable(format!(
                "{} is the record of step {}",
                rel(workdir, &path),
                f.step
            )),
            Err(e) => Record::Unreadable(format!("{}: {e}", rel(workdir, &path))),
        },
    }
}

/// Writes a step's record atomically.
pub fn write_record(workdir: &WorkDir, record: &Fingerprint) -> std::io::Result<()> {
    atomic_file::write_json(&record_path(workdir, &record.step), record)
}

/// `path` relative to the work directory, with `/` separators.
pub fn rel(workdir: &WorkDir, path: &Path) -> String {
    let p = path.strip_prefix(workdir.root()).unwrap_or(path);
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// What identifies a file's content without reading it, within one process: size,
/// modification time and inode. Used only to avoid hashing the same unchanged file twice in
/// one run; every run hashes what it judges.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileKey {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileKey {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

/// Hashes files with XXH3-128 (non-cryptographic, several GB/s), remembering each file's
/// hash for as long as its size, modification time and inode stay the same.
#[derive(Default)]
pub struct FileHasher {
    known: HashMap<PathBuf, (FileKey, String)>,
}

impl FileHasher {
    /// An empty hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hash of one file, `xxh3-128:<hex>`.
    pub fn hash(&mut self, path: &Path) -> std::io::Result<String> {
        let meta = fs::metadata(path)?;
        let key = FileKey::of(&meta);
        if let Some((k, h)) = self.known.get(path)
            && *k == key
        {
            return Ok(h.clone());
        }
        let mut file = File::open(path)?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let hash = format!("xxh3-128:{:032x}", hasher.digest128());
        self.known.insert(path.to_path_buf(), (key, hash.clone()));
        Ok(hash)
    }

    /// Hash of every file of `sets`, by path relative to the work directory. A file that
    /// cannot be read is recorded as `unreadable: <error>` (so it never matches a hash).
    pub fn hash_sets(&mut self, workdir: &WorkDir, sets: &[FileSet]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for set in sets {
            for file in set.files() {
                let hash = self
                    .hash(&file)
                    .unwrap_or_else(|e| format!("unreadable: {e}"));
                out.insert(rel(workdir, &file), hash);
            }
        }
        out
    }
}

/// Why the recorded settings differ from `current`, one phrase per setting, e.g.
/// `setting cnn_epochs changed from 2 to 3`.
pub fn settings_changes(
    recorded: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, now) in current {
        match recorded.get(name) {
            Some(before) if before == now => {}
            Some(before) => out.push(format!("setting {name} changed from {before} to {now}")),
            None => out.push(format!("setting {name} is new (now {now})")),
        }
    }
    for (name, before) in recorded {
        if !current.contains_key(name) {
            out.push(format!("setting {name} no longer applies (was {before})"));
        }
    }
    out
}

/// Why the recorded files (`kind` is `input` or `output`) differ from `current`: the first
/// difference found in path order, and how many more there are; `None` when they match.
pub fn file_changes(
    kind: &str,
    recorded: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Option<String> {
    let mut differences = Vec::new();
    let mut paths: Vec<&String> = recorded.keys().chain(current.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        match (recorded.get(path), current.get(path)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(b)) if b.starts_with("unreadable") => {
                differences.push(format!("{kind} file {path} cannot be read"))
            }
            (Some(_), Some(_)) => differences.push(format!("{kind} file {path} changed")),
            (Some(_), None) => differences.push(format!("{kind} file {path} is missing")),
            (None, Some(_)) => differences.push(format!("new {kind} file {path}")),
            (None, None) => {}
        }
    }
    let first = differences.first()?.clone();
    Some(match differences.len() {
        1 => first,
        n => format!("{first} (and {} more {kind} file changes)", n - 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_changes_name_the_setting_and_both_values() {
        let before = map(&[("cnn_epochs", "2"), ("seed", "42")]);
        assert!(settings_changes(&before, &before).is_empty());
        let after = map(&[("cnn_epochs", "3"), ("seed", "42")]);
        assert_eq!(
            settings_changes(&before, &after),
            ["setting cnn_epochs changed from 2 to 3"]
        );
        let after = map(&[("cnn_epochs", "2"), ("cnn_patience", "5")]);
        assert_eq!(
            settings_changes(&before, &after),
            [
                "setting cnn_patience is new (now 5)",
                "setting seed no longer applies (was 42)"
            ]
        );
    }

    #[test]
    fn file_changes_say_changed_missing_new_and_count_the_rest() {
        let before = map(&[("a.npy", "h1"), ("b.npy", "h2"), ("c.npy", "h3")]);
        assert_eq!(file_changes("input", &before, &before), None);
        let after = map(&[("a.npy", "h1"), ("b.npy", "hX"), ("c.npy", "h3")]);
        assert_eq!(
            file_changes("input", &before, &after).unwrap(),
            "input file b.npy changed"
        );
        let after = map(&[("a.npy", "h1"), ("c.npy", "h3")]);
        assert_eq!(
            file_changes("output", &before, &after).unwrap(),
            "output file b.npy is missing"
        );
        let after = map(&[
            ("a.npy", "h9"),
            ("b.npy", "h2"),
            ("c.npy", "h3"),
            ("d", "h"),
        ]);
        assert_eq!(
            file_changes("input", &before, &after).unwrap(),
            "input file a.npy changed (and 1 more input file changes)"
        );
        let after = map(&[
            ("a.npy", "unreadable: denied"),
            ("b.npy", "h2"),
            ("c.npy", "h3"),
        ]);
        assert_eq!(
            file_changes("input", &before, &after).unwrap(),
            "input file a.npy cannot be read"
        );
    }

    #[test]
    fn overlaps_follow_files_trees_and_patterns() {
        let f = FileSet::file("/w/data/training/cnn_X_train_real.npy");
        assert!(f.overlaps(&FileSet::tree("/w/data")));
        assert!(f.overlaps(&FileSet::matching("/w/data/training", "cnn_", "_real.npy")));
        assert!(!f.overlaps(&FileSet::matching("/w/data/training", "lstm_", ".npy")));
        assert!(!f.overlaps(&FileSet::file("/w/data/training/cnn_y_train_real.npy")));
        assert!(FileSet::tree("/w/data/scenes").overlaps(&FileSet::tree("/w/data")));
        assert!(!FileSet::tree("/w/models").overlaps(&FileSet::tree("/w/data")));
    }

    #[test]
    fn hashes_follow_content_and_trees_skip_dot_files() {
        let dir = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(dir.path());
        std::fs::create_dir_all(dir.path().join("d/sub")).unwrap();
        std::fs::write(dir.path().join("d/a.bin"), b"one").unwrap();
        std::fs::write(dir.path().join("d/sub/b.bin"), b"two").unwrap();
        std::fs::write(dir.path().join("d/.a.bin.tmp-1-2"), b"partial").unwrap();
        let mut hasher = FileHasher::new();
        let sets = [FileSet::tree(dir.path().join("d"))];
        let first = hasher.hash_sets(&wd, &sets);
        assert_eq!(first.keys().collect::<Vec<_>>(), ["d/a.bin", "d/sub/b.bin"]);
        assert!(first["d/a.bin"].starts_with("xxh3-128:"));
        assert_ne!(first["d/a.bin"], first["d/sub/b.bin"]);
        // Same length, new content: the cached hash is not reused (new inode or mtime).
        std::thread::sleep(std::time::Duration::from_millis(20));
        crate::atomic_file::write(&dir.path().join("d/a.bin"), b"ONE").unwrap();
        let second = hasher.hash_sets(&wd, &sets);
        assert_ne!(first["d/a.bin"], second["d/a.bin"]);
        assert_eq!(first["d/sub/b.bin"], second["d/sub/b.bin"]);
        assert_eq!(
            FileHasher::new().hash(&dir.path().join("d/a.bin")).unwrap(),
            second["d/a.bin"]
        );
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let wd = WorkDir::new(dir.path());
        assert_eq!(read_record(&wd, &StepId::TrainCnn), Record::Missing);
        let mut fp = Fingerprint::marker(StepId::TrainCnn, RecordState::Done, "run-1", None);
        fp.settings = map(&[("cnn_epochs", "2")]);
        write_record(&wd, &fp).unwrap();
        assert!(dir.path().join("logs/fingerprints/train_cnn.json").exists());
        assert_eq!(
            read_record(&wd, &StepId::TrainCnn),
            Record::Found(Box::new(fp))
        );
        std::fs::write(dir.path().join("logs/fingerprints/compare.json"), "{").unwrap();
        assert!(matches!(
            read_record(&wd, &StepId::Compare),
            Record::Unreadable(m) if m.contains("logs/fingerprints/compare.json")
        ));
    }
}
