//! What the transports that hold one connection per client (HTTP+SSE, WebSocket) share:
//! the caller that opened the connection, checked once by the protected resource's gate
//! and then the caller of every message the connection carries; and the connection's
//! place among the endpoint's sessions, which it counts with against the caps.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

use super::service::Inner;

/// Who a connection's messages come from: the caller the `auth` feature's gate let in
/// (`None` on an endpoint that is not protected).
#[cfg(feature = "auth")]
pub(crate) type Caller = Option<crate::server::auth::Authn>;
/// Who a connection's messages come from (nothing to know without the `auth` feature).
#[cfg(not(feature = "auth"))]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caller;

/// Authenticates the request that opens a connection (`GET /sse`, the WebSocket upgrade):
/// its caller, or the `401`/`403` challenge that refuses it.
pub(crate) async fn authenticate(
    inner: &Inner,
    headers: &HeaderMap,
) -> Result<Caller, Response<Body>> {
    #[cfg(feature = "auth")]
    return super::auth::open_connection(inner, headers).await;
    #[cfg(not(feature = "auth"))]
    {
        let _ = (inner, headers);
        Ok(Caller)
    }
}

/// Runs a connection's driver as `caller`: every request it routes carries the caller in
/// its extensions (the `Auth` extractor, the scope checks). Not an `async fn`: that would
/// hold the driver's future twice for the connection's life.
pub(crate) fn as_caller<F: Future>(
    caller: Caller,
    connection: F,
) -> impl Future<Output = F::Output> {
    #[cfg(feature = "auth")]
    return crate::server::auth::with_caller(caller, connection);
    #[cfg(not(feature = "auth"))]
    {
        let Caller = caller;
        connection
    }
}

/// The HTTP+SSE sessions and WebSocket connections open on an endpoint: they count with
/// its Streamable HTTP sessions against [`max_sessions`](super::HttpConfig::max_sessions)
/// and [`max_sessions_per_peer`](super::HttpConfig::max_sessions_per_peer). Each holds a
/// stream, so none is ever idle: they are never ended to make room.
#[derive(Default)]
pub(crate) struct Held {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().expect("held connections lock")
    }

    /// How many connections are open: in all, and from `client`.
    pub(crate) fn counts(&self, client: Option<IpAddr>) -> (usize, usize) {
        let counts = self.lock();
        let mine = client.map_or(0, |c| counts.by_peer.get(&c).copied().unwrap_or(0));
        (counts.total, mine)
    }
}

/// A connection's place among the endpoint's sessions, given back when dropped.
pub(crate) struct Slot {
    inner: Arc<Inner>,
    client: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.inner.held.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(client) = self.client {
            if let Some(n) = counts.by_peer.get_mut(&client) {
                *n -= 1;
                if *n == 0 {
                    counts.by_peer.remove(&client);
                }
            }
        }
    }
}

/// Takes a place for a new connection of `client`, ending the least recently used idle
/// Streamable HTTP session to make room if the caps are reached; why not when every
/// session is busy (answer it with [`busy`]).
pub(crate) fn hold(inner: &Arc<Inner>, client: Option<IpAddr>) -> Result<Slot, &'static str> {
    super::session::make_room(inner, client)?;
    let mut counts = inner.held.lock();
    counts.total += 1;
    if let Some(client) = client {
        *counts.by_peer.entry(client).or_default() += 1;
    }
    Ok(Slot {
        inner: inner.clone(),
        client,
    })
}

/// `503 Service Unavailable`, try again in a few seconds.
pub(crate) fn busy(why: impl Into<String>) -> Response<Body> {
    let mut response = super::service::plain(StatusCode::SERVICE_UNAVAILABLE, why);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
