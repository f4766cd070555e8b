//! Why a chart could not be made or saved.

use std::path::PathBuf;

/// Why a chart could not be made or saved.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The input cannot be drawn (a bad name, mismatched lengths, a non-square matrix).
    #[error("invalid chart input: {0}")]
    InvalidInput(String),
    /// plotters failed while drawing.
    #[error("chart rendering failed: {0}")]
    Render(String),
    /// A chart file could not be written.
    #[error("could not write chart file {path}: {source}")]
    Io {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
