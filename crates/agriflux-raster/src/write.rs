//! GeoTIFF writing: Deflate-compressed strips with a predictor, laid out by the `tiff` crate.
//!
//! The file is a little-endian classic TIFF that GDAL reads as a georeferenced, multi-band
//! raster: strips of about 64 KiB before compression, pixel-interleaved samples
//! (`PlanarConfiguration` = 1), Deflate (8) with the horizontal predictor (2) for integer
//! samples and the floating-point predictor (3) for float samples, `ModelPixelScaleTag` +
//! `ModelTiepointTag`, a `GeoKeyDirectoryTag` naming the EPSG code, `GDAL_NODATA` and per-band
//! descriptions in `GDAL_METADATA`. Files are written atomically (temporary file, fsync,
//! rename).
//!
//! Why the strips are prepared here rather than by the crate's `ImageEncoder`: that encoder
//! knows only colour types fixed at compile time (no N-band "multiband" image) and refuses
//! the floating-point predictor (`UsageError::PredictorUnavailable` in tiff 0.11). So we apply
//! the predictor (a few lines each, as TIFF Technical Note 3 and libtiff define them),
//! compress with `flate2` (the crate's own Deflate backend) and hand the finished strips and
//! all tags to the crate's `DirectoryEncoder`, which lays out the IFD and its values.

use std::io::{Cursor, Write as _};
use std::path::Path;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use tiff::encoder::TiffEncoder;
use tiff::tags::Tag;

use super::georef::{
    TAG_GDAL_METADATA, TAG_GDAL_NODATA, TAG_GEO_ASCII_PARAMS, TAG_GEO_KEY_DIRECTORY,
    TAG_MODEL_PIXEL_SCALE, TAG_MODEL_TIEPOINT, format_nodata, gdal_metadata_xml, geo_keys,
    xml_escape,
};
use super::types::{Raster, RasterData, RasterError};

/// Uncompressed bytes per strip: GDAL's and libtiff's usual order of magnitude.
const STRIP_BYTES: usize = 64 * 1024;
/// TIFF compression code for Deflate (Adobe-style zlib, the one GDAL writes).
const COMPRESSION_DEFLATE: u16 = 8;
/// TIFF predictor: none.
const PREDICTOR_NONE: u16 = 1;
/// TIFF predictor: horizontal differencing of samples.
const PREDICTOR_HORIZONTAL: u16 = 2;
/// TIFF predictor: byte-plane differencing of floating-point samples.
const PREDICTOR_FLOATING_POINT: u16 = 3;

/// Writes `raster` to `path` as a Deflate-compressed GeoTIFF, atomically (temporary file,
/// fsync, rename).
pub fn write_geotiff(path: &Path, raster: &Raster) -> Result<(), RasterError> {
    write_encoded(path, raster, None)
}

/// A class of a classified raster: its name and its colour in the file's colour table.
#[derive(Clone, Debug, PartialEq)]
pub struct RasterClass {
    /// The class's name, shown by GDAL as the category of its value.
    pub name: String,
    /// Red, green and blue, 0–255.
    pub colour: [u8; 3],
}

/// Writes a one-band 8-bit class map with a colour table (TIFF `ColorMap`, palette
/// photometric) so that GIS software shows value `k` in `classes[k].colour`, and the class
/// names as GDAL category names in the `.aux.xml` sidecar beside it (where GDAL keeps category
/// names of GeoTIFFs: the TIFF format has no tag for them). Values without a class (nodata)
/// get transparent black.
pub fn write_class_geotiff(
    path: &Path,
    raster: &Raster,
    classes: &[RasterClass],
) -> Result<(), RasterError> {
    let invalid = |detail: String| RasterError::InvalidRaster {
        path: path.to_path_buf(),
        detail,
    };
    if raster.bands != 1 || !matches!(raster.data, RasterData::U8(_)) {
        return Err(invalid(format!(
            "a class map has one 8-bit band, got {} band(s) of {}",
            raster.bands,
            raster.data.type_name()
        )));
    }
    if classes.is_empty() || classes.len() > 255 {
        return Err(invalid(format!(
            "{} classes given: a class map holds 1 to 255",
            classes.len()
        )));
    }
    write_encoded(path, raster, Some(classes))?;
    let sidecar = aux_xml_path(path);
    agriflux_base::atomic_file::write(&sidecar, category_names_xml(raster, classes).as_bytes())
        .map_err(|source| RasterError::Io {
            path: sidecar,
            source,
        })
}

/// The PAM sidecar GDAL reads beside `path`: `<path>.aux.xml`.
pub fn aux_xml_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".aux.xml");
    name.into()
}

/// GDAL's PAM XML naming each class value's category (and the band's description).
fn category_names_xml(raster: &Raster, classes: &[RasterClass]) -> String {
    let mut xml = String::from("<PAMDataset>\n  <PAMRasterBand band=\"1\">\n");
    if let Some(name) = raster.band_names.first().filter(|n| !n.is_empty()) {
        xml.push_str(&format!(
            "    <Description>{}</Description>\n",
            xml_escape(name)
        ));
    }
    xml.push_str("    <CategoryNames>\n");
    for class in classes {
        xml.push_str(&format!(
            "      <Category>{}</Category>\n",
            xml_escape(&class.name)
        ));
    }
    xml.push_str("    </CategoryNames>\n  </PAMRasterBand>\n</PAMDataset>\n");
    xml
}

fn write_encoded(
    path: &Path,
    raster: &Raster,
    palette: Option<&[RasterClass]>,
) -> Result<(), RasterError> {
    let invalid = |detail: String| RasterError::InvalidRaster {
        path: path.to_path_buf(),
        detail,
    };
    validate_for_writing(raster).map_err(invalid)?;
    let bytes =
        encode(raster, palette).map_err(|e| invalid(format!("TIFF encoding failed: {e}")))?;
    agriflux_base::atomic_file::write(path, &bytes).map_err(|source| RasterError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The TIFF `ColorMap` of `classes`: 256 reds, then greens, then blues, scaled to 16 bits.
fn colour_map(classes: &[RasterClass]) -> Vec<u16> {
    let mut map = vec![0u16; 3 * 256];
    for (k, class) in classes.iter().enumerate() {
        for (channel, value) in class.colour.iter().enumerate() {
            map[channel * 256 + k] = u16::from(*value) * 257;
        }
    }
    map
}

/// The whole file in memory (scenes are a few MB; the atomic write needs no `Seek`).
fn encode(raster: &Raster, palette: Option<&[RasterClass]>) -> Result<Vec<u8>, String> {
    let bands = raster.bands;
    let sample_bytes = usize::from(raster.data.bits() / 8);
    let row_samples = raster.width * bands;
    let row_bytes = row_samples * sample_bytes;
    let rows_per_strip = (STRIP_BYTES / row_bytes).clamp(1, raster.height);
    let strips = raster.height.div_ceil(rows_per_strip);
    // Class values are labels, not magnitudes: differencing them gains nothing.
    let predictor = if palette.is_some() {
        PREDICTOR_NONE
    } else if raster.data.is_float() {
        PREDICTOR_FLOATING_POINT
    } else {
        PREDICTOR_HORIZONTAL
    };

    let mut file = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut file).map_err(|e| e.to_string())?;
    let mut dir = encoder.image_directory().map_err(|e| e.to_string())?;
    let mut offsets = Vec::with_capacity(strips);
    let mut counts = Vec::with_capacity(strips);
    let mut raw = Vec::with_capacity(rows_per_strip * row_bytes);
    for strip in 0..strips {
        let first_row = strip * rows_per_strip;
        let last_row = (first_row + rows_per_strip).min(raster.height);
        raw.clear();
        raster
            .data
            .extend_le_bytes(first_row * row_samples..last_row * row_samples, &mut raw);
        if predictor != PREDICTOR_NONE {
            for row in raw.chunks_exact_mut(row_bytes) {
                predict_row(&raster.data, row, bands);
            }
        }
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&raw).map_err(|e| e.to_string())?;
        let compressed = z.finish().map_err(|e| e.to_string())?;
        let offset = dir
            .write_data(compressed.as_slice())
            .map_err(|e| e.to_string())?;
        offsets.push(u32::try_from(offset).map_err(|_| too_big())?);
        counts.push(u32::try_from(compressed.len()).map_err(|_| too_big())?);
    }

    let t = &raster.transform;
    let enc = |e: tiff::TiffError| e.to_string();
    let n = bands;
    dir.write_tag(Tag::ImageWidth, raster.width as u32)
        .map_err(enc)?;
    dir.write_tag(Tag::ImageLength, raster.height as u32)
        .map_err(enc)?;
    dir.write_tag(Tag::BitsPerSample, &vec![raster.data.bits(); n][..])
        .map_err(enc)?;
    dir.write_tag(Tag::Compression, COMPRESSION_DEFLATE)
        .map_err(enc)?;
    // MinIsBlack, or Palette (RGB colour map) for a class map.
    dir.write_tag(
        Tag::PhotometricInterpretation,
        if palette.is_some() { 3u16 } else { 1u16 },
    )
    .map_err(enc)?;
    dir.write_tag(Tag::StripOffsets, offsets.as_slice())
        .map_err(enc)?;
    dir.write_tag(Tag::SamplesPerPixel, n as u16).map_err(enc)?;
    dir.write_tag(Tag::RowsPerStrip, rows_per_strip as u32)
        .map_err(enc)?;
    dir.write_tag(Tag::StripByteCounts, counts.as_slice())
        .map_err(enc)?;
    dir.write_tag(Tag::PlanarConfiguration, 1u16).map_err(enc)?; // chunky
    dir.write_tag(Tag::Predictor, predictor).map_err(enc)?;
    if let Some(classes) = palette {
        dir.write_tag(Tag::ColorMap, colour_map(classes).as_slice())
            .map_err(enc)?;
    }
    if n > 1 {
        // Unspecified extra samples: plain data bands beyond the grey one.
        dir.write_tag(Tag::ExtraSamples, &vec![0u16; n - 1][..])
            .map_err(enc)?;
    }
    let format = vec![raster.data.sample_format(); n];
    dir.write_tag(Tag::SampleFormat, format.as_slice())
        .map_err(enc)?;
    let scale = [t.pixel_width, t.pixel_height, 0.0];
    dir.write_tag(Tag::Unknown(TAG_MODEL_PIXEL_SCALE), &scale[..])
        .map_err(enc)?;
    let tiepoint = [0.0, 0.0, 0.0, t.origin_x, t.origin_y, 0.0];
    dir.write_tag(Tag::Unknown(TAG_MODEL_TIEPOINT), &tiepoint[..])
        .map_err(enc)?;
    let (keys, citation) = geo_keys(raster.crs)?;
    dir.write_tag(Tag::Unknown(TAG_GEO_KEY_DIRECTORY), keys.as_slice())
        .map_err(enc)?;
    dir.write_tag(Tag::Unknown(TAG_GEO_ASCII_PARAMS), citation.as_str())
        .map_err(enc)?;
    if let Some(xml) = gdal_metadata_xml(&raster.band_names) {
        dir.write_tag(Tag::Unknown(TAG_GDAL_METADATA), xml.as_str())
            .map_err(enc)?;
    }
    if let Some(nodata) = raster.nodata {
        let text = format_nodata(nodata);
        dir.write_tag(Tag::Unknown(TAG_GDAL_NODATA), text.as_str())
            .map_err(enc)?;
    }
    dir.finish().map_err(|e| e.to_string())?;
    Ok(file.into_inner())
}

fn too_big() -> String {
    "the file would exceed classic TIFF's 4 GiB limit".to_string()
}

/// Applies the file's predictor to one row of little-endian samples, in place.
fn predict_row(data: &RasterData, row: &mut [u8], bands: usize) {
    match data {
        RasterData::U8(_) => {
            for i in (bands..row.len()).rev() {
                row[i] = row[i].wrapping_sub(row[i - bands]);
            }
        }
        RasterData::U16(_) | RasterData::I16(_) => {
            // Horizontal differencing of 16-bit samples, modulo 2^16 (signed or not alike).
            let get = |row: &[u8], i: usize| u16::from_le_bytes([row[2 * i], row[2 * i + 1]]);
            for i in (bands..row.len() / 2).rev() {
                let d = get(row, i).wrapping_sub(get(row, i - bands));
                row[2 * i..2 * i + 2].copy_from_slice(&d.to_le_bytes());
            }
        }
        RasterData::F32(_) => floating_point_predict(row, bands),
    }
}

/// TIFF's floating-point predictor (Technical Note 3, libtiff `fpDiff`): the row's samples
/// are split into byte planes, most significant byte first, then each byte is replaced by its
/// difference with the byte `bands` positions earlier.
fn floating_point_predict(row: &mut [u8], bands: usize) {
    let n = row.len() / 4;
    let mut planes = vec![0u8; row.len()];
    for (i, sample) in row.chunks_exact(4).enumerate() {
        // Little-endian in memory: byte 3 is the most significant.
        for byte in 0..4 {
            planes[(3 - byte) * n + i] = sample[byte];
        }
    }
    for i in (bands..planes.len()).rev() {
        planes[i] = planes[i].wrapping_sub(planes[i - bands]);
    }
    row.copy_from_slice(&planes);
}

/// Checks that `raster` is self-consistent and storable; the error says what is wrong.
fn validate_for_writing(raster: &Raster) -> Result<(), String> {
    let Raster {
        width,
        height,
        bands,
        ..
    } = *raster;
    if width == 0 || height == 0 || bands == 0 {
        return Err(format!(
            "width, height and bands must be positive, got {width}x{height} with {bands} bands"
        ));
    }
    if width > u32::MAX as usize || height > u32::MAX as usize || bands > usize::from(u16::MAX) {
        return Err(format!(
            "{width}x{height} with {bands} bands is too large for TIFF"
        ));
    }
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(bands))
        .ok_or_else(|| format!("{width}x{height}x{bands} samples overflow"))?;
    if raster.data.len() != expected {
        return Err(format!(
            "data holds {} samples but {width}x{height} pixels x {bands} bands need {expected}",
            raster.data.len()
        ));
    }
    if raster.band_names.len() != bands {
        return Err(format!(
            "{} band names given for {bands} bands",
            raster.band_names.len()
        ));
    }
    if let Some(name) = raster.band_names.iter().find(|n| n.contains('\0')) {
        return Err(format!("band name {name:?} contains a NUL character"));
    }
    let t = &raster.transform;
    if ![t.origin_x, t.origin_y, t.pixel_width, t.pixel_height]
        .iter()
        .all(|v| v.is_finite())
        || t.pixel_width <= 0.0
        || t.pixel_height <= 0.0
    {
        return Err(format!(
            "the geotransform must be finite with positive pixel sizes, got {t:?}"
        ));
    }
    if !raster.crs.is_supported() {
        return Err(format!(
            "EPSG:{} is not supported (only EPSG:4326 and WGS 84 / UTM EPSG:326xx/327xx)",
            raster.crs.epsg
        ));
    }
    Ok(())
}
