//! The in-memory raster types shared by the GeoTIFF reader and writer.

use std::io;
use std::path::{Path, PathBuf};

/// Errors reading or writing a GeoTIFF; every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// The file could not be opened, read, written or renamed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with a TIFF header.
    #[error("{}: not a TIFF file: {detail}", .path.display())]
    NotTiff {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The file ends before the data its header points to.
    #[error("{}: truncated: {detail}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is missing.
        detail: String,
    },
    /// The file is a valid TIFF using a feature this reader does not implement.
    #[error("{}: unsupported TIFF: {detail}", .path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The feature.
        detail: String,
    },
    /// The file's tags are missing or contradict each other.
    #[error("{}: malformed TIFF: {detail}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The inconsistency.
        detail: String,
    },
    /// The raster given to [`write_geotiff`](super::write_geotiff) is inconsistent or cannot be stored.
    #[error("{}: cannot write raster: {detail}", .path.display())]
    InvalidRaster {
        /// The file that was to be written.
        path: PathBuf,
        /// Why the raster was refused.
        detail: String,
    },
}

impl RasterError {
    /// A [`RasterError::Malformed`] about `path`.
    pub(crate) fn malformed(path: &Path, detail: String) -> Self {
        Self::Malformed {
            path: path.to_path_buf(),
            detail,
        }
    }

    /// A [`RasterError::Unsupported`] about `path`.
    pub(crate) fn unsupported(path: &Path, detail: String) -> Self {
        Self::Unsupported {
            path: path.to_path_buf(),
            detail,
        }
    }
}

/// Affine georeferencing of a north-up raster (no rotation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform {
    /// X (easting or longitude) of the top-left corner of the top-left pixel.
    pub origin_x: f64,
    /// Y (northing or latitude) of the top-left corner of the top-left pixel.
    pub origin_y: f64,
    /// Pixel width in CRS units; positive.
    pub pixel_width: f64,
    /// Pixel height in CRS units; positive (y decreases downwards).
    pub pixel_height: f64,
}

impl GeoTransform {
    /// The transform mapping a `width` × `height` raster onto the box `[xmin, ymin, xmax, ymax]`.
    pub fn from_bbox(bbox: [f64; 4], width: usize, height: usize) -> Self {
        let [xmin, ymin, xmax, ymax] = bbox;
        Self {
            origin_x: xmin,
            origin_y: ymax,
            pixel_width: (xmax - xmin) / width as f64,
            pixel_height: (ymax - ymin) / height as f64,
        }
    }

    /// The box `[xmin, ymin, xmax, ymax]` covered by a `width` × `height` raster.
    pub fn bbox(&self, width: usize, height: usize) -> [f64; 4] {
        [
            self.origin_x,
            self.origin_y - self.pixel_height * height as f64,
            self.origin_x + self.pixel_width * width as f64,
            self.origin_y,
        ]
    }

    /// GDAL's six-coefficient geotransform `[x0, dx, 0, y0, 0, -dy]`.
    pub fn to_gdal(&self) -> [f64; 6] {
        [
            self.origin_x,
            self.pixel_width,
            0.0,
            self.origin_y,
            0.0,
            -self.pixel_height,
        ]
    }
}

/// A coordinate reference system identified by its EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crs {
    /// EPSG code, e.g. 4326 (WGS 84 longitude/latitude) or 32631 (WGS 84 / UTM zone 31N).
    pub epsg: u32,
}

impl Crs {
    /// WGS 84 geographic coordinates (EPSG:4326), in degrees.
    pub const WGS84: Crs = Crs { epsg: 4326 };

    /// WGS 84 / UTM `zone` (1–60) north (EPSG:326zz) or south (EPSG:327zz); `None` for a bad zone.
    pub fn utm(zone: u8, north: bool) -> Option<Crs> {
        (1..=60).contains(&zone).then(|| Crs {
            epsg: if north { 32600 } else { 32700 } + u32::from(zone),
        })
    }

    /// The UTM zone and hemisphere (`true` = north) when this is a WGS 84 / UTM CRS.
    pub fn utm_zone(&self) -> Option<(u8, bool)> {
        match self.epsg {
            32601..=32660 => Some(((self.epsg - 32600) as u8, true)),
            32701..=32760 => Some(((self.epsg - 32700) as u8, false)),
            _ => None,
        }
    }

    /// Whether coordinates are longitude/latitude degrees (EPSG:4326).
    pub fn is_geographic(&self) -> bool {
        self.epsg == 4326
    }

    /// Whether [`write_geotiff`](super::write_geotiff) can write this CRS (EPSG:4326 or WGS 84 / UTM).
    pub fn is_supported(&self) -> bool {
        self.is_geographic() || self.utm_zone().is_some()
    }

    /// The CRS's EPSG name, e.g. `WGS 84 / UTM zone 31N`, for supported CRSs.
    pub fn name(&self) -> Option<String> {
        if self.is_geographic() {
            return Some("WGS 84".to_string());
        }
        let (zone, north) = self.utm_zone()?;
        Some(format!(
            "WGS 84 / UTM zone {zone}{}",
            if north { 'N' } else { 'S' }
        ))
    }
}

/// Pixel values of all bands, band-interleaved by pixel: index = (row·width + col)·bands + band.
#[derive(Debug, Clone, PartialEq)]
pub enum RasterData {
    /// 32-bit float samples (GDAL `Float32`).
    F32(Vec<f32>),
    /// Unsigned 8-bit samples (GDAL `Byte`).
    U8(Vec<u8>),
    /// Unsigned 16-bit samples (GDAL `UInt16`).
    U16(Vec<u16>),
    /// Signed 16-bit samples (GDAL `Int16`), e.g. Theia reflectance with nodata -10000.
    I16(Vec<i16>),
}

impl RasterData {
    /// Number of samples (pixels × bands).
    pub fn len(&self) -> usize {
        match self {
            RasterData::F32(v) => v.len(),
            RasterData::U8(v) => v.len(),
            RasterData::U16(v) => v.len(),
            RasterData::I16(v) => v.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// GDAL's name of the sample type: `Float32`, `Byte`, `UInt16` or `Int16`.
    pub fn type_name(&self) -> &'static str {
        match self {
            RasterData::F32(_) => "Float32",
            RasterData::U8(_) => "Byte",
            RasterData::U16(_) => "UInt16",
            RasterData::I16(_) => "Int16",
        }
    }

    /// Whether the samples are floating-point (reflectance) rather than integers (DN).
    pub fn is_float(&self) -> bool {
        matches!(self, RasterData::F32(_))
    }

    /// Bits per sample.
    pub(crate) fn bits(&self) -> u16 {
        match self {
            RasterData::F32(_) => 32,
            RasterData::U8(_) => 8,
            RasterData::U16(_) | RasterData::I16(_) => 16,
        }
    }

    /// TIFF `SampleFormat`: 1 = unsigned integer, 2 = signed integer, 3 = IEEE float.
    pub(crate) fn sample_format(&self) -> u16 {
        match self {
            RasterData::F32(_) => 3,
            RasterData::U8(_) | RasterData::U16(_) => 1,
            RasterData::I16(_) => 2,
        }
    }

    /// Appends samples `range` as little-endian bytes to `out`.
    pub(crate) fn extend_le_bytes(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        match self {
            RasterData::F32(v) => v[range]
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            RasterData::U8(v) => out.extend_from_slice(&v[range]),
            RasterData::U16(v) => v[range]
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            RasterData::I16(v) => v[range]
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// A georeferenced multi-band raster held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bands (samples per pixel).
    pub bands: usize,
    /// Samples, band-interleaved by pixel: index = (row·width + col)·bands + band.
    pub data: RasterData,
    /// One name per band (e.g. `B02`), written as GDAL band descriptions; may be empty strings.
    pub band_names: Vec<String>,
    /// Position and pixel size.
    pub transform: GeoTransform,
    /// Coordinate reference system.
    pub crs: Crs,
    /// Value marking missing pixels (NaN allowed), written as `GDAL_NODATA`.
    pub nodata: Option<f64>,
}

impl Raster {
    /// The samples of one band as `f32`, row-major; `None` if `band` is out of range.
    pub fn band_f32(&self, band: usize) -> Option<Vec<f32>> {
        if band >= self.bands {
            return None;
        }
        Some(match &self.data {
            RasterData::F32(v) => step_band(v, self.bands, band).copied().collect(),
            RasterData::U8(v) => step_band(v, self.bands, band)
                .map(|&x| f32::from(x))
                .collect(),
            RasterData::U16(v) => step_band(v, self.bands, band)
                .map(|&x| f32::from(x))
                .collect(),
            RasterData::I16(v) => step_band(v, self.bands, band)
                .map(|&x| f32::from(x))
                .collect(),
        })
    }
}

/// Iterates over the samples of `band` in band-interleaved-by-pixel data.
fn step_band<T>(data: &[T], bands: usize, band: usize) -> impl Iterator<Item = &T> {
    data.iter().skip(band).step_by(bands)
}
