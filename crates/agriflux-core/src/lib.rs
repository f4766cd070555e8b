//! The AgriFlux pipeline engine.
//!
//! One library runs the whole real-satellite-data pipeline of the crop-monitoring system:
//! download Sentinel-2 scenes from a [`simulate::SimulatedSource`] (or, later, Sentinel Hub),
//! validate them, build CNN and LSTM training sets, train both models with burn, compare them
//! with models trained on synthetic data, and switch the AI models on in `.env`.
//!
//! The engine knows nothing of terminals or windows: a run emits typed
//! [`pipeline::RunEvent`]s to an [`pipeline::EventSink`], and the `agriflux` command and the
//! desktop app only render them.

pub mod atomic_file;
pub mod charts;
pub mod datasets;
pub mod evaluation;
pub mod files_source;
pub mod ground_truth;
pub mod history;
pub mod ml;
pub mod pipeline;
pub mod raster;
pub mod sentinel_hub;
pub mod settings;
mod simd;
pub mod simulate;
pub mod source;
pub mod steps;
pub mod workfiles;
