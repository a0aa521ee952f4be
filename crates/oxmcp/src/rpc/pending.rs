//! Requests this side sent that wait for their answer, and the one timer per connection
//! that enforces their timeouts.
//!
//! A request's timeouts are deadlines kept in its entry, not a timer of its own: one
//! sweeper task per connection sleeps until the earliest deadline, fails the requests past
//! theirs (their callers then tell the peer), and sleeps until the next. A request whose
//! deadline is not earlier than the one the sweeper sleeps until (the usual case: the same
//! timeout for every request, sent one after another) touches no timer at all. A timer
//! armed per request cost a registration in the runtime's timer wheel and, on a
//! current-thread runtime, a wake-up of the driver (a write to its eventfd) every time the
//! new timer was the earliest, which at one request in flight is every request.
//!
//! A deadline that passes while its request's answer is already on the way loses the race
//! exactly as a timer of its own would have.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use foldhash::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use oxmcp_protocol::jsonrpc::RequestId;
use serde_json::value::RawValue;
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

use super::request::{ProgressCallback, RequestOptions};
use super::{Peer, PeerInner};
use crate::error::Error;

/// How a request's wait ended, as its entry's sender reports it.
pub(crate) enum Answer {
    /// The answer came (or the transport's failure to get one, `Peer::fail_pending`): the
    /// peer needs no cancellation.
    Came(Result<Box<RawValue>, Error>),
    /// A deadline passed after this long; the peer has not answered.
    Expired(Duration),
}

/// Where the answer to one of our requests is delivered. Dropped unsent (the connection
/// closed, the other side's input ended), the request fails as closed.
pub(crate) type Waiter = oneshot::Sender<Answer>;

/// One request waiting for its answer.
pub(crate) struct Waiting {
    tx: Waiter,
    start: Instant,
    /// Give up when nothing arrived for this long ([`RequestOptions::timeout`]).
    idle: Option<Duration>,
    /// The time from `start` to the latest progress update (zero before one).
    last: Duration,
    /// Give up at this instant whatever arrives ([`RequestOptions::max_total`]).
    cap: Option<Instant>,
    progress: Option<ProgressCallback>,
}

impl Waiting {
    /// When the request fails unless something arrives first.
    fn deadline(&self) -> Option<Instant> {
        let idle = self.idle.map(|t| self.start + self.last + t);
        match (idle, self.cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The requests we sent, waiting for their response, and the sweeper's state; behind the
/// peer's `pending` lock.
#[derive(Default)]
pub(crate) struct Pending {
    map: HashMap<RequestId, Waiting>,
    /// What the sweeper sleeps until (`None`: no deadline, it sleeps until told).
    armed: Option<Instant>,
    /// Whether the sweeper task has been started.
    sweeping: bool,
    /// Tells the sweeper a deadline earlier than `armed` was added (or the peer is gone).
    wake: Arc<Notify>,
}

impl Pending {
    /// Takes the request `id` out, to deliver its answer.
    pub(crate) fn take(&mut self, id: &RequestId) -> Option<Waiter> {
        self.map.remove(id).map(|w| w.tx)
    }

    /// Fails every request waiting (as closed: their senders are dropped).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}

impl Drop for PeerInner {
    fn drop(&mut self) {
        // The sweeper holds the peer weakly: woken, it finds it gone and ends.
        if let Ok(pending) = self.pending.get_mut() {
            pending.wake.notify_one();
        }
    }
}

impl Peer {
    /// Registers our request `id`, whose answer the receiver gets; its deadlines (from
    /// `options`) are enforced by the sweeper. Fails if no answer can come any more (the
    /// connection closed, or the other side's input ended).
    pub(crate) fn wait_for(
        &self,
        id: &RequestId,
        options: &RequestOptions,
    ) -> Result<oneshot::Receiver<Answer>, Error> {
        let (tx, rx) = oneshot::channel();
        let start = Instant::now();
        let entry = Waiting {
            tx,
            start,
            idle: options.timeout,
            last: Duration::ZERO,
            cap: options.max_total.map(|d| start + d),
            progress: options.progress.clone(),
        };
        let deadline = entry.deadline();
        let mut pending = self.inner.pending.lock().expect("pending lock");
        // Checked under the lock that `input_ended` and `close` clear the map under.
        if self
            .inner
            .input_ended
            .load(std::sync::atomic::Ordering::Acquire)
            || self.is_closed()
        {
            return Err(Error::closed());
        }
        pending.map.insert(id.clone(), entry);
        if let Some(at) = deadline {
            if !pending.sweeping {
                // Made here, in the caller's runtime: one without timers fails this call
                // at once, as a timeout of its own would, instead of a sweeper that
                // cannot sleep leaving the request waiting forever.
                let timer = Box::pin(tokio::time::sleep_until(at.into()));
                pending.sweeping = true;
                pending.armed = None;
                tokio::spawn(sweep(
                    Sweeping(Arc::downgrade(&self.inner)),
                    timer,
                    pending.wake.clone(),
                    self.inner.closed.clone(),
                ));
            }
            if pending.armed.is_none_or(|armed| at < armed) {
                pending.armed = Some(at);
                pending.wake.notify_one();
            }
        }
        Ok(rx)
    }

    /// Forgets our request `id` (its caller stopped waiting).
    pub(crate) fn forget_pending(&self, id: &RequestId) {
        self.inner
            .pending
            .lock()
            .expect("pending lock")
            .map
            .remove(id);
    }

    /// A progress update for our request `token` (its id) arrived: its idle deadline moves
    /// on, and its callback (if any) is returned. `None` if no request of ours with a
    /// progress callback or an idle timeout has that id.
    pub(crate) fn progressed(&self, token: &RequestId) -> Option<Option<ProgressCallback>> {
        let mut pending = self.inner.pending.lock().expect("pending lock");
        let entry = pending.map.get_mut(token)?;
        if entry.progress.is_none() && entry.idle.is_none() {
            return None;
        }
        entry.last = entry.start.elapsed();
        Some(entry.progress.clone())
    }
}

/// The sweeper: sleeps until the earliest deadline of the requests waiting, fails those
/// past it, and sleeps again; ends when the connection closes or the peer is dropped.
async fn sweep(
    peer: Sweeping,
    mut timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    wake: Arc<Notify>,
    closed: CancellationToken,
) {
    loop {
        let next = {
            let Some(inner) = peer.0.upgrade() else {
                return;
            };
            let mut pending = inner.pending.lock().expect("pending lock");
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let mut expired = Vec::new();
            for (id, waiting) in &pending.map {
                match waiting.deadline() {
                    Some(at) if at <= now => expired.push(id.clone()),
                    Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                    None => {}
                }
            }
            for id in expired {
                if let Some(waiting) = pending.map.remove(&id) {
                    let _ = waiting.tx.send(Answer::Expired(now - waiting.start));
                }
            }
            pending.armed = next;
            next
        };
        match next {
            Some(at) => {
                timer.as_mut().reset(at.into());
                tokio::select! {
                    _ = &mut timer => {}
                    _ = wake.notified() => {}
                    _ = closed.cancelled() => return,
                }
            }
            None => tokio::select! {
                _ = wake.notified() => {}
                _ = closed.cancelled() => return,
            },
        }
    }
}

/// The sweeper's hold on its peer. However the sweeper ends (the connection closed, or its
/// runtime shut down while the peer lives on, to be used from another runtime), the next
/// request with a deadline starts a new one.
struct Sweeping(Weak<PeerInner>);

impl Drop for Sweeping {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            if let Ok(mut pending) = inner.pending.lock() {
                pending.sweeping = false;
                pending.armed = None;
            }
        }
    }
}
