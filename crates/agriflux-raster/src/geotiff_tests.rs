//! Specifications of the GeoTIFF reader and writer that need no external tool.

use std::fs;
use std::path::Path;

use rand::{Rng, SeedableRng};

use super::georef::{
    TAG_GDAL_METADATA, TAG_GDAL_NODATA, TAG_GEO_ASCII_PARAMS, TAG_GEO_KEY_DIRECTORY,
    TAG_MODEL_PIXEL_SCALE, TAG_MODEL_TIEPOINT, TAG_MODEL_TRANSFORMATION, USER_DEFINED,
};
use super::geotiff::*;
use tiff::tags::Tag;

fn utm31n_transform() -> GeoTransform {
    GeoTransform {
        origin_x: 356040.0,
        origin_y: 4835680.0,
        pixel_width: 10.0,
        pixel_height: 10.0,
    }
}

/// A float raster with a recognisable value per sample and some special values.
fn float_raster(width: usize, height: usize, bands: usize) -> Raster {
    let mut data: Vec<f32> = (0..width * height * bands)
        .map(|i| (i as f32).sin() * 0.3 + 0.2)
        .collect();
    data[0] = f32::NAN;
    data[bands + 1] = -0.0;
    data[2 * bands] = f32::INFINITY;
    data[3 * bands] = f32::from_bits(1);
    let last = data.len() - 1;
    data[last] = f32::NAN;
    Raster {
        width,
        height,
        bands,
        data: RasterData::F32(data),
        band_names: ["B02", "B03", "B04", "B08", "B11", "B12"][..bands]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        transform: utm31n_transform(),
        crs: Crs { epsg: 32631 },
        nodata: Some(f64::NAN),
    }
}

/// Asserts two rasters are identical, comparing floats (NaN included) bit for bit.
fn assert_identical(actual: &Raster, expected: &Raster) {
    assert_eq!(
        (actual.width, actual.height, actual.bands),
        (expected.width, expected.height, expected.bands)
    );
    assert_eq!(actual.band_names, expected.band_names);
    assert_eq!(actual.transform, expected.transform);
    assert_eq!(actual.crs, expected.crs);
    assert_eq!(
        actual.nodata.map(f64::to_bits),
        expected.nodata.map(f64::to_bits),
        "nodata {:?} vs {:?}",
        actual.nodata,
        expected.nodata
    );
    match (&actual.data, &expected.data) {
        (RasterData::F32(a), RasterData::F32(e)) => {
            let a: Vec<u32> = a.iter().map(|v| v.to_bits()).collect();
            let e: Vec<u32> = e.iter().map(|v| v.to_bits()).collect();
            assert!(a == e, "float samples differ");
        }
        (a, e) => assert!(a == e, "samples differ"),
    }
}

fn round_trip(raster: &Raster) -> Raster {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.tif");
    write_geotiff(&path, raster).unwrap();
    read_geotiff(&path).unwrap()
}

/// Position of `tag`'s IFD entry in a little-endian classic TIFF.
fn entry_pos(bytes: &[u8], tag: u16) -> usize {
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let count = usize::from(u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]));
    (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&pos| u16::from_le_bytes([bytes[pos], bytes[pos + 1]]) == tag)
        .expect("tag present")
}

#[test]
fn geotiff_round_trips_float_bands_with_nan() {
    // 300 x 200 x 4 float32 is 15 strips of about 64 KiB.
    let raster = float_raster(300, 200, 4);
    assert_identical(&round_trip(&raster), &raster);
}

#[test]
fn geotiff_round_trips_u8_raster_in_geographic_crs() {
    let raster = Raster {
        width: 37,
        height: 23,
        bands: 2,
        data: RasterData::U8((0..37 * 23 * 2).map(|i| (i * 7 % 256) as u8).collect()),
        band_names: vec!["SCL".into(), "dataMask".into()],
        transform: GeoTransform {
            origin_x: 1.25,
            origin_y: 43.75,
            pixel_width: 0.0001,
            pixel_height: 0.0001,
        },
        crs: Crs::WGS84,
        nodata: Some(0.0),
    };
    assert_identical(&round_trip(&raster), &raster);
}

#[test]
fn geotiff_round_trips_u16_raster_in_southern_utm() {
    let raster = Raster {
        width: 5,
        height: 4,
        bands: 3,
        data: RasterData::U16((0..60).map(|i| i * 1000 + 7).collect()),
        band_names: vec!["a".into(), String::new(), "c & <d>".into()],
        transform: GeoTransform {
            origin_x: 500000.5,
            origin_y: 7100000.25,
            pixel_width: 20.0,
            pixel_height: 60.0,
        },
        crs: Crs::utm(23, false).unwrap(),
        nodata: Some(65535.0),
    };
    assert_identical(&round_trip(&raster), &raster);
}

#[test]
fn geotiff_round_trips_single_band_without_nodata_or_names() {
    let raster = Raster {
        width: 1,
        height: 1,
        bands: 1,
        data: RasterData::F32(vec![0.5]),
        band_names: vec![String::new()],
        transform: utm31n_transform(),
        crs: Crs { epsg: 32631 },
        nodata: None,
    };
    assert_identical(&round_trip(&raster), &raster);
}

#[test]
fn crs_helpers_know_utm_zones() {
    assert_eq!(Crs::utm(31, true), Some(Crs { epsg: 32631 }));
    assert_eq!(Crs::utm(33, false), Some(Crs { epsg: 32733 }));
    assert_eq!(Crs::utm(0, true), None);
    assert_eq!(Crs::utm(61, true), None);
    assert_eq!(Crs { epsg: 32760 }.utm_zone(), Some((60, false)));
    assert_eq!(Crs { epsg: 3857 }.utm_zone(), None);
    assert!(!Crs { epsg: 3857 }.is_supported());
    assert_eq!(Crs { epsg: 32633 }.name().unwrap(), "WGS 84 / UTM zone 33N");
}

#[test]
fn geotransform_converts_to_and_from_bbox() {
    let bbox = [356040.0, 4833220.0, 358310.0, 4835680.0];
    let t = GeoTransform::from_bbox(bbox, 227, 246);
    assert_eq!(t, utm31n_transform());
    assert_eq!(t.bbox(227, 246), bbox);
    assert_eq!(t.to_gdal(), [356040.0, 10.0, 0.0, 4835680.0, 0.0, -10.0]);
}

#[test]
fn band_f32_extracts_one_band() {
    let mut raster = float_raster(2, 2, 3);
    raster.data = RasterData::U8((0..12).collect());
    assert_eq!(raster.band_f32(1).unwrap(), [1.0, 4.0, 7.0, 10.0]);
    assert_eq!(raster.band_f32(3), None);
}

#[test]
fn write_rejects_inconsistent_rasters_without_creating_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tif");
    let good = float_raster(4, 3, 2);
    let mut cases: Vec<(Raster, &str)> = Vec::new();
    let mut r = good.clone();
    r.data = RasterData::F32(vec![0.0; 23]);
    cases.push((r, "data holds 23 samples but 4x3 pixels x 2 bands need 24"));
    let mut r = good.clone();
    r.band_names.pop();
    cases.push((r, "1 band names given for 2 bands"));
    let mut r = good.clone();
    r.crs = Crs { epsg: 3857 };
    cases.push((r, "EPSG:3857 is not supported"));
    let mut r = good.clone();
    r.transform.pixel_height = -10.0;
    cases.push((r, "positive pixel sizes"));
    let mut r = good.clone();
    r.width = 0;
    r.data = RasterData::F32(vec![]);
    cases.push((r, "must be positive"));
    for (raster, expected) in cases {
        let err = write_geotiff(&path, &raster).unwrap_err();
        assert!(matches!(err, RasterError::InvalidRaster { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{}: cannot write raster: ", path.display())),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn write_replaces_existing_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bands.tif");
    fs::write(&path, b"stale").unwrap();
    let raster = float_raster(8, 8, 4);
    write_geotiff(&path, &raster).unwrap();
    assert_identical(&read_geotiff(&path).unwrap(), &raster);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bands.tif"]);
}

#[test]
fn random_corruption_never_panics() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20180429);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.tif");
    write_geotiff(&file, &float_raster(9, 7, 4)).unwrap();
    let original = fs::read(&file).unwrap();
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..20_000 {
        let mut bytes = original.clone();
        for _ in 0..rng.random_range(1..4) {
            let pos = rng.random_range(0..original.len());
            bytes[pos] = match rng.random_range(0..4) {
                0 => 0,
                1 => 0xFF,
                _ => rng.random(),
            };
        }
        match decode_geotiff(Path::new("fuzz.tif"), &bytes) {
            Ok(raster) => {
                assert_eq!(
                    raster.data.len(),
                    raster.width * raster.height * raster.bands
                );
                ok += 1;
            }
            Err(err) => {
                assert!(err.to_string().starts_with("fuzz.tif: "), "{err}");
                failed += 1;
            }
        }
    }
    assert!(ok > 0 && failed > 0, "{ok} parsed, {failed} refused");
}

#[test]
fn missing_file_error_names_the_path() {
    let err = read_geotiff(Path::new("/nonexistent/scene/bands.tif")).unwrap_err();
    assert!(matches!(err, RasterError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/scene/bands.tif: "),
        "{err}"
    );
}

/// A TIFF field value for [`build_tiff`].
enum Field {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Double(Vec<f64>),
}

/// Builds a TIFF by hand in either byte order: header, `blobs` (their offsets are passed
/// to `fields`), then the IFD and its out-of-line values.
fn build_tiff(
    big_endian: bool,
    blobs: &[Vec<u8>],
    fields: impl FnOnce(&[u32]) -> Vec<(u16, Field)>,
) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let f64b = |v: f64| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = if big_endian {
        b"MM\0*".to_vec()
    } else {
        b"II*\0".to_vec()
    };
    out.extend_from_slice(&[0; 4]);
    let mut offsets = Vec::new();
    for blob in blobs {
        offsets.push(out.len() as u32);
        out.extend_from_slice(blob);
    }
    let mut fields = fields(&offsets);
    // Every TIFF writer sets PhotometricInterpretation (the crate requires it): BlackIsZero.
    if !fields.iter().any(|(tag, _)| *tag == 262) {
        fields.push((262, Field::Short(vec![1])));
    }
    fields.sort_by_key(|(tag, _)| *tag);
    out.resize(out.len().next_multiple_of(2), 0);
    let ifd = out.len();
    out[4..8].copy_from_slice(&u32b(ifd as u32));
    out.extend_from_slice(&u16b(fields.len() as u16));
    let mut extra_at = ifd + 2 + 12 * fields.len() + 4;
    let mut extra = Vec::new();
    for (tag, field) in &fields {
        let (typ, count, bytes): (u16, usize, Vec<u8>) = match field {
            Field::Short(v) => (3, v.len(), v.iter().flat_map(|&x| u16b(x)).collect()),
            Field::Long(v) => (4, v.len(), v.iter().flat_map(|&x| u32b(x)).collect()),
            Field::Double(v) => (12, v.len(), v.iter().flat_map(|&x| f64b(x)).collect()),
        };
        out.extend_from_slice(&u16b(*tag));
        out.extend_from_slice(&u16b(typ));
        out.extend_from_slice(&u32b(count as u32));
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&u32b(extra_at as u32));
            extra.extend_from_slice(&bytes);
            extra_at += bytes.len();
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&extra);
    out
}

#[test]
fn reads_big_endian_band_interleaved_tiled_uint16() {
    // 5 x 3 pixels, 2 bands, 4 x 2 tiles: 2 x 2 tiles per band, padded with 0xFFFF.
    let (width, height, tw, th) = (5usize, 3usize, 4usize, 2usize);
    let value = |band: usize, row: usize, col: usize| (band * 1000 + row * 10 + col) as u16;
    let mut tiles = Vec::new();
    for band in 0..2 {
        for ty in 0..2 {
            for tx in 0..2 {
                let mut tile = Vec::new();
                for r in 0..th {
                    for c in 0..tw {
                        let (row, col) = (ty * th + r, tx * tw + c);
                        let v = if row < height && col < width {
                            value(band, row, col)
                        } else {
                            0xFFFF
                        };
                        tile.extend_from_slice(&v.to_be_bytes());
                    }
                }
                tiles.push(tile);
            }
        }
    }
    let bytes = build_tiff(true, &tiles, |offsets| {
        vec![
            (Tag::ImageWidth.to_u16(), Field::Short(vec![width as u16])),
            (Tag::ImageLength.to_u16(), Field::Long(vec![height as u32])),
            (Tag::BitsPerSample.to_u16(), Field::Short(vec![16, 16])),
            (
                Tag::PhotometricInterpretation.to_u16(),
                Field::Short(vec![1]),
            ),
            (Tag::SamplesPerPixel.to_u16(), Field::Short(vec![2])),
            (Tag::PlanarConfiguration.to_u16(), Field::Short(vec![2])),
            (Tag::TileWidth.to_u16(), Field::Short(vec![tw as u16])),
            (Tag::TileLength.to_u16(), Field::Short(vec![th as u16])),
            (Tag::TileOffsets.to_u16(), Field::Long(offsets.to_vec())),
            (
                Tag::TileByteCounts.to_u16(),
                Field::Long(vec![(tw * th * 2) as u32; 8]),
            ),
            (TAG_MODEL_PIXEL_SCALE, Field::Double(vec![0.5, 0.25, 0.0])),
            // Raster point (1, 2) is at longitude 10, latitude 45.
            (
                TAG_MODEL_TIEPOINT,
                Field::Double(vec![1.0, 2.0, 0.0, 10.0, 45.0, 0.0]),
            ),
            (
                TAG_GEO_KEY_DIRECTORY,
                Field::Short(vec![1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326]),
            ),
        ]
    });
    let raster = decode_geotiff(Path::new("be.tif"), &bytes).unwrap();
    assert_eq!((raster.width, raster.height, raster.bands), (5, 3, 2));
    let mut expected = Vec::new();
    for row in 0..height {
        for col in 0..width {
            expected.extend([value(0, row, col), value(1, row, col)]);
        }
    }
    assert_eq!(raster.data, RasterData::U16(expected));
    assert_eq!(raster.crs, Crs::WGS84);
    assert_eq!(
        raster.transform,
        GeoTransform {
            origin_x: 9.5,
            origin_y: 45.5,
            pixel_width: 0.5,
            pixel_height: 0.25
        }
    );
    assert_eq!(raster.band_names, ["", ""]);
    assert_eq!(raster.nodata, None);
}

#[test]
fn reads_model_transformation_and_pixel_is_point() {
    // One strip without RowsPerStrip, uint8, defaults for everything optional.
    let pixels: Vec<u8> = (1..=6).collect();
    #[rustfmt::skip]
    let matrix = vec![
        10.0, 0.0, 0.0, 465185.0,
        0.0, -10.0, 0.0, 5080255.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 1.0,
    ];
    let bytes = build_tiff(false, std::slice::from_ref(&pixels), |offsets| {
        vec![
            (Tag::ImageWidth.to_u16(), Field::Long(vec![3])),
            (Tag::ImageLength.to_u16(), Field::Long(vec![2])),
            (Tag::BitsPerSample.to_u16(), Field::Short(vec![8])),
            (Tag::StripOffsets.to_u16(), Field::Long(offsets.to_vec())),
            (Tag::StripByteCounts.to_u16(), Field::Long(vec![6])),
            (TAG_MODEL_TRANSFORMATION, Field::Double(matrix)),
            (
                TAG_GEO_KEY_DIRECTORY,
                Field::Short(vec![
                    1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633,
                ]),
            ),
        ]
    });
    let raster = decode_geotiff(Path::new("pt.tif"), &bytes).unwrap();
    assert_eq!(raster.data, RasterData::U8(pixels));
    assert_eq!(raster.crs, Crs { epsg: 32633 });
    // Pixel centres at (465185, 5080255): the corner is half a pixel up and left.
    assert_eq!(
        raster.transform,
        GeoTransform {
            origin_x: 465180.0,
            origin_y: 5080260.0,
            pixel_width: 10.0,
            pixel_height: 10.0
        }
    );
}

#[test]
fn rejects_rotated_rasters_and_user_defined_crs() {
    let make = |matrix_01: f64, epsg: u16| {
        #[rustfmt::skip]
        let matrix = vec![
            1.0, matrix_01, 0.0, 0.0,
            0.0, -1.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 1.0,
        ];
        build_tiff(false, &[vec![0]], |offsets| {
            vec![
                (Tag::ImageWidth.to_u16(), Field::Long(vec![1])),
                (Tag::ImageLength.to_u16(), Field::Long(vec![1])),
                (Tag::BitsPerSample.to_u16(), Field::Short(vec![8])),
                (Tag::StripOffsets.to_u16(), Field::Long(offsets.to_vec())),
                (Tag::StripByteCounts.to_u16(), Field::Long(vec![1])),
                (TAG_MODEL_TRANSFORMATION, Field::Double(matrix)),
                (
                    TAG_GEO_KEY_DIRECTORY,
                    Field::Short(vec![1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, epsg]),
                ),
            ]
        })
    };
    let path = Path::new("r.tif");
    assert!(decode_geotiff(path, &make(0.0, 32631)).is_ok());
    let err = decode_geotiff(path, &make(0.5, 32631)).unwrap_err();
    assert!(err.to_string().contains("rotated or sheared"), "{err}");
    let err = decode_geotiff(path, &make(0.0, USER_DEFINED)).unwrap_err();
    assert!(
        err.to_string().contains("the CRS has no EPSG code"),
        "{err}"
    );
}

/// Tag values of the first image of a TIFF, read with the `tiff` crate.
fn tag_values(bytes: &[u8], tag: u16) -> Option<tiff::decoder::ifd::Value> {
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).unwrap();
    decoder
        .find_tag(tiff::tags::Tag::from_u16_exhaustive(tag))
        .unwrap()
}

fn uints(bytes: &[u8], tag: u16) -> Vec<u64> {
    tag_values(bytes, tag).unwrap().into_u64_vec().unwrap()
}

fn text(bytes: &[u8], tag: u16) -> String {
    let s = tag_values(bytes, tag).unwrap().into_string().unwrap();
    s.trim_end_matches('\0').to_string()
}

#[test]
fn writer_compresses_with_deflate_and_the_predictor_for_the_sample_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.tif");
    let raster = float_raster(300, 200, 4); // rows of 4800 bytes
    write_geotiff(&path, &raster).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(uints(&bytes, Tag::Compression.to_u16()), [8]);
    assert_eq!(uints(&bytes, 317), [3]); // floating-point predictor
    assert_eq!(uints(&bytes, 278), [13]); // 65536 / 4800 rows per strip
    assert_eq!(uints(&bytes, Tag::StripOffsets.to_u16()).len(), 16);
    assert_eq!(uints(&bytes, 338), [0, 0, 0]); // unspecified extra samples
    assert_eq!(uints(&bytes, Tag::SampleFormat.to_u16()), [3; 4]);
    assert_eq!(uints(&bytes, Tag::BitsPerSample.to_u16()), [32; 4]);
    assert_eq!(uints(&bytes, Tag::PlanarConfiguration.to_u16()), [1]);
    assert_eq!(uints(&bytes, Tag::PhotometricInterpretation.to_u16()), [1]);
    assert_eq!(text(&bytes, TAG_GDAL_NODATA), "nan");
    let xml = text(&bytes, TAG_GDAL_METADATA);
    assert!(
        xml.contains("<Item name=\"DESCRIPTION\" sample=\"3\" role=\"description\">B08</Item>"),
        "{xml}"
    );
    // Integer samples use horizontal differencing.
    let mut dn = float_raster(300, 200, 4);
    dn.data = RasterData::U16((0..300 * 200 * 4).map(|i| (i % 7919) as u16).collect());
    write_geotiff(&path, &dn).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(uints(&bytes, 317), [2]);
    assert_identical(&read_geotiff(&path).unwrap(), &dn);
}

#[test]
fn smooth_reflectance_compresses_to_a_fraction_of_its_raw_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.tif");
    let (w, h) = (256, 256);
    let mut raster = float_raster(w, h, 4);
    raster.data = RasterData::F32(
        (0..w * h * 4)
            .map(|i| {
                let (p, b) = (i / 4, i % 4);
                let (r, c) = ((p / w) as f32, (p % w) as f32);
                (0.05 + 0.1 * b as f32 + 0.001 * (r * 0.1).sin() * c * 0.01 * 1000.0).round()
                    / 1000.0
            })
            .collect(),
    );
    write_geotiff(&path, &raster).unwrap();
    let size = fs::metadata(&path).unwrap().len();
    assert!(size < (w * h * 4 * 4 / 3) as u64, "{size} bytes");
    assert_identical(&read_geotiff(&path).unwrap(), &raster);
}

#[test]
fn writes_geokeys_for_utm_and_geographic_crs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.tif");
    let keys_of = |raster: &Raster| {
        write_geotiff(&path, raster).unwrap();
        let bytes = fs::read(&path).unwrap();
        let f64s = |tag| tag_values(&bytes, tag).unwrap().into_f64_vec().unwrap();
        (
            uints(&bytes, TAG_GEO_KEY_DIRECTORY),
            text(&bytes, TAG_GEO_ASCII_PARAMS),
            f64s(TAG_MODEL_PIXEL_SCALE),
            f64s(TAG_MODEL_TIEPOINT),
        )
    };
    let utm = float_raster(3, 2, 1);
    let (keys, citation, scale, tie) = keys_of(&utm);
    #[rustfmt::skip]
    assert_eq!(keys, [
        1, 1, 0, 5,
        1024, 0, 1, 1, // projected
        1025, 0, 1, 1, // pixel is area
        1026, 34737, 22, 0, // citation
        3072, 0, 1, 32631,
        3076, 0, 1, 9001, // metre
    ]);
    assert_eq!(citation, "WGS 84 / UTM zone 31N|");
    assert_eq!(scale, [10.0, 10.0, 0.0]);
    assert_eq!(tie, [0.0, 0.0, 0.0, 356040.0, 4835680.0, 0.0]);

    let mut geographic = utm;
    geographic.crs = Crs::WGS84;
    let (keys, citation, _, _) = keys_of(&geographic);
    #[rustfmt::skip]
    assert_eq!(keys, [
        1, 1, 0, 5,
        1024, 0, 1, 2, // geographic
        1025, 0, 1, 1,
        2048, 0, 1, 4326,
        2049, 34737, 7, 0,
        2054, 0, 1, 9102, // degree
    ]);
    assert_eq!(citation, "WGS 84|");
}

#[test]
fn geotiff_round_trips_int16_samples() {
    let mut raster = float_raster(33, 17, 2);
    raster.data = RasterData::I16(
        (0..33 * 17 * 2)
            .map(|i: usize| ((i * 37) % 30_000) as i16 - 10_000)
            .collect(),
    );
    raster.nodata = Some(-10000.0);
    assert_identical(&round_trip(&raster), &raster);
}

#[test]
fn reads_deflate_tagged_with_the_old_code_32946() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old-deflate.tif");
    let raster = float_raster(40, 30, 4);
    write_geotiff(&path, &raster).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let pos = entry_pos(&bytes, Tag::Compression.to_u16());
    assert_eq!(u16::from_le_bytes([bytes[pos + 8], bytes[pos + 9]]), 8);
    bytes[pos + 8..pos + 10].copy_from_slice(&32946u16.to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    let (read, info) = read_geotiff_with_info(&path).unwrap();
    assert_eq!(info.compression, 32946);
    assert_identical(&read, &raster);
}

#[test]
fn every_truncation_of_a_written_file_is_a_typed_error_not_a_panic() {
    let path = Path::new("cut.tif");
    for raster in [float_raster(300, 200, 4), float_raster(6, 5, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.tif");
        write_geotiff(&file, &raster).unwrap();
        let bytes = fs::read(&file).unwrap();
        assert!(decode_geotiff(path, &bytes).is_ok());
        let step = (bytes.len() / 500).max(1);
        for len in (0..bytes.len()).step_by(step) {
            match decode_geotiff(path, &bytes[..len]) {
                Err(
                    RasterError::Truncated { .. }
                    | RasterError::NotTiff { .. }
                    | RasterError::Malformed { .. },
                ) => {}
                other => panic!("cut at {len}: expected a truncation error, got {other:?}"),
            }
        }
        let err = decode_geotiff(path, &bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.to_string().starts_with("cut.tif: "), "{err}");
    }
}

#[test]
fn rejects_non_tiff_files() {
    for (bytes, expected) in [
        (
            &b"\x89PNG\r\n\x1a\n...."[..],
            "not a TIFF file: it starts with bytes 89 50, not \"II\" or \"MM\"",
        ),
        (
            &b"II\x2a\0"[..],
            "truncated: the file has 4 bytes, a TIFF header needs 8",
        ),
        (
            &b""[..],
            "truncated: the file has 0 bytes, a TIFF header needs 8",
        ),
    ] {
        let err = decode_geotiff(Path::new("x.tif"), bytes).unwrap_err();
        assert_eq!(err.to_string(), format!("x.tif: {expected}"));
    }
    let err = decode_geotiff(Path::new("x.tif"), b"II*\0\0\0\0\0").unwrap_err();
    assert!(matches!(err, RasterError::Malformed { .. }), "{err}");
}

#[test]
fn rejects_unsupported_sample_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u32.tif");
    write_geotiff(&path, &float_raster(6, 5, 1)).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let pos = entry_pos(&bytes, Tag::SampleFormat.to_u16());
    bytes[pos + 8..pos + 10].copy_from_slice(&1u16.to_le_bytes()); // 32-bit unsigned
    let err = decode_geotiff(Path::new("u32.tif"), &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "u32.tif: unsupported TIFF: 32-bit unsigned integer samples are not supported \
         (only uint8, uint16, int16 and float32)"
    );
}

#[test]
fn rejects_tiff_without_georeferencing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.tif");
    write_geotiff(&path, &float_raster(6, 5, 1)).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let pos = entry_pos(&bytes, TAG_GEO_KEY_DIRECTORY);
    bytes[pos..pos + 2].copy_from_slice(&65000u16.to_le_bytes()); // an unknown private tag
    let err = decode_geotiff(Path::new("plain.tif"), &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plain.tif: unsupported TIFF: not a GeoTIFF: GeoKeyDirectoryTag (34735) is missing"
    );
}

/// A one-strip uint8 GeoTIFF of `width` x `height` declaring `strip` bytes at `offset`.
fn hostile_tiff(width: u32, height: u32, bands: u16, offset: Option<u32>, count: u32) -> Vec<u8> {
    build_tiff(false, &[vec![7; 64]], |offsets| {
        vec![
            (Tag::ImageWidth.to_u16(), Field::Long(vec![width])),
            (Tag::ImageLength.to_u16(), Field::Long(vec![height])),
            (
                Tag::BitsPerSample.to_u16(),
                Field::Short(vec![8; usize::from(bands)]),
            ),
            (Tag::SamplesPerPixel.to_u16(), Field::Short(vec![bands])),
            (
                Tag::StripOffsets.to_u16(),
                Field::Long(vec![offset.unwrap_or(offsets[0])]),
            ),
            (Tag::StripByteCounts.to_u16(), Field::Long(vec![count])),
            (TAG_MODEL_PIXEL_SCALE, Field::Double(vec![10.0, 10.0, 0.0])),
            (
                TAG_MODEL_TIEPOINT,
                Field::Double(vec![0.0, 0.0, 0.0, 356040.0, 4835680.0, 0.0]),
            ),
            (
                TAG_GEO_KEY_DIRECTORY,
                Field::Short(vec![1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32631]),
            ),
        ]
    })
}

#[test]
fn rejects_huge_declared_dimensions_before_allocating() {
    let path = Path::new("huge.tif");
    // 4 billion pixels per side: refused on the dimensions.
    let err = decode_geotiff(path, &hostile_tiff(u32::MAX, u32::MAX, 1, None, 64)).unwrap_err();
    assert!(matches!(err, RasterError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("px per side"), "{err}");
    // Within the side limit but 100k x 100k x 200 bands = 2 TB decoded: refused on the size.
    let err = decode_geotiff(path, &hostile_tiff(100_000, 100_000, 200, None, 64)).unwrap_err();
    assert!(matches!(err, RasterError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("would decode to"), "{err}");
    // A sane hostile file decodes (8 x 8 x 1 from the 64-byte strip).
    let ok = decode_geotiff(path, &hostile_tiff(8, 8, 1, None, 64)).unwrap();
    assert_eq!(ok.data, RasterData::U8(vec![7; 64]));
}

#[test]
fn rejects_strips_pointing_outside_the_file() {
    let path = Path::new("bogus.tif");
    for (offset, count) in [
        (Some(1 << 30), 64),
        (None, 1 << 20),
        (Some(u32::MAX - 8), 64),
    ] {
        let err = decode_geotiff(path, &hostile_tiff(8, 8, 1, offset, count)).unwrap_err();
        assert!(
            matches!(
                err,
                RasterError::Truncated { .. } | RasterError::Malformed { .. }
            ),
            "offset {offset:?} count {count}: {err:?}"
        );
        assert!(err.to_string().starts_with("bogus.tif: "), "{err}");
    }
}
