//! Bounds on what one request may spend: how long its handler may run, and how long a
//! question to a legacy client may wait for the answer.
//!
//! ```
//! use std::time::Duration;
//! use oxmcp::server::{tool, Router};
//!
//! async fn crawl() -> String { "crawled".into() }
//!
//! let router: Router = Router::new()
//!     // Every request that runs a handler: past 30 s it is cancelled and answered with
//!     // a JSON-RPC error (-32001) that says it timed out.
//!     .request_timeout(Duration::from_secs(30))
//!     // This tool only: past 10 s the model reads a tool error that says it timed out.
//!     .tool("crawl", tool(crawl).timeout(Duration::from_secs(10)))
//!     // A legacy client that never answers an elicitation, a sampling request or a
//!     // roots request fails the question after a minute.
//!     .question_timeout(Duration::from_secs(60));
//! # let _ = router;
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use futures_util::FutureExt as _;
use oxmcp_protocol::jsonrpc::ErrorObject;

use super::middleware::{McpRequest, McpResponse};
use super::Router;
use crate::rpc::{CancelSource, Dispatch};

/// The JSON-RPC error code of a request the server gave up on: its handler ran past the
/// router's [`request_timeout`](Router::request_timeout) and was cancelled.
pub const REQUEST_TIMED_OUT: i64 = -32001;

/// How long a question to a legacy client (elicitation, sampling, roots) waits for its
/// answer unless the router says otherwise ([`Router::question_timeout`]).
pub const DEFAULT_QUESTION_TIMEOUT: Duration = Duration::from_secs(300);

/// The limits a router collects ([`Router::request_timeout`], [`Router::max_concurrent`],
/// [`Router::rate_limit`], ...).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// How long a request's handler may run (`None`: as long as it takes).
    pub(crate) request: Option<Duration>,
    /// How long a legacy question waits for the client's answer.
    pub(crate) question: Duration,
    /// Handlers running at once in the whole server.
    pub(crate) concurrent: Option<usize>,
    /// Handlers running at once for one client.
    pub(crate) concurrent_per_client: Option<usize>,
    /// Requests one client may send, per second and in a burst.
    pub(crate) rate: Option<RateLimit>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request: None,
            question: DEFAULT_QUESTION_TIMEOUT,
            concurrent: None,
            concurrent_per_client: None,
            rate: None,
        }
    }
}

impl<S> Router<S> {
    /// How long any request that runs a handler (a tool call, a prompt, a resource read, a
    /// completion, an extension's method) may take; default: no bound. Past it the
    /// handler's future is dropped, its cancellation token fires, and the client gets a
    /// JSON-RPC error with code [`REQUEST_TIMED_OUT`] whose message says the request timed
    /// out and after how long. What the SDK answers itself (lists, ping, discover) is not
    /// bounded: it answers at once.
    ///
    /// For one tool, [`ToolDef::timeout`](super::ToolDef::timeout) answers with a tool
    /// error the model reads instead; the shorter bound wins.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.limits.request = Some(timeout);
        self
    }

    /// How long a question to a legacy client (an elicitation, a sampling request, a roots
    /// request, sent while a handler runs) waits for the answer (default 5 minutes,
    /// [`DEFAULT_QUESTION_TIMEOUT`]). Past it the question fails with an
    /// [`AskError`](super::ask::AskError) that says it timed out, and the client is sent
    /// `notifications/cancelled`, so a client that never answers cannot hold the request
    /// (and its in-flight slot) forever. Modern requests do not wait: their questions end
    /// the request with an `InputRequiredResult`.
    pub fn question_timeout(mut self, timeout: Duration) -> Self {
        self.limits.question = timeout;
        self
    }

    /// The most handlers the whole server runs at once, across all its connections,
    /// sessions and HTTP requests (each modern `POST` is a connection of its own, so
    /// [`max_in_flight`](Router::max_in_flight) does not bound them together); default: no
    /// bound. Past it, as many more requests wait for their turn; a request beyond those is
    /// refused at once with a JSON-RPC error (code -32000) that says the server is busy.
    pub fn max_concurrent(mut self, max: usize) -> Self {
        self.limits.concurrent = Some(max.max(1));
        self
    }

    /// The most handlers one client runs at once, across all its requests, as
    /// [`max_concurrent`](Router::max_concurrent) does for the whole server. The client is
    /// the authenticated subject (feature `auth`, a bearer token), else the session (a
    /// legacy session, a stdio connection), else the peer address the HTTP server saw.
    pub fn max_concurrent_per_client(mut self, max: usize) -> Self {
        self.limits.concurrent_per_client = Some(max.max(1));
        self
    }

    /// Limits how many requests one client (as [`max_concurrent_per_client`] tells them
    /// apart) may send: a token bucket per client. A request past the limit is refused at
    /// once with a JSON-RPC error (code [`RATE_LIMITED`]) whose message says when to retry
    /// and whose `data.retryAfterMs` says it in milliseconds; over HTTP the answer is `429
    /// Too Many Requests` with a `Retry-After` header.
    ///
    /// [`max_concurrent_per_client`]: Router::max_concurrent_per_client
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.limits.rate = Some(limit);
        self
    }
}

/// The error code of a request refused by [`Router::rate_limit`].
pub const RATE_LIMITED: i64 = -32029;

/// A token bucket's rate: how many requests per second one client may send on average,
/// and how many at once after a pause (the burst).
///
/// ```
/// use oxmcp::server::limits::RateLimit;
///
/// // 5 requests a second on average, up to 20 at once.
/// let limit = RateLimit::per_second(5.0).burst(20);
/// # let _ = limit;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl RateLimit {
    /// `rate` requests a second (at least one an hour), with a burst of as many (at least
    /// one).
    pub fn per_second(rate: f64) -> Self {
        let per_second = if rate.is_finite() {
            rate.max(1.0 / 3600.0)
        } else {
            1.0
        };
        RateLimit {
            per_second,
            burst: (per_second.ceil() as u32).max(1),
        }
    }

    /// How many requests a client may send at once after a pause (at least one).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }
}

/// What a server enforces, built from its [`Settings`] once it serves.
pub(crate) struct Enforcer {
    settings: Settings,
    all: Option<Arc<Bound>>,
    clients: Arc<Mutex<HashMap<ClientKey, Arc<Bound>>>>,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

impl Enforcer {
    pub(crate) fn new(settings: Settings) -> Self {
        Enforcer {
            all: settings.concurrent.map(|max| Arc::new(Bound::new(max))),
            settings,
            clients: Arc::default(),
            buckets: Mutex::default(),
        }
    }

    /// How long a legacy question waits for the client's answer.
    pub(crate) fn question_timeout(&self) -> Duration {
        self.settings.question
    }

    /// Whether requests are told apart by client (per-client concurrency, rate limits).
    pub(crate) fn per_client(&self) -> bool {
        self.settings.concurrent_per_client.is_some() || self.settings.rate.is_some()
    }

    /// Takes a token from `client`'s bucket, or says when to retry.
    pub(crate) fn admit(&self, client: Option<&ClientKey>) -> Result<(), ErrorObject> {
        let (Some(rate), Some(client)) = (self.settings.rate, client) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(client) {
            // Forget the clients whose buckets are full again: they are as good as new.
            buckets.retain(|_, bucket| bucket.level(rate, now) < f64::from(rate.burst));
        }
        let bucket = buckets.entry(client.clone()).or_insert(Bucket {
            tokens: f64::from(rate.burst),
            at: now,
        });
        bucket.tokens = bucket.level(rate, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate.per_second);
        Err(rate_limited(wait))
    }

    /// `dispatch`, run within the concurrency bounds and the request timeout.
    pub(crate) fn apply(
        &self,
        dispatch: Dispatch,
        method: &str,
        client: Option<ClientKey>,
    ) -> Dispatch {
        let dispatch = bound(dispatch, self.settings.request, method);
        let per_client = match (self.settings.concurrent_per_client, client) {
            (Some(max), Some(client)) => Some(self.client_bound(client, max)),
            _ => None,
        };
        if self.all.is_none() && per_client.is_none() {
            return dispatch;
        }
        let (future, cancel) = match dispatch {
            Dispatch::Now(reply) => return Dispatch::Now(reply),
            Dispatch::Later(future) => (future, None),
            Dispatch::LaterWith(future, cancel) => (future, Some(cancel)),
        };
        let all = self.all.clone();
        let gated = async move {
            let _all = match &all {
                Some(bound) => Some(bound.enter("the server").await?),
                None => None,
            };
            let _mine = match &per_client {
                Some(entry) => Some(entry.bound.enter("this client").await?),
                None => None,
            };
            future.await
        };
        match cancel {
            Some(cancel) => Dispatch::LaterWith(Box::pin(gated), cancel),
            None => Dispatch::Later(Box::pin(gated)),
        }
    }

    /// `client`'s concurrency bound, made on its first request.
    fn client_bound(&self, client: ClientKey, max: usize) -> ClientEntry {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let bound = clients
            .entry(client.clone())
            .or_insert_with(|| Arc::new(Bound::new(max)))
            .clone();
        ClientEntry {
            clients: self.clients.clone(),
            client,
            bound,
        }
    }
}

/// The most clients whose buckets are remembered before full ones are forgotten.
const MAX_TRACKED: usize = 4096;

/// One client's token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens in the bucket at `now`.
    fn level(&self, rate: RateLimit, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rate.per_second;
        (self.tokens + refill).min(f64::from(rate.burst))
    }
}

/// The error of a request refused by the rate limit, retryable after `wait`.
fn rate_limited(wait: Duration) -> ErrorObject {
    let wait = wait.max(Duration::from_millis(1));
    let mut error = ErrorObject::new(
        RATE_LIMITED,
        format!("rate limit exceeded: retry in {}", show(wait)),
    );
    error.data = Some(serde_json::json!({ "retryAfterMs": wait.as_millis() as u64 }));
    error
}

/// When a refused request may be retried, if its error says so (a rate limit).
#[cfg(feature = "http-server")]
pub(crate) fn retry_after(error: &ErrorObject) -> Option<Duration> {
    if error.code != RATE_LIMITED {
        return None;
    }
    let ms = error.data.as_ref()?.get("retryAfterMs")?.as_u64()?;
    Some(Duration::from_millis(ms))
}

/// A count of handlers running at once, with a bounded queue of those waiting.
struct Bound {
    permits: Arc<Semaphore>,
    max: usize,
    waiting: AtomicUsize,
}

impl Bound {
    fn new(max: usize) -> Self {
        Bound {
            permits: Arc::new(Semaphore::new(max)),
            max,
            waiting: AtomicUsize::new(0),
        }
    }

    /// A permit to run; waits while `max` run, unless `max` wait already: then a
    /// server-busy error naming `whose` bound it is.
    async fn enter(&self, whose: &str) -> Result<OwnedSemaphorePermit, ErrorObject> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ErrorObject::new(
                crate::rpc::BUSY,
                format!(
                    "server busy: {whose} has {} requests running and as many waiting; retry later",
                    self.max
                ),
            ));
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map_err(|_| ErrorObject::internal("the server is shutting down".to_owned()))
    }
}

/// One client's concurrency bound while a request of its holds it: forgotten when no
/// request of the client runs or waits any more.
struct ClientEntry {
    clients: Arc<Mutex<HashMap<ClientKey, Arc<Bound>>>>,
    client: ClientKey,
    bound: Arc<Bound>,
}

impl Drop for ClientEntry {
    fn drop(&mut self) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        // Held by the map and this entry only: no other request of the client runs or
        // waits (entries are made under the same lock).
        if Arc::strong_count(&self.bound) == 2 {
            clients.remove(&self.client);
        }
    }
}

/// Who a request comes from, for the per-client limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// The authenticated subject (feature `auth`).
    #[cfg(feature = "auth")]
    Subject(String),
    /// A connection: a legacy session, a stdio pipe.
    Connection(u64),
    /// The peer address the HTTP server saw.
    Peer(IpAddr),
}

tokio::task_local! {
    /// The peer address of the HTTP request being handled.
    static PEER: IpAddr;
}

/// Runs `f` with `peer` as the address of what it handles.
#[cfg_attr(not(feature = "http-server"), allow(dead_code))]
pub(crate) async fn with_peer<F: Future>(peer: Option<IpAddr>, f: F) -> F::Output {
    match peer {
        Some(peer) => PEER.scope(peer, f).await,
        None => f.await,
    }
}

/// Who sends the request being handled: the authenticated subject, else the session
/// (`session`: the connection's id, if it is a session), else the HTTP peer address, else
/// the connection.
pub(crate) fn client_key(session: Option<u64>, connection: u64) -> ClientKey {
    #[cfg(feature = "auth")]
    if let Some(crate::server::auth::Authn::Token(auth)) = crate::server::auth::authenticated() {
        return ClientKey::Subject(auth.subject().to_owned());
    }
    if let Some(id) = session {
        return ClientKey::Connection(id);
    }
    if let Ok(peer) = PEER.try_with(|peer| *peer) {
        return ClientKey::Peer(peer);
    }
    ClientKey::Connection(connection)
}

/// `dispatch`, answered with a [`REQUEST_TIMED_OUT`] error if it takes longer than
/// `timeout`; its handler is dropped then, and told through its cancellation token.
pub(crate) fn bound(dispatch: Dispatch, timeout: Option<Duration>, method: &str) -> Dispatch {
    let Some(timeout) = timeout else {
        return dispatch;
    };
    let (future, cancel) = match dispatch {
        Dispatch::Now(reply) => return Dispatch::Now(reply),
        Dispatch::Later(future) => (future, None),
        Dispatch::LaterWith(future, cancel) => (future, Some(cancel)),
    };
    let method = method.to_owned();
    let told = cancel.clone();
    let bounded = tokio::time::timeout(timeout, future).map(move |outcome| {
        outcome.unwrap_or_else(|_| {
            if let Some(cancel) = told {
                cancel.request_cancel().cancel_handler();
            }
            Err(ErrorObject::new(
                REQUEST_TIMED_OUT,
                format!(
                    "request timed out: {method} ran longer than {} and was cancelled",
                    show(timeout)
                ),
            ))
        })
    });
    match cancel {
        Some(cancel) => Dispatch::LaterWith(Box::pin(bounded), cancel),
        None => Dispatch::Later(Box::pin(bounded)),
    }
}

/// A duration as people write it: `1.5s`, `250ms`, `5m`.
pub(crate) fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        format!("{}us", d.as_micros())
    } else if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The handler's cancellation state, put in an item's request extensions so that its
/// [`Timeout`] layer can tell the handler it was cancelled. Weak: the handler's context
/// holds these extensions, and the state is the context's own.
#[derive(Clone)]
pub(crate) struct HandlerCancel(pub(crate) std::sync::Weak<dyn CancelSource>);

/// The layer of [`ToolDef::timeout`](super::ToolDef::timeout) (and of any item's
/// `.layer(Timeout::new(..))`): past the bound, the item's handler is dropped, its
/// cancellation token fires, and the call is answered with a tool error that says it timed
/// out (an internal error for a prompt or a resource).
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    limit: Duration,
}

impl Timeout {
    /// A bound of `limit` on each call.
    pub fn new(limit: Duration) -> Self {
        Timeout { limit }
    }
}

impl<S> tower::Layer<S> for Timeout {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> TimeoutService<S> {
        TimeoutService {
            inner,
            limit: self.limit,
        }
    }
}

/// The service of the [`Timeout`] layer.
#[derive(Debug, Clone)]
pub struct TimeoutService<S> {
    inner: S,
    limit: Duration,
}

impl<S> tower::Service<McpRequest> for TimeoutService<S>
where
    S: tower::Service<McpRequest, Response = McpResponse>,
    S::Future: Send + 'static,
{
    type Response = McpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<McpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let cancel = request.extensions().get::<HandlerCancel>().cloned();
        let what = match request.name() {
            Some(name) => format!("{} {name:?}", request.method()),
            None => request.method().to_owned(),
        };
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_) => {
                    if let Some(cancel) = cancel.and_then(|HandlerCancel(weak)| weak.upgrade()) {
                        cancel.request_cancel().cancel_handler();
                    }
                    Ok(McpResponse::tool_error(format!(
                        "timed out: {what} ran longer than {} and was cancelled",
                        show(limit)
                    )))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::show;
    use std::time::Duration;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_secs(2)), "2s");
        assert_eq!(show(Duration::from_secs(300)), "5m");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_micros(20)), "20us");
    }
}
