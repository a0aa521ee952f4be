//! The WebSocket client transport: subprotocol `mcp`, one message per text frame.

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::channel::ChannelSource;
use super::ReadFrame;
use crate::error::{Error, Result};
use crate::rpc::{OutFrame, Peer};

/// Opens the socket at `url` (`ws://`), then runs the transport until `peer` closes or
/// the server closes the socket: what `rx` yields is sent as text frames, the text frames
/// received are the source's frames.
pub(crate) async fn start_ws(
    url: &str,
    mut rx: mpsc::Receiver<OutFrame>,
    peer: Peer,
) -> Result<ChannelSource> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::transport("parse the WebSocket URL", e))?;
    request.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::HeaderValue::from_static("mcp"),
    );
    let config = WebSocketConfig::default().max_message_size(Some(super::DEFAULT_MAX_FRAME));
    let (mut socket, response) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false)
            .await
            .map_err(|e| match e {
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
    let (tx, frames) = mpsc::channel(crate::rpc::outbound::OUTBOUND_CAPACITY);
    let closed = peer.closed().clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        if tx.send(ReadFrame::Frame(text.as_str().to_owned())).await.is_err() {
                            break;
                        }
                    }
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
    Ok(ChannelSource(frames))
}
