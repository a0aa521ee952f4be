//! The `tower::Service`: routes each HTTP request to its era and method.

use std::collections::HashMap;
use std::future::Future as _;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::ProtocolVersion;
use tokio::sync::{watch, OnceCell};
use tokio_util::sync::CancellationToken;

use super::config::HttpConfig;
use super::guard::{self, RemoteAddr};
use super::session::{SessionId, Sessions};
use crate::rpc::Peer;
use crate::server::{ConnectionHandler, Router, Shared};

// Header names as values: looking one up by `&str` parses and lowercases it every time.
/// The header carrying a legacy session's id.
pub(crate) static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// The header carrying the protocol version.
pub(crate) static PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The header naming a modern request's method.
pub(crate) static MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// The header naming a modern request's tool, prompt or resource.
pub(crate) static MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The Streamable HTTP endpoint of a server, both eras on one URL, as a
/// `tower::Service`. Cloning is cheap: clones serve the same sessions.
///
/// Get one from [`Router::into_http_service`] and mount it wherever you like, for example
/// in axum:
///
/// ```no_run
/// use oxmcp::server::Router;
/// use oxmcp::server::http::HttpConfig;
///
/// # async fn run() -> std::io::Result<()> {
/// let mcp = Router::new().name("demo").into_http_service(HttpConfig::new());
/// let app = axum::Router::new().nest_service("/mcp", mcp);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone)]
pub struct McpService {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for McpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What every clone of a service shares.
pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_in_flight: usize,
    pub(crate) config: HttpConfig,
    /// The one connection every modern request goes through.
    pub(crate) modern: (Peer, Arc<ConnectionHandler>),
    pub(crate) sessions: Mutex<Sessions>,
    /// Streams still being written, by stream id: `true` once done.
    pub(crate) live: Mutex<HashMap<String, watch::Sender<bool>>>,
    pub(crate) next_stream: AtomicU64,
    started: OnceCell<Result<(), String>>,
    pub(crate) shutdown: CancellationToken,
    reaper: std::sync::Once,
    /// The sessions of the HTTP+SSE transport mounted beside this endpoint.
    #[cfg(feature = "sse-server")]
    pub(crate) sse: super::legacy_sse::Sessions,
    /// The HTTP+SSE and WebSocket connections, counted against the session caps.
    #[cfg(any(feature = "sse-server", feature = "ws-server"))]
    pub(crate) held: super::connect::Held,
}

impl McpService {
    pub(crate) fn new(shared: Arc<Shared>, max_in_flight: usize, config: HttpConfig) -> Self {
        let modern = Router::connection(&shared, max_in_flight);
        modern.1.describe("tcp", None);
        McpService {
            inner: Arc::new(Inner {
                shared,
                max_in_flight,
                config,
                modern,
                sessions: Mutex::default(),
                live: Mutex::default(),
                next_stream: AtomicU64::new(1),
                started: OnceCell::new(),
                shutdown: CancellationToken::new(),
                reaper: std::sync::Once::new(),
                #[cfg(feature = "sse-server")]
                sse: super::legacy_sse::Sessions::default(),
                #[cfg(any(feature = "sse-server", feature = "ws-server"))]
                held: super::connect::Held::default(),
            }),
        }
    }

    /// Starts shutting down: standalone (`GET`) streams close and `subscriptions/listen`
    /// streams finish with their result, while requests already running go on and are
    /// answered. Stop accepting connections first; once they have drained, call
    /// [`end_sessions`](McpService::end_sessions).
    pub fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.cancel();
        crate::rpc::Responder::on_input_end(&*inner.modern.1);
        let sessions: Vec<_> = inner
            .sessions
            .lock()
            .expect("sessions lock")
            .values()
            .cloned()
            .collect();
        for session in sessions {
            crate::rpc::Responder::on_input_end(&*session.handler);
        }
    }

    /// Ends every legacy session: their handlers still running are cancelled, and their
    /// clients get `404` from now on.
    pub fn end_sessions(&self) {
        let inner = &self.inner;
        let sessions: Vec<_> = inner
            .sessions
            .lock()
            .expect("sessions lock")
            .drain()
            .map(|(_, s)| s)
            .collect();
        for session in sessions {
            session.end(inner);
        }
        #[cfg(feature = "sse-server")]
        inner.sse.end_all();
    }

    /// How many legacy sessions are alive.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.lock().expect("sessions lock").len()
    }

    /// Runs the router's startup hook once, before the first request.
    pub(crate) async fn started(&self) -> Result<(), String> {
        if let Some(started) = self.inner.started.get() {
            return started.clone();
        }
        let shared = self.inner.shared.clone();
        self.inner
            .started
            .get_or_init(|| async move { shared.hooks.start().await.map_err(|e| e.to_string()) })
            .await
            .clone()
    }

    /// Handles one HTTP request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let remote = remote_of(request.extensions());
        self.handle_from(request, remote).await
    }

    /// [`McpService::handle`] for a request whose peer's address the caller knows (the
    /// server that accepted its connection), rather than its extensions.
    pub(crate) async fn handle_from<B>(
        &self,
        request: Request<B>,
        remote: Option<std::net::SocketAddr>,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.inner.start_reaper();
        // CORS needs only the request's Origin: no copy of all its headers.
        let origin = if self.inner.config.cors {
            request.headers().get(header::ORIGIN).cloned()
        } else {
            None
        };
        let mut response = self.route(request, remote).await;
        guard::cors_headers(&self.inner.config, origin.as_ref(), response.headers_mut());
        response
    }

    /// Checks what every request of this endpoint (and of the transports mounted beside
    /// it) must pass before it is served: the Host/Origin guard and the router's startup.
    /// The peer's address (from [`RemoteAddr`] or axum's `ConnectInfo`), or the refusal.
    #[cfg(any(feature = "sse-server", feature = "ws-server"))]
    pub(crate) async fn admit(
        &self,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Option<std::net::SocketAddr>, Response<Body>> {
        let remote = remote_of(extensions);
        self.admit_from(headers, remote).await.map(|()| remote)
    }

    /// [`McpService::admit`] for a request from `remote`.
    async fn admit_from(
        &self,
        headers: &HeaderMap,
        remote: Option<std::net::SocketAddr>,
    ) -> Result<(), Response<Body>> {
        if let Err(reason) = guard::check(&self.inner.config, headers, remote) {
            tracing::debug!(%reason, "refused a request");
            return Err(plain(StatusCode::FORBIDDEN, reason));
        }
        if let Err(reason) = self.started().await {
            return Err(plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("server startup failed: {reason}"),
            ));
        }
        Ok(())
    }

    async fn route<B>(
        &self,
        request: Request<B>,
        remote: Option<std::net::SocketAddr>,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.inner;
        if let Err(refused) = self.admit_from(request.headers(), remote).await {
            return refused;
        }
        let method = request.method().clone();
        #[cfg(feature = "auth")]
        let (caller, deferred) = match super::auth::gate(inner, &method, request.headers()).await {
            super::auth::Gate::Open(caller) => (caller, None),
            super::auth::Gate::Refused(response) => return response,
            super::auth::Gate::NeedsBody(challenge) => (None, Some(challenge)),
        };
        match method {
            Method::OPTIONS => preflight(),
            Method::POST => {
                let (parts, body) = request.into_parts();
                let body = match read_limited(&inner.config, body).await {
                    Ok(body) => body,
                    Err(refused) => return refused,
                };
                let client = guard::client_ip(&inner.config, &parts.headers, remote);
                let post = super::post::post(inner, &parts.headers, body.clone(), client);
                let post = crate::server::limits::with_peer(client, post);
                #[cfg(feature = "auth")]
                if let Some(challenge) = deferred {
                    return super::auth::refuse_post(inner, &challenge, &body);
                }
                #[cfg(feature = "auth")]
                let post = crate::server::auth::with_caller(caller, post);
                post.await
            }
            #[cfg(feature = "auth")]
            Method::GET => crate::server::auth::with_caller_sync(caller, || {
                super::session::get(inner, request.headers())
            }),
            #[cfg(feature = "auth")]
            Method::DELETE => crate::server::auth::with_caller_sync(caller, || {
                super::session::delete(inner, request.headers())
            }),
            #[cfg(not(feature = "auth"))]
            Method::GET => super::session::get(inner, request.headers()),
            #[cfg(not(feature = "auth"))]
            Method::DELETE => super::session::delete(inner, request.headers()),
            _ => not_allowed("GET, POST, DELETE, OPTIONS"),
        }
    }
}

/// The answer to a CORS preflight.
pub(crate) fn preflight() -> Response<Body> {
    let mut response = empty(StatusCode::NO_CONTENT);
    guard::preflight_headers(response.headers_mut());
    response
}

/// `405`, naming the methods that are allowed.
pub(crate) fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The peer's address a request's extensions hold: [`RemoteAddr`], or axum's `ConnectInfo`.
fn remote_of(extensions: &http::Extensions) -> Option<std::net::SocketAddr> {
    extensions.get::<RemoteAddr>().map(|r| r.0).or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
    })
}

/// Reads a request body within the endpoint's size and time limits, or says why not.
pub(crate) async fn read_limited<B>(config: &HttpConfig, body: B) -> Result<Bytes, Response<Body>>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut read = std::pin::pin!(read_body(body, config.body_limit));
    // A body that came whole with its headers (the usual case) is read at once, without
    // arming a timer for it: the deadline is for bodies still on their way.
    let at_once = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let read = match at_once {
        Poll::Ready(read) => Ok(read),
        Poll::Pending => tokio::time::timeout(config.body_timeout, read).await,
    };
    match read {
        Ok(Ok(body)) => Ok(body),
        Err(_) => {
            let mut response = plain(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {:?}",
                    config.body_timeout
                ),
            );
            // The rest of the body may still come: do not read it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {} bytes", config.body_limit),
                ));
            }
            Err(plain(
                StatusCode::BAD_REQUEST,
                format!("could not read the body: {e}"),
            ))
        }
    }
}

impl Inner {
    /// Starts forgetting idle sessions, once, from inside the runtime.
    fn start_reaper(self: &Arc<Self>) {
        self.reaper.call_once(|| {
            let weak = Arc::downgrade(self);
            let every = (self.config.session_idle / 4).clamp(
                std::time::Duration::from_millis(50),
                std::time::Duration::from_secs(60),
            );
            let shutdown = self.shutdown.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = shutdown.cancelled() => return,
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    inner.reap();
                }
            });
        });
    }

    fn reap(&self) {
        let idle = self.config.session_idle;
        let expired: Vec<_> = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            let ids: Vec<SessionId> = sessions
                .iter()
                .filter(|(_, s)| s.idle_for() >= idle)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| sessions.remove(id)).collect()
        };
        for session in expired {
            tracing::debug!(session = %session.id, "forgot an idle session");
            session.end(self);
        }
    }

    /// A fresh stream id within a session.
    pub(crate) fn stream_id(&self, session: SessionId) -> String {
        let n = self
            .next_stream
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{session}.{n}")
    }
}

/// Implements `tower::Service` for an endpoint type with an
/// `async fn handle(&self, Request<B>) -> Response<Body>`.
macro_rules! http_service {
    ($service:ty) => {
        impl<B> tower::Service<http::Request<B>> for $service
        where
            B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
            B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        {
            type Response = http::Response<axum::body::Body>;
            type Error = std::convert::Infallible;
            type Future = std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
            >;

            fn poll_ready(
                &mut self,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                let this = self.clone();
                Box::pin(async move { Ok(this.handle(request).await) })
            }
        }
    };
}
#[cfg(any(feature = "sse-server", feature = "ws-server"))]
pub(crate) use http_service;

http_service!(McpService);

/// Reads a whole body of at most `limit` bytes. A body of one chunk (the usual case) is
/// kept as it came, without a copy or a list of chunks.
async fn read_body<B>(
    body: B,
    limit: usize,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(http_body_util::Limited::new(body, limit));
    let mut first: Option<Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        if let Some(joined) = &mut joined {
            joined.extend_from_slice(&data);
        } else if let Some(head) = first.take() {
            let mut both = bytes::BytesMut::with_capacity(head.len() + data.len());
            both.extend_from_slice(&head);
            both.extend_from_slice(&data);
            joined = Some(both);
        } else {
            first = Some(data);
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// A plain-text answer (why a request was refused).
pub(crate) fn plain(status: StatusCode, text: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Body::from(text.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// An answer without a body.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON-RPC error as an HTTP answer.
pub(crate) fn rpc_error(
    status: StatusCode,
    id: Option<&RequestId>,
    error: &ErrorObject,
) -> Response<Body> {
    json(status, crate::rpc::frame::encode_error(id, false, error))
}

/// An SSE answer.
pub(crate) fn sse(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Which of the two media types an MCP endpoint answers with the client's `Accept` header
/// takes: `application/json` and `text/event-stream` (no header takes anything). Read in
/// one pass over the header's bytes, for both at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Accepts {
    pub(crate) json: bool,
    pub(crate) sse: bool,
}

impl Accepts {
    /// What `headers` accept. Values that are not visible ASCII are ignored, as if absent.
    pub(crate) fn of(headers: &HeaderMap) -> Accepts {
        let mut accepts = Accepts {
            json: false,
            sse: false,
        };
        let mut any = false;
        for value in headers.get_all(header::ACCEPT) {
            let Ok(text) = value.to_str() else { continue };
            any = true;
            for item in text.as_bytes().split(|&b| b == b',') {
                let range = item.split(|&b| b == b';').next().unwrap_or_default();
                accepts.add(range.trim_ascii());
            }
        }
        if any {
            accepts
        } else {
            Accepts {
                json: true,
                sse: true,
            }
        }
    }

    /// Adds one media range (`type/subtype`, `type/*` or `*/*`).
    fn add(&mut self, range: &[u8]) {
        if range == b"*/*" {
            self.json = true;
            self.sse = true;
            return;
        }
        let kind = match range.iter().position(|&b| b == b'/') {
            Some(slash) if &range[slash + 1..] == b"*" => &range[..slash],
            _ => {
                self.json |= range.eq_ignore_ascii_case(b"application/json");
                self.sse |= range.eq_ignore_ascii_case(b"text/event-stream");
                return;
            }
        };
        self.json |= kind.eq_ignore_ascii_case(b"application");
        self.sse |= kind.eq_ignore_ascii_case(b"text");
    }
}

/// The `MCP-Protocol-Version` header, if present.
pub(crate) fn header_version(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(&PROTOCOL_VERSION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Whether a request with this header goes the legacy way.
pub(crate) fn is_legacy_header(version: Option<&str>) -> bool {
    match version {
        None => true,
        Some(v) => ProtocolVersion::parse(v).is_some_and(|v| v.is_legacy()),
    }
}

/// Whether a request goes the legacy way: its header names no modern revision, and it
/// either names a legacy one (or none), or is an `initialize` or names a session (an
/// unknown version there is then checked against the legacy handshake, not taken for a
/// modern request).
pub(crate) fn routes_legacy(headers: &HeaderMap, initialize: bool) -> bool {
    let version = header_version(headers);
    is_legacy_header(version)
        || (version.is_some_and(|v| ProtocolVersion::parse(v).is_none())
            && (initialize || headers.contains_key(&SESSION_ID)))
}

#[cfg(test)]
mod tests {
    use http::{header, HeaderMap, HeaderValue};

    use super::Accepts;

    /// What `Accept` takes, spelled out the long way: split, trimmed, compared.
    fn reference(values: &[&[u8]], mime: &str) -> bool {
        let texts: Vec<&str> = values
            .iter()
            .filter(|v| HeaderValue::from_bytes(v).is_ok_and(|h| h.to_str().is_ok()))
            .map(|v| std::str::from_utf8(v).expect("visible ASCII"))
            .collect();
        if texts.is_empty() {
            return true;
        }
        let kind = mime.split('/').next().unwrap_or("");
        texts.iter().flat_map(|v| v.split(',')).any(|item| {
            let range = item.split(';').next().unwrap_or("").trim();
            range.eq_ignore_ascii_case(mime)
                || range == "*/*"
                || range
                    .split_once('/')
                    .is_some_and(|(k, sub)| sub == "*" && k.eq_ignore_ascii_case(kind))
        })
    }

    #[test]
    fn accept_headers_read_in_one_pass_take_what_they_name() {
        let cases: &[&[&[u8]]] = &[
            &[],
            &[b"application/json, text/event-stream"],
            &[b"application/json"],
            &[b"text/event-stream"],
            &[b"Application/JSON ; q=0.5 ,TEXT/Event-Stream;q=1"],
            &[b"*/*"],
            &[b"application/*"],
            &[b"text/*;q=0.1"],
            &[b"text/html", b"application/json"],
            &[b"image/png, */x, */"],
            &[b"application/json+x, text/event-streams, application/jsonx"],
            &[b""],
            &[b" , ;"],
            &[b"\xff\xfe"],
            &[b"\xff", b"text/event-stream"],
            &[b"application /json"],
            &[b"\tapplication/json\t"],
        ];
        for values in cases {
            let mut headers = HeaderMap::new();
            for value in *values {
                headers.append(
                    header::ACCEPT,
                    HeaderValue::from_bytes(value).expect("a header value"),
                );
            }
            let got = Accepts::of(&headers);
            let want = Accepts {
                json: reference(values, "application/json"),
                sse: reference(values, "text/event-stream"),
            };
            assert_eq!(got, want, "Accept {values:?}");
        }
    }
}
