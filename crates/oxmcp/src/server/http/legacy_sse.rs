//! The HTTP+SSE transport of protocol revision 2024-11-05, served beside the Streamable
//! HTTP endpoint: [`SseService`].
//!
//! `GET /sse` opens a session: its response is an SSE stream whose first event,
//! `endpoint`, carries the URL to `POST` messages to (`/messages?session_id=…`). Each `POST`
//! is answered `202 Accepted` at once; the replies, and the server's own requests and
//! notifications, travel down the stream as `message` events. The session lives as long as
//! its stream: when the client hangs up, its requests still running are cancelled.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use futures_util::stream;
use http::{header, Method, Request, Response, StatusCode};
use tokio_util::sync::CancellationToken;

use super::service::{not_allowed, plain, preflight, read_limited, sse, Accepts, Inner};
use super::session::SessionId;
use super::McpService;
use super::{connect, guard};
use crate::rpc::{queue, OutFrame, Outbound, Peer};
use crate::server::Router;
use crate::transport::channel::{self, FrameSender};
use crate::transport::ReadFrame;

/// The path [`Router::http`](crate::server::Router::http) opens HTTP+SSE sessions on.
pub const SSE_PATH: &str = "/sse";
/// The path [`Router::http`](crate::server::Router::http) takes an HTTP+SSE session's
/// messages on (with `?session_id=…`).
pub const MESSAGES_PATH: &str = "/messages";

/// How many `POST`ed messages of one session may wait for its connection to read them;
/// beyond it, a `POST` waits (up to the body timeout) for room.
const INBOX: usize = 64;

/// The HTTP+SSE sessions of one endpoint.
#[derive(Default)]
pub(crate) struct Sessions {
    table: Mutex<HashMap<SessionId, Arc<SseSession>>>,
}

/// One HTTP+SSE session: where its `POST`s go, and its connection.
struct SseSession {
    inbox: FrameSender,
    peer: Peer,
    /// The subject whose token opened the session: only that subject may post to it.
    #[cfg(feature = "auth")]
    owner: Option<String>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<SseSession>>> {
        self.table.lock().expect("SSE sessions lock")
    }

    /// Ends every session: their streams close, their handlers are cancelled.
    pub(crate) fn end_all(&self) {
        let sessions: Vec<_> = self.lock().drain().map(|(_, s)| s).collect();
        for session in sessions {
            session.peer.close();
        }
    }

    /// Forgets a session and cancels what it still runs.
    fn end(&self, id: SessionId) {
        let session = self.lock().remove(&id);
        if let Some(session) = session {
            tracing::debug!(session = %id, "HTTP+SSE session ended");
            session.peer.close();
        }
    }
}

/// The HTTP+SSE transport (protocol revision 2024-11-05, deprecated since 2025-03-26 but
/// still what many deployed clients speak) of an endpoint, as a `tower::Service`: `GET`
/// opens a session's stream, `POST ?session_id=…` sends it a message.
///
/// Get one from [`McpService::sse`]: it shares the endpoint's settings (Host/Origin guard,
/// body limits, session caps, keep-alive) and router, so one server answers every
/// generation of client. Mount it at two paths, the stream's and the messages':
///
/// ```no_run
/// use oxmcp::server::Router;
/// use oxmcp::server::http::HttpConfig;
///
/// # async fn run() -> std::io::Result<()> {
/// let mcp = Router::new().name("demo").into_http_service(HttpConfig::new());
/// let sse = mcp.sse();
/// let app = axum::Router::new()
///     .route_service("/mcp", mcp)
///     .route_service("/sse", sse.clone())
///     .route_service("/messages", sse);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// [`Router::http`](crate::server::Router::http) serves it at [`SSE_PATH`] and
/// [`MESSAGES_PATH`] beside `/mcp` when the `sse-server` feature is on.
#[derive(Clone)]
pub struct SseService {
    mcp: McpService,
    messages: Option<Arc<str>>,
}

impl std::fmt::Debug for SseService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseService")
            .field("messages_path", &self.messages_path_str())
            .finish_non_exhaustive()
    }
}

impl McpService {
    /// The HTTP+SSE transport of this endpoint: same router, settings and shutdown. Every
    /// call serves the same sessions.
    pub fn sse(&self) -> SseService {
        SseService {
            mcp: self.clone(),
            messages: None,
        }
    }
}

impl SseService {
    /// The URL the `endpoint` event tells clients to `POST` to (default
    /// [`MESSAGES_PATH`]): where you mounted this service for messages, as seen by the
    /// client (a path, resolved against the stream's URL, or an absolute URL).
    pub fn messages_path(mut self, path: impl Into<String>) -> Self {
        self.messages = Some(path.into().into());
        self
    }

    fn messages_path_str(&self) -> &str {
        self.messages.as_deref().unwrap_or(MESSAGES_PATH)
    }

    /// How many HTTP+SSE sessions are open.
    pub fn session_count(&self) -> usize {
        self.mcp.inner.sse.lock().len()
    }

    /// Handles one HTTP request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.mcp.inner;
        let origin = if inner.config.cors {
            request.headers().get(header::ORIGIN).cloned()
        } else {
            None
        };
        let mut response = self.route(request).await;
        guard::cors_headers(&inner.config, origin.as_ref(), response.headers_mut());
        response
    }

    async fn route<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.mcp.inner;
        let remote = match self
            .mcp
            .admit(request.headers(), request.extensions())
            .await
        {
            Ok(remote) => remote,
            Err(refused) => return refused,
        };
        let session_id = request.uri().query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "session_id")
                .map(|(_, value)| value.into_owned())
        });
        match *request.method() {
            Method::OPTIONS => preflight(),
            Method::GET => {
                if session_id.is_some() {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "a GET opens a new HTTP+SSE session and takes no session_id; POST messages to the session's endpoint URL",
                    );
                }
                if !Accepts::of(request.headers()).sse {
                    return plain(
                        StatusCode::NOT_ACCEPTABLE,
                        "GET opens an SSE stream: the Accept header must allow text/event-stream",
                    );
                }
                let caller = match connect::authenticate(inner, request.headers()).await {
                    Ok(caller) => caller,
                    Err(refused) => return refused,
                };
                let client = guard::client_ip(&inner.config, request.headers(), remote);
                self.open(client, caller)
            }
            Method::POST => {
                let Some(session_id) = session_id else {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "missing session_id: POST to the URL of the endpoint event your GET's stream began with",
                    );
                };
                let (parts, body) = request.into_parts();
                if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
                    let content_type = content_type.to_str().unwrap_or("").trim_start();
                    if !content_type
                        .get(..16)
                        .is_some_and(|start| start.eq_ignore_ascii_case("application/json"))
                    {
                        return plain(
                            StatusCode::UNSUPPORTED_MEDIA_TYPE,
                            "the body must be JSON (Content-Type: application/json)",
                        );
                    }
                }
                // Authenticated before the session is looked up: without a valid token,
                // nothing tells which sessions exist.
                #[cfg(feature = "auth")]
                let caller = match super::auth::gate(inner, &Method::POST, &parts.headers).await {
                    super::auth::Gate::Open(caller) => caller,
                    super::auth::Gate::Refused(refused) => return refused,
                    super::auth::Gate::NeedsBody(challenge) => {
                        return match read_limited(&inner.config, body).await {
                            Ok(body) => super::auth::refuse_post(inner, &challenge, &body),
                            Err(refused) => refused,
                        };
                    }
                };
                let session =
                    SessionId::parse(&session_id).and_then(|id| inner.sse.lock().get(&id).cloned());
                let Some(session) = session else {
                    return unknown_session();
                };
                #[cfg(feature = "auth")]
                if !crate::server::auth::ProtectedResource::same_subject(
                    session.owner.as_deref(),
                    caller.as_ref(),
                ) {
                    return plain(
                        StatusCode::FORBIDDEN,
                        "this HTTP+SSE session belongs to another subject: post with a token of the subject that opened it, or open your own session with GET on the SSE endpoint",
                    );
                }
                let body = match read_limited(&inner.config, body).await {
                    Ok(body) => body,
                    Err(refused) => return refused,
                };
                post(inner, &session, body).await
            }
            _ => not_allowed("GET, POST, OPTIONS"),
        }
    }

    /// `GET`: a new session and its stream, every message of which runs as `caller`.
    fn open(&self, client: Option<IpAddr>, caller: connect::Caller) -> Response<Body> {
        let inner = &self.mcp.inner;
        let slot = match connect::hold(inner, client) {
            Ok(slot) => slot,
            Err(why) => return connect::busy(why),
        };
        let stream = {
            let mut table = inner.sse.lock();
            let (peer, handler) = Router::connection(&inner.shared, inner.max_in_flight);
            let (inbox, frames) = channel::channel(INBOX);
            let id = SessionId::random();
            let (out, rx) = Outbound::lazy_channel();
            table.insert(
                id,
                Arc::new(SseSession {
                    inbox,
                    peer: peer.clone(),
                    #[cfg(feature = "auth")]
                    owner: match &caller {
                        Some(crate::server::auth::Authn::Token(auth)) => {
                            Some(auth.subject().to_owned())
                        }
                        _ => None,
                    },
                }),
            );
            let shutdown = inner.shutdown.clone();
            // On shutdown no more messages are read; the requests running finish (within
            // the grace period), their replies go out, then the stream ends.
            let closed = peer.closed().clone();
            let stop = async move { shutdown.cancelled().await };
            let drive = crate::transport::drive(peer, handler, frames, out, stop);
            // Spawned as it is: an `async` block around it would hold it twice.
            tokio::spawn(connect::as_caller(caller, drive));
            tracing::debug!(session = %id, "HTTP+SSE session opened");
            Stream {
                inner: inner.clone(),
                id,
                rx,
                endpoint: Some(endpoint_event(self.messages_path_str(), id)),
                _slot: slot,
                closed,
                ending: false,
            }
        };
        sse(stream.into_body())
    }
}

/// `POST`: hands the message to the session's connection and answers `202`; the reply
/// goes down the session's stream.
async fn post(inner: &Inner, session: &SseSession, body: Bytes) -> Response<Body> {
    let frame = match String::from_utf8(body.into()) {
        Ok(text) => ReadFrame::Frame(text),
        Err(_) => ReadFrame::NotUtf8,
    };
    let wait = inner.config.body_timeout;
    let sent = tokio::select! {
        sent = session.inbox.send(frame) => sent.is_ok(),
        () = session.peer.closed().cancelled() => false,
        () = tokio::time::sleep(wait) => {
            return connect::busy(format!(
                "the session's earlier messages are still waiting after {wait:?}: is its stream being read?"
            ));
        }
    };
    if sent {
        let mut response = plain(StatusCode::ACCEPTED, "Accepted");
        *response.status_mut() = StatusCode::ACCEPTED;
        response
    } else {
        unknown_session()
    }
}

fn unknown_session() -> Response<Body> {
    plain(
        StatusCode::NOT_FOUND,
        "unknown or closed HTTP+SSE session: open a new one with GET on the SSE endpoint",
    )
}

/// The first event of a session's stream: where to post.
fn endpoint_event(messages: &str, id: SessionId) -> Bytes {
    let separator = if messages.contains('?') { '&' } else { '?' };
    Bytes::from(format!(
        "event: endpoint\ndata: {messages}{separator}session_id={id}\n\n"
    ))
}

/// One `message` event (a JSON-RPC message is always one line).
fn message_event(text: &str) -> Bytes {
    let mut out = String::with_capacity(text.len() + 24);
    out.push_str("event: message\ndata: ");
    out.push_str(text);
    out.push_str("\n\n");
    Bytes::from(out)
}

/// A session's stream: the `endpoint` event, then what its connection sends, with
/// keep-alive comments while it is quiet. Dropping it (the client hung up) ends the
/// session.
struct Stream {
    inner: Arc<Inner>,
    id: SessionId,
    rx: queue::Receiver<OutFrame>,
    endpoint: Option<Bytes>,
    /// Fires when the session's connection has closed: what it sent is sent, then the
    /// stream ends.
    closed: CancellationToken,
    ending: bool,
    /// The session's place against the caps, given back when the stream ends.
    _slot: connect::Slot,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.inner.sse.end(self.id);
    }
}

impl Stream {
    fn into_body(self) -> Body {
        Body::from_stream(stream::unfold(self, |mut this| async move {
            let next = this.next().await?;
            Some((Ok::<_, Infallible>(next), this))
        }))
    }

    async fn next(&mut self) -> Option<Bytes> {
        if let Some(endpoint) = self.endpoint.take() {
            return Some(endpoint);
        }
        loop {
            if self.ending {
                return self.rx.try_recv().map(|f| message_event(&f.text));
            }
            let keep_alive: Duration = self.inner.config.keep_alive;
            tokio::select! {
                frame = self.rx.recv() => return frame.map(|f| message_event(&f.text)),
                () = self.closed.cancelled() => self.ending = true,
                () = tokio::time::sleep(keep_alive) => {
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            }
        }
    }
}

super::service::http_service!(SseService);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_event_names_the_session_in_the_query() {
        let id = SessionId::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            endpoint_event("/messages", id),
            "event: endpoint\ndata: /messages?session_id=0123456789abcdef0123456789abcdef\n\n"
        );
        assert_eq!(
            endpoint_event("/mcp/messages?x=1", id),
            "event: endpoint\ndata: /mcp/messages?x=1&session_id=0123456789abcdef0123456789abcdef\n\n"
        );
    }
}
