//! The settings of the Streamable HTTP server.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::store::{EventStore, InMemoryEventStore};

/// The default largest request body: 4 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The default idle time after which a legacy session is forgotten: 30 minutes.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// The default largest number of legacy sessions alive at once.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
/// The default largest number of legacy sessions one peer address may hold.
pub const DEFAULT_MAX_SESSIONS_PER_PEER: usize = 1_000;
/// The default time a request body may take to arrive whole: 30 seconds.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The default largest number of SSE streams one legacy session may hold open at once
/// (`GET` streams and `POST` responses streamed): 16.
pub const DEFAULT_MAX_STREAMS_PER_SESSION: usize = 16;

/// Which `Host` (and `Origin`) values the server accepts: protection against DNS
/// rebinding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostCheck {
    /// Loopback names only (`localhost`, `127.0.0.1`, `[::1]`, any port), plus any
    /// explicitly allowed host.
    Loopback,
    /// Only the listed hosts (a bare name matches any port).
    Listed,
    /// No check.
    Off,
}

/// How the Streamable HTTP server behaves: limits, session lifetime, and which hosts and
/// origins it accepts.
///
/// DNS-rebinding protection is on by default: only loopback `Host` names (`localhost`,
/// `127.0.0.1`, `[::1]`, on any port) and loopback `Origin`s are accepted, and anything
/// else gets `403 Forbidden` with a body saying why. A server reachable under another name
/// lists it with [`allowed_hosts`](HttpConfig::allowed_hosts);
/// [`Router::serve_http`](crate::server::Router::serve_http) turns the check off by itself
/// when bound to a non-loopback address and no host was listed.
///
/// ```
/// use std::time::Duration;
/// use oxmcp::server::http::HttpConfig;
///
/// let config = HttpConfig::new()
///     .body_limit(1024 * 1024)
///     .session_idle_timeout(Duration::from_secs(600))
///     .allowed_hosts(["mcp.example.com"])
///     .allowed_origins(["https://app.example.com"]);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    pub(crate) body_limit: usize,
    pub(crate) session_idle: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_peer: usize,
    pub(crate) max_streams_per_session: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) host_check: HostCheck,
    pub(crate) host_check_explicit: bool,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) trusted_proxies: Vec<IpAddr>,
    pub(crate) cors: bool,
    pub(crate) retry: Duration,
    pub(crate) keep_alive: Duration,
    #[cfg_attr(not(feature = "ws-server"), allow(dead_code))]
    pub(crate) ws_ping: Duration,
    pub(crate) event_store: Arc<dyn EventStore>,
    #[cfg(feature = "auth")]
    pub(crate) auth: Option<crate::server::auth::ProtectedResource>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("body_limit", &self.body_limit)
            .field("session_idle", &self.session_idle)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_peer", &self.max_sessions_per_peer)
            .field("max_streams_per_session", &self.max_streams_per_session)
            .field("body_timeout", &self.body_timeout)
            .field("host_check", &self.host_check)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors", &self.cors)
            .field("retry", &self.retry)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            session_idle: DEFAULT_SESSION_IDLE,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_peer: DEFAULT_MAX_SESSIONS_PER_PEER,
            max_streams_per_session: DEFAULT_MAX_STREAMS_PER_SESSION,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            host_check: HostCheck::Loopback,
            host_check_explicit: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            cors: false,
            retry: Duration::from_millis(1000),
            keep_alive: Duration::from_secs(15),
            ws_ping: Duration::from_secs(20),
            event_store: Arc::new(InMemoryEventStore::default()),
            #[cfg(feature = "auth")]
            auth: None,
        }
    }
}

impl HttpConfig {
    /// The defaults: 4 MiB bodies arriving within 30 s, sessions idle for 30 minutes are
    /// forgotten, at most 10,000 sessions and 1,000 per peer address, 16 SSE streams open
    /// per session, loopback hosts only, no CORS, an in-memory event store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest request body accepted; larger ones get `413 Payload Too Large`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long a legacy session may stay unused (no request, no open stream) before it is
    /// forgotten; its client then gets `404` and starts a new one.
    pub fn session_idle_timeout(mut self, idle: Duration) -> Self {
        self.session_idle = idle;
        self
    }

    /// How long a request body may take to arrive whole (default 30 s); a slower one gets
    /// `408 Request Timeout` and its connection is closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The largest number of legacy sessions alive at once. An `initialize` beyond it ends
    /// the least recently used idle session (no request in flight, no open stream) to make
    /// room, and gets `503 Service Unavailable` only when every session is busy.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// The largest number of legacy sessions one peer address may hold (default 1,000);
    /// beyond it, that peer's least recently used idle session ends to make room (or the
    /// `initialize` gets `503` when all of them are busy). Behind a
    /// [trusted proxy](HttpConfig::trusted_proxies), the peer is the client address the
    /// proxy forwards (`X-Forwarded-For`).
    pub fn max_sessions_per_peer(mut self, max: usize) -> Self {
        self.max_sessions_per_peer = max.max(1);
        self
    }

    /// The largest number of SSE streams one legacy session may hold open at once (default
    /// 16, [`DEFAULT_MAX_STREAMS_PER_SESSION`]): its `GET` streams (the standalone stream
    /// and resumptions with `Last-Event-ID`) and the `POST`s answered with a stream, until
    /// their bodies end or the client closes them. A `GET` beyond it gets `429 Too Many
    /// Requests`; so does a `POST` carrying a request, sent while the session holds that many
    /// streams (with a JSON-RPC error, code -32000, for the request, which did not start).
    /// Both say how many streams are allowed and what to do.
    pub fn max_streams_per_session(mut self, max: usize) -> Self {
        self.max_streams_per_session = max.max(1);
        self
    }

    /// Accepts only these `Host` values (`name` matches any port, `name:port` only that
    /// port), loopback names no longer implied. Also accepts `Origin`s on these hosts.
    pub fn allowed_hosts<I, T>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_hosts = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self.host_check = HostCheck::Listed;
        self.host_check_explicit = true;
        self
    }

    /// Turns DNS-rebinding protection off: any `Host` and `Origin` is accepted. Only do this
    /// behind a proxy that checks them.
    pub fn disable_host_check(mut self) -> Self {
        self.host_check = HostCheck::Off;
        self.host_check_explicit = true;
        self
    }

    /// Browser origins (`scheme://host[:port]`) allowed to call the server, besides those on
    /// an allowed host. With [`cors`](HttpConfig::cors) on, these get CORS headers.
    pub fn allowed_origins<I, T>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_origins = origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        self
    }

    /// Proxies whose `X-Forwarded-Host` and `X-Forwarded-For` headers are believed (by peer
    /// IP address). Requests
    /// from anywhere else are judged by their own `Host`.
    pub fn trusted_proxies<I: IntoIterator<Item = IpAddr>>(mut self, proxies: I) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Answers CORS preflights and adds CORS headers (exposing `Mcp-Session-Id`) for the
    /// allowed origins.
    pub fn cors(mut self, on: bool) -> Self {
        self.cors = on;
        self
    }

    /// The `retry:` delay sent on SSE streams: how long a client waits before resuming a
    /// stream the server closed.
    pub fn sse_retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// How long an SSE stream may stay silent before a comment line (`:`) is sent to keep
    /// proxies and clients from closing it (default 15 s).
    pub fn sse_keep_alive(mut self, every: Duration) -> Self {
        self.keep_alive = every.max(Duration::from_millis(10));
        self
    }

    /// How often a quiet WebSocket connection is pinged (default 20 s); one that has sent
    /// nothing, not even the pong, by the next ping is closed (code 1008).
    #[cfg(feature = "ws-server")]
    pub fn ws_ping_interval(mut self, every: Duration) -> Self {
        self.ws_ping = every.max(Duration::from_millis(10));
        self
    }

    /// Where SSE events are kept for clients that resume a stream with `Last-Event-ID`.
    pub fn event_store(mut self, store: Arc<dyn EventStore>) -> Self {
        self.event_store = store;
        self
    }

    /// Makes the endpoint a protected resource: every request needs a bearer token that
    /// `resource`'s verifier accepts (see [`auth`](crate::server::auth)), and
    /// [`Router::serve_http`](crate::server::Router::serve_http) serves its metadata.
    #[cfg(feature = "auth")]
    pub fn auth(mut self, resource: crate::server::auth::ProtectedResource) -> Self {
        self.auth = Some(resource);
        self
    }

    /// Adapts the defaults to the address the server is bound to: with no host check
    /// configured, a non-loopback address turns it off.
    pub(crate) fn for_address(mut self, addr: SocketAddr) -> Self {
        if !self.host_check_explicit && !addr.ip().is_loopback() {
            self.host_check = HostCheck::Off;
        }
        self
    }
}
