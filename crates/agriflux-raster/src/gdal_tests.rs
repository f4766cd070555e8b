//! Specifications of the GeoTIFF reader and writer against GDAL: files GDAL writes from the
//! real Sentinel-2 samples in every layout and compression we claim to read, and `gdalinfo`
//! on the files we write. Without GDAL these tests skip with a message, and fail when CI=true.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::geotiff::*;

/// `../shared/data/real-s2` beside the repository.
fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-s2")
}

/// The GDAL fixture script of the end-to-end tests.
fn fixture_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/real_s2_geotiffs.py")
}

/// A python3 with GDAL's bindings and numpy (Debian's, which may not be first on PATH).
fn gdal_python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "from osgeo import gdal; import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether GDAL (tools, python bindings) and the samples are here; without them the test is
/// skipped with a message, or fails when CI=true.
fn gdal_ready(test: &str) -> Option<&'static str> {
    let python = gdal_python();
    let missing = if !samples_dir().is_dir() {
        Some("../shared/data/real-s2 not found")
    } else if !tool("gdal_translate") || !tool("gdalinfo") {
        Some("gdal_translate/gdalinfo not installed (apt install gdal-bin)")
    } else if python.is_none() {
        Some("python3 with osgeo.gdal and numpy not installed (apt install python3-gdal)")
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {why} (CI=true: this test must run)"
        );
        println!("skipped {test}: {why}");
        return None;
    }
    python
}

/// Runs the fixture script for `layout` of the Bouconne sample into `out`.
fn make_fixtures(python: &str, out: &Path, layout: &str) {
    let status = Command::new(python)
        .arg(fixture_script())
        .arg(samples_dir())
        .arg("bouconne-2018")
        .arg(out)
        .arg(layout)
        .status()
        .unwrap();
    assert!(status.success(), "fixture script {layout} failed");
}

fn translate(source: &Path, target: &Path, options: &[&str]) {
    let out = Command::new("gdal_translate")
        .arg("-q")
        .args(options)
        .arg(source)
        .arg(target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gdal_translate {options:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first date of the Bouconne sample as GDAL wrote it, straight from the `.npy`.
fn bouconne_first_date() -> Raster {
    let root = samples_dir().join("bouconne-2018");
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("meta.json")).unwrap()).unwrap();
    let bbox: Vec<f64> = meta["bbox_utm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let npy =
        npyz::NpyFile::new(fs::File::open(root.join("s2_B02_B03_B04_B08.npy")).unwrap()).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&n| n as usize).collect();
    let data: Vec<f32> = npy.into_vec().unwrap();
    let [_, height, width, bands] = shape[..] else {
        panic!("shape {shape:?}")
    };
    Raster {
        width,
        height,
        bands,
        data: RasterData::F32(data[..width * height * bands].to_vec()),
        band_names: ["B02", "B03", "B04", "B08"].map(String::from).to_vec(),
        transform: GeoTransform::from_bbox([bbox[0], bbox[1], bbox[2], bbox[3]], width, height),
        crs: Crs { epsg: 32631 },
        nodata: Some(f64::NAN),
    }
}

/// Same values bit for bit (NaN included) and the same georeferencing.
fn assert_same(actual: &Raster, expected: &Raster, what: &str) {
    assert_eq!(
        (actual.width, actual.height, actual.bands),
        (expected.width, expected.height, expected.bands),
        "{what}"
    );
    assert_eq!(actual.transform, expected.transform, "{what}");
    assert_eq!(actual.crs, expected.crs, "{what}");
    assert_eq!(actual.band_names, expected.band_names, "{what}");
    assert_eq!(
        actual.nodata.map(f64::to_bits),
        expected.nodata.map(f64::to_bits),
        "{what}"
    );
    match (&actual.data, &expected.data) {
        (RasterData::F32(a), RasterData::F32(e)) => {
            let differ = a.iter().zip(e).filter(|(a, e)| a.to_bits() != e.to_bits());
            assert_eq!(differ.count(), 0, "{what}: float samples differ");
        }
        (a, e) => assert!(a == e, "{what}: samples differ"),
    }
}

/// The variants of GDAL's creation options the reader must decode.
const FLOAT_VARIANTS: &[(&str, &[&str])] = &[
    ("deflate", &["-co", "COMPRESS=DEFLATE"]),
    (
        "deflate-p2",
        &["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"],
    ),
    (
        "deflate-p3",
        &["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=3"],
    ),
    ("lzw-p2", &["-co", "COMPRESS=LZW", "-co", "PREDICTOR=2"]),
    ("lzw-p3", &["-co", "COMPRESS=LZW", "-co", "PREDICTOR=3"]),
    ("packbits", &["-co", "COMPRESS=PACKBITS"]),
    (
        "tiled",
        &[
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=256",
            "-co",
            "BLOCKYSIZE=256",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=3",
        ],
    ),
    (
        "bigtiff",
        &[
            "-co",
            "BIGTIFF=YES",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=3",
        ],
    ),
    (
        "band-interleaved",
        &["-co", "INTERLEAVE=BAND", "-co", "COMPRESS=LZW"],
    ),
    (
        "tiled-band-bigtiff-big-endian-p2",
        &[
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=256",
            "-co",
            "BLOCKYSIZE=256",
            "-co",
            "INTERLEAVE=BAND",
            "-co",
            "BIGTIFF=YES",
            "-co",
            "ENDIANNESS=BIG",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=2",
        ],
    ),
];

const INTEGER_VARIANTS: &[(&str, &[&str])] = &[
    (
        "deflate-p2",
        &["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"],
    ),
    ("lzw-p2", &["-co", "COMPRESS=LZW", "-co", "PREDICTOR=2"]),
    ("packbits", &["-co", "COMPRESS=PACKBITS"]),
    (
        "tiled-band",
        &[
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=256",
            "-co",
            "BLOCKYSIZE=256",
            "-co",
            "INTERLEAVE=BAND",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=2",
        ],
    ),
    ("bigtiff", &["-co", "BIGTIFF=YES", "-co", "COMPRESS=LZW"]),
];

#[test]
fn reads_every_gdal_layout_and_compression_of_the_real_sample_exactly() {
    let Some(python) = gdal_ready("reads_every_gdal_layout_and_compression") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    make_fixtures(python, dir.path(), "sources");
    let expected = bouconne_first_date();
    let source = dir.path().join("source_f32.tif");
    assert_same(
        &read_geotiff(&source).unwrap(),
        &expected,
        "uncompressed float32",
    );
    for (name, options) in FLOAT_VARIANTS {
        let path = dir.path().join(format!("f32-{name}.tif"));
        translate(&source, &path, options);
        assert_same(&read_geotiff(&path).unwrap(), &expected, name);
    }
    // The crate decodes this one to wrong values: it must be refused, never returned.
    let path = dir.path().join("f32-big-endian-p3.tif");
    let options = [
        "-co",
        "ENDIANNESS=BIG",
        "-co",
        "COMPRESS=DEFLATE",
        "-co",
        "PREDICTOR=3",
    ];
    translate(&source, &path, &options);
    let err = read_geotiff(&path).unwrap_err();
    assert!(matches!(err, RasterError::Unsupported { .. }), "{err}");
    assert!(
        err.to_string().contains("floating-point predictor"),
        "{err}"
    );

    // Integer DN: the same reflectance x 10000, NaN stored as the nodata value.
    let dn = |nodata: f32| -> Vec<f32> {
        let RasterData::F32(v) = &expected.data else {
            unreachable!()
        };
        v.iter()
            .map(|r| {
                if r.is_nan() {
                    nodata
                } else {
                    (r * 10000.0).round()
                }
            })
            .collect()
    };
    for (file, nodata, names) in [
        ("source_u16.tif", 0.0, vec![String::new(); 4]),
        ("source_i16.tif", -10000.0, expected.band_names.clone()),
    ] {
        let source = dir.path().join(file);
        let reference = read_geotiff(&source).unwrap();
        let want = dn(nodata);
        let got: Vec<f32> = match &reference.data {
            RasterData::U16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            RasterData::I16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            other => panic!("{file}: {} samples", other.type_name()),
        };
        assert!(
            got == want,
            "{file}: DN differ from the sample's reflectance x 10000"
        );
        assert_eq!(reference.nodata, Some(f64::from(nodata)), "{file}");
        assert_eq!(reference.band_names, names, "{file}");
        assert_eq!(reference.transform, expected.transform, "{file}");
        assert_eq!(reference.crs, expected.crs, "{file}");
        for (name, options) in INTEGER_VARIANTS {
            let path = dir.path().join(format!("{file}-{name}.tif"));
            translate(&source, &path, options);
            assert_same(
                &read_geotiff(&path).unwrap(),
                &reference,
                &format!("{file} {name}"),
            );
        }
    }
}

#[test]
fn reads_a_gdal_deflate_file_whose_compression_tag_says_32946() {
    let Some(python) = gdal_ready("reads_a_gdal_deflate_file_whose_compression_tag_says_32946")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    make_fixtures(python, dir.path(), "sources");
    let path = dir.path().join("deflate.tif");
    translate(
        &dir.path().join("source_f32.tif"),
        &path,
        &["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=3"],
    );
    let mut bytes = fs::read(&path).unwrap();
    // Little-endian classic TIFF: find the Compression (259) entry of the first IFD.
    assert_eq!(&bytes[..4], b"II*\0");
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let count = usize::from(u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]));
    let entry = (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&p| u16::from_le_bytes([bytes[p], bytes[p + 1]]) == 259)
        .unwrap();
    assert_eq!(u16::from_le_bytes([bytes[entry + 8], bytes[entry + 9]]), 8);
    bytes[entry + 8..entry + 10].copy_from_slice(&32946u16.to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    let (raster, info) = read_geotiff_with_info(&path).unwrap();
    assert_eq!(info.compression, 32946);
    assert_same(&raster, &bouconne_first_date(), "compression 32946");
}

#[test]
fn gdalinfo_reads_written_bands_as_deflate_with_the_floating_point_predictor() {
    if gdal_ready("gdalinfo_reads_written_bands_as_deflate").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bands.tif");
    let raster = bouconne_first_date();
    write_geotiff(&path, &raster).unwrap();
    let out = Command::new("gdalinfo")
        .args(["-json", "-stats"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gdalinfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let structure = &info["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["COMPRESSION"], "DEFLATE", "{structure}");
    assert_eq!(structure["PREDICTOR"], "3", "{structure}");
    assert_eq!(info["size"], serde_json::json!([227, 246]));
    let bands = info["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 4);
    for (band, name) in bands.iter().zip(["B02", "B03", "B04", "B08"]) {
        assert_eq!(band["description"], name);
        assert_eq!(band["type"], "Float32");
        assert_eq!(band["noDataValue"], "NaN");
    }
    let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(wkt.contains("WGS 84 / UTM zone 31N"), "{wkt}");
    assert!(wkt.ends_with("ID[\"EPSG\",32631]]"), "{wkt}");
    let corners = &info["cornerCoordinates"];
    assert_eq!(
        corners["upperLeft"],
        serde_json::json!([356040.0, 4835680.0])
    );
    assert_eq!(
        corners["lowerRight"],
        serde_json::json!([358310.0, 4833220.0])
    );
    // Statistics prove GDAL decodes our predictor and compression to the same values.
    for (index, band) in bands.iter().enumerate() {
        let values: Vec<f64> = raster
            .band_f32(index)
            .unwrap()
            .into_iter()
            .filter(|v| !v.is_nan())
            .map(f64::from)
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let stat =
            |key: &str| -> f64 { band["metadata"][""][key].as_str().unwrap().parse().unwrap() };
        assert!(
            (stat("STATISTICS_MEAN") - mean).abs() < 1e-6,
            "band {index}"
        );
        // GDAL prints 14 significant digits: compare to that precision.
        assert!(
            (stat("STATISTICS_MINIMUM") - min).abs() < 1e-12,
            "band {index}"
        );
        assert!(
            (stat("STATISTICS_MAXIMUM") - max).abs() < 1e-12,
            "band {index}"
        );
    }
    // And GDAL's own copy of our file back through our reader is the same raster.
    let copy = dir.path().join("copy.tif");
    translate(&path, &copy, &[]);
    assert_same(
        &read_geotiff(&copy).unwrap(),
        &raster,
        "gdal_translate of our file",
    );
    // Integers get the horizontal predictor.
    let mut dn = raster.clone();
    dn.data = RasterData::U16((0..227 * 246 * 4).map(|i| (i % 4099) as u16).collect());
    dn.nodata = Some(0.0);
    write_geotiff(&path, &dn).unwrap();
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(&path)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["PREDICTOR"], "2");
    translate(&path, &copy, &[]);
    assert_same(&read_geotiff(&copy).unwrap(), &dn, "uint16 through GDAL");
}

#[test]
fn gdalinfo_shows_a_class_maps_colour_table_and_category_names() {
    if gdal_ready("gdalinfo_shows_a_class_maps_colour_table").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("health.tif");
    let (width, height) = (7, 5);
    let values: Vec<u8> = (0..width * height).map(|i| [0, 1, 2, 255][i % 4]).collect();
    let raster = Raster {
        width,
        height,
        bands: 1,
        data: RasterData::U8(values.clone()),
        band_names: vec!["predicted crop health".into()],
        transform: GeoTransform::from_bbox([356040.0, 4835630.0, 356110.0, 4835680.0], 7, 5),
        crs: Crs::utm(31, true).unwrap(),
        nodata: Some(255.0),
    };
    let classes = [
        RasterClass {
            name: "Healthy".into(),
            colour: [26, 150, 65],
        },
        RasterClass {
            name: "Moderate".into(),
            colour: [166, 217, 106],
        },
        RasterClass {
            name: "Stressed & dry".into(),
            colour: [253, 174, 97],
        },
    ];
    write_class_geotiff(&path, &raster, &classes).unwrap();
    let out = Command::new("gdalinfo")
        .args(["-json", "-stats"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let band = &info["bands"][0];
    assert_eq!(band["type"], "Byte");
    assert_eq!(band["colorInterpretation"], "Palette", "{band}");
    assert_eq!(band["noDataValue"], 255.0);
    assert_eq!(band["description"], "predicted crop health");
    let table = &band["colorTable"];
    assert_eq!(table["palette"], "RGB", "{table}");
    assert_eq!(table["entries"][0], serde_json::json!([26, 150, 65, 255]));
    assert_eq!(table["entries"][2], serde_json::json!([253, 174, 97, 255]));
    assert_eq!(
        band["categories"],
        serde_json::json!(["Healthy", "Moderate", "Stressed & dry"])
    );
    // Statistics over the valid values prove GDAL decodes the samples we wrote.
    let valid: Vec<f64> = values
        .iter()
        .filter(|v| **v != 255)
        .map(|v| f64::from(*v))
        .collect();
    let mean = valid.iter().sum::<f64>() / valid.len() as f64;
    let gdal_mean = band["mean"].as_f64().unwrap();
    assert!((gdal_mean - mean).abs() < 1e-9, "{gdal_mean} vs {mean}");
    let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(wkt.contains("UTM zone 31N"), "{wkt}");
}
