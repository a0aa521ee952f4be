//! [`RetryPolicy`]: when the Streamable HTTP client sends a POST again.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// When the Streamable HTTP client sends a message again, given to
/// [`HttpClientConfig::retry`](super::HttpClientConfig::retry). On by default
/// ([`RetryPolicy::new`]); [`RetryPolicy::none`] turns it off.
///
/// - A POST that could not connect (the server never saw it) is sent again, whatever it
///   carries.
/// - A `429 Too Many Requests` or `503 Service Unavailable` answer is retried only for
///   requests that change nothing, so sending them twice is harmless: `ping`,
///   `server/discover`, the lists (`tools/list`, `prompts/list`, `resources/list`,
///   `resources/templates/list`) and `resources/read`. A `tools/call` the server may have
///   started is never sent twice.
///
/// Between attempts the client waits the server's `Retry-After` when it gives one (in
/// seconds, or an HTTP date as RFC 9110 allows: a date in the past means at once), else
/// an exponential backoff (`base_delay`, doubling, at most `max_delay`) with jitter (a
/// random wait between half and all of it). It gives up, returning the last answer or
/// error, after `max_retries` retries, when `Retry-After` asks for longer than
/// `max_delay`, or when the next retry would start more than `max_total` after the first
/// attempt (so a connect that timed out is not tried again at length).
///
/// ```
/// use std::time::Duration;
/// use oxmcp::client::{HttpClientConfig, RetryPolicy};
///
/// let config = HttpClientConfig::new("https://example.com/mcp").retry(
///     RetryPolicy::new()
///         .max_retries(5)
///         .base_delay(Duration::from_millis(200))
///         .max_delay(Duration::from_secs(10)),
/// );
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// The default of every [`HttpClientConfig`](super::HttpClientConfig): at most 3
    /// retries, from 100 ms, waiting at most 5 s between two attempts and retrying for at
    /// most 10 s in all.
    pub fn new() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_total: Duration::from_secs(10),
        }
    }

    /// Never sends a message again: every failure and every `429` or `503` is returned at
    /// once.
    pub fn none() -> Self {
        RetryPolicy::new().max_retries(0)
    }

    /// How many times one message is sent again at most (default 3; 0 never retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry, doubled for each next one (default 100 ms).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait between two attempts (default 5 s); a `Retry-After` longer than
    /// this ends the retries.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How long after the first attempt a retry may still start (default 10 s): the
    /// bound of the whole wait, attempts included.
    pub fn max_total(mut self, total: Duration) -> Self {
        self.max_total = total;
        self
    }

    /// Whether this policy never retries.
    pub(crate) fn is_none(&self) -> bool {
        self.max_retries == 0
    }

    /// The wait before retry number `attempt` (0 for the first), `None` to give up: the
    /// server's `retry_after` when it gave one within `max_delay`, else the jittered
    /// exponential backoff. For code that retries its own HTTP calls (an MCP server that
    /// wraps an API) with the policy this client uses; it does not apply `max_total`,
    /// which needs the time since the first attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmcp::client::RetryPolicy;
    ///
    /// let policy = RetryPolicy::new().max_retries(2);
    /// assert_eq!(policy.delay(0, Some(Duration::from_secs(1))), Some(Duration::from_secs(1)));
    /// assert!(policy.delay(1, None).is_some());
    /// assert_eq!(policy.delay(2, None), None);
    /// ```
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        self.delay_within(attempt, retry_after, Duration::ZERO)
    }

    /// The wait before retry number `attempt` (0 for the first), `elapsed` after the first
    /// attempt began; `None` to give up.
    pub(crate) fn delay_within(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let wait = match retry_after {
            Some(asked) if asked > self.max_delay => return None,
            Some(asked) => asked,
            None => jitter(
                self.base_delay
                    .saturating_mul(2u32.saturating_pow(attempt))
                    .min(self.max_delay),
            ),
        };
        (elapsed.saturating_add(wait) <= self.max_total).then_some(wait)
    }

    /// The delay a `Retry-After` header asks for: seconds, or an HTTP date (zero when the
    /// date has passed).
    pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
        retry_after(headers)
    }
}

/// Whether sending this method twice is harmless, so that a 429 or 503 may be retried.
pub(crate) fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "ping"
            | "server/discover"
            | "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
    )
}

/// The delay a `Retry-After` header asks for: seconds, or an HTTP date (RFC 9110: the
/// IMF-fixdate, and the obsolete RFC 850 and asctime forms), zero when that date has
/// passed; `None` without a header, or one that is neither (the backoff applies then).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A random wait between half of `delay` and all of it, so that clients refused at once
/// do not all come back at once.
fn jitter(delay: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let half = delay / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(random % nanos.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_stops_after_max_retries() {
        let policy = RetryPolicy::new()
            .max_retries(4)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(300));
        let bounds = [(50, 100), (100, 200), (150, 300), (150, 300)];
        for (attempt, (low, high)) in (0..).zip(bounds) {
            let wait = policy.delay_within(attempt, None, Duration::ZERO).unwrap();
            assert!(
                wait >= Duration::from_millis(low) && wait <= Duration::from_millis(high),
                "attempt {attempt}: {wait:?}"
            );
        }
        assert_eq!(policy.delay_within(4, None, Duration::ZERO), None);
        assert_eq!(
            RetryPolicy::none().delay_within(0, None, Duration::ZERO),
            None
        );
    }

    #[test]
    fn retries_stop_once_the_total_wait_would_pass_its_bound() {
        let policy = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_total(Duration::from_secs(1));
        let second = Duration::from_secs(1);
        assert!(policy.delay_within(0, None, Duration::ZERO).is_some());
        assert_eq!(
            policy.delay_within(0, Some(Duration::ZERO), second),
            Some(Duration::ZERO)
        );
        assert_eq!(policy.delay_within(0, None, second), None);
        assert_eq!(
            policy.delay_within(
                1,
                Some(Duration::from_millis(600)),
                Duration::from_millis(500)
            ),
            None
        );
        // A connect that took 30 s to time out is not tried again.
        assert_eq!(policy.delay_within(0, None, Duration::from_secs(30)), None);
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap_and_ends_retries_beyond_it() {
        let policy = RetryPolicy::new().max_delay(Duration::from_secs(5));
        assert_eq!(
            policy.delay_within(0, Some(Duration::from_secs(2)), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            policy.delay_within(0, Some(Duration::from_secs(60)), Duration::ZERO),
            None
        );
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None, "neither seconds nor a date");
    }

    #[test]
    fn retry_after_reads_http_dates_in_every_rfc_9110_form() {
        // 2015-10-21 07:28:00 UTC.
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let now = date - Duration::from_secs(90);
        let mut headers = HeaderMap::new();
        for form in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            headers.insert(http::header::RETRY_AFTER, form.parse().unwrap());
            assert_eq!(
                retry_after_at(&headers, now),
                Some(Duration::from_secs(90)),
                "{form}"
            );
        }
        // A date in the past: at once.
        let later = date + Duration::from_secs(3600);
        assert_eq!(retry_after_at(&headers, later), Some(Duration::ZERO));
        // A date far ahead asks for longer than the policy waits: no retry.
        let long_before = date - Duration::from_secs(86_400);
        let asked = retry_after_at(&headers, long_before);
        assert_eq!(asked, Some(Duration::from_secs(86_400)));
        assert_eq!(
            RetryPolicy::new().delay_within(0, asked, Duration::ZERO),
            None
        );
    }

    #[test]
    fn only_requests_that_change_nothing_are_idempotent() {
        for method in ["ping", "server/discover", "tools/list", "resources/read"] {
            assert!(idempotent(method), "{method}");
        }
        for method in [
            "tools/call",
            "prompts/get",
            "initialize",
            "completion/complete",
        ] {
            assert!(!idempotent(method), "{method}");
        }
    }
}
