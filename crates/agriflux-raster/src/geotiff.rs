//! GeoTIFF reading and writing: the `tiff` crate codes the pixels; [`super::georef`] handles
//! the georeferencing and GDAL tags. See [`super::read`] and [`super::write`] for what is
//! read and written.

pub use super::read::{
    GeoTiffInfo, MAX_DECODED_BYTES, MAX_DIMENSION, decode_geotiff, read_geotiff,
    read_geotiff_with_info,
};
pub use super::types::{Crs, GeoTransform, Raster, RasterData, RasterError};
pub use super::write::{RasterClass, aux_xml_path, write_class_geotiff, write_geotiff};
