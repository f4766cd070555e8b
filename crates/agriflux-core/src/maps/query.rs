//! Queries of a made season: one date's view, a pixel's values and its block's season, the
//! report's maps.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;

use super::fields::{MIN_FIELD_CLEAR, need};
use super::layers::{self, CELL, DatePixels, NO_CLASS};
use super::view::{
    MapDate, MapField, MapLayer, MapLayerId, MapPoint, MapView, NextForecast, ReportMap,
    SeriesPoint,
};
use super::{DateChoice, MapError, Season, colours, date_dir};
use crate::datasets::CLASS_NAMES;
use crate::datasets::sequences::BLOCK;
use crate::geometry::Projector;
use crate::raster::geotiff::Crs;

impl Season {
    /// The forecast made on date `i`, when there is one.
    pub(super) fn next_forecast_of(
        &self,
        i: usize,
        value: Option<f64>,
        today: Option<f64>,
    ) -> Option<NextForecast> {
        let target = self.dates[i].target?;
        let value = value?;
        Some(NextForecast {
            date: target.to_string(),
            value,
            change: today.map(|t| value - t),
        })
    }

    pub(super) fn layer(&self, dir: &Path, id: MapLayerId) -> Result<MapLayer, MapError> {
        let path = dir.join(format!("{}.png", id.file_stem()));
        let bytes = std::fs::read(&path).map_err(|source| MapError::Io { path, source })?;
        let (title, legend, ramp, unit) = match id {
            MapLayerId::TrueColour => ("True colour".to_string(), Vec::new(), false, None),
            MapLayerId::Ndvi => (
                "NDVI".into(),
                colours::NDVI_RAMP.legend(2),
                true,
                Some("NDVI".into()),
            ),
            MapLayerId::Clouds => (
                "Clouds and no data".into(),
                colours::cloud_legend(),
                false,
                None,
            ),
            MapLayerId::Health => (
                "Crop health (CNN)".into(),
                colours::class_legend(&CLASS_NAMES),
                false,
                None,
            ),
            MapLayerId::Confidence => (
                "Confidence of the health class".into(),
                colours::CONFIDENCE_RAMP.legend(2),
                true,
                Some("probability".into()),
            ),
            MapLayerId::Forecast => (
                "NDVI forecast, next acquisition (LSTM)".into(),
                colours::NDVI_RAMP.legend(2),
                true,
                Some("NDVI".into()),
            ),
            MapLayerId::ForecastChange => (
                "Forecast change".into(),
                colours::CHANGE_RAMP.legend(1),
                true,
                Some("NDVI".into()),
            ),
        };
        Ok(MapLayer {
            id,
            title,
            png: colours::png_data_url(&bytes),
            legend,
            ramp,
            unit,
        })
    }

    pub(super) fn layers_of(
        &self,
        i: usize,
        ids: &[MapLayerId],
    ) -> Result<Vec<MapLayer>, MapError> {
        let summary = &self.dates[i];
        let dir = date_dir(&self.workdir, summary.date);
        ids.iter()
            .filter(|id| match id {
                MapLayerId::Health | MapLayerId::Confidence => summary.has_health,
                MapLayerId::Forecast | MapLayerId::ForecastChange => summary.has_forecast,
                _ => true,
            })
            .map(|id| self.layer(&dir, *id))
            .collect()
    }

    /// A place's (block's) or field's season from per-date values.
    pub(super) fn series(
        &self,
        per_date: impl Fn(usize) -> (f64, Option<f64>, Option<f64>, Option<u8>, Option<f64>),
    ) -> Vec<SeriesPoint> {
        let mut out = Vec::with_capacity(self.dates.len());
        let mut last_observed: Option<f64> = None;
        let mut last_forecast: Option<(NaiveDate, f64)> = None;
        for (i, s) in self.dates.iter().enumerate() {
            let (clear, observed, forecast_made_here, class, confidence) = per_date(i);
            out.push(SeriesPoint {
                date: s.date.to_string(),
                clear_fraction: clear,
                observed,
                forecast: last_forecast.filter(|(d, _)| *d == s.date).map(|(_, v)| v),
                persistence: last_observed,
                class,
                confidence,
            });
            if observed.is_some() {
                last_observed = observed;
            }
            last_forecast = s.target.zip(forecast_made_here);
        }
        out
    }

    pub(super) fn map_fields(&self, i: usize) -> Vec<MapField> {
        let Some(f) = &self.fields else {
            return Vec::new();
        };
        let mut out: Vec<MapField> = f
            .on_grid
            .iter()
            .zip(&f.stats)
            .map(|(field, per_date)| {
                let (stats, _) = per_date[i].clone();
                let series = self.series(|k| {
                    let (s, conf) = &per_date[k];
                    let observed = s.ndvi_mean.filter(|_| s.clear_fraction >= MIN_FIELD_CLEAR);
                    let class = s.predicted_class().map(|k| k as u8);
                    (s.clear_fraction, observed, s.forecast, class, *conf)
                });
                MapField {
                    id: field.id,
                    name: field.name.clone(),
                    area_ha: field.area_m2 / 10_000.0,
                    outline: field.outline.iter().flatten().cloned().collect(),
                    next: self.next_forecast_of(i, stats.forecast, stats.ndvi_mean),
                    need: need(&stats),
                    stats,
                    series,
                }
            })
            .collect();
        out.sort_by(|a, b| b.need.total_cmp(&a.need));
        out
    }

    /// What the Map view shows on the date `choice` names.
    pub fn view(&self, choice: DateChoice) -> Result<MapView, MapError> {
        let i = self.index_of(choice)?;
        let g = &self.grid;
        let t = &g.transform;
        Ok(MapView {
            date: self.dates[i].date.to_string(),
            dates: self
                .dates
                .iter()
                .map(|s| MapDate {
                    date: s.date.to_string(),
                    clear_fraction: s.clear_fraction,
                    cloudy: s.clear_fraction < 0.5,
                })
                .collect(),
            width: g.width,
            height: g.height,
            crs: format!("EPSG:{}", g.crs.epsg),
            bbox: t.bbox(g.width, g.height),
            pixel_size_m: self.pixel_size_m(),
            simulated: self.simulated,
            class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
            layers: self.layers_of(i, &MapLayerId::ALL)?,
            notes: self.notes.clone(),
            fields: self.map_fields(i),
            fields_file: self.fields.as_ref().map(|f| f.path.display().to_string()),
        })
    }

    /// The width of a pixel in metres: in a geographic grid, along the parallel through the
    /// grid's centre.
    pub(super) fn pixel_size_m(&self) -> f64 {
        let g = &self.grid;
        let t = &g.transform;
        if !g.crs.is_geographic() {
            return t.pixel_width;
        }
        const EARTH_RADIUS_M: f64 = 6_378_137.0;
        let lat = t.origin_y - t.pixel_height * g.height as f64 / 2.0;
        t.pixel_width.to_radians() * EARTH_RADIUS_M * lat.to_radians().cos()
    }

    /// The latest date's health and forecast maps and the fields, for a run's report.
    pub fn report_map(&self) -> Result<ReportMap, MapError> {
        let i = self.dates.len() - 1;
        Ok(ReportMap {
            date: self.dates[i].date.to_string(),
            simulated: self.simulated,
            class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
            layers: self.layers_of(i, &[MapLayerId::Health, MapLayerId::Forecast])?,
            fields: self.map_fields(i),
            notes: self.notes.clone(),
        })
    }

    /// What lies under pixel (`col`, `row`) on the date `choice` names, and its block's season.
    pub fn point(&self, choice: DateChoice, col: usize, row: usize) -> Result<MapPoint, MapError> {
        let i = self.index_of(choice)?;
        let g = &self.grid;
        let (col, row) = (col.min(g.width - 1), row.min(g.height - 1));
        let pixels = self.pixels_of(i)?;
        let p = row * g.width + col;
        let finite = |v: f32| v.is_finite().then_some(f64::from(v));
        let t = &g.transform;
        let (x, y) = (
            t.origin_x + (col as f64 + 0.5) * t.pixel_width,
            t.origin_y - (row as f64 + 0.5) * t.pixel_height,
        );
        let [lon, lat] = Projector::new(g.crs, Crs::WGS84)
            .and_then(|p| p.apply([x, y]))
            .unwrap_or([f64::NAN, f64::NAN]);
        let s = &self.dates[i];
        let block = (row / BLOCK < s.blocks_y && col / BLOCK < s.blocks_x)
            .then(|| (row / BLOCK) * s.blocks_x + col / BLOCK);
        let cell = (row / CELL) * s.cells_x + col / CELL;
        let series = match block {
            Some(b) => self.series(|k| {
                let d = &self.dates[k];
                (
                    f64::from(d.block_clear[b]),
                    d.block_means[b].map(f64::from),
                    d.forecast[b].map(f64::from),
                    d.classes.get(cell).copied().flatten(),
                    d.confidence.get(cell).copied().flatten().map(f64::from),
                )
            }),
            None => Vec::new(),
        };
        let today = block.and_then(|b| s.block_means[b]).map(f64::from);
        let forecast = block.and_then(|b| s.forecast[b]).map(f64::from);
        Ok(MapPoint {
            date: s.date.to_string(),
            block: block.map(|_| {
                let (c0, r0) = (col / BLOCK * BLOCK, row / BLOCK * BLOCK);
                [c0, r0, c0 + BLOCK, r0 + BLOCK]
            }),
            col,
            row,
            x,
            y,
            lon,
            lat,
            clear: pixels.ndvi[p].is_finite(),
            ndvi: finite(pixels.ndvi[p]),
            class: (pixels.class[p] != NO_CLASS).then_some(pixels.class[p]),
            confidence: finite(pixels.confidence[p]),
            forecast: finite(pixels.forecast[p]),
            forecast_change: finite(pixels.change[p]),
            series,
            next: self.next_forecast_of(i, forecast, today),
        })
    }

    pub(super) fn pixels_of(&self, i: usize) -> Result<Arc<DatePixels>, MapError> {
        let date = self.dates[i].date;
        let mut cached = self.pixels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((d, p)) = cached.as_ref()
            && *d == date
        {
            return Ok(p.clone());
        }
        let dir = date_dir(&self.workdir, date);
        let p = Arc::new(layers::read_pixels(&dir, &self.dates[i])?);
        *cached = Some((date, p.clone()));
        Ok(p)
    }
}
