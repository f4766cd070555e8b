//! What the Map view, the report and `agriflux map` receive: one date's layers with their
//! legends, the season's dates, the fields with their figures, and what lies under a pixel.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which layer of a date's map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MapLayerId {
    /// B04/B03/B02 with a fixed stretch.
    TrueColour,
    /// NDVI of the clear pixels.
    Ndvi,
    /// Pixels the pipeline does not use (clouds, shadows, snow, no data).
    Clouds,
    /// The CNN's crop-health class.
    Health,
    /// The CNN's probability of its class.
    Confidence,
    /// The LSTM's NDVI forecast for the next acquisition, per 32 x 32 block.
    Forecast,
    /// The forecast minus the date's block mean.
    ForecastChange,
}

impl MapLayerId {
    /// Every layer, bottom to top.
    pub const ALL: [MapLayerId; 7] = [
        Self::TrueColour,
        Self::Ndvi,
        Self::Clouds,
        Self::Health,
        Self::Confidence,
        Self::Forecast,
        Self::ForecastChange,
    ];

    /// The layer's file name (without extension) in a date's folder.
    pub fn file_stem(self) -> &'static str {
        match self {
            Self::TrueColour => "true_colour",
            Self::Ndvi => "ndvi",
            Self::Clouds => "clouds",
            Self::Health => "health",
            Self::Confidence => "confidence",
            Self::Forecast => "forecast",
            Self::ForecastChange => "forecast_change",
        }
    }
}

/// One entry of a layer's legend: a class (name and colour) or a stop of a continuous ramp,
/// low to high.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct LegendEntry {
    /// The class's name or the stop's value.
    pub label: String,
    /// `#rrggbb`.
    pub colour: String,
}

/// One layer of a date's map: an image the size of the scene, PNG as a data URL (transparent
/// where there is no value).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapLayer {
    /// Which layer.
    pub id: MapLayerId,
    /// Its title in the layers panel.
    pub title: String,
    /// `data:image/png;base64,…`.
    pub png: String,
    /// Its legend.
    pub legend: Vec<LegendEntry>,
    /// Whether the legend is a continuous ramp (else classes).
    pub ramp: bool,
    /// The unit of a ramp's values, if any.
    pub unit: Option<String>,
}

/// A date with imagery, for the date slider; `cloudy` when little of the area is clear.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapDate {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Fraction of the area's pixels that are clear.
    pub clear_fraction: f64,
    /// Less than half the area is clear.
    pub cloudy: bool,
}

/// One date of a place's or a field's season: observed mean NDVI, the LSTM's forecast of it
/// made on the date before, persistence (the last observation before), the predicted class
/// (0 healthy, 1 moderate, 2 stressed, 3 critical) and its confidence, the clear fraction.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SeriesPoint {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Fraction of the place's or field's pixels that are clear.
    pub clear_fraction: f64,
    /// Mean NDVI of the clear pixels (none when less than half is clear).
    pub observed: Option<f64>,
    /// The LSTM's forecast of this date's NDVI, made on the date before.
    pub forecast: Option<f64>,
    /// The persistence baseline: the last observed value before this date.
    pub persistence: Option<f64>,
    /// The predicted class (the most frequent one over a field).
    pub class: Option<u8>,
    /// Its mean probability.
    pub confidence: Option<f64>,
}

/// The LSTM's forecast for the acquisition after the shown date, and its change from the
/// shown date's NDVI.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct NextForecast {
    /// The date forecast (`YYYY-MM-DD`); after the last acquisition, the usual revisit.
    pub date: String,
    /// Forecast NDVI.
    pub value: f64,
    /// Forecast minus the shown date's NDVI.
    pub change: Option<f64>,
}

/// A field's figures on one date; `class_shares` is the share of the field's predicted area in
/// each class (4 entries, or empty without a CNN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct FieldStats {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Fraction of the field's pixels that are clear.
    pub clear_fraction: f64,
    /// Mean NDVI of its clear pixels.
    pub ndvi_mean: Option<f64>,
    /// Their standard deviation (population).
    pub ndvi_std: Option<f64>,
    /// Share of its classified pixels in each class, Healthy to Critical.
    pub class_shares: Vec<f64>,
    /// The LSTM's forecast for the next acquisition, mean over the field.
    pub forecast: Option<f64>,
    /// `forecast - ndvi_mean`.
    pub forecast_change: Option<f64>,
}

impl FieldStats {
    /// The class with the largest share of the field's classified pixels, if any.
    pub fn predicted_class(&self) -> Option<usize> {
        self.class_shares
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k)
    }
}

/// A field (imported boundary) on the map: outline rings in pixel coordinates `[col, row]` of
/// the scene, its figures on the shown date, its season, and `need` (higher: visit sooner;
/// worst predicted health first).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapField {
    /// Its position in the fields file, from 1.
    pub id: usize,
    /// Its `name` property (or `Field <id>`).
    pub name: String,
    /// The polygon's area in hectares (in the UTM projection of its zone).
    pub area_ha: f64,
    /// Rings in pixel coordinates.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// Its figures on the shown date.
    pub stats: FieldStats,
    /// Its season.
    pub series: Vec<SeriesPoint>,
    /// The forecast made on the shown date.
    pub next: Option<NextForecast>,
    /// How urgently it needs a visit: the expected stress of its predicted classes (0 all
    /// healthy, 1 all critical), plus the forecast's fall; without a CNN, 1 minus mean NDVI.
    pub need: f64,
}

/// Everything the Map view shows for one date. `bbox` is `[min x, min y, max x, max y]` in the
/// scene CRS (metres, UTM); row 0 is the top (max y).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapView {
    /// The shown date, `YYYY-MM-DD`.
    pub date: String,
    /// Every date with imagery, oldest first.
    pub dates: Vec<MapDate>,
    /// Scene columns.
    pub width: usize,
    /// Scene rows.
    pub height: usize,
    /// `EPSG:<code>`.
    pub crs: String,
    /// Extent in the scene CRS.
    pub bbox: [f64; 4],
    /// Pixel size in metres.
    pub pixel_size_m: f64,
    /// Whether the scenes come from the built-in simulated source.
    pub simulated: bool,
    /// The health classes' names, by class number.
    pub class_names: Vec<String>,
    /// The date's layers.
    pub layers: Vec<MapLayer>,
    /// What is missing and why, and what the figures rest on.
    pub notes: Vec<String>,
    /// The imported fields.
    pub fields: Vec<MapField>,
    /// The imported fields file, if any.
    pub fields_file: Option<String>,
}

/// What lies under one pixel on one date, and the season of the 32 x 32 block around it.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapPoint {
    /// The date asked for, `YYYY-MM-DD`.
    pub date: String,
    /// The 32 x 32 block of the series, `[col0, row0, col1, row1]` (pixel edges), if the
    /// pixel lies in a whole block.
    pub block: Option<[usize; 4]>,
    /// Column.
    pub col: usize,
    /// Row.
    pub row: usize,
    /// Easting of the pixel centre (scene CRS).
    pub x: f64,
    /// Northing of the pixel centre.
    pub y: f64,
    /// Longitude (WGS 84).
    pub lon: f64,
    /// Latitude (WGS 84).
    pub lat: f64,
    /// Whether the pixel is clear on this date.
    pub clear: bool,
    /// Its NDVI.
    pub ndvi: Option<f64>,
    /// Its predicted class.
    pub class: Option<u8>,
    /// The class's probability.
    pub confidence: Option<f64>,
    /// The forecast for the next acquisition (its block's).
    pub forecast: Option<f64>,
    /// The forecast minus the block's mean on this date.
    pub forecast_change: Option<f64>,
    /// The block's season.
    pub series: Vec<SeriesPoint>,
    /// The forecast made on this date.
    pub next: Option<NextForecast>,
}

/// Progress of computing the maps (the `map-progress` event).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct MapProgress {
    /// Dates done.
    pub done: usize,
    /// Dates in all.
    pub total: usize,
    /// What is being done.
    pub what: String,
}

/// The result of importing field boundaries.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct FieldsImport {
    /// Fields read.
    pub fields: usize,
    /// Where they are kept in the work directory.
    pub file: String,
}

/// The latest date's maps in a run's report: the health and forecast layers and the fields.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ReportMap {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Whether the scenes are simulated.
    pub simulated: bool,
    /// The health classes' names, by class number.
    pub class_names: Vec<String>,
    /// The health and forecast layers.
    pub layers: Vec<MapLayer>,
    /// The fields, neediest first.
    pub fields: Vec<MapField>,
    /// What the maps rest on.
    pub notes: Vec<String>,
}
