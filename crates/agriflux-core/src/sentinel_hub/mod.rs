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
pub mod cost;
pub mod error;
pub mod process;
pub mod redact;
pub mod retry;

use chrono::{Days, Utc};

pub use client::{Client, RateLimiter, RetryPolicy};
pub use error::ShError;

use crate::raster::scene::Scene;
use crate::settings::{Bbox, DateRange, SentinelHubSettings, SourceKind, url_is_secure};
use crate::source::{Acquisition, SceneSource, SourceError};
use agriflux_base::CancelToken;

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
        for (key, url) in [
            ("SENTINEL_HUB_BASE_URL", &settings.base_url),
            ("SENTINEL_HUB_TOKEN_URL", &settings.token_url),
        ] {
            if !url_is_secure(url) {
                return Err(ShError::InsecureUrl {
                    key,
                    url: url.clone(),
                });
            }
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
/// Rate limiting is waited out only briefly ([`check_policy`]): the check ends by itself within
/// seconds whatever the server answers.
pub fn check_connection(
    settings: &SentinelHubSettings,
    area: &Bbox,
    env_file: &str,
) -> Result<ConnectionReport, ShError> {
    check_connection_with(settings, area, env_file, check_policy())
}

/// The bounds of an interactive check: a few seconds of 429 waits, a handful of requests.
pub fn check_policy() -> RetryPolicy {
    use std::time::Duration;
    RetryPolicy {
        attempts: 2,
        default_retry_after: Duration::from_millis(500),
        min_rate_wait: Duration::from_millis(500),
        // A longer Retry-After than the whole budget fails at once instead of being cut short.
        max_retry_after: Duration::from_secs(30),
        max_rate_wait: Duration::from_secs(4),
        max_requests: 6,
        request_timeout: Duration::from_secs(30),
        ..RetryPolicy::default()
    }
}

/// [`check_connection`] with explicit retry bounds (tests use milliseconds).
pub fn check_connection_with(
    settings: &SentinelHubSettings,
    area: &Bbox,
    env_file: &str,
    policy: RetryPolicy,
) -> Result<ConnectionReport, ShError> {
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

#[cfg(test)]
mod tests {
    use super::url_is_secure;

    #[test]
    fn http_is_refused_except_for_loopback_hosts() {
        for ok in [
            "https://services.sentinel-hub.com",
            "http://127.0.0.1:8080/token",
            "http://127.5.6.7",
            "http://localhost:9000/x",
            "http://[::1]:8000/api",
            "HTTP://LOCALHOST",
        ] {
            assert!(url_is_secure(ok), "{ok}");
        }
        for bad in [
            "http://services.sentinel-hub.com",
            "http://10.0.0.1/token",
            "http://localhost.evil.com/",
            "http://127.0.0.1.nip.io/",
            "http://user@example.com",
            "http://[::2]/",
            "ftp://127.0.0.1",
        ] {
            assert!(!url_is_secure(bad), "{bad}");
        }
    }
}
