//! Field boundaries: read from GeoJSON (polygons with a `name`), placed on the scenes' grid
//! (reprojected when they come in another CRS), and summarised per date.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use geojson::{Feature, GeoJson, GeometryValue, JsonObject, JsonValue};

use super::MapError;
use super::layers::{DatePixels, NO_CLASS};
use super::view::FieldStats;
use crate::datasets::CLASS_NAMES;
use crate::geometry::{Projector, named_crs, polygon_area, rings};
use crate::raster::geotiff::{Crs, GeoTransform};

/// Largest fields file read: thousands of field outlines fit in a few megabytes.
pub const MAX_FIELDS_BYTES: u64 = 64 * 1024 * 1024;
/// Most vertices a fields file may have in all: farm boundaries have tens to hundreds per
/// field; more is a file for another purpose (or one made to stall the map).
pub const MAX_FIELD_VERTICES: usize = 500_000;
/// A field counts as observed on a date when at least this share of it is clear.
pub const MIN_FIELD_CLEAR: f64 = 0.5;

/// Polygons of one field: each as rings (outer first, then holes) of `[x, y]`.
pub(crate) type Polygons = Vec<Vec<Vec<[f64; 2]>>>;

/// A field with its figures on the shown date and the forecast made then (date, value).
pub(crate) type FieldOnDate<'a> = (&'a GridField, &'a FieldStats, Option<(String, f64)>);

/// A field's figures on one date with the mean confidence of its classified pixels.
pub(crate) type FieldFigures = (FieldStats, Option<f64>);

/// One field as read from the file, in the file's CRS.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldShape {
    pub name: String,
    pub polygons: Polygons,
}

/// A fields file: its fields in its CRS.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldsFile {
    pub crs: Crs,
    pub fields: Vec<FieldShape>,
}

/// A field on the scenes' grid.
#[derive(Clone, Debug)]
pub(crate) struct GridField {
    pub id: usize,
    pub name: String,
    /// Area of the polygons in square metres (in a UTM projection).
    pub area_m2: f64,
    /// Rings in pixel coordinates `[col, row]`.
    pub outline: Polygons,
    /// The pixels whose centre lies inside, row-major indices.
    pub pixels: Vec<usize>,
}

fn invalid(path: &Path, message: impl Into<String>) -> MapError {
    MapError::Fields {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Parses a fields GeoJSON (a FeatureCollection or one Feature of Polygons/MultiPolygons);
/// `path` names it in errors.
pub(crate) fn parse_fields(text: &str, path: &Path) -> Result<FieldsFile, MapError> {
    let geojson: GeoJson = text
        .trim_start_matches('\u{feff}')
        .parse()
        .map_err(|e| invalid(path, format!("not GeoJSON: {e}")))?;
    let (features, foreign) = match geojson {
        GeoJson::FeatureCollection(fc) => (fc.features, fc.foreign_members),
        GeoJson::Feature(f) => (vec![f], None),
        GeoJson::Geometry(_) => {
            return Err(invalid(
                path,
                "a bare geometry has no name: expected features with polygons and a \"name\" property",
            ));
        }
    };
    let crs = named_crs(foreign.as_ref()).map_err(|m| invalid(path, m))?;
    let mut fields = Vec::with_capacity(features.len());
    let mut vertices = 0usize;
    for (i, feature) in features.iter().enumerate() {
        let name = field_name(feature, i + 1);
        let polygons = polygons_of(feature)
            .map_err(|m| invalid(path, format!("feature {} ({name}): {m}", i + 1)))?;
        vertices += polygons.iter().flatten().map(Vec::len).sum::<usize>();
        if vertices > MAX_FIELD_VERTICES {
            return Err(invalid(
                path,
                format!(
                    "more than {MAX_FIELD_VERTICES} vertices in all (at feature {}): simplify the boundaries (e.g. ogr2ogr -simplify 1)",
                    i + 1
                ),
            ));
        }
        fields.push(FieldShape { name, polygons });
    }
    if fields.is_empty() {
        return Err(invalid(path, "holds no field"));
    }
    Ok(FieldsFile { crs, fields })
}

/// Reads and parses a fields file.
pub(crate) fn read_fields(path: &Path) -> Result<FieldsFile, MapError> {
    let io = |source| MapError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_FIELDS_BYTES {
        return Err(invalid(
            path,
            format!(
                "{} bytes is larger than the {MAX_FIELDS_BYTES} bytes a fields file may have",
                meta.len()
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    parse_fields(&text, path)
}

fn field_name(feature: &Feature, number: usize) -> String {
    ["name", "Name", "NAME", "field", "Field"]
        .iter()
        .find_map(|key| match feature.property(key) {
            Some(JsonValue::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(JsonValue::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| format!("Field {number}"))
}

fn polygons_of(feature: &Feature) -> Result<Polygons, String> {
    let geometry = feature.geometry.as_ref().ok_or("no geometry")?;
    match &geometry.value {
        GeometryValue::Polygon { coordinates } => Ok(vec![rings(coordinates)?]),
        GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().map(|p| rings(p)).collect()
        }
        other => Err(format!(
            "a {} is not a field boundary: use polygons",
            other.type_name()
        )),
    }
}

impl FieldsFile {
    /// Places the fields on a `width` x `height` grid in `crs`; fields wholly off the grid are
    /// left out and named in the second value.
    pub(crate) fn on_grid(
        &self,
        path: &Path,
        crs: Crs,
        transform: &GeoTransform,
        width: usize,
        height: usize,
    ) -> Result<(Vec<GridField>, Vec<String>), MapError> {
        let projector = Projector::new(self.crs, crs).map_err(|m| {
            invalid(
                path,
                format!(
                    "cannot reproject from EPSG:{} to EPSG:{}: {m}",
                    self.crs.epsg, crs.epsg
                ),
            )
        })?;
        let mut out = Vec::new();
        let mut outside = Vec::new();
        for (i, field) in self.fields.iter().enumerate() {
            let outline = map_points(&field.polygons, |p| {
                let [x, y] = projector.apply(p)?;
                Ok([
                    (x - transform.origin_x) / transform.pixel_width,
                    (transform.origin_y - y) / transform.pixel_height,
                ])
            })
            .map_err(|m| invalid(path, format!("field {}: {m}", field.name)))?;
            let area_m2 = area_m2(&field.polygons, self.crs)
                .map_err(|m| invalid(path, format!("field {}: {m}", field.name)))?;
            let pixels = pixels_inside(&outline, width, height);
            if pixels.is_empty() {
                outside.push(field.name.clone());
                continue;
            }
            out.push(GridField {
                id: i + 1,
                name: field.name.clone(),
                area_m2,
                outline,
                pixels,
            });
        }
        Ok((out, outside))
    }
}

/// The area of `polygons` (in `crs`) in square metres: in their own UTM zone when they are in
/// one, else in the WGS 84 UTM zone of their first vertex (the scale error of a zone's
/// projection is below 0.1 % within it).
fn area_m2(polygons: &Polygons, crs: Crs) -> Result<f64, String> {
    let metric = if crs.utm_zone().is_some() {
        crs
    } else {
        let [x, y] = polygons
            .first()
            .and_then(|rings| rings.first())
            .and_then(|ring| ring.first())
            .copied()
            .ok_or("an empty polygon")?;
        let [lon, lat] = Projector::new(crs, Crs::WGS84)?.apply([x, y])?;
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u8 + 1;
        Crs::utm(zone, lat >= 0.0).ok_or("no UTM zone")?
    };
    let to_metric = Projector::new(crs, metric)?;
    let projected = map_points(polygons, |p| to_metric.apply(p))?;
    Ok(projected.iter().map(|rings| polygon_area(rings)).sum())
}

/// `polygons` with every vertex mapped by `f` (a reprojection), or `f`'s first error.
fn map_points(
    polygons: &Polygons,
    mut f: impl FnMut([f64; 2]) -> Result<[f64; 2], String>,
) -> Result<Polygons, String> {
    polygons
        .iter()
        .map(|rings| {
            rings
                .iter()
                .map(|ring| ring.iter().map(|p| f(*p)).collect())
                .collect()
        })
        .collect()
}

/// Pixels whose centre lies inside any of `polygons` (pixel coordinates), by the even-odd rule
/// of [`crate::geometry::polygon_contains`], computed a row at a time: the edges crossing the
/// row's centre line, sorted, bound the runs of pixels inside. A field of many vertices over
/// many pixels costs rows x edges, not pixels x edges.
pub(super) fn pixels_inside(polygons: &Polygons, width: usize, height: usize) -> Vec<usize> {
    let mut pixels = Vec::new();
    let mut crossings = Vec::new();
    for rings in polygons {
        let (mut r0, mut r1) = (f64::MAX, f64::MIN);
        for [_, r] in rings.iter().flatten() {
            (r0, r1) = (r0.min(*r), r1.max(*r));
        }
        let rows = (r0.floor().max(0.0) as usize)..(r1.ceil().min(height as f64).max(0.0) as usize);
        for r in rows {
            let y = r as f64 + 0.5;
            crossings.clear();
            for ring in rings {
                let n = ring.len();
                for k in 0..n {
                    let [xi, yi] = ring[k];
                    let [xj, yj] = ring[(k + n - 1) % n];
                    // The same crossing, computed the same way, as `polygon_contains`.
                    if (yi > y) != (yj > y) {
                        crossings.push((xj - xi) * (y - yi) / (yj - yi) + xi);
                    }
                }
            }
            crossings.sort_by(f64::total_cmp);
            // A centre x is inside when an odd number of crossings lie at or left of it:
            // between crossings 2k (included) and 2k + 1 (excluded).
            for pair in crossings.chunks_exact(2) {
                let first = (pair[0] - 0.5).ceil().max(0.0);
                let end = (pair[1] - 0.5).ceil().min(width as f64);
                if end > first {
                    pixels.extend((first as usize..end as usize).map(|c| r * width + c));
                }
            }
        }
    }
    pixels.sort_unstable();
    pixels.dedup();
    pixels
}

/// A field's figures on one date, with the mean confidence of its classified pixels.
pub(crate) fn field_stats(field: &GridField, px: &DatePixels, date: &str) -> FieldFigures {
    let n = field.pixels.len().max(1) as f64;
    // The finite values of a plane over the field's pixels.
    let finite = |plane: &[f32]| -> Vec<f64> {
        field
            .pixels
            .iter()
            .map(|&p| plane[p])
            .filter(|v| v.is_finite())
            .map(f64::from)
            .collect()
    };
    let clear = finite(&px.ndvi);
    let (ndvi_mean, ndvi_std) = if clear.is_empty() {
        (None, None)
    } else {
        let mean = clear.iter().sum::<f64>() / clear.len() as f64;
        let var = clear.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / clear.len() as f64;
        (Some(mean), Some(var.sqrt()))
    };
    let mut counts = [0usize; 4];
    let mut confidence = 0.0;
    for &p in &field.pixels {
        if px.class[p] != NO_CLASS
            && let Some(c) = counts.get_mut(usize::from(px.class[p]))
        {
            *c += 1;
            confidence += f64::from(px.confidence[p]);
        }
    }
    let classified: usize = counts.iter().sum();
    let class_shares = if classified == 0 {
        Vec::new()
    } else {
        counts
            .iter()
            .map(|c| *c as f64 / classified as f64)
            .collect()
    };
    let forecasts = finite(&px.forecast);
    let forecast =
        (!forecasts.is_empty()).then(|| forecasts.iter().sum::<f64>() / forecasts.len() as f64);
    let stats = FieldStats {
        date: date.to_string(),
        clear_fraction: clear.len() as f64 / n,
        ndvi_mean,
        ndvi_std,
        class_shares,
        forecast,
        forecast_change: forecast.zip(ndvi_mean).map(|(f, m)| f - m),
    };
    (
        stats,
        (classified > 0).then(|| confidence / classified as f64),
    )
}

/// How urgently a field needs a visit (see [`super::view::MapField::need`]).
pub(crate) fn need(stats: &FieldStats) -> f64 {
    let fall = stats.forecast_change.map_or(0.0, |c| (-c).max(0.0));
    if stats.class_shares.len() == 4 {
        let stress: f64 = stats
            .class_shares
            .iter()
            .enumerate()
            .map(|(k, s)| s * k as f64 / 3.0)
            .sum();
        stress + fall
    } else {
        stats.ndvi_mean.map_or(0.0, |m| 1.0 - m) + fall
    }
}

/// `maps/fields.csv`: one row per field and date.
pub(crate) fn fields_csv(rows: &[(&GridField, &FieldStats)]) -> String {
    let mut csv = String::from(
        "field,date,area_ha,clear_fraction,ndvi_mean,ndvi_std,share_healthy,share_moderate,share_stressed,share_critical,forecast_next,forecast_change\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for (field, s) in rows {
        let share = |k: usize| num(s.class_shares.get(k).copied());
        let _ = writeln!(
            csv,
            "{},{},{:.4},{:.4},{},{},{},{},{},{},{},{}",
            csv_text(&field.name),
            s.date,
            field.area_m2 / 10_000.0,
            s.clear_fraction,
            num(s.ndvi_mean),
            num(s.ndvi_std),
            share(0),
            share(1),
            share(2),
            share(3),
            num(s.forecast),
            num(s.forecast_change),
        );
    }
    csv
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`
/// or `@` is defused with a quote so spreadsheets do not run it as a formula.
fn csv_text(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `maps/fields.geojson`: the fields (in WGS 84, as RFC 7946 wants) with the shown date's
/// figures as flat properties a GIS shows in its attribute table.
pub(crate) fn fields_geojson(
    file: &FieldsFile,
    fields: &[FieldOnDate<'_>],
) -> Result<String, String> {
    let to_wgs84 = Projector::new(file.crs, Crs::WGS84)?;
    let mut features = Vec::new();
    for (field, stats, next) in fields {
        let shape = &file.fields[field.id - 1];
        let polygons = map_points(&shape.polygons, |p| {
            to_wgs84.apply(p).map(|[x, y]| [round7(x), round7(y)])
        })?;
        let mut properties = JsonObject::new();
        let mut put = |key: &str, value: JsonValue| {
            properties.insert(key.to_string(), value);
        };
        put("name", field.name.clone().into());
        put("area_ha", round4(field.area_m2 / 10_000.0).into());
        put("date", stats.date.clone().into());
        put("clear_fraction", round4(stats.clear_fraction).into());
        put("ndvi_mean", stats.ndvi_mean.map(round4).into());
        put("ndvi_std", stats.ndvi_std.map(round4).into());
        for (k, name) in CLASS_NAMES.iter().enumerate() {
            put(
                &format!("share_{}", name.to_lowercase()),
                stats.class_shares.get(k).copied().map(round4).into(),
            );
        }
        let predicted = stats.predicted_class().map(|k| CLASS_NAMES[k].to_string());
        put("predicted_class", predicted.into());
        put(
            "forecast_date",
            next.as_ref().map(|(d, _)| d.clone()).into(),
        );
        put(
            "forecast_ndvi",
            next.as_ref().map(|(_, v)| round4(*v)).into(),
        );
        put("forecast_change", stats.forecast_change.map(round4).into());
        put("need", round4(need(stats)).into());
        let geometry = if polygons.len() == 1 {
            GeometryValue::new_polygon(polygons.into_iter().next().unwrap_or_default())
        } else {
            GeometryValue::new_multi_polygon(polygons)
        };
        features.push(Feature {
            geometry: Some(geojson::Geometry::new(geometry)),
            properties: Some(properties),
            ..Feature::default()
        });
    }
    let collection = geojson::FeatureCollection::new(features);
    serde_json::to_string_pretty(&collection).map_err(|e| e.to_string())
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// Where imported fields are kept: `fields/fields.geojson` in the work directory.
pub(crate) fn imported_fields_path(root: &Path) -> PathBuf {
    root.join("fields").join("fields.geojson")
}
