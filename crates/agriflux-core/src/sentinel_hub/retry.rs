//! Retry bounds and the parsing of every duration a server gives (`Retry-After`,
//! `expires_in`): a server can slow the client down, never make it spin, hang or panic.

use std::time::Duration;

/// Retry and rate-limit bounds. Every field is injectable so tests can use milliseconds; the
/// defaults suit the real services.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts for 5xx, connection resets and timeouts (the first try included).
    pub attempts: u32,
    /// First backoff; doubled after each failure.
    pub base_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Longest total wait on 429 answers for one request.
    pub max_rate_wait: Duration,
    /// Wait after a 429 without a usable `Retry-After` (absent, 0, unreadable): the first
    /// such wait; it doubles with each further 429 of the same request.
    pub default_retry_after: Duration,
    /// Shortest wait after any 429, whatever `Retry-After` says (0 would mean a busy loop).
    pub min_rate_wait: Duration,
    /// Longest single wait a server's `Retry-After` can ask for.
    pub max_retry_after: Duration,
    /// Most HTTP requests one call may send (all retries included).
    pub max_requests: u32,
    /// Shortest token lifetime believed, whatever `expires_in` says.
    pub min_token_lifetime: Duration,
    /// Longest token lifetime believed.
    pub max_token_lifetime: Duration,
    /// Timeout of one whole HTTP exchange.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_rate_wait: Duration::from_secs(120),
            default_retry_after: Duration::from_secs(30),
            min_rate_wait: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
            max_requests: 30,
            min_token_lifetime: Duration::from_secs(30),
            max_token_lifetime: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retrying the `n`-th consecutive 429 (1-based) of one request.
    ///
    /// `Retry-After` is in milliseconds on Sentinel Hub; it is clamped to
    /// [`min_rate_wait`, `max_retry_after`]. Without a usable value the wait grows
    /// exponentially from `default_retry_after`, with up to 25 % random jitter so that
    /// concurrent clients do not come back in lockstep.
    pub fn rate_wait(&self, retry_after: Option<&str>, n: u32) -> Duration {
        let floor = self.min_rate_wait.min(self.max_retry_after);
        let given = retry_after
            .and_then(parse_seconds_f64)
            .map(|ms| ms / 1000.0)
            .filter(|s| *s > 0.0);
        let wait = match given {
            Some(s) => clamp_secs(s, floor, self.max_retry_after),
            None => {
                let factor = 2f64.powi(n.saturating_sub(1).min(16) as i32);
                let jitter = 1.0 + rand::random::<f64>() * 0.25;
                let base = self.default_retry_after.max(floor).as_secs_f64();
                clamp_secs(base * factor * jitter, floor, self.max_retry_after)
            }
        };
        wait.max(floor)
    }

    /// How long a token with this `expires_in` (seconds, any JSON value) is believed valid,
    /// clamped to [`min_token_lifetime`, `max_token_lifetime`]; unreadable means one hour.
    pub fn token_lifetime(&self, expires_in: &serde_json::Value) -> Duration {
        let secs = match expires_in {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => parse_seconds_f64(s),
            _ => None,
        }
        .unwrap_or(3600.0);
        clamp_secs(secs, self.min_token_lifetime, self.max_token_lifetime)
    }

    /// Exponential backoff after the `failures`-th transient failure (1-based).
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2f64.powi(failures.saturating_sub(1).min(16) as i32);
        clamp_secs(
            self.base_backoff.as_secs_f64() * factor,
            Duration::ZERO,
            self.max_backoff,
        )
    }
}

/// A finite number from a header value, or `None` (never panics: NaN, inf, text, empty).
fn parse_seconds_f64(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `secs` as a duration within `[lo, hi]`; NaN and negative values give `lo`.
fn clamp_secs(secs: f64, lo: Duration, hi: Duration) -> Duration {
    let hi = hi.max(lo);
    if !secs.is_finite() || secs <= lo.as_secs_f64() {
        return lo;
    }
    if secs >= hi.as_secs_f64() {
        return hi;
    }
    // In range, so finite, non-negative and no larger than `hi`: cannot panic.
    Duration::from_secs_f64(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            default_retry_after: Duration::from_millis(100),
            min_rate_wait: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn retry_after_zero_or_missing_waits_a_growing_minimum() {
        let p = policy();
        for header in [
            None,
            Some("0"),
            Some("-5"),
            Some("NaN"),
            Some("soon"),
            Some(""),
        ] {
            let first = p.rate_wait(header, 1);
            let third = p.rate_wait(header, 3);
            assert!(first >= Duration::from_millis(100), "{header:?}: {first:?}");
            assert!(first <= Duration::from_millis(125), "{header:?}: {first:?}");
            assert!(third >= Duration::from_millis(400), "{header:?}: {third:?}");
        }
    }

    #[test]
    fn absurd_retry_after_is_clamped_without_panic() {
        let p = policy();
        for header in ["1e300", "inf", "18446744073709551616000", "99999999999"] {
            assert!(
                p.rate_wait(Some(header), 1) <= Duration::from_secs(5),
                "{header}"
            );
        }
        assert_eq!(p.rate_wait(Some("1"), 1), Duration::from_millis(10));
        assert_eq!(p.rate_wait(Some("800"), 1), Duration::from_millis(800));
        // Far more 429s than any call sends: still bounded.
        assert!(p.rate_wait(None, u32::MAX) <= Duration::from_secs(5));
    }

    #[test]
    fn absurd_expires_in_is_clamped_without_panic() {
        let p = RetryPolicy::default();
        let day = Duration::from_secs(24 * 3600);
        for v in [
            json!(-1),
            json!(0),
            json!(1e308),
            json!("NaN"),
            json!("x"),
            json!(null),
            json!(u64::MAX),
        ] {
            let life = p.token_lifetime(&v);
            assert!(
                life >= Duration::from_secs(30) && life <= day,
                "{v}: {life:?}"
            );
        }
        assert_eq!(p.token_lifetime(&json!(600)), Duration::from_secs(600));
        assert_eq!(p.token_lifetime(&json!("600")), Duration::from_secs(600));
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(500));
        assert_eq!(p.backoff(2), Duration::from_secs(1));
        assert_eq!(p.backoff(100), Duration::from_secs(8));
    }
}
