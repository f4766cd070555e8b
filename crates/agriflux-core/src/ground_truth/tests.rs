use std::path::Path;

use chrono::NaiveDate;

use super::*;
use crate::raster::geotiff::GeoTransform;

fn parse(text: &str) -> Result<Observations, GroundTruthError> {
    Observations::parse(text, Path::new("labels.geojson"))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A 100 x 100 px WGS84 grid of 0.001 degree pixels with its top-left corner at (10, 50).
fn grid() -> (Crs, GeoTransform) {
    (
        Crs::WGS84,
        GeoTransform {
            origin_x: 10.0,
            origin_y: 50.0,
            pixel_width: 0.001,
            pixel_height: 0.001,
        },
    )
}

fn on_grid(text: &str) -> GridObservations {
    let (crs, transform) = grid();
    GridObservations::project(&parse(text).unwrap(), crs, &transform, 100, 100).unwrap()
}

#[test]
fn reads_class_names_in_any_case_and_numbers() {
    let o = parse(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"class":"Healthy"},"geometry":{"type":"Point","coordinates":[10.01,49.99]}},
        {"type":"Feature","properties":{"class":"STRESSED","date":"2025-03-01"},"geometry":{"type":"Point","coordinates":[10.02,49.98]}},
        {"type":"Feature","properties":{"class":3,"date":"2025-03-02T10:15:00Z"},"geometry":{"type":"Point","coordinates":[10.03,49.97]}},
        {"type":"Feature","properties":{"class":"1"},"geometry":{"type":"MultiPoint","coordinates":[[10.04,49.96],[10.05,49.95]]}}
    ]}"#,
    )
    .unwrap();
    let classes: Vec<u8> = o.items.iter().map(|i| i.class).collect();
    assert_eq!(classes, [0, 2, 3, 1, 1]);
    assert_eq!(o.items[1].date, Some(day("2025-03-01")));
    assert_eq!(o.items[2].date, Some(day("2025-03-02")));
    assert_eq!(o.items[0].date, None);
    assert_eq!(o.crs, Crs::WGS84);
}

#[test]
fn rejects_a_feature_without_a_known_class_naming_it() {
    for (props, expected) in [
        (r#"{}"#, "no \"class\""),
        (r#"{"class":"wilting"}"#, "\"wilting\""),
        (r#"{"class":4}"#, "class 4"),
        (r#"{"class":"healthy","date":"01/03/2025"}"#, "YYYY-MM-DD"),
    ] {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","id":"scout-7","properties":{props},"geometry":{{"type":"Point","coordinates":[10.0,50.0]}}}}]}}"#
        );
        let message = parse(&text).unwrap_err().to_string();
        assert!(message.contains("feature 1 (id scout-7)"), "{message}");
        assert!(message.contains(expected), "{message}");
    }
}

#[test]
fn rejects_lines_bare_geometries_empty_files_and_non_geojson() {
    let line = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":0},"geometry":{"type":"LineString","coordinates":[[10,50],[11,51]]}}]}"#;
    assert!(parse(line).unwrap_err().to_string().contains("LineString"));
    let bare = r#"{"type":"Point","coordinates":[10,50]}"#;
    assert!(parse(bare).unwrap_err().to_string().contains("no class"));
    let empty = r#"{"type":"FeatureCollection","features":[]}"#;
    assert!(
        parse(empty)
            .unwrap_err()
            .to_string()
            .contains("no observation")
    );
    assert!(
        parse("class,x,y\n0,1,2")
            .unwrap_err()
            .to_string()
            .contains("not GeoJSON")
    );
}

#[test]
fn reads_a_utm_layer_named_by_a_legacy_crs_member() {
    let o = parse(
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32631"}},
        "features":[{"type":"Feature","properties":{"class":"moderate"},"geometry":{"type":"Point","coordinates":[354839.8,4834574.5]}}]}"#,
    )
    .unwrap();
    assert_eq!(o.crs, Crs { epsg: 32631 });
    let other = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:2154"}},"features":[]}"#;
    assert!(parse(other).unwrap_err().to_string().contains("EPSG:2154"));
}

#[test]
fn projects_wgs84_points_onto_a_utm_grid_as_gdal_does() {
    // gdaltransform -s_srs EPSG:4326 -t_srs EPSG:32631: (1.2, 43.65) -> (354839.795, 4834574.465).
    let o = parse(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":2},"geometry":{"type":"Point","coordinates":[1.2,43.65]}}]}"#,
    )
    .unwrap();
    let transform = GeoTransform {
        origin_x: 354_800.0,
        origin_y: 4_834_600.0,
        pixel_width: 10.0,
        pixel_height: 10.0,
    };
    let grid = GridObservations::project(&o, Crs { epsg: 32631 }, &transform, 20, 20).unwrap();
    // 39.795 m east and 25.535 m south of the corner: column 3, row 2.
    let labels = grid.for_date(day("2025-01-01"));
    assert_eq!(labels.class_at(2, 3), Some((2, 0)));
    assert_eq!(grid.outside, 0);
}

#[test]
fn a_polygon_labels_the_pixels_inside_it_and_not_its_hole() {
    // Outer square columns 10..50, rows 10..50; hole columns 20..30, rows 20..30.
    let grid = on_grid(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":"critical"},"geometry":{"type":"Polygon","coordinates":[
        [[10.010,49.990],[10.050,49.990],[10.050,49.950],[10.010,49.950],[10.010,49.990]],
        [[10.020,49.980],[10.030,49.980],[10.030,49.970],[10.020,49.970],[10.020,49.980]]]}}]}"#,
    );
    let labels = grid.for_date(day("2025-06-01"));
    assert_eq!(labels.class_at(15, 15), Some((3, 0)));
    assert_eq!(labels.class_at(25, 25), None, "the hole");
    assert_eq!(labels.class_at(5, 5), None, "outside");
    assert_eq!(labels.class_at(45, 48), Some((3, 0)));
}

#[test]
fn a_point_labels_pixels_within_the_radius_only() {
    let grid = on_grid(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":1},"geometry":{"type":"Point","coordinates":[10.0505,49.9495]}}]}"#,
    );
    let labels = grid.for_date(day("2025-06-01"));
    assert_eq!(labels.class_at(50, 50), Some((1, 0)));
    assert_eq!(
        labels.class_at(49 + POINT_RADIUS_PX as usize, 50),
        Some((1, 0))
    );
    assert_eq!(
        labels.class_at(50, 49 + POINT_RADIUS_PX as usize),
        Some((1, 0))
    );
    assert_eq!(labels.class_at(51 + POINT_RADIUS_PX as usize, 50), None);
    assert_eq!(labels.class_at(50, 51 + POINT_RADIUS_PX as usize), None);
}

#[test]
fn the_observation_nearest_in_time_within_the_tolerance_wins() {
    let grid = on_grid(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"class":0,"date":"2025-03-01"},"geometry":{"type":"Point","coordinates":[10.0505,49.9495]}},
        {"type":"Feature","properties":{"class":2,"date":"2025-03-20"},"geometry":{"type":"Point","coordinates":[10.0505,49.9495]}},
        {"type":"Feature","properties":{"class":3},"geometry":{"type":"Point","coordinates":[10.0505,49.9495]}}
    ]}"#,
    );
    assert_eq!(
        grid.for_date(day("2025-03-05")).class_at(50, 50),
        Some((0, 0))
    );
    assert_eq!(
        grid.for_date(day("2025-03-16")).class_at(50, 50),
        Some((2, 1))
    );
    // Between the two, beyond the tolerance of both: the undated observation holds.
    assert_eq!(
        grid.for_date(day("2025-03-10")).class_at(50, 50),
        Some((3, 2))
    );
}

#[test]
fn observations_off_the_grid_are_counted_not_used() {
    let grid = on_grid(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"class":0},"geometry":{"type":"Point","coordinates":[11.0,49.99]}},
        {"type":"Feature","properties":{"class":0},"geometry":{"type":"Point","coordinates":[10.01,49.99]}}
    ]}"#,
    );
    assert_eq!((grid.len(), grid.outside), (1, 1));
}

#[test]
fn written_points_read_back_with_their_classes_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truth.geojson");
    write_points(
        &path,
        [
            ([10.01, 49.99], 0, day("2025-02-01")),
            ([10.02, 49.98], 3, day("2025-02-06")),
        ],
        "simulated",
    )
    .unwrap();
    let o = Observations::read(&path).unwrap();
    assert_eq!(o.items.len(), 2);
    assert_eq!(o.items[1].class, 3);
    assert_eq!(o.items[1].date, Some(day("2025-02-06")));
    assert_eq!(o.items[1].shape, Shape::Point([10.02, 49.98]));
    assert_eq!(o.dates().len(), 2);
}

#[test]
fn refuses_a_labels_path_that_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let message = Observations::read(dir.path()).unwrap_err().to_string();
    assert!(message.contains("not a regular file"), "{message}");
}
