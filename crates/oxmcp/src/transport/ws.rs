//! The WebSocket client transport: subprotocol `mcp`, one message per text frame.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::channel::{self, ChannelSource};
use super::ReadFrame;
use crate::error::{Error, Result};
use crate::rpc::{OutFrame, Peer};

/// Bytes of the client socket's read buffer (and of each read).
const CLIENT_READ_BUFFER: usize = 16 * 1024;

/// Settings of the WebSocket client transport: the URL (`ws://` or `wss://`), headers of
/// the upgrade request (a bearer token, for a server that requires one), limits.
///
/// ```no_run
/// use std::time::Duration;
/// use oxmcp::client::{Client, WsClientConfig};
///
/// # async fn run() -> oxmcp::Result<()> {
/// let config = WsClientConfig::new("wss://example.com/ws")
///     .header("Authorization", "Bearer my-token")
///     .connect_timeout(Some(Duration::from_secs(5)));
/// let client = Client::builder().connect_ws_with(config).await?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct WsClientConfig {
    url: String,
    headers: Vec<(String, String)>,
    connect_timeout: Option<Duration>,
    max_message: usize,
}

impl WsClientConfig {
    /// Settings for the WebSocket endpoint at `url`. Defaults: no extra headers, a 30 s
    /// limit on opening the socket (TCP, TLS and the upgrade), messages up to 16 MiB.
    pub fn new(url: impl Into<String>) -> Self {
        WsClientConfig {
            url: url.into(),
            headers: Vec::new(),
            connect_timeout: Some(Duration::from_secs(30)),
            max_message: super::DEFAULT_MAX_FRAME,
        }
    }

    /// The WebSocket endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a header to the upgrade request (authorization, tenant, tracing, ...).
    /// Checked when connecting.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How long opening the socket (TCP, TLS, the upgrade) may take (`None`: no limit).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest message accepted from the server, in bytes (default 16 MiB); a larger
    /// one closes the socket.
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// The upgrade request: the URL (`ws://` or `wss://`), the subprotocol, the headers.
    fn request(&self) -> Result<http::Request<()>> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| Error::transport("parse the WebSocket URL", e))?;
        let scheme = request.uri().scheme_str().unwrap_or("");
        if !matches!(scheme, "ws" | "wss") {
            return Err(Error::transport(
                "parse the WebSocket URL",
                invalid(format!(
                    "unsupported scheme {scheme:?}: expected ws:// or wss://"
                )),
            ));
        }
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::transport("set a custom header", invalid(e.to_string())))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|e| Error::transport("set a custom header", invalid(e.to_string())))?;
            headers.append(name, value);
        }
        headers.insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            http::HeaderValue::from_static("mcp"),
        );
        Ok(request)
    }
}

/// Opens the socket `config` names, then runs the transport until `peer` closes or the
/// server closes the socket: what `rx` yields is sent as text frames, the text frames
/// received are the source's frames.
pub(crate) async fn start_ws(
    config: &WsClientConfig,
    mut rx: mpsc::Receiver<OutFrame>,
    peer: Peer,
) -> Result<ChannelSource> {
    let request = config.request()?;
    super::crypto_provider();
    // tungstenite's default read buffer (128 KiB) is held for the socket's life; MCP
    // messages are small, and a larger one is read in more steps.
    let limits = WebSocketConfig::default()
        .read_buffer_size(CLIENT_READ_BUFFER)
        .max_message_size(Some(config.max_message));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(limits), false);
    let connected = match config.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, connect).await.map_err(|_| {
            Error::transport(
                "open the WebSocket",
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("not open within {limit:?}"),
                ),
            )
        })?,
        None => connect.await,
    };
    let (mut socket, response) = connected.map_err(|e| match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => Error::http(
            response.status().as_u16(),
            response.body().as_deref().unwrap_or_default(),
        ),
        e => Error::transport("open the WebSocket", e),
    })?;
    if response
        .headers()
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .is_none_or(|v| v.as_bytes() != b"mcp")
    {
        return Err(Error::protocol(
            "the server did not accept the WebSocket subprotocol `mcp`",
        ));
    }
    let (tx, frames) = channel::channel(crate::rpc::outbound::OUTBOUND_CAPACITY);
    let closed = peer.closed().clone();
    tokio::spawn(async move {
        // A message read but not yet taken by the connection: while one waits, the socket
        // is not read (backpressure), but what the client sends keeps going out, since the
        // connection may be waiting for room on that very queue.
        let mut waiting: Option<String> = None;
        loop {
            tokio::select! {
                open = tx.ready(), if waiting.is_some() => {
                    let Some(text) = waiting.take().filter(|_| open.is_ok()) else { break };
                    if tx.push(ReadFrame::Frame(text)).is_err() {
                        break;
                    }
                }
                message = socket.next(), if waiting.is_none() => match message {
                    Some(Ok(Message::Text(text))) => waiting = Some(text.as_str().to_owned()),
                    Some(Ok(Message::Binary(_))) => {
                        tracing::debug!("ignored a binary WebSocket frame");
                    }
                    Some(Ok(Message::Close(frame))) => {
                        tracing::debug!(?frame, "the server closed the WebSocket");
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "the WebSocket broke off");
                        break;
                    }
                    None => break,
                },
                frame = rx.recv() => {
                    let Some(frame) = frame else { break };
                    if let Err(e) = socket.send(Message::text(frame.text)).await {
                        tracing::debug!(error = %e, "WebSocket write failed");
                        break;
                    }
                }
                () = closed.cancelled() => {
                    let _ = socket.close(None).await;
                    break;
                }
            }
        }
    });
    Ok(frames)
}
