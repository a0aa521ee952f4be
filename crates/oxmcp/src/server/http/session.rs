//! Legacy sessions: creation, the standalone GET stream, resumption, and DELETE.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use tokio::sync::watch;

use super::service::{
    empty, header_version, plain, routes_legacy, sse, Accepts, Inner, SESSION_ID,
};
use super::sse::Follow;
use crate::rpc::{Outbound, Peer, Responder};
use crate::server::{ConnectionHandler, Router};

/// One legacy session: its own connection and peer, so the server's requests to the
/// client and the client's answers correlate.
///
/// An idle session holds only this, its connection and the client's `initialize` details:
/// the machinery of the standalone stream (a channel, a task, a watch) is set up by the
/// first `GET`, as nothing sent on that stream before can reach the client anyway (a new
/// `GET` starts after what is stored, and only a `GET` hands out the event ids to resume
/// from).
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) peer: Peer,
    pub(crate) handler: Arc<ConnectionHandler>,
    /// The client's address (the forwarded one behind a trusted proxy).
    pub(crate) client: Option<IpAddr>,
    /// The protocol version `initialize` negotiated.
    pub(crate) version: std::sync::OnceLock<String>,
    last_seen: Mutex<Instant>,
    /// Response bodies open on this session (it is not idle while one is).
    open: AtomicUsize,
    /// SSE bodies open on this session (`GET` streams and streamed `POST` responses), for
    /// [`HttpConfig::max_streams_per_session`](super::HttpConfig::max_streams_per_session).
    sse_open: AtomicUsize,
    /// The POST streams opened on this session, forgotten with it.
    streams: Mutex<Vec<String>>,
    /// Whether the standalone stream is set up (by the first `GET`).
    standalone: Once,
    /// The subject whose token opened the session: only that subject may use it.
    #[cfg(feature = "auth")]
    owner: Option<String>,
}

impl Session {
    /// A new session; not registered yet (that happens once `initialize` succeeded).
    pub(crate) fn new(inner: &Arc<Inner>, client: Option<IpAddr>) -> Arc<Session> {
        let (peer, handler) = Router::connection(&inner.shared, inner.max_in_flight);
        let id = SessionId::random();
        handler.describe("tcp", Some(&id));
        Arc::new(Session {
            id,
            peer,
            handler,
            client,
            version: std::sync::OnceLock::new(),
            last_seen: Mutex::new(Instant::now()),
            open: AtomicUsize::new(0),
            sse_open: AtomicUsize::new(0),
            streams: Mutex::default(),
            standalone: Once::new(),
            #[cfg(feature = "auth")]
            owner: match crate::server::auth::authenticated() {
                Some(crate::server::auth::Authn::Token(auth)) => Some(auth.subject().to_owned()),
                _ => None,
            },
        })
    }

    /// The id of the standalone stream: notifications that belong to no request.
    pub(crate) fn standalone(&self) -> String {
        format!("{}.0", self.id)
    }

    /// Sets up the standalone stream, once: from now on what the connection sends outside
    /// any request is stored in the event store under [`standalone`](Session::standalone),
    /// so a client without a `GET` open (or reconnecting) can fetch it with Last-Event-ID.
    fn start_standalone(&self, inner: &Arc<Inner>) {
        self.standalone.call_once(|| {
            let stop = self.peer.closed().clone();
            if stop.is_cancelled() {
                return; // ended already
            }
            let (out, mut rx) = Outbound::channel();
            self.handler.attach(&out);
            let stream = self.standalone();
            let (status, _) = watch::channel(false);
            inner
                .live
                .lock()
                .expect("live lock")
                .insert(stream.clone(), status.clone());
            let inner = inner.clone();
            tokio::spawn(async move {
                let store = &inner.config.event_store;
                loop {
                    let frame = tokio::select! {
                        frame = rx.recv() => frame,
                        _ = stop.cancelled() => None,
                    };
                    let Some(frame) = frame else { break };
                    store.store_event(&stream, &frame.text);
                    status.send_modify(|_| {});
                }
                inner.live.lock().expect("live lock").remove(&stream);
                status.send_replace(true);
            });
        });
    }

    /// Marks the session used now.
    pub(crate) fn touch(&self) {
        *self.last_seen.lock().expect("session lock") = Instant::now();
    }

    /// How long the session has been unused (zero while a stream is open).
    pub(crate) fn idle_for(&self) -> Duration {
        if self.open.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        self.last_seen.lock().expect("session lock").elapsed()
    }

    /// Whether the session is idle: no POST being handled or answered (a request in
    /// flight keeps its POST, or its stream's pump, busy), no open stream.
    fn is_idle(&self) -> bool {
        self.open.load(Ordering::Relaxed) == 0
    }

    /// Marks the session busy (a POST being handled) until the guard drops.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.open.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Counts an open SSE body, holding `slot`, until the returned hook runs.
    pub(crate) fn open_stream(self: &Arc<Self>, slot: StreamSlot) -> super::sse::OnDrop {
        self.open.fetch_add(1, Ordering::Relaxed);
        let this = self.clone();
        Box::new(move |_| {
            drop(slot);
            this.open.fetch_sub(1, Ordering::Relaxed);
            this.touch();
        })
    }

    /// One of the session's `max` stream slots, or the refusal (`429`) if all are taken.
    pub(crate) fn stream_slot(self: &Arc<Self>, max: usize) -> Result<StreamSlot, Refusal> {
        let taken = self
            .sse_open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            });
        match taken {
            Ok(_) => Ok(StreamSlot::taken(self.clone())),
            Err(_) => Err(too_many_streams(max)),
        }
    }

    /// A stream slot for a `POST` that passed [`streams_full`](Session::streams_full) when
    /// it arrived and now answers with a stream: taken even past the bound (the request
    /// runs already), so POSTs arriving together may pass it by as many.
    pub(crate) fn stream_slot_now(self: &Arc<Self>) -> StreamSlot {
        self.sse_open.fetch_add(1, Ordering::AcqRel);
        StreamSlot::taken(self.clone())
    }

    /// Why a request that may answer with a stream is refused, if the session holds `max`
    /// streams already.
    pub(crate) fn streams_full(&self, max: usize) -> Option<Refusal> {
        (self.sse_open.load(Ordering::Acquire) >= max).then(|| too_many_streams(max))
    }

    /// Remembers a POST stream of this session, to forget it with the session. The list
    /// stays short: beyond 1,024 streams, the oldest is forgotten now.
    pub(crate) fn add_stream(&self, inner: &Inner, stream: &str) {
        let oldest = {
            let mut streams = self.streams.lock().expect("session lock");
            streams.push(stream.to_owned());
            (streams.len() > 1024).then(|| streams.remove(0))
        };
        if let Some(oldest) = oldest {
            inner.config.event_store.remove_stream(&oldest);
        }
    }

    /// Ends the session: its handlers are cancelled, its streams close, and their events
    /// are forgotten.
    pub(crate) fn end(&self, inner: &Inner) {
        self.handler.on_input_end();
        // Also stops the standalone stream's task, if there is one.
        self.peer.close();
        let mut streams = std::mem::take(&mut *self.streams.lock().expect("session lock"));
        streams.push(self.standalone());
        for stream in streams {
            let live = inner.live.lock().expect("live lock").remove(&stream);
            if let Some(status) = live {
                status.send_replace(true);
            }
            inner.config.event_store.remove_stream(&stream);
        }
    }
}

/// One SSE body's place among the session's streams, given back when dropped.
pub(crate) struct StreamSlot(Arc<Session>);

impl StreamSlot {
    /// The slot of a stream just counted in `session`.
    fn taken(session: Arc<Session>) -> StreamSlot {
        #[cfg(feature = "metrics")]
        crate::metrics::note(crate::metrics::Note::StreamOpened);
        StreamSlot(session)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.sse_open.fetch_sub(1, Ordering::AcqRel);
        #[cfg(feature = "metrics")]
        crate::metrics::note(crate::metrics::Note::StreamClosed);
    }
}

/// The refusal of a stream past the session's bound.
fn too_many_streams(max: usize) -> Refusal {
    (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many open streams: this session may hold at most {max} SSE streams at once (GET streams and POST responses being streamed); close one (or wait for a streamed response to end) and retry"
        )
        .into(),
    )
}

/// Keeps a session busy while alive.
pub(crate) struct Busy(Arc<Session>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Makes room for a new session of `client` (of any transport): when the client holds its
/// share of sessions, or the endpoint is full, the least recently used idle session (of that client, or of
/// anyone) ends. `Err` with the reason when every candidate is busy.
pub(crate) fn make_room(inner: &Inner, client: Option<IpAddr>) -> Result<(), &'static str> {
    // HTTP+SSE sessions and WebSocket connections count too (and are never idle).
    #[cfg(any(feature = "sse-server", feature = "ws-server"))]
    let (held, held_mine) = inner.held.counts(client);
    #[cfg(not(any(feature = "sse-server", feature = "ws-server")))]
    let (held, held_mine) = (0, 0);
    let evicted = {
        let mut sessions = inner.sessions.lock().expect("sessions lock");
        let mine = |s: &Session| client.is_some() && s.client == client;
        let (scope, why): (&dyn Fn(&Session) -> bool, _) = if client.is_some()
            && sessions.values().filter(|s| mine(s)).count() + held_mine
                >= inner.config.max_sessions_per_peer
        {
            (&mine, "too many sessions from this address, all busy: end one (close a stream or socket, DELETE a session) or try again later")
        } else if sessions.len() + held >= inner.config.max_sessions {
            (
                &|_: &Session| true,
                "too many sessions, all busy: try again later",
            )
        } else {
            return Ok(());
        };
        let oldest = sessions
            .values()
            .filter(|s| scope(s) && s.is_idle())
            .min_by_key(|s| *s.last_seen.lock().expect("session lock"))
            .map(|s| s.id);
        match oldest.and_then(|id| sessions.remove(&id)) {
            Some(session) => session,
            None => return Err(why),
        }
    };
    tracing::debug!(session = %evicted.id, "ended the least recently used idle session to make room");
    evicted.end(inner);
    Ok(())
}

/// A session id: 128 random bits, written as 32 lowercase hex digits (visible ASCII).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct SessionId(u128);

impl SessionId {
    pub(crate) fn random() -> SessionId {
        SessionId(crate::server::random_u128())
    }

    /// Reads an id as written by [`Display`](std::fmt::Display): exactly 32 lowercase hex
    /// digits.
    pub(crate) fn parse(text: &str) -> Option<SessionId> {
        if text.len() != 32 {
            return None;
        }
        // One pass, four bits a digit, each half in a machine word (`from_str_radix`
        // checks each step of a `u128` for overflow).
        let half = |digits: &[u8]| {
            digits.iter().try_fold(0u64, |n, &b| {
                let digit = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    _ => return None,
                };
                Some(n << 4 | u64::from(digit))
            })
        };
        let (high, low) = text.as_bytes().split_at(16);
        Some(SessionId(
            u128::from(half(high)?) << 64 | u128::from(half(low)?),
        ))
    }
}

/// The sessions by id. Ids are 128 random bits the server drew, so they hash themselves:
/// no client chooses the keys that go in (a lookup of an id of the client's choosing only
/// misses), and the table needs no keyed hash against collisions.
pub(crate) type Sessions = std::collections::HashMap<SessionId, Arc<Session>, IdHash>;

/// Hashes a [`SessionId`] by folding its bits (see [`Sessions`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHash;

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The hasher of [`IdHash`].
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used by a `SessionId`; anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Why a request names no live session: the status and the explanation.
pub(crate) type Refusal = (StatusCode, Cow<'static, str>);

/// Checks a session's request's `MCP-Protocol-Version` header (when there is one) against
/// the version its `initialize` negotiated: that one, or an older legacy revision we
/// support. (The official conformance suite, version 0.1.16, sends `2025-03-26` on a
/// session negotiated at `2025-11-25`; a newer, a modern or an unknown value is refused.)
fn check_version(inner: &Inner, session: &Session, headers: &HeaderMap) -> Result<(), Refusal> {
    let (Some(given), Some(negotiated)) = (header_version(headers), session.version.get()) else {
        return Ok(());
    };
    if given == negotiated {
        return Ok(());
    }
    let older_legacy = match (
        oxmcp_protocol::ProtocolVersion::parse(given),
        oxmcp_protocol::ProtocolVersion::parse(negotiated),
    ) {
        (Some(given), Some(negotiated)) => given.is_legacy() && given <= negotiated,
        _ => false,
    };
    if older_legacy {
        tracing::debug!(
            given,
            negotiated,
            "an older legacy MCP-Protocol-Version on a session"
        );
        return Ok(());
    }
    Err((
        StatusCode::BAD_REQUEST,
        format!(
            "MCP-Protocol-Version header {given:?} does not match this session's protocol version: expected {negotiated:?}, as negotiated by initialize, or an older legacy revision (supported versions: {})",
            inner.shared.config().supported_list()
        )
        .into(),
    ))
}

/// The session a request names, or why it cannot be served.
pub(crate) fn lookup(inner: &Inner, headers: &HeaderMap) -> Result<Arc<Session>, Refusal> {
    let Some(id) = headers.get(&SESSION_ID) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "missing Mcp-Session-Id header: send `initialize` first and repeat the session id it returned".into(),
        ));
    };
    let id = id.to_str().ok().and_then(SessionId::parse);
    let found = id.and_then(|id| {
        inner
            .sessions
            .lock()
            .expect("sessions lock")
            .get(&id)
            .cloned()
    });
    match found {
        Some(session) => {
            #[cfg(feature = "auth")]
            if !crate::server::auth::ProtectedResource::same_subject(
                session.owner.as_deref(),
                crate::server::auth::authenticated().as_ref(),
            ) {
                return Err((
                    StatusCode::FORBIDDEN,
                    "this session belongs to another subject: use a token of the subject that opened it, or start a new session with `initialize`".into(),
                ));
            }
            session.touch();
            check_version(inner, &session, headers)?;
            Ok(session)
        }
        None => Err((
            StatusCode::NOT_FOUND,
            "unknown or expired session: start a new one with `initialize`".into(),
        )),
    }
}

/// `GET`: the standalone SSE stream of a legacy session, or the resumption of a stream
/// with `Last-Event-ID`.
pub(crate) fn get(inner: &Arc<Inner>, headers: &HeaderMap) -> Response<Body> {
    if !routes_legacy(headers, false) {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "this protocol version has no standalone stream: use subscriptions/listen",
        );
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if !Accepts::of(headers).sse {
        return plain(
            StatusCode::NOT_ACCEPTABLE,
            "GET opens an SSE stream: the Accept header must allow text/event-stream",
        );
    }
    let session = match lookup(inner, headers) {
        Ok(session) => session,
        Err((status, why)) => return plain(status, why),
    };
    let slot = match session.stream_slot(inner.config.max_streams_per_session) {
        Ok(slot) => slot,
        Err((status, why)) => {
            tracing::debug!(session = %session.id, "refused a GET stream: {why}");
            return plain(status, why);
        }
    };
    let store = &inner.config.event_store;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let follow = match last {
        Some(last) => {
            let prefix = format!("{}.", session.id);
            match store.events_after(last) {
                Some((stream, _)) if stream.starts_with(&prefix) => {
                    // Everything up to `last` reached the client.
                    store.acknowledge(last);
                    let status = inner
                        .live
                        .lock()
                        .expect("live lock")
                        .get(&stream)
                        .map(watch::Sender::subscribe);
                    Follow {
                        inner: inner.clone(),
                        cursor: last.to_owned(),
                        status,
                        close: None,
                        prime: false,
                        on_drop: Some(session.open_stream(slot)),
                    }
                }
                _ => {
                    return plain(
                        StatusCode::NOT_FOUND,
                        "unknown Last-Event-ID: the events after it are gone (or belong to another session)",
                    )
                }
            }
        }
        None => {
            session.start_standalone(inner);
            let standalone = session.standalone();
            let status = inner
                .live
                .lock()
                .expect("live lock")
                .get(&standalone)
                .map(watch::Sender::subscribe);
            let cursor = store.store_event(&standalone, "");
            Follow {
                inner: inner.clone(),
                cursor,
                status,
                close: None,
                prime: true,
                on_drop: Some(session.open_stream(slot)),
            }
        }
    };
    sse(follow.into_body())
}

/// `DELETE`: ends a legacy session.
pub(crate) fn delete(inner: &Arc<Inner>, headers: &HeaderMap) -> Response<Body> {
    if !routes_legacy(headers, false) {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "this protocol version has no sessions to delete",
        );
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let session = match lookup(inner, headers) {
        Ok(session) => session,
        Err((status, why)) => return plain(status, why),
    };
    inner
        .sessions
        .lock()
        .expect("sessions lock")
        .remove(&session.id);
    session.end(inner);
    tracing::debug!(session = %session.id, "session ended by the client");
    empty(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::SessionId;

    #[test]
    fn session_ids_round_trip_and_reject_other_spellings() {
        let id = SessionId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(SessionId::parse(&text), Some(id));
        assert_ne!(SessionId::random(), id);
        let small = SessionId(1).to_string();
        assert_eq!(small, format!("{:0>32}", "1"));
        assert_eq!(SessionId::parse(&small), Some(SessionId(1)));
        for bad in [
            "",
            "1",
            &text.to_ascii_uppercase(),
            &format!("+{}", &text[1..]),
            &format!("g{}", &text[1..]),
            &format!("{}/", &text[..31]),
            &format!("{text}0"),
            &text[..31],
        ] {
            if bad != text {
                assert_eq!(SessionId::parse(bad), None, "{bad:?}");
            }
        }
    }
}
