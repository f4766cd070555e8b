//! GeoTIFF writer and reader in pure Rust.
//!
//! The writer produces a little-endian classic TIFF that GDAL reads as a georeferenced,
//! multi-band raster: uncompressed strips of about 64 KiB, pixel-interleaved samples
//! (`PlanarConfiguration` = 1), `ModelPixelScaleTag` + `ModelTiepointTag`, a
//! `GeoKeyDirectoryTag` naming the EPSG code, `GDAL_NODATA` and per-band descriptions in
//! `GDAL_METADATA`. Files are written atomically (temporary file, fsync, rename).
//!
//! The reader accepts what the writer writes and, more generally, little- or big-endian
//! classic TIFF, uncompressed, in strips or tiles, pixel- or band-interleaved, with
//! uint8, uint16 or float32 samples, georeferenced by pixel scale + tiepoint or by a
//! non-rotated `ModelTransformationTag`, whose CRS is an EPSG code. Everything else, and every
//! truncated or inconsistent file, gives a [`RasterError`] naming the file and the problem.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

// Baseline and extension TIFF tags.
const TAG_IMAGE_WIDTH: u16 = 256;
const TAG_IMAGE_LENGTH: u16 = 257;
const TAG_BITS_PER_SAMPLE: u16 = 258;
const TAG_COMPRESSION: u16 = 259;
const TAG_PHOTOMETRIC: u16 = 262;
const TAG_STRIP_OFFSETS: u16 = 273;
const TAG_SAMPLES_PER_PIXEL: u16 = 277;
const TAG_ROWS_PER_STRIP: u16 = 278;
const TAG_STRIP_BYTE_COUNTS: u16 = 279;
const TAG_PLANAR_CONFIGURATION: u16 = 284;
const TAG_PREDICTOR: u16 = 317;
const TAG_TILE_WIDTH: u16 = 322;
const TAG_TILE_LENGTH: u16 = 323;
const TAG_TILE_OFFSETS: u16 = 324;
const TAG_TILE_BYTE_COUNTS: u16 = 325;
const TAG_EXTRA_SAMPLES: u16 = 338;
const TAG_SAMPLE_FORMAT: u16 = 339;
// GeoTIFF tags.
const TAG_MODEL_PIXEL_SCALE: u16 = 33550;
const TAG_MODEL_TIEPOINT: u16 = 33922;
const TAG_MODEL_TRANSFORMATION: u16 = 34264;
const TAG_GEO_KEY_DIRECTORY: u16 = 34735;
const TAG_GEO_ASCII_PARAMS: u16 = 34737;
// GDAL private tags.
const TAG_GDAL_METADATA: u16 = 42112;
const TAG_GDAL_NODATA: u16 = 42113;

// GeoTIFF keys and the values this module uses.
const KEY_GT_MODEL_TYPE: u16 = 1024;
const KEY_GT_RASTER_TYPE: u16 = 1025;
const KEY_GT_CITATION: u16 = 1026;
const KEY_GEOGRAPHIC_TYPE: u16 = 2048;
const KEY_GEOG_CITATION: u16 = 2049;
const KEY_GEOG_ANGULAR_UNITS: u16 = 2054;
const KEY_PROJECTED_CS_TYPE: u16 = 3072;
const KEY_PROJ_LINEAR_UNITS: u16 = 3076;
const MODEL_TYPE_PROJECTED: u16 = 1;
const MODEL_TYPE_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_AREA: u16 = 1;
const RASTER_PIXEL_IS_POINT: u16 = 2;
const UNIT_METRE: u16 = 9001;
const UNIT_DEGREE: u16 = 9102;
const USER_DEFINED: u16 = 32767;

// TIFF field types.
const TYPE_BYTE: u16 = 1;
const TYPE_ASCII: u16 = 2;
const TYPE_SHORT: u16 = 3;
const TYPE_LONG: u16 = 4;
const TYPE_FLOAT: u16 = 11;
const TYPE_DOUBLE: u16 = 12;

/// Target size of one strip written by [`write_geotiff`].
const STRIP_BYTES: usize = 64 * 1024;

/// Errors reading or writing a GeoTIFF; every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// The file could not be opened, read, written or renamed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with a TIFF header.
    #[error("{}: not a TIFF file: {detail}", .path.display())]
    NotTiff {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The file ends before the data its header points to.
    #[error("{}: truncated: {detail}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is missing.
        detail: String,
    },
    /// The file is a valid TIFF using a feature this reader does not implement.
    #[error("{}: unsupported TIFF: {detail}", .path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The feature.
        detail: String,
    },
    /// The file's tags are missing or contradict each other.
    #[error("{}: malformed TIFF: {detail}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The inconsistency.
        detail: String,
    },
    /// The raster given to [`write_geotiff`] is inconsistent or cannot be stored.
    #[error("{}: cannot write raster: {detail}", .path.display())]
    InvalidRaster {
        /// The file that was to be written.
        path: PathBuf,
        /// Why the raster was refused.
        detail: String,
    },
}

/// Affine georeferencing of a north-up raster (no rotation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform {
    /// X (easting or longitude) of the top-left corner of the top-left pixel.
    pub origin_x: f64,
    /// Y (northing or latitude) of the top-left corner of the top-left pixel.
    pub origin_y: f64,
    /// Pixel width in CRS units; positive.
    pub pixel_width: f64,
    /// Pixel height in CRS units; positive (y decreases downwards).
    pub pixel_height: f64,
}

impl GeoTransform {
    /// The transform mapping a `width` × `height` raster onto the box `[xmin, ymin, xmax, ymax]`.
    pub fn from_bbox(bbox: [f64; 4], width: usize, height: usize) -> Self {
        let [xmin, ymin, xmax, ymax] = bbox;
        Self {
            origin_x: xmin,
            origin_y: ymax,
            pixel_width: (xmax - xmin) / width as f64,
            pixel_height: (ymax - ymin) / height as f64,
        }
    }

    /// The box `[xmin, ymin, xmax, ymax]` covered by a `width` × `height` raster.
    pub fn bbox(&self, width: usize, height: usize) -> [f64; 4] {
        [
            self.origin_x,
            self.origin_y - self.pixel_height * height as f64,
            self.origin_x + self.pixel_width * width as f64,
            self.origin_y,
        ]
    }

    /// GDAL's six-coefficient geotransform `[x0, dx, 0, y0, 0, -dy]`.
    pub fn to_gdal(&self) -> [f64; 6] {
        [
            self.origin_x,
            self.pixel_width,
            0.0,
            self.origin_y,
            0.0,
            -self.pixel_height,
        ]
    }
}

/// A coordinate reference system identified by its EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crs {
    /// EPSG code, e.g. 4326 (WGS 84 longitude/latitude) or 32631 (WGS 84 / UTM zone 31N).
    pub epsg: u32,
}

impl Crs {
    /// WGS 84 geographic coordinates (EPSG:4326), in degrees.
    pub const WGS84: Crs = Crs { epsg: 4326 };

    /// WGS 84 / UTM `zone` (1–60) north (EPSG:326zz) or south (EPSG:327zz); `None` for a bad zone.
    pub fn utm(zone: u8, north: bool) -> Option<Crs> {
        (1..=60).contains(&zone).then(|| Crs {
            epsg: if north { 32600 } else { 32700 } + u32::from(zone),
        })
    }

    /// The UTM zone and hemisphere (`true` = north) when this is a WGS 84 / UTM CRS.
    pub fn utm_zone(&self) -> Option<(u8, bool)> {
        match self.epsg {
            32601..=32660 => Some(((self.epsg - 32600) as u8, true)),
            32701..=32760 => Some(((self.epsg - 32700) as u8, false)),
            _ => None,
        }
    }

    /// Whether coordinates are longitude/latitude degrees (EPSG:4326).
    pub fn is_geographic(&self) -> bool {
        self.epsg == 4326
    }

    /// Whether [`write_geotiff`] can write this CRS (EPSG:4326 or WGS 84 / UTM).
    pub fn is_supported(&self) -> bool {
        self.is_geographic() || self.utm_zone().is_some()
    }

    /// The CRS's EPSG name, e.g. `WGS 84 / UTM zone 31N`, for supported CRSs.
    pub fn name(&self) -> Option<String> {
        if self.is_geographic() {
            return Some("WGS 84".to_string());
        }
        let (zone, north) = self.utm_zone()?;
        Some(format!(
            "WGS 84 / UTM zone {zone}{}",
            if north { 'N' } else { 'S' }
        ))
    }
}

/// Pixel values of all bands, band-interleaved by pixel: index = (row·width + col)·bands + band.
#[derive(Debug, Clone, PartialEq)]
pub enum RasterData {
    /// 32-bit float samples (GDAL `Float32`).
    F32(Vec<f32>),
    /// Unsigned 8-bit samples (GDAL `Byte`).
    U8(Vec<u8>),
    /// Unsigned 16-bit samples (GDAL `UInt16`).
    U16(Vec<u16>),
}

impl RasterData {
    /// Number of samples (pixels × bands).
    pub fn len(&self) -> usize {
        match self {
            RasterData::F32(v) => v.len(),
            RasterData::U8(v) => v.len(),
            RasterData::U16(v) => v.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// GDAL's name of the sample type: `Float32`, `Byte` or `UInt16`.
    pub fn type_name(&self) -> &'static str {
        match self {
            RasterData::F32(_) => "Float32",
            RasterData::U8(_) => "Byte",
            RasterData::U16(_) => "UInt16",
        }
    }

    /// Bits per sample.
    fn bits(&self) -> u16 {
        match self {
            RasterData::F32(_) => 32,
            RasterData::U8(_) => 8,
            RasterData::U16(_) => 16,
        }
    }

    /// TIFF `SampleFormat`: 1 = unsigned integer, 3 = IEEE float.
    fn sample_format(&self) -> u16 {
        match self {
            RasterData::F32(_) => 3,
            RasterData::U8(_) | RasterData::U16(_) => 1,
        }
    }

    /// Appends samples `range` as little-endian bytes to `out`.
    fn extend_le_bytes(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        match self {
            RasterData::F32(v) => v[range]
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            RasterData::U8(v) => out.extend_from_slice(&v[range]),
            RasterData::U16(v) => v[range]
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// A georeferenced multi-band raster held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bands (samples per pixel).
    pub bands: usize,
    /// Samples, band-interleaved by pixel: index = (row·width + col)·bands + band.
    pub data: RasterData,
    /// One name per band (e.g. `B02`), written as GDAL band descriptions; may be empty strings.
    pub band_names: Vec<String>,
    /// Position and pixel size.
    pub transform: GeoTransform,
    /// Coordinate reference system.
    pub crs: Crs,
    /// Value marking missing pixels (NaN allowed), written as `GDAL_NODATA`.
    pub nodata: Option<f64>,
}

impl Raster {
    /// The samples of one band as `f32`, row-major; `None` if `band` is out of range.
    pub fn band_f32(&self, band: usize) -> Option<Vec<f32>> {
        if band >= self.bands {
            return None;
        }
        Some(match &self.data {
            RasterData::F32(v) => step_band(v, self.bands, band).copied().collect(),
            RasterData::U8(v) => step_band(v, self.bands, band)
                .map(|&x| f32::from(x))
                .collect(),
            RasterData::U16(v) => step_band(v, self.bands, band)
                .map(|&x| f32::from(x))
                .collect(),
        })
    }
}

/// Iterates over the samples of `band` in band-interleaved-by-pixel data.
fn step_band<T>(data: &[T], bands: usize, band: usize) -> impl Iterator<Item = &T> {
    data.iter().skip(band).step_by(bands)
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// A TIFF field value to write.
enum Value {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Double(Vec<f64>),
    /// ASCII bytes including the terminating NUL.
    Ascii(Vec<u8>),
}

impl Value {
    fn ascii(text: &str) -> Value {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        Value::Ascii(bytes)
    }

    fn type_code(&self) -> u16 {
        match self {
            Value::Short(_) => TYPE_SHORT,
            Value::Long(_) => TYPE_LONG,
            Value::Double(_) => TYPE_DOUBLE,
            Value::Ascii(_) => TYPE_ASCII,
        }
    }

    fn count(&self) -> usize {
        match self {
            Value::Short(v) => v.len(),
            Value::Long(v) => v.len(),
            Value::Double(v) => v.len(),
            Value::Ascii(v) => v.len(),
        }
    }

    fn byte_len(&self) -> usize {
        self.count() * type_size(self.type_code()).unwrap_or(1)
    }

    fn write_le(&self, out: &mut Vec<u8>) {
        match self {
            Value::Short(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Long(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Double(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Ascii(v) => out.extend_from_slice(v),
        }
    }
}

/// Writes `raster` to `path` as a GeoTIFF, atomically (temporary file, fsync, rename).
pub fn write_geotiff(path: &Path, raster: &Raster) -> Result<(), RasterError> {
    let invalid = |detail: String| RasterError::InvalidRaster {
        path: path.to_path_buf(),
        detail,
    };
    validate_for_writing(raster).map_err(invalid)?;

    let bytes_per_sample = usize::from(raster.data.bits() / 8);
    let row_bytes = raster.width * raster.bands * bytes_per_sample;
    let rows_per_strip = (STRIP_BYTES / row_bytes).clamp(1, raster.height);
    let strips = raster.height.div_ceil(rows_per_strip);
    let image_bytes = row_bytes * raster.height;
    let mut entries = tiff_entries(raster, rows_per_strip, strips, row_bytes).map_err(invalid)?;

    // Layout: header, IFD, out-of-line values, then the strips.
    let ifd_len = 2 + 12 * entries.len() + 4;
    let mut cursor = 8 + ifd_len;
    let mut value_offsets = Vec::with_capacity(entries.len());
    for (_, value) in &entries {
        if value.byte_len() > 4 {
            cursor = cursor.next_multiple_of(8);
            value_offsets.push(Some(cursor));
            cursor += value.byte_len();
        } else {
            value_offsets.push(None);
        }
    }
    let data_start = cursor.next_multiple_of(16);
    let file_len = data_start + image_bytes;
    if u32::try_from(file_len).is_err() {
        return Err(invalid(format!(
            "the file would need {file_len} bytes, more than classic TIFF's 4 GiB limit \
             (BigTIFF is not supported)"
        )));
    }
    let strip_offsets: Vec<u32> = (0..strips)
        .map(|s| (data_start + s * rows_per_strip * row_bytes) as u32)
        .collect();
    for (tag, value) in &mut entries {
        if *tag == TAG_STRIP_OFFSETS {
            *value = Value::Long(strip_offsets.clone());
        }
    }

    let mut head = Vec::with_capacity(data_start);
    head.extend_from_slice(b"II*\0");
    head.extend_from_slice(&8u32.to_le_bytes());
    head.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for ((tag, value), offset) in entries.iter().zip(&value_offsets) {
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(&value.type_code().to_le_bytes());
        head.extend_from_slice(&(value.count() as u32).to_le_bytes());
        match offset {
            Some(offset) => head.extend_from_slice(&(*offset as u32).to_le_bytes()),
            None => {
                let start = head.len();
                value.write_le(&mut head);
                head.resize(start + 4, 0);
            }
        }
    }
    head.extend_from_slice(&0u32.to_le_bytes()); // no further IFD
    for ((_, value), offset) in entries.iter().zip(&value_offsets) {
        if let Some(offset) = offset {
            head.resize(*offset, 0);
            value.write_le(&mut head);
        }
    }
    head.resize(data_start, 0);

    let samples_per_row = raster.width * raster.bands;
    super::write_atomically(path, |out| {
        out.write_all(&head)?;
        let mut buf = Vec::with_capacity(rows_per_strip * row_bytes);
        for strip in 0..strips {
            let first_row = strip * rows_per_strip;
            let last_row = (first_row + rows_per_strip).min(raster.height);
            buf.clear();
            raster.data.extend_le_bytes(
                first_row * samples_per_row..last_row * samples_per_row,
                &mut buf,
            );
            out.write_all(&buf)?;
        }
        Ok(())
    })
    .map_err(|source| RasterError::Io {
        path: path.to_path_buf(),
        source,
    })
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

/// The IFD entries for `raster`, sorted by tag; StripOffsets is a placeholder to fill in.
fn tiff_entries(
    raster: &Raster,
    rows_per_strip: usize,
    strips: usize,
    row_bytes: usize,
) -> Result<Vec<(u16, Value)>, String> {
    let bands = raster.bands;
    let strip_byte_counts: Vec<u32> = (0..strips)
        .map(|s| {
            let rows = rows_per_strip.min(raster.height - s * rows_per_strip);
            (rows * row_bytes) as u32
        })
        .collect();
    let t = &raster.transform;
    let mut entries = vec![
        (TAG_IMAGE_WIDTH, Value::Long(vec![raster.width as u32])),
        (TAG_IMAGE_LENGTH, Value::Long(vec![raster.height as u32])),
        (
            TAG_BITS_PER_SAMPLE,
            Value::Short(vec![raster.data.bits(); bands]),
        ),
        (TAG_COMPRESSION, Value::Short(vec![1])),
        (TAG_PHOTOMETRIC, Value::Short(vec![1])), // MinIsBlack
        (TAG_STRIP_OFFSETS, Value::Long(vec![0; strips])),
        (TAG_SAMPLES_PER_PIXEL, Value::Short(vec![bands as u16])),
        (TAG_ROWS_PER_STRIP, Value::Long(vec![rows_per_strip as u32])),
        (TAG_STRIP_BYTE_COUNTS, Value::Long(strip_byte_counts)),
        (TAG_PLANAR_CONFIGURATION, Value::Short(vec![1])), // chunky
    ];
    if bands > 1 {
        // Unspecified extra samples: plain data bands beyond the grey one.
        entries.push((TAG_EXTRA_SAMPLES, Value::Short(vec![0; bands - 1])));
    }
    entries.push((
        TAG_SAMPLE_FORMAT,
        Value::Short(vec![raster.data.sample_format(); bands]),
    ));
    entries.push((
        TAG_MODEL_PIXEL_SCALE,
        Value::Double(vec![t.pixel_width, t.pixel_height, 0.0]),
    ));
    entries.push((
        TAG_MODEL_TIEPOINT,
        Value::Double(vec![0.0, 0.0, 0.0, t.origin_x, t.origin_y, 0.0]),
    ));
    let (keys, citation) = geo_keys(raster.crs)?;
    entries.push((TAG_GEO_KEY_DIRECTORY, Value::Short(keys)));
    entries.push((TAG_GEO_ASCII_PARAMS, Value::ascii(&citation)));
    if let Some(xml) = gdal_metadata_xml(&raster.band_names) {
        entries.push((TAG_GDAL_METADATA, Value::ascii(&xml)));
    }
    if let Some(nodata) = raster.nodata {
        entries.push((TAG_GDAL_NODATA, Value::ascii(&format_nodata(nodata))));
    }
    Ok(entries)
}

/// The GeoKeyDirectory for `crs` and the GeoAsciiParams text its citation key points into.
fn geo_keys(crs: Crs) -> Result<(Vec<u16>, String), String> {
    let name = crs
        .name()
        .ok_or_else(|| format!("EPSG:{} is not supported", crs.epsg))?;
    let citation = format!("{name}|");
    let citation_ref = [TAG_GEO_ASCII_PARAMS, citation.len() as u16, 0];
    let epsg = crs.epsg as u16;
    // (key, location tag or 0, count, value or offset), sorted by key.
    let keys: Vec<[u16; 4]> = if crs.is_geographic() {
        vec![
            [KEY_GT_MODEL_TYPE, 0, 1, MODEL_TYPE_GEOGRAPHIC],
            [KEY_GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA],
            [KEY_GEOGRAPHIC_TYPE, 0, 1, epsg],
            [
                KEY_GEOG_CITATION,
                citation_ref[0],
                citation_ref[1],
                citation_ref[2],
            ],
            [KEY_GEOG_ANGULAR_UNITS, 0, 1, UNIT_DEGREE],
        ]
    } else {
        vec![
            [KEY_GT_MODEL_TYPE, 0, 1, MODEL_TYPE_PROJECTED],
            [KEY_GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA],
            [
                KEY_GT_CITATION,
                citation_ref[0],
                citation_ref[1],
                citation_ref[2],
            ],
            [KEY_PROJECTED_CS_TYPE, 0, 1, epsg],
            [KEY_PROJ_LINEAR_UNITS, 0, 1, UNIT_METRE],
        ]
    };
    let mut dir = vec![1, 1, 0, keys.len() as u16]; // version 1.1.0
    dir.extend(keys.into_iter().flatten());
    Ok((dir, citation))
}

/// GDAL_METADATA XML giving each named band its description; `None` when no band is named.
fn gdal_metadata_xml(band_names: &[String]) -> Option<String> {
    if band_names.iter().all(String::is_empty) {
        return None;
    }
    let mut xml = String::from("<GDALMetadata>\n");
    for (band, name) in band_names.iter().enumerate() {
        if !name.is_empty() {
            let _ = writeln!(
                xml,
                "  <Item name=\"DESCRIPTION\" sample=\"{band}\" role=\"description\">{}</Item>",
                xml_escape(name)
            );
        }
    }
    xml.push_str("</GDALMetadata>");
    Some(xml)
}

/// The GDAL_NODATA text for `value`: `nan`, `inf`, `-inf` or the shortest exact decimal.
fn format_nodata(value: f64) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{value}")
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// Reads a GeoTIFF (see the module documentation for what is supported).
pub fn read_geotiff(path: &Path) -> Result<Raster, RasterError> {
    let bytes = fs::read(path).map_err(|source| RasterError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_geotiff(path, &bytes)
}

/// Decodes a GeoTIFF held in memory (e.g. an HTTP response); `name` labels errors.
pub fn decode_geotiff(name: &Path, bytes: &[u8]) -> Result<Raster, RasterError> {
    parse_geotiff(name, bytes)
}

/// Size in bytes of one value of TIFF field type `typ`, for the types this reader knows.
fn type_size(typ: u16) -> Option<usize> {
    match typ {
        1 | 2 | 6 | 7 => Some(1), // BYTE, ASCII, SBYTE, UNDEFINED
        3 | 8 => Some(2),         // SHORT, SSHORT
        4 | 9 | 11 => Some(4),    // LONG, SLONG, FLOAT
        5 | 10 | 12 => Some(8),   // RATIONAL, SRATIONAL, DOUBLE
        _ => None,
    }
}

/// Human name of a tag for error messages.
fn tag_name(tag: u16) -> String {
    let name = match tag {
        TAG_IMAGE_WIDTH => "ImageWidth",
        TAG_IMAGE_LENGTH => "ImageLength",
        TAG_BITS_PER_SAMPLE => "BitsPerSample",
        TAG_COMPRESSION => "Compression",
        TAG_PHOTOMETRIC => "PhotometricInterpretation",
        TAG_STRIP_OFFSETS => "StripOffsets",
        TAG_SAMPLES_PER_PIXEL => "SamplesPerPixel",
        TAG_ROWS_PER_STRIP => "RowsPerStrip",
        TAG_STRIP_BYTE_COUNTS => "StripByteCounts",
        TAG_PLANAR_CONFIGURATION => "PlanarConfiguration",
        TAG_PREDICTOR => "Predictor",
        TAG_TILE_WIDTH => "TileWidth",
        TAG_TILE_LENGTH => "TileLength",
        TAG_TILE_OFFSETS => "TileOffsets",
        TAG_TILE_BYTE_COUNTS => "TileByteCounts",
        TAG_SAMPLE_FORMAT => "SampleFormat",
        TAG_MODEL_PIXEL_SCALE => "ModelPixelScaleTag",
        TAG_MODEL_TIEPOINT => "ModelTiepointTag",
        TAG_MODEL_TRANSFORMATION => "ModelTransformationTag",
        TAG_GEO_KEY_DIRECTORY => "GeoKeyDirectoryTag",
        TAG_GDAL_METADATA => "GDAL_METADATA",
        TAG_GDAL_NODATA => "GDAL_NODATA",
        _ => return format!("tag {tag}"),
    };
    format!("{name} ({tag})")
}

/// One IFD entry as found in the file.
#[derive(Clone, Copy)]
struct Entry {
    typ: u16,
    count: u64,
    /// Position in the file of the entry's 4-byte value/offset field.
    field_pos: usize,
}

/// A TIFF file in memory with its byte order and first IFD.
struct Tiff<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    big_endian: bool,
    entries: Vec<(u16, Entry)>,
}

impl<'a> Tiff<'a> {
    fn truncated(&self, detail: String) -> RasterError {
        RasterError::Truncated {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn malformed(&self, detail: String) -> RasterError {
        RasterError::Malformed {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn unsupported(&self, detail: String) -> RasterError {
        RasterError::Unsupported {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    /// `N` bytes at `pos`, or a truncation error naming `what`.
    fn array<const N: usize>(&self, pos: usize, what: &str) -> Result<[u8; N], RasterError> {
        pos.checked_add(N)
            .and_then(|end| self.bytes.get(pos..end))
            .map(|s| s.try_into().expect("slice has N bytes"))
            .ok_or_else(|| {
                self.truncated(format!(
                    "{what} at byte {pos} needs {N} bytes but the file has {} bytes",
                    self.bytes.len()
                ))
            })
    }

    fn u16_at(&self, pos: usize, what: &str) -> Result<u16, RasterError> {
        let b = self.array::<2>(pos, what)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, pos: usize, what: &str) -> Result<u32, RasterError> {
        let b = self.array::<4>(pos, what)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Parses the header and the first IFD.
    fn open(path: &'a Path, bytes: &'a [u8]) -> Result<Self, RasterError> {
        let mut tiff = Tiff {
            path,
            bytes,
            big_endian: false,
            entries: Vec::new(),
        };
        if bytes.len() < 8 {
            let looks_like_tiff = bytes.starts_with(&b"II*\0"[..bytes.len().min(4)])
                || bytes.starts_with(&b"MM\0*"[..bytes.len().min(4)]);
            if !looks_like_tiff {
                return Err(RasterError::NotTiff {
                    path: path.to_path_buf(),
                    detail: format!(
                        "the file has only {} bytes and does not start with \"II*\" or \"MM\"",
                        bytes.len()
                    ),
                });
            }
            return Err(tiff.truncated(format!(
                "the file has {} bytes, a TIFF header needs 8",
                bytes.len()
            )));
        }
        tiff.big_endian = match &bytes[..2] {
            b"II" => false,
            b"MM" => true,
            other => {
                return Err(RasterError::NotTiff {
                    path: path.to_path_buf(),
                    detail: format!(
                        "it starts with bytes {:02X} {:02X}, not \"II\" or \"MM\"",
                        other[0], other[1]
                    ),
                });
            }
        };
        match tiff.u16_at(2, "version")? {
            42 => {}
            43 => return Err(tiff.unsupported("BigTIFF is not supported".to_string())),
            v => {
                return Err(RasterError::NotTiff {
                    path: path.to_path_buf(),
                    detail: format!("version number {v}, expected 42"),
                });
            }
        }
        let ifd = tiff.u32_at(4, "first IFD offset")? as usize;
        if ifd < 8 {
            return Err(tiff.malformed(format!("the first IFD offset is {ifd}")));
        }
        let count = usize::from(tiff.u16_at(ifd, "IFD entry count")?);
        if count == 0 {
            return Err(tiff.malformed(format!("the IFD at byte {ifd} has no entries")));
        }
        let end = ifd + 2 + 12 * count;
        if end > bytes.len() {
            return Err(tiff.truncated(format!(
                "the IFD at byte {ifd} with {count} entries ends at byte {end} but the file \
                 has {} bytes",
                bytes.len()
            )));
        }
        for i in 0..count {
            let pos = ifd + 2 + 12 * i;
            let tag = tiff.u16_at(pos, "IFD entry")?;
            let entry = Entry {
                typ: tiff.u16_at(pos + 2, "IFD entry")?,
                count: u64::from(tiff.u32_at(pos + 4, "IFD entry")?),
                field_pos: pos + 8,
            };
            tiff.entries.push((tag, entry));
        }
        Ok(tiff)
    }

    fn entry(&self, tag: u16) -> Option<Entry> {
        self.entries
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|&(_, entry)| entry)
    }

    /// The raw bytes of `tag`'s values (inline or out of line) and their element size.
    fn raw(&self, tag: u16, entry: Entry) -> Result<(&'a [u8], usize), RasterError> {
        let size = type_size(entry.typ).ok_or_else(|| {
            self.malformed(format!(
                "{} has unknown field type {}",
                tag_name(tag),
                entry.typ
            ))
        })?;
        let len = entry.count * size as u64;
        let start = if len <= 4 {
            entry.field_pos as u64
        } else {
            u64::from(self.u32_at(entry.field_pos, "IFD entry")?)
        };
        let end = start + len;
        if end > self.bytes.len() as u64 {
            return Err(self.truncated(format!(
                "the values of {} end at byte {end} but the file has {} bytes",
                tag_name(tag),
                self.bytes.len()
            )));
        }
        Ok((&self.bytes[start as usize..end as usize], size))
    }

    /// Unsigned integer values (BYTE, SHORT or LONG) of `tag`, if present.
    fn uints(&self, tag: u16) -> Result<Option<Vec<u64>>, RasterError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(entry.typ, TYPE_BYTE | TYPE_SHORT | TYPE_LONG) {
            return Err(self.malformed(format!(
                "{} has field type {}, expected an unsigned integer type",
                tag_name(tag),
                entry.typ
            )));
        }
        let (raw, size) = self.raw(tag, entry)?;
        let values = raw
            .chunks_exact(size)
            .map(|c| match c.len() {
                1 => u64::from(c[0]),
                2 => {
                    let b = [c[0], c[1]];
                    u64::from(if self.big_endian {
                        u16::from_be_bytes(b)
                    } else {
                        u16::from_le_bytes(b)
                    })
                }
                _ => {
                    let b = [c[0], c[1], c[2], c[3]];
                    u64::from(if self.big_endian {
                        u32::from_be_bytes(b)
                    } else {
                        u32::from_le_bytes(b)
                    })
                }
            })
            .collect();
        Ok(Some(values))
    }

    /// The single unsigned value of `tag` (the first if several), or `default` if absent.
    fn uint_or(&self, tag: u16, default: Option<u64>) -> Result<u64, RasterError> {
        match self.uints(tag)? {
            Some(values) => values
                .first()
                .copied()
                .ok_or_else(|| self.malformed(format!("{} has no value", tag_name(tag)))),
            None => default
                .ok_or_else(|| self.malformed(format!("required {} is missing", tag_name(tag)))),
        }
    }

    /// A per-sample tag that must hold the same value for every sample (or be absent).
    fn uniform(&self, tag: u16, default: u64, samples: usize) -> Result<u64, RasterError> {
        let Some(values) = self.uints(tag)? else {
            return Ok(default);
        };
        let Some(&first) = values.first() else {
            return Err(self.malformed(format!("{} has no value", tag_name(tag))));
        };
        if let Some(other) = values.iter().take(samples).find(|&&v| v != first) {
            return Err(self.unsupported(format!(
                "{} differs between bands ({first} and {other})",
                tag_name(tag)
            )));
        }
        Ok(first)
    }

    /// DOUBLE (or FLOAT) values of `tag`, if present.
    fn doubles(&self, tag: u16) -> Result<Option<Vec<f64>>, RasterError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        let (raw, size) = match entry.typ {
            TYPE_DOUBLE | TYPE_FLOAT => self.raw(tag, entry)?,
            other => {
                return Err(self.malformed(format!(
                    "{} has field type {other}, expected DOUBLE",
                    tag_name(tag)
                )));
            }
        };
        let values = raw
            .chunks_exact(size)
            .map(|c| match c.len() {
                4 => {
                    let b = [c[0], c[1], c[2], c[3]];
                    f64::from(if self.big_endian {
                        f32::from_be_bytes(b)
                    } else {
                        f32::from_le_bytes(b)
                    })
                }
                _ => {
                    let b: [u8; 8] = c.try_into().expect("8-byte chunk");
                    if self.big_endian {
                        f64::from_be_bytes(b)
                    } else {
                        f64::from_le_bytes(b)
                    }
                }
            })
            .collect();
        Ok(Some(values))
    }

    /// ASCII value of `tag` up to its first NUL, if present.
    fn ascii(&self, tag: u16) -> Result<Option<String>, RasterError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.typ != TYPE_ASCII {
            return Err(self.malformed(format!(
                "{} has field type {}, expected ASCII",
                tag_name(tag),
                entry.typ
            )));
        }
        let (raw, _) = self.raw(tag, entry)?;
        let text = raw.split(|&b| b == 0).next().unwrap_or_default();
        Ok(Some(String::from_utf8_lossy(text).into_owned()))
    }
}

/// How the pixel data is cut into chunks.
#[derive(Clone, Copy)]
enum Chunking {
    Strips {
        rows_per_strip: usize,
    },
    Tiles {
        tile_width: usize,
        tile_height: usize,
    },
}

/// A sample type this reader decodes.
trait Sample: Copy + Default {
    const SIZE: usize;
    fn decode(bytes: &[u8], big_endian: bool) -> Self;
}

impl Sample for u8 {
    const SIZE: usize = 1;
    fn decode(bytes: &[u8], _: bool) -> Self {
        bytes[0]
    }
}

impl Sample for u16 {
    const SIZE: usize = 2;
    fn decode(bytes: &[u8], big_endian: bool) -> Self {
        let b = [bytes[0], bytes[1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }
}

impl Sample for f32 {
    const SIZE: usize = 4;
    fn decode(bytes: &[u8], big_endian: bool) -> Self {
        let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if big_endian {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        }
    }
}

/// Pixel layout of the image, validated against the file.
struct Layout {
    width: usize,
    height: usize,
    bands: usize,
    planar: bool,
    chunking: Chunking,
    /// (offset, byte count) of every strip or tile, all inside the file.
    chunks: Vec<(usize, usize)>,
}

impl Layout {
    /// Chunks per band plane (all chunks when pixel-interleaved).
    fn chunks_per_plane(&self) -> usize {
        match self.chunking {
            Chunking::Strips { rows_per_strip } => self.height.div_ceil(rows_per_strip),
            Chunking::Tiles {
                tile_width,
                tile_height,
            } => self.width.div_ceil(tile_width) * self.height.div_ceil(tile_height),
        }
    }

    /// For chunk `index`: (band plane, first row, first col, rows, cols, stored row length).
    fn geometry(&self, index: usize) -> (usize, usize, usize, usize, usize, usize) {
        let per_plane = self.chunks_per_plane();
        let (plane, k) = (index / per_plane, index % per_plane);
        match self.chunking {
            Chunking::Strips { rows_per_strip } => {
                let row0 = k * rows_per_strip;
                let rows = rows_per_strip.min(self.height - row0);
                (plane, row0, 0, rows, self.width, self.width)
            }
            Chunking::Tiles {
                tile_width,
                tile_height,
            } => {
                let across = self.width.div_ceil(tile_width);
                let (row0, col0) = ((k / across) * tile_height, (k % across) * tile_width);
                let rows = tile_height.min(self.height - row0);
                let cols = tile_width.min(self.width - col0);
                (plane, row0, col0, rows, cols, tile_width)
            }
        }
    }

    /// Copies every chunk's samples into a band-interleaved-by-pixel vector.
    fn decode<T: Sample>(&self, bytes: &[u8], big_endian: bool) -> Vec<T> {
        let mut out = vec![T::default(); self.width * self.height * self.bands];
        let samples_per_pixel_in_chunk = if self.planar { 1 } else { self.bands };
        for (index, &(offset, _)) in self.chunks.iter().enumerate() {
            let (plane, row0, col0, rows, cols, stored_cols) = self.geometry(index);
            for r in 0..rows {
                let src_row = offset + r * stored_cols * samples_per_pixel_in_chunk * T::SIZE;
                let src = &bytes[src_row..src_row + cols * samples_per_pixel_in_chunk * T::SIZE];
                let dst_start = ((row0 + r) * self.width + col0) * self.bands;
                if self.planar {
                    let dst = out[dst_start..].iter_mut().skip(plane).step_by(self.bands);
                    for (d, s) in dst.zip(src.chunks_exact(T::SIZE)) {
                        *d = T::decode(s, big_endian);
                    }
                } else {
                    let dst = &mut out[dst_start..dst_start + cols * self.bands];
                    for (d, s) in dst.iter_mut().zip(src.chunks_exact(T::SIZE)) {
                        *d = T::decode(s, big_endian);
                    }
                }
            }
        }
        out
    }
}

/// Parses a GeoTIFF held in memory; `path` is used in error messages.
fn parse_geotiff(path: &Path, bytes: &[u8]) -> Result<Raster, RasterError> {
    let tiff = Tiff::open(path, bytes)?;

    let width = tiff.uint_or(TAG_IMAGE_WIDTH, None)? as usize;
    let height = tiff.uint_or(TAG_IMAGE_LENGTH, None)? as usize;
    if width == 0 || height == 0 {
        return Err(tiff.malformed(format!("the image is {width}x{height} pixels")));
    }
    let bands = tiff.uint_or(TAG_SAMPLES_PER_PIXEL, Some(1))? as usize;
    if bands == 0 || bands > usize::from(u16::MAX) {
        return Err(tiff.malformed(format!("SamplesPerPixel is {bands}")));
    }
    let compression = tiff.uint_or(TAG_COMPRESSION, Some(1))?;
    if compression != 1 {
        let name = match compression {
            5 => " (LZW)",
            7 => " (JPEG)",
            8 | 32946 => " (Deflate)",
            32773 => " (PackBits)",
            34887 => " (LERC)",
            50000 => " (ZSTD)",
            50001 => " (WebP)",
            _ => "",
        };
        return Err(tiff.unsupported(format!(
            "compression {compression}{name} is not supported, only uncompressed (1)"
        )));
    }
    let predictor = tiff.uint_or(TAG_PREDICTOR, Some(1))?;
    if predictor != 1 {
        return Err(tiff.unsupported(format!("predictor {predictor} is not supported")));
    }
    let photometric = tiff.uint_or(TAG_PHOTOMETRIC, Some(1))?;
    if photometric > 3 {
        return Err(tiff.unsupported(format!(
            "photometric interpretation {photometric} is not supported (only 0 to 3)"
        )));
    }
    let planar = match tiff.uint_or(TAG_PLANAR_CONFIGURATION, Some(1))? {
        1 => false,
        2 => true,
        other => return Err(tiff.malformed(format!("PlanarConfiguration is {other}"))),
    };
    let bits = tiff.uniform(TAG_BITS_PER_SAMPLE, 1, bands)?;
    let format = tiff.uniform(TAG_SAMPLE_FORMAT, 1, bands)?;
    let sample_size = match (bits, format) {
        (8, 1) => 1,
        (16, 1) => 2,
        (32, 3) => 4,
        _ => {
            let kind = match format {
                1 => "unsigned integer",
                2 => "signed integer",
                3 => "floating-point",
                _ => "unknown-format",
            };
            return Err(tiff.unsupported(format!(
                "{bits}-bit {kind} samples are not supported (only uint8, uint16 and float32)"
            )));
        }
    };

    let layout = chunk_layout(&tiff, width, height, bands, planar, sample_size)?;

    let (transform, crs) = georeferencing(&tiff)?;
    let band_names = match tiff.ascii(TAG_GDAL_METADATA)? {
        Some(xml) => band_descriptions(&xml, bands),
        None => vec![String::new(); bands],
    };
    let nodata = match tiff.ascii(TAG_GDAL_NODATA)? {
        Some(text) => Some(
            parse_nodata(&text)
                .ok_or_else(|| tiff.malformed(format!("GDAL_NODATA {text:?} is not a number")))?,
        ),
        None => None,
    };

    let data = match sample_size {
        1 => RasterData::U8(layout.decode(bytes, tiff.big_endian)),
        2 => RasterData::U16(layout.decode(bytes, tiff.big_endian)),
        _ => RasterData::F32(layout.decode(bytes, tiff.big_endian)),
    };
    Ok(Raster {
        width,
        height,
        bands,
        data,
        band_names,
        transform,
        crs,
        nodata,
    })
}

/// Finds the strips or tiles and checks that each lies inside the file.
fn chunk_layout(
    tiff: &Tiff,
    width: usize,
    height: usize,
    bands: usize,
    planar: bool,
    sample_size: usize,
) -> Result<Layout, RasterError> {
    let file_len = tiff.bytes.len();
    // Uncompressed chunks do not overlap, so the whole image must fit in the file. Checking
    // this first also bounds the memory a corrupt header can make the reader allocate.
    let image_bytes = (width as u64)
        .checked_mul(height as u64)
        .and_then(|n| n.checked_mul(bands as u64))
        .and_then(|n| n.checked_mul(sample_size as u64));
    let (chunking, kind, offsets_tag, counts_tag) = if tiff.entry(TAG_TILE_OFFSETS).is_some() {
        let tile_width = tiff.uint_or(TAG_TILE_WIDTH, None)? as usize;
        let tile_height = tiff.uint_or(TAG_TILE_LENGTH, None)? as usize;
        if tile_width == 0 || tile_height == 0 {
            return Err(tiff.malformed(format!("tiles are {tile_width}x{tile_height} pixels")));
        }
        let chunking = Chunking::Tiles {
            tile_width,
            tile_height,
        };
        (chunking, "tile", TAG_TILE_OFFSETS, TAG_TILE_BYTE_COUNTS)
    } else {
        let rows = tiff.uint_or(TAG_ROWS_PER_STRIP, Some(u64::from(u32::MAX)))?;
        if rows == 0 {
            return Err(tiff.malformed("RowsPerStrip is 0".to_string()));
        }
        let rows_per_strip = (rows as usize).min(height);
        let chunking = Chunking::Strips { rows_per_strip };
        (chunking, "strip", TAG_STRIP_OFFSETS, TAG_STRIP_BYTE_COUNTS)
    };
    let offsets = tiff
        .uints(offsets_tag)?
        .ok_or_else(|| tiff.malformed(format!("required {} is missing", tag_name(offsets_tag))))?;
    let counts = tiff
        .uints(counts_tag)?
        .ok_or_else(|| tiff.malformed(format!("required {} is missing", tag_name(counts_tag))))?;

    let mut layout = Layout {
        width,
        height,
        bands,
        planar,
        chunking,
        chunks: Vec::new(),
    };
    let planes = if planar { bands } else { 1 };
    let needed_chunks = layout.chunks_per_plane().checked_mul(planes);
    let Some(expected) = needed_chunks.filter(|&n| n <= offsets.len() && n <= counts.len()) else {
        let needed = needed_chunks.map_or("too many".to_string(), |n| n.to_string());
        return Err(tiff.malformed(format!(
            "{width}x{height} pixels need {needed} {kind}s but {} has {} and {} has {}",
            tag_name(offsets_tag),
            offsets.len(),
            tag_name(counts_tag),
            counts.len()
        )));
    };
    let samples_per_chunk_pixel = if planar { 1 } else { bands } as u64;
    for index in 0..expected {
        let (offset, count) = (offsets[index], counts[index]);
        let (_, _, _, rows, cols, stored_cols) = layout.geometry(index);
        // Bytes from the chunk's start to the end of its last used sample.
        let needed = ((rows - 1) as u64)
            .checked_mul(stored_cols as u64)
            .and_then(|n| n.checked_add(cols as u64))
            .and_then(|n| n.checked_mul(samples_per_chunk_pixel * sample_size as u64))
            .unwrap_or(u64::MAX);
        if count < needed {
            return Err(tiff.malformed(format!(
                "{kind} {index} has {count} bytes but its {cols}x{rows} pixels need {needed}"
            )));
        }
        let end = offset + count;
        if end > file_len as u64 {
            return Err(tiff.truncated(format!(
                "{kind} {index} ends at byte {end} but the file has {file_len} bytes"
            )));
        }
        layout.chunks.push((offset as usize, count as usize));
    }
    match image_bytes {
        Some(n) if n <= file_len as u64 => Ok(layout),
        _ => Err(tiff.malformed(format!(
            "{width}x{height} pixels x {bands} bands of {sample_size}-byte samples do not fit \
             in a {file_len}-byte file (overlapping {kind}s)"
        ))),
    }
}

/// The geotransform and EPSG code from the GeoTIFF tags.
fn georeferencing(tiff: &Tiff) -> Result<(GeoTransform, Crs), RasterError> {
    let keys = tiff.uints(TAG_GEO_KEY_DIRECTORY)?.ok_or_else(|| {
        tiff.unsupported("not a GeoTIFF: GeoKeyDirectoryTag (34735) is missing".to_string())
    })?;
    if keys.len() < 4 {
        return Err(tiff.malformed(format!("GeoKeyDirectoryTag has only {} values", keys.len())));
    }
    let declared = keys[3] as usize;
    if keys.len() < 4 + 4 * declared {
        return Err(tiff.malformed(format!(
            "GeoKeyDirectoryTag declares {declared} keys but holds {} values",
            keys.len()
        )));
    }
    // Short values stored directly in the directory (location 0).
    let key = |id: u64| {
        keys[4..4 + 4 * declared]
            .chunks_exact(4)
            .find(|k| k[0] == id && k[1] == 0)
            .map(|k| k[3])
    };
    let epsg_code = |v: Option<u64>| v.filter(|&c| c > 0 && c != u64::from(USER_DEFINED));
    let model_type = key(u64::from(KEY_GT_MODEL_TYPE));
    let projected = epsg_code(key(u64::from(KEY_PROJECTED_CS_TYPE)));
    let geographic = epsg_code(key(u64::from(KEY_GEOGRAPHIC_TYPE)));
    let epsg = match model_type.map(|m| m as u16) {
        Some(MODEL_TYPE_GEOGRAPHIC) => geographic,
        Some(MODEL_TYPE_PROJECTED) => projected,
        _ => projected.or(geographic),
    }
    .ok_or_else(|| {
        tiff.unsupported(format!(
            "the CRS has no EPSG code (GTModelTypeGeoKey {model_type:?}, ProjectedCSTypeGeoKey \
             {projected:?}, GeographicTypeGeoKey {geographic:?})"
        ))
    })?;
    let pixel_is_point =
        key(u64::from(KEY_GT_RASTER_TYPE)) == Some(u64::from(RASTER_PIXEL_IS_POINT));

    let mut transform = if let Some(m) = tiff.doubles(TAG_MODEL_TRANSFORMATION)? {
        if m.len() < 16 {
            return Err(tiff.malformed(format!(
                "ModelTransformationTag has {} values, expected 16",
                m.len()
            )));
        }
        if m[1] != 0.0 || m[4] != 0.0 {
            return Err(tiff.unsupported("rotated or sheared rasters are not supported".into()));
        }
        GeoTransform {
            origin_x: m[3],
            origin_y: m[7],
            pixel_width: m[0],
            pixel_height: -m[5],
        }
    } else {
        let scale = tiff.doubles(TAG_MODEL_PIXEL_SCALE)?.ok_or_else(|| {
            tiff.unsupported(
                "not georeferenced: neither ModelTransformationTag nor ModelPixelScaleTag"
                    .to_string(),
            )
        })?;
        let tie = tiff.doubles(TAG_MODEL_TIEPOINT)?.ok_or_else(|| {
            tiff.unsupported("not georeferenced: ModelTiepointTag is missing".to_string())
        })?;
        if scale.len() < 2 || tie.len() < 6 {
            return Err(tiff.malformed(format!(
                "ModelPixelScaleTag has {} values and ModelTiepointTag {}, expected 3 and 6",
                scale.len(),
                tie.len()
            )));
        }
        // Tiepoint (I, J, K, X, Y, Z): raster position (I, J) is at model (X, Y).
        GeoTransform {
            origin_x: tie[3] - tie[0] * scale[0],
            origin_y: tie[4] + tie[1] * scale[1],
            pixel_width: scale[0],
            pixel_height: scale[1],
        }
    };
    if pixel_is_point {
        // Coordinates refer to pixel centres; shift to the corner as GDAL does.
        transform.origin_x -= 0.5 * transform.pixel_width;
        transform.origin_y += 0.5 * transform.pixel_height;
    }
    let t = &transform;
    if ![t.origin_x, t.origin_y, t.pixel_width, t.pixel_height]
        .iter()
        .all(|v| v.is_finite())
        || t.pixel_width <= 0.0
        || t.pixel_height <= 0.0
    {
        return Err(tiff.unsupported(format!(
            "only north-up rasters with positive, finite pixel sizes are supported, got {t:?}"
        )));
    }
    Ok((transform, Crs { epsg: epsg as u32 }))
}

/// Band descriptions from GDAL_METADATA XML (`<Item name="DESCRIPTION" sample="N" ...>`).
fn band_descriptions(xml: &str, bands: usize) -> Vec<String> {
    let mut names = vec![String::new(); bands];
    let mut rest = xml;
    while let Some(start) = rest.find("<Item") {
        rest = &rest[start + 5..];
        let Some(tag_end) = rest.find('>') else { break };
        let attrs = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</Item>") else {
            break;
        };
        let text = &rest[..close];
        rest = &rest[close + 7..];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            let from = attrs.find(&key)? + key.len();
            let len = attrs[from..].find('"')?;
            Some(&attrs[from..from + len])
        };
        if attr("name") != Some("DESCRIPTION") || attrs.trim_end().ends_with('/') {
            continue;
        }
        let band = attr("sample").and_then(|s| s.parse::<usize>().ok());
        if let Some(slot) = band.and_then(|band| names.get_mut(band)) {
            *slot = xml_unescape(text);
        }
    }
    names
}

/// Parses GDAL_NODATA text (`nan`, `inf`, `-inf`, `-9999`, `1e-3`, ...).
fn parse_nodata(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::process::Command;

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

    /// Position of `tag`'s IFD entry in a file written by `write_geotiff`.
    fn entry_pos(bytes: &[u8], tag: u16) -> usize {
        let count = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        (0..count)
            .map(|i| 10 + 12 * i)
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
    fn writer_cuts_strips_of_about_64_kib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let raster = float_raster(300, 200, 4); // rows of 4800 bytes
        write_geotiff(&path, &raster).unwrap();
        let bytes = fs::read(&path).unwrap();
        let tiff = Tiff::open(&path, &bytes).unwrap();
        assert_eq!(tiff.uint_or(TAG_ROWS_PER_STRIP, None).unwrap(), 13); // 65536 / 4800
        let counts = tiff.uints(TAG_STRIP_BYTE_COUNTS).unwrap().unwrap();
        assert_eq!(counts.len(), 16);
        assert!(counts[..15].iter().all(|&c| c == 13 * 4800));
        assert_eq!(counts[15], 5 * 4800);
        let offsets = tiff.uints(TAG_STRIP_OFFSETS).unwrap().unwrap();
        assert_eq!(offsets[0] % 16, 0);
        assert_eq!(offsets[15] + counts[15], bytes.len() as u64);
        assert_eq!(tiff.uints(TAG_EXTRA_SAMPLES).unwrap().unwrap(), [0, 0, 0]);
        assert_eq!(tiff.uints(TAG_SAMPLE_FORMAT).unwrap().unwrap(), [3; 4]);
        assert_eq!(tiff.uints(TAG_BITS_PER_SAMPLE).unwrap().unwrap(), [32; 4]);
        assert_eq!(tiff.uint_or(TAG_PLANAR_CONFIGURATION, None).unwrap(), 1);
        assert_eq!(tiff.uint_or(TAG_PHOTOMETRIC, None).unwrap(), 1);
        assert_eq!(tiff.ascii(TAG_GDAL_NODATA).unwrap().unwrap(), "nan");
        let xml = tiff.ascii(TAG_GDAL_METADATA).unwrap().unwrap();
        assert!(
            xml.contains("<Item name=\"DESCRIPTION\" sample=\"3\" role=\"description\">B08</Item>"),
            "{xml}"
        );
    }

    #[test]
    fn writer_sorts_tags_and_places_values_inside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        write_geotiff(&path, &float_raster(7, 5, 4)).unwrap();
        let bytes = fs::read(&path).unwrap();
        let tiff = Tiff::open(&path, &bytes).unwrap();
        let tags: Vec<u16> = tiff.entries.iter().map(|&(t, _)| t).collect();
        assert!(tags.windows(2).all(|w| w[0] < w[1]), "{tags:?}");
        for &(tag, entry) in &tiff.entries {
            tiff.raw(tag, entry).unwrap();
        }
    }

    #[test]
    fn writes_geokeys_for_utm_and_geographic_crs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let keys_of = |raster: &Raster| {
            write_geotiff(&path, raster).unwrap();
            let bytes = fs::read(&path).unwrap();
            let tiff = Tiff::open(&path, &bytes).unwrap();
            let citation = tiff.ascii(TAG_GEO_ASCII_PARAMS).unwrap().unwrap();
            let scale = tiff.doubles(TAG_MODEL_PIXEL_SCALE).unwrap().unwrap();
            let tie = tiff.doubles(TAG_MODEL_TIEPOINT).unwrap().unwrap();
            (
                tiff.uints(TAG_GEO_KEY_DIRECTORY).unwrap().unwrap(),
                citation,
                scale,
                tie,
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
    fn rejects_truncated_tiff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bands.tif");
        write_geotiff(&path, &float_raster(300, 200, 4)).unwrap();
        let bytes = fs::read(&path).unwrap();
        let data_start = {
            let tiff = Tiff::open(&path, &bytes).unwrap();
            tiff.uints(TAG_STRIP_OFFSETS).unwrap().unwrap()[0] as usize
        };
        // Cut inside strip 3 (strips are 13 rows x 4800 bytes = 62400 bytes).
        let cut = data_start + 3 * 62400 + 100;
        fs::write(&path, &bytes[..cut]).unwrap();
        let err = read_geotiff(&path).unwrap_err();
        assert!(matches!(err, RasterError::Truncated { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: truncated: strip 3 ends at byte {} but the file has {cut} bytes",
                path.display(),
                data_start + 4 * 62400
            )
        );
        // Cut inside the IFD.
        fs::write(&path, &bytes[..50]).unwrap();
        let err = read_geotiff(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("truncated: the IFD at byte 8 with"),
            "{err}"
        );
        // Cut inside the out-of-line values.
        fs::write(&path, &bytes[..data_start - 20]).unwrap();
        let err = read_geotiff(&path).unwrap_err();
        assert!(matches!(err, RasterError::Truncated { .. }), "{err}");
    }

    #[test]
    fn every_truncation_of_a_written_file_is_an_error_not_a_panic() {
        let path = Path::new("cut.tif");
        let mut out = Vec::new();
        for raster in [float_raster(300, 200, 4), float_raster(6, 5, 3)] {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("r.tif");
            write_geotiff(&file, &raster).unwrap();
            out.push(fs::read(&file).unwrap());
        }
        for bytes in &out {
            assert!(parse_geotiff(path, bytes).is_ok());
            let data_start = {
                let tiff = Tiff::open(path, bytes).unwrap();
                tiff.uints(TAG_STRIP_OFFSETS).unwrap().unwrap()[0] as usize
            };
            // Every cut in the header, IFD and values, then every 61st byte of the data.
            let cuts = (0..data_start + 64).chain((data_start..bytes.len()).step_by(61));
            for len in cuts.filter(|&len| len < bytes.len()) {
                match parse_geotiff(path, &bytes[..len]) {
                    Err(RasterError::Truncated { .. } | RasterError::NotTiff { .. }) => {}
                    other => panic!("cut at {len}: expected a truncation error, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(20180429);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.tif");
        write_geotiff(&file, &float_raster(9, 7, 4)).unwrap();
        let original = fs::read(&file).unwrap();
        let data_start = 8 + 2 + 12 * usize::from(u16::from_le_bytes([original[8], original[9]]));
        let (mut ok, mut failed) = (0, 0);
        for _ in 0..20_000 {
            let mut bytes = original.clone();
            for _ in 0..rng.random_range(1..4) {
                let pos = rng.random_range(0..data_start + 200);
                bytes[pos] = match rng.random_range(0..4) {
                    0 => 0,
                    1 => 0xFF,
                    _ => rng.random(),
                };
            }
            match parse_geotiff(Path::new("fuzz.tif"), &bytes) {
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
    fn rejects_non_tiff_files() {
        for (bytes, expected) in [
            (
                &b"\x89PNG\r\n\x1a\n...."[..],
                "not a TIFF file: it starts with bytes 89 50, not \"II\" or \"MM\"",
            ),
            (
                &b"II+\0\x08\0\0\0"[..],
                "unsupported TIFF: BigTIFF is not supported",
            ),
            (
                &b"II\x2a\0"[..],
                "truncated: the file has 4 bytes, a TIFF header needs 8",
            ),
            (
                &b""[..],
                "truncated: the file has 0 bytes, a TIFF header needs 8",
            ),
            (
                &b"II*\0\0\0\0\0"[..],
                "malformed TIFF: the first IFD offset is 0",
            ),
        ] {
            let err = parse_geotiff(Path::new("x.tif"), bytes).unwrap_err();
            assert_eq!(err.to_string(), format!("x.tif: {expected}"));
        }
    }

    #[test]
    fn rejects_compressed_tiff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lzw.tif");
        write_geotiff(&path, &float_raster(6, 5, 2)).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let pos = entry_pos(&bytes, TAG_COMPRESSION);
        bytes[pos + 8..pos + 10].copy_from_slice(&5u16.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let err = read_geotiff(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: unsupported TIFF: compression 5 (LZW) is not supported, only \
                 uncompressed (1)",
                path.display()
            )
        );
    }

    #[test]
    fn rejects_unsupported_sample_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i16.tif");
        let mut raster = float_raster(6, 5, 1);
        raster.data = RasterData::U16(vec![1; 30]);
        write_geotiff(&path, &raster).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let pos = entry_pos(&bytes, TAG_SAMPLE_FORMAT);
        bytes[pos + 8..pos + 10].copy_from_slice(&2u16.to_le_bytes()); // signed
        let err = parse_geotiff(Path::new("i16.tif"), &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "i16.tif: unsupported TIFF: 16-bit signed integer samples are not supported \
             (only uint8, uint16 and float32)"
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
        let err = parse_geotiff(Path::new("plain.tif"), &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plain.tif: unsupported TIFF: not a GeoTIFF: GeoKeyDirectoryTag (34735) is missing"
        );
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
                (TAG_IMAGE_WIDTH, Field::Short(vec![width as u16])),
                (TAG_IMAGE_LENGTH, Field::Long(vec![height as u32])),
                (TAG_BITS_PER_SAMPLE, Field::Short(vec![16, 16])),
                (TAG_PHOTOMETRIC, Field::Short(vec![1])),
                (TAG_SAMPLES_PER_PIXEL, Field::Short(vec![2])),
                (TAG_PLANAR_CONFIGURATION, Field::Short(vec![2])),
                (TAG_TILE_WIDTH, Field::Short(vec![tw as u16])),
                (TAG_TILE_LENGTH, Field::Short(vec![th as u16])),
                (TAG_TILE_OFFSETS, Field::Long(offsets.to_vec())),
                (
                    TAG_TILE_BYTE_COUNTS,
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
        let raster = parse_geotiff(Path::new("be.tif"), &bytes).unwrap();
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
                (TAG_IMAGE_WIDTH, Field::Long(vec![3])),
                (TAG_IMAGE_LENGTH, Field::Long(vec![2])),
                (TAG_BITS_PER_SAMPLE, Field::Short(vec![8])),
                (TAG_STRIP_OFFSETS, Field::Long(offsets.to_vec())),
                (TAG_STRIP_BYTE_COUNTS, Field::Long(vec![6])),
                (TAG_MODEL_TRANSFORMATION, Field::Double(matrix)),
                (
                    TAG_GEO_KEY_DIRECTORY,
                    Field::Short(vec![
                        1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633,
                    ]),
                ),
            ]
        });
        let raster = parse_geotiff(Path::new("pt.tif"), &bytes).unwrap();
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
                    (TAG_IMAGE_WIDTH, Field::Long(vec![1])),
                    (TAG_IMAGE_LENGTH, Field::Long(vec![1])),
                    (TAG_BITS_PER_SAMPLE, Field::Short(vec![8])),
                    (TAG_STRIP_OFFSETS, Field::Long(offsets.to_vec())),
                    (TAG_STRIP_BYTE_COUNTS, Field::Long(vec![1])),
                    (TAG_MODEL_TRANSFORMATION, Field::Double(matrix)),
                    (
                        TAG_GEO_KEY_DIRECTORY,
                        Field::Short(vec![1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, epsg]),
                    ),
                ]
            })
        };
        let path = Path::new("r.tif");
        assert!(parse_geotiff(path, &make(0.0, 32631)).is_ok());
        let err = parse_geotiff(path, &make(0.5, 32631)).unwrap_err();
        assert!(err.to_string().contains("rotated or sheared"), "{err}");
        let err = parse_geotiff(path, &make(0.0, USER_DEFINED)).unwrap_err();
        assert!(
            err.to_string().contains("the CRS has no EPSG code"),
            "{err}"
        );
    }

    fn gdal_tool(name: &str) -> bool {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[test]
    fn gdalinfo_reads_written_float_geotiff() {
        if !gdal_tool("gdalinfo") {
            println!("skipped: gdalinfo not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bands.tif");
        let raster = float_raster(227, 246, 4);
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
        assert_eq!(info["driverShortName"], "GTiff");
        assert_eq!(info["size"], serde_json::json!([227, 246]));
        let bands = info["bands"].as_array().unwrap();
        assert_eq!(bands.len(), 4);
        for (band, name) in bands.iter().zip(["B02", "B03", "B04", "B08"]) {
            assert_eq!(band["description"], name);
            assert_eq!(band["type"], "Float32");
            assert_eq!(band["noDataValue"], "NaN");
        }
        assert_eq!(info["metadata"][""]["AREA_OR_POINT"], "Area");
        let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
        assert!(wkt.contains("WGS 84 / UTM zone 31N"), "{wkt}");
        assert!(wkt.ends_with("ID[\"EPSG\",32631]]"), "{wkt}");
        assert_eq!(
            info["geoTransform"],
            serde_json::json!([356040.0, 10.0, 0.0, 4835680.0, 0.0, -10.0])
        );
        let corners = &info["cornerCoordinates"];
        assert_eq!(
            corners["upperLeft"],
            serde_json::json!([356040.0, 4835680.0])
        );
        assert_eq!(
            corners["lowerRight"],
            serde_json::json!([358310.0, 4833220.0])
        );
        // Statistics prove GDAL reads the pixel values: compare each band's mean and extremes
        // with ours (band 1 holds an infinity, so its mean is not finite).
        for (index, band) in bands.iter().enumerate().skip(1) {
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
                (stat("STATISTICS_MEAN") - mean).abs() < 1e-9,
                "band {index}"
            );
            assert!(
                (stat("STATISTICS_MINIMUM") - min).abs() < 1e-9,
                "band {index}"
            );
            assert!(
                (stat("STATISTICS_MAXIMUM") - max).abs() < 1e-9,
                "band {index}"
            );
        }
    }

    #[test]
    fn reads_geotiffs_written_by_gdal() {
        if !gdal_tool("gdal_translate") {
            println!("skipped: gdal_translate not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.tif");
        // NaN, -0.0, infinity and a subnormal must all survive GDAL bit for bit.
        let raster = float_raster(45, 37, 4);
        write_geotiff(&source, &raster).unwrap();
        let translate = |name: &str, options: &[&str]| {
            let target = dir.path().join(name);
            let out = Command::new("gdal_translate")
                .arg("-q")
                .args(options)
                .arg(&source)
                .arg(&target)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gdal_translate {options:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            target
        };
        for (name, options) in [
            (
                "tiled.tif",
                &[
                    "-co",
                    "TILED=YES",
                    "-co",
                    "BLOCKXSIZE=16",
                    "-co",
                    "BLOCKYSIZE=16",
                ][..],
            ),
            ("planar.tif", &["-co", "INTERLEAVE=BAND"]),
            (
                "big_endian.tif",
                &[
                    "-co",
                    "ENDIANNESS=BIG",
                    "-co",
                    "INTERLEAVE=BAND",
                    "-co",
                    "TILED=YES",
                ],
            ),
            ("strips.tif", &["-co", "BLOCKYSIZE=5"]),
        ] {
            let path = translate(name, options);
            assert_identical(&read_geotiff(&path).unwrap(), &raster);
        }

        let mut byte_raster = raster.clone();
        let values: Vec<u8> = (0..45 * 37 * 4).map(|i| (i % 251) as u8).collect();
        byte_raster.data = RasterData::U8(values.clone());
        byte_raster.nodata = Some(255.0);
        write_geotiff(&source, &byte_raster).unwrap();
        let path = translate("uint16.tif", &["-ot", "UInt16", "-co", "TILED=YES"]);
        let read = read_geotiff(&path).unwrap();
        let widened: Vec<u16> = values.into_iter().map(u16::from).collect();
        assert_eq!(read.data, RasterData::U16(widened));
        assert_eq!(read.nodata, Some(255.0));
        assert_eq!(read.transform, byte_raster.transform);
        assert_eq!(read.band_names, byte_raster.band_names);

        let path = translate("lzw.tif", &["-co", "COMPRESS=LZW"]);
        let err = read_geotiff(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("compression 5 (LZW) is not supported"),
            "{err}"
        );
    }

    #[test]
    fn real_sentinel2_scenes_round_trip_through_geotiff() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-s2");
        if !root.is_dir() {
            println!("skipped: ../shared/data/real-s2 not found");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for site in ["bouconne-2018", "slovenia-eolearn"] {
            let meta: serde_json::Value =
                serde_json::from_slice(&fs::read(root.join(site).join("meta.json")).unwrap())
                    .unwrap();
            let bbox: Vec<f64> = meta["bbox_utm"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let crs = meta["crs"].as_str().unwrap(); // "EPSG:32631 (WGS84 / UTM 31N)"
            let epsg: u32 = crs["EPSG:".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let (shape, data) = crate::datasets::npy::read_npy::<f32>(
                &root.join(site).join("s2_B02_B03_B04_B08.npy"),
            )
            .unwrap();
            let [dates, height, width, bands] = shape[..] else {
                panic!("{site}: shape {shape:?}")
            };
            assert_eq!(bands, 4);
            let transform =
                GeoTransform::from_bbox([bbox[0], bbox[1], bbox[2], bbox[3]], width, height);
            for (date, scene) in data.chunks_exact(height * width * bands).enumerate() {
                let raster = Raster {
                    width,
                    height,
                    bands,
                    data: RasterData::F32(scene.to_vec()),
                    band_names: ["B02", "B03", "B04", "B08"].map(String::from).to_vec(),
                    transform,
                    crs: Crs { epsg },
                    nodata: Some(f64::NAN),
                };
                let path = dir.path().join(format!("{site}-{date}.tif"));
                write_geotiff(&path, &raster).unwrap();
                let read = read_geotiff(&path).unwrap();
                assert_identical(&read, &raster);
                let back = read.transform.bbox(width, height);
                for (a, b) in back.iter().zip(&bbox) {
                    assert!(
                        (a - b).abs() < 1e-6,
                        "{site} date {date}: bbox {back:?} vs {bbox:?}"
                    );
                }
            }
            assert_eq!(dates, if site == "bouconne-2018" { 7 } else { 5 });
        }
    }
}
