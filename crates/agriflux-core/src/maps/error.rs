//! Why the maps could not be made.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::ml::MlError;
use crate::raster::geotiff::RasterError;
use crate::raster::scene::SceneError;

/// Why the maps could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// No scene has been downloaded yet.
    #[error("no imagery in {0}: run the pipeline (at least step 1) first")]
    NoImagery(PathBuf),
    /// The date asked for has no scene.
    #[error("no imagery on {date}: the downloaded dates are {first} to {last}")]
    NoSuchDate {
        /// The date asked for.
        date: NaiveDate,
        /// The first downloaded date.
        first: NaiveDate,
        /// The last one.
        last: NaiveDate,
    },
    /// A date given as text is neither `latest` nor `YYYY-MM-DD`.
    #[error("{0:?} is not a date: use YYYY-MM-DD or latest")]
    BadDate(String),
    /// A scene folder could not be read.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// A GeoTIFF could not be read or written.
    #[error(transparent)]
    Raster(#[from] RasterError),
    /// A model failed on the scene's data.
    #[error("{what} failed: {source}")]
    Model {
        /// Which model.
        what: String,
        /// Why.
        source: MlError,
    },
    /// A fields file is not usable; the message says where and why.
    #[error("fields file {path}: {message}")]
    Fields {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be encoded.
    #[error("{path}: {detail}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The computation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The maps were asked for from the cache only and some date is not made or out of date.
    #[error(
        "the maps are not made for the current scenes and models: open the Map view or run `agriflux map`"
    )]
    NotMade,
}
