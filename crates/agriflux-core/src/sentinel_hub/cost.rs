//! What a download will cost before it is spent: processing units and requests, compared with
//! the account's budget.
//!
//! Sentinel Hub's rules ("Processing Unit definition",
//! <https://docs.sentinel-hub.com/api/latest/api/overview/processing-unit/>): 1 PU is an output
//! of 512 x 512 px from 3 input bands at up to 16 bits per sample; the cost scales with the
//! area (multiplication factor at least 0.01) and with bands / 3 (`dataMask` is not counted),
//! doubles for FLOAT32 output, and a Process API request costs at least 0.005 PU. Copernicus
//! Data Space's free accounts get 10,000 PU and 10,000 requests a month, 300 requests a minute
//! (<https://documentation.dataspace.copernicus.eu/Quotas.html>).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::process::grid_size;
use crate::settings::{Bbox, Deployment};

/// Input bands the evalscript reads that count (B02, B03, B04, B08, SCL; not `dataMask`).
pub const INPUT_BANDS: usize = 5;
/// Features per catalog page (as [`super::catalog`] asks for).
pub const CATALOG_PAGE: usize = 100;
/// Processing units a month on a free Copernicus Data Space account.
pub const CDSE_MONTHLY_PU: f64 = 10_000.0;
/// Requests a month on a free Copernicus Data Space account.
pub const CDSE_MONTHLY_REQUESTS: usize = 10_000;
/// Requests a minute on a free Copernicus Data Space account.
pub const CDSE_REQUESTS_PER_MINUTE: usize = 300;

/// Processing units of one Process API request of `width` x `height` px.
pub fn request_pu(width: usize, height: usize, input_bands: usize, float32: bool) -> f64 {
    let area = ((width * height) as f64 / (512.0 * 512.0)).max(0.01);
    let bands = input_bands as f64 / 3.0;
    let sample = if float32 { 2.0 } else { 1.0 };
    (area * bands * sample).max(0.005)
}

/// The estimated cost of a Sentinel Hub download.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct CostEstimate {
    /// Dates to fetch (one Process request each).
    pub dates: usize,
    /// Grid of one request, px.
    pub width: usize,
    /// Rows of one request, px.
    pub height: usize,
    /// Processing units per date.
    pub pu_per_date: f64,
    /// Processing units in total.
    pub processing_units: f64,
    /// Catalog pages expected (one feature per acquisition every 5 days; overlapping tiles
    /// can add more).
    pub catalog_pages: usize,
    /// HTTP requests: catalog pages, one Process request per date, one token.
    pub requests: usize,
    /// The processing-unit budget compared with, if any.
    pub pu_budget: Option<f64>,
}

impl CostEstimate {
    /// The estimate of fetching `dates` dates over `area` for `days` days of catalog search.
    pub fn new(area: &Bbox, days: usize, dates: usize, pu_budget: Option<f64>) -> Self {
        let (width, height) = grid_size(area);
        let pu_per_date = request_pu(width, height, INPUT_BANDS, false);
        // Sentinel-2 revisits every 5 days with two satellites.
        let features = days / 5 + 1;
        let catalog_pages = features.div_ceil(CATALOG_PAGE).max(1);
        Self {
            dates,
            width,
            height,
            pu_per_date,
            processing_units: pu_per_date * dates as f64,
            catalog_pages,
            requests: catalog_pages + dates + 1,
            pu_budget,
        }
    }

    /// Whether the estimate is over the budget.
    pub fn exceeds_budget(&self) -> bool {
        self.pu_budget
            .is_some_and(|b| self.processing_units > b + 1e-9)
    }

    /// One line for people, e.g. "about 26.8 PU (4 dates x 6.71 PU, 951 x 1110 px) and 6
    /// requests; budget 10000 PU".
    pub fn summary(&self) -> String {
        let budget = match self.pu_budget {
            Some(b) if self.exceeds_budget() => format!("; OVER the budget of {b} PU"),
            Some(b) => format!("; budget {b} PU"),
            None => String::new(),
        };
        format!(
            "about {:.2} PU ({} dates x {:.3} PU, {} x {} px) and {} requests ({} catalog page(s), {} Process, 1 token){budget}",
            self.processing_units,
            self.dates,
            self.pu_per_date,
            self.width,
            self.height,
            self.requests,
            self.catalog_pages,
            self.dates
        )
    }
}

/// The budget that applies: the configured one, else the free Copernicus Data Space quota
/// for that deployment, else none (commercial plans differ too much to guess).
pub fn effective_budget(configured: Option<f64>, deployment: Deployment) -> Option<f64> {
    configured.or(match deployment {
        Deployment::Cdse => Some(CDSE_MONTHLY_PU),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_costs_about_6_7_pu() {
        // 951 x 1110 px, 5 inputs, UINT16 (sentinel-hub-api.md).
        let pu = request_pu(951, 1110, 5, false);
        assert!((pu - 6.714).abs() < 0.01, "{pu}");
        assert!((request_pu(951, 1110, 5, true) - 2.0 * pu).abs() < 1e-9);
    }

    #[test]
    fn small_areas_pay_the_minimum_factors() {
        // 10 x 10 px: area factor 0.01, 3 bands: 0.01 PU.
        assert!((request_pu(10, 10, 3, false) - 0.01).abs() < 1e-12);
        // One band: 0.01 / 3 < 0.005, so the per-request minimum.
        assert!((request_pu(10, 10, 1, false) - 0.005).abs() < 1e-12);
    }

    #[test]
    fn budget_is_compared_and_cdse_has_a_default() {
        let area = Bbox {
            min_lon: 75.8,
            min_lat: 30.9,
            max_lon: 75.9,
            max_lat: 31.0,
        };
        let e = CostEstimate::new(&area, 365, 20, Some(50.0));
        assert_eq!(e.requests, e.catalog_pages + 21);
        assert!(e.exceeds_budget(), "{}", e.summary());
        assert!(e.summary().contains("OVER the budget of 50 PU"));
        assert_eq!(effective_budget(None, Deployment::Cdse), Some(10_000.0));
        assert_eq!(effective_budget(None, Deployment::Commercial), None);
        assert_eq!(effective_budget(Some(5.0), Deployment::Cdse), Some(5.0));
    }
}
