//! Typed errors of the Sentinel Hub client, each with a message that says what to do.

use crate::settings::Deployment;

/// Why a Sentinel Hub call failed.
#[derive(Debug, thiserror::Error)]
pub enum ShError {
    /// The client id or secret is not configured.
    #[error(
        "Sentinel Hub credentials are missing: set SENTINEL_HUB_CLIENT_ID and SENTINEL_HUB_CLIENT_SECRET in {env_file} (see README, 'Configuring Sentinel Hub')"
    )]
    MissingCredentials {
        /// The `.env` file to edit.
        env_file: String,
    },
    /// The token service knows the client id but refused the secret.
    #[error(
        "wrong client secret: the {label} token service at {token_url} knows client id '{client_id}' but refused its secret ({detail}); copy SENTINEL_HUB_CLIENT_SECRET again from the account's OAuth client page"
    )]
    WrongSecret {
        /// Service name.
        label: &'static str,
        /// Token URL.
        token_url: String,
        /// The client id (not secret).
        client_id: String,
        /// The server's error and description.
        detail: String,
    },
    /// The token service does not know the client: usually credentials of the other deployment.
    #[error(
        "the {label} token service at {token_url} does not accept client id '{client_id}' ({detail}): wrong deployment for these credentials? Commercial Sentinel Hub and Copernicus Data Space credentials do not cross: set SENTINEL_HUB_DEPLOYMENT to the service where this OAuth client was created (commercial or cdse){hint}; if the deployment is right, check the client id and secret"
    )]
    WrongDeployment {
        /// Service name.
        label: &'static str,
        /// Token URL.
        token_url: String,
        /// The client id (not secret).
        client_id: String,
        /// The server's error and description.
        detail: String,
        /// An extra hint from the form of the client id, or empty.
        hint: String,
    },
    /// The host could not be reached (DNS, refused connection, TLS, timeout), after retries.
    #[error(
        "cannot reach {url}: {detail}; check the network, SENTINEL_HUB_BASE_URL / SENTINEL_HUB_TOKEN_URL and SENTINEL_HUB_DEPLOYMENT ({deployment})"
    )]
    Unreachable {
        /// The URL called.
        url: String,
        /// What failed.
        detail: String,
        /// The configured deployment.
        deployment: Deployment,
    },
    /// HTTP 429 beyond the bounded total wait.
    #[error(
        "rate limited by {url}: the service still answered 429 Too Many Requests after waiting {waited_s:.0} s in total (last Retry-After {retry_after_s:.1} s); the account's per-minute or monthly quota is exhausted: try again later or lower the number of dates"
    )]
    RateLimited {
        /// The URL called.
        url: String,
        /// Total time waited for this request, seconds.
        waited_s: f64,
        /// The last Retry-After, seconds.
        retry_after_s: f64,
    },
    /// HTTP 403: no permission, expired account or exhausted quota.
    #[error(
        "access denied (HTTP 403) by {url}: {message}; the account may lack permission for this collection, be expired, or have exhausted its processing units"
    )]
    Forbidden {
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// HTTP 402, or 403 naming the quota: the account's monthly processing units are spent.
    #[error(
        "the processing-unit quota of this account is used up for this month ({message}); HTTP {status} from {url}: the dates downloaded so far are kept, run again after the quota resets (on the 1st for Copernicus Data Space) to fetch only the missing ones"
    )]
    QuotaExhausted {
        /// The status code (402 or 403).
        status: u16,
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// A base or token URL that would send credentials in clear text.
    #[error(
        "{key} is {url}: plain http:// sends the client secret and tokens unencrypted; use https:// (http:// is accepted only for loopback addresses: 127.0.0.0/8, ::1, localhost)"
    )]
    InsecureUrl {
        /// The setting.
        key: &'static str,
        /// Its value.
        url: String,
    },
    /// HTTP 401 from a data API even with a fresh token.
    #[error(
        "unauthorised (HTTP 401) by {url} even with a fresh token: {message}; check that the OAuth client belongs to this deployment"
    )]
    Unauthorized {
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Any other HTTP error (4xx at once, 5xx after retries).
    #[error("HTTP {status} from {url}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// The answer was not what the API promises (bad JSON, tar or image).
    #[error("invalid response from {url}: {detail}")]
    BadResponse {
        /// The URL called.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The area needs more than 2500 px on a side.
    #[error(
        "the area needs {width} x {height} px at 10 m, over the Process API limit of 2500 px per side; use a smaller area (at most 25 km per side) or split it into several runs"
    )]
    AreaTooLarge {
        /// Columns needed.
        width: usize,
        /// Rows needed.
        height: usize,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
}
