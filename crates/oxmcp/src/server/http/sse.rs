//! SSE response bodies: streams kept in the event store (legacy, resumable) and direct
//! streams (modern, no resumption).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::service::Inner;
use crate::rpc::OutFrame;

/// One SSE event carrying a JSON-RPC message (always one line).
pub(crate) fn event(id: Option<&str>, message: &str) -> Bytes {
    let mut out = String::with_capacity(message.len() + 32);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(message);
    out.push_str("\n\n");
    Bytes::from(out)
}

/// The first event of a resumable stream: its id, the retry delay, and no data.
fn priming(id: &str, retry_ms: u128) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

/// Something to run when a response body is dropped (the client went away or the stream
/// ended).
pub(crate) type OnDrop = Box<dyn FnOnce(bool) + Send>;

struct DropGuard {
    hook: Option<OnDrop>,
    finished: bool,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(hook) = self.hook.take() {
            hook(self.finished);
        }
    }
}

/// Follows a stream kept in the event store from `cursor` on, until the stream is done,
/// `close` fires, or the server shuts down.
pub(crate) struct Follow {
    pub(crate) inner: Arc<Inner>,
    pub(crate) cursor: String,
    /// `None`: the stream is no longer being written; replay what is stored and end.
    pub(crate) status: Option<watch::Receiver<bool>>,
    pub(crate) close: Option<CancellationToken>,
    /// A priming event to send first.
    pub(crate) prime: bool,
    pub(crate) on_drop: Option<OnDrop>,
}

struct FollowState {
    f: Follow,
    pending: VecDeque<Bytes>,
    finished: bool,
    guard: DropGuard,
}

impl Follow {
    pub(crate) fn into_body(mut self) -> Body {
        let mut pending = VecDeque::new();
        if self.prime {
            pending.push_back(priming(&self.cursor, self.inner.config.retry.as_millis()));
        }
        let guard = DropGuard {
            hook: self.on_drop.take(),
            finished: false,
        };
        let state = FollowState {
            f: self,
            pending,
            finished: false,
            guard,
        };
        Body::from_stream(stream::unfold(state, |mut state| async move {
            let next = state.next().await?;
            Some((Ok::<_, Infallible>(next), state))
        }))
    }
}

impl FollowState {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.pending.pop_front() {
                return Some(bytes);
            }
            if self.finished {
                self.guard.finished = true;
                return None;
            }
            if self
                .f
                .close
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
            {
                // What follows waits in the event store for the client to resume.
                self.finished = true;
                continue;
            }
            let done = self.f.status.as_mut().map(|rx| *rx.borrow_and_update());
            match self.f.inner.config.event_store.events_after(&self.f.cursor) {
                Some((_, events)) => {
                    for e in events {
                        if !e.message.is_empty() {
                            self.pending.push_back(event(Some(&e.id), &e.message));
                        }
                        self.f.cursor = e.id;
                    }
                }
                None => {
                    tracing::debug!(cursor = %self.f.cursor, "SSE stream no longer in the event store");
                    self.finished = true;
                    continue;
                }
            }
            if !self.pending.is_empty() {
                continue;
            }
            if done != Some(false) {
                self.finished = true;
                continue;
            }
            let Some(rx) = self.f.status.as_mut() else {
                continue;
            };
            let keep_alive = self.f.inner.config.keep_alive;
            let close = self.f.close.clone();
            // A POST's stream runs until its response, even when shutting down; the other
            // streams (GET) end then.
            let shutdown = self.f.inner.shutdown.clone();
            let ends_on_shutdown = close.is_none();
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        self.f.status = None;
                    }
                }
                _ = async move {
                    match close {
                        Some(close) => close.cancelled().await,
                        None => std::future::pending().await,
                    }
                } => {
                    tracing::debug!("SSE stream closed early at the handler's request");
                    self.finished = true;
                }
                _ = shutdown.cancelled(), if ends_on_shutdown => self.finished = true,
                _ = tokio::time::sleep(keep_alive) => self.pending.push_back(Bytes::from_static(b":\n\n")),
            }
        }
    }
}

/// Streams a POST's frames as they come, without storing them, until `expected` responses
/// went out. `first` was received already.
pub(crate) fn direct(
    keep_alive: std::time::Duration,
    first: OutFrame,
    rx: mpsc::Receiver<OutFrame>,
    expected: usize,
    on_drop: Option<OnDrop>,
) -> Body {
    struct State {
        first: Option<OutFrame>,
        rx: mpsc::Receiver<OutFrame>,
        responses: usize,
        expected: usize,
        guard: DropGuard,
    }
    let state = State {
        first: Some(first),
        rx,
        responses: 0,
        expected,
        guard: DropGuard {
            hook: on_drop,
            finished: false,
        },
    };
    Body::from_stream(stream::unfold(state, move |mut state| async move {
        // The flag telling the drop hook the stream completed was set with the last one.
        if state.responses >= state.expected {
            return None;
        }
        let frame = match state.first.take() {
            Some(frame) => frame,
            None => tokio::select! {
                frame = state.rx.recv() => frame?,
                _ = tokio::time::sleep(keep_alive) => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), state));
                }
            },
        };
        if frame.is_response {
            state.responses += 1;
        }
        if state.responses >= state.expected {
            state.guard.finished = true;
        }
        Some((Ok::<_, Infallible>(event(None, &frame.text)), state))
    }))
}
