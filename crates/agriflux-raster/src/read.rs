//! GeoTIFF reading through the `tiff` crate.
//!
//! The crate decodes the pixels: little- or big-endian classic TIFF or BigTIFF, strips or
//! tiles, pixel- or band-interleaved (`PlanarConfiguration` 1 or 2), uncompressed, Deflate
//! (codes 8 and 32946), LZW or PackBits, with the horizontal (2) or floating-point (3)
//! predictor. We accept uint8, uint16, int16 and float32 samples, georeferenced by pixel scale
//! and tiepoint or by a non-rotated `ModelTransformationTag`, whose CRS is an EPSG code.
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
    let big_endian = &bytes[..2] == b"MM";
    let word = |b: [u8; 2]| {
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    if word([bytes[2], bytes[3]]) == 42 {
        let offset = [bytes[4], bytes[5], bytes[6], bytes[7]];
        let offset = if big_endian {
            u32::from_be_bytes(offset)
        } else {
            u32::from_le_bytes(offset)
        };
        if offset < 8 {
            return Err(RasterError::Malformed {
                path: path.to_path_buf(),
                detail: format!("the first IFD offset {offset} points inside the header"),
            });
        }
    }
    Ok(())
}

fn decode(path: &Path, bytes: &[u8]) -> Result<(Raster, GeoTiffInfo), RasterError> {
    check_header(path, bytes)?;
    let malformed = |detail: String| RasterError::malformed(path, detail);
    let unsupported = |detail: String| RasterError::unsupported(path, detail);
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
    // tiff 0.11.3 undoes the floating-point predictor wrongly on big-endian files (the values
    // come out as garbage, not as an error): refuse them rather than return wrong reflectance.
    let predictor: u16 = decoder
        .find_tag_unsigned(Tag::Predictor)
        .map_err(tag_err)?
        .unwrap_or(1);
    if predictor == 3 && bytes[..2] == *b"MM" {
        return Err(unsupported(
            "big-endian files with the floating-point predictor (3) are not supported; \
             rewrite it with `gdal_translate -co ENDIANNESS=LITTLE`"
                .into(),
        ));
    }
    let planar = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(tag_err)?
        .and_then(PlanarConfiguration::from_u16)
        == Some(PlanarConfiguration::Planar);

    let (width, height, bands) = (width as usize, height as usize, usize::from(bands));
    let samples = width * height * bands;
    let mut data = match (sample_bytes, format) {
        (1, _) => RasterData::U8(Vec::new()),
        (2, 2) => RasterData::I16(Vec::new()),
        (2, _) => RasterData::U16(Vec::new()),
        _ => RasterData::F32(Vec::new()),
    };
    // The crate's whole-image readers trip an assertion (a panic, not an error) on some tiled
    // and band-interleaved files (tiff 0.11.3, `expand_chunk`), so the image is read chunk by
    // chunk (strip or tile, per plane when band-interleaved) and assembled here; the unwind
    // guard turns any other panic inside the crate into an error about this file.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_chunks(&mut decoder, &mut data, width, height, bands, planar)
    }));
    match read {
        Ok(Ok(ChunkTable {
            offsets,
            byte_counts,
        })) => {
            // Readers differ on a chunk that claims more bytes than the file has (the crate
            // reads only what the pixels need); we refuse such a file as truncated.
            if let Some((offset, count)) = offsets
                .iter()
                .zip(&byte_counts)
                .find(|&(&o, &c)| o.saturating_add(c) > bytes.len() as u64)
            {
                return Err(RasterError::Truncated {
                    path: path.to_path_buf(),
                    detail: format!(
                        "a chunk of {count} bytes at offset {offset} ends past the end of the \
                         file ({} bytes)",
                        bytes.len()
                    ),
                });
            }
        }
        Ok(Err(e)) => return Err(tiff_error(path, "the pixel data", e)),
        Err(_) => {
            return Err(malformed(
                "the TIFF decoder failed on the pixel data (inconsistent chunk layout)".into(),
            ));
        }
    }
    if data.len() != samples {
        return Err(malformed(format!(
            "decoded {} samples but {width}x{height} pixels x {bands} bands need {samples}",
            data.len()
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

/// Where the chunks of an image lie in the file.
struct ChunkTable {
    offsets: Vec<u64>,
    byte_counts: Vec<u64>,
}

/// Reads every chunk of the image into `data` (pixel-interleaved, row-major), whose variant
/// chooses the sample type, and returns the chunk table. A chunk is a strip or a tile; a
/// band-interleaved file has one set of chunks per band.
fn read_chunks<R: io::Read + io::Seek>(
    decoder: &mut Decoder<R>,
    data: &mut RasterData,
    width: usize,
    height: usize,
    bands: usize,
    planar: bool,
) -> Result<ChunkTable, TiffError> {
    let (chunk_w, chunk_h) = decoder.chunk_dimensions();
    let (chunk_w, chunk_h) = (chunk_w as usize, chunk_h as usize);
    if chunk_w == 0 || chunk_h == 0 {
        return Err(TiffError::FormatError(
            tiff::TiffFormatError::InconsistentSizesEncountered,
        ));
    }
    let across = width.div_ceil(chunk_w);
    let per_plane = across * height.div_ceil(chunk_h);
    let planes = if planar { bands } else { 1 };
    // The crate panics on a chunk index past its offset table: check the table first.
    let (offsets_tag, counts_tag) = match decoder.get_chunk_type() {
        tiff::decoder::ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
        tiff::decoder::ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
    };
    let table = ChunkTable {
        offsets: decoder
            .find_tag_unsigned_vec::<u64>(offsets_tag)?
            .unwrap_or_default(),
        byte_counts: decoder
            .find_tag_unsigned_vec::<u64>(counts_tag)?
            .unwrap_or_default(),
    };
    if table.offsets.len().min(table.byte_counts.len()) < planes * per_plane {
        return Err(TiffError::FormatError(
            tiff::TiffFormatError::InconsistentSizesEncountered,
        ));
    }
    let samples = width * height * bands;
    match data {
        RasterData::U8(v) => v.resize(samples, 0),
        RasterData::U16(v) => v.resize(samples, 0),
        RasterData::I16(v) => v.resize(samples, 0),
        RasterData::F32(v) => v.resize(samples, 0.0),
    }
    let chunk_bands = if planar { 1 } else { bands };
    for plane in 0..planes {
        for chunk in 0..per_plane {
            let index = (plane * per_plane + chunk) as u32;
            // What the crate decodes: the chunk without its padding, except for the tiles of
            // the second and later planes, whose padding tiff 0.11.3 computes from the index
            // across all planes (so it decodes them whole, padding included). Either way only
            // the part inside the image is copied.
            let (data_w, data_h) = decoder.chunk_data_dimensions(index);
            let (data_w, data_h) = (data_w as usize, data_h as usize);
            let x0 = (chunk % across) * chunk_w;
            let y0 = (chunk / across) * chunk_h;
            let decoded = decoder.read_chunk(index)?;
            let place = Placement {
                width,
                bands,
                band: plane,
                chunk_bands,
                x0,
                y0,
                data_w,
                copy_w: data_w.min(width - x0),
                copy_h: data_h.min(height - y0),
            };
            let copied = match (&mut *data, decoded) {
                (RasterData::U8(out), DecodingResult::U8(src)) => place.copy(out, &src),
                (RasterData::U16(out), DecodingResult::U16(src)) => place.copy(out, &src),
                (RasterData::I16(out), DecodingResult::I16(src)) => place.copy(out, &src),
                (RasterData::F32(out), DecodingResult::F32(src)) => place.copy(out, &src),
                _ => false,
            };
            if !copied {
                return Err(TiffError::FormatError(
                    tiff::TiffFormatError::InconsistentSizesEncountered,
                ));
            }
        }
    }
    Ok(table)
}

/// Where one decoded chunk goes in the pixel-interleaved output.
struct Placement {
    width: usize,
    bands: usize,
    /// The band of a band-interleaved chunk (0 for pixel-interleaved ones).
    band: usize,
    /// Samples per pixel in the chunk: all bands, or 1 when band-interleaved.
    chunk_bands: usize,
    x0: usize,
    y0: usize,
    /// Pixels per row of the decoded chunk.
    data_w: usize,
    /// Pixels per row and rows that lie inside the image.
    copy_w: usize,
    copy_h: usize,
}

impl Placement {
    /// Copies the chunk's rows into `out`; false if the chunk holds fewer samples than its
    /// declared size.
    fn copy<T: Copy>(&self, out: &mut [T], src: &[T]) -> bool {
        let row = self.data_w * self.chunk_bands;
        if self.copy_h > 0 && src.len() < row * (self.copy_h - 1) + self.copy_w * self.chunk_bands {
            return false;
        }
        for r in 0..self.copy_h {
            let src_row = &src[r * row..r * row + self.copy_w * self.chunk_bands];
            let start = ((self.y0 + r) * self.width + self.x0) * self.bands;
            if self.chunk_bands == self.bands {
                out[start..start + src_row.len()].copy_from_slice(src_row);
            } else {
                for (c, &value) in src_row.iter().enumerate() {
                    out[start + c * self.bands + self.band] = value;
                }
            }
        }
        true
    }
}
