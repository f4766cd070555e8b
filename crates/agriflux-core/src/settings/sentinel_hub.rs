//! The Sentinel Hub account and service a run uses: deployment, credentials (kept out of every
//! log and view) and the URL rule for sending them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which Sentinel Hub service the credentials belong to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deployment {
    /// Sentinel Hub (commercial, Planet): services.sentinel-hub.com.
    #[default]
    Commercial,
    /// Copernicus Data Space Ecosystem (free): sh.dataspace.copernicus.eu.
    Cdse,
    /// Any other service: `SENTINEL_HUB_BASE_URL` and `SENTINEL_HUB_TOKEN_URL` must be set.
    Custom,
}

impl Deployment {
    /// The preset API base and token URLs (`None` for `custom`).
    pub fn preset_urls(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Commercial => Some((
                "https://services.sentinel-hub.com",
                "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token",
            )),
            Self::Cdse => Some((
                "https://sh.dataspace.copernicus.eu",
                "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token",
            )),
            Self::Custom => None,
        }
    }

    /// A human name of the service, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Commercial => "commercial Sentinel Hub",
            Self::Cdse => "Copernicus Data Space Ecosystem",
            Self::Custom => "custom Sentinel Hub service",
        }
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Commercial => "commercial",
            Self::Cdse => "cdse",
            Self::Custom => "custom",
        })
    }
}

/// Text shown in place of a secret.
pub const REDACTED: &str = "***";

/// A secret (the OAuth client secret): its Debug, Display and Serialize forms never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, only for sending it to the token service.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        // A serialised secret is only ever the redaction marker: it carries no secret back.
        Ok(if value == REDACTED {
            Self::default()
        } else {
            Self(value)
        })
    }
}

/// The Sentinel Hub account and service, from the `SENTINEL_HUB_*` keys of `.env`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SentinelHubSettings {
    /// OAuth client id (`SENTINEL_HUB_CLIENT_ID`).
    pub client_id: String,
    /// OAuth client secret (`SENTINEL_HUB_CLIENT_SECRET`); never shown or serialised.
    pub client_secret: Secret,
    /// Configuration instance id (`SENTINEL_HUB_INSTANCE_ID`): kept for compatibility, unused.
    pub instance_id: Option<String>,
    /// Which service (`SENTINEL_HUB_DEPLOYMENT`: commercial, cdse or custom).
    pub deployment: Deployment,
    /// API base URL (`SENTINEL_HUB_BASE_URL`, else the deployment's preset).
    pub base_url: String,
    /// OAuth token URL (`SENTINEL_HUB_TOKEN_URL`, else the deployment's preset).
    pub token_url: String,
}

impl SentinelHubSettings {
    /// Whether both the client id and the secret are set.
    pub fn has_credentials(&self) -> bool {
        !self.client_id.trim().is_empty() && !self.client_secret.is_empty()
    }
}

/// Whether `url` may carry credentials: `https://`, or `http://` to a loopback host
/// (127.0.0.0/8, ::1, localhost), where nothing crosses a network.
///
/// Written by hand rather than with the `url` crate: only the scheme and host are needed.
pub fn url_is_secure(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials in the authority (`user@host`) do not change the host.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
