//! Rasters on disk and spectral indices: GeoTIFF reading and writing (through the `tiff`
//! crate) and NDVI, SAVI, EVI and NDWI computed per pixel.

mod georef;
pub mod geotiff;
pub mod indices;
mod read;
pub mod scene;
mod types;
mod write;

#[cfg(test)]
mod gdal_tests;
#[cfg(test)]
mod geotiff_tests;

pub use geotiff::{
    Crs, GeoTiffInfo, GeoTransform, Raster, RasterData, RasterError, decode_geotiff, read_geotiff,
    read_geotiff_with_info, write_geotiff,
};
pub use indices::{evi, ndvi, ndwi, savi};

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// fsynced and then renamed over `path`, so a killed process never leaves a half-written file
/// under the final name. On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let result = (|| {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        write(&mut out)?;
        let file: File = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    match result {
        Ok(()) => {
            sync_dir(dir);
            Ok(())
        }
        Err(err) => {
            let _ = fs::remove_file(&tmp);
            Err(explain_full_disk(err, dir, path))
        }
    }
}

/// Turns a "no space left on device" error into one that names the directory, the file and
/// what is free, like the free-space check made before a step writes; other errors pass
/// through unchanged.
pub(crate) fn explain_full_disk(err: io::Error, dir: &Path, path: &Path) -> io::Error {
    if err.kind() != io::ErrorKind::StorageFull {
        return err;
    }
    let free = crate::pipeline::free_bytes(dir)
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

/// Makes a rename durable by syncing its directory (best effort; a no-op off Unix).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
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

    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, |w| w.write_all(b"new contents")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(names_in(dir.path()), vec!["out.bin".to_string()]);
    }

    #[test]
    fn failed_atomic_write_keeps_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("killed halfway"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "killed halfway");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), vec!["out.bin".to_string()]);
    }
}
