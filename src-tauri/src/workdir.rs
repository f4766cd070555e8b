//! Which work directory the app uses: `--workdir DIR`, else the last one used, else a folder
//! in the user's data directory. Its `.env` holds the settings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use agriflux_core::pipeline::WorkDir;

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A command-line argument is wrong.
    #[error("{0}\nusage: agriflux-studio [--workdir DIR]")]
    Usage(String),
    /// The work directory or its log could not be created.
    #[error("cannot use the work directory {path}: {source}")]
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

/// The work directory of this app session.
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

    /// Picks the directory from the arguments, the last one used, or the default, and
    /// remembers it for next time.
    pub fn from_args(args: &[OsString]) -> Result<Self, StartupError> {
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
        let memory = last_used_file();
        let dir = chosen
            .or_else(|| {
                let text = std::fs::read_to_string(memory.as_ref()?).ok()?;
                Some(PathBuf::from(text.trim())).filter(|p| p.is_dir())
            })
            .unwrap_or_else(|| data_home().join("agriflux-studio").join("workdir"));
        let workdir = Self::new(dir)?;
        if let Some(memory) = memory {
            // Remembering is a convenience: failing to is not worth stopping for.
            let _ = std::fs::create_dir_all(memory.parent().unwrap_or(Path::new(".")));
            let _ = std::fs::write(&memory, workdir.root().display().to_string());
        }
        Ok(workdir)
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

fn data_home() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
}

fn last_used_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("agriflux-studio").join("last-workdir"))
}

/// Sends the app's tracing lines to `logs/agriflux-studio.log`; keep the guard alive.
pub fn init_logging(
    workdir: &AppWorkDir,
) -> Result<tracing_appender::non_blocking::WorkerGuard, StartupError> {
    let logs = workdir.dir().logs();
    let io = |source| StartupError::WorkDir {
        path: logs.clone(),
        source,
    };
    std::fs::create_dir_all(&logs).map_err(io)?;
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
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("farm");
        let args = vec![OsString::from("--workdir"), target.clone().into_os_string()];
        // Keep the user's real config untouched.
        unsafe { std::env::set_var("XDG_CONFIG_HOME", tmp.path().join("config")) };
        let wd = AppWorkDir::from_args(&args).unwrap();
        assert_eq!(wd.root(), std::fs::canonicalize(&target).unwrap());
        let remembered =
            std::fs::read_to_string(tmp.path().join("config/agriflux-studio/last-workdir"))
                .unwrap();
        assert_eq!(remembered, wd.root().display().to_string());
    }

    #[test]
    fn rejects_unknown_arguments_with_usage() {
        let err = AppWorkDir::from_args(&[OsString::from("--frobnicate")]).unwrap_err();
        assert!(err.to_string().contains("usage: agriflux-studio"));
    }
}
