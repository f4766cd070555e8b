//! The HTTP side: one agent, one OAuth token shared by every request, bounded retries and a
//! rate limiter shared by all concurrent downloads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::ShError;
use super::redact::{form_encode, redact};
pub use super::retry::RetryPolicy;
use crate::settings::SentinelHubSettings;
use agriflux_base::CancelToken;

/// A pause every request waits for: set by a 429 answer, honoured by all workers.
#[derive(Debug, Default)]
pub struct RateLimiter {
    blocked_until: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// Makes every request wait at least `wait` from now.
    pub fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut guard = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none_or(|t| t < until) {
            *guard = Some(until);
        }
    }

    /// Sleeps until no pause is in force (or the run is cancelled).
    pub fn wait(&self, cancel: &CancelToken) -> Result<(), ShError> {
        loop {
            let until = *self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => sleep_until(t, cancel)?,
                _ => return Ok(()),
            }
        }
    }
}

/// Sleeps until `t` in short slices so a cancel is noticed quickly.
fn sleep_until(t: Instant, cancel: &CancelToken) -> Result<(), ShError> {
    loop {
        if cancel.is_cancelled() {
            return Err(ShError::Cancelled);
        }
        let now = Instant::now();
        if now >= t {
            return Ok(());
        }
        std::thread::sleep((t - now).min(Duration::from_millis(50)));
    }
}

/// A cached OAuth token.
#[derive(Clone, Debug)]
struct Token {
    value: String,
    refresh_at: Instant,
}

/// A successful HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Processing units from `x-processingunits-spent`, if present.
    pub processing_units: Option<f64>,
    /// The body.
    pub body: Vec<u8>,
}

/// Messages the client wants shown (e.g. "rate limited, retrying in 3 s").
pub type Notices = Arc<Mutex<Vec<String>>>;

/// A Sentinel Hub HTTP client: token cache, retries, shared rate limiter, usage counters.
pub struct Client {
    agent: ureq::Agent,
    settings: SentinelHubSettings,
    policy: RetryPolicy,
    token: Mutex<Option<Token>>,
    limiter: RateLimiter,
    notices: Notices,
    processing_units: Mutex<f64>,
}

/// Largest response body accepted (a 2500 x 2500 tar of 4 x u16 + 2 x u8 is about 75 MB).
const MAX_BODY: u64 = 512 * 1024 * 1024;

impl Client {
    /// A client for the configured service (fails when the credentials are missing).
    pub fn new(settings: SentinelHubSettings, policy: RetryPolicy) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.request_timeout))
            .timeout_connect(Some(Duration::from_secs(20)))
            .build()
            .into();
        Self {
            agent,
            settings,
            policy,
            token: Mutex::new(None),
            limiter: RateLimiter::default(),
            notices: Arc::new(Mutex::new(Vec::new())),
            processing_units: Mutex::new(0.0),
        }
    }

    /// The service settings.
    pub fn settings(&self) -> &SentinelHubSettings {
        &self.settings
    }

    /// Notices not yet shown, oldest first (drained).
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Processing units spent by this client so far.
    pub fn processing_units(&self) -> f64 {
        *self
            .processing_units
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn notice(&self, message: String) {
        tracing::warn!("{message}");
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }

    /// A valid access token: the cached one, or a new one (one refresh at a time).
    pub fn access_token(&self, cancel: &CancelToken) -> Result<String, ShError> {
        // Holding the lock during the refresh keeps it to one token request in flight.
        let mut guard = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = guard.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let token = self.fetch_token(cancel)?;
        let value = token.value.clone();
        *guard = Some(token);
        Ok(value)
    }

    fn invalidate_token(&self, used: &str) {
        let mut guard = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_some_and(|t| t.value == used) {
            *guard = None;
        }
    }

    fn fetch_token(&self, cancel: &CancelToken) -> Result<Token, ShError> {
        let s = &self.settings;
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            form_encode(&s.client_id),
            form_encode(s.client_secret.expose())
        );
        let url = s.token_url.clone();
        let reply = self.execute(
            &url,
            None,
            |agent| {
                agent
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Accept", "application/json")
                    .send(body.as_bytes())
            },
            cancel,
        );
        let reply = match reply {
            Ok(r) => r,
            Err(ShError::Http {
                status: 400,
                message,
                ..
            }) if message.contains("client") || message.contains("secret") => {
                return Err(self.credential_error(&message));
            }
            Err(ShError::Unauthorized { message, .. }) => {
                return Err(self.credential_error(&message));
            }
            Err(e) => return Err(e),
        };
        let json: serde_json::Value =
            serde_json::from_slice(&reply.body).map_err(|e| ShError::BadResponse {
                url: url.clone(),
                detail: format!("token answer is not JSON: {e}"),
            })?;
        let value = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ShError::BadResponse {
                url: url.clone(),
                detail: "token answer has no access_token".into(),
            })?
            .to_string();
        let lifetime = self.policy.token_lifetime(&json["expires_in"]);
        // Refresh 120 s before expiry, or halfway for short-lived tokens.
        let margin = (lifetime / 2).min(Duration::from_secs(120));
        Ok(Token {
            value,
            refresh_at: Instant::now() + (lifetime - margin),
        })
    }

    /// Maps a 400/401 of the token service to a wrong secret or a wrong deployment.
    fn credential_error(&self, message: &str) -> ShError {
        let s = &self.settings;
        let lower = message.to_ascii_lowercase();
        let label = s.deployment.label();
        if lower.contains("secret") || lower.contains("unauthorized_client") {
            return ShError::WrongSecret {
                label,
                token_url: s.token_url.clone(),
                client_id: s.client_id.clone(),
                detail: message.to_string(),
            };
        }
        let hint = match s.deployment {
            crate::settings::Deployment::Commercial if s.client_id.starts_with("sh-") => {
                " (a client id starting with 'sh-' is a Copernicus Data Space client: try SENTINEL_HUB_DEPLOYMENT=cdse)".to_string()
            }
            crate::settings::Deployment::Cdse if !s.client_id.starts_with("sh-") => {
                " (Copernicus Data Space client ids start with 'sh-': this one looks like a commercial Sentinel Hub client, try SENTINEL_HUB_DEPLOYMENT=commercial)".to_string()
            }
            _ => String::new(),
        };
        ShError::WrongDeployment {
            label,
            token_url: s.token_url.clone(),
            client_id: s.client_id.clone(),
            detail: message.to_string(),
            hint,
        }
    }

    /// POSTs JSON to an API path with the bearer token; refreshes the token once on 401.
    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        accept: &str,
        cancel: &CancelToken,
    ) -> Result<Reply, ShError> {
        let url = format!("{}{path}", self.settings.base_url);
        let bytes = serde_json::to_vec(body).expect("JSON serialises");
        let mut refreshed = false;
        loop {
            let token = self.access_token(cancel)?;
            let result = self.execute(
                &url,
                Some(&token),
                |agent| {
                    agent
                        .post(&url)
                        .header("Authorization", &format!("Bearer {token}"))
                        .header("Content-Type", "application/json")
                        .header("Accept", accept)
                        .send(&bytes[..])
                },
                cancel,
            );
            match result {
                Err(ShError::Unauthorized { .. }) if !refreshed => {
                    refreshed = true;
                    self.invalidate_token(&token);
                }
                Ok(reply) => {
                    if let Some(pu) = reply.processing_units {
                        *self
                            .processing_units
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) += pu;
                    }
                    return Ok(reply);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Server or network text made safe to show: the secret, form data and tokens redacted.
    fn clean(&self, text: &str) -> String {
        redact(text, self.settings.client_secret.expose())
    }

    /// Sends one request with retries: 429 waits `Retry-After` (shared, clamped, never less
    /// than a growing minimum), 5xx and transport errors back off exponentially, other
    /// statuses fail at once. The total 429 wait and the number of requests are bounded, so a
    /// call ends whatever the server answers.
    fn execute(
        &self,
        url: &str,
        _token: Option<&str>,
        send: impl Fn(&ureq::Agent) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        cancel: &CancelToken,
    ) -> Result<Reply, ShError> {
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        let mut requests = 0u32;
        let mut rate_waited = Duration::ZERO;
        loop {
            self.limiter.wait(cancel)?;
            if cancel.is_cancelled() {
                return Err(ShError::Cancelled);
            }
            requests += 1;
            let outcome = send(&self.agent).and_then(|mut resp| {
                let status = resp.status().as_u16();
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.trim().to_string())
                };
                let retry_after = header("retry-after");
                let pu = header("x-processingunits-spent")
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|pu| pu.is_finite() && *pu >= 0.0);
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()?;
                Ok((status, retry_after, pu, body))
            });
            let out_of_requests = requests >= self.policy.max_requests.max(1);
            let transient = match outcome {
                Ok((status @ 200..=299, _, processing_units, body)) => {
                    return Ok(Reply {
                        status,
                        processing_units,
                        body,
                    });
                }
                Ok((429, retry_after, _, _)) => {
                    rate_limited += 1;
                    let wait = self.policy.rate_wait(retry_after.as_deref(), rate_limited);
                    if out_of_requests || rate_waited + wait > self.policy.max_rate_wait {
                        return Err(ShError::RateLimited {
                            url: url.to_string(),
                            waited_s: rate_waited.as_secs_f64(),
                            retry_after_s: wait.as_secs_f64(),
                        });
                    }
                    rate_waited += wait;
                    self.notice(format!(
                        "rate limited, retrying in {:.1} s (HTTP 429 from {url})",
                        wait.as_secs_f64()
                    ));
                    self.limiter.block_for(wait);
                    continue;
                }
                Ok((status @ 500..=599, _, _, body)) => ShError::Http {
                    status,
                    url: url.to_string(),
                    message: self.clean(&error_message(&body)),
                },
                Ok((401, _, _, body)) => {
                    return Err(ShError::Unauthorized {
                        url: url.to_string(),
                        message: self.clean(&error_message(&body)),
                    });
                }
                Ok((status @ (402 | 403), _, _, body)) => {
                    let message = self.clean(&error_message(&body));
                    return Err(if status == 402 || names_quota(&body) {
                        ShError::QuotaExhausted {
                            status,
                            url: url.to_string(),
                            message,
                        }
                    } else {
                        ShError::Forbidden {
                            url: url.to_string(),
                            message,
                        }
                    });
                }
                Ok((status, _, _, body)) => {
                    return Err(ShError::Http {
                        status,
                        url: url.to_string(),
                        message: self.clean(&error_message(&body)),
                    });
                }
                Err(e) => match e {
                    ureq::Error::BodyExceedsLimit(n) => {
                        return Err(ShError::BadResponse {
                            url: url.to_string(),
                            detail: format!("answer larger than {n} bytes"),
                        });
                    }
                    other => ShError::Unreachable {
                        url: url.to_string(),
                        detail: self.clean(&transport_detail(&other)),
                        deployment: self.settings.deployment,
                    },
                },
            };
            failures += 1;
            if failures >= self.policy.attempts || out_of_requests {
                return Err(transient);
            }
            let backoff = self.policy.backoff(failures);
            self.notice(format!(
                "{transient}; retrying in {:.1} s (attempt {} of {})",
                backoff.as_secs_f64(),
                failures + 1,
                self.policy.attempts
            ));
            sleep_until(Instant::now() + backoff, cancel)?;
        }
    }
}

/// Whether a 403 body says the quota (processing units or requests) is spent rather than
/// that permission is missing.
fn names_quota(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    [
        "quota",
        "processing unit",
        "insufficient_pu",
        "exceeded your",
    ]
    .iter()
    .any(|k| text.contains(k))
}

/// A short description of a transport error.
fn transport_detail(e: &ureq::Error) -> String {
    match e {
        ureq::Error::HostNotFound => "host not found (DNS)".into(),
        ureq::Error::ConnectionFailed => "connection refused or failed".into(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => other.to_string(),
    }
}

/// The server's message from an error body: `error.message`, then `message`,
/// `description`, `error_description` (with `error`), then the raw text.
pub fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body).trim().to_string();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(m) = json["error"]["message"].as_str() {
            return m.to_string();
        }
        for key in ["message", "description"] {
            if let Some(m) = json[key].as_str() {
                return m.to_string();
            }
        }
        if let Some(m) = json["error_description"].as_str() {
            return match json["error"].as_str() {
                Some(code) => format!("{code}: {m}"),
                None => m.to_string(),
            };
        }
        if let Some(code) = json["error"].as_str() {
            return code.to_string();
        }
    }
    if text.is_empty() {
        "(empty answer)".into()
    } else {
        text.chars().take(500).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode("a b&c=d+e/é"), "a+b%26c%3Dd%2Be%2F%C3%A9");
    }

    #[test]
    fn error_messages_in_every_known_shape() {
        let m = error_message(br#"{"error":{"status":400,"reason":"Bad Request","message":"bad bbox","code":"COMMON_BAD_PAYLOAD"}}"#);
        assert_eq!(m, "bad bbox");
        assert_eq!(
            error_message(br#"{"code":401,"description":"expired"}"#),
            "expired"
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_client","error_description":"Invalid client"}"#),
            "invalid_client: Invalid client"
        );
        assert_eq!(error_message(b"plain text"), "plain text");
    }

    #[test]
    fn limiter_blocks_every_waiter() {
        let limiter = RateLimiter::default();
        limiter.block_for(Duration::from_millis(120));
        let start = Instant::now();
        limiter.wait(&CancelToken::new()).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(110));
    }
}
