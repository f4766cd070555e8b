//! The AgriFlux pipeline engine.
//!
//! One library runs the whole real-satellite-data pipeline of the crop-monitoring system:
//! download Sentinel-2 scenes from Sentinel Hub, a folder of GeoTIFFs or a
//! [`simulate::SimulatedSource`],
//! validate them, build CNN and LSTM training sets, train both models with burn, compare them
//! with models trained on synthetic data, and switch the AI models on in `.env`.
//!
//! The engine knows nothing of terminals or windows: a run emits typed
//! [`pipeline::RunEvent`]s to an [`pipeline::EventSink`], and the `agriflux` command and the
//! desktop app only render them.
//!
//! The engine sits on three crates with one job each (`agriflux-raster`, `agriflux-ml`,
//! `agriflux-charts`) and the bottom layer `agriflux-base`; `docs/architecture.md` draws the
//! layers.

/// The engine's version (the About box shows it beside the app's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod ai_models;
pub use agriflux_base::atomic_file;
/// The report's charts (the `agriflux-charts` crate).
pub use agriflux_charts as charts;
pub mod command_steps;
pub mod datasets;
pub mod evaluation;
pub mod files_source;
mod geometry;
pub mod ground_truth;
pub mod history;
/// The models, their training and metrics (the `agriflux-ml` crate).
pub use agriflux_ml as ml;
pub mod maps;
pub mod pipeline;
/// GeoTIFFs, scenes and spectral indices (the `agriflux-raster` crate).
pub use agriflux_raster as raster;
pub mod sentinel_hub;
pub mod settings;
pub mod simulate;
pub mod source;
pub mod steps;
pub mod workfiles;
