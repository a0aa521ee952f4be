//! A POST's answer: a JSON body or an SSE stream (with resumption after a drop), and
//! whatever the server sends on that stream before it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, Response};
use serde_json::Value;

use super::super::frame::{is_rpc_error, with_id, InProbe};
use super::super::sse::{SseItem, SseParser};
use super::{is_sse, read_body, snippet, Cursor, SendFailure, Shared};
use crate::error::{Error, Result};

impl Shared {
    /// Reads the answer to request `id` from `response`, delivering whatever else comes
    /// first; `Err` says why there is none.
    pub(super) async fn answer(
        self: &Arc<Self>,
        response: Response,
        id: &Value,
        resumable: bool,
    ) -> Result<String> {
        let status = response.status();
        if status.is_success() && is_sse(&response) {
            let mut cursor = Cursor::new(self.config.default_retry);
            if let Some(answer) = self.read_sse(response, Some(id), &mut cursor).await {
                return Ok(answer);
            }
            return self.resume(id, cursor, resumable).await;
        }
        let body = read_body(response, self.config.max_frame).await?;
        let parsed: Option<Value> = match body.over {
            true => None,
            false => serde_json::from_slice(&body.bytes).ok(),
        };
        if !status.is_success() {
            return match parsed {
                // The server's own JSON-RPC error, sent with an error status.
                Some(message) if is_rpc_error(&message) => Ok(with_id(message, id).to_string()),
                _ => Err(Error::http(status.as_u16(), &body.bytes)),
            };
        }
        if body.over {
            return Err(Error::protocol(format!(
                "the server's response is larger than the limit of {} bytes",
                self.config.max_frame
            )));
        }
        match parsed {
            Some(Value::Array(items)) => {
                let mut answer = None;
                for item in items {
                    let text = item.to_string();
                    if answer.is_none() && InProbe::read(&text).answers(id) {
                        answer = Some(text);
                    } else {
                        self.deliver(text).await;
                    }
                }
                answer.ok_or_else(|| {
                    Error::protocol(format!(
                        "the server answered request {id} with a batch that holds no response \
                         to it"
                    ))
                })
            }
            Some(message) => {
                let text = message.to_string();
                if InProbe::read(&text).answers(id) {
                    Ok(text)
                } else if is_rpc_error(&message) {
                    // An error the server could not tie to the request (`id: null`).
                    Ok(with_id(message, id).to_string())
                } else {
                    if message.get("method").is_some() {
                        self.deliver(text).await;
                    }
                    Err(Error::protocol(format!(
                        "the server answered request {id} with JSON that is not a response \
                         to it (HTTP {status})"
                    )))
                }
            }
            None => {
                let error = Error::protocol(format!(
                    "the server answered request {id} with HTTP {status} and a body that is \
                     not JSON (expected a JSON-RPC response or an SSE stream): {:?}",
                    snippet(&body.bytes)
                ));
                Err(match serde_json::from_slice::<Value>(&body.bytes) {
                    Err(cause) => error.with_source(cause),
                    Ok(_) => error,
                })
            }
        }
    }

    /// Reads an SSE stream, delivering its messages; returns the answer to `waiting`
    /// (undelivered) once it arrives, `None` if the stream ended first.
    pub(super) async fn read_sse(
        &self,
        response: Response,
        waiting: Option<&Value>,
        cursor: &mut Cursor,
    ) -> Option<String> {
        let mut parser = SseParser::new(self.config.max_frame);
        let mut items = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    cursor.broke = Some(e);
                    break;
                }
            };
            parser.feed(&chunk, &mut items);
            for item in items.drain(..) {
                let SseItem::Event(event) = item else {
                    tracing::warn!("skipped an SSE event over the size limit");
                    continue;
                };
                if let Some(id) = event.id {
                    cursor.last_id = Some(id);
                }
                if let Some(ms) = event.retry {
                    cursor.retry = Duration::from_millis(ms);
                }
                if event.data.trim().is_empty() {
                    continue; // a priming event
                }
                cursor.events += 1;
                if waiting.is_some_and(|id| InProbe::read(&event.data).answers(id)) {
                    return Some(event.data);
                }
                self.deliver(event.data).await;
            }
        }
        None
    }

    /// Resumes a stream that ended before the answer to `id`, with GET and
    /// `Last-Event-ID` after the server's retry delay (legacy servers only).
    async fn resume(&self, id: &Value, mut cursor: Cursor, resumable: bool) -> Result<String> {
        let mut attempts = 0;
        loop {
            if !resumable || cursor.last_id.is_none() || attempts >= self.config.max_reconnects {
                let error = Error::transport(
                    "the server's stream ended before the response",
                    std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                );
                return Err(match cursor.broke.take() {
                    Some(cause) => error.with_source(cause),
                    None => error,
                });
            }
            attempts += 1;
            tokio::time::sleep(cursor.retry).await;
            let sent = self
                .send(Method::GET, None, None, cursor.last_id.as_deref())
                .await;
            match sent {
                Ok(response) if response.status().is_success() && is_sse(&response) => {
                    let before = cursor.events;
                    if let Some(answer) = self.read_sse(response, Some(id), &mut cursor).await {
                        return Ok(answer);
                    }
                    if cursor.events > before {
                        attempts = 0;
                    }
                }
                Ok(response) => {
                    let status = response.status();
                    let body = read_body(response, crate::error::HTTP_BODY_KEEP).await?;
                    return Err(Error::http(status.as_u16(), &body.bytes)
                        .with_context("resuming the stream failed"));
                }
                Err(SendFailure::Http(e)) => {
                    tracing::debug!(error = %e, "resuming the stream failed");
                    cursor.broke = Some(e);
                }
                Err(SendFailure::Auth(e)) => {
                    return Err(e.with_context("resuming the stream failed"));
                }
            }
        }
    }
}
