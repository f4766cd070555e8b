//! End-to-end: `agriflux map` on a tiny trained work directory, checked from outside: GDAL
//! reads the GeoTIFFs (colour table, class names, CRS, extent), numpy reads the forecast, NDVI
//! and the fields' figures are recomputed directly from the scene with GDAL and numpy, and one
//! field comes in another CRS than the scenes' (reprojected by GDAL's OSR, not by us).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use agriflux_tests::{agriflux, have, read_json, run_tiny, text};
use serde_json::Value;

/// A python3 with GDAL's bindings and numpy (Debian's), or `None` (skipped, failing with CI=true).
fn gdal_python() -> Option<&'static str> {
    let found = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "from osgeo import gdal, osr; import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() || !have("gdalinfo", &["--version"]) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "GDAL (gdal-bin, python3-gdal) and numpy are missing but CI=true"
        );
        println!("skipped: GDAL or numpy not installed");
    }
    found.filter(|_| have("gdalinfo", &["--version"]))
}

fn python(py: &str, script: &str, args: &[&str]) -> Value {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "python failed: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// Pixel rectangles `[col0, row0, col1, row1]` of the test fields; the third is written in
/// another CRS than the scenes' (a UTM zone for the simulated source's WGS 84 grid).
const FIELDS: [(&str, [usize; 4]); 3] = [
    ("North plot", [10, 10, 50, 40]),
    ("Wheat, east", [60, 50, 100, 90]),
    ("Other-CRS field", [120, 20, 160, 60]),
];

/// Reprojects a ring with GDAL's OSR (longitude first in both), densifying each edge into ten.
const REPROJECT: &str = r#"
import json, sys
from osgeo import osr
def srs(code):
    s = osr.SpatialReference(); s.ImportFromEPSG(int(code))
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s
t = osr.CoordinateTransformation(srs(sys.argv[1]), srs(sys.argv[2]))
ring = json.loads(sys.argv[3])
dense = []
for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
    for k in range(10):
        dense.append([x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10])
dense.append(ring[0])
print(json.dumps([list(t.TransformPoint(x, y)[:2]) for x, y in dense]))
"#;

/// The shoelace area of a ring.
fn shoelace(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        .abs()
        / 2.0
}

/// The scenes' grid: geotransform and EPSG code.
fn grid(date_dir: &Path) -> (Vec<f64>, u32) {
    let meta = read_json(&date_dir.join("metadata.json"));
    let gt = meta["geotransform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let epsg = meta["crs"]
        .as_str()
        .unwrap()
        .trim_start_matches("EPSG:")
        .parse()
        .unwrap();
    (gt, epsg)
}

/// A pixel rectangle's ring in the scenes' CRS.
fn ring(gt: &[f64], [c0, r0, c1, r1]: [usize; 4]) -> Vec<[f64; 2]> {
    let corner = |c: usize, r: usize| [gt[0] + c as f64 * gt[1], gt[3] + r as f64 * gt[5]];
    vec![
        corner(c0, r1),
        corner(c1, r1),
        corner(c1, r0),
        corner(c0, r0),
        corner(c0, r1),
    ]
}

/// The other CRS of the test: the area's UTM zone when the scenes are in WGS 84, else WGS 84.
fn other_crs(scenes_epsg: u32) -> u32 {
    if scenes_epsg == 4326 { 32643 } else { 4326 }
}

fn reproject(py: &str, from: u32, to: u32, ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let out = python(
        py,
        REPROJECT,
        &[
            &from.to_string(),
            &to.to_string(),
            &serde_json::to_string(ring).unwrap(),
        ],
    );
    serde_json::from_value(out).unwrap()
}

fn feature_collection(epsg: u32, features: Vec<Value>) -> String {
    serde_json::json!({"type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{epsg}")}},
        "features": features})
    .to_string()
}

/// Writes the two fields files: two rectangles in the scenes' CRS, one in the other CRS
/// (reprojected by GDAL); returns their paths.
fn write_fields(py: &str, workdir: &Path, date_dir: &Path) -> (PathBuf, PathBuf) {
    let (gt, epsg) = grid(date_dir);
    let feature = |name: &str, ring: Vec<[f64; 2]>| {
        serde_json::json!({"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}})
    };
    let same: Vec<Value> = FIELDS[..2]
        .iter()
        .map(|(name, rect)| feature(name, ring(&gt, *rect)))
        .collect();
    let same_file = workdir.join("fields-same-crs.geojson");
    std::fs::write(&same_file, feature_collection(epsg, same)).unwrap();
    let other = other_crs(epsg);
    let moved = reproject(py, epsg, other, &ring(&gt, FIELDS[2].1));
    let other_file = workdir.join("fields-other-crs.geojson");
    std::fs::write(
        &other_file,
        feature_collection(other, vec![feature(FIELDS[2].0, moved)]),
    )
    .unwrap();
    (same_file, other_file)
}

struct Mapped {
    dir: PathBuf,
    date: String,
    /// `agriflux map` with the fields in the scenes' CRS.
    same: Output,
    /// `agriflux map` again with the field in another CRS.
    other: Output,
    py: &'static str,
}

/// A tiny trained run, then `agriflux map` with fields in the scenes' CRS, and again with a
/// field in another CRS.
fn mapped() -> Option<&'static Mapped> {
    static MAPPED: OnceLock<Option<Mapped>> = OnceLock::new();
    MAPPED
        .get_or_init(|| {
            let py = gdal_python()?;
            let dir = tempfile::tempdir().unwrap().keep();
            let run = run_tiny(&dir, &[]);
            assert_eq!(run.status.code(), Some(0), "{}", text(&run));
            let mut dates: Vec<String> = std::fs::read_dir(dir.join("data/scenes"))
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("metadata.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            dates.sort();
            let date = dates.last().unwrap().clone();
            let (same_file, other_file) =
                write_fields(py, &dir, &dir.join("data/scenes").join(&date));
            let d = dir.to_str().unwrap();
            let same = agriflux(&[
                "map",
                "--workdir",
                d,
                "--date",
                "latest",
                "--fields",
                same_file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
            // Kept before the second import replaces the fields and their table.
            let _ = std::fs::copy(dir.join("maps/fields.csv"), dir.join("fields-same-crs.csv"));
            // A fields file has one CRS: the second import replaces the first file's fields
            // with the other-CRS one.
            let other = agriflux(&[
                "map",
                "--workdir",
                d,
                "--date",
                &date,
                "--fields",
                other_file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
            Some(Mapped {
                dir,
                date,
                same,
                other,
                py,
            })
        })
        .as_ref()
}

/// NDVI and field figures recomputed from the scene's `bands.tif` and SCL with GDAL and numpy.
const DIRECT: &str = r#"
import json, sys
import numpy as np
from osgeo import gdal
scene, maps, rects = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
b = gdal.Open(scene + "/bands.tif").ReadAsArray().astype(np.float64)
scl = gdal.Open(scene + "/scl.tif").ReadAsArray()
red, nir = b[2], b[3]
ndvi = (nir - red) / (nir + red)
valid = np.isin(scl[0], [0, 1, 3, 8, 9, 10, 11], invert=True) & (scl[1] != 0) & np.isfinite(b).all(axis=0)
ours = gdal.Open(maps + "/ndvi.tif").ReadAsArray()
both = np.isfinite(ours)
out = {"max_ndvi_diff": float(np.abs(ours[both] - ndvi[both]).max()),
       "finite_where_valid": bool((both == valid).all()),
       "fields": []}
for c0, r0, c1, r1 in rects:
    v = ndvi[r0:r1, c0:c1][valid[r0:r1, c0:c1]]
    out["fields"].append({"mean": float(v.mean()), "std": float(v.std()), "clear": float(valid[r0:r1, c0:c1].mean())})
f = gdal.Open(maps + "/forecast.tif")
fc = f.GetRasterBand(1).ReadAsArray()
out["forecast_dtype"] = str(fc.dtype)
out["forecast_nodata_is_nan"] = bool(np.isnan(f.GetRasterBand(1).GetNoDataValue()))
out["forecast_finite"] = int(np.isfinite(fc).sum())
out["forecast_range"] = [float(np.nanmin(fc)), float(np.nanmax(fc))]
print(json.dumps(out))
"#;

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            // Names with commas are quoted; split outside quotes.
            let mut cells = vec![String::new()];
            let mut quoted = false;
            for ch in l.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => cells.push(String::new()),
                    c => cells.last_mut().unwrap().push(c),
                }
            }
            cells
        })
        .collect()
}

#[test]
fn map_writes_geotiffs_gdal_reads_with_colour_table_class_names_crs_and_extent() {
    let Some(m) = mapped() else { return };
    assert_eq!(m.same.status.code(), Some(0), "{}", text(&m.same));
    let stdout = String::from_utf8_lossy(&m.same.stdout);
    for needle in [
        format!("Maps of {}", m.date).as_str(),
        "SIMULATED data",
        "Crop health (CNN)",
        "health.tif, health.png",
        "NDVI forecast, next acquisition (LSTM)",
        "North plot",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?}:\n{stdout}");
    }
    let maps = m.dir.join("maps").join(&m.date);
    let info = |path: &Path| -> Value {
        let out = Command::new("gdalinfo")
            .arg("-json")
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let health = info(&maps.join("health.tif"));
    let band = &health["bands"][0];
    assert_eq!(band["colorInterpretation"], "Palette");
    assert_eq!(
        band["colorTable"]["entries"][0],
        serde_json::json!([26, 150, 65, 255])
    );
    assert_eq!(
        band["categories"],
        serde_json::json!(["Healthy", "Moderate", "Stressed", "Critical"])
    );
    assert_eq!(band["noDataValue"], 255.0);
    let scene = info(&m.dir.join("data/scenes").join(&m.date).join("bands.tif"));
    assert_eq!(
        health["cornerCoordinates"], scene["cornerCoordinates"],
        "same extent as the scene"
    );
    assert_eq!(health["size"], scene["size"]);
    let wkt = health["coordinateSystem"]["wkt"].as_str().unwrap();
    assert_eq!(wkt, scene["coordinateSystem"]["wkt"].as_str().unwrap());
    for layer in ["ndvi", "confidence", "forecast", "forecast_change"] {
        let i = info(&maps.join(format!("{layer}.tif")));
        assert_eq!(i["bands"][0]["type"], "Float32", "{layer}");
        assert_eq!(
            i["cornerCoordinates"], scene["cornerCoordinates"],
            "{layer}"
        );
    }
    for png in [
        "true_colour",
        "ndvi",
        "clouds",
        "health",
        "confidence",
        "forecast",
        "forecast_change",
    ] {
        let bytes = std::fs::read(maps.join(format!("{png}.png"))).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
    }
}

#[test]
fn ndvi_forecast_and_field_figures_match_a_direct_computation_with_gdal_and_numpy() {
    let Some(m) = mapped() else { return };
    assert_eq!(m.same.status.code(), Some(0), "{}", text(&m.same));
    let scene = m.dir.join("data/scenes").join(&m.date);
    let maps = m.dir.join("maps").join(&m.date);
    let rects: Vec<[usize; 4]> = FIELDS.iter().map(|(_, r)| *r).collect();
    let direct = python(
        m.py,
        DIRECT,
        &[
            scene.to_str().unwrap(),
            maps.to_str().unwrap(),
            &serde_json::to_string(&rects).unwrap(),
        ],
    );
    assert!(direct["max_ndvi_diff"].as_f64().unwrap() < 1e-6, "{direct}");
    assert_eq!(
        direct["finite_where_valid"], true,
        "NDVI exactly where the SCL says clear: {direct}"
    );
    assert_eq!(direct["forecast_dtype"], "float32");
    assert_eq!(direct["forecast_nodata_is_nan"], true);
    assert!(
        direct["forecast_finite"].as_u64().unwrap() > 0,
        "a forecast on the latest date: {direct}"
    );
    let range = &direct["forecast_range"];
    assert!(
        range[0].as_f64().unwrap() > -1.0 && range[1].as_f64().unwrap() < 1.5,
        "{direct}"
    );

    // The fields in the scenes' CRS: their areas (projected to UTM by GDAL), and figures equal
    // to the direct computation over the same pixels.
    let rows = csv_rows(&m.dir.join("fields-same-crs.csv"));
    let (gt, epsg) = grid(&scene);
    for (k, (name, rect)) in FIELDS[..2].iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r[0] == *name && r[1] == m.date)
            .unwrap_or_else(|| panic!("{name} on {} in fields.csv: {rows:?}", m.date));
        let area: f64 = row[2].parse().unwrap();
        let expected = if epsg == 4326 {
            shoelace(&reproject(m.py, epsg, 32643, &ring(&gt, *rect))) / 10_000.0
        } else {
            shoelace(&ring(&gt, *rect)) / 10_000.0
        };
        assert!(
            (area - expected).abs() / expected < 1e-3,
            "{name}: {area} ha vs {expected}"
        );
        let f = &direct["fields"][k];
        assert!(
            (row[3].parse::<f64>().unwrap() - f["clear"].as_f64().unwrap()).abs() < 1e-4,
            "{name} clear {row:?} {f}"
        );
        if f["clear"].as_f64().unwrap() > 0.0 {
            assert!(
                (row[4].parse::<f64>().unwrap() - f["mean"].as_f64().unwrap()).abs() < 1e-5,
                "{name} mean {row:?} {f}"
            );
            assert!(
                (row[5].parse::<f64>().unwrap() - f["std"].as_f64().unwrap()).abs() < 1e-5,
                "{name} sd {row:?} {f}"
            );
        }
        let shares: f64 = row[6..10]
            .iter()
            .filter_map(|s| s.parse::<f64>().ok())
            .sum();
        assert!(
            shares == 0.0 || (shares - 1.0).abs() < 1e-3,
            "{name} class shares {row:?}"
        );
    }
    let dates = std::fs::read_dir(m.dir.join("data/scenes"))
        .unwrap()
        .count();
    assert!(
        rows.len() >= 2 * (dates - 1),
        "a row per field per date: {} rows",
        rows.len()
    );
}

#[test]
fn a_field_in_another_crs_is_reprojected_onto_the_scenes_grid() {
    let Some(m) = mapped() else { return };
    assert_eq!(m.other.status.code(), Some(0), "{}", text(&m.other));
    let rows = csv_rows(&m.dir.join("maps/fields.csv"));
    let (name, rect) = FIELDS[2];
    let row = rows
        .iter()
        .find(|r| r[0] == name && r[1] == m.date)
        .expect("the other-CRS field");
    let scene = m.dir.join("data/scenes").join(&m.date);
    let (_, epsg) = grid(&scene);
    let file = read_json(&m.dir.join("fields-other-crs.geojson"));
    let written: Vec<[f64; 2]> =
        serde_json::from_value(file["features"][0]["geometry"]["coordinates"][0].clone()).unwrap();
    let metric = if other_crs(epsg) == 4326 {
        reproject(m.py, 4326, epsg, &written)
    } else {
        written
    };
    let expected = shoelace(&metric) / 10_000.0;
    let area: f64 = row[2].parse().unwrap();
    assert!(
        (area - expected).abs() / expected < 1e-3,
        "{area} ha vs {expected}"
    );
    let maps = m.dir.join("maps").join(&m.date);
    let direct = python(
        m.py,
        DIRECT,
        &[
            scene.to_str().unwrap(),
            maps.to_str().unwrap(),
            &serde_json::to_string(&[rect]).unwrap(),
        ],
    );
    let f = &direct["fields"][0];
    if f["clear"].as_f64().unwrap() > 0.5 {
        // Reprojected twice, the edges land within a fraction of a pixel: the same pixels but
        // perhaps a few at the rim.
        assert!(
            (row[4].parse::<f64>().unwrap() - f["mean"].as_f64().unwrap()).abs() < 0.01,
            "{row:?} {f}"
        );
    }
    let geojson = read_json(&m.dir.join("maps/fields.geojson"));
    let feature = &geojson["features"][0];
    assert_eq!(feature["properties"]["name"], name);
    let lon = feature["geometry"]["coordinates"][0][0][0]
        .as_f64()
        .unwrap();
    assert!(
        (75.7..75.9).contains(&lon),
        "fields.geojson is in WGS 84: {feature}"
    );
    assert_eq!(feature["properties"]["date"], m.date.as_str());
}

#[test]
fn a_second_map_is_read_from_the_cache_and_unknown_dates_are_refused() {
    let Some(m) = mapped() else { return };
    assert_eq!(m.other.status.code(), Some(0), "{}", text(&m.other));
    let health = m.dir.join("maps").join(&m.date).join("health.tif");
    let before = std::fs::metadata(&health).unwrap().modified().unwrap();
    let d = m.dir.to_str().unwrap();
    let again = agriflux(&["map", "--workdir", d]).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        std::fs::metadata(&health).unwrap().modified().unwrap(),
        before,
        "cached maps rewritten"
    );
    let out = agriflux(&["map", "--workdir", d, "--date", "1999-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no imagery on 1999-01-01"),
        "{}",
        text(&out)
    );
    let out = agriflux(&["map", "--workdir", d, "--date", "soon"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"soon\" is not a date"),
        "{}",
        text(&out)
    );
    let json = agriflux(&["map", "--workdir", d, "--json"])
        .output()
        .unwrap();
    let view: Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json)));
    assert_eq!(view["date"], m.date.as_str());
    assert!(
        view["layers"][0]["png"]
            .as_str()
            .unwrap()
            .ends_with("true_colour.png"),
        "paths, not images"
    );
    // The latest run's report (view and HTML export) shows the latest date's maps and fields.
    let workdir = agriflux_core::pipeline::WorkDir::new(&m.dir);
    let newest = agriflux_core::history::list_runs(&workdir)
        .unwrap()
        .remove(0);
    let report = agriflux_core::history::load_report(&workdir, &newest.report_file).unwrap();
    let map = report.map.expect("the report's maps once they are made");
    assert_eq!(map.date, m.date);
    assert_eq!(map.layers.len(), 2, "health and forecast");
    let html = std::fs::read_to_string(
        agriflux_core::history::export_html(&workdir, &newest.report_file).unwrap(),
    )
    .unwrap();
    assert!(
        html.contains(&format!("Map of {}", m.date)),
        "the HTML report has the map"
    );
    assert!(html.contains(FIELDS[2].0), "and the fields table");
    assert_eq!(html.matches("<img class=\"map\"").count(), 2);
}
