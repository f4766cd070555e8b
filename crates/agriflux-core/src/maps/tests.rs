//! Specifications of the maps: layers from hand-made scenes (without models: the e2e tests of
//! `agriflux map` cover the models' layers), the cache, fields on the grid and their figures.

use std::path::Path;

use chrono::NaiveDate;

use super::colours::{CHANGE_RAMP, NDVI_RAMP};
use super::fields::{field_stats, fields_csv, parse_fields};
use super::layers::{DatePixels, NO_CLASS};
use super::*;
use crate::raster::Bbox;
use crate::raster::geotiff::{Crs, GeoTransform, RasterData, read_geotiff};
use crate::raster::scene::{Scene, SourceKind, scene_dir, write_scene};

const W: usize = 80;
const H: usize = 70;
/// Upper-left corner of the test grid in UTM 31N, 10 m pixels.
const X0: f64 = 356_000.0;
const Y0: f64 = 4_836_000.0;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A scene whose NDVI rises left to right; the top-left 10 x 10 pixels are cloud.
fn scene(date: &str, shift: f32) -> Scene {
    let mut bands = Vec::with_capacity(W * H * 4);
    let mut scl = vec![4u8; W * H];
    for r in 0..H {
        for c in 0..W {
            let red = 0.20 - 0.15 * c as f32 / W as f32 + shift;
            let nir = 0.25 + 0.20 * r as f32 / H as f32;
            bands.extend_from_slice(&[0.04, 0.06, red, nir]);
            if r < 10 && c < 10 {
                scl[r * W + c] = 9;
            }
        }
    }
    Scene {
        date: day(date),
        width: W,
        height: H,
        transform: GeoTransform {
            origin_x: X0,
            origin_y: Y0,
            pixel_width: 10.0,
            pixel_height: 10.0,
        },
        crs: Crs::utm(31, true).unwrap(),
        bands,
        scl,
        data_mask: vec![1; W * H],
        cloud_cover: 2.0,
    }
}

fn workdir_with(dates: &[(&str, f32)]) -> (tempfile::TempDir, WorkDir) {
    let tmp = tempfile::tempdir().unwrap();
    let workdir = WorkDir::new(tmp.path());
    let bbox = Bbox {
        min_lon: 1.2,
        min_lat: 43.6,
        max_lon: 1.21,
        max_lat: 43.61,
    };
    for (date, shift) in dates {
        let s = scene(date, *shift);
        write_scene(
            &scene_dir(&workdir.scenes(), s.date),
            &s,
            SourceKind::Simulated,
            bbox,
            serde_json::json!({}),
        )
        .unwrap();
    }
    (tmp, workdir)
}

fn compute(workdir: &WorkDir) -> Season {
    Season::compute(workdir, &mut |_| {}, &CancelToken::new()).unwrap()
}

#[test]
fn ndvi_layer_holds_the_hand_computed_ndvi_and_nan_under_clouds() {
    let (_tmp, workdir) = workdir_with(&[("2025-06-01", 0.0), ("2025-06-11", 0.01)]);
    let season = compute(&workdir);
    let ndvi = read_geotiff(&date_dir(&workdir, day("2025-06-11")).join("ndvi.tif")).unwrap();
    assert_eq!((ndvi.width, ndvi.height), (W, H));
    let RasterData::F32(values) = &ndvi.data else {
        panic!("float32 expected")
    };
    let (r, c) = (40, 60);
    let red = 0.20 - 0.15 * c as f32 / W as f32 + 0.01;
    let nir = 0.25 + 0.20 * r as f32 / H as f32;
    let expected = (nir - red) / (nir + red);
    assert!(
        (values[r * W + c] - expected).abs() < 1e-6,
        "{} vs {expected}",
        values[r * W + c]
    );
    assert!(values[5 * W + 5].is_nan(), "a cloudy pixel has no NDVI");
    assert_eq!(ndvi.transform.origin_x, X0);
    assert_eq!(ndvi.crs.epsg, 32631);

    let view = season.view(DateChoice::Latest).unwrap();
    assert_eq!(view.date, "2025-06-11");
    assert_eq!(view.dates.len(), 2);
    assert!((view.dates[1].clear_fraction - (1.0 - 100.0 / (W * H) as f64)).abs() < 1e-9);
    assert!(view.simulated);
    let ids: Vec<_> = view.layers.iter().map(|l| l.id).collect();
    assert_eq!(
        ids,
        [MapLayerId::TrueColour, MapLayerId::Ndvi, MapLayerId::Clouds]
    );
    assert!(view.layers[0].png.starts_with("data:image/png;base64,"));
    assert!(
        view.notes.iter().any(|n| n.contains("No CNN model")),
        "{:?}",
        view.notes
    );
    assert!(
        view.notes.iter().any(|n| n.contains("Simulated")),
        "{:?}",
        view.notes
    );

    let point = season.point(DateChoice::Latest, c, r).unwrap();
    assert!((point.ndvi.unwrap() - f64::from(expected)).abs() < 1e-6);
    assert!(point.clear && point.class.is_none() && point.forecast.is_none());
    assert!((point.x - (X0 + 605.0)).abs() < 1e-9 && (point.y - (Y0 - 405.0)).abs() < 1e-9);
    assert!(
        (0.0..3.0).contains(&point.lon) && (43.0..44.0).contains(&point.lat),
        "{point:?}"
    );
    // The block's season: observed means on both dates, persistence from the first.
    assert_eq!(point.series.len(), 2);
    assert_eq!(point.series[1].persistence, point.series[0].observed);
}

#[test]
fn a_second_computation_reads_the_cache_and_a_changed_scene_is_recomputed() {
    let (_tmp, workdir) = workdir_with(&[("2025-06-01", 0.0), ("2025-06-11", 0.01)]);
    compute(&workdir);
    let ndvi = date_dir(&workdir, day("2025-06-01")).join("ndvi.tif");
    let first = std::fs::metadata(&ndvi).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    compute(&workdir);
    assert_eq!(
        std::fs::metadata(&ndvi).unwrap().modified().unwrap(),
        first,
        "cached date rewritten"
    );

    // A new download of the date changes its metadata: its maps are made again.
    let s = scene("2025-06-01", 0.05);
    let bbox = Bbox {
        min_lon: 1.2,
        min_lat: 43.6,
        max_lon: 1.21,
        max_lat: 43.61,
    };
    write_scene(
        &scene_dir(&workdir.scenes(), s.date),
        &s,
        SourceKind::Simulated,
        bbox,
        serde_json::json!({"again": 1}),
    )
    .unwrap();
    compute(&workdir);
    assert_ne!(std::fs::metadata(&ndvi).unwrap().modified().unwrap(), first);
}

#[test]
fn refuses_unknown_dates_and_an_empty_work_directory() {
    let (_tmp, workdir) = workdir_with(&[("2025-06-01", 0.0)]);
    let season = compute(&workdir);
    let err = season.view(DateChoice::On(day("2025-07-01"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no imagery on 2025-07-01: the downloaded dates are 2025-06-01 to 2025-06-01"
    );
    assert!(matches!(
        "yesterday".parse::<DateChoice>(),
        Err(MapError::BadDate(_))
    ));
    assert_eq!("latest".parse::<DateChoice>().unwrap(), DateChoice::Latest);
    let empty = tempfile::tempdir().unwrap();
    let err = Season::compute(
        &WorkDir::new(empty.path()),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(err, MapError::NoImagery(_)), "{err}");
}

/// A square field in UTM 31N covering pixels [c0, c1) x [r0, r1) exactly.
fn square_utm(name: &str, c0: usize, r0: usize, c1: usize, r1: usize) -> String {
    let (x0, x1) = (X0 + c0 as f64 * 10.0, X0 + c1 as f64 * 10.0);
    let (y0, y1) = (Y0 - r1 as f64 * 10.0, Y0 - r0 as f64 * 10.0);
    format!(
        r#"{{"type":"Feature","properties":{{"name":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#
    )
}

#[test]
fn field_figures_match_a_direct_computation_over_its_pixels() {
    let (_tmp, workdir) = workdir_with(&[("2025-06-01", 0.0), ("2025-06-11", 0.01)]);
    let text = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::32631"}}}},"features":[{},{}]}}"#,
        square_utm("@North", 20, 10, 40, 30),
        square_utm("Corner", 0, 0, 20, 20),
    );
    let imported = import_fields(&workdir, "fields.geojson", &text).unwrap();
    assert_eq!(imported.fields, 2);
    let season = compute(&workdir);
    let view = season.view(DateChoice::On(day("2025-06-11"))).unwrap();
    let north = view.fields.iter().find(|f| f.name == "@North").unwrap();
    assert!(
        (north.area_ha - 4.0).abs() < 1e-9,
        "20 x 20 pixels of 10 m: {}",
        north.area_ha
    );
    let mut values = Vec::new();
    for r in 10..30 {
        for c in 20..40 {
            let red = 0.20 - 0.15 * c as f64 / W as f64 + 0.01;
            let nir = 0.25 + 0.20 * r as f64 / H as f64;
            values.push((nir - red) / (nir + red));
        }
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    assert!((north.stats.ndvi_mean.unwrap() - mean).abs() < 1e-6);
    assert!((north.stats.ndvi_std.unwrap() - sd).abs() < 1e-6);
    assert_eq!(north.stats.clear_fraction, 1.0);
    assert!(north.stats.class_shares.is_empty(), "no CNN, no classes");
    // A quarter of the corner field is cloud (its top-left 10 x 10 of 20 x 20 pixels).
    let corner = view.fields.iter().find(|f| f.name == "Corner").unwrap();
    assert_eq!(corner.stats.clear_fraction, 0.75);
    assert_eq!(corner.series.len(), 2);
    // Outlines in pixel coordinates.
    assert_eq!(north.outline[0][0], [20.0, 30.0]);

    let csv = std::fs::read_to_string(maps_dir(&workdir).join("fields.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2, "{csv}");
    assert!(csv.contains("\n'@North,"), "formula defused: {csv}");
    let geojson: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(maps_dir(&workdir).join("fields.geojson")).unwrap(),
    )
    .unwrap();
    let first = &geojson["features"][0];
    let lon = first["geometry"]["coordinates"][0][0][0].as_f64().unwrap();
    assert!((0.0..3.0).contains(&lon), "written in WGS 84: {first}");
    assert_eq!(first["properties"]["date"], "2025-06-11");
}

#[test]
fn rejects_fields_that_are_not_polygons_or_lie_off_the_scenes() {
    let (_tmp, workdir) = workdir_with(&[("2025-06-01", 0.0)]);
    let point = r#"{"type":"Feature","properties":{"name":"well"},"geometry":{"type":"Point","coordinates":[1.2,43.6]}}"#;
    let err = import_fields(&workdir, "f.geojson", point)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("feature 1 (well): a Point is not a field boundary"),
        "{err}"
    );
    let far = r#"{"type":"Feature","properties":{"name":"elsewhere"},"geometry":{"type":"Polygon","coordinates":[[[10,50],[10.1,50],[10.1,50.1],[10,50]]]}}"#;
    let err = import_fields(&workdir, "f.geojson", far)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("none of its 1 field(s) lies on the downloaded scenes"),
        "{err}"
    );
    let err = import_fields(&workdir, "f.geojson", "{not json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not GeoJSON"), "{err}");
    assert!(
        !fields_file(&workdir).exists(),
        "nothing kept from refused files"
    );
}

#[test]
fn field_stats_count_classes_and_forecast_over_the_fields_pixels() {
    let parsed = parse_fields(
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32631"}},"features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[20,0],[20,-20],[0,-20],[0,0]]]}}]}"#,
        Path::new("t"),
    );
    // A 2 x 2 field on a 4 x 4 grid of 10 m pixels at the origin (CRS: as the file's).
    let file = parsed.unwrap();
    assert_eq!(file.fields[0].name, "Field 1");
    let transform = GeoTransform {
        origin_x: 0.0,
        origin_y: 0.0,
        pixel_width: 10.0,
        pixel_height: 10.0,
    };
    let (fields, outside) = file
        .on_grid(
            Path::new("t"),
            Crs::utm(31, true).unwrap(),
            &transform,
            4,
            4,
        )
        .unwrap();
    assert!(outside.is_empty());
    assert_eq!(fields[0].pixels, vec![0, 1, 4, 5]);
    let px = DatePixels {
        width: 4,
        height: 4,
        ndvi: vec![
            0.2,
            0.4,
            f32::NAN,
            f32::NAN,
            0.6,
            f32::NAN,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ],
        class: vec![0, 3, 0, 0, 3, NO_CLASS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        confidence: vec![
            0.5,
            0.7,
            0.0,
            0.0,
            0.9,
            f32::NAN,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ],
        forecast: vec![
            0.5, 0.5, 0.0, 0.0, 0.3, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ],
        change: vec![0.0; 16],
    };
    let (stats, confidence) = field_stats(&fields[0], &px, "2025-06-01");
    assert_eq!(stats.clear_fraction, 0.75);
    assert!((stats.ndvi_mean.unwrap() - 0.4).abs() < 1e-6);
    let shares = &stats.class_shares;
    assert!(
        (shares[0] - 1.0 / 3.0).abs() < 1e-9 && (shares[3] - 2.0 / 3.0).abs() < 1e-9,
        "{shares:?}"
    );
    assert!((confidence.unwrap() - 0.7).abs() < 1e-6);
    assert!((stats.forecast.unwrap() - 0.4).abs() < 1e-6);
    assert!(stats.forecast_change.unwrap().abs() < 1e-6);
    let csv = fields_csv(&[(&fields[0], &stats)]);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("Field 1,2025-06-01,0.0400,0.7500,0.400000,"),
        "{csv}"
    );
}

#[test]
fn ramps_run_from_their_first_to_their_last_anchor_and_label_their_stops() {
    assert_eq!(NDVI_RAMP.colour(-0.3), [0x44, 0x01, 0x54]);
    assert_eq!(NDVI_RAMP.colour(1.0), [0xfd, 0xe7, 0x25]);
    assert_eq!(CHANGE_RAMP.colour(0.0), [0xf5, 0xf5, 0xf5]);
    let labels: Vec<_> = CHANGE_RAMP.legend(1).into_iter().map(|e| e.label).collect();
    assert_eq!(labels, ["-0.2", "-0.1", "0.0", "+0.1", "+0.2"]);
    let painted = NDVI_RAMP.paint(&[f32::NAN, 0.5]);
    assert_eq!(&painted[..4], &[0, 0, 0, 0], "no value is transparent");
    assert_eq!(painted[7], 255);
}

#[test]
fn rows_of_pixels_inside_a_polygon_are_those_the_point_in_polygon_test_finds() {
    // A 40-pointed star with a square hole, partly off the grid, with edges through pixel
    // centres and vertices on them.
    let mut outer: Vec<[f64; 2]> = (0..80)
        .map(|k| {
            let angle = k as f64 * std::f64::consts::PI / 40.0;
            let radius = if k % 2 == 0 { 30.0 } else { 12.5 };
            [25.5 + radius * angle.cos(), 20.0 + radius * angle.sin()]
        })
        .collect();
    outer.push(outer[0]);
    let hole = vec![
        [20.5, 15.5],
        [30.5, 15.5],
        [30.5, 25.0],
        [20.5, 25.0],
        [20.5, 15.5],
    ];
    let polygons = vec![vec![outer, hole]];
    let (w, h) = (48, 44);
    let expected: Vec<usize> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (r, c)))
        .filter(|&(r, c)| {
            crate::geometry::polygon_contains(&polygons[0], [c as f64 + 0.5, r as f64 + 0.5])
        })
        .map(|(r, c)| r * w + c)
        .collect();
    assert!(expected.len() > 500, "{}", expected.len());
    assert_eq!(super::fields::pixels_inside(&polygons, w, h), expected);
}

#[test]
fn refuses_a_fields_file_with_too_many_vertices() {
    let ring: Vec<String> = (0..=MAX_FIELD_VERTICES)
        .map(|k| {
            let a = k as f64 / MAX_FIELD_VERTICES as f64 * std::f64::consts::TAU;
            format!("[{},{}]", 1.2 + 0.001 * a.cos(), 43.6 + 0.001 * a.sin())
        })
        .collect();
    let text = format!(
        r#"{{"type":"Feature","properties":{{"name":"lace"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
        ring.join(",")
    );
    let err = parse_fields(&text, Path::new("lace.geojson"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 500000 vertices"), "{err}");
}
