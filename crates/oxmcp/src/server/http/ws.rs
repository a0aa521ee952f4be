//! The WebSocket transport: [`WsService`], subprotocol `mcp`, one JSON-RPC message per
//! text frame, both eras on one socket (a modern request carries its `_meta`, as on
//! stdio).

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

mod socket;

use super::service::{not_allowed, plain};
use super::McpService;
use super::{connect, guard};
use crate::rpc::{OutFrame, Outbound};
use crate::server::Router;
use crate::transport::channel;
use crate::transport::ReadFrame;

/// The path [`Router::http`](crate::server::Router::http) serves WebSocket on.
pub const WS_PATH: &str = "/ws";
/// The WebSocket subprotocol of MCP.
pub const SUBPROTOCOL: &str = "mcp";

/// How many received messages may wait for the connection to read them; beyond it, the
/// socket is not read (the peer's sends wait).
const INBOX: usize = 64;

/// The WebSocket transport of an endpoint, as a `tower::Service` that upgrades `GET`
/// requests: get one from [`McpService::ws`]. It shares the endpoint's router, Host/Origin
/// guard, shutdown and settings: a message may be as large as the body limit, pings go
/// out every [`HttpConfig::ws_ping_interval`](super::HttpConfig::ws_ping_interval).
///
/// It needs a server that supports HTTP upgrades ([`Router::http`](crate::server::Router::http),
/// which serves it at [`WS_PATH`] with the `ws-server` feature, or axum):
///
/// ```no_run
/// use oxmcp::server::Router;
/// use oxmcp::server::http::HttpConfig;
///
/// # async fn run() -> std::io::Result<()> {
/// let mcp = Router::new().name("demo").into_http_service(HttpConfig::new());
/// let app = axum::Router::new()
///     .route_service("/ws", mcp.ws())
///     .route_service("/mcp", mcp);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WsService {
    mcp: McpService,
}

impl McpService {
    /// The WebSocket transport of this endpoint: same router, settings and shutdown.
    pub fn ws(&self) -> WsService {
        WsService { mcp: self.clone() }
    }
}

impl WsService {
    /// Handles one HTTP request: upgrades a valid WebSocket handshake that offers the
    /// `mcp` subprotocol, refuses anything else with a status that says why.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body> {
        let inner = &self.mcp.inner;
        let remote = match self
            .mcp
            .admit(request.headers(), request.extensions())
            .await
        {
            Ok(remote) => remote,
            Err(refused) => return refused,
        };
        if request.method() != Method::GET {
            return not_allowed("GET");
        }
        let key = match check_handshake(request.headers()) {
            Ok(key) => key,
            Err((status, why)) => return plain(status, why),
        };
        // The bearer token of the upgrade: every message on the socket runs as its caller.
        let caller = match connect::authenticate(inner, request.headers()).await {
            Ok(caller) => caller,
            Err(refused) => return refused,
        };
        let client = guard::client_ip(&inner.config, request.headers(), remote);
        let slot = match connect::hold(inner, client) {
            Ok(slot) => slot,
            Err(why) => return connect::busy(why),
        };
        let Some(upgrade) = request
            .extensions()
            .get::<hyper::upgrade::OnUpgrade>()
            .cloned()
        else {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this HTTP server does not support upgrades: serve WebSocket with Router::http or axum",
            );
        };
        // Spawned as it is: an `async` block around it would hold its arguments twice.
        tokio::spawn(serve(self.mcp.clone(), client, caller, slot, upgrade));
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        if let Ok(accept) =
            HeaderValue::from_str(&tungstenite::handshake::derive_accept_key(key.as_bytes()))
        {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// Checks a WebSocket handshake: its key, or the status and reason to refuse it.
fn check_handshake(headers: &HeaderMap) -> Result<String, (StatusCode, &'static str)> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "this is a WebSocket endpoint: send Upgrade: websocket and Connection: Upgrade",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version: expected Sec-WebSocket-Version: 13",
        ));
    }
    if !has_token(header::SEC_WEBSOCKET_PROTOCOL, SUBPROTOCOL) {
        return Err((
            StatusCode::BAD_REQUEST,
            "missing WebSocket subprotocol: offer Sec-WebSocket-Protocol: mcp",
        ));
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or((StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key header"))
}

/// Serves one connection, once upgraded, until either side closes it; `slot`, its place
/// among the endpoint's sessions, is given back then.
///
/// One task per socket: the connection's driver runs in it, beside the socket's reads and
/// writes (a second task would cost every idle socket its own header and wake-ups).
async fn serve(
    mcp: McpService,
    client: Option<IpAddr>,
    caller: connect::Caller,
    slot: connect::Slot,
    upgrade: hyper::upgrade::OnUpgrade,
) {
    let io = match upgrade.await {
        Ok(upgraded) => TokioIo::new(upgraded),
        Err(e) => {
            tracing::debug!(error = %e, "WebSocket upgrade failed");
            return;
        }
    };
    let inner = &mcp.inner;
    let ping = inner.config.ws_ping;
    let mut socket = socket::Socket::new(io, inner.config.body_limit);
    let (peer, handler) = Router::connection(&inner.shared, inner.max_in_flight);
    let (inbox, frames) = channel::channel(INBOX);
    let (out, mut rx) = Outbound::lazy_channel();
    let shutdown = inner.shutdown.clone();
    let drive = crate::transport::drive(peer.clone(), handler, frames, out, async move {
        shutdown.cancelled().await
    });
    let mut driver = std::pin::pin!(connect::as_caller(caller, drive));
    // Whether the driver has returned (it is not polled again).
    let mut driven = false;
    tracing::debug!(?client, "WebSocket connection opened");
    let mut ticker = tokio::time::interval(ping);
    ticker.reset();
    let mut heard = true;
    // A message read but not yet taken by the connection: while one waits, the socket is
    // not read (backpressure to the peer), but replies keep going out; the reader never
    // waits on the writer's queue, which waits on the connection, which waits on it.
    let mut waiting: Option<String> = None;
    let close = loop {
        tokio::select! {
            _ = &mut driver, if !driven => driven = true,
            open = inbox.ready(), if waiting.is_some() => {
                let sent = match waiting.take() {
                    Some(text) if open.is_ok() => inbox.push(ReadFrame::Frame(text)).is_ok(),
                    _ => false,
                };
                if !sent {
                    break Some((CloseCode::Away, "the server is shutting down"));
                }
            }
            message = socket.next(), if waiting.is_none() => {
                heard = true;
                match message {
                    Some(Ok(Message::Text(text))) => waiting = Some(text.as_str().to_owned()),
                    Some(Ok(Message::Binary(_))) => {
                        break Some((CloseCode::Unsupported, "MCP messages are text frames: binary frames are not accepted"));
                    }
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Ok(_)) => {} // ping (answered by the library), pong
                    Some(Err(tungstenite::Error::Capacity(_))) => {
                        break Some((CloseCode::Size, "message larger than the server accepts"));
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "WebSocket read failed");
                        break Some((CloseCode::Protocol, "invalid WebSocket data"));
                    }
                }
            }
            frame = rx.recv() => {
                let Some(OutFrame { text, .. }) = frame else {
                    break Some((CloseCode::Away, "the server is shutting down"));
                };
                // A peer that does not read gets its connection closed, not a queue
                // that grows.
                match tokio::time::timeout(ping, socket.send(Message::text(text))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "WebSocket write failed");
                        break None;
                    }
                    Err(_) => {
                        tracing::debug!("the WebSocket peer stopped reading: closing");
                        break None;
                    }
                }
            }
            _ = ticker.tick() => {
                // While the server is behind it does not read, so it cannot hear a pong.
                if !heard && waiting.is_none() {
                    break Some((CloseCode::Policy, "no pong in time"));
                }
                heard = false;
                let ping = socket.send(Message::Ping(Default::default()));
                if !matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Ok(()))) {
                    break None;
                }
            }
            () = peer.closed().cancelled() => break Some((CloseCode::Away, "the connection was closed")),
        }
    };
    peer.close();
    drop(inbox);
    // What is still queued will not be sent: the connection and its handlers, which may be
    // waiting for room in the queue, get an error instead of waiting for ever.
    drop(rx);
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(frame)).await;
    }
    drop(socket);
    if !driven {
        let _ = driver.await;
    }
    drop(slot);
    tracing::debug!(?client, "WebSocket connection closed");
}

super::service::http_service!(WsService);
