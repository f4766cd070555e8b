//! Files the engine reads back from the work directory, treated as untrusted: anyone (or any
//! tool) may have put a symlink, a FIFO, a device or a huge file where a report, an event log
//! or a chart is expected, or written a run id that is a path.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// Largest run report read back (a real one is a few kB).
pub const REPORT_CAP: u64 = 16 << 20;
/// Largest event log read back (a real one with every log line is a few MB).
pub const EVENTS_CAP: u64 = 256 << 20;
/// Largest chart (SVG) read back or embedded in an export.
pub const CHART_CAP: u64 = 16 << 20;
/// Largest chart index read back.
pub const INDEX_CAP: u64 = 1 << 20;

/// Whether `id` can be a run id: one plain name (letters, digits, `-`, `_`, inner `.`), so that
/// `logs/runs/<id>` never leaves `logs/runs`.
pub fn is_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads `path` if it is a regular file (not a FIFO, device or directory) of at most `cap`
/// bytes; a larger one is an `InvalidData` error rather than a memory hog.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Err(too_large(len, cap));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // A file that grows while it is read stops at the cap too.
    (&mut file).take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64, cap));
    }
    Ok(bytes)
}

/// [`read_capped`], refusing a path that leads (through symlinks) out of `root`.
pub fn read_capped_within(root: &Path, path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let real = fs::canonicalize(path)?;
    let real_root = fs::canonicalize(root)?;
    if !real.starts_with(&real_root) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "it leads out of the work directory (to {}); only files inside it are read",
                real.display()
            ),
        ));
    }
    read_capped(&real, cap)
}

/// Removes the temporary files ([`crate::atomic_file::is_temp_name`]) that writers killed mid-write left
/// under `data/`, `models/`, `reports/` and `logs/`; returns how many. Only for the holder of
/// the run lock: no other run can be writing there (`.env`'s own temporary files, beside it,
/// are not touched). Symlinks are not followed.
pub fn remove_stray_temp_files(root: &Path) -> usize {
    fn sweep(dir: &Path, removed: &mut usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                sweep(&entry.path(), removed);
            } else if kind.is_file()
                && crate::atomic_file::is_temp_name(&name)
                && fs::remove_file(entry.path()).is_ok()
            {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    for top in ["data", "models", "reports", "logs"] {
        sweep(&root.join(top), &mut removed);
    }
    removed
}

fn too_large(len: u64, cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("it is {len} bytes, more than the {cap} bytes such a file can be"),
    )
}

/// Opens without blocking (a FIFO with no writer would hang a plain open) and checks, on the
/// open file itself, that it is a regular file.
fn open_regular(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a FIFO, a device or a folder)",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_single_plain_names() {
        assert!(is_run_id("20260101-120000-01234"));
        for bad in ["", "..", "../x", "/etc", "a/b", "a\\b", ".hidden", "a b"] {
            assert!(!is_run_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn refuses_files_larger_than_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b'x'; 101]).unwrap();
        assert_eq!(read_capped(&path, 101).unwrap().len(), 101);
        let err = read_capped(&path, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn refuses_devices_without_reading_them() {
        let err = read_capped(Path::new("/dev/zero"), 1 << 30).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_capped(&path, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_out_of_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.svg");
        fs::write(&secret, "<svg>secret</svg>").unwrap();
        let root = tempfile::tempdir().unwrap();
        let link = root.path().join("chart.svg");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read_capped_within(root.path(), &link, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        let inside = root.path().join("real.svg");
        fs::write(&inside, "<svg/>").unwrap();
        assert_eq!(
            read_capped_within(root.path(), &inside, 1 << 20).unwrap(),
            b"<svg/>"
        );
    }

    #[test]
    fn sweeps_only_temporary_files_of_interrupted_writes() {
        let root = tempfile::tempdir().unwrap();
        let scenes = root.path().join("data/scenes/2025-01-01");
        fs::create_dir_all(&scenes).unwrap();
        fs::write(scenes.join(".bands.tif.tmp-12-0"), b"half").unwrap();
        fs::write(scenes.join("bands.tif"), b"whole").unwrap();
        fs::write(root.path().join(".env.tmp-abc"), b"A=1").unwrap();
        assert_eq!(remove_stray_temp_files(root.path()), 1);
        assert!(scenes.join("bands.tif").exists());
        assert!(root.path().join(".env.tmp-abc").exists());
    }
}
