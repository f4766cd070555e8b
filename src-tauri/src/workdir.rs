//! Which work directory the app uses: `--workdir DIR`, else the most recent folder that still
//! exists, else none (the window then shows its welcome view). Its `.env` holds the settings.
//! The recent folders are remembered in the app's config folder, found by Tauri's path
//! resolver like the log folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use agriflux_core::pipeline::WorkDir;
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, ErrorKind};

/// How many folders the welcome view and the header's menu offer.
const RECENT_LIMIT: usize = 8;

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A command-line argument is wrong.
    #[error("{0}\nusage: agriflux-studio [--workdir DIR]")]
    Usage(String),
    /// The work directory or the log folder could not be created.
    #[error("cannot use the folder {path}: {source}")]
    WorkDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Tauri failed to start (no display, WebKit missing …).
    #[error("the window could not start: {0}")]
    Tauri(String),
}

/// A work directory the app has open.
#[derive(Clone, Debug)]
pub struct AppWorkDir {
    dir: WorkDir,
}

impl AppWorkDir {
    /// Uses `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StartupError> {
        let path: PathBuf = dir.into();
        std::fs::create_dir_all(&path).map_err(|source| StartupError::WorkDir {
            path: path.clone(),
            source,
        })?;
        // Absolute, so the header and the reports name the folder unambiguously.
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        Ok(Self {
            dir: WorkDir::new(path),
        })
    }

    /// The engine's view of the directory.
    pub fn dir(&self) -> &WorkDir {
        &self.dir
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    /// Its `.env`.
    pub fn env_file(&self) -> PathBuf {
        self.dir.env_file()
    }
}

/// The work directory named on the command line (`--workdir DIR`), if any.
pub fn workdir_argument(args: &[OsString]) -> Result<Option<PathBuf>, StartupError> {
    let mut chosen = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--workdir" {
            let value = iter
                .next()
                .ok_or_else(|| StartupError::Usage("--workdir needs a directory".into()))?;
            chosen = Some(PathBuf::from(value));
        } else if let Some(value) = text.strip_prefix("--workdir=") {
            chosen = Some(PathBuf::from(value));
        } else {
            return Err(StartupError::Usage(format!("unknown argument '{text}'")));
        }
    }
    Ok(chosen)
}

/// The recent-folders file: newest first.
#[derive(Default, Serialize, Deserialize)]
struct RecentFile {
    folders: Vec<PathBuf>,
}

/// The open work directory (if any) and the folders opened before; shared by every command.
pub struct Workspace {
    current: RwLock<Option<AppWorkDir>>,
    recent: Mutex<Vec<PathBuf>>,
    /// Where the recent folders are remembered; `None` keeps them in memory only.
    recent_file: Option<PathBuf>,
}

impl Workspace {
    /// Opens `requested` (the command line's folder) or else the most recent folder that still
    /// exists, remembering folders in `recent_file`.
    pub fn open(
        requested: Option<PathBuf>,
        recent_file: Option<PathBuf>,
    ) -> Result<Self, StartupError> {
        let recent = recent_file.as_deref().map(read_recent).unwrap_or_default();
        let workspace = Self {
            current: RwLock::new(None),
            recent: Mutex::new(recent),
            recent_file,
        };
        let chosen = requested.or_else(|| workspace.recent().into_iter().find(|p| p.is_dir()));
        if let Some(dir) = chosen {
            workspace.switch(AppWorkDir::new(dir)?);
        }
        Ok(workspace)
    }

    /// The open work directory, or the error the window shows when there is none.
    pub fn current(&self) -> Result<AppWorkDir, CommandError> {
        self.current_if_any().ok_or_else(|| {
            CommandError::new(
                ErrorKind::NotFound,
                "No work directory is open: open one, or try the app with simulated data.",
            )
        })
    }

    /// The open work directory, if any.
    pub fn current_if_any(&self) -> Option<AppWorkDir> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The folders opened before, newest first (the open one included).
    pub fn recent(&self) -> Vec<PathBuf> {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes `dir` the open work directory and the most recent folder.
    pub fn switch(&self, dir: AppWorkDir) {
        let path = dir.root().to_path_buf();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(dir);
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|p| p != &path);
        recent.insert(0, path);
        recent.truncate(RECENT_LIMIT);
        if let Some(file) = &self.recent_file {
            let record = RecentFile {
                folders: recent.clone(),
            };
            // Remembering is a convenience: failing to is logged, not worth stopping for.
            if let Err(e) = agriflux_base::atomic_file::write_json(file, &record) {
                tracing::warn!(file = %file.display(), "recent folders not saved: {e}");
            }
        }
    }
}

fn read_recent(file: &Path) -> Vec<PathBuf> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(file = %file.display(), "recent folders unreadable: {e}");
            return Vec::new();
        }
    };
    match serde_json::from_str::<RecentFile>(&text) {
        Ok(record) => record.folders,
        Err(e) => {
            tracing::warn!(file = %file.display(), "recent folders unreadable, starting afresh: {e}");
            Vec::new()
        }
    }
}

/// Sends the app's tracing lines to `agriflux-studio.log` in `logs` (the platform's log folder
/// for the app); keep the guard alive.
pub fn init_logging(
    logs: &Path,
) -> Result<tracing_appender::non_blocking::WorkerGuard, StartupError> {
    let io = |source| StartupError::WorkDir {
        path: logs.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(logs).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("agriflux-studio.log"))
        .map_err(io)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("AGRIFLUX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_workdir_from_the_command_line() {
        let args = vec![OsString::from("--workdir"), OsString::from("/farm")];
        assert_eq!(
            workdir_argument(&args).unwrap(),
            Some(PathBuf::from("/farm"))
        );
        let args = vec![OsString::from("--workdir=/farm")];
        assert_eq!(
            workdir_argument(&args).unwrap(),
            Some(PathBuf::from("/farm"))
        );
        assert_eq!(workdir_argument(&[]).unwrap(), None);
    }

    #[test]
    fn rejects_unknown_arguments_with_usage() {
        let err = workdir_argument(&[OsString::from("--frobnicate")]).unwrap_err();
        assert!(err.to_string().contains("usage: agriflux-studio"));
    }

    #[test]
    fn opens_nothing_on_a_first_start() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::open(None, Some(tmp.path().join("recent.json"))).unwrap();
        assert!(ws.current_if_any().is_none());
        assert_eq!(ws.current().unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn reopens_the_most_recent_folder_that_still_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("config/recent.json");
        let (north, south) = (tmp.path().join("north"), tmp.path().join("south"));
        let ws = Workspace::open(Some(north.clone()), Some(file.clone())).unwrap();
        ws.switch(AppWorkDir::new(&south).unwrap());
        ws.switch(AppWorkDir::new(&north).unwrap());
        assert_eq!(ws.recent().len(), 2, "each folder once");
        std::fs::remove_dir(&north).unwrap();
        let again = Workspace::open(None, Some(file)).unwrap();
        let south = std::fs::canonicalize(&south).unwrap();
        assert_eq!(again.current_if_any().unwrap().root(), south);
    }

    #[test]
    fn starts_afresh_when_the_recent_file_is_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("recent.json");
        std::fs::write(&file, "{ not json").unwrap();
        let ws = Workspace::open(None, Some(file.clone())).unwrap();
        assert!(ws.recent().is_empty());
        ws.switch(AppWorkDir::new(tmp.path().join("farm")).unwrap());
        assert!(std::fs::read_to_string(&file).unwrap().contains("farm"));
    }
}
