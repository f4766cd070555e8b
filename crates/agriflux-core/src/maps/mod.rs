//! Maps of the season, driven by this run's models: for every downloaded date, true colour,
//! NDVI, the cloud mask, the CNN's crop-health classes with their confidence, and the LSTM's
//! NDVI forecast for the next acquisition with its change; and per imported field, its
//! figures on every date.
//!
//! Everything is written under `maps/` of the work directory: one folder per date with
//! GeoTIFFs (for GIS software) and PNG overlays (for the window), `maps/fields.geojson` and
//! `maps/fields.csv`. A date is recomputed only when what it depends on changed (its scene,
//! the scenes its forecast reads, the models): a second call is a cache read.
//!
//! ```no_run
//! use agriflux_core::maps::{DateChoice, Season};
//! use agriflux_core::pipeline::{CancelToken, WorkDir};
//!
//! let season = Season::compute(&WorkDir::new("demo"), &mut |_| {}, &CancelToken::new())?;
//! let view = season.view(DateChoice::Latest)?;
//! println!("{} layers on {}", view.layers.len(), view.date);
//! # Ok::<(), agriflux_core::maps::MapError>(())
//! ```

mod colours;
mod error;
mod fields;
mod layers;
mod query;
mod view;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{Days, NaiveDate};
use xxhash_rust::xxh3::Xxh3;

pub use error::MapError;
pub use fields::{MAX_FIELD_VERTICES, MAX_FIELDS_BYTES, MIN_FIELD_CLEAR};
pub use layers::{CELL, NO_CLASS};
pub use view::{
    FieldStats, FieldsImport, LegendEntry, MapDate, MapField, MapLayer, MapLayerId, MapPoint,
    MapProgress, MapView, NextForecast, ReportMap, SeriesPoint,
};

use self::fields::{FieldFigures, FieldsFile, GridField, field_stats, imported_fields_path};
use self::layers::{DatePixels, DateSummary, ForecastInput};
use crate::ml::{CnnClassifier, LstmRegressor};
use crate::pipeline::{CancelToken, WorkDir};
use crate::raster::geotiff::{Crs, GeoTransform};
use crate::raster::scene::{SceneMetadata, SourceKind, list_scene_dirs, read_metadata, read_scene};
use crate::steps::REAL;

/// Bumped when what a date's files hold changes, so that older caches are recomputed.
const MAP_FORMAT: &str = "agriflux-maps-1";

/// Which date to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateChoice {
    /// The last downloaded date.
    Latest,
    /// This date.
    On(NaiveDate),
}

impl std::str::FromStr for DateChoice {
    type Err = MapError;

    fn from_str(text: &str) -> Result<Self, MapError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Self::On)
            .map_err(|_| MapError::BadDate(text.to_string()))
    }
}

/// The grid every date of the season shares.
#[derive(Clone, Debug)]
struct Grid {
    width: usize,
    height: usize,
    transform: GeoTransform,
    crs: Crs,
}

/// The imported fields on the grid, with their figures per date.
struct SeasonFields {
    file: FieldsFile,
    path: PathBuf,
    on_grid: Vec<GridField>,
    /// Per field (same order as `on_grid`), per date: figures and mean confidence.
    stats: Vec<Vec<FieldFigures>>,
}

/// The season's maps: every date's layers computed (or read from the cache), and the fields'
/// figures. Cheap to query once made.
pub struct Season {
    workdir: WorkDir,
    grid: Grid,
    simulated: bool,
    dates: Vec<DateSummary>,
    fields: Option<SeasonFields>,
    notes: Vec<String>,
    /// The last date whose full-resolution layers were read, for pointer queries.
    pixels: Mutex<Option<(NaiveDate, Arc<DatePixels>)>>,
}

impl std::fmt::Debug for Season {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Season")
            .field("workdir", &self.workdir.root())
            .field("dates", &self.dates.len())
            .finish_non_exhaustive()
    }
}

/// `maps/` of a work directory.
pub fn maps_dir(workdir: &WorkDir) -> PathBuf {
    workdir.root().join("maps")
}

/// The folder of one date's layers: `maps/<YYYY-MM-DD>/`.
pub fn date_dir(workdir: &WorkDir, date: NaiveDate) -> PathBuf {
    maps_dir(workdir).join(date.format("%Y-%m-%d").to_string())
}

/// Where imported fields are kept: `fields/fields.geojson`.
pub fn fields_file(workdir: &WorkDir) -> PathBuf {
    imported_fields_path(workdir.root())
}

/// Checks a fields GeoJSON (`text`, from a file called `name`) and keeps it as the work
/// directory's fields, replacing any before; the next [`Season::compute`] summarises them.
pub fn import_fields(workdir: &WorkDir, name: &str, text: &str) -> Result<FieldsImport, MapError> {
    if text.len() as u64 > MAX_FIELDS_BYTES {
        return Err(MapError::Fields {
            path: PathBuf::from(name),
            message: format!("larger than the {MAX_FIELDS_BYTES} bytes a fields file may have"),
        });
    }
    let parsed = fields::parse_fields(text, Path::new(name))?;
    // Refuse now, not at the next map, a file none of whose fields lies on the scenes.
    if let Ok(grid) = latest_grid(workdir) {
        let (on_grid, _) = parsed.on_grid(
            Path::new(name),
            grid.crs,
            &grid.transform,
            grid.width,
            grid.height,
        )?;
        if on_grid.is_empty() {
            return Err(MapError::Fields {
                path: PathBuf::from(name),
                message: format!(
                    "none of its {} field(s) lies on the downloaded scenes (EPSG:{}): check the file's CRS and the area in Settings",
                    parsed.fields.len(),
                    grid.crs.epsg
                ),
            });
        }
    }
    let path = fields_file(workdir);
    crate::atomic_file::write(&path, text.as_bytes()).map_err(|source| MapError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(FieldsImport {
        fields: parsed.fields.len(),
        file: path.display().to_string(),
    })
}

/// The grid of the latest scene.
fn latest_grid(workdir: &WorkDir) -> Result<Grid, MapError> {
    let dirs = list_scene_dirs(&workdir.scenes())?;
    let (_, dir) = dirs
        .last()
        .ok_or_else(|| MapError::NoImagery(workdir.scenes()))?;
    grid_of(&read_metadata(dir)?)
}

fn grid_of(meta: &SceneMetadata) -> Result<Grid, MapError> {
    let g = meta.geotransform;
    let epsg = meta
        .crs
        .strip_prefix("EPSG:")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| MapError::Write {
            path: PathBuf::from("metadata.json"),
            detail: format!("unknown CRS {:?}", meta.crs),
        })?;
    Ok(Grid {
        width: meta.width,
        height: meta.height,
        transform: GeoTransform {
            origin_x: g[0],
            pixel_width: g[1],
            origin_y: g[3],
            pixel_height: -g[5],
        },
        crs: Crs { epsg },
    })
}

fn same_grid(a: &SceneMetadata, b: &SceneMetadata) -> bool {
    a.width == b.width && a.height == b.height && a.crs == b.crs && a.geotransform == b.geotransform
}

/// The run's models, loaded when present, with a hash of their files.
struct Models {
    cnn: Option<CnnClassifier>,
    lstm: Option<LstmRegressor>,
    fingerprint: String,
}

fn load_models(workdir: &WorkDir, notes: &mut Vec<String>) -> Models {
    let mut hash = Xxh3::new();
    let mut load = |kind: &str, what: &str, step: &str| -> Option<PathBuf> {
        let path = workdir.models().join(format!("{kind}_{REAL}.bpk"));
        match (
            std::fs::read(&path),
            std::fs::read(path.with_extension("json")),
        ) {
            (Ok(weights), Ok(sidecar)) => {
                hash.update(&weights);
                hash.update(&sidecar);
                Some(path)
            }
            _ => {
                hash.update(b"none");
                notes.push(format!(
                    "No {what} yet: run the pipeline through {step} for this layer."
                ));
                None
            }
        }
    };
    let cnn_path = load("cnn", "CNN model (health classes)", "step 5");
    let lstm_path = load("lstm", "LSTM model (NDVI forecast)", "step 6");
    let fingerprint = format!("{:032x}", hash.digest128());
    let cnn = cnn_path.and_then(|p| match CnnClassifier::load(&p) {
        Ok(m) => Some(m),
        Err(e) => {
            notes.push(format!(
                "The CNN model {} could not be loaded: {e}",
                p.display()
            ));
            None
        }
    });
    let lstm = lstm_path.and_then(|p| match LstmRegressor::load(&p) {
        Ok(m) => Some(m),
        Err(e) => {
            notes.push(format!(
                "The LSTM model {} could not be loaded: {e}",
                p.display()
            ));
            None
        }
    });
    Models {
        cnn,
        lstm,
        fingerprint,
    }
}

impl Season {
    /// Computes (or reads from the cache) every downloaded date's layers and the imported
    /// fields' figures, reporting progress per date; writes `maps/fields.geojson` and
    /// `maps/fields.csv` when there are fields.
    pub fn compute(
        workdir: &WorkDir,
        progress: &mut dyn FnMut(&MapProgress),
        cancel: &CancelToken,
    ) -> Result<Self, MapError> {
        Self::make(workdir, progress, cancel, true)
    }

    /// The season's maps as the cache holds them, computing nothing: [`MapError::NotMade`]
    /// when a date (or the fields' figures) is missing or out of date. For the report, which
    /// must open at once.
    pub fn cached(workdir: &WorkDir) -> Result<Self, MapError> {
        Self::make(workdir, &mut |_| {}, &CancelToken::new(), false)
    }

    fn make(
        workdir: &WorkDir,
        progress: &mut dyn FnMut(&MapProgress),
        cancel: &CancelToken,
        compute_missing: bool,
    ) -> Result<Self, MapError> {
        let scene_dirs = list_scene_dirs(&workdir.scenes())?;
        if scene_dirs.is_empty() {
            return Err(MapError::NoImagery(workdir.scenes()));
        }
        let mut notes = Vec::new();
        let mut metas = Vec::new();
        for (date, dir) in &scene_dirs {
            match read_metadata(dir) {
                Ok(meta) => metas.push((*date, dir.clone(), meta)),
                Err(e) => notes.push(format!("{date} left out: {e}")),
            }
        }
        let Some((_, _, latest)) = metas.last() else {
            return Err(MapError::NoImagery(workdir.scenes()));
        };
        let latest = latest.clone();
        let before = metas.len();
        metas.retain(|(_, _, m)| same_grid(m, &latest));
        if metas.len() < before {
            notes.push(format!(
                "{} date(s) on another area or grid than the latest left out",
                before - metas.len()
            ));
        }
        let grid = grid_of(&latest)?;
        let simulated = latest.source == SourceKind::Simulated;
        let models = load_models(workdir, &mut notes);
        if simulated {
            notes.push(
                "Simulated scenes: the maps show the built-in simulated source, not real imagery."
                    .into(),
            );
        }

        // The forecast's dates: those validation passed, as the LSTM was trained on.
        let failed = crate::steps::failed_validation(workdir);
        let sequence: Vec<NaiveDate> = metas
            .iter()
            .map(|(d, _, _)| *d)
            .filter(|d| !failed.contains_key(&d.to_string()))
            .collect();
        let median_gap = median_gap_days(&sequence);
        let seq_len = models.lstm.as_ref().map(|m| m.seq_len());

        // What each date's cache key reads of its scene: its metadata (checksums of every file).
        let meta_bytes: BTreeMap<NaiveDate, Vec<u8>> = metas
            .iter()
            .map(|(d, _, meta)| (*d, serde_json::to_vec(meta).unwrap_or_default()))
            .collect();
        // Full-resolution layers are kept for the fields' figures only.
        let keep_pixels = fields_file(workdir).is_file();
        let total = metas.len();
        let mut summaries: Vec<DateSummary> = Vec::with_capacity(total);
        let mut fresh_pixels: BTreeMap<NaiveDate, Arc<DatePixels>> = BTreeMap::new();
        for (i, (date, scene_dir, _)) in metas.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(MapError::Cancelled);
            }
            // The forecast made on this date: the window of `seq_len` sequence dates ending
            // here, and where it points.
            let plan = seq_len.and_then(|len| {
                let j = sequence.iter().position(|d| d == date)?;
                (j + 1 >= len).then(|| {
                    let window = sequence[j + 1 - len..=j].to_vec();
                    let target = sequence
                        .get(j + 1)
                        .copied()
                        .unwrap_or(*date + Days::new(median_gap));
                    (window, target)
                })
            });
            let mut hash = Xxh3::new();
            hash.update(MAP_FORMAT.as_bytes());
            hash.update(models.fingerprint.as_bytes());
            hash.update(&meta_bytes[date]);
            if let Some((window, target)) = &plan {
                for d in window {
                    hash.update(&meta_bytes[d]);
                }
                hash.update(target.to_string().as_bytes());
            }
            let fingerprint = format!("{:032x}", hash.digest128());
            let dir = date_dir(workdir, *date);
            progress(&MapProgress {
                done: i,
                total,
                what: format!("maps of {date}"),
            });
            if let Some(summary) =
                layers::read_summary(&dir).filter(|s| s.fingerprint == fingerprint)
            {
                summaries.push(summary);
                continue;
            }
            if !compute_missing {
                return Err(MapError::NotMade);
            }
            let (scene, _) = read_scene(scene_dir)?;
            let today = layers::block_means_of(&scene);
            // The window's block means: this date's from its scene, earlier ones from their
            // summaries (made earlier in this loop, in date order).
            let forecast =
                plan.as_ref()
                    .zip(models.lstm.as_ref())
                    .and_then(|((window, target), lstm)| {
                        let means = window
                            .iter()
                            .map(|d| {
                                if d == date {
                                    Some(today.as_slice())
                                } else {
                                    summaries
                                        .iter()
                                        .find(|s| s.date == *d)
                                        .map(|s| s.block_means.as_slice())
                                }
                            })
                            .collect::<Option<Vec<_>>>()?;
                        let gaps_days = window
                            .iter()
                            .zip(window.iter().skip(1).chain([target]))
                            .map(|(d, next)| (*next - *d).num_days() as f64)
                            .collect();
                        Some(ForecastInput {
                            lstm,
                            window: means,
                            gaps_days,
                            target: *target,
                        })
                    });
            let (summary, pixels) = layers::compute_date(
                &scene,
                &today,
                models.cnn.as_ref(),
                forecast,
                fingerprint,
                &dir,
            )?;
            if keep_pixels {
                fresh_pixels.insert(*date, Arc::new(pixels));
            }
            summaries.push(summary);
        }
        progress(&MapProgress {
            done: total,
            total,
            what: "maps done".into(),
        });
        if models.lstm.is_some() && summaries.iter().all(|s| !s.has_forecast) {
            notes.push(format!(
                "No forecast: the LSTM needs {} dates that passed validation before the first forecast.",
                seq_len.unwrap_or(0)
            ));
        }
        let mut season = Season {
            workdir: workdir.clone(),
            grid,
            simulated,
            dates: summaries,
            fields: None,
            notes,
            pixels: Mutex::new(None),
        };
        season.fields = season.summarise_fields(workdir, &fresh_pixels, compute_missing)?;
        Ok(season)
    }

    /// Reads the imported fields (if any), computes their figures per date (cached per date
    /// and fields file) and writes `maps/fields.geojson` and `maps/fields.csv`.
    fn summarise_fields(
        &mut self,
        workdir: &WorkDir,
        fresh: &BTreeMap<NaiveDate, Arc<DatePixels>>,
        compute_missing: bool,
    ) -> Result<Option<SeasonFields>, MapError> {
        let path = fields_file(workdir);
        if !path.is_file() {
            return Ok(None);
        }
        let file = fields::read_fields(&path)?;
        let g = &self.grid;
        let (on_grid, outside) = file.on_grid(&path, g.crs, &g.transform, g.width, g.height)?;
        if !outside.is_empty() {
            self.notes.push(format!(
                "{} field(s) lie outside the scenes and are left out: {}",
                outside.len(),
                outside.join(", ")
            ));
        }
        let fields_hash = format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(&std::fs::read(&path).unwrap_or_default())
        );
        let mut stats: Vec<Vec<FieldFigures>> = vec![Vec::new(); on_grid.len()];
        for summary in &self.dates {
            let dir = date_dir(workdir, summary.date);
            let cache = dir.join("fields.json");
            let key = format!("{}-{fields_hash}", summary.fingerprint);
            let cached: Option<(String, Vec<FieldFigures>)> = std::fs::read_to_string(&cache)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let per_field = match cached {
                Some((k, v)) if k == key && v.len() == on_grid.len() => v,
                _ if !compute_missing => return Err(MapError::NotMade),
                _ => {
                    let pixels = match fresh.get(&summary.date) {
                        Some(p) => p.clone(),
                        None => Arc::new(layers::read_pixels(&dir, summary)?),
                    };
                    let date = summary.date.to_string();
                    let v: Vec<_> = on_grid
                        .iter()
                        .map(|f| field_stats(f, &pixels, &date))
                        .collect();
                    crate::atomic_file::write_json(&cache, &(&key, &v)).map_err(|source| {
                        MapError::Io {
                            path: cache.clone(),
                            source,
                        }
                    })?;
                    v
                }
            };
            for (k, s) in per_field.into_iter().enumerate() {
                stats[k].push(s);
            }
        }
        let season_fields = SeasonFields {
            file,
            path,
            on_grid,
            stats,
        };
        if compute_missing {
            self.write_fields_outputs(workdir, &season_fields)?;
        }
        Ok(Some(season_fields))
    }

    fn write_fields_outputs(&self, workdir: &WorkDir, f: &SeasonFields) -> Result<(), MapError> {
        let dir = maps_dir(workdir);
        let mut rows = Vec::new();
        for (field, per_date) in f.on_grid.iter().zip(&f.stats) {
            for (s, _) in per_date {
                rows.push((field, s));
            }
        }
        let csv_path = dir.join("fields.csv");
        crate::atomic_file::write(&csv_path, fields::fields_csv(&rows).as_bytes()).map_err(
            |source| MapError::Io {
                path: csv_path,
                source,
            },
        )?;
        let last = self.dates.len() - 1;
        let latest: Vec<_> = f
            .on_grid
            .iter()
            .zip(&f.stats)
            .map(|(field, per_date)| {
                let next = self.next_forecast_of(
                    last,
                    per_date[last].0.forecast,
                    per_date[last].0.ndvi_mean,
                );
                (field, &per_date[last].0, next.map(|n| (n.date, n.value)))
            })
            .collect();
        let geojson_path = dir.join("fields.geojson");
        let text = fields::fields_geojson(&f.file, &latest).map_err(|detail| MapError::Write {
            path: geojson_path.clone(),
            detail,
        })?;
        crate::atomic_file::write(&geojson_path, text.as_bytes()).map_err(|source| MapError::Io {
            path: geojson_path,
            source,
        })
    }

    /// The dates, oldest first.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.dates.iter().map(|s| s.date).collect()
    }

    /// The index of the date `choice` names.
    fn index_of(&self, choice: DateChoice) -> Result<usize, MapError> {
        match choice {
            DateChoice::Latest => Ok(self.dates.len() - 1),
            DateChoice::On(date) => {
                self.dates
                    .iter()
                    .position(|s| s.date == date)
                    .ok_or(MapError::NoSuchDate {
                        date,
                        first: self.dates[0].date,
                        last: self.dates[self.dates.len() - 1].date,
                    })
            }
        }
    }

    /// The folder of the date `choice` names, with the date.
    pub fn files_of(&self, choice: DateChoice) -> Result<(NaiveDate, PathBuf), MapError> {
        let date = self.dates[self.index_of(choice)?].date;
        Ok((date, date_dir(&self.workdir, date)))
    }
}

/// The median gap between consecutive dates, in days (the usual revisit; 5 with one date).
fn median_gap_days(dates: &[NaiveDate]) -> u64 {
    let mut gaps: Vec<i64> = dates.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    if gaps.is_empty() {
        return 5;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2].max(1) as u64
}
