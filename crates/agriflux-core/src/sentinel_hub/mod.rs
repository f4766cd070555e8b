//! The Sentinel Hub scene source: OAuth token, Catalog API search and Process API downloads,
//! for the commercial service and the Copernicus Data Space Ecosystem alike.
//!
//! Design choices: the area is requested in WGS84 (EPSG:4326) at the 10 m grid size of
//! [`process::grid_size`]; areas over 2500 px per side are refused with a message naming the
//! limit (settings already cap an area at 25 km per side). Several catalog features of one UTC
//! day collapse into one acquisition; the download step picks dates spread over the range
//! ([`crate::source::spread_over_range`]).

pub mod catalog;
pub mod client;
pub mod error;
pub mod process;

use chrono::{Days, Utc};

pub use client::{Client, RateLimiter, RetryPolicy};
pub use error::ShError;

use crate::pipeline::CancelToken;
use crate::raster::scene::Scene;
use crate::settings::{Bbox, DateRange, SentinelHubSettings, SourceKind};
use crate::source::{Acquisition, SceneSource, SourceError};

/// A [`SceneSource`] backed by the Sentinel Hub APIs.
pub struct SentinelHubSource {
    client: Client,
}

impl SentinelHubSource {
    /// A source for these settings; `env_file` is named when credentials are missing.
    pub fn new(
        settings: &SentinelHubSettings,
        policy: RetryPolicy,
        env_file: &str,
    ) -> Result<Self, ShError> {
        if !settings.has_credentials() {
            return Err(ShError::MissingCredentials {
                env_file: env_file.to_string(),
            });
        }
        Ok(Self {
            client: Client::new(settings.clone(), policy),
        })
    }

    /// The HTTP client (token cache, counters).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn source_error(e: ShError) -> SourceError {
    match e {
        ShError::Cancelled => SourceError::Cancelled,
        other => SourceError::Failed(format!("Sentinel Hub: {other}")),
    }
}

impl SceneSource for SentinelHubSource {
    fn kind(&self) -> SourceKind {
        SourceKind::SentinelHub
    }

    fn search(
        &self,
        area: &Bbox,
        dates: &DateRange,
        max_cloud_cover: f64,
        cancel: &CancelToken,
    ) -> Result<Vec<Acquisition>, SourceError> {
        catalog::search(&self.client, area, dates, max_cloud_cover, cancel).map_err(source_error)
    }

    fn fetch(&self, acquisition: &Acquisition, area: &Bbox) -> Result<Scene, SourceError> {
        self.fetch_cancellable(acquisition, area, &CancelToken::new())
    }

    fn fetch_cancellable(
        &self,
        acquisition: &Acquisition,
        area: &Bbox,
        cancel: &CancelToken,
    ) -> Result<Scene, SourceError> {
        process::fetch(&self.client, acquisition, area, cancel).map_err(source_error)
    }

    fn provenance(&self) -> serde_json::Value {
        let s = self.client.settings();
        serde_json::json!({
            "service": s.base_url,
            "deployment": s.deployment,
            "collection": catalog::COLLECTION,
            "units": "reflectance = DN / 10000, NaN where dataMask is 0",
        })
    }

    fn processing_units(&self) -> Option<f64> {
        Some(self.client.processing_units())
    }

    fn take_notices(&self) -> Vec<String> {
        self.client.take_notices()
    }
}

/// What a successful connection check found.
#[derive(Clone, Debug)]
pub struct ConnectionReport {
    /// Service name.
    pub label: &'static str,
    /// API base URL.
    pub base_url: String,
    /// Features the one-result catalog search returned (0 or 1).
    pub features: usize,
}

/// Fetches a token and runs a one-result catalog search over `area` for the last 30 days.
/// Rate limiting fails at once here (no long waits in an interactive check).
pub fn check_connection(
    settings: &SentinelHubSettings,
    area: &Bbox,
    env_file: &str,
) -> Result<ConnectionReport, ShError> {
    let policy = RetryPolicy {
        attempts: 2,
        max_rate_wait: std::time::Duration::ZERO,
        request_timeout: std::time::Duration::from_secs(30),
        ..RetryPolicy::default()
    };
    let source = SentinelHubSource::new(settings, policy, env_file)?;
    let cancel = CancelToken::new();
    source.client.access_token(&cancel)?;
    let today = Utc::now().date_naive();
    let dates = DateRange {
        start: today - Days::new(30),
        end: today,
    };
    let features = catalog::probe(&source.client, area, &dates, &cancel)?;
    Ok(ConnectionReport {
        label: settings.deployment.label(),
        base_url: settings.base_url.clone(),
        features,
    })
}
