//! Ground truth: crop-health observations made in the field (GeoJSON points or polygons with a
//! `class` and an optional `date`, the kind agronomists collect when scouting) that label the
//! CNN's patches independently of the imagery the CNN sees.
//!
//! A patch takes the class of the observation that covers its centre pixel (a polygon holding
//! it, or a point within [`POINT_RADIUS_PX`] of it) and is nearest in time to the scene's date,
//! within [`DATE_TOLERANCE_DAYS`]; an observation without a date holds for every date.

mod grid;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use geojson::{Feature, FeatureCollection, GeometryValue, JsonObject, JsonValue};

pub use grid::GridObservations;

use crate::datasets::CLASS_NAMES;
use crate::geometry::{named_crs, rings, xy};
use crate::raster::geotiff::Crs;

/// Name of the simulated source's hidden truth, written beside the scenes
/// (`data/scenes/ground_truth_simulated.geojson`).
pub const SIMULATED_TRUTH_FILE: &str = "ground_truth_simulated.geojson";

/// How far, in days, an observation's date may be from a scene's to label it.
pub const DATE_TOLERANCE_DAYS: i64 = 8;

/// How far, in pixels (along rows and columns), a point observation may lie from a patch's
/// centre to label it: half the patch stride, so that a point labels one patch position.
pub const POINT_RADIUS_PX: f64 = 16.0;

/// Largest labels file read: a season of scouting points is a few megabytes; more is not a
/// labels file.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a labels file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GroundTruthError {
    /// The file could not be read.
    #[error("labels file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not the GeoJSON this module reads; the message says where and why.
    #[error("labels file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the feature.
        message: String,
    },
    /// An observation's coordinates could not be placed on the scenes' grid.
    #[error("labels file {path}: cannot project the observations onto EPSG:{epsg}: {message}")]
    Projection {
        /// The file.
        path: PathBuf,
        /// The scenes' CRS.
        epsg: u32,
        /// Why.
        message: String,
    },
}

/// Where an observation is.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// One location, `[x, y]` in the file's CRS.
    Point([f64; 2]),
    /// Polygons, each as rings of `[x, y]`: the outer ring first, then holes.
    Polygons(Vec<Vec<Vec<[f64; 2]>>>),
}

/// One field observation of crop health.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Class index into [`CLASS_NAMES`].
    pub class: u8,
    /// When it was observed; `None` holds for every date.
    pub date: Option<NaiveDate>,
    /// Where.
    pub shape: Shape,
}

/// The observations of one labels file, with the CRS their coordinates are in.
#[derive(Clone, Debug, PartialEq)]
pub struct Observations {
    /// The observations, in file order.
    pub items: Vec<Observation>,
    /// The CRS of the coordinates: WGS84 (RFC 7946) unless the file names another, as QGIS
    /// does for a layer kept in UTM.
    pub crs: Crs,
    /// The file they were read from.
    pub path: PathBuf,
}

impl Observations {
    /// Reads a GeoJSON `FeatureCollection` (or a single `Feature`) of points, multi-points,
    /// polygons or multi-polygons, each with a `class` property (`healthy`, `moderate`,
    /// `stressed`, `critical` in any case, or 0–3) and an optional `date` (`YYYY-MM-DD`).
    pub fn read(path: &Path) -> Result<Self, GroundTruthError> {
        let io = |source| GroundTruthError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(invalid(path, "not a regular file".into()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(invalid(
                path,
                format!(
                    "{} bytes is larger than the {MAX_FILE_BYTES} bytes a labels file may have",
                    meta.len()
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::parse(&text, path)
    }

    /// Parses GeoJSON text as [`Observations::read`] does; `path` names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, GroundTruthError> {
        let geojson: geojson::GeoJson = text
            .trim_start_matches('\u{feff}')
            .parse()
            .map_err(|e| invalid(path, format!("not GeoJSON: {e}")))?;
        let (features, foreign) = match geojson {
            geojson::GeoJson::FeatureCollection(fc) => (fc.features, fc.foreign_members),
            geojson::GeoJson::Feature(f) => (vec![f], None),
            geojson::GeoJson::Geometry(_) => {
                return Err(invalid(
                    path,
                    "a bare geometry has no class: expected features with a \"class\" property"
                        .into(),
                ));
            }
        };
        let crs = named_crs(foreign.as_ref()).map_err(|m| invalid(path, m))?;
        let mut items = Vec::with_capacity(features.len());
        for (i, feature) in features.iter().enumerate() {
            items.extend(observations_of(feature).map_err(|m| {
                invalid(
                    path,
                    format!("feature {} ({}): {m}", i + 1, feature_name(feature)),
                )
            })?);
        }
        if items.is_empty() {
            return Err(invalid(path, "holds no observation".into()));
        }
        Ok(Self {
            items,
            crs,
            path: path.to_path_buf(),
        })
    }

    /// The dates the observations were made on (undated ones left out).
    pub fn dates(&self) -> BTreeSet<NaiveDate> {
        self.items.iter().filter_map(|o| o.date).collect()
    }
}

/// Writes point observations as a GeoJSON `FeatureCollection` in WGS84, the format
/// [`Observations::read`] reads (used for the simulated source's hidden truth).
pub fn write_points(
    path: &Path,
    points: impl IntoIterator<Item = ([f64; 2], u8, NaiveDate)>,
    note: &str,
) -> std::io::Result<()> {
    let features = points.into_iter().map(|([lon, lat], class, date)| {
        let mut properties = JsonObject::new();
        properties.insert(
            "class".into(),
            JsonValue::from(CLASS_NAMES[class as usize].to_lowercase()),
        );
        properties.insert("date".into(), JsonValue::from(date.to_string()));
        Feature {
            geometry: Some(geojson::Geometry::new(GeometryValue::Point {
                // Ten-millionths of a degree: about a centimetre, far below a pixel.
                coordinates: [round7(lon), round7(lat)].into(),
            })),
            properties: Some(properties),
            ..Feature::default()
        }
    });
    let mut collection = FeatureCollection::new(features);
    let mut foreign = JsonObject::new();
    foreign.insert("note".into(), JsonValue::from(note));
    collection.foreign_members = Some(foreign);
    crate::atomic_file::write_json(path, &collection)
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn invalid(path: &Path, message: String) -> GroundTruthError {
    GroundTruthError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// A feature's `id` or `name`, for messages.
fn feature_name(feature: &Feature) -> String {
    if let Some(id) = &feature.id {
        return match id {
            geojson::feature::Id::String(s) => format!("id {s}"),
            geojson::feature::Id::Number(n) => format!("id {n}"),
        };
    }
    feature
        .property("name")
        .and_then(JsonValue::as_str)
        .map_or_else(|| "no id".into(), |n| format!("name {n}"))
}

/// The class of a `class` property: a name (any case) or 0–3.
fn parse_class(value: Option<&JsonValue>) -> Result<u8, String> {
    let expected = "expected healthy, moderate, stressed, critical or 0-3";
    match value {
        None | Some(JsonValue::Null) => Err(format!("no \"class\" property: {expected}")),
        Some(JsonValue::Number(n)) => n
            .as_u64()
            .filter(|c| *c < CLASS_NAMES.len() as u64)
            .map(|c| c as u8)
            .ok_or_else(|| format!("class {n}: {expected}")),
        Some(JsonValue::String(s)) => {
            let s = s.trim();
            if let Ok(c) = s.parse::<u8>() {
                return parse_class(Some(&JsonValue::from(c)));
            }
            CLASS_NAMES
                .iter()
                .position(|name| name.eq_ignore_ascii_case(s))
                .map(|c| c as u8)
                .ok_or_else(|| format!("class {s:?}: {expected}"))
        }
        Some(other) => Err(format!("class {other}: {expected}")),
    }
}

fn parse_date(value: Option<&JsonValue>) -> Result<Option<NaiveDate>, String> {
    match value {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => {
            // Scouting apps write a full timestamp; the day is what matters here.
            let day = s.trim().get(..10).unwrap_or(s.trim());
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("date {s:?}: expected YYYY-MM-DD"))
        }
        Some(other) => Err(format!("date {other}: expected \"YYYY-MM-DD\"")),
    }
}

/// The observations one feature makes (a multi-point makes one per point).
fn observations_of(feature: &Feature) -> Result<Vec<Observation>, String> {
    let class = parse_class(feature.property("class"))?;
    let date = parse_date(feature.property("date"))?;
    let geometry = feature.geometry.as_ref().ok_or("no geometry")?;
    let at = |shape| Observation { class, date, shape };
    Ok(match &geometry.value {
        GeometryValue::Point { coordinates } => vec![at(Shape::Point(xy(coordinates)?))],
        GeometryValue::MultiPoint { coordinates } => coordinates
            .iter()
            .map(|p| xy(p).map(|p| at(Shape::Point(p))))
            .collect::<Result<_, _>>()?,
        GeometryValue::Polygon { coordinates } => {
            vec![at(Shape::Polygons(vec![rings(coordinates)?]))]
        }
        GeometryValue::MultiPolygon { coordinates } => vec![at(Shape::Polygons(
            coordinates
                .iter()
                .map(|p| rings(p))
                .collect::<Result<_, _>>()?,
        ))],
        other => {
            return Err(format!(
                "a {} cannot be an observation: use points or polygons",
                other.type_name()
            ));
        }
    })
}
