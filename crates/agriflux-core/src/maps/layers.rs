//! One date's layers, computed from its scene and the run's models: NDVI, true colour, the
//! cloud mask, the CNN's health classes and confidence, the LSTM's forecast and its change.
//! Written as GeoTIFFs (for GIS) and PNG overlays (for the window) beside a small summary
//! that the season's series and the cache read.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::MapError;
use super::colours::{
    CHANGE_RAMP, CLASS_COLOURS, CLOUD_CLASSES, CONFIDENCE_RAMP, NDVI_RAMP, encode_png,
};
use crate::datasets::CLASS_NAMES;
use crate::datasets::patches::{CHANNELS, PATCH};
use crate::datasets::sequences::{BLOCK, GAP_SCALE_DAYS, block_means};
use crate::ml::{CnnClassifier, LstmRegressor};
use crate::raster::geotiff::{
    Raster, RasterClass, RasterData, read_geotiff, write_class_geotiff, write_geotiff,
};
use crate::raster::indices;
use crate::raster::scene::Scene;

/// Side of a health cell, pixels: one 64 x 64 window is classified per cell, centred on it
/// (clamped inside the scene). Half a patch: each window's centre half is its cell.
pub const CELL: usize = 32;
/// A window with more invalid pixels than this fraction gets no class (as in training).
const MAX_INVALID_FRACTION: f64 = 0.25;
/// Windows classified per batch: bounds memory at 16 MiB of patches.
const WINDOWS_PER_BATCH: usize = 256;
/// Class value of a pixel without a prediction in `health.tif`.
pub const NO_CLASS: u8 = 255;
/// Reflectance shown as full white in true colour: a fixed stretch, the same on every date so
/// that a timelapse shows the season and not the stretch (EO Browser's default gain is 2.5).
const TRUE_COLOUR_WHITE: f32 = 0.3;

/// What the season keeps of a date: the cache key, coarse grids and clear sky.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct DateSummary {
    /// Hash of everything the layers depend on; a mismatch recomputes them.
    pub fingerprint: String,
    pub date: NaiveDate,
    /// Fraction of the scene's pixels that are usable.
    pub clear_fraction: f64,
    pub cells_x: usize,
    pub cells_y: usize,
    /// Health class per cell (row-major), `None` without a model or for cloudy windows.
    pub classes: Vec<Option<u8>>,
    pub confidence: Vec<Option<f32>>,
    pub blocks_x: usize,
    pub blocks_y: usize,
    /// Mean NDVI per 32 x 32 block, `None` when less than half the block is clear.
    pub block_means: Vec<Option<f32>>,
    pub block_clear: Vec<f32>,
    /// The LSTM's forecast per block for `target`, made from this date and those before.
    pub forecast: Vec<Option<f32>>,
    /// The date forecast: the next acquisition, or after the last one the season's usual
    /// revisit.
    pub target: Option<NaiveDate>,
    pub has_health: bool,
    pub has_forecast: bool,
}

/// The full-resolution layers of a date, as written to its GeoTIFFs.
pub(crate) struct DatePixels {
    pub width: usize,
    pub height: usize,
    pub ndvi: Vec<f32>,
    pub class: Vec<u8>,
    pub confidence: Vec<f32>,
    pub forecast: Vec<f32>,
    pub change: Vec<f32>,
}

/// The LSTM and the inputs of a date's forecast: block means of the `seq_len` dates ending
/// with this one, the gaps in days after each, and the target.
pub(crate) struct ForecastInput<'a> {
    pub lstm: &'a LstmRegressor,
    pub window: Vec<&'a [Option<f32>]>,
    pub gaps_days: Vec<f64>,
    pub target: NaiveDate,
}

/// Computes a date's layers from its scene and its blocks' mean NDVI ([`block_means_of`]) and
/// writes them into `dir` (GeoTIFFs, PNGs, `summary.json`).
pub(crate) fn compute_date(
    scene: &Scene,
    block_means: &[Option<f32>],
    cnn: Option<&CnnClassifier>,
    forecast_input: Option<ForecastInput<'_>>,
    fingerprint: String,
    dir: &Path,
) -> Result<(DateSummary, DatePixels), MapError> {
    let (w, h) = (scene.width, scene.height);
    let valid = scene.valid_mask();
    let ndvi = indices::ndvi_interleaved(&scene.bands, &valid);
    let clear = valid.iter().filter(|v| **v).count();

    let (cells_x, cells_y) = (w.div_ceil(CELL), h.div_ceil(CELL));
    let (classes, confidence) = match cnn {
        Some(cnn) => health_cells(scene, &valid, cnn)?,
        None => (vec![None; cells_x * cells_y], vec![None; cells_x * cells_y]),
    };

    let means = block_means.to_vec();
    let (blocks_x, blocks_y) = (w / BLOCK, h / BLOCK);
    let block_clear = block_clear_fractions(&valid, w, blocks_x, blocks_y);
    let (forecast, target) = match forecast_input {
        Some(input) => {
            let target = input.target;
            (forecast_blocks(input, &means)?, Some(target))
        }
        None => (vec![None; means.len()], None),
    };

    // Full-resolution planes.
    let n = w * h;
    let mut class = vec![NO_CLASS; n];
    let mut conf = vec![f32::NAN; n];
    let mut fc = vec![f32::NAN; n];
    let mut change = vec![f32::NAN; n];
    for r in 0..h {
        for c in 0..w {
            let p = r * w + c;
            let cell = (r / CELL) * cells_x + c / CELL;
            if valid[p]
                && let (Some(k), Some(p_k)) = (classes[cell], confidence[cell])
            {
                class[p] = k;
                conf[p] = p_k;
            }
            let (br, bc) = (r / BLOCK, c / BLOCK);
            if br < blocks_y && bc < blocks_x {
                let b = br * blocks_x + bc;
                if let Some(f) = forecast[b] {
                    fc[p] = f;
                    if let Some(m) = means[b] {
                        change[p] = f - m;
                    }
                }
            }
        }
    }
    let summary = DateSummary {
        fingerprint,
        date: scene.date,
        clear_fraction: clear as f64 / n.max(1) as f64,
        cells_x,
        cells_y,
        has_health: cnn.is_some(),
        has_forecast: target.is_some(),
        classes,
        confidence,
        blocks_x,
        blocks_y,
        block_means: means,
        block_clear,
        forecast,
        target,
    };
    let pixels = DatePixels {
        width: w,
        height: h,
        ndvi,
        class,
        confidence: conf,
        forecast: fc,
        change,
    };
    write_date(scene, &summary, &pixels, dir)?;
    Ok((summary, pixels))
}

/// Classifies one window per cell; cells whose window is too cloudy get `None`.
#[allow(clippy::type_complexity)]
fn health_cells(
    scene: &Scene,
    valid: &[bool],
    cnn: &CnnClassifier,
) -> Result<(Vec<Option<u8>>, Vec<Option<f32>>), MapError> {
    let (w, h) = (scene.width, scene.height);
    let (cells_x, cells_y) = (w.div_ceil(CELL), h.div_ceil(CELL));
    let mut classes = vec![None; cells_x * cells_y];
    let mut confidence = vec![None; cells_x * cells_y];
    if w < PATCH || h < PATCH {
        return Ok((classes, confidence));
    }
    let origin = |cell: usize, limit: usize| {
        (cell * CELL + CELL / 2)
            .saturating_sub(PATCH / 2)
            .min(limit - PATCH)
    };
    let mut cells = Vec::new();
    for cy in 0..cells_y {
        for cx in 0..cells_x {
            let (r0, c0) = (origin(cy, h), origin(cx, w));
            let invalid: usize = (r0..r0 + PATCH)
                .map(|r| {
                    valid[r * w + c0..r * w + c0 + PATCH]
                        .iter()
                        .filter(|v| !**v)
                        .count()
                })
                .sum();
            if invalid as f64 <= MAX_INVALID_FRACTION * (PATCH * PATCH) as f64 {
                cells.push((cy * cells_x + cx, r0, c0));
            }
        }
    }
    let mut x = Vec::with_capacity(WINDOWS_PER_BATCH * PATCH * PATCH * CHANNELS);
    for batch in cells.chunks(WINDOWS_PER_BATCH) {
        x.clear();
        for &(_, r0, c0) in batch {
            for r in r0..r0 + PATCH {
                let row = &scene.bands[(r * w + c0) * CHANNELS..(r * w + c0 + PATCH) * CHANNELS];
                // As the training patches: a non-finite sample is 0.
                x.extend(row.iter().map(|v| if v.is_finite() { *v } else { 0.0 }));
            }
        }
        let proba = cnn
            .predict_proba(&x, batch.len())
            .map_err(|source| MapError::Model {
                what: "the CNN".into(),
                source,
            })?;
        for (&(cell, _, _), p) in batch.iter().zip(proba) {
            let (k, best) =
                p.iter().enumerate().fold(
                    (0, f32::MIN),
                    |acc, (k, v)| if *v > acc.1 { (k, *v) } else { acc },
                );
            classes[cell] = Some(k as u8);
            confidence[cell] = Some(best);
        }
    }
    Ok((classes, confidence))
}

/// Fraction of clear pixels per block.
fn block_clear_fractions(valid: &[bool], w: usize, blocks_x: usize, blocks_y: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks_x * blocks_y);
    for br in 0..blocks_y {
        for bc in 0..blocks_x {
            let clear: usize = (br * BLOCK..(br + 1) * BLOCK)
                .map(|r| {
                    valid[r * w + bc * BLOCK..r * w + (bc + 1) * BLOCK]
                        .iter()
                        .filter(|v| **v)
                        .count()
                })
                .sum();
            out.push(clear as f32 / (BLOCK * BLOCK) as f32);
        }
    }
    out
}

/// The LSTM's forecast per block: `None` where a date of the window has no mean.
fn forecast_blocks(
    input: ForecastInput<'_>,
    today: &[Option<f32>],
) -> Result<Vec<Option<f32>>, MapError> {
    let blocks = today.len();
    let mut x = Vec::new();
    let mut which = Vec::new();
    for b in 0..blocks {
        let values: Option<Vec<f32>> = input
            .window
            .iter()
            .map(|m| m.get(b).copied().flatten())
            .collect();
        let Some(values) = values else { continue };
        for (v, gap) in values.iter().zip(&input.gaps_days) {
            x.push(*v);
            x.push((gap / GAP_SCALE_DAYS) as f32);
        }
        which.push(b);
    }
    let mut out = vec![None; blocks];
    if which.is_empty() {
        return Ok(out);
    }
    let predicted = input
        .lstm
        .predict(&x, which.len())
        .map_err(|source| MapError::Model {
            what: "the LSTM".into(),
            source,
        })?;
    for (b, v) in which.into_iter().zip(predicted) {
        out[b] = v.is_finite().then_some(v);
    }
    Ok(out)
}

/// Writes the GeoTIFFs, the PNG overlays and `summary.json` (last: it marks the date done).
fn write_date(
    scene: &Scene,
    summary: &DateSummary,
    px: &DatePixels,
    dir: &Path,
) -> Result<(), MapError> {
    let raster = |name: &str, data: RasterData, nodata: f64| Raster {
        width: px.width,
        height: px.height,
        bands: 1,
        data,
        band_names: vec![name.to_string()],
        transform: scene.transform,
        crs: scene.crs,
        nodata: Some(nodata),
    };
    let tif = |file: &str| dir.join(format!("{file}.tif"));
    write_geotiff(
        &tif("ndvi"),
        &raster("NDVI", RasterData::F32(px.ndvi.clone()), f64::NAN),
    )?;
    write_geotiff(
        &tif("confidence"),
        &raster(
            "probability of the predicted class",
            RasterData::F32(px.confidence.clone()),
            f64::NAN,
        ),
    )?;
    write_geotiff(
        &tif("forecast"),
        &raster(
            "forecast NDVI of the next acquisition",
            RasterData::F32(px.forecast.clone()),
            f64::NAN,
        ),
    )?;
    write_geotiff(
        &tif("forecast_change"),
        &raster(
            "forecast NDVI minus this date's block mean",
            RasterData::F32(px.change.clone()),
            f64::NAN,
        ),
    )?;
    let classes: Vec<RasterClass> = CLASS_NAMES
        .iter()
        .zip(CLASS_COLOURS)
        .map(|(name, colour)| RasterClass {
            name: (*name).to_string(),
            colour,
        })
        .collect();
    write_class_geotiff(
        &tif("health"),
        &raster(
            "predicted crop health",
            RasterData::U8(px.class.clone()),
            f64::from(NO_CLASS),
        ),
        &classes,
    )?;

    let png = |name: &str, rgba: Vec<u8>| -> Result<(), MapError> {
        let path = dir.join(format!("{name}.png"));
        let bytes = encode_png(px.width, px.height, &rgba).map_err(|detail| MapError::Write {
            path: path.clone(),
            detail,
        })?;
        agriflux_base::atomic_file::write(&path, &bytes)
            .map_err(|source| MapError::Io { path, source })
    };
    png("true_colour", true_colour(scene))?;
    png("ndvi", NDVI_RAMP.paint(&px.ndvi))?;
    png("clouds", cloud_mask(scene))?;
    png("health", paint_classes(&px.class))?;
    png("confidence", CONFIDENCE_RAMP.paint(&px.confidence))?;
    png("forecast", NDVI_RAMP.paint(&px.forecast))?;
    png("forecast_change", CHANGE_RAMP.paint(&px.change))?;
    let path = summary_path(dir);
    agriflux_base::atomic_file::write_json(&path, summary)
        .map_err(|source| MapError::Io { path, source })
}

/// Mean NDVI per block of a scene, `None` where less than half the block is clear.
pub(crate) fn block_means_of(scene: &Scene) -> Vec<Option<f32>> {
    block_means(scene)
        .into_iter()
        .map(|m| m.is_finite().then_some(m))
        .collect()
}

/// `summary.json` of a date's folder.
pub(crate) fn summary_path(dir: &Path) -> PathBuf {
    dir.join("summary.json")
}

/// A date's summary, if it was written and reads back.
pub(crate) fn read_summary(dir: &Path) -> Option<DateSummary> {
    let text = std::fs::read_to_string(summary_path(dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads a date's full-resolution layers back: NDVI and the forecasts from its GeoTIFFs, the
/// classes and confidence from its summary's cells (the class map is a palette TIFF, which the
/// `tiff` crate does not decode; the cells hold the same values).
pub(crate) fn read_pixels(dir: &Path, summary: &DateSummary) -> Result<DatePixels, MapError> {
    let band = |name: &str| -> Result<Raster, MapError> {
        Ok(read_geotiff(&dir.join(format!("{name}.tif")))?)
    };
    let ndvi_raster = band("ndvi")?;
    let (w, h) = (ndvi_raster.width, ndvi_raster.height);
    let ndvi = ndvi_raster.band_f32(0).unwrap_or_default();
    let f32s = |name: &str| -> Result<Vec<f32>, MapError> {
        let r = band(name)?;
        if (r.width, r.height) != (w, h) {
            return Err(MapError::Write {
                path: dir.join(format!("{name}.tif")),
                detail: format!("{}x{} instead of {w}x{h}", r.width, r.height),
            });
        }
        Ok(r.band_f32(0).unwrap_or_default())
    };
    let mut class = vec![NO_CLASS; w * h];
    let mut confidence = vec![f32::NAN; w * h];
    for r in 0..h {
        for c in 0..w {
            let p = r * w + c;
            let cell = (r / CELL) * summary.cells_x + c / CELL;
            if ndvi[p].is_finite()
                && let (Some(Some(k)), Some(Some(p_k))) =
                    (summary.classes.get(cell), summary.confidence.get(cell))
            {
                class[p] = *k;
                confidence[p] = *p_k;
            }
        }
    }
    Ok(DatePixels {
        width: w,
        height: h,
        forecast: f32s("forecast")?,
        change: f32s("forecast_change")?,
        ndvi,
        class,
        confidence,
    })
}

fn true_colour(scene: &Scene) -> Vec<u8> {
    let n = scene.pixels();
    let mut rgba = Vec::with_capacity(n * 4);
    let level =
        |v: f32| ((v / TRUE_COLOUR_WHITE).clamp(0.0, 1.0).powf(1.0 / 1.4) * 255.0).round() as u8;
    for p in 0..n {
        let px = &scene.bands[p * 4..p * 4 + 4];
        if scene.data_mask[p] == 0 || !px.iter().all(|v| v.is_finite()) {
            rgba.extend_from_slice(&[0, 0, 0, 0]);
        } else {
            // Bands are B02, B03, B04, B08: red is B04, green B03, blue B02.
            rgba.extend_from_slice(&[level(px[2]), level(px[1]), level(px[0]), 255]);
        }
    }
    rgba
}

/// The pixels the pipeline does not use, by why (Sentinel-2 scene classification).
fn cloud_mask(scene: &Scene) -> Vec<u8> {
    let n = scene.pixels();
    let mut rgba = Vec::with_capacity(n * 4);
    for p in 0..n {
        let finite = scene.bands[p * 4..p * 4 + 4].iter().all(|v| v.is_finite());
        let kind = if scene.data_mask[p] == 0 || !finite {
            Some(4)
        } else {
            match scene.scl[p] {
                8 | 9 => Some(0),
                10 => Some(1),
                3 => Some(2),
                11 => Some(3),
                0 | 1 => Some(4),
                _ => None,
            }
        };
        match kind {
            Some(k) => {
                let (_, colour, alpha) = CLOUD_CLASSES[k];
                rgba.extend_from_slice(&colour);
                rgba.push(alpha);
            }
            None => rgba.extend_from_slice(&[0, 0, 0, 0]),
        }
    }
    rgba
}

fn paint_classes(class: &[u8]) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(class.len() * 4);
    for k in class {
        match CLASS_COLOURS.get(usize::from(*k)) {
            Some(colour) => {
                rgba.extend_from_slice(colour);
                rgba.push(255);
            }
            None => rgba.extend_from_slice(&[0, 0, 0, 0]),
        }
    }
    rgba
}
