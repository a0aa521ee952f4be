//! [`RetryPolicy`]: when the Streamable HTTP client sends a POST again.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use http::HeaderMap;

/// When the Streamable HTTP client sends a message again, given to
/// [`HttpClientConfig::retry`](super::HttpClientConfig::retry).
///
/// - A POST that could not connect (the server never saw it) is sent again, whatever it
///   carries.
/// - A `429 Too Many Requests` or `503 Service Unavailable` answer is retried only for
///   requests that change nothing, so sending them twice is harmless: `ping`,
///   `server/discover`, the lists (`tools/list`, `prompts/list`, `resources/list`,
///   `resources/templates/list`) and `resources/read`. A `tools/call` the server may have
///   started is never sent twice.
///
/// Between attempts the client waits the server's `Retry-After` (in seconds) when it
/// gives one, else an exponential backoff (`base_delay`, doubling, at most `max_delay`)
/// with jitter (a random wait between half and all of it). It gives up, returning the
/// last answer or error, after `max_retries` retries or when `Retry-After` asks for
/// longer than `max_delay`.
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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// At most 3 retries, from 100 ms, waiting at most 5 s between two attempts.
    pub fn new() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
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

    /// The wait before retry number `attempt` (0 for the first), `None` to give up: the
    /// server's `retry_after` when it gave one within `max_delay`, else the jittered
    /// exponential backoff. For code that retries its own HTTP calls (an MCP server that
    /// wraps an API) with the policy this client uses.
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
        if attempt >= self.max_retries {
            return None;
        }
        if let Some(asked) = retry_after {
            return (asked <= self.max_delay).then_some(asked);
        }
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        Some(jitter(backoff))
    }

    /// The delay a `Retry-After` header asks for, when given in seconds (an HTTP date is
    /// not read: the backoff applies then).
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

/// The delay of a `Retry-After` header given in seconds (an HTTP date is not read: the
/// backoff applies then).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
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
            let wait = policy.delay(attempt, None).unwrap();
            assert!(
                wait >= Duration::from_millis(low) && wait <= Duration::from_millis(high),
                "attempt {attempt}: {wait:?}"
            );
        }
        assert_eq!(policy.delay(4, None), None);
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap_and_ends_retries_beyond_it() {
        let policy = RetryPolicy::new().max_delay(Duration::from_secs(5));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), None);
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
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
