//! The Streamable HTTP client transport, both eras.
//!
//! Every frame the client sends becomes a POST to the MCP endpoint; each answer (a JSON
//! body or an SSE stream) is fed back to the client as incoming frames, so notifications
//! sent before a result, and the requests of a legacy server, work as on stdio. Connect
//! with [`ClientBuilder::connect_http`](crate::client::ClientBuilder::connect_http) or,
//! to set headers and timeouts, with
//! [`ClientBuilder::connect_http_with`](crate::client::ClientBuilder::connect_http_with)
//! and an [`HttpClientConfig`].
//!
//! - Modern servers (2026-07-28): each request carries `MCP-Protocol-Version`,
//!   `Mcp-Method` and, for `tools/call`, `prompts/get` and `resources/read`, `Mcp-Name`.
//!   Cancelling a request closes its stream.
//! - Legacy servers (2025-03-26 to 2025-11-25): the `Mcp-Session-Id` the server assigns
//!   is sent back with every request, with `MCP-Protocol-Version`; a session the server
//!   forgot (404) is opened again and the request retried once; the standalone GET stream
//!   is opened after the handshake; a stream that ends before its response is resumed
//!   with `Last-Event-ID` after the server's `retry:` delay; closing the client deletes
//!   the session.

pub(crate) mod auth;
mod conn;
mod frame;
#[cfg(feature = "sse-client")]
mod legacy_sse;
mod retry;
pub(crate) mod sse;

pub use retry::RetryPolicy;

use std::time::Duration;

pub(crate) use conn::start;
#[cfg(feature = "sse-client")]
pub(crate) use legacy_sse::start_sse;

use crate::error::{Error, Result};

/// The `Accept` header of POSTs by default.
const DEFAULT_ACCEPT: &str = "application/json, text/event-stream";

/// Settings of the Streamable HTTP client transport.
///
/// ```no_run
/// use std::time::Duration;
/// use oxmcp::client::Client;
/// use oxmcp::client::HttpClientConfig;
///
/// # async fn run() -> oxmcp::Result<()> {
/// let config = HttpClientConfig::new("https://example.com/mcp")
///     .header("Authorization", "Bearer my-token")
///     .connect_timeout(Some(Duration::from_secs(5)));
/// let client = Client::builder().connect_http_with(config).await?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpClientConfig {
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) accept: String,
    pub(crate) standalone_stream: bool,
    pub(crate) max_frame: usize,
    pub(crate) default_retry: Duration,
    pub(crate) max_reconnects: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) auth: AuthSlot,
}

/// The authorization hook of a configuration (set by `client::oauth`).
#[derive(Clone, Default)]
pub(crate) struct AuthSlot(pub(crate) Option<std::sync::Arc<dyn auth::AuthHook>>);

impl std::fmt::Debug for AuthSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl HttpClientConfig {
    /// Settings for the MCP endpoint at `url`, used exactly as given. Defaults: no extra
    /// headers, a 30 s connect timeout, the standalone GET stream opened with legacy
    /// servers, frames up to 16 MiB, reconnecting after 1 s unless the server says
    /// otherwise (`retry:`), at most 5 reconnections in a row, and POSTs sent again per
    /// [`RetryPolicy::new`] (a failed connect; a `429` or `503` to a request that changes
    /// nothing).
    pub fn new(url: impl Into<String>) -> Self {
        HttpClientConfig {
            url: url.into(),
            headers: Vec::new(),
            connect_timeout: Some(Duration::from_secs(30)),
            accept: DEFAULT_ACCEPT.to_owned(),
            standalone_stream: true,
            max_frame: crate::transport::DEFAULT_MAX_FRAME,
            default_retry: Duration::from_secs(1),
            max_reconnects: 5,
            retry: RetryPolicy::new(),
            auth: AuthSlot::default(),
        }
    }

    /// The MCP endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a header to every HTTP request (authorization, tenant, tracing, ...).
    /// Checked when connecting.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How long opening a TCP (and TLS) connection may take (`None`: no limit). Requests
    /// themselves are bounded by the client's request timeouts, since streams may last.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `Accept` header of POSTs (default `application/json, text/event-stream`, which
    /// the specification requires).
    pub fn accept(mut self, accept: impl Into<String>) -> Self {
        self.accept = accept.into();
        self
    }

    /// Whether to open the standalone GET stream with legacy servers (default `true`),
    /// where they send messages that belong to no request.
    pub fn standalone_stream(mut self, open: bool) -> Self {
        self.standalone_stream = open;
        self
    }

    /// The largest message accepted from the server, in bytes (default 16 MiB).
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// How long to wait before resuming a dropped stream when the server gave no
    /// `retry:` (default 1 s).
    pub fn default_retry(mut self, delay: Duration) -> Self {
        self.default_retry = delay;
        self
    }

    /// How many times in a row a dropped stream is resumed before giving up (default 5).
    pub fn max_reconnects(mut self, times: usize) -> Self {
        self.max_reconnects = times;
        self
    }

    /// Sends a POST again when it could not connect, or when the server answers a request
    /// that changes nothing (lists, reads, discover, ping) with 429 or 503, with backoff
    /// and jitter, honouring `Retry-After` ([`RetryPolicy`] says exactly when). Default:
    /// [`RetryPolicy::new`] (at most 3 retries within 10 s); [`RetryPolicy::none`] never
    /// retries.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the URL and headers.
    pub(crate) fn validate(&self) -> Result<()> {
        let url: reqwest::Url = self
            .url
            .parse()
            .map_err(|e| Error::transport("parse the server URL", e))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::transport(
                "parse the server URL",
                invalid(format!("unsupported scheme {:?}", url.scheme())),
            ));
        }
        for (name, value) in &self.headers {
            http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::transport("set a custom header", invalid(e)))?;
            http::HeaderValue::from_str(value)
                .map_err(|e| Error::transport("set a custom header", invalid(e)))?;
        }
        Ok(())
    }
}

pub(crate) use crate::transport::crypto_provider;

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
}
