//! Process API: the pixels of one date, as a tar of two GeoTIFFs decoded into a [`Scene`].

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::catalog::COLLECTION;
use super::client::Client;
use super::error::ShError;
use crate::raster::geotiff::{Crs, GeoTransform, RasterData, decode_geotiff};
use crate::raster::scene::Scene;
use crate::settings::Bbox;
use crate::source::Acquisition;
use agriflux_base::CancelToken;

/// Path of the process endpoint.
pub const PROCESS_PATH: &str = "/api/v1/process";
/// Most pixels per side of one Process API request.
pub const MAX_SIDE_PX: usize = 2500;
/// Ground sampling distance requested, metres.
pub const PIXEL_SIZE_M: f64 = 10.0;

/// B02, B03, B04, B08 as UINT16 DN (lossless, half the processing units of FLOAT32) and SCL
/// with dataMask as UINT8; the output ids match the response identifiers.
pub const EVALSCRIPT: &str = r#"//VERSION=3
function setup() {
  return {
    input: [{ bands: ["B02", "B03", "B04", "B08", "SCL", "dataMask"], units: "DN" }],
    output: [
      { id: "bands", bands: 4, sampleType: "UINT16" },
      { id: "scl", bands: 2, sampleType: "UINT8" }
    ]
  };
}
function evaluatePixel(s) {
  return { bands: [s.B02, s.B03, s.B04, s.B08], scl: [s.SCL, s.dataMask] };
}
"#;

/// Grid size of `area` at 10 m (the same rule as the simulated source).
pub fn grid_size(area: &Bbox) -> (usize, usize) {
    let (w, h) = area.size_m();
    (
        (w / PIXEL_SIZE_M).round().max(1.0) as usize,
        (h / PIXEL_SIZE_M).round().max(1.0) as usize,
    )
}

/// The process request body for one date.
pub fn process_body(acq: &Acquisition, area: &Bbox, width: usize, height: usize) -> Value {
    json!({
        "input": {
            "bounds": {
                "bbox": [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
                "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
            },
            "data": [{
                "type": COLLECTION,
                "dataFilter": {
                    "timeRange": {
                        "from": format!("{}T00:00:00Z", acq.date),
                        "to": format!("{}T23:59:59Z", acq.date)
                    },
                    "mosaickingOrder": "leastCC"
                }
            }]
        },
        "output": {
            "width": width,
            "height": height,
            "responses": [
                {"identifier": "bands", "format": {"type": "image/tiff"}},
                {"identifier": "scl", "format": {"type": "image/tiff"}}
            ]
        },
        "evalscript": EVALSCRIPT
    })
}

/// Downloads and decodes the scene of one acquisition.
pub fn fetch(
    client: &Client,
    acq: &Acquisition,
    area: &Bbox,
    cancel: &CancelToken,
) -> Result<Scene, ShError> {
    let (width, height) = grid_size(area);
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(ShError::AreaTooLarge { width, height });
    }
    let body = process_body(acq, area, width, height);
    let reply = client.post_json(PROCESS_PATH, &body, "application/x-tar", cancel)?;
    let url = format!("{}{PROCESS_PATH}", client.settings().base_url);
    decode_reply(&url, &reply.body, acq, area, width, height)
}

/// Decodes the tar answer into a scene: reflectance = DN / 10000, NaN where dataMask is 0.
pub fn decode_reply(
    url: &str,
    tar_bytes: &[u8],
    acq: &Acquisition,
    area: &Bbox,
    width: usize,
    height: usize,
) -> Result<Scene, ShError> {
    let bad = |detail: String| ShError::BadResponse {
        url: url.to_string(),
        detail: format!("{} ({}): {detail}", acq.date, "process answer"),
    };
    let (mut bands_tif, mut scl_tif) = (None, None);
    let mut archive = tar::Archive::new(tar_bytes);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("broken tar archive: {e}")))?;
        let name = entry
            .path()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("truncated tar member {name}: {e}")))?;
        match name.as_str() {
            "bands.tif" => bands_tif = Some(bytes),
            "scl.tif" => scl_tif = Some(bytes),
            _ => {}
        }
    }
    let bands_tif = bands_tif.ok_or_else(|| bad("the tar has no bands.tif".into()))?;
    let scl_tif = scl_tif.ok_or_else(|| bad("the tar has no scl.tif".into()))?;
    let bands = decode_geotiff(Path::new("bands.tif"), &bands_tif)
        .map_err(|e| bad(format!("bands.tif is not a valid image: {e}")))?;
    let masks = decode_geotiff(Path::new("scl.tif"), &scl_tif)
        .map_err(|e| bad(format!("scl.tif is not a valid image: {e}")))?;
    for (name, r, n) in [("bands.tif", &bands, 4), ("scl.tif", &masks, 2)] {
        if (r.width, r.height, r.bands) != (width, height, n) {
            return Err(bad(format!(
                "{name} is {} x {} px with {} bands, expected {width} x {height} px with {n}",
                r.width, r.height, r.bands
            )));
        }
    }
    let RasterData::U16(dn) = &bands.data else {
        return Err(bad(format!(
            "bands.tif holds {} samples, expected uint16 DN",
            bands.data.type_name()
        )));
    };
    let RasterData::U8(qa) = &masks.data else {
        return Err(bad(format!(
            "scl.tif holds {} samples, expected uint8",
            masks.data.type_name()
        )));
    };
    let pixels = width * height;
    let scl: Vec<u8> = qa.iter().step_by(2).copied().collect();
    let data_mask: Vec<u8> = qa.iter().skip(1).step_by(2).copied().collect();
    let mut reflectance = Vec::with_capacity(pixels * 4);
    for (i, px) in dn.chunks_exact(4).enumerate() {
        for v in px {
            reflectance.push(if data_mask[i] == 0 {
                f32::NAN
            } else {
                f32::from(*v) / 10_000.0
            });
        }
    }
    let transform = if bands.crs.is_geographic() {
        bands.transform
    } else {
        GeoTransform::from_bbox(
            [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
            width,
            height,
        )
    };
    Ok(Scene {
        date: acq.date,
        width,
        height,
        transform,
        crs: Crs::WGS84,
        bands: reflectance,
        scl,
        data_mask,
        cloud_cover: acq.cloud_cover,
    })
}
