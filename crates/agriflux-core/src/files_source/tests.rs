//! Specifications of the files source: both layouts of GDAL-written real scenes, and the
//! errors for folders it cannot use.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::raster::{RasterData, write_geotiff};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-s2")
}

/// Writes the Bouconne sample in `layout` with GDAL into `out`; `false` (after a message)
/// when GDAL or the samples are missing, a failure instead when CI=true.
fn gdal_fixtures(out: &Path, layout: &str) -> bool {
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "from osgeo import gdal; import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let (Some(python), true) = (python, samples_dir().is_dir()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with osgeo.gdal and numpy, and ../shared/data/real-s2, are required when CI=true"
        );
        println!("skipped: python3 with osgeo.gdal + numpy or ../shared/data/real-s2 missing");
        return false;
    };
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/real_s2_geotiffs.py");
    let status = Command::new(python)
        .arg(script)
        .arg(samples_dir())
        .arg("bouconne-2018")
        .arg(out)
        .arg(layout)
        .status()
        .unwrap();
    assert!(status.success(), "fixture script failed");
    true
}

/// The sample's reflectance of date `t`, pixel-interleaved B02, B03, B04, B08.
fn sample_date(t: usize) -> Vec<f32> {
    let (shape, data) = crate::datasets::npy::read_npy::<f32>(
        &samples_dir().join("bouconne-2018/s2_B02_B03_B04_B08.npy"),
    )
    .unwrap();
    let n = shape[1] * shape[2] * shape[3];
    data[t * n..(t + 1) * n].to_vec()
}

fn all_dates(source: &FilesSource) -> Vec<Acquisition> {
    source
        .search(
            &crate::settings::SIMULATED_BBOX,
            &DateRange {
                start: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                end: NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            },
            0.0,
            &CancelToken::new(),
        )
        .unwrap()
}

fn check_bouconne(source: &FilesSource, exact: bool) {
    let found = all_dates(source);
    let days: Vec<String> = found.iter().map(|a| a.date.to_string()).collect();
    assert_eq!(
        days,
        [
            "2018-04-29",
            "2018-05-13",
            "2018-07-08",
            "2018-08-15",
            "2018-09-15",
            "2018-10-15",
            "2018-11-15"
        ]
    );
    for (t, acq) in found.iter().enumerate() {
        let scene = source.fetch(acq, &crate::settings::SIMULATED_BBOX).unwrap();
        assert_eq!((scene.width, scene.height), (227, 246));
        assert_eq!(scene.crs, Crs { epsg: 32631 });
        assert_eq!(
            scene.transform.bbox(227, 246),
            [356040.0, 4833220.0, 358310.0, 4835680.0]
        );
        let want = sample_date(t);
        for (i, (got, want)) in scene.bands.iter().zip(&want).enumerate() {
            if want.is_nan() {
                assert!(got.is_nan(), "date {t} sample {i}: {got} for NaN");
            } else if exact {
                assert_eq!(got.to_bits(), want.to_bits(), "date {t} sample {i}");
            } else {
                // DN = round(reflectance x 10000), read back as DN / 10000.
                assert!(
                    (got - want).abs() <= 0.6e-4,
                    "date {t} sample {i}: {got} vs {want}"
                );
            }
        }
        // No SCL: validity is "has data in every band", classified 7 (unclassified).
        for (px, (&scl, &mask)) in scene.scl.iter().zip(&scene.data_mask).enumerate() {
            let has_data = want[4 * px..4 * px + 4].iter().all(|v| v.is_finite());
            assert_eq!(mask, u8::from(has_data), "pixel {px}");
            assert_eq!(scl, if has_data { 7 } else { 0 }, "pixel {px}");
        }
    }
    let provenance = source.provenance();
    assert_eq!(provenance["source"], "files");
    assert_eq!(provenance["folder"], source.dir().display().to_string());
    assert!(
        provenance["validity"]
            .as_str()
            .unwrap()
            .starts_with("nodata only"),
        "{provenance}"
    );
}

#[test]
fn reads_multi_band_files_in_the_order_their_band_descriptions_give() {
    let dir = tempfile::tempdir().unwrap();
    if !gdal_fixtures(dir.path(), "multi") {
        return;
    }
    // The fixture stores B08, B04, B03, B02: only the descriptions put them in order.
    check_bouconne(&FilesSource::open(dir.path()).unwrap(), true);
}

#[test]
fn reads_per_band_files_with_copernicus_browser_names() {
    let dir = tempfile::tempdir().unwrap();
    if !gdal_fixtures(dir.path(), "per-band") {
        return;
    }
    check_bouconne(&FilesSource::open(dir.path()).unwrap(), false);
}

/// A small UTM 31N float raster of `bands` bands with `names`.
fn small(bands: usize, names: &[&str], epsg: u32) -> Raster {
    Raster {
        width: 4,
        height: 3,
        bands,
        data: RasterData::F32((0..12 * bands).map(|i| 0.01 * i as f32).collect()),
        band_names: names.iter().map(|s| s.to_string()).collect(),
        transform: GeoTransform {
            origin_x: 356040.0,
            origin_y: 4835680.0,
            pixel_width: 10.0,
            pixel_height: 10.0,
        },
        crs: Crs { epsg },
        nodata: Some(f64::NAN),
    }
}

fn open_err(dir: &Path) -> String {
    FilesSource::open(dir).unwrap_err().to_string()
}

#[test]
fn takes_undescribed_bands_as_b02_b03_b04_b08_and_dn_as_reflectance_x_10000() {
    let dir = tempfile::tempdir().unwrap();
    let mut raster = small(4, &["", "", "", ""], 32631);
    raster.data = RasterData::U16((0..48).map(|i| 100 * i as u16).collect());
    raster.nodata = Some(0.0);
    write_geotiff(&dir.path().join("20180429.tif"), &raster).unwrap();
    let source = FilesSource::open(dir.path()).unwrap();
    let scene = source
        .fetch(&all_dates(&source)[0], &crate::settings::SIMULATED_BBOX)
        .unwrap();
    assert!(scene.bands[0].is_nan()); // DN 0 is the nodata value
    assert_eq!(scene.data_mask[0], 0);
    assert_eq!(&scene.bands[4..8], &[0.04, 0.05, 0.06, 0.07]);
    assert_eq!(scene.data_mask[1], 1);
}

#[test]
fn uses_an_scl_file_for_validity_and_cloud_cover() {
    let dir = tempfile::tempdir().unwrap();
    write_geotiff(
        &dir.path().join("S2_2018-04-29.tif"),
        &small(4, &["B02", "B03", "B04", "B08"], 32631),
    )
    .unwrap();
    let mut scl = small(1, &["SCL"], 32631);
    scl.data = RasterData::U8(vec![4, 4, 9, 9, 4, 4, 4, 4, 0, 4, 4, 4]);
    scl.nodata = None;
    write_geotiff(&dir.path().join("S2_2018-04-29_SCL.tif"), &scl).unwrap();
    let source = FilesSource::open(dir.path()).unwrap();
    let scene = source
        .fetch(&all_dates(&source)[0], &crate::settings::SIMULATED_BBOX)
        .unwrap();
    assert_eq!(scene.scl, [4, 4, 9, 9, 4, 4, 4, 4, 0, 4, 4, 4]);
    assert_eq!(scene.data_mask[8], 0);
    assert_eq!(scene.cloud_cover, 18.18); // 2 of the 11 pixels with data
    assert_eq!(source.provenance()["validity"], "SCL and nodata");
}

#[test]
fn refuses_mixed_crss_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["B02", "B03", "B04", "B08"];
    write_geotiff(
        &dir.path().join("a_2018-04-29.tif"),
        &small(4, &names, 32631),
    )
    .unwrap();
    write_geotiff(
        &dir.path().join("b_2018-05-13.tif"),
        &small(4, &names, 32632),
    )
    .unwrap();
    let err = open_err(dir.path());
    assert!(err.starts_with("mixed CRSs: "), "{err}");
    assert!(
        err.contains("b_2018-05-13.tif is EPSG:32632")
            && err.contains("a_2018-04-29.tif is EPSG:32631"),
        "{err}"
    );
}

#[test]
fn refuses_a_date_with_missing_bands() {
    let dir = tempfile::tempdir().unwrap();
    for band in ["B02", "B03", "B08"] {
        let name = format!("2024-06-01-00:00_2024-06-01-23:59_Sentinel-2_L2A_{band}_(Raw).tiff");
        write_geotiff(&dir.path().join(name), &small(1, &[""], 32631)).unwrap();
    }
    let err = open_err(dir.path());
    assert!(
        err.starts_with("2024-06-01: missing band(s) B04 (found "),
        "{err}"
    );
    let mut multi = small(4, &["B02", "B03", "B05", "B08"], 32631);
    multi.band_names[2] = "B05".into();
    let other = tempfile::tempdir().unwrap();
    write_geotiff(&other.path().join("x_2018-04-29.tif"), &multi).unwrap();
    let err = open_err(other.path());
    assert!(
        err.contains("x_2018-04-29.tif: band B04 is missing"),
        "{err}"
    );
}

#[test]
fn refuses_files_without_a_date_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_geotiff(
        &dir.path().join("stack.tif"),
        &small(4, &["B02", "B03", "B04", "B08"], 32631),
    )
    .unwrap();
    let err = open_err(dir.path());
    assert!(
        err.contains("stack.tif: cannot tell its date: no YYYY-MM-DD or YYYYMMDD"),
        "{err}"
    );
}

#[test]
fn refuses_a_missing_or_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    assert!(open_err(dir.path()).starts_with("no GeoTIFF (.tif, .tiff) in the scenes folder"));
    let err = open_err(&dir.path().join("nope"));
    assert!(err.contains("does not exist or is not a folder"), "{err}");
}
