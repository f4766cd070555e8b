//! The one way the engine replaces a file: a temporary file beside it, synced, then renamed
//! over it, so a killed process, a full disk or a failing encoder never leaves a half-written
//! file under the final name. Readers see the old content or the new one, nothing between.
//!
//! The temporary files are named `.<name>.tmp-<random>[suffix]` (see [`is_temp_name`]), so that
//! the holder of the run lock can sweep what a killed writer left behind
//! (the engine's `workfiles::remove_stray_temp_files`).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use tempfile::NamedTempFile;

/// Who may read the new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable as any file the user creates (0666 less the umask): data, models, reports.
    Shared,
    /// The owner only (0600), from the first byte on: files that hold secrets.
    Private,
}

/// Writes `bytes` to `path` atomically, creating its folder if needed.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes/field-7.txt");
/// agriflux_base::atomic_file::write(&path, b"scouted 2025-06-02").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"scouted 2025-06-02");
/// ```
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, Access::Shared, |file| file.write_all(bytes))
}

/// Serialises `value` as pretty JSON (with a final newline) and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write(path, &bytes)
}

/// Replaces `path` with what `fill` writes into the temporary file; on any error the temporary
/// file is removed and `path` is left as it was. The folder is created if needed and synced
/// after the rename, so the new name survives a power cut too.
pub fn write_with(
    path: &Path,
    access: Access,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let result = (|| {
        let mut tmp = temp_file_for(path, access, "")?;
        fill(tmp.as_file_mut())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)
    })();
    result.map_err(|err| explain_full_disk(err, dir, path))?;
    sync_dir(dir);
    Ok(())
}

/// [`write_with`] for encoders that only take a path (a plotting backend that opens the file
/// itself): `fill` writes to the temporary path it is given, which ends in `suffix` because
/// such encoders pick the format from the extension.
pub fn write_via_path(
    path: &Path,
    suffix: &str,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let result = (|| {
        let tmp = temp_file_for(path, Access::Shared, suffix)?;
        fill(tmp.path())?;
        // The encoder may have replaced the file we created: sync what is at the path now.
        File::open(tmp.path())?.sync_all()?;
        tmp.persist(path).map_err(|e| e.error)
    })();
    result.map_err(|err| explain_full_disk(err, dir, path))?;
    sync_dir(dir);
    Ok(())
}

/// Whether `name` is one of this module's temporary files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// A temporary file in `path`'s folder (a rename across file systems would not be atomic),
/// removed when dropped unless persisted.
fn temp_file_for(path: &Path, access: Access, suffix: &str) -> io::Result<NamedTempFile> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match access {
            Access::Shared => 0o666,
            Access::Private => 0o600,
        };
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = access;
    builder.tempfile_in(parent_dir(path))
}

/// Turns a "no space left on device" error into one that names the directory, the file and
/// what is free, like the free-space check made before a step writes; other errors pass
/// through unchanged.
fn explain_full_disk(err: io::Error, dir: &Path, path: &Path) -> io::Error {
    if err.kind() != io::ErrorKind::StorageFull {
        return err;
    }
    let free = free_bytes(dir)
        .map(|b| format!("{:.1} MB free", b as f64 / 1e6))
        .unwrap_or_else(|| "free space unknown".into());
    io::Error::new(
        io::ErrorKind::StorageFull,
        format!(
            "not enough free space in {}: the disk filled up while writing {} ({free}); free some space and run again (earlier outputs are intact)",
            dir.display(),
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ),
    )
}

/// Bytes free for this user on the file system holding `dir` (or its nearest existing parent).
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let existing = dir.ancestors().find(|p| p.exists())?;
    let path = CString::new(existing.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid NUL-terminated string and `stat` a valid out-pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Where free space cannot be measured, the check passes and writes report their own errors.
#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// The folder `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Syncs a folder so a rename in it is durable; best effort, as some file systems refuse it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_explained_with_the_directory_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let enospc = io::Error::from_raw_os_error(28);
        let err = explain_full_disk(enospc, dir.path(), &dir.path().join("bands.tif"));
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        let text = err.to_string();
        assert!(text.starts_with("not enough free space in "), "{text}");
        assert!(
            text.contains("bands.tif") && text.contains("MB free"),
            "{text}"
        );
        let other = explain_full_disk(io::Error::other("boom"), dir.path(), dir.path());
        assert_eq!(other.to_string(), "boom");
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cnn_real.bpk");
        fs::write(&path, b"old weights").unwrap();
        let err = write_with(&path, Access::Shared, |file| {
            file.write_all(b"half of the new")?;
            Err(io::Error::other("encoder failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "encoder failed");
        assert_eq!(fs::read(&path).unwrap(), b"old weights");
        assert_eq!(names_in(dir.path()), ["cnn_real.bpk"]);
    }

    #[test]
    fn temporary_files_are_named_for_the_sweeper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bands.tif");
        write_with(&path, Access::Shared, |_| {
            let names = names_in(dir.path());
            assert_eq!(names.len(), 1);
            assert!(is_temp_name(&names[0]), "{names:?}");
            assert!(names[0].starts_with(".bands.tif.tmp-"), "{names:?}");
            Ok(())
        })
        .unwrap();
        assert_eq!(names_in(dir.path()), ["bands.tif"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_never_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        write_with(&path, Access::Private, |file| {
            let mode = file.metadata()?.permissions().mode();
            assert_eq!(mode & 0o077, 0, "temporary file mode {mode:o}");
            file.write_all(b"SECRET=x")
        })
        .unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "final mode {mode:o}");
    }

    #[test]
    fn a_path_encoder_writes_under_a_temporary_name_with_its_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("charts/ndvi.png");
        write_via_path(&path, ".png", |tmp: &Path| {
            assert!(tmp.to_string_lossy().ends_with(".png"));
            assert_ne!(tmp, path);
            fs::write(tmp, b"png bytes")
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"png bytes");
        assert_eq!(names_in(&dir.path().join("charts")), ["ndvi.png"]);
    }
}
