//! Cancelling one incoming request: a flag and a waker, without a lock or a token tree.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio_util::sync::CancellationToken;

/// Whether an incoming request has been cancelled (by the peer's `notifications/cancelled`,
/// or because the connection closed), and who to tell.
///
/// The engine's task for the request waits on it with no lock (an atomic flag and an
/// [`AtomicWaker`]); a `CancellationToken` is made only if the handler asks for one.
#[derive(Default)]
pub(crate) struct RequestCancel {
    cancelled: AtomicBool,
    /// The task that runs the request.
    waker: AtomicWaker,
    /// The token handed to the handler, if it asked for one.
    token: OnceLock<CancellationToken>,
}

impl RequestCancel {
    /// Cancels the request: its task stops at its next poll, and the handler's token fires.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.waker.wake();
        if let Some(token) = self.token.get() {
            token.cancel();
        }
    }

    /// Tells the handler (through its token, if it asked for one) that it was cancelled,
    /// without cancelling the request: a request that timed out still gets its answer.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn cancel_handler(&self) {
        if let Some(token) = self.token.get() {
            token.cancel();
        }
    }

    /// Whether the request was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The handler's token, made on first use (already cancelled if the request is).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn token(&self) -> &CancellationToken {
        let token = self.token.get_or_init(CancellationToken::new);
        // A cancellation between the making and the setting saw no token: look again.
        if self.is_cancelled() {
            token.cancel();
        }
        token
    }
}

/// Where the engine finds an incoming request's [`RequestCancel`]: the handler's context
/// holds one (no allocation of its own), or a bare one for requests without a context.
pub(crate) trait CancelSource: Send + Sync {
    /// The request's cancellation state.
    fn request_cancel(&self) -> &RequestCancel;
}

impl CancelSource for RequestCancel {
    fn request_cancel(&self) -> &RequestCancel {
        self
    }
}

/// A future that ends (with `None`) as soon as its request is cancelled.
pub(crate) struct Cancellable<'a, F: ?Sized> {
    pub(crate) cancel: &'a RequestCancel,
    pub(crate) future: Pin<&'a mut F>,
}

impl<F: Future + ?Sized> Future for Cancellable<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if self.cancel.is_cancelled() {
            return Poll::Ready(None);
        }
        self.cancel.waker.register(cx.waker());
        if self.cancel.is_cancelled() {
            return Poll::Ready(None);
        }
        self.future.as_mut().poll(cx).map(Some)
    }
}

/// The bound on handlers running at once: an atomic count, and a queue (a `Notify`) only for
/// those that wait.
pub(crate) struct Slots {
    max: usize,
    running: AtomicUsize,
    waiting: AtomicUsize,
    turn: tokio::sync::Notify,
}

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        Slots {
            max,
            running: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            turn: tokio::sync::Notify::new(),
        }
    }

    /// Whether a slot is free now.
    pub(crate) fn has_room(&self) -> bool {
        self.running.load(Ordering::Acquire) < self.max
    }

    /// Takes a slot if one is free.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let mut running = self.running.load(Ordering::Acquire);
        loop {
            if running >= self.max {
                return None;
            }
            match self.running.compare_exchange_weak(
                running,
                running + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Slot(self.clone())),
                Err(now) => running = now,
            }
        }
    }

    /// Waits for a slot, in turn with the others waiting.
    pub(crate) async fn take(self: &Arc<Self>) -> Slot {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(self);
        loop {
            let notified = self.turn.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(slot) = self.try_take() {
                return slot;
            }
            notified.await;
        }
    }
}

/// Counts a waiter out however it stops waiting (with a slot, or dropped when cancelled).
struct Waiting<'a>(&'a Slots);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A slot taken; given back when dropped.
pub(crate) struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        if self.0.waiting.load(Ordering::SeqCst) > 0 {
            self.0.turn.notify_one();
        }
    }
}
