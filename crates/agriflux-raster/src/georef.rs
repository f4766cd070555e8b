//! GeoTIFF georeferencing and GDAL's private tags: the GeoKeyDirectory, the geotransform
//! (ModelPixelScale + ModelTiepoint or ModelTransformation), band descriptions in
//! `GDAL_METADATA` and `GDAL_NODATA`. Pixel coding is the `tiff` crate's job; these few tags
//! are ours because the crate does not interpret them.

use std::fmt::Write as _;
use std::path::Path;

use super::types::{Crs, GeoTransform, RasterError};

/// `ModelPixelScaleTag`.
pub(crate) const TAG_MODEL_PIXEL_SCALE: u16 = 33550;
/// `ModelTiepointTag`.
pub(crate) const TAG_MODEL_TIEPOINT: u16 = 33922;
/// `ModelTransformationTag`.
pub(crate) const TAG_MODEL_TRANSFORMATION: u16 = 34264;
/// `GeoKeyDirectoryTag`.
pub(crate) const TAG_GEO_KEY_DIRECTORY: u16 = 34735;
/// `GeoAsciiParamsTag`.
pub(crate) const TAG_GEO_ASCII_PARAMS: u16 = 34737;
/// GDAL's XML metadata (band descriptions).
pub(crate) const TAG_GDAL_METADATA: u16 = 42112;
/// GDAL's nodata value, as text.
pub(crate) const TAG_GDAL_NODATA: u16 = 42113;

// GeoTIFF keys and the values this module uses.
const KEY_GT_MODEL_TYPE: u16 = 1024;
const KEY_GT_RASTER_TYPE: u16 = 1025;
const KEY_GT_CITATION: u16 = 1026;
const KEY_GEOGRAPHIC_TYPE: u16 = 2048;
const KEY_GEOG_CITATION: u16 = 2049;
const KEY_GEOG_ANGULAR_UNITS: u16 = 2054;
const KEY_PROJECTED_CS_TYPE: u16 = 3072;
const KEY_PROJ_LINEAR_UNITS: u16 = 3076;
const MODEL_TYPE_PROJECTED: u16 = 1;
const MODEL_TYPE_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_AREA: u16 = 1;
const RASTER_PIXEL_IS_POINT: u16 = 2;
const UNIT_METRE: u16 = 9001;
const UNIT_DEGREE: u16 = 9102;
pub(crate) const USER_DEFINED: u16 = 32767;

/// The GeoKeyDirectory for `crs` and the GeoAsciiParams text its citation key points into.
pub(crate) fn geo_keys(crs: Crs) -> Result<(Vec<u16>, String), String> {
    let name = crs
        .name()
        .ok_or_else(|| format!("EPSG:{} is not supported", crs.epsg))?;
    let citation = format!("{name}|");
    let citation_ref = [TAG_GEO_ASCII_PARAMS, citation.len() as u16, 0];
    let epsg = crs.epsg as u16;
    // (key, location tag or 0, count, value or offset), sorted by key.
    let keys: Vec<[u16; 4]> = if crs.is_geographic() {
        vec![
            [KEY_GT_MODEL_TYPE, 0, 1, MODEL_TYPE_GEOGRAPHIC],
            [KEY_GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA],
            [KEY_GEOGRAPHIC_TYPE, 0, 1, epsg],
            [
                KEY_GEOG_CITATION,
                citation_ref[0],
                citation_ref[1],
                citation_ref[2],
            ],
            [KEY_GEOG_ANGULAR_UNITS, 0, 1, UNIT_DEGREE],
        ]
    } else {
        vec![
            [KEY_GT_MODEL_TYPE, 0, 1, MODEL_TYPE_PROJECTED],
            [KEY_GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA],
            [
                KEY_GT_CITATION,
                citation_ref[0],
                citation_ref[1],
                citation_ref[2],
            ],
            [KEY_PROJECTED_CS_TYPE, 0, 1, epsg],
            [KEY_PROJ_LINEAR_UNITS, 0, 1, UNIT_METRE],
        ]
    };
    let mut dir = vec![1, 1, 0, keys.len() as u16]; // version 1.1.0
    dir.extend(keys.into_iter().flatten());
    Ok((dir, citation))
}

/// GDAL_METADATA XML giving each named band its description; `None` when no band is named.
pub(crate) fn gdal_metadata_xml(band_names: &[String]) -> Option<String> {
    if band_names.iter().all(String::is_empty) {
        return None;
    }
    let mut xml = String::from("<GDALMetadata>\n");
    for (band, name) in band_names.iter().enumerate() {
        if !name.is_empty() {
            let _ = writeln!(
                xml,
                "  <Item name=\"DESCRIPTION\" sample=\"{band}\" role=\"description\">{}</Item>",
                xml_escape(name)
            );
        }
    }
    xml.push_str("</GDALMetadata>");
    Some(xml)
}

/// The GDAL_NODATA text for `value`: `nan`, `inf`, `-inf` or the shortest exact decimal.
pub(crate) fn format_nodata(value: f64) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{value}")
    }
}

pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// The georeferencing tags of one TIFF image, as read by the `tiff` crate.
#[derive(Debug, Default)]
pub(crate) struct GeoTags {
    /// GeoKeyDirectoryTag values.
    pub keys: Option<Vec<u64>>,
    /// ModelPixelScaleTag values.
    pub scale: Option<Vec<f64>>,
    /// ModelTiepointTag values.
    pub tiepoint: Option<Vec<f64>>,
    /// ModelTransformationTag values.
    pub transformation: Option<Vec<f64>>,
}

/// The geotransform and EPSG code from the GeoTIFF tags; errors name `path`.
pub(crate) fn georeferencing(
    path: &Path,
    tags: &GeoTags,
) -> Result<(GeoTransform, Crs), RasterError> {
    let malformed = |detail: String| RasterError::malformed(path, detail);
    let unsupported = |detail: String| RasterError::unsupported(path, detail);
    let keys = tags.keys.as_ref().ok_or_else(|| {
        unsupported("not a GeoTIFF: GeoKeyDirectoryTag (34735) is missing".to_string())
    })?;
    if keys.len() < 4 {
        return Err(malformed(format!(
            "GeoKeyDirectoryTag has only {} values",
            keys.len()
        )));
    }
    let declared = keys[3] as usize;
    if keys.len() < 4 + 4 * declared {
        return Err(malformed(format!(
            "GeoKeyDirectoryTag declares {declared} keys but holds {} values",
            keys.len()
        )));
    }
    // Short values stored directly in the directory (location 0).
    let key = |id: u16| {
        keys[4..4 + 4 * declared]
            .chunks_exact(4)
            .find(|k| k[0] == u64::from(id) && k[1] == 0)
            .map(|k| k[3])
    };
    let epsg_code = |v: Option<u64>| v.filter(|&c| c > 0 && c != u64::from(USER_DEFINED));
    let model_type = key(KEY_GT_MODEL_TYPE);
    let projected = epsg_code(key(KEY_PROJECTED_CS_TYPE));
    let geographic = epsg_code(key(KEY_GEOGRAPHIC_TYPE));
    let epsg = match model_type {
        Some(m) if m == u64::from(MODEL_TYPE_GEOGRAPHIC) => geographic,
        Some(m) if m == u64::from(MODEL_TYPE_PROJECTED) => projected,
        _ => projected.or(geographic),
    }
    .ok_or_else(|| {
        unsupported(format!(
            "the CRS has no EPSG code (GTModelTypeGeoKey {model_type:?}, ProjectedCSTypeGeoKey \
             {projected:?}, GeographicTypeGeoKey {geographic:?})"
        ))
    })?;
    let pixel_is_point = key(KEY_GT_RASTER_TYPE) == Some(u64::from(RASTER_PIXEL_IS_POINT));

    let mut transform = if let Some(m) = &tags.transformation {
        if m.len() < 16 {
            return Err(malformed(format!(
                "ModelTransformationTag has {} values, expected 16",
                m.len()
            )));
        }
        if m[1] != 0.0 || m[4] != 0.0 {
            return Err(unsupported(
                "rotated or sheared rasters are not supported".into(),
            ));
        }
        GeoTransform {
            origin_x: m[3],
            origin_y: m[7],
            pixel_width: m[0],
            pixel_height: -m[5],
        }
    } else {
        let scale = tags.scale.as_ref().ok_or_else(|| {
            unsupported(
                "not georeferenced: neither ModelTransformationTag nor ModelPixelScaleTag"
                    .to_string(),
            )
        })?;
        let tie = tags.tiepoint.as_ref().ok_or_else(|| {
            unsupported("not georeferenced: ModelTiepointTag is missing".to_string())
        })?;
        if scale.len() < 2 || tie.len() < 6 {
            return Err(malformed(format!(
                "ModelPixelScaleTag has {} values and ModelTiepointTag {}, expected 3 and 6",
                scale.len(),
                tie.len()
            )));
        }
        // Tiepoint (I, J, K, X, Y, Z): raster position (I, J) is at model (X, Y).
        GeoTransform {
            origin_x: tie[3] - tie[0] * scale[0],
            origin_y: tie[4] + tie[1] * scale[1],
            pixel_width: scale[0],
            pixel_height: scale[1],
        }
    };
    if pixel_is_point {
        // Coordinates refer to pixel centres; shift to the corner as GDAL does.
        transform.origin_x -= 0.5 * transform.pixel_width;
        transform.origin_y += 0.5 * transform.pixel_height;
    }
    let t = &transform;
    if ![t.origin_x, t.origin_y, t.pixel_width, t.pixel_height]
        .iter()
        .all(|v| v.is_finite())
        || t.pixel_width <= 0.0
        || t.pixel_height <= 0.0
    {
        return Err(unsupported(format!(
            "only north-up rasters with positive, finite pixel sizes are supported, got {t:?}"
        )));
    }
    let epsg =
        u32::try_from(epsg).map_err(|_| malformed(format!("EPSG code {epsg} is out of range")))?;
    Ok((transform, Crs { epsg }))
}

pub(crate) fn band_descriptions(xml: &str, bands: usize) -> Vec<String> {
    let mut names = vec![String::new(); bands];
    let mut rest = xml;
    while let Some(start) = rest.find("<Item") {
        rest = &rest[start + 5..];
        let Some(tag_end) = rest.find('>') else { break };
        let attrs = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</Item>") else {
            break;
        };
        let text = &rest[..close];
        rest = &rest[close + 7..];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            let from = attrs.find(&key)? + key.len();
            let len = attrs[from..].find('"')?;
            Some(&attrs[from..from + len])
        };
        if attr("name") != Some("DESCRIPTION") || attrs.trim_end().ends_with('/') {
            continue;
        }
        let band = attr("sample").and_then(|s| s.parse::<usize>().ok());
        if let Some(slot) = band.and_then(|band| names.get_mut(band)) {
            *slot = xml_unescape(text);
        }
    }
    names
}

/// Parses GDAL_NODATA text (`nan`, `inf`, `-inf`, `-9999`, `1e-3`, ...).
pub(crate) fn parse_nodata(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}
