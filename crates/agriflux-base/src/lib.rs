//! The bottom layer of AgriFlux, used by every other crate and using none of them: files
//! replaced atomically (with the free-space check that explains a full disk), cooperative
//! cancellation, and running hot loops with the CPU's wider vector units.

pub mod atomic_file;
mod cancel;
pub mod simd;

pub use cancel::CancelToken;
