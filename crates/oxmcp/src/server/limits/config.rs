//! [`Limits`]: every bound of a server in one value, which a configuration file can set.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::RateLimit;

/// Every bound a server enforces, in one value: the timeouts, the byte bounds, the caps on
/// connections, sessions, streams and concurrent requests, and the rate limit. Give it to
/// [`Router::limits`](crate::server::Router::limits); stdio (and
/// [`serve_io`](crate::server::Router::serve_io)) and the Streamable HTTP server
/// (`serve_http`, `http_on`, `into_http_service`) apply the bounds that concern them.
///
/// A bound left unset keeps its default (each setter says what it is), and one set here
/// wins over the same bound set on [`HttpConfig`](crate::server::http::HttpConfig) or
/// [`HttpServe`](crate::server::http::HttpServe), so a file can tighten a deployment
/// without code changes. Durations in a file are written `"250ms"`, `"30s"`, `"5m"`,
/// `"1h"` (or a number of seconds); unknown keys are refused, with the list of known ones.
///
/// ```
/// use std::time::Duration;
/// use oxmcp::server::limits::{Limits, RateLimit};
/// use oxmcp::server::Router;
///
/// // In code...
/// let limits = Limits::new()
///     .request_timeout(Duration::from_secs(30))
///     .max_concurrent(64)
///     .rate_limit(RateLimit::per_second(10.0).burst(20))
///     .body_limit(1024 * 1024);
///
/// // ...or from a file (any serde format: TOML, JSON, YAML).
/// let from_file: Limits = serde_json::from_str(r#"{
///     "request_timeout": "30s",
///     "max_concurrent": 64,
///     "rate_limit": { "per_second": 10, "burst": 20 },
///     "body_limit": 1048576
/// }"#).unwrap();
/// assert_eq!(limits, from_file);
///
/// let router: Router = Router::new().limits(from_file);
/// # let _ = router;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    #[serde(deserialize_with = "duration")]
    pub(crate) request_timeout: Option<Duration>,
    #[serde(deserialize_with = "duration")]
    pub(crate) question_timeout: Option<Duration>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) max_concurrent: Option<usize>,
    pub(crate) max_concurrent_per_client: Option<usize>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) max_frame_bytes: Option<usize>,
    #[serde(deserialize_with = "duration")]
    pub(crate) shutdown_grace: Option<Duration>,
    pub(crate) body_limit: Option<usize>,
    #[serde(deserialize_with = "duration")]
    pub(crate) body_timeout: Option<Duration>,
    #[serde(deserialize_with = "duration")]
    pub(crate) header_timeout: Option<Duration>,
    pub(crate) max_connections: Option<usize>,
    #[serde(deserialize_with = "duration")]
    pub(crate) session_idle_timeout: Option<Duration>,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) max_sessions_per_peer: Option<usize>,
    pub(crate) max_streams_per_session: Option<usize>,
}

impl Limits {
    /// No bound set: every one keeps its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a request's handler may run before it is cancelled and answered with a
    /// timeout error (`request_timeout`; default: no bound). See
    /// [`Router::request_timeout`](crate::server::Router::request_timeout).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// How long a question to a legacy client waits for its answer (`question_timeout`;
    /// default 5 minutes). See
    /// [`Router::question_timeout`](crate::server::Router::question_timeout).
    pub fn question_timeout(mut self, timeout: Duration) -> Self {
        self.question_timeout = Some(timeout);
        self
    }

    /// How many requests one connection runs at once (`max_in_flight`; default 256). See
    /// [`Router::max_in_flight`](crate::server::Router::max_in_flight).
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max);
        self
    }

    /// How many handlers the whole server runs at once (`max_concurrent`; default: no
    /// bound). See [`Router::max_concurrent`](crate::server::Router::max_concurrent).
    pub fn max_concurrent(mut self, max: usize) -> Self {
        self.max_concurrent = Some(max);
        self
    }

    /// How many handlers one client runs at once (`max_concurrent_per_client`; default: no
    /// bound). See
    /// [`Router::max_concurrent_per_client`](crate::server::Router::max_concurrent_per_client).
    pub fn max_concurrent_per_client(mut self, max: usize) -> Self {
        self.max_concurrent_per_client = Some(max);
        self
    }

    /// How many requests one client may send (`rate_limit`, in a file
    /// `{ per_second = 5.0, burst = 20 }`; default: no limit). See
    /// [`Router::rate_limit`](crate::server::Router::rate_limit).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// The longest message (one line) read on stdio or [`serve_io`](crate::server::Router::serve_io)
    /// (`max_frame_bytes`; default 16 MiB, [`DEFAULT_MAX_FRAME`](crate::transport::DEFAULT_MAX_FRAME)).
    /// A longer one is skipped and answered with an error (-32600) that says so.
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = Some(bytes);
        self
    }

    /// How long the requests in flight may take to finish once the server stops
    /// (`shutdown_grace`; default 5 s on stdio, 10 s over HTTP). See
    /// [`Router::shutdown_grace`](crate::server::Router::shutdown_grace) and
    /// [`HttpServe::grace`](crate::server::http::HttpServe::grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// The largest HTTP request body (`body_limit`; default 4 MiB). See
    /// [`HttpConfig::body_limit`](crate::server::http::HttpConfig::body_limit).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// How long an HTTP request body may take to arrive (`body_timeout`; default 30 s). See
    /// [`HttpConfig::body_timeout`](crate::server::http::HttpConfig::body_timeout).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    /// How long an HTTP connection may take to send a request's headers, which is also how
    /// long an idle keep-alive connection is kept (`header_timeout`; default 30 s). See
    /// [`HttpServe::header_timeout`](crate::server::http::HttpServe::header_timeout).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = Some(timeout);
        self
    }

    /// How many HTTP connections are served at once (`max_connections`; default 512). See
    /// [`HttpServe::max_connections`](crate::server::http::HttpServe::max_connections).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// How long an unused legacy session lives (`session_idle_timeout`; default 30
    /// minutes). See
    /// [`HttpConfig::session_idle_timeout`](crate::server::http::HttpConfig::session_idle_timeout).
    pub fn session_idle_timeout(mut self, idle: Duration) -> Self {
        self.session_idle_timeout = Some(idle);
        self
    }

    /// How many legacy sessions live at once (`max_sessions`; default 10,000). See
    /// [`HttpConfig::max_sessions`](crate::server::http::HttpConfig::max_sessions).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = Some(max);
        self
    }

    /// How many legacy sessions one peer address holds (`max_sessions_per_peer`; default
    /// 1,000). See
    /// [`HttpConfig::max_sessions_per_peer`](crate::server::http::HttpConfig::max_sessions_per_peer).
    pub fn max_sessions_per_peer(mut self, max: usize) -> Self {
        self.max_sessions_per_peer = Some(max);
        self
    }

    /// How many SSE streams one legacy session holds open (`max_streams_per_session`;
    /// default 16). See
    /// [`HttpConfig::max_streams_per_session`](crate::server::http::HttpConfig::max_streams_per_session).
    pub fn max_streams_per_session(mut self, max: usize) -> Self {
        self.max_streams_per_session = Some(max);
        self
    }

    /// The router-level bounds, set on `settings` (and the connection's in-flight bound and
    /// grace).
    pub(crate) fn apply_router(
        &self,
        settings: &mut super::Settings,
        max_in_flight: &mut usize,
        grace: &mut Duration,
    ) {
        if let Some(timeout) = self.request_timeout {
            settings.request = Some(timeout);
        }
        settings.question = self.question_timeout.unwrap_or(settings.question);
        if let Some(max) = self.max_concurrent {
            settings.concurrent = Some(max.max(1));
        }
        if let Some(max) = self.max_concurrent_per_client {
            settings.concurrent_per_client = Some(max.max(1));
        }
        if let Some(rate) = self.rate_limit {
            settings.rate = Some(rate);
        }
        *max_in_flight = self.max_in_flight.map_or(*max_in_flight, |m| m.max(1));
        *grace = self.shutdown_grace.unwrap_or(*grace);
        settings.given = Some(Box::new(self.clone()));
    }

    /// The longest line a newline-delimited connection reads.
    pub(crate) fn max_frame(given: Option<&Limits>) -> usize {
        given
            .and_then(|l| l.max_frame_bytes)
            .unwrap_or(crate::transport::DEFAULT_MAX_FRAME)
            .max(1)
    }

    /// The HTTP endpoint's bounds, set on `config`.
    #[cfg(feature = "http-server")]
    pub(crate) fn apply_http(
        &self,
        config: crate::server::http::HttpConfig,
    ) -> crate::server::http::HttpConfig {
        use crate::server::http::HttpConfig;
        fn set<T>(
            config: HttpConfig,
            value: Option<T>,
            f: fn(HttpConfig, T) -> HttpConfig,
        ) -> HttpConfig {
            match value {
                Some(value) => f(config, value),
                None => config,
            }
        }
        let config = set(config, self.body_limit, HttpConfig::body_limit);
        let config = set(config, self.body_timeout, HttpConfig::body_timeout);
        let config = set(
            config,
            self.session_idle_timeout,
            HttpConfig::session_idle_timeout,
        );
        let config = set(config, self.max_sessions, HttpConfig::max_sessions);
        let config = set(
            config,
            self.max_sessions_per_peer,
            HttpConfig::max_sessions_per_peer,
        );
        set(
            config,
            self.max_streams_per_session,
            HttpConfig::max_streams_per_session,
        )
    }

    /// The HTTP server's connection bounds and grace, set on its settings.
    #[cfg(feature = "http-server")]
    pub(crate) fn apply_serve(
        &self,
        grace: &mut Duration,
        header_timeout: &mut Option<Duration>,
        max_connections: &mut usize,
    ) {
        *grace = self.shutdown_grace.unwrap_or(*grace);
        if let Some(timeout) = self.header_timeout {
            *header_timeout = Some(timeout);
        }
        *max_connections = self.max_connections.map_or(*max_connections, |m| m.max(1));
    }
}

/// A duration from a configuration file: `"250ms"`, `"30s"`, `"1.5s"`, `"5m"`, `"1h"`,
/// `"20us"`, or a number of seconds.
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    struct Read;
    impl Visitor<'_> for Read {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration: a number of seconds, or a string such as \"250ms\", \"30s\", \"5m\", \"1h\"")
        }
        fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(secs))
        }
        fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Duration, E> {
            u64::try_from(secs)
                .map(Duration::from_secs)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(secs), &self))
        }
        fn visit_f64<E: de::Error>(self, secs: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(secs)
                .map_err(|_| E::invalid_value(de::Unexpected::Float(secs), &self))
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            parse_duration(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
        }
    }
    deserializer.deserialize_any(Read).map(Some)
}

/// `"250ms"`, `"1.5s"`, `"5m"`, `"1h"`, `"20us"` (spaces around the unit allowed).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(number * scale).ok()
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Written {
            per_second: f64,
            burst: Option<u32>,
        }
        let written = Written::deserialize(deserializer)?;
        let limit = RateLimit::per_second(written.per_second);
        Ok(match written.burst {
            Some(burst) => limit.burst(burst),
            None => limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_people_write_them() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("250ms"), Some(ms(250)));
        assert_eq!(parse_duration("1.5s"), Some(ms(1500)));
        assert_eq!(parse_duration("5m"), Some(ms(300_000)));
        assert_eq!(parse_duration("1h"), Some(ms(3_600_000)));
        assert_eq!(parse_duration(" 20 us "), Some(Duration::from_micros(20)));
        assert_eq!(parse_duration("12"), Some(ms(12_000)));
        for bad in ["", "s", "5 parsecs", "-1s", "1e400s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_file_sets_every_bound() {
        let limits: Limits = serde_json::from_str(
            r#"{
                "request_timeout": "30s", "question_timeout": 60, "max_in_flight": 8,
                "max_concurrent": 64, "max_concurrent_per_client": 4,
                "rate_limit": {"per_second": 2.5, "burst": 5}, "max_frame_bytes": 65536,
                "shutdown_grace": "2s", "body_limit": 1000, "body_timeout": "3s",
                "header_timeout": "4s", "max_connections": 9, "session_idle_timeout": "5m",
                "max_sessions": 10, "max_sessions_per_peer": 2, "max_streams_per_session": 3
            }"#,
        )
        .unwrap();
        let secs = Duration::from_secs;
        let expected = Limits::new()
            .request_timeout(secs(30))
            .question_timeout(secs(60))
            .max_in_flight(8)
            .max_concurrent(64)
            .max_concurrent_per_client(4)
            .rate_limit(RateLimit::per_second(2.5).burst(5))
            .max_frame_bytes(65536)
            .shutdown_grace(secs(2))
            .body_limit(1000)
            .body_timeout(secs(3))
            .header_timeout(secs(4))
            .max_connections(9)
            .session_idle_timeout(secs(300))
            .max_sessions(10)
            .max_sessions_per_peer(2)
            .max_streams_per_session(3);
        assert_eq!(limits, expected);

        let mut settings = super::super::Settings::default();
        let (mut in_flight, mut grace) = (256, secs(5));
        limits.apply_router(&mut settings, &mut in_flight, &mut grace);
        assert_eq!(settings.request, Some(secs(30)));
        assert_eq!(settings.question, secs(60));
        assert_eq!(settings.concurrent, Some(64));
        assert_eq!(settings.concurrent_per_client, Some(4));
        assert_eq!(settings.rate, Some(RateLimit::per_second(2.5).burst(5)));
        assert_eq!((in_flight, grace), (8, secs(2)));
        assert_eq!(Limits::max_frame(Some(&limits)), 65536);

        #[cfg(feature = "http-server")]
        {
            let config = limits.apply_http(crate::server::http::HttpConfig::new());
            assert_eq!(config.body_limit, 1000);
            assert_eq!(config.body_timeout, secs(3));
            assert_eq!(config.session_idle, secs(300));
            assert_eq!(config.max_sessions, 10);
            assert_eq!(config.max_sessions_per_peer, 2);
            assert_eq!(config.max_streams_per_session, 3);
        }
    }

    #[test]
    fn unset_bounds_keep_their_defaults() {
        let limits: Limits = serde_json::from_str("{}").unwrap();
        let mut settings = super::super::Settings::default();
        let (mut in_flight, mut grace) = (256, Duration::from_secs(5));
        limits.apply_router(&mut settings, &mut in_flight, &mut grace);
        assert_eq!(settings.request, None);
        assert_eq!(settings.question, super::super::DEFAULT_QUESTION_TIMEOUT);
        assert_eq!((in_flight, grace), (256, Duration::from_secs(5)));
        assert_eq!(Limits::max_frame(None), crate::transport::DEFAULT_MAX_FRAME);
    }

    #[test]
    fn mistakes_in_a_file_are_named() {
        let error = serde_json::from_str::<Limits>(r#"{"request_timeout": "soon"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("a duration"), "{error}");
        let error = serde_json::from_str::<Limits>(r#"{"body_limt": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("body_limt") && error.contains("body_limit"),
            "{error}"
        );
    }
}
