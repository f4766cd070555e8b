//! Free-space checks before large writes, so a full disk is a clear error before anything is
//! written rather than a half-written output.

use std::path::Path;

pub use crate::atomic_file::free_bytes;

/// A disk too full for what a step is about to write; it fails the step with this message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotEnoughSpace(String);

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Fails with a message naming the directory, the need and what is free when `dir` has less
/// than `needed` bytes (plus a 10 % margin) free.
pub fn ensure_free_space(dir: &Path, needed: u64, what: &str) -> Result<(), NotEnoughSpace> {
    let Some(free) = free_bytes(dir) else {
        return Ok(());
    };
    let with_margin = needed + needed / 10;
    if free < with_margin {
        return Err(NotEnoughSpace(format!(
            "not enough free space in {} for {what}: about {} needed, {} free; free some space or use another --workdir",
            dir.display(),
            megabytes(with_margin),
            megabytes(free)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_free_space_of_an_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(&dir.path().join("not/yet/created"));
        assert!(free.is_some_and(|b| b > 0));
    }

    #[test]
    fn refuses_a_need_larger_than_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_free_space(dir.path(), u64::MAX / 4, "scenes")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not enough free space") && err.contains("scenes"),
            "{err}"
        );
        assert!(ensure_free_space(dir.path(), 1, "a byte").is_ok());
    }
}
