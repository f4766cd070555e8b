//! The Process API endpoint: the served cube resampled onto the requested grid, as a tar of
//! two GeoTIFFs compressed like the real service's.

use std::process::Command;

use agriflux_core::raster::geotiff::{Crs, GeoTransform, Raster, RasterData, write_geotiff};
use serde_json::{Value, json};

use super::handlers::{bbox_ok, check_auth};
use super::{Answer, Fault, QUOTA_MESSAGE, Request, Samples, State, answer_json, bad_request};

/// How the emulator compresses the GeoTIFFs it serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Deflate with the old compression code 32946 and the horizontal predictor, in strips
    /// (what Sentinel Hub serves).
    #[default]
    Deflate32946,
    /// LZW with the horizontal predictor, in 256 x 256 tiles.
    LzwTiled,
    /// No compression.
    None,
}

impl Compression {
    /// The emulator's default: Deflate 32946 when GDAL can make it; without GDAL, uncompressed
    /// with a note (and a failure when CI=true: CI must test what the services send).
    pub fn default_mode() -> Self {
        if gdal_available() {
            return Self::Deflate32946;
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "gdal_translate is missing and CI=true: install GDAL (apt-get install gdal-bin) so the emulator serves compressed GeoTIFFs"
        );
        eprintln!("note: gdal_translate is missing; the emulator serves uncompressed GeoTIFFs");
        Self::None
    }
}

/// Whether `gdal_translate` runs.
pub fn gdal_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("gdal_translate")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The GeoTIFF of `raster`: written by the project's writer, then rewritten by GDAL in the
/// requested compression (bytes the project did not write). Without GDAL (outside CI) the
/// project's own file is served.
fn tiff_bytes(raster: &Raster, compression: Compression) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.tif");
    write_geotiff(&path, raster).unwrap();
    let options: &[&str] = match compression {
        _ if !gdal_available() => return std::fs::read(&path).unwrap(),
        Compression::None => &["-co", "COMPRESS=NONE"],
        Compression::Deflate32946 => &["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"],
        Compression::LzwTiled => &[
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=256",
            "-co",
            "BLOCKYSIZE=256",
        ],
    };
    let out_path = dir.path().join("c.tif");
    let out = Command::new("gdal_translate")
        .arg("-q")
        .args(options)
        .arg(&path)
        .arg(&out_path)
        .output()
        .expect("gdal_translate runs");
    assert!(
        out.status.success(),
        "gdal_translate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bytes = std::fs::read(&out_path).unwrap();
    if compression == Compression::Deflate32946 {
        // GDAL writes code 8 for Deflate; the services (and older GDAL) write 32946.
        assert!(set_tiff_short(&mut bytes, 259, 32946), "no Compression tag");
    }
    bytes
}

/// The byte order and first IFD's entries (tag, type, count, value-field offset) of a
/// classic TIFF. A tiny IFD walk: the only edit needed is one SHORT in place.
fn ifd_entries(bytes: &[u8]) -> (bool, Vec<(u16, u16, u32, usize)>) {
    let le = match &bytes[..4] {
        b"II*\0" => true,
        b"MM\0*" => false,
        other => panic!("not a classic TIFF: {other:?}"),
    };
    let u16_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1]];
        if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let u32_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let ifd = u32_at(4) as usize;
    let n = u16_at(ifd) as usize;
    let entries = (0..n)
        .map(|i| {
            let e = ifd + 2 + 12 * i;
            (u16_at(e), u16_at(e + 2), u32_at(e + 4), e + 8)
        })
        .collect();
    (le, entries)
}

/// The value of a SHORT or LONG tag with one value in the first IFD.
pub fn tiff_tag(bytes: &[u8], tag: u16) -> Option<u32> {
    let (le, entries) = ifd_entries(bytes);
    let (_, typ, count, at) = *entries.iter().find(|e| e.0 == tag)?;
    assert_eq!(count, 1, "tag {tag} has {count} values");
    Some(match (typ, le) {
        (3, true) => u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u32,
        (3, false) => u16::from_be_bytes([bytes[at], bytes[at + 1]]) as u32,
        (4, true) => u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()),
        (4, false) => u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()),
        _ => panic!("tag {tag} has type {typ}"),
    })
}

/// Sets a one-value SHORT tag of the first IFD in place; false when absent.
fn set_tiff_short(bytes: &mut [u8], tag: u16, value: u16) -> bool {
    let (le, entries) = ifd_entries(bytes);
    let Some(&(_, 3, 1, at)) = entries.iter().find(|e| e.0 == tag) else {
        return false;
    };
    let b = if le {
        value.to_le_bytes()
    } else {
        value.to_be_bytes()
    };
    bytes[at..at + 2].copy_from_slice(&b);
    true
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

pub(super) fn process(req: &Request, s: &mut State, samples: &Samples) -> Answer {
    s.process_requests += 1;
    if let Some(a) = check_auth(req, s, "process") {
        return a;
    }
    if s.quota_images.is_some_and(|n| s.process_served >= n) {
        let status = s.quota_status;
        return answer_json(
            status,
            if status == 402 {
                json!({"code": "PaymentRequired", "message": QUOTA_MESSAGE})
            } else {
                json!({"error": {"status": 403, "reason": "Forbidden", "message": QUOTA_MESSAGE, "code": "ACCESS_INSUFFICIENT_PROCESSING_UNITS"}})
            },
        );
    }
    let truncated = matches!(
        s.faults.get_mut("process").and_then(|q| q.front()),
        Some(Fault::Truncated)
    );
    if truncated {
        s.faults.get_mut("process").unwrap().pop_front();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad_request(s, "process: body is not JSON".into());
    };
    let input = &body["input"];
    if !bbox_ok(&input["bounds"]["bbox"]) {
        return bad_request(s, "process: input.bounds.bbox".into());
    }
    let crs = input["bounds"]["properties"]["crs"].as_str().unwrap_or("");
    if crs != "http://www.opengis.net/def/crs/EPSG/0/4326" {
        return bad_request(s, format!("process: crs '{crs}'"));
    }
    let data = &input["data"][0];
    if data["type"] != json!("sentinel-2-l2a") {
        return bad_request(s, format!("process: data type {}", data["type"]));
    }
    let from = data["dataFilter"]["timeRange"]["from"]
        .as_str()
        .unwrap_or("");
    if from.len() != 20 || data["dataFilter"]["timeRange"]["to"].as_str().is_none() {
        return bad_request(s, "process: dataFilter.timeRange".into());
    }
    let output = &body["output"];
    if !output["resx"].is_null() || !output["resy"].is_null() {
        return bad_request(s, "process: width/height and resx/resy together".into());
    }
    let (w, h) = match (output["width"].as_u64(), output["height"].as_u64()) {
        (Some(w @ 1..=2500), Some(h @ 1..=2500)) => (w as usize, h as usize),
        _ => {
            return bad_request(
                s,
                format!(
                    "process: width/height {} x {} outside 1..=2500",
                    output["width"], output["height"]
                ),
            );
        }
    };
    let ids: Vec<String> = output["responses"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["identifier"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let evalscript: String = body["evalscript"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !evalscript.starts_with("//VERSION=3") {
        return bad_request(s, "process: evalscript is not //VERSION=3".into());
    }
    for id in &ids {
        if !evalscript.contains(&format!("id:\"{id}\""))
            && !evalscript.contains(&format!("id:'{id}'"))
        {
            return bad_request(
                s,
                format!("Output {id} requested but missing from function setup()"),
            );
        }
    }
    if ids != ["bands", "scl"] {
        return bad_request(s, format!("process: responses {ids:?}"));
    }
    let accept = req.headers.get("accept").cloned().unwrap_or_default();
    if accept != "application/x-tar" {
        return bad_request(
            s,
            format!("process: two responses need Accept: application/x-tar, got '{accept}'"),
        );
    }
    // Nearest-neighbour resampling of the served date onto the requested grid.
    let t = samples.dates.iter().position(|d| d.as_str() == &from[..10]);
    let mut dn = Vec::with_capacity(w * h * 4);
    let mut qa = Vec::with_capacity(w * h * 2);
    for r in 0..h {
        for c in 0..w {
            let (sr, sc) = (r * samples.height / h, c * samples.width / w);
            let px: Option<Vec<f32>> = t.and_then(|t| {
                let v: Vec<f32> = (0..4).map(|b| samples.value(t, sr, sc, b)).collect();
                v.iter().all(|x| x.is_finite()).then_some(v)
            });
            match px {
                Some(v) => {
                    dn.extend(
                        v.iter()
                            .map(|x| (x * 10_000.0).round().clamp(0.0, 65535.0) as u16),
                    );
                    qa.extend([4u8, 1u8]);
                }
                None => {
                    dn.extend([0u16; 4]);
                    qa.extend([0u8, 0u8]);
                }
            }
        }
    }
    let bbox: Vec<f64> = input["bounds"]["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let transform = GeoTransform::from_bbox([bbox[0], bbox[1], bbox[2], bbox[3]], w, h);
    let raster = |data, bands: usize| Raster {
        width: w,
        height: h,
        bands,
        data,
        band_names: vec![String::new(); bands],
        transform,
        crs: Crs::WGS84,
        nodata: None,
    };
    let mut bands_tif = tiff_bytes(&raster(RasterData::U16(dn), 4), s.compression);
    let scl_tif = tiff_bytes(&raster(RasterData::U8(qa), 2), s.compression);
    if truncated {
        bands_tif.truncate(bands_tif.len() / 2);
    }
    s.process_served += 1;
    let pu = s.pu_per_image;
    Answer {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/x-tar".into()),
            ("x-processingunits-spent".into(), pu.to_string()),
        ],
        body: tar_of(&[("bands.tif", &bands_tif), ("scl.tif", &scl_tif)]),
    }
}
