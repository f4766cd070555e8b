//! Areas of interest in WGS84 degrees.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An area in WGS84 degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bbox {
    /// Western edge (longitude).
    pub min_lon: f64,
    /// Southern edge (latitude).
    pub min_lat: f64,
    /// Eastern edge (longitude).
    pub max_lon: f64,
    /// Northern edge (latitude).
    pub max_lat: f64,
}

impl Bbox {
    /// Width and height in metres (spherical approximation at the box's centre latitude).
    pub fn size_m(&self) -> (f64, f64) {
        let lat = (self.min_lat + self.max_lat).to_radians() / 2.0;
        let width = (self.max_lon - self.min_lon) * 111_320.0 * lat.cos();
        let height = (self.max_lat - self.min_lat) * 110_574.0;
        (width, height)
    }
}

impl fmt::Display for Bbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.min_lon, self.min_lat, self.max_lon, self.max_lat
        )
    }
}
