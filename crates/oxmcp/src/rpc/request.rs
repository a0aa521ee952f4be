//! Requests this side sends: correlation, timeouts that progress resets, cancellation.
//!
//! Clients send requests; servers only answer them until they ask clients questions
//! (sampling, elicitation, roots), hence the allowance for server-only builds.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use oxmcp_protocol::jsonrpc::RequestId;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::pending::Answer;
use super::{frame, Outbound, Peer};
use crate::error::Error;

/// A progress update for a request in flight.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Progress so far; increases with every update.
    pub progress: f64,
    /// The total, when known.
    pub total: Option<f64>,
    /// A human-readable message, when given.
    pub message: Option<String>,
}

/// A callback that receives a request's progress updates.
#[derive(Clone)]
pub struct ProgressCallback(pub(crate) Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressCallback {
    /// Wraps a closure.
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        ProgressCallback(Arc::new(f))
    }
}

impl fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressCallback")
    }
}

/// How one outgoing request waits for its answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestOptions {
    /// Give up when nothing (no response, no progress) arrived for this long.
    pub(crate) timeout: Option<Duration>,
    /// Give up after this long in all, whatever progress arrives.
    pub(crate) max_total: Option<Duration>,
    /// Receives progress; its token is the request id.
    pub(crate) progress: Option<ProgressCallback>,
    /// Cancels the request when fired.
    pub(crate) cancel: Option<CancellationToken>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProgressParams {
    progress_token: RequestId,
    progress: f64,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    message: Option<String>,
}

impl Peer {
    /// Sends a request and waits for its result.
    ///
    /// `params` is the params object as JSON text. The request id is `id` (take it from
    /// [`Peer::next_id`]); when `options.progress` is set, the caller has put the same id in
    /// `_meta.progressToken`. If the wait ends early (timeout, cancellation, the future is
    /// dropped), the peer is sent `notifications/cancelled`.
    pub(crate) async fn request(
        &self,
        outbound: &Outbound,
        id: RequestId,
        method: &str,
        params: Option<&str>,
        options: RequestOptions,
    ) -> Result<Box<RawValue>, Error> {
        #[cfg(feature = "otel")]
        {
            let (span, traced) = crate::otel::send(method, Some(&id), params);
            if !span.is_disabled() {
                use tracing::Instrument;
                let params = traced.as_deref().or(params);
                let outcome = self
                    .send_request(outbound, id, method, params, options)
                    .instrument(span.clone())
                    .await;
                crate::otel::record_outcome(&span, method == "tools/call", &outcome);
                return outcome;
            }
        }
        self.send_request(outbound, id, method, params, options)
            .await
    }

    /// [`Peer::request`], outside any span.
    async fn send_request(
        &self,
        outbound: &Outbound,
        id: RequestId,
        method: &str,
        params: Option<&str>,
        options: RequestOptions,
    ) -> Result<Box<RawValue>, Error> {
        if self.inner.closed.is_cancelled() {
            return Err(Error::closed());
        }
        if !outbound.carries_requests() {
            return Err(Error::unsupported(
                "the client cannot be asked anything here: it accepts only application/json \
                 on this POST, and a request to the client needs a text/event-stream response \
                 (add text/event-stream to the Accept header)",
            ));
        }
        let rx = self.wait_for(&id, &options)?;
        let mut guard = Abandon {
            peer: self,
            outbound,
            id: &id,
            armed: true,
        };
        outbound
            .send(frame::encode_request(&id, method, params))
            .await?;
        // No timer here: the connection's sweeper enforces the deadlines (`pending`). The
        // connection closing drops the sender, as the other side's input ending does.
        let answer = match &options.cancel {
            None => Some(rx.await),
            Some(cancel) => tokio::select! {
                answer = rx => Some(answer),
                _ = cancel.cancelled() => None,
            },
        };
        // `answered`: the outcome came from the other side (or the transport standing in
        // for it, or the connection ended), so the peer needs no cancellation.
        let (outcome, answered) = match answer {
            Some(Ok(Answer::Came(outcome))) => (outcome, true),
            Some(Ok(Answer::Expired(after))) => (Err(Error::timeout(after)), false),
            Some(Err(_)) => (Err(Error::closed()), true),
            None => (Err(Error::cancelled()), false),
        };
        guard.armed = !answered;
        drop(guard);
        outcome
    }

    /// Fails the pending request `id` with `error`: the transport could not get it an
    /// answer (an HTTP failure, say). Returns whether such a request was waiting.
    #[cfg_attr(not(feature = "http-client"), allow(dead_code))]
    pub(crate) fn fail_pending(&self, id: &RequestId, error: Error) -> bool {
        let waiter = self.inner.pending.lock().expect("pending lock").take(id);
        waiter.is_some_and(|tx| tx.send(Answer::Came(Err(error))).is_ok())
    }

    /// Sends a notification.
    pub(crate) async fn notify(
        &self,
        outbound: &Outbound,
        method: &str,
        params: Option<&str>,
    ) -> Result<(), Error> {
        #[cfg(feature = "otel")]
        {
            let (span, traced) = crate::otel::send(method, None, params);
            let _entered = span.enter();
            let frame = frame::encode_notification(method, traced.as_deref().or(params));
            drop(_entered);
            return outbound.send(frame).await;
        }
        #[cfg(not(feature = "otel"))]
        outbound
            .send(frame::encode_notification(method, params))
            .await
    }

    /// Hands a progress notification to the callback of the request it belongs to.
    /// Returns whether it belonged to one of our requests.
    pub(super) fn route_progress(&self, params: Option<&RawValue>) -> bool {
        let Some(Ok(p)) = params.map(|p| serde_json::from_str::<ProgressParams>(p.get())) else {
            return false;
        };
        let Some(callback) = self.progressed(&p.progress_token) else {
            return false;
        };
        if let Some(callback) = callback {
            (callback.0)(Progress {
                progress: p.progress,
                total: p.total,
                message: p.message,
            });
        }
        true
    }
}

/// Cleans up a request that stopped waiting before its answer came, and tells the peer.
struct Abandon<'a> {
    peer: &'a Peer,
    outbound: &'a Outbound,
    id: &'a RequestId,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.peer.forget_pending(self.id);
        if self.armed {
            let params = serde_json::json!({ "requestId": self.id, "reason": "request abandoned by the caller" });
            self.outbound.send_detached(frame::encode_notification(
                "notifications/cancelled",
                Some(&params.to_string()),
            ));
        }
    }
}
