//! GeoTIFF reading through the `tiff` crate.
//!
//! The crate decodes the pixels: little- or big-endian classic TIFF or BigTIFF, strips or
//! tiles, pixel- or band-interleaved (`PlanarConfiguration` 1 or 2), uncompressed, Deflate
//! (codes 8 and 32946), LZW or PackBits, with the horizontal (2) or floating-point (3)
//! predictor. We accept uint8, uint16, int16 and float32 samples, georeferenced by pixel scale
//! + tiepoint or by a non-rotated `ModelTransformationTag`, whose CRS is an EPSG code.
//! Everything else, and every truncated, inconsistent or oversized file, gives a
//! [`RasterError`] naming the file and the problem.

use std::fs;
use std::io::{self, Cursor};
use std::path::Path;

use tiff::TiffError;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::{PlanarConfiguration, SampleFormat, Tag};

use super::georef::{
    GeoTags, TAG_GDAL_METADATA, TAG_GDAL_NODATA, TAG_GEO_KEY_DIRECTORY, TAG_MODEL_PIXEL_SCALE,
    TAG_MODEL_TIEPOINT, TAG_MODEL_TRANSFORMATION, band_descriptions, georeferencing, parse_nodata,
};
use super::types::{Raster, RasterData, RasterError};

/// Largest accepted width or height: 2^17 px is 1,300 km of Sentinel-2 10 m pixels.
pub const MAX_DIMENSION: u64 = 1 << 17;
/// Largest accepted decoded image (all bands), so a small compressed file cannot make the
/// reader allocate without bound: 1 GiB is 100 Sentinel Hub requests' worth of pixels.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;
/// Largest accepted tag value (e.g. a tile offset table); 16 MiB covers a 2^17 px square
/// image in 256 px tiles with room to spare.
const MAX_TAG_BYTES: usize = 16 << 20;

/// What a GeoTIFF holds besides its pixels that the files source needs.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoTiffInfo {
    /// The TIFF `DateTime` tag (306), e.g. `2024:06:01 10:56:21`, when present.
    pub datetime: Option<String>,
    /// TIFF compression code (1 = none, 5 = LZW, 8 / 32946 = Deflate, 32773 = PackBits).
    pub compression: u16,
}

/// Reads a GeoTIFF (see the module documentation for what is supported).
pub fn read_geotiff(path: &Path) -> Result<Raster, RasterError> {
    read_geotiff_with_info(path).map(|(raster, _)| raster)
}

/// [`read_geotiff`] that also returns the file's [`GeoTiffInfo`].
pub fn read_geotiff_with_info(path: &Path) -> Result<(Raster, GeoTiffInfo), RasterError> {
    let bytes = fs::read(path).map_err(|source| RasterError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, &bytes)
}

/// Decodes a GeoTIFF held in memory (e.g. an HTTP response); `name` labels errors.
pub fn decode_geotiff(name: &Path, bytes: &[u8]) -> Result<Raster, RasterError> {
    decode(name, bytes).map(|(raster, _)| raster)
}

/// Turns a `tiff` crate error into ours, naming the file and what was being read.
fn tiff_error(path: &Path, what: &str, err: TiffError) -> RasterError {
    let path = path.to_path_buf();
    match err {
        TiffError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            RasterError::Truncated {
                path,
                detail: format!("the file ends inside {what}"),
            }
        }
        TiffError::IoError(e) => RasterError::Malformed {
            path,
            detail: format!("{what}: {e}"),
        },
        TiffError::UnsupportedError(e) => RasterError::Unsupported {
            path,
            detail: format!("{what}: {e}"),
        },
        TiffError::LimitsExceeded => RasterError::Unsupported {
            path,
            detail: format!("{what}: a value exceeds the reader's limits"),
        },
        other => RasterError::Malformed {
            path,
            detail: format!("{what}: {other}"),
        },
    }
}

/// Checks the 8-byte header ourselves so that non-TIFF input gets a plain answer.
fn check_header(path: &Path, bytes: &[u8]) -> Result<(), RasterError> {
    if bytes.len() >= 2 && !matches!(&bytes[..2], b"II" | b"MM") {
        return Err(RasterError::NotTiff {
            path: path.to_path_buf(),
            detail: format!(
                "it starts with bytes {:02x} {:02x}, not \"II\" or \"MM\"",
                bytes[0], bytes[1]
            ),
        });
    }
    if bytes.len() < 8 {
        return Err(RasterError::Truncated {
            path: path.to_path_buf(),
            detail: format!("the file has {} bytes, a TIFF header needs 8", bytes.len()),
        });
    }
    Ok(())
}

fn decode(path: &Path, bytes: &[u8]) -> Result<(Raster, GeoTiffInfo), RasterError> {
    check_header(path, bytes)?;
    let malformed = |detail: String| RasterError::Malformed {
        path: path.to_path_buf(),
        detail,
    };
    let unsupported = |detail: String| RasterError::Unsupported {
        path: path.to_path_buf(),
        detail,
    };
    let mut limits = Limits::default();
    limits.decoding_buffer_size = MAX_DECODED_BYTES as usize;
    limits.intermediate_buffer_size = MAX_DECODED_BYTES as usize;
    limits.ifd_value_size = MAX_TAG_BYTES;
    let mut decoder = Decoder::new(Cursor::new(bytes))
        .map_err(|e| tiff_error(path, "the TIFF header or first IFD", e))?
        .with_limits(limits);
    let tag_err = |e| tiff_error(path, "a TIFF tag", e);

    let (width, height) = decoder.dimensions().map_err(tag_err)?;
    let bands: u16 = decoder
        .find_tag_unsigned(Tag::SamplesPerPixel)
        .map_err(tag_err)?
        .unwrap_or(1);
    if width == 0 || height == 0 || bands == 0 {
        return Err(malformed(format!(
            "the image is {width}x{height} pixels with {bands} bands"
        )));
    }
    let bits: Vec<u16> = decoder
        .find_tag_unsigned_vec(Tag::BitsPerSample)
        .map_err(tag_err)?
        .unwrap_or_else(|| vec![1]);
    let formats: Vec<u16> = decoder
        .find_tag_unsigned_vec(Tag::SampleFormat)
        .map_err(tag_err)?
        .unwrap_or_else(|| vec![1]);
    let (bits, format) = (bits[0], formats[0]);
    let sample_bytes: u64 = match (bits, SampleFormat::from_u16_exhaustive(format)) {
        (8, SampleFormat::Uint) => 1,
        (16, SampleFormat::Uint | SampleFormat::Int) => 2,
        (32, SampleFormat::IEEEFP) => 4,
        _ => {
            let kind = match format {
                1 => "unsigned integer",
                2 => "signed integer",
                3 => "floating-point",
                _ => "unknown-format",
            };
            return Err(unsupported(format!(
                "{bits}-bit {kind} samples are not supported (only uint8, uint16, int16 and \
                 float32)"
            )));
        }
    };
    // Checked before the crate allocates anything for the pixels.
    if u64::from(width) > MAX_DIMENSION || u64::from(height) > MAX_DIMENSION {
        return Err(unsupported(format!(
            "the image is {width}x{height} pixels, more than the {MAX_DIMENSION} px per side \
             this reader accepts"
        )));
    }
    let decoded = u64::from(width) * u64::from(height) * u64::from(bands) * sample_bytes;
    if decoded > MAX_DECODED_BYTES {
        return Err(unsupported(format!(
            "{width}x{height} pixels x {bands} bands would decode to {decoded} bytes, more than \
             the {MAX_DECODED_BYTES} this reader accepts"
        )));
    }

    let f64s = |decoder: &mut Decoder<_>, tag: u16| -> Result<Option<Vec<f64>>, RasterError> {
        decoder
            .find_tag(Tag::from_u16_exhaustive(tag))
            .and_then(|v| v.map(|v| v.into_f64_vec()).transpose())
            .map_err(tag_err)
    };
    let ascii = |decoder: &mut Decoder<_>, tag: Tag| -> Result<Option<String>, RasterError> {
        decoder
            .find_tag(tag)
            .and_then(|v| v.map(|v| v.into_string()).transpose())
            .map_err(tag_err)
            .map(|s| s.map(|s| s.trim_end_matches('\0').to_string()))
    };
    let geo = GeoTags {
        keys: decoder
            .find_tag_unsigned_vec(Tag::from_u16_exhaustive(TAG_GEO_KEY_DIRECTORY))
            .map_err(tag_err)?,
        scale: f64s(&mut decoder, TAG_MODEL_PIXEL_SCALE)?,
        tiepoint: f64s(&mut decoder, TAG_MODEL_TIEPOINT)?,
        transformation: f64s(&mut decoder, TAG_MODEL_TRANSFORMATION)?,
    };
    let (transform, crs) = georeferencing(path, &geo)?;
    let band_names = match ascii(&mut decoder, Tag::from_u16_exhaustive(TAG_GDAL_METADATA))? {
        Some(xml) => band_descriptions(&xml, usize::from(bands)),
        None => vec![String::new(); usize::from(bands)],
    };
    let nodata = match ascii(&mut decoder, Tag::from_u16_exhaustive(TAG_GDAL_NODATA))? {
        Some(text) => Some(
            parse_nodata(&text)
                .ok_or_else(|| malformed(format!("GDAL_NODATA {text:?} is not a number")))?,
        ),
        None => None,
    };
    let info = GeoTiffInfo {
        datetime: ascii(&mut decoder, Tag::DateTime)?,
        compression: decoder
            .find_tag_unsigned(Tag::Compression)
            .map_err(tag_err)?
            .unwrap_or(1),
    };
    let planar = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(tag_err)?
        .and_then(PlanarConfiguration::from_u16)
        == Some(PlanarConfiguration::Planar);

    let mut result = match (sample_bytes, format) {
        (1, _) => DecodingResult::U8(Vec::new()),
        (2, 2) => DecodingResult::I16(Vec::new()),
        (2, _) => DecodingResult::U16(Vec::new()),
        _ => DecodingResult::F32(Vec::new()),
    };
    let layout = decoder
        .read_image_to_buffer(&mut result)
        .map_err(|e| tiff_error(path, "the pixel data", e))?;
    let (width, height, bands) = (width as usize, height as usize, usize::from(bands));
    let samples = width * height * bands;
    let data = match result {
        DecodingResult::U8(v) => RasterData::U8(interleave(v, samples, bands, planar)),
        DecodingResult::U16(v) => RasterData::U16(interleave(v, samples, bands, planar)),
        DecodingResult::I16(v) => RasterData::I16(interleave(v, samples, bands, planar)),
        DecodingResult::F32(v) => RasterData::F32(interleave(v, samples, bands, planar)),
        _ => unreachable!("the buffer keeps the type it was given"),
    };
    if data.len() != samples || layout.complete_len as u64 != decoded {
        return Err(malformed(format!(
            "decoded {} samples ({} bytes) but {width}x{height} pixels x {bands} bands need \
             {samples}",
            data.len(),
            layout.complete_len
        )));
    }
    Ok((
        Raster {
            width,
            height,
            bands,
            data,
            band_names,
            transform,
            crs,
            nodata,
        },
        info,
    ))
}

/// Band-interleaved-by-pixel samples from the crate's buffer, which holds the planes one after
/// the other when the file is band-interleaved. A buffer of the wrong length is returned as is
/// for the caller to reject.
fn interleave<T: Copy>(values: Vec<T>, samples: usize, bands: usize, planar: bool) -> Vec<T> {
    if !planar || bands == 1 || values.len() != samples {
        return values;
    }
    let plane = samples / bands;
    let mut out = Vec::with_capacity(samples);
    for pixel in 0..plane {
        out.extend((0..bands).map(|band| values[band * plane + pixel]));
    }
    out
}
