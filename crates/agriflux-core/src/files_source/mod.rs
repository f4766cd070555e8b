//! The "files" source: Sentinel-2 L2A GeoTIFFs the user already has (the Copernicus Browser's
//! per-band export, files made with GDAL, ...), read from one folder.
//!
//! Layout rules:
//! - Every `.tif` / `.tiff` in the folder and its direct subfolders is considered.
//! - A file whose name holds exactly one band name (`B02`, `B03`, `B04`, `B08`, `SCL`; words
//!   split on anything but letters and digits) is a one-band file of that band; other band
//!   names (`B05`, `B8A`, ...) are ignored. Any other file is a multi-band file.
//! - The date is the first `YYYY-MM-DD` or `YYYYMMDD` in the file name, else the TIFF
//!   `DateTime` tag; a file with neither is an error.
//! - Per date: one multi-band file, or one file per band (B02, B03, B04, B08, optional SCL),
//!   or a multi-band file plus an SCL file.
//! - Band order in a multi-band file comes from its band descriptions (GDAL's `DESCRIPTION`
//!   items, e.g. `B04`); a file without any description is taken as B02, B03, B04, B08 (further
//!   bands ignored). A band named `SCL` is the scene classification.
//! - Integer samples are digital numbers (reflectance x 10000, no offset applied);
//!   floating-point samples are reflectance. Samples equal to the file's nodata, or NaN, are
//!   missing.
//! - Without SCL a pixel is valid when it has data in all four bands (validity from nodata
//!   only; its SCL is recorded as 7, "unclassified"); the scene metadata says so.
//! - All files share one CRS and one grid; the scenes keep that grid and CRS. The area
//!   (`--bbox`) and the date range are not used: the files are the area and the dates.

pub mod names;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::pipeline::CancelToken;
use crate::raster::scene::Scene;
use crate::raster::{Crs, GeoTransform, Raster, read_geotiff, read_geotiff_with_info};
use crate::settings::{Bbox, DateRange, SourceKind};
use crate::source::{Acquisition, SceneSource, SourceError};
use names::{WANTED_BANDS, band_in_name, date_in_name, date_in_tiff_datetime};

/// SCL classes counted as cloud for the cloud cover: cloud medium and high probability, cirrus.
const CLOUD_SCL: [u8; 3] = [8, 9, 10];
/// SCL value given to pixels with data when the files have no SCL: "unclassified".
const SCL_UNCLASSIFIED: u8 = 7;

/// The files of one date.
#[derive(Clone, Debug, Default)]
struct DateFiles {
    /// The multi-band file, if any.
    multi: Option<PathBuf>,
    /// One-band files by band name (`B02`, ..., `SCL`).
    single: BTreeMap<String, PathBuf>,
}

/// Scenes read from GeoTIFFs in a folder (see the module documentation for the rules).
#[derive(Debug)]
pub struct FilesSource {
    dir: PathBuf,
    dates: BTreeMap<NaiveDate, DateFiles>,
    crs: Crs,
    transform: GeoTransform,
    width: usize,
    height: usize,
    /// Dates whose files include SCL.
    with_scl: usize,
    /// Files ignored (bands the pipeline does not use).
    ignored: Vec<String>,
    /// XXH3-128 of every used file's name, size and modification time: recorded in each
    /// scene, so a scene made from files that changed since is not reused.
    fingerprint: String,
}

fn failed(message: String) -> SourceError {
    SourceError::Failed(message)
}

/// GeoTIFFs directly in `dir` and in its direct subfolders, sorted.
fn list_tiffs(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let read = |d: &Path| {
        fs::read_dir(d).map_err(|e| {
            failed(format!(
                "cannot list the scenes folder {}: {e}",
                d.display()
            ))
        })
    };
    let is_tiff = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"))
    };
    let mut files = Vec::new();
    for entry in read(dir)? {
        let path = entry
            .map_err(|e| failed(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            for inner in read(&path)? {
                let inner = inner
                    .map_err(|e| failed(format!("{}: {e}", path.display())))?
                    .path();
                if inner.is_file() && is_tiff(&inner) {
                    files.push(inner);
                }
            }
        } else if is_tiff(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Indices of B02, B03, B04, B08 and (if named) SCL in a multi-band raster.
fn band_order(path: &Path, raster: &Raster) -> Result<([usize; 4], Option<usize>), SourceError> {
    let names: Vec<String> = raster
        .band_names
        .iter()
        .map(|n| n.trim().to_ascii_uppercase())
        .collect();
    if names.iter().all(String::is_empty) {
        if raster.bands < 4 {
            return Err(failed(format!(
                "{}: {} band(s) without descriptions; a multi-band file needs B02, B03, B04, B08 \
                 (in that order, or named by GDAL band descriptions)",
                path.display(),
                raster.bands
            )));
        }
        return Ok(([0, 1, 2, 3], None));
    }
    let find = |band: &str| names.iter().position(|n| n == band);
    let mut order = [0; 4];
    for (slot, band) in order.iter_mut().zip(WANTED_BANDS) {
        *slot = find(band).ok_or_else(|| {
            failed(format!(
                "{}: band {band} is missing (its band descriptions are {:?})",
                path.display(),
                raster.band_names
            ))
        })?;
    }
    Ok((order, find("SCL")))
}

impl FilesSource {
    /// Scans `dir`, checking dates, bands, CRS and grid of every file; the error names the
    /// file and the problem.
    pub fn open(dir: &Path) -> Result<Self, SourceError> {
        if !dir.is_dir() {
            return Err(failed(format!(
                "the scenes folder {} does not exist or is not a folder (set --scenes-dir or \
                 AGRIFLUX_SCENES_DIR)",
                dir.display()
            )));
        }
        let files = list_tiffs(dir)?;
        if files.is_empty() {
            return Err(failed(format!(
                "no GeoTIFF (.tif, .tiff) in the scenes folder {}",
                dir.display()
            )));
        }
        let mut dates: BTreeMap<NaiveDate, DateFiles> = BTreeMap::new();
        let mut ignored = Vec::new();
        let mut grid: Option<(PathBuf, Crs, GeoTransform, usize, usize)> = None;
        for path in files {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let band = band_in_name(&stem);
            if band
                .as_deref()
                .is_some_and(|b| b != "SCL" && !WANTED_BANDS.contains(&b))
            {
                ignored.push(name);
                continue;
            }
            let (raster, info) =
                read_geotiff_with_info(&path).map_err(|e| failed(e.to_string()))?;
            let date = date_in_name(&name)
                .or_else(|| info.datetime.as_deref().and_then(date_in_tiff_datetime))
                .ok_or_else(|| {
                    failed(format!(
                        "{}: cannot tell its date: no YYYY-MM-DD or YYYYMMDD in the file name \
                         and no TIFF DateTime tag{}",
                        path.display(),
                        info.datetime
                            .as_deref()
                            .map(|d| format!(" (DateTime is {d:?})"))
                            .unwrap_or_default()
                    ))
                })?;
            match &grid {
                None => {
                    grid = Some((
                        path.clone(),
                        raster.crs,
                        raster.transform,
                        raster.width,
                        raster.height,
                    ));
                }
                Some((first, crs, transform, width, height)) => {
                    if raster.crs != *crs {
                        return Err(failed(format!(
                            "mixed CRSs: {} is EPSG:{} but {} is EPSG:{}; all files must share \
                             one CRS (reproject with gdalwarp -t_srs EPSG:{})",
                            path.display(),
                            raster.crs.epsg,
                            first.display(),
                            crs.epsg,
                            crs.epsg
                        )));
                    }
                    if (raster.width, raster.height, raster.transform)
                        != (*width, *height, *transform)
                    {
                        return Err(failed(format!(
                            "{}: its grid ({}x{} px, {:?}) differs from {}'s ({width}x{height} \
                             px, {:?}); all files must cover the same pixels",
                            path.display(),
                            raster.width,
                            raster.height,
                            raster.transform.to_gdal(),
                            first.display(),
                            transform.to_gdal()
                        )));
                    }
                }
            }
            let entry = dates.entry(date).or_default();
            match band {
                Some(band) => {
                    if let Some(other) = entry.single.insert(band.clone(), path.clone()) {
                        return Err(failed(format!(
                            "two {band} files for {date}: {} and {}",
                            other.display(),
                            path.display()
                        )));
                    }
                }
                None => {
                    band_order(&path, &raster)?;
                    if let Some(other) = entry.multi.replace(path.clone()) {
                        return Err(failed(format!(
                            "two multi-band files for {date}: {} and {}",
                            other.display(),
                            path.display()
                        )));
                    }
                }
            }
        }
        let mut with_scl = 0;
        for (date, files) in &dates {
            if files.multi.is_none() {
                let missing: Vec<&str> = WANTED_BANDS
                    .into_iter()
                    .filter(|b| !files.single.contains_key(*b))
                    .collect();
                if !missing.is_empty() {
                    let found: Vec<String> = files
                        .single
                        .values()
                        .map(|p| p.display().to_string())
                        .collect();
                    return Err(failed(format!(
                        "{date}: missing band(s) {} (found {})",
                        missing.join(", "),
                        found.join(", ")
                    )));
                }
            } else if let Some(band) = files.single.keys().find(|b| *b != "SCL") {
                return Err(failed(format!(
                    "{date}: both a multi-band file ({}) and a {band} file ({}); keep one",
                    files
                        .multi
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    files.single[band].display()
                )));
            }
            if files.single.contains_key("SCL") || files.multi.is_some() && scl_in_multi(files)? {
                with_scl += 1;
            }
        }
        let Some((_, crs, transform, width, height)) = grid else {
            return Err(failed(format!(
                "no Sentinel-2 band files in the scenes folder {} (ignored: {})",
                dir.display(),
                ignored.join(", ")
            )));
        };
        let fingerprint = fingerprint(
            dates
                .values()
                .flat_map(|f| f.multi.iter().chain(f.single.values())),
        )?;
        Ok(Self {
            fingerprint,
            dir: dir.to_path_buf(),
            dates,
            crs,
            transform,
            width,
            height,
            with_scl,
            ignored,
        })
    }

    /// The folder read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads one date's files into a scene.
    fn read_date(&self, date: NaiveDate, files: &DateFiles) -> Result<Scene, SourceError> {
        let n = self.width * self.height;
        let read = |p: &Path| read_geotiff(p).map_err(|e| failed(e.to_string()));
        let mut planes: Vec<Vec<f32>> = Vec::with_capacity(4);
        let mut scl: Option<Vec<u8>> = None;
        if let Some(path) = &files.multi {
            let raster = read(path)?;
            let (order, scl_band) = band_order(path, &raster)?;
            for band in order {
                planes.push(reflectance(&raster, band));
            }
            scl = scl_band.map(|b| classes(&raster, b));
        } else {
            for band in WANTED_BANDS {
                planes.push(reflectance(&read(&files.single[band])?, 0));
            }
        }
        if let Some(path) = files.single.get("SCL") {
            scl = Some(classes(&read(path)?, 0));
        }
        let mut bands = Vec::with_capacity(4 * n);
        for i in 0..n {
            bands.extend(planes.iter().map(|p| p[i]));
        }
        let has_data: Vec<bool> = bands
            .chunks_exact(4)
            .map(|px| px.iter().all(|v| v.is_finite()))
            .collect();
        let (scl, cloud_cover) = match scl {
            Some(scl) => {
                let with_data = has_data.iter().zip(&scl).filter(|(d, s)| **d && **s != 0);
                let (mut data, mut cloud) = (0usize, 0usize);
                for (_, s) in with_data {
                    data += 1;
                    cloud += usize::from(CLOUD_SCL.contains(s));
                }
                let cover = 100.0 * cloud as f64 / data.max(1) as f64;
                (scl, (cover * 100.0).round() / 100.0)
            }
            None => (
                has_data
                    .iter()
                    .map(|&d| if d { SCL_UNCLASSIFIED } else { 0 })
                    .collect(),
                0.0,
            ),
        };
        let data_mask = has_data
            .iter()
            .zip(&scl)
            .map(|(&d, &s)| u8::from(d && s != 0))
            .collect();
        Ok(Scene {
            date,
            width: self.width,
            height: self.height,
            transform: self.transform,
            crs: self.crs,
            bands,
            scl,
            data_mask,
            cloud_cover,
        })
    }
}

/// XXH3-128 (hex) of the paths, sizes and modification times of `files`.
fn fingerprint<'a>(files: impl Iterator<Item = &'a PathBuf>) -> Result<String, SourceError> {
    let mut text = String::new();
    for path in files {
        let meta = fs::metadata(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        text.push_str(&format!("{}\t{}\t{mtime}\n", path.display(), meta.len()));
    }
    Ok(format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(text.as_bytes())
    ))
}

/// Whether a date's multi-band file names an SCL band.
fn scl_in_multi(files: &DateFiles) -> Result<bool, SourceError> {
    let Some(path) = &files.multi else {
        return Ok(false);
    };
    let raster = read_geotiff(path).map_err(|e| failed(e.to_string()))?;
    Ok(band_order(path, &raster)?.1.is_some())
}

/// One band as reflectance: integers are DN / 10000, floats are taken as they are; nodata
/// and NaN become NaN.
fn reflectance(raster: &Raster, band: usize) -> Vec<f32> {
    let scale = if raster.data.is_float() { 1.0 } else { 10000.0 };
    let nodata = raster.nodata.filter(|v| !v.is_nan()).map(|v| v as f32);
    raster
        .band_f32(band)
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            if Some(v) == nodata || v.is_nan() {
                f32::NAN
            } else {
                v / scale
            }
        })
        .collect()
}

/// One band of scene classes (SCL); values outside 0..=255 count as "no data" (0).
fn classes(raster: &Raster, band: usize) -> Vec<u8> {
    raster
        .band_f32(band)
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            if (0.0..=255.0).contains(&v) {
                v as u8
            } else {
                0
            }
        })
        .collect()
}

impl SceneSource for FilesSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Files
    }

    /// Every date in the folder; the date range and cloud threshold do not apply (the user
    /// chose the files), and the cloud cover is computed from SCL when the scene is read.
    fn search(
        &self,
        _area: &Bbox,
        _dates: &DateRange,
        _max_cloud_cover: f64,
        cancel: &CancelToken,
    ) -> Result<Vec<Acquisition>, SourceError> {
        if cancel.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        Ok(self
            .dates
            .keys()
            .map(|&date| Acquisition {
                date,
                cloud_cover: 0.0,
            })
            .collect())
    }

    fn fetch(&self, acquisition: &Acquisition, _area: &Bbox) -> Result<Scene, SourceError> {
        let files = self.dates.get(&acquisition.date).ok_or_else(|| {
            failed(format!(
                "no files for {} in {}",
                acquisition.date,
                self.dir.display()
            ))
        })?;
        self.read_date(acquisition.date, files)
    }

    fn provenance(&self) -> serde_json::Value {
        let dates = self.dates.len();
        let validity = if self.with_scl == dates {
            "SCL and nodata".to_string()
        } else if self.with_scl == 0 {
            "nodata only (no SCL band): clouds are not masked".to_string()
        } else {
            format!(
                "SCL on {} of {dates} dates; nodata only (clouds not masked) on the others",
                self.with_scl
            )
        };
        let files: Vec<String> = self
            .dates
            .values()
            .flat_map(|f| f.multi.iter().chain(f.single.values()))
            .filter_map(|p| p.strip_prefix(&self.dir).ok())
            .map(|p| p.display().to_string())
            .collect();
        serde_json::json!({
            "source": "files",
            "folder": self.dir.display().to_string(),
            "files": files,
            "ignored_files": self.ignored,
            "validity": validity,
            "crs": format!("EPSG:{}", self.crs.epsg),
            "extent": self.transform.bbox(self.width, self.height),
            "bbox_setting": "not used: the area is the files' own grid",
            "inputs_fingerprint": self.fingerprint,
        })
    }
}

#[cfg(test)]
mod tests;
