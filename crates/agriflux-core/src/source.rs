//! Where scenes come from: the trait the download step drives, implemented by the simulated
//! source and (later) the Sentinel Hub client.

use chrono::NaiveDate;

use crate::raster::scene::Scene;
use crate::settings::{Bbox, DateRange, SourceKind};
use agriflux_base::CancelToken;

/// One acquisition found by a catalog search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acquisition {
    /// UTC day of the acquisition.
    pub date: NaiveDate,
    /// Tile cloud cover in percent.
    pub cloud_cover: f64,
}

/// Why a source could not search or fetch.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The source failed; the message names what and why.
    #[error("{0}")]
    Failed(String),
}

/// One ground observation: (lon, lat) in WGS84, crop-health class (0 Healthy to 3 Critical),
/// date.
pub type TruthPoint = ([f64; 2], u8, NaiveDate);

/// A provider of Sentinel-2 scenes.
pub trait SceneSource: Send + Sync {
    /// Which kind of source this is (recorded in every file it produces).
    fn kind(&self) -> SourceKind;

    /// Acquisitions over `area` in `dates` with tile cloud cover below `max_cloud_cover`,
    /// sorted by date, one per day.
    fn search(
        &self,
        area: &Bbox,
        dates: &DateRange,
        max_cloud_cover: f64,
        cancel: &CancelToken,
    ) -> Result<Vec<Acquisition>, SourceError>;

    /// The scene of one acquisition over `area`.
    fn fetch(&self, acquisition: &Acquisition, area: &Bbox) -> Result<Scene, SourceError>;

    /// Details recorded in each scene's metadata (e.g. the simulation seed).
    fn provenance(&self) -> serde_json::Value;

    /// What was observed on the ground on `dates`, where the source knows it (the simulated
    /// source's hidden truth); `None` for imagery alone.
    fn ground_truth(&self, _area: &Bbox, _dates: &[NaiveDate]) -> Option<Vec<TruthPoint>> {
        None
    }

    /// [`SceneSource::fetch`] that stops waiting (retries, rate limits) once `cancel` fires.
    fn fetch_cancellable(
        &self,
        acquisition: &Acquisition,
        area: &Bbox,
        cancel: &CancelToken,
    ) -> Result<Scene, SourceError> {
        if cancel.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        self.fetch(acquisition, area)
    }

    /// Usage charged so far by the service (Sentinel Hub processing units); `None` if free.
    fn processing_units(&self) -> Option<f64> {
        None
    }

    /// Messages to show the user since the last call (e.g. "rate limited, retrying in 3 s").
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Picks at most `count` acquisitions spread evenly over the found ones (first and last
/// included), so a season is covered rather than only its most recent weeks.
pub fn spread_over_range(found: &[Acquisition], count: usize) -> Vec<Acquisition> {
    if found.len() <= count {
        return found.to_vec();
    }
    if count == 1 {
        return vec![found[found.len() - 1]];
    }
    let step = (found.len() - 1) as f64 / (count - 1) as f64;
    (0..count)
        .map(|i| found[((i as f64) * step).round() as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acq(day: u32) -> Acquisition {
        Acquisition {
            date: NaiveDate::from_ymd_opt(2025, 1, day).unwrap(),
            cloud_cover: 0.0,
        }
    }

    #[test]
    fn spreads_picks_over_whole_range() {
        let found: Vec<_> = (1..=31).map(acq).collect();
        let picked = spread_over_range(&found, 4);
        let days: Vec<_> = picked
            .iter()
            .map(|a| a.date.format("%d").to_string())
            .collect();
        assert_eq!(days, ["01", "11", "21", "31"]);
    }

    #[test]
    fn keeps_everything_when_fewer_than_target() {
        let found: Vec<_> = (1..=3).map(acq).collect();
        assert_eq!(spread_over_range(&found, 20), found);
    }
}
