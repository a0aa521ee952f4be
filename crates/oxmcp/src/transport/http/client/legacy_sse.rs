//! The HTTP+SSE client transport of protocol revision 2024-11-05: a `GET` opens the
//! stream, whose `endpoint` event names the URL every message is `POST`ed to; the
//! server's messages come down the stream.

use std::time::Duration;

use futures_util::StreamExt;
use oxmcp_protocol::RequestId;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::conn::{build, read_body, send_error};
use super::sse::{SseItem, SseParser};
use super::HttpClientConfig;
use crate::error::{Error, Result};
use crate::rpc::{OutFrame, Peer};
use crate::transport::channel::{self, ChannelSource};
use crate::transport::ReadFrame;

/// How long the server may take to send the `endpoint` event when no connect timeout is
/// set.
const ENDPOINT_WAIT: Duration = Duration::from_secs(30);

/// Opens the stream, waits for its `endpoint` event, then runs the transport until `peer`
/// closes: what `rx` yields is `POST`ed in order, the stream's messages are the source's
/// frames.
pub(crate) async fn start_sse(
    config: HttpClientConfig,
    mut rx: mpsc::Receiver<OutFrame>,
    peer: Peer,
) -> Result<ChannelSource> {
    let (http, url, headers) = build(&config)?;
    let response = http
        .get(url.clone())
        .headers(headers.clone())
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|e| send_error(e, config.connect_timeout))?;
    let status = response.status();
    if !status.is_success() {
        let body = read_body(response, 512).await?;
        return Err(Error::http(status.as_u16(), &body.bytes));
    }
    let mut chunks = response.bytes_stream();
    let mut parser = SseParser::new(config.max_frame);
    let mut items = Vec::new();
    let wait = config.connect_timeout.unwrap_or(ENDPOINT_WAIT);
    let endpoint = tokio::time::timeout(wait, async {
        loop {
            if let Some(at) = items.iter().position(
                |item| matches!(item, SseItem::Event(e) if e.event.as_deref() == Some("endpoint")),
            ) {
                let SseItem::Event(event) = items.remove(at) else {
                    unreachable!("matched above")
                };
                // Messages before the endpoint event would be the server's mistake: drop.
                items.drain(..at);
                return Ok(event.data);
            }
            match chunks.next().await {
                Some(Ok(chunk)) => parser.feed(&chunk, &mut items),
                Some(Err(e)) => return Err(Error::transport("read the SSE stream", e)),
                None => {
                    return Err(Error::protocol(
                        "the SSE stream ended before its `endpoint` event",
                    ))
                }
            }
        }
    })
    .await
    .map_err(|_| {
        Error::protocol(format!(
            "no `endpoint` event on the SSE stream within {wait:?}: is this an HTTP+SSE server?"
        ))
    })??;
    let post_url = url
        .join(endpoint.trim())
        .map_err(|e| Error::protocol(format!("invalid `endpoint` event {endpoint:?}: {e}")))?;
    if post_url.origin() != url.origin() {
        return Err(Error::protocol(format!(
            "the `endpoint` event names another origin ({post_url}) than the stream's ({url}): refused"
        )));
    }
    tracing::debug!(%post_url, "HTTP+SSE session opened");

    let (tx, frames) = channel::channel(crate::rpc::outbound::OUTBOUND_CAPACITY);
    let closed = peer.closed().clone();
    let max_frame = config.max_frame;
    // The stream: every `message` event is a frame; the input ends with the stream.
    tokio::spawn(async move {
        let mut pending = items.into_iter();
        loop {
            for item in pending.by_ref() {
                let frame = match item {
                    SseItem::Event(event)
                        if event.event.as_deref().unwrap_or("message") == "message" =>
                    {
                        ReadFrame::Frame(event.data)
                    }
                    SseItem::Event(event) => {
                        tracing::debug!(event = ?event.event, "ignored an SSE event of another type");
                        continue;
                    }
                    SseItem::TooLarge => ReadFrame::TooLarge(max_frame),
                };
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
            let chunk = tokio::select! {
                chunk = chunks.next() => chunk,
                () = closed.cancelled() => return,
            };
            let mut fresh = Vec::new();
            match chunk {
                Some(Ok(chunk)) => parser.feed(&chunk, &mut fresh),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "the SSE stream broke off");
                    return;
                }
                None => {
                    tracing::debug!("the server ended the SSE stream");
                    return;
                }
            }
            pending = fresh.into_iter();
        }
    });
    // The messages, POSTed one after the other so they arrive in order.
    let closed = peer.closed().clone();
    let connect_timeout = config.connect_timeout;
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                frame = rx.recv() => frame,
                () = closed.cancelled() => None,
            };
            let Some(frame) = frame else { break };
            let sent = http
                .post(post_url.clone())
                .headers(headers.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(frame.text.clone())
                .send()
                .await;
            let error = match sent {
                Ok(response) if response.status().is_success() => continue,
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = read_body(response, 512).await.map(|b| b.bytes);
                    Error::http(status, &body.unwrap_or_default())
                }
                Err(e) => send_error(e, connect_timeout),
            };
            tracing::debug!(%error, "a message could not be POSTed");
            fail_request(&peer, &frame.text, error);
        }
    });
    Ok(frames)
}

/// Fails the engine's request whose frame could not be sent (nothing waits on a
/// notification or a response).
fn fail_request(peer: &Peer, text: &str, error: Error) {
    #[derive(Deserialize)]
    struct Probe {
        id: Option<RequestId>,
        method: Option<serde::de::IgnoredAny>,
    }
    if let Ok(Probe {
        id: Some(id),
        method: Some(_),
    }) = serde_json::from_str::<Probe>(text)
    {
        peer.fail_pending(&id, error);
    }
}
