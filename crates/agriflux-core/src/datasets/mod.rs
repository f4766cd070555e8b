//! Training sets: CNN patches and LSTM sequences cut from scenes, split before balancing,
//! saved as `.npy` with metadata.

pub mod npy;
pub mod patches;
pub mod sequences;

use std::path::{Path, PathBuf};

/// Crop-health class names, by class index.
pub const CLASS_NAMES: [&str; crate::ml::CNN_CLASSES] =
    ["Healthy", "Moderate", "Stressed", "Critical"];

/// The crop-health class of an NDVI value: 0 Healthy (> 0.7), 1 Moderate (0.5–0.7],
/// 2 Stressed (0.3–0.5], 3 Critical (<= 0.3); `None` for NaN (an invalid pixel has no class).
///
/// ```
/// use agriflux_core::datasets::class_of;
/// assert_eq!(class_of(0.75), Some(0));
/// assert_eq!(class_of(0.5), Some(2));
/// assert_eq!(class_of(f32::NAN), None);
/// ```
pub fn class_of(ndvi: f32) -> Option<i64> {
    if !ndvi.is_finite() {
        None
    } else if ndvi > 0.7 {
        Some(0)
    } else if ndvi > 0.5 {
        Some(1)
    } else if ndvi > 0.3 {
        Some(2)
    } else {
        Some(3)
    }
}

/// Which part of a dataset a sample belongs to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Used to fit the model.
    Train,
    /// Used for early stopping.
    Val,
    /// Held out: used only for the final figures and the comparison.
    Test,
}

impl Split {
    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The file-name part: `train`, `val`, `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }
}

/// Why a dataset could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Too little usable data; the message says what was found and what is needed.
    #[error("{0}")]
    NotEnoughData(String),
    /// A dataset file could not be read or written.
    #[error(transparent)]
    Npy(#[from] npy::NpyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A metadata file is missing or malformed.
    #[error("{path}: {message}")]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Reads a dataset metadata JSON file.
pub(crate) fn read_metadata<T: serde::de::DeserializeOwned>(
    path: PathBuf,
) -> Result<T, DatasetError> {
    let text = std::fs::read_to_string(&path).map_err(|source| DatasetError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| DatasetError::BadMetadata {
        path,
        message: e.to_string(),
    })
}

/// One split's arrays as they are written to `data/training/`.
pub(crate) struct SplitArrays<'a, Y> {
    /// The inputs, `sample_shape` values per sample, samples one after another.
    pub x: &'a [f32],
    /// The shape of one sample's inputs.
    pub sample_shape: &'a [usize],
    /// One label or target per sample.
    pub y: &'a [Y],
    /// Where each sample comes from, `origin_width` numbers per sample.
    pub origin: Vec<i64>,
    /// Numbers per origin.
    pub origin_width: usize,
}

/// Writes one split as `<kind>_{X,y,origin}_<split>_<tag>.npy` in `dir`.
pub(crate) fn save_split<Y: npy::NpyElement>(
    dir: &Path,
    kind: &str,
    split: Split,
    tag: &str,
    arrays: SplitArrays<'_, Y>,
) -> Result<(), DatasetError> {
    let s = split.as_str();
    let n = arrays.y.len();
    let x_shape: Vec<usize> = std::iter::once(n)
        .chain(arrays.sample_shape.iter().copied())
        .collect();
    npy::write_npy(
        &dir.join(format!("{kind}_X_{s}_{tag}.npy")),
        &x_shape,
        arrays.x,
    )?;
    npy::write_npy(&dir.join(format!("{kind}_y_{s}_{tag}.npy")), &[n], arrays.y)?;
    npy::write_npy(
        &dir.join(format!("{kind}_origin_{s}_{tag}.npy")),
        &[n, arrays.origin_width],
        &arrays.origin,
    )?;
    Ok(())
}

/// Writes a dataset's metadata as `<kind>_metadata_<tag>.json` in `dir`.
pub(crate) fn save_metadata(
    dir: &Path,
    kind: &str,
    tag: &str,
    metadata: &impl serde::Serialize,
) -> Result<(), DatasetError> {
    let path = dir.join(format!("{kind}_metadata_{tag}.json"));
    crate::atomic_file::write_json(&path, metadata)
        .map_err(|source| DatasetError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_boundaries_follow_the_spec() {
        assert_eq!(class_of(0.7001), Some(0));
        assert_eq!(class_of(0.7), Some(1));
        assert_eq!(class_of(0.5001), Some(1));
        assert_eq!(class_of(0.3), Some(3));
        assert_eq!(class_of(-0.4), Some(3));
        assert_eq!(class_of(f32::INFINITY), None);
    }
}
