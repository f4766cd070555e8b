//! One acquisition date on disk: bands, scene classification, indices and metadata.
//!
//! A scene folder `data/scenes/<YYYY-MM-DD>/` holds `bands.tif` (B02, B03, B04, B08
//! reflectance, float32), `scl.tif` (SCL and dataMask, uint8), `indices.tif` (NDVI, SAVI,
//! EVI, NDWI, float32, NaN where invalid) and `metadata.json`. The metadata is written last,
//! with a SHA-256 of every file, so a folder without it (or whose checksums do not match) is
//! never taken for a complete scene.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use super::RasterError;
use super::geotiff::{Crs, GeoTransform, Raster, RasterData, read_geotiff, write_geotiff};
use super::indices;
use crate::Bbox;
use agriflux_base::atomic_file;

/// Where scenes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The built-in simulated Sentinel-2 source (no account needed; always labelled simulated).
    Simulated,
    /// The Sentinel Hub APIs (commercial or Copernicus Data Space).
    SentinelHub,
    /// GeoTIFFs the user already has, read from a folder (`--scenes-dir`).
    Files,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Simulated => "simulated",
            Self::SentinelHub => "sentinel-hub",
            Self::Files => "files",
        })
    }
}

/// Band names of `bands.tif`, in order.
pub const BAND_NAMES: [&str; 4] = ["B02", "B03", "B04", "B08"];
/// Band names of `indices.tif`, in order.
pub const INDEX_NAMES: [&str; 4] = ["NDVI", "SAVI", "EVI", "NDWI"];
/// Band names of `scl.tif`, in order.
pub const MASK_NAMES: [&str; 2] = ["SCL", "dataMask"];

/// Sentinel-2 scene classification values that make a pixel unusable: no data, saturated or
/// defective, cloud shadow, medium and high probability cloud, thin cirrus, snow.
pub const INVALID_SCL: [u8; 7] = [0, 1, 3, 8, 9, 10, 11];

/// One acquisition in memory: four reflectance bands and the quality layers on one grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// Acquisition date (UTC day).
    pub date: NaiveDate,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Placement of the grid.
    pub transform: GeoTransform,
    /// Coordinate reference system of the grid.
    pub crs: Crs,
    /// Reflectance B02, B03, B04, B08 interleaved by pixel: `(row * width + col) * 4 + band`.
    pub bands: Vec<f32>,
    /// Sentinel-2 scene classification per pixel.
    pub scl: Vec<u8>,
    /// 1 where the sensor has data, 0 elsewhere.
    pub data_mask: Vec<u8>,
    /// Tile cloud cover in percent, as the catalog reported it.
    pub cloud_cover: f64,
}

impl Scene {
    /// Pixels of the grid.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// Whether each pixel is usable: has data, finite bands, and a clear SCL class.
    pub fn valid_mask(&self) -> Vec<bool> {
        // A lookup table and `&` instead of `contains` and `&&`: no branches in the loop.
        const CLEAR: [bool; 256] = {
            let mut table = [true; 256];
            let mut i = 0;
            while i < INVALID_SCL.len() {
                table[INVALID_SCL[i] as usize] = false;
                i += 1;
            }
            table
        };
        let n = self.pixels();
        self.data_mask[..n]
            .iter()
            .zip(&self.scl[..n])
            .zip(self.bands[..4 * n].chunks_exact(4))
            .map(|((&data, &scl), px)| {
                (data != 0)
                    & CLEAR[usize::from(scl)]
                    & px.iter().fold(true, |a, v| a & v.is_finite())
            })
            .collect()
    }

    /// Fraction of usable pixels.
    pub fn valid_fraction(&self) -> f64 {
        let valid = self.valid_mask().iter().filter(|v| **v).count();
        valid as f64 / self.pixels().max(1) as f64
    }

    /// NDVI, SAVI, EVI and NDWI planes, NaN where the pixel is not valid.
    pub fn indices(&self) -> [Vec<f32>; 4] {
        indices::all_interleaved(&self.bands, &self.valid_mask())
    }
}

/// `metadata.json` of a scene folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneMetadata {
    /// Acquisition date.
    pub date: NaiveDate,
    /// `simulated` or `sentinel-hub`; simulated scenes are never real imagery.
    pub source: SourceKind,
    /// Tile cloud cover in percent.
    pub cloud_cover: f64,
    /// Fraction of usable pixels in the area.
    pub valid_fraction: f64,
    /// Requested area in WGS84.
    pub bbox: Bbox,
    /// CRS as `EPSG:<code>`.
    pub crs: String,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// GDAL-style geotransform: origin x, pixel width, 0, origin y, 0, -pixel height.
    pub geotransform: [f64; 6],
    /// SHA-256 (hex) of each file in the folder, by file name.
    pub checksums: std::collections::BTreeMap<String, String>,
    /// Free-form details of the source (e.g. the simulation seed, processing units).
    pub provenance: serde_json::Value,
}

/// Errors reading or writing a scene folder.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// A raster could not be read or written.
    #[error(transparent)]
    Raster(#[from] RasterError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `metadata.json` is missing: the folder was never completed.
    #[error("{dir}: incomplete scene (no metadata.json); download it again")]
    Incomplete {
        /// The scene folder.
        dir: PathBuf,
    },
    /// The metadata could not be parsed.
    #[error("{path}: invalid metadata: {message}")]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file's content does not match the checksum recorded when it was written.
    #[error("{path}: checksum mismatch (the file changed or is corrupt since it was written)")]
    Checksum {
        /// The file.
        path: PathBuf,
    },
    /// The files disagree with each other or with the metadata.
    #[error("{dir}: {message}")]
    Inconsistent {
        /// The scene folder.
        dir: PathBuf,
        /// What disagrees.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SceneError + '_ {
    move |source| SceneError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, SceneError> {
    let bytes = fs::read(path).map_err(io(path))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// The folder of one date under `scenes_dir`.
pub fn scene_dir(scenes_dir: &Path, date: NaiveDate) -> PathBuf {
    scenes_dir.join(date.format("%Y-%m-%d").to_string())
}

fn raster(scene: &Scene, data: RasterData, names: &[&str], nodata: Option<f64>) -> Raster {
    Raster {
        width: scene.width,
        height: scene.height,
        bands: names.len(),
        data,
        band_names: names.iter().map(|s| s.to_string()).collect(),
        transform: scene.transform,
        crs: scene.crs,
        nodata,
    }
}

/// Writes a scene folder (files first, metadata last) and returns its metadata.
pub fn write_scene(
    dir: &Path,
    scene: &Scene,
    source: SourceKind,
    bbox: Bbox,
    provenance: serde_json::Value,
) -> Result<SceneMetadata, SceneError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    // An older metadata.json must not vouch for files that are about to change.
    let meta_path = dir.join("metadata.json");
    if meta_path.exists() {
        fs::remove_file(&meta_path).map_err(io(&meta_path))?;
    }
    let bands = raster(
        scene,
        RasterData::F32(scene.bands.clone()),
        &BAND_NAMES,
        Some(f64::NAN),
    );
    write_geotiff(&dir.join("bands.tif"), &bands)?;
    let mut masks = Vec::with_capacity(scene.pixels() * 2);
    for (s, m) in scene.scl.iter().zip(&scene.data_mask) {
        masks.push(*s);
        masks.push(*m);
    }
    write_geotiff(
        &dir.join("scl.tif"),
        &raster(scene, RasterData::U8(masks), &MASK_NAMES, None),
    )?;
    let planes = scene.indices();
    let mut interleaved = Vec::with_capacity(scene.pixels() * 4);
    for i in 0..scene.pixels() {
        interleaved.extend(planes.iter().map(|p| p[i]));
    }
    let idx = raster(
        scene,
        RasterData::F32(interleaved),
        &INDEX_NAMES,
        Some(f64::NAN),
    );
    write_geotiff(&dir.join("indices.tif"), &idx)?;

    let mut checksums = std::collections::BTreeMap::new();
    for file in ["bands.tif", "scl.tif", "indices.tif"] {
        checksums.insert(file.to_string(), sha256_file(&dir.join(file))?);
    }
    let metadata = SceneMetadata {
        date: scene.date,
        source,
        cloud_cover: scene.cloud_cover,
        valid_fraction: scene.valid_fraction(),
        bbox,
        crs: format!("EPSG:{}", scene.crs.epsg),
        width: scene.width,
        height: scene.height,
        geotransform: [
            scene.transform.origin_x,
            scene.transform.pixel_width,
            0.0,
            scene.transform.origin_y,
            0.0,
            -scene.transform.pixel_height,
        ],
        checksums,
        provenance,
    };
    atomic_file::write_json(&meta_path, &metadata).map_err(io(&meta_path))?;
    Ok(metadata)
}

/// Reads a scene folder's metadata (no checksum check).
pub fn read_metadata(dir: &Path) -> Result<SceneMetadata, SceneError> {
    let path = dir.join("metadata.json");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SceneError::Incomplete {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(io(&path)(e)),
    };
    serde_json::from_str(&text).map_err(|e| SceneError::BadMetadata {
        path,
        message: e.to_string(),
    })
}

/// Checks every file of a scene folder against the checksums in its metadata.
pub fn verify_checksums(dir: &Path, metadata: &SceneMetadata) -> Result<(), SceneError> {
    for file in ["bands.tif", "scl.tif", "indices.tif"] {
        let path = dir.join(file);
        let expected = metadata
            .checksums
            .get(file)
            .ok_or_else(|| SceneError::BadMetadata {
                path: dir.join("metadata.json"),
                message: format!("no checksum for {file}"),
            })?;
        if !path.exists() {
            return Err(SceneError::Inconsistent {
                dir: dir.to_path_buf(),
                message: format!("{file} is missing"),
            });
        }
        if &sha256_file(&path)? != expected {
            return Err(SceneError::Checksum { path });
        }
    }
    Ok(())
}

/// Reads a scene folder back into memory, checking checksums, shapes and band names.
pub fn read_scene(dir: &Path) -> Result<(Scene, SceneMetadata), SceneError> {
    let metadata = read_metadata(dir)?;
    verify_checksums(dir, &metadata)?;
    let inconsistent = |message: String| SceneError::Inconsistent {
        dir: dir.to_path_buf(),
        message,
    };
    let bands = read_geotiff(&dir.join("bands.tif"))?;
    let masks = read_geotiff(&dir.join("scl.tif"))?;
    for (name, r, n) in [("bands.tif", &bands, 4), ("scl.tif", &masks, 2)] {
        if r.width != metadata.width || r.height != metadata.height || r.bands != n {
            return Err(inconsistent(format!(
                "{name} is {}x{} with {} bands; metadata says {}x{} with {n}",
                r.width, r.height, r.bands, metadata.width, metadata.height
            )));
        }
    }
    let RasterData::F32(band_values) = bands.data else {
        return Err(inconsistent("bands.tif is not float32".into()));
    };
    let RasterData::U8(mask_values) = masks.data else {
        return Err(inconsistent("scl.tif is not uint8".into()));
    };
    let scene = Scene {
        date: metadata.date,
        width: metadata.width,
        height: metadata.height,
        transform: bands.transform,
        crs: bands.crs,
        bands: band_values,
        scl: mask_values.iter().step_by(2).copied().collect(),
        data_mask: mask_values.iter().skip(1).step_by(2).copied().collect(),
        cloud_cover: metadata.cloud_cover,
    };
    Ok((scene, metadata))
}

/// Every scene folder under `scenes_dir` (named `YYYY-MM-DD`), sorted by date.
pub fn list_scene_dirs(scenes_dir: &Path) -> Result<Vec<(NaiveDate, PathBuf)>, SceneError> {
    let entries = match fs::read_dir(scenes_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(scenes_dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(scenes_dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(date) = NaiveDate::parse_from_str(&name, "%Y-%m-%d")
            && entry.path().is_dir()
        {
            dirs.push((date, entry.path()));
        }
    }
    dirs.sort();
    Ok(dirs)
}
