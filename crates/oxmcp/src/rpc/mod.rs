//! The JSON-RPC peer engine shared by clients and servers.
//!
//! A [`Peer`] correlates the responses to the requests it sends, runs every incoming
//! request whose answer needs user code off the reader, in its own task (so a handler,
//! however slow or CPU-bound, never delays the reader or the other requests; on a
//! current-thread runtime, a newline-delimited connection's [`runner`] gives the same
//! guarantees at a fraction of the cost), cancels a handler when
//! `notifications/cancelled` names its request (and sends no response then), routes
//! progress notifications to the callback of the request they belong to, and bounds the
//! number of requests handled at once.
//!
//! The reader never waits on user code or on the bound: a request beyond the bound waits
//! in its task for a permit, and one beyond the bound of waiting requests is refused at
//! once with an error that says the server is busy. So cancellations, responses to our own
//! requests and what the SDK answers itself (ping, discover, lists) always get through.

mod cancel;
pub(crate) mod frame;
pub(crate) mod outbound;
mod pending;
#[cfg(any(
    feature = "sse-server",
    feature = "sse-client",
    feature = "ws-server",
    feature = "ws-client"
))]
pub(crate) mod queue;
mod request;
mod runner;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foldhash::HashMap;
use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use frame::{Decoded, Message, Params};
pub(crate) use outbound::{OutFrame, Outbound};
#[cfg(any(feature = "client", feature = "server"))]
pub(crate) use request::RequestOptions;
pub use request::{Progress, ProgressCallback};

/// The default bound on requests handled at once per connection.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// The most items a JSON-RPC batch may have; a larger batch is refused whole.
pub(crate) const MAX_BATCH: usize = 1024;

/// The JSON-RPC error code of a request refused because the server is busy (a server
/// error in JSON-RPC's implementation-defined range).
pub(crate) const BUSY: i64 = -32000;

/// How long, by default, the requests still running when the input ends may take to
/// finish before they are cancelled.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What answering a request produced: the result object as JSON text, or an error.
pub(crate) type Reply = Result<String, ErrorObject>;

/// How a handler answers a request.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) enum Dispatch {
    /// The answer is known already, made by the SDK without user code; no task is spawned.
    Now(Reply),
    /// The answer comes from this future, run in its own task or by the connection's
    /// runner (never on the reader: it may run user code, which may take any time before
    /// it first waits).
    Later(BoxFuture<Reply>),
    /// [`Dispatch::Later`], with the handler's cancellation token.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    LaterWith(BoxFuture<Reply>, Arc<dyn CancelSource>),
}

pub(crate) use cancel::{CancelSource, RequestCancel};
use cancel::{Cancellable, Slot, Slots};
#[cfg(feature = "http-server")]
pub(crate) use runner::one_thread;
pub(crate) use runner::Queued;
use runner::Runner;

/// Everything a handler needs to answer one request, beyond its method and params.
#[derive(Clone)]
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct RequestCx {
    pub(crate) id: RequestId,
    pub(crate) outbound: Outbound,
    pub(crate) peer: Peer,
    /// The request's cancellation state, when it was made before its handler's context (a
    /// request that passes through middleware).
    pub(crate) cancel: Option<Arc<RequestCancel>>,
}

/// How starting a request went.
enum Started {
    /// The reply is known.
    Replied(RequestId, Reply),
    /// The reply needs user code, which runs off the reader (the request is in flight).
    Later(Queued),
}

/// The side of a connection that answers what the other side sends: the server's
/// router, or a client's handlers for the server's questions. (Not to be confused with
/// [`crate::server::Handler`], an async fn that answers one kind of request.)
pub(crate) trait Responder: Send + Sync + 'static {
    /// What the params of the methods [`Responder::eager`] names are read into, in the same
    /// pass as the message around them: in place, into a default value
    /// ([`serde::Deserialize::deserialize_in_place`], which a large type should implement).
    type Eager<'a>: serde::Deserialize<'a> + Default + Send;

    /// Whether the params of `method` are read as [`Responder::Eager`] (they then come to
    /// [`Responder::on_eager_request`]). Params that do not read so come raw, to
    /// [`Responder::on_request`].
    fn eager(&self, method: &str) -> bool {
        let _ = method;
        false
    }

    /// Called on the reader, in arrival order, for every request. Quick work of the SDK's
    /// own (routing, decoding params, session bookkeeping) happens here; user code and
    /// anything that may wait goes in the returned future, which runs in its own task.
    fn on_request(&self, method: &str, params: Option<&RawValue>, cx: RequestCx) -> Dispatch;

    /// [`Responder::on_request`] for a request whose params were read eagerly (in place:
    /// they are read from where they were decoded, not moved).
    fn on_eager_request(
        &self,
        method: &str,
        params: &mut Self::Eager<'_>,
        cx: RequestCx,
    ) -> Dispatch {
        let _ = (params, cx);
        Dispatch::Now(Err(ErrorObject::method_not_found(method)))
    }

    /// Called on the reader for every notification the engine does not consume itself.
    fn on_notification(&self, method: &str, params: Option<&RawValue>, cx: NotificationCx<'_>);

    /// What the spans of received messages say about this connection; `params` are the
    /// message's.
    #[cfg(feature = "otel")]
    fn facts(&self, params: Option<&RawValue>) -> crate::otel::Facts {
        let _ = params;
        crate::otel::Facts::default()
    }

    /// The span of a request whose params were read eagerly (feature `otel`; asked only
    /// while spans are recorded): made from those params, not by reading them again.
    #[cfg(feature = "otel")]
    fn eager_span(&self, method: &str, id: &RequestId, params: &Self::Eager<'_>) -> tracing::Span {
        let _ = (method, id, params);
        tracing::Span::none()
    }

    /// Whether a JSON-RPC batch is acceptable now (2025-03-26 sessions only).
    fn accepts_batches(&self) -> bool {
        false
    }

    /// Called once before the first frame with the connection's own outbound, where
    /// messages that belong to no request go.
    fn attach(&self, outbound: &Outbound) {
        let _ = outbound;
    }

    /// Called when the other side's input has ended (or the connection is asked to stop),
    /// before waiting for the requests still running: long-lived requests should finish now.
    fn on_input_end(&self) {}

    /// Whether an error about a message whose id could not be read says `"id": null`
    /// (JSON-RPC 2.0, and revisions up to 2025-06-18) rather than leaving the id out
    /// (2025-11-25 on, whose schemas make it optional and never null).
    fn null_unknown_ids(&self) -> bool {
        false
    }
}

/// Whether the params of `method` are read eagerly ([`Responder::eager`]); while spans
/// are recorded too (their span is made from what was read: [`Responder::eager_span`]).
fn eager_params<H: Responder>(handler: &H, method: &str) -> bool {
    handler.eager(method)
}

/// What a handler gets with a notification.
pub(crate) struct NotificationCx<'a> {
    #[allow(dead_code)]
    pub(crate) peer: &'a Peer,
    #[allow(dead_code)]
    pub(crate) outbound: &'a Outbound,
}

/// One end of a JSON-RPC connection. Cloning is cheap.
#[derive(Clone)]
pub(crate) struct Peer {
    inner: Arc<PeerInner>,
}

struct PeerInner {
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    next_id: AtomicI64,
    /// Requests we sent, waiting for their response (with their deadlines and progress
    /// callbacks).
    pending: Mutex<pending::Pending>,
    /// Requests we received and are handling in tasks of their own.
    in_flight: Mutex<HashMap<RequestId, Arc<dyn CancelSource>>>,
    /// How many entries `in_flight` has: while it is empty, the reader need not lock the
    /// map to look for a duplicate id.
    in_flight_count: AtomicUsize,
    /// The highest numeric id ever put in `in_flight` (written under its lock): a request
    /// with a higher one, as clients that count their ids up send, cannot be a duplicate,
    /// and the reader need not lock the map to look.
    highest_id: AtomicI64,
    /// Slots to run a handler in: `max_in_flight` of them.
    slots: Arc<Slots>,
    /// How many requests may be in flight at all, running or waiting for a permit.
    max_outstanding: usize,
    /// How long requests still running at the end of input may take.
    grace: Duration,
    tasks: TaskTracker,
    closed: CancellationToken,
    /// Set with `closed`: checking a token takes its lock, this is one load.
    is_closed: AtomicBool,
    /// The other side's input has ended: a request sent from now on can get no answer.
    /// Written and read under the `pending` lock.
    input_ended: AtomicBool,
}

impl Peer {
    #[cfg_attr(
        not(any(feature = "client", feature = "http-server")),
        allow(dead_code)
    )]
    pub(crate) fn new(max_in_flight: usize) -> Self {
        Peer::with_grace(max_in_flight, DEFAULT_GRACE)
    }

    /// A peer running at most `max_in_flight` handlers at once (as many more may wait for
    /// their turn), whose handlers still running when the input ends get `grace` to finish.
    pub(crate) fn with_grace(max_in_flight: usize, grace: Duration) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Peer {
            inner: Arc::new(PeerInner {
                next_id: AtomicI64::new(1),
                pending: Mutex::default(),
                in_flight: Mutex::default(),
                in_flight_count: AtomicUsize::new(0),
                highest_id: AtomicI64::new(i64::MIN),
                slots: Arc::new(Slots::new(max_in_flight)),
                max_outstanding: max_in_flight.saturating_mul(2),
                grace,
                tasks: TaskTracker::new(),
                closed: CancellationToken::new(),
                is_closed: AtomicBool::new(false),
                input_ended: AtomicBool::new(false),
            }),
        }
    }

    /// A fresh id for a request this side sends.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn next_id(&self) -> RequestId {
        RequestId::Number(self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Fires when the connection has closed.
    pub(crate) fn closed(&self) -> &CancellationToken {
        &self.inner.closed
    }

    /// Forgets the incoming request `id`, handled in a task of its own.
    fn forget_request(&self, id: &RequestId) {
        let mut in_flight = self.inner.in_flight.lock().expect("in-flight lock");
        in_flight.remove(id);
        self.inner
            .in_flight_count
            .store(in_flight.len(), Ordering::Release);
    }

    /// Whether a request with this id may be in flight: not if it is a number higher than
    /// any ever put in flight.
    fn may_be_in_flight(&self, id: &RequestId) -> bool {
        match id {
            RequestId::Number(n) => *n <= self.inner.highest_id.load(Ordering::Acquire),
            RequestId::String(_) => true,
        }
    }

    /// Whether [`Peer::close`] has been called.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.is_closed.load(Ordering::Acquire)
    }

    /// Handles one incoming frame; waits while too many requests are in flight.
    #[cfg(test)]
    pub(crate) async fn handle_frame<H: Responder>(
        &self,
        frame: &str,
        handler: &Arc<H>,
        outbound: &Outbound,
    ) {
        self.handle_frame_joined(frame, handler, outbound, None, None)
            .await;
    }

    /// [`Peer::handle_frame`]; with `joined`, the replies known at once (and the errors
    /// about the frame) are added there instead of being sent, for the caller to send
    /// together with others (a transport of newline-delimited frames); with `keep`, a
    /// single request whose answer needs user code is left there for the caller to run.
    pub(crate) async fn handle_frame_joined<H: Responder>(
        &self,
        frame: &str,
        handler: &Arc<H>,
        outbound: &Outbound,
        mut joined: Option<&mut Joined>,
        keep: Option<&mut Option<Queued>>,
    ) {
        self.make_room(joined.as_deref_mut()).await;
        // Decoded and started without waiting; what may be left to wait for (room in a
        // full queue, a batch) is boxed: the future of every frame, which every
        // connection's driver holds between frames, stays small.
        match self.handle_frame_now(frame, handler, outbound, joined, keep) {
            Rest::Done => {}
            Rest::Send(wait) => {
                let _ = wait.await;
            }
            // Batches (2025-03-26 only) are rare, and allocate per item anyway.
            Rest::Batch(items) => Box::pin(self.handle_batch(items, handler, outbound)).await,
        }
    }

    /// Decodes a frame as [`Peer::handle_frame_joined`] does (the params of a method
    /// `handler` reads eagerly go in `eager`), for a caller that looks at the message before
    /// it is handled: the Streamable HTTP server checks a POST's headers against its body,
    /// then hands a single request to [`Peer::handle_decoded`], so the body is read once.
    #[cfg(feature = "http-server")]
    pub(crate) fn decode<'f, H: Responder>(
        handler: &H,
        frame: &'f str,
        eager: &mut Option<H::Eager<'f>>,
    ) -> Decoded<'f> {
        frame::decode_with(frame, &|method: &str| eager_params(handler, method), eager)
    }

    /// Handles a message from [`Peer::decode`] as [`Peer::handle_frame_joined`] would (its
    /// reply, when known at once, goes to `outbound`), and returns what is left to wait for
    /// (room in a full queue). Unlike `handle_frame_joined`, it does not first let the
    /// handlers run when every slot is taken: a caller sends its frame that way instead
    /// while [`Peer::is_saturated`].
    ///
    /// With `keep`, a request whose answer needs user code is left there for the caller to
    /// run ([`Peer::run_kept`]) instead of being given a task of its own.
    #[cfg(feature = "http-server")]
    pub(crate) fn handle_decoded<H: Responder>(
        &self,
        message: Message<'_>,
        eager: &mut Option<H::Eager<'_>>,
        handler: &Arc<H>,
        outbound: &Outbound,
        keep: Option<&mut Option<Queued>>,
    ) -> Option<BoxFuture<Result<(), crate::Error>>> {
        self.handle_message(message, eager, handler, outbound, None, keep)
    }

    /// Runs a request that [`Peer::handle_decoded`] kept, as its task would have (a slot,
    /// cancellation, the reply sent to `outbound`), in the caller's own future.
    ///
    /// For a caller whose task serves this request and nothing else (a Streamable HTTP
    /// `POST`), on a runtime with one thread ([`one_thread`]): there a task of its own
    /// could not run beside anything either (it would run when the caller waits, as this
    /// does), so this keeps the same guarantees and saves the spawn and the wake-up. On a
    /// multi-threaded runtime a handler in the caller's task could be stuck behind a
    /// CPU-bound one on the same worker: there every request keeps its task.
    #[cfg(feature = "http-server")]
    pub(crate) fn run_kept(
        &self,
        queued: Queued,
        outbound: Outbound,
    ) -> impl Future<Output = ()> + Send + 'static {
        let slot = self.inner.slots.try_take();
        let id = queued.id.clone();
        let run = std::panic::AssertUnwindSafe(self.run_request(queued, slot, outbound));
        // Counted with the tasks of the connection's requests, which shutdown waits for.
        let run = self.inner.tasks.track_future(run);
        async move {
            // As when a request's task panics: it gets no answer, the caller goes on.
            if futures_util::FutureExt::catch_unwind(run).await.is_err() {
                tracing::error!(%id, "a request's handler panicked");
            }
        }
    }

    /// With every slot taken, lets the handlers that are ready run first (on a
    /// single-threaded runtime they run only when the reader yields): most free their slot
    /// at once. Only what is still over the bound then is refused.
    async fn make_room(&self, joined: Option<&mut Joined>) {
        if self.is_saturated() {
            if let Some(joined) = joined {
                joined.hand_over();
            }
            tokio::task::yield_now().await;
        }
    }

    /// Decodes a frame and handles what needs no waiting: [`Peer::handle_frame_joined`]
    /// without its waits, which it returns.
    fn handle_frame_now<'f, H: Responder>(
        &self,
        frame: &'f str,
        handler: &Arc<H>,
        outbound: &Outbound,
        joined: Option<&mut Joined>,
        keep: Option<&mut Option<Queued>>,
    ) -> Rest<'f> {
        let mut eager: Option<H::Eager<'_>> = None;
        match frame::decode_with(
            frame,
            &|method: &str| eager_params(&**handler, method),
            &mut eager,
        ) {
            Decoded::Single(Ok(message)) => {
                match self.handle_message(message, &mut eager, handler, outbound, joined, keep) {
                    Some(wait) => Rest::Send(wait),
                    None => Rest::Done,
                }
            }
            Decoded::Single(Err(invalid)) => {
                tracing::debug!(code = invalid.error.code, message = %invalid.error.message, "rejected frame");
                let (id, null_ids) = (invalid.id.as_ref(), handler.null_unknown_ids());
                match joined {
                    Some(joined) => {
                        joined.push(&frame::encode_error(id, null_ids, &invalid.error));
                        Rest::Done
                    }
                    None => match outbound.send_error_soon(id, null_ids, &invalid.error) {
                        Some(wait) => Rest::Send(wait),
                        None => Rest::Done,
                    },
                }
            }
            Decoded::Batch(items) => Rest::Batch(items),
        }
    }

    /// Handles a message; the reply known at once is queued (or joined), and what is left
    /// to wait for (room in a full queue) returned.
    fn handle_message<H: Responder>(
        &self,
        message: Message<'_>,
        eager: &mut Option<H::Eager<'_>>,
        handler: &Arc<H>,
        outbound: &Outbound,
        joined: Option<&mut Joined>,
        keep: Option<&mut Option<Queued>>,
    ) -> Option<BoxFuture<Result<(), crate::Error>>> {
        match message {
            Message::Request { id, method, params } => {
                let mut joined = joined;
                let (id, reply) = self.dispatch_now(
                    id,
                    &method,
                    params,
                    eager,
                    handler,
                    outbound,
                    joined.as_deref_mut(),
                    keep,
                )?;
                match joined {
                    Some(joined) => {
                        joined.push_reply(&id, reply);
                        None
                    }
                    None => outbound.send_reply_soon(&id, reply),
                }
            }
            Message::Notification { method, params } => {
                self.handle_notification(&method, params, handler, outbound);
                None
            }
            Message::Result { id, result } => {
                self.complete(&id, Ok(result.to_owned()));
                None
            }
            Message::Error {
                id: Some(id),
                error,
            } => {
                self.complete(&id, Err(error));
                None
            }
            Message::Error { id: None, error } => {
                tracing::warn!(code = error.code, message = %error.message, "peer reported an error without an id");
                None
            }
        }
    }

    /// Starts handling a request. Returns the reply when it is known at once; otherwise the
    /// reply is sent by the request's task (or by the runner of `joined`, if it has one, or
    /// by the caller, which `keep` asks to run it). Never waits: for user code, for a
    /// permit, nor (the caller's part: [`Peer::make_room`]) for the handlers to run.
    #[allow(clippy::too_many_arguments)]
    fn dispatch_now<H: Responder>(
        &self,
        id: RequestId,
        method: &str,
        params: Params<'_>,
        eager: &mut Option<H::Eager<'_>>,
        handler: &Arc<H>,
        outbound: &Outbound,
        joined: Option<&mut Joined>,
        keep: Option<&mut Option<Queued>>,
    ) -> Option<(RequestId, Reply)> {
        match self.start(id, method, params, eager, handler, outbound) {
            Started::Replied(id, reply) => Some((id, reply)),
            Started::Later(queued) => {
                if let Some(keep) = keep {
                    *keep = Some(queued);
                    return None;
                }
                match joined.and_then(|joined| joined.runner.as_mut()) {
                    Some(runner) => runner.push(queued),
                    None => {
                        let slot = self.inner.slots.try_take();
                        self.spawn_task(queued, slot, outbound);
                    }
                }
                None
            }
        }
    }

    /// Whether as many requests are in flight as may be (running or waiting to run).
    pub(crate) fn is_saturated(&self) -> bool {
        self.inner.in_flight_count.load(Ordering::Acquire) >= self.inner.max_outstanding
    }

    /// Routes a request; when its answer needs user code, puts it in flight and returns
    /// the future that answers it. Nothing here waits.
    fn start<H: Responder>(
        &self,
        id: RequestId,
        method: &str,
        params: Params<'_>,
        eager: &mut Option<H::Eager<'_>>,
        handler: &Arc<H>,
        outbound: &Outbound,
    ) -> Started {
        let duplicate = self.inner.in_flight_count.load(Ordering::Acquire) > 0
            && self.may_be_in_flight(&id)
            && self
                .inner
                .in_flight
                .lock()
                .expect("in-flight lock")
                .contains_key(&id);
        if duplicate {
            let error = duplicate_id(&id);
            return Started::Replied(id, Err(error));
        }
        let cx = RequestCx {
            id: id.clone(),
            outbound: outbound.clone(),
            peer: self.clone(),
            cancel: None,
        };
        #[cfg(feature = "otel")]
        let span = match params {
            Params::Raw(raw) => crate::otel::receive(method, Some(&id), raw, || handler.facts(raw)),
            Params::Eager => match eager.as_ref() {
                Some(params) if crate::otel::on() => handler.eager_span(method, &id, params),
                _ => tracing::Span::none(),
            },
        };
        #[cfg(feature = "otel")]
        let entered = span.enter();
        let dispatched = match (params, eager.as_mut()) {
            (Params::Eager, Some(params)) => handler.on_eager_request(method, params, cx),
            (Params::Raw(params), _) => handler.on_request(method, params, cx),
            // The slot is filled whenever the message says so (never reached).
            (Params::Eager, None) => handler.on_request(method, None, cx),
        };
        #[cfg(feature = "otel")]
        let dispatched = {
            drop(entered);
            crate::otel::dispatched(span, method, dispatched)
        };
        let (future, cancel) = match dispatched {
            Dispatch::Now(reply) => return Started::Replied(id, reply),
            Dispatch::Later(future) => (future, None),
            Dispatch::LaterWith(future, cancel) => (future, Some(cancel)),
        };
        if self.is_saturated() {
            let max = self.inner.max_outstanding / 2;
            let error = ErrorObject::new(
                BUSY,
                format!(
                    "server busy: {max} requests are running on this connection and {max} more are waiting; try again later"
                ),
            );
            return Started::Replied(id, Err(error));
        }
        let cancel: Arc<dyn CancelSource> =
            cancel.unwrap_or_else(|| Arc::new(RequestCancel::default()));
        {
            let mut in_flight = self.inner.in_flight.lock().expect("in-flight lock");
            // The look above may have been skipped (or raced with another task of the same
            // peer, as two POSTs of one HTTP session can): a duplicate is caught here too,
            // before its handler runs, and the request in flight keeps its entry.
            match in_flight.entry(id.clone()) {
                std::collections::hash_map::Entry::Occupied(_) => {
                    drop(in_flight);
                    let error = duplicate_id(&id);
                    return Started::Replied(id, Err(error));
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(cancel.clone());
                }
            }
            if let RequestId::Number(n) = id {
                if n > self.inner.highest_id.load(Ordering::Relaxed) {
                    self.inner.highest_id.store(n, Ordering::Release);
                }
            }
            self.inner
                .in_flight_count
                .store(in_flight.len(), Ordering::Release);
        }
        Started::Later(Queued { id, future, cancel })
    }

    /// Runs a request that is in flight in a task of its own: see [`Peer::run_request`].
    fn spawn_task(&self, queued: Queued, slot: Option<Slot>, outbound: &Outbound) {
        self.inner
            .tasks
            .spawn(self.run_request(queued, slot, outbound.clone()));
    }

    /// What runs a request that is in flight: waits for a slot if it has none, then
    /// answers the request (unless it is cancelled first).
    fn run_request(
        &self,
        queued: Queued,
        slot: Option<Slot>,
        outbound: Outbound,
    ) -> impl Future<Output = ()> + Send + 'static {
        let peer = self.clone();
        let Queued { id, future, cancel } = queued;
        async move {
            // Forgets the id however the run ends (answered, cancelled, or dropped).
            let forget = Forget {
                peer: &peer,
                id: &id,
            };
            let request = cancel.request_cancel();
            // Waiting for a slot is rare: its future is boxed, so it does not make every
            // request's future larger.
            let _slot = match slot {
                Some(slot) => slot,
                None => {
                    let waiting: BoxFuture<cancel::Slot> = Box::pin({
                        let slots = peer.inner.slots.clone();
                        async move { slots.take().await }
                    });
                    let mut waiting = waiting;
                    match (Cancellable {
                        cancel: request,
                        future: waiting.as_mut(),
                    })
                    .await
                    {
                        Some(slot) => slot,
                        None => return,
                    }
                }
            };
            let mut future = future;
            let answered = Cancellable {
                cancel: request,
                future: future.as_mut(),
            };
            let Some(reply) = answered.await else {
                return;
            };
            drop(future);
            // Forget the id before answering, so the peer may reuse it at once.
            drop(forget);
            if let Some(later) = outbound.send_reply_soon(&id, reply) {
                let _ = later.await;
            }
        }
    }

    async fn handle_batch<H: Responder>(
        &self,
        items: Vec<Result<Message<'_>, frame::Invalid>>,
        handler: &Arc<H>,
        outbound: &Outbound,
    ) {
        if items.len() > MAX_BATCH {
            let error = ErrorObject::invalid_request(format!(
                "batch too large: {} items (at most {MAX_BATCH})",
                items.len()
            ));
            let _ = outbound
                .send_error(None, handler.null_unknown_ids(), &error)
                .await;
            return;
        }
        if !handler.accepts_batches() {
            // Refuse each request with its own id, so no caller is left waiting.
            let error = ErrorObject::invalid_request(
                "JSON-RPC batches are only allowed with protocol version 2025-03-26",
            );
            for item in &items {
                let id = match item {
                    Ok(Message::Request { id, .. }) => Some(id),
                    Err(invalid) => invalid.id.as_ref(),
                    Ok(_) => continue,
                };
                let _ = outbound
                    .send_error(id, handler.null_unknown_ids(), &error)
                    .await;
            }
            return;
        }
        // Each request of the batch is answered in the one array sent back.
        let (batch_out, mut batch_rx) = Outbound::channel();
        let mut expected = 0usize;
        let mut replies = Vec::new();
        for item in items {
            match item {
                Ok(Message::Request { id, method, params }) => {
                    expected += 1;
                    self.make_room(None).await;
                    if let Some((id, reply)) = self.dispatch_now(
                        id, &method, params, &mut None, handler, &batch_out, None, None,
                    ) {
                        replies.push(encode_reply(&id, reply));
                    }
                }
                Ok(other) => {
                    if let Some(wait) =
                        self.handle_message(other, &mut None, handler, outbound, None, None)
                    {
                        let _ = wait.await;
                    }
                }
                Err(invalid) => {
                    expected += 1;
                    replies.push(frame::encode_error(
                        invalid.id.as_ref(),
                        handler.null_unknown_ids(),
                        &invalid.error,
                    ));
                }
            }
        }
        drop(batch_out);
        // Requests handled in tasks send their responses (and any notifications they emit)
        // to `batch_rx`: responses join the one array sent back, notifications go out at
        // once. This runs in its own task so the reader keeps reading (a batched request
        // may wait on a cancellation or on an answer from the peer).
        let outbound = outbound.clone();
        self.inner.tasks.spawn(async move {
            while replies.len() < expected {
                let Some(out) = batch_rx.recv().await else {
                    break;
                };
                if out.is_response {
                    replies.push(out.text);
                } else {
                    let _ = outbound.send(out.text).await;
                }
            }
            if !replies.is_empty() {
                let _ = outbound
                    .send_response(format!("[{}]", replies.join(",")))
                    .await;
            }
        });
    }

    fn handle_notification<H: Responder>(
        &self,
        method: &str,
        params: Option<&RawValue>,
        handler: &Arc<H>,
        outbound: &Outbound,
    ) {
        #[cfg(feature = "otel")]
        let span = crate::otel::receive(method, None, params, || handler.facts(params));
        #[cfg(feature = "otel")]
        let _entered = span.enter();
        match method {
            "notifications/cancelled" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Cancelled {
                    request_id: RequestId,
                }
                match params.map(|p| serde_json::from_str::<Cancelled>(p.get())) {
                    Some(Ok(c)) => {
                        self.cancel_incoming(&c.request_id);
                    }
                    _ => tracing::debug!("ignored malformed notifications/cancelled"),
                }
            }
            "notifications/progress" if self.route_progress(params) => {}
            _ => handler.on_notification(
                method,
                params,
                NotificationCx {
                    peer: self,
                    outbound,
                },
            ),
        }
    }

    /// Cancels the incoming request `id` that is being handled in a task of its own, as
    /// `notifications/cancelled` naming it does (and sends no response then); for a
    /// transport that learns of the cancellation otherwise (an HTTP client that went away).
    /// Whether such a request was in flight.
    pub(crate) fn cancel_incoming(&self, id: &RequestId) -> bool {
        let source = self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .get(id)
            .cloned();
        match source {
            Some(source) => {
                tracing::debug!(%id, "request cancelled by peer");
                source.request_cancel().cancel();
                true
            }
            None => {
                tracing::debug!(%id, "cancellation for a request not in flight");
                false
            }
        }
    }

    fn complete(&self, id: &RequestId, outcome: Result<Box<RawValue>, ErrorObject>) {
        let waiter = self.inner.pending.lock().expect("pending lock").take(id);
        match waiter {
            Some(tx) => {
                let _ = tx.send(pending::Answer::Came(
                    outcome.map_err(crate::error::Error::rpc),
                ));
            }
            None => tracing::debug!(%id, "response to no pending request"),
        }
    }

    /// The other side's input has ended: no answer to a request we sent can arrive any
    /// more, so every such request fails at once (a handler waiting on the client's answer
    /// to an elicitation or a sampling request then finishes), and so does every request
    /// sent from now on (a handler that asks only after the input ended).
    pub(crate) fn input_ended(&self) {
        let mut pending = self.inner.pending.lock().expect("pending lock");
        self.inner.input_ended.store(true, Ordering::Release);
        pending.clear();
    }

    /// Waits for the handlers still running; those not done within the grace period are
    /// cancelled, and the peer closes.
    pub(crate) async fn finish(&self) {
        self.inner.tasks.close();
        if tokio::time::timeout(self.inner.grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::debug!(
                running = self.inner.in_flight_count.load(Ordering::Acquire),
                "requests still running after the grace period are cancelled"
            );
        }
        self.close();
        // A cancelled handler stops at its next await; one that never awaits cannot be
        // stopped, and is not waited for long.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.tasks.wait()).await;
    }

    /// Marks the connection closed: pending requests fail, handlers are cancelled.
    pub(crate) fn close(&self) {
        self.inner.is_closed.store(true, Ordering::Release);
        self.inner.closed.cancel();
        let running: Vec<_> = self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .values()
            .cloned()
            .collect();
        for source in running {
            source.request_cancel().cancel();
        }
        self.inner.pending.lock().expect("pending lock").clear();
    }

    /// How many incoming requests are being handled right now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.lock().expect("in-flight lock").len()
    }
}

/// Forgets an incoming request when dropped: when its task answers it, is cancelled, or is
/// dropped unfinished.
struct Forget<'a> {
    peer: &'a Peer,
    id: &'a RequestId,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.peer.forget_request(self.id);
    }
}

/// Replies joined with newlines, to be sent as one frame: on a newline-delimited
/// transport, the answers to the frames read together leave together (one queue entry and
/// one write, as a hand-written server would do).
///
/// With a runner (on a current-thread runtime), the requests whose answer needs user code
/// are gathered here too, and handed to the runner when the replies are sent.
#[derive(Default)]
pub(crate) struct Joined {
    text: String,
    runner: Option<Runner>,
}

/// How many bytes of joined replies are sent at once at most: the outbound queue bounds
/// entries, not bytes, so this bounds what a client that stops reading can make the
/// server hold (a few MiB at most).
const JOINED_LIMIT: usize = 4 * 1024;

impl Joined {
    /// Replies joined for `peer`, whose requests run in a runner when the runtime has one
    /// thread (see [`runner`]).
    pub(crate) fn new(peer: &Peer, outbound: &Outbound) -> Self {
        Joined {
            text: String::new(),
            runner: Runner::start(peer, outbound),
        }
    }

    /// Whether the replies joined so far should be sent before more are added.
    pub(crate) fn is_full(&self) -> bool {
        self.text.len() >= JOINED_LIMIT
    }

    /// Hands the requests gathered so far to the runner.
    fn hand_over(&mut self) {
        if let Some(runner) = &mut self.runner {
            runner.hand_over();
        }
    }

    /// Adds an encoded frame.
    pub(crate) fn push(&mut self, frame: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(frame);
    }

    /// Adds the response carrying `reply`, encoded in place.
    pub(crate) fn push_reply(&mut self, id: &RequestId, reply: Reply) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        match reply {
            Ok(result) => frame::push_result(&mut self.text, id, &result),
            Err(error) => self
                .text
                .push_str(&frame::encode_error(Some(id), false, &error)),
        }
    }

    /// Sends what was joined, as one frame, and hands the gathered requests to the runner.
    pub(crate) async fn flush(&mut self, outbound: &Outbound) {
        self.hand_over();
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            // Only a full queue is waited for, boxed: the driver's future, which every
            // connection holds, does not carry a send.
            if let Some(wait) = outbound.send_response_soon(text) {
                let _ = wait.await;
            }
        }
    }
}

/// What handling a frame leaves to wait for.
enum Rest<'f> {
    Done,
    /// Room in the outbound queue, for the reply.
    Send(BoxFuture<Result<(), crate::Error>>),
    /// The requests of a batch.
    Batch(Vec<Result<Message<'f>, frame::Invalid>>),
}

/// The refusal of a request whose id is that of a request still in flight.
fn duplicate_id(id: &RequestId) -> ErrorObject {
    ErrorObject::invalid_request(format!(
        "request id {id} is already in use by a request still in flight"
    ))
}

fn encode_reply(id: &RequestId, reply: Reply) -> String {
    match reply {
        Ok(result) => frame::encode_result_in_place(id, result),
        Err(error) => frame::encode_error(Some(id), false, &error),
    }
}

#[cfg(test)]
mod tests;
