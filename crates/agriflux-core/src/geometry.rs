//! Plane geometry of the vector files the engine reads (field observations, field
//! boundaries): their CRS, reprojection onto a scene's CRS, point-in-polygon and areas.

use geojson::{JsonObject, JsonValue};
use proj4rs::Proj;

use crate::raster::geotiff::Crs;

/// A PROJ.4 definition of the CRSs the project reads and writes (WGS84 and its UTM zones).
fn proj_of(crs: Crs) -> Option<String> {
    if crs.is_geographic() {
        return Some("+proj=longlat +datum=WGS84 +no_defs".into());
    }
    let (zone, north) = crs.utm_zone()?;
    let south = if north { "" } else { " +south" };
    Some(format!(
        "+proj=utm +zone={zone}{south} +datum=WGS84 +units=m +no_defs"
    ))
}

/// Maps coordinates from one CRS into another (a no-op when they are the same), with
/// `proj4rs` (pure Rust; EPSG:4326 and the WGS 84 UTM zones are all the project reads).
pub(crate) struct Projector {
    pair: Option<(Proj, Proj, bool, bool)>,
}

impl Projector {
    pub(crate) fn new(from: Crs, to: Crs) -> Result<Self, String> {
        if from == to {
            return Ok(Self { pair: None });
        }
        let proj = |crs: Crs| {
            let definition =
                proj_of(crs).ok_or_else(|| format!("EPSG:{} is not supported", crs.epsg))?;
            Proj::from_proj_string(&definition).map_err(|e| e.to_string())
        };
        Ok(Self {
            pair: Some((
                proj(from)?,
                proj(to)?,
                from.is_geographic(),
                to.is_geographic(),
            )),
        })
    }

    pub(crate) fn apply(&self, [x, y]: [f64; 2]) -> Result<[f64; 2], String> {
        let Some((from, to, from_degrees, to_degrees)) = &self.pair else {
            return Ok([x, y]);
        };
        // proj4rs works in radians for geographic coordinates.
        let (x, y) = if *from_degrees {
            (x.to_radians(), y.to_radians())
        } else {
            (x, y)
        };
        let (x, y) = proj4rs::adaptors::transform_xy(from, to, x, y).map_err(|e| e.to_string())?;
        Ok(if *to_degrees {
            [x.to_degrees(), y.to_degrees()]
        } else {
            [x, y]
        })
    }
}

/// The CRS named by a legacy (2008 GeoJSON) `crs` member, WGS84 without one.
pub(crate) fn named_crs(foreign: Option<&JsonObject>) -> Result<Crs, String> {
    let Some(crs) = foreign.and_then(|f| f.get("crs")) else {
        return Ok(Crs::WGS84);
    };
    let name = crs
        .pointer("/properties/name")
        .and_then(JsonValue::as_str)
        .ok_or("the \"crs\" member has no properties.name")?;
    // urn:ogc:def:crs:EPSG::32631, EPSG:32631, urn:ogc:def:crs:OGC:1.3:CRS84.
    if name.ends_with("CRS84") {
        return Ok(Crs::WGS84);
    }
    let epsg: u32 = name
        .rsplit(':')
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("unknown CRS {name:?}: expected an EPSG code"))?;
    let crs = Crs { epsg };
    if crs.is_geographic() || crs.utm_zone().is_some() {
        Ok(crs)
    } else {
        Err(format!(
            "CRS EPSG:{epsg} is not supported: use WGS84 (EPSG:4326) or a WGS84 UTM zone"
        ))
    }
}

/// The `[x, y]` of a GeoJSON position (a third value, the height, is ignored).
pub(crate) fn xy(position: &geojson::Position) -> Result<[f64; 2], String> {
    match position.as_slice() {
        [x, y, ..] if x.is_finite() && y.is_finite() => Ok([*x, *y]),
        _ => Err("a position needs two finite numbers".into()),
    }
}

/// A GeoJSON polygon's rings as `[x, y]` lists: the outer ring first, then holes.
pub(crate) fn rings(polygon: &[Vec<geojson::Position>]) -> Result<Vec<Vec<[f64; 2]>>, String> {
    let rings = polygon
        .iter()
        .map(|ring| ring.iter().map(xy).collect::<Result<Vec<_>, _>>())
        .collect::<Result<Vec<_>, _>>()?;
    if rings.first().is_none_or(|outer| outer.len() < 4) {
        return Err("a polygon's outer ring needs at least 4 positions".into());
    }
    Ok(rings)
}

/// Whether `p` lies inside a polygon (outer ring, then holes) by the even-odd rule.
///
/// Written here rather than taken from `geo`: that crate brings a whole polygon-overlay engine
/// for this one ray-casting test.
pub(crate) fn polygon_contains(rings: &[Vec<[f64; 2]>], p: [f64; 2]) -> bool {
    let mut inside = false;
    for ring in rings {
        let n = ring.len();
        for k in 0..n {
            let [xi, yi] = ring[k];
            let [xj, yj] = ring[(k + n - 1) % n];
            if (yi > p[1]) != (yj > p[1]) && p[0] < (xj - xi) * (p[1] - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
    }
    inside
}

/// The area enclosed by a polygon's rings (outer ring minus holes), in the square units of its
/// coordinates, by the shoelace formula.
pub(crate) fn polygon_area(rings: &[Vec<[f64; 2]>]) -> f64 {
    let ring_area = |ring: &Vec<[f64; 2]>| {
        let n = ring.len();
        (0..n)
            .map(|k| {
                let [x0, y0] = ring[k];
                let [x1, y1] = ring[(k + 1) % n];
                x0 * y1 - x1 * y0
            })
            .sum::<f64>()
            .abs()
            / 2.0
    };
    let mut rings = rings.iter();
    let outer = rings.next().map_or(0.0, ring_area);
    outer - rings.map(ring_area).sum::<f64>()
}
