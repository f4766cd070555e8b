//! Rasters on disk and spectral indices: GeoTIFF reading and writing (through the `tiff`
//! crate) and NDVI, SAVI, EVI and NDWI computed per pixel.

mod bbox;
mod georef;
pub mod geotiff;
pub mod indices;
mod read;
pub mod scene;
mod types;
mod write;

#[cfg(test)]
mod gdal_tests;
#[cfg(test)]
mod geotiff_tests;

pub use bbox::Bbox;
pub use geotiff::{
    Crs, GeoTiffInfo, GeoTransform, Raster, RasterData, RasterError, decode_geotiff, read_geotiff,
    read_geotiff_with_info, write_geotiff,
};
pub use indices::{evi, ndvi, ndwi, savi};
pub use scene::SourceKind;
