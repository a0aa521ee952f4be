//! `POST`: one JSON-RPC message (or a 2025-03-26 batch), answered with JSON or SSE.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::FusedFuture;
use http::{header, HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::ProtocolVersion;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::body::{Posted, Summary};
use super::service::{
    empty, header_version, json, plain, rpc_error, sse, Accepts, Inner, MCP_METHOD, MCP_NAME,
    SESSION_ID,
};
use super::session::{lookup, make_room, Session};
use super::sse::{direct, Follow, OnDrop};
use crate::rpc::{BoxFuture, Message, OutFrame, Outbound, Peer, Responder};
use crate::server::connection::params::CallParams;
use crate::server::ConnectionHandler;

pub(crate) async fn post(
    inner: &Arc<Inner>,
    headers: &HeaderMap,
    body: Bytes,
    client: Option<IpAddr>,
) -> Response<Body> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let content_type = content_type.to_str().unwrap_or("").trim_start().as_bytes();
        let json = b"application/json";
        if !content_type
            .get(..json.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(json))
        {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON (Content-Type: application/json)",
            );
        }
    }
    let accept = Accepts::of(headers);
    if !accept.json && !accept.sse {
        return plain(
            StatusCode::NOT_ACCEPTABLE,
            "the Accept header must allow application/json and text/event-stream",
        );
    }
    let (mut eager, mut slow) = (None, None);
    let read = std::str::from_utf8(&body)
        .map_err(|_| "not UTF-8".to_owned())
        .and_then(|text| {
            Posted::read(&inner.modern.1, headers, text, &mut eager, &mut slow)
                .map(|read| (text, read))
        });
    let (text, read) = match read {
        Ok(read) => read,
        Err(reason) => {
            let error = ErrorObject::parse_error(format!("invalid JSON: {reason}"));
            return rpc_error(StatusCode::BAD_REQUEST, None, &error);
        }
    };
    if read.legacy {
        legacy(
            inner,
            headers,
            (&body, text),
            read,
            &mut eager,
            accept,
            client,
        )
        .await
    } else {
        modern(inner, headers, &body, read, &mut eager, accept).await
    }
}

/// The legacy way: a session per `initialize`.
async fn legacy<'a>(
    inner: &Arc<Inner>,
    headers: &HeaderMap,
    (frame, text): (&Bytes, &str),
    read: Posted<'a>,
    eager: &mut Option<CallParams<'a>>,
    accept: Accepts,
    client: Option<IpAddr>,
) -> Response<Body> {
    let body = &read.summary;
    let initialize = body.method.as_deref() == Some("initialize");
    let session = if initialize {
        if let Some(given) = header_version(headers) {
            let requested = protocol_version_in(text, "params");
            if requested.as_deref() != Some(given) {
                let error = ErrorObject::invalid_request(format!(
                    "MCP-Protocol-Version header {given:?} does not match initialize's protocolVersion {}: send the same version in both, or no header (supported versions: {})",
                    requested.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}")),
                    inner.shared.config().supported_list()
                ));
                return rpc_error(StatusCode::BAD_REQUEST, body.id.as_ref(), &error);
            }
        }
        if let Err(why) = make_room(inner, client) {
            let error = ErrorObject::internal(why);
            let mut response = rpc_error(StatusCode::SERVICE_UNAVAILABLE, body.id.as_ref(), &error);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
        Session::new(inner, client)
    } else {
        match lookup(inner, headers) {
            Ok(session) => session,
            Err((status, why)) => return plain(status, why),
        }
    };
    let expected = body.expected_responses(session.handler.accepts_batches());
    if expected > 0 && accept.sse {
        if let Some((status, why)) = session.streams_full(inner.config.max_streams_per_session) {
            let error = ErrorObject::new(crate::rpc::BUSY, why);
            return rpc_error(status, body.id.as_ref(), &error);
        }
    }
    let _busy = session.busy();
    let close = CancellationToken::new();
    let (out, rx) = Outbound::closable(close.clone(), accept.sse);
    let handling = handle(
        &session.peer,
        &session.handler,
        frame,
        read.request,
        eager,
        out,
    );
    let mut replies = Replies { handling, rx };
    if expected == 0 {
        replies.finish().await;
        return empty(StatusCode::ACCEPTED);
    }
    let Some(first) = replies.recv().await else {
        // Cancelled before answering: nothing to send.
        return empty(StatusCode::ACCEPTED);
    };
    #[cfg(feature = "auth")]
    if let Some(response) = super::auth::step_up(inner, first.error, &first.text) {
        replies.finish().await;
        return response;
    }
    if expected == 1 {
        if let Some(response) = super::throttle::refusal(&first) {
            replies.finish().await;
            if initialize {
                session.end(inner);
            }
            return response;
        }
    }
    let mut extra = HeaderMap::new();
    if initialize {
        if first.error.is_some() {
            replies.finish().await;
            session.end(inner);
            return json(StatusCode::BAD_REQUEST, first.text);
        }
        if let Some(version) = protocol_version_in(&first.text, "result") {
            let _ = session.version.set(version);
        }
        inner
            .sessions
            .lock()
            .expect("sessions lock")
            .insert(session.id, session.clone());
        tracing::debug!(session = %session.id, "session created");
        if let Ok(id) = HeaderValue::from_str(&session.id.to_string()) {
            extra.insert(SESSION_ID.clone(), id);
        }
    }
    let mut response = if first.is_response && expected == 1 && accept.json && !close.is_cancelled()
    {
        replies.finish().await;
        json(StatusCode::OK, first.text)
    } else if accept.sse {
        replies.hand_over(|rx| stored_stream(inner, &session, first, rx, expected, close))
    } else {
        json_only(first, replies, expected).await
    };
    if !extra.is_empty() {
        response.headers_mut().extend(extra);
    }
    response
}

/// The frames a `POST`'s outbound receives, and the handling of its message, which runs
/// while they are received: the handling may send more than the outbound holds (the
/// refusals of a large batch, say), so it must never wait on a queue only this `POST`
/// drains.
struct Replies<H> {
    handling: H,
    rx: mpsc::Receiver<OutFrame>,
}

impl<H: FusedFuture<Output = ()> + Unpin> Replies<H> {
    /// The next frame, handling the message meanwhile; `None` once every sender is gone.
    async fn recv(&mut self) -> Option<OutFrame> {
        loop {
            if self.handling.is_terminated() {
                return self.rx.recv().await;
            }
            tokio::select! {
                biased;
                frame = self.rx.recv() => return frame,
                () = &mut self.handling => {}
            }
        }
    }

    /// Lets the handling finish; frames still to come are dropped.
    async fn finish(self) {
        let Replies { handling, rx } = self;
        drop(rx);
        if !handling.is_terminated() {
            handling.await;
        }
    }

    /// Gives the receiver to `drain` (which must drain it on its own, in a response body)
    /// and the handling, which may be running a handler, a task of its own, so that the
    /// response is sent now.
    fn hand_over<T>(self, drain: impl FnOnce(mpsc::Receiver<OutFrame>) -> T) -> T
    where
        H: Send + 'static,
    {
        let Replies { handling, rx } = self;
        // The handling, if not done, goes on in a task of its own when dropped here.
        drop(handling);
        drain(rx)
    }
}

/// Streams a legacy POST's frames through the event store, so the client can resume.
fn stored_stream(
    inner: &Arc<Inner>,
    session: &Arc<Session>,
    first: OutFrame,
    mut rx: mpsc::Receiver<OutFrame>,
    expected: usize,
    close: CancellationToken,
) -> Response<Body> {
    let stream = inner.stream_id(session.id);
    session.add_stream(inner, &stream);
    let (status, status_rx) = watch::channel(false);
    inner
        .live
        .lock()
        .expect("live lock")
        .insert(stream.clone(), status.clone());
    let store = inner.config.event_store.clone();
    let prime = store.store_event(&stream, "");
    let mut responses = usize::from(first.is_response);
    store.store_event(&stream, &first.text);
    let pump_inner = inner.clone();
    let pump_stream = stream.clone();
    // The requests in flight keep the session busy, whether the client reads or not.
    let busy = session.busy();
    tokio::spawn(async move {
        let _busy = busy;
        while responses < expected {
            let Some(frame) = rx.recv().await else { break };
            responses += usize::from(frame.is_response);
            store.store_event(&pump_stream, &frame.text);
            status.send_modify(|_| {});
        }
        pump_inner
            .live
            .lock()
            .expect("live lock")
            .remove(&pump_stream);
        status.send_replace(true);
    });
    let follow = Follow {
        inner: inner.clone(),
        cursor: prime,
        status: Some(status_rx),
        close: Some(close),
        prime: true,
        on_drop: Some(session.open_stream(session.stream_slot_now())),
    };
    sse(follow.into_body())
}

/// For a client that takes only JSON: the responses, other messages dropped. (No request
/// to the client is among them: its outbound refuses them, so a handler's question fails at
/// once instead of waiting for an answer that cannot come.)
async fn json_only<H: FusedFuture<Output = ()> + Unpin>(
    first: OutFrame,
    mut replies: Replies<H>,
    expected: usize,
) -> Response<Body> {
    let mut responses = Vec::new();
    let mut next = Some(first);
    while let Some(frame) = next {
        if frame.is_response {
            responses.push(frame.text);
            if responses.len() >= expected {
                break;
            }
        } else {
            tracing::debug!("dropped a message: the client accepts no SSE");
        }
        next = replies.recv().await;
    }
    replies.finish().await;
    match responses.len() {
        0 => empty(StatusCode::ACCEPTED),
        1 => json(StatusCode::OK, responses.remove(0)),
        _ => json(StatusCode::OK, format!("[{}]", responses.join(","))),
    }
}

/// The `protocolVersion` inside `member` of a frame: `params` of an `initialize`,
/// `result` of its answer (read only for that rare request, so through a `Value`).
fn protocol_version_in(text: &str, member: &str) -> Option<String> {
    let frame = serde_json::from_str::<serde_json::Value>(text).ok()?;
    Some(
        frame
            .get(member)?
            .get("protocolVersion")?
            .as_str()?
            .to_owned(),
    )
}

/// The HTTP status of a modern response, from the code of the error it reports.
fn modern_status(error: Option<i64>) -> StatusCode {
    match error {
        None => StatusCode::OK,
        Some(-32601) => StatusCode::NOT_FOUND,
        Some(-32700 | -32600 | -32602 | -32020 | -32021 | -32022) => StatusCode::BAD_REQUEST,
        Some(_) => StatusCode::OK,
    }
}

/// Cancels a modern request whose client went away (its handler sees its cancellation).
struct CancelOnDrop {
    peer: Peer,
    id: Option<RequestId>,
}

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            tracing::debug!(%id, "the HTTP client went away: its request is cancelled");
            self.peer.cancel_incoming(&id);
        }
    }
}

/// Decodes a header value that may use the `=?base64?...?=` sentinel (non-ASCII names);
/// `None` when the sentinel's content is not valid base64 UTF-8. A plain value is
/// borrowed, not copied.
pub(crate) fn decode_header_value(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    use base64::Engine as _;
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(std::borrow::Cow::Owned),
        None => Some(std::borrow::Cow::Borrowed(value)),
    }
}

/// Checks the headers of a modern request against its body.
fn check_modern(
    inner: &Inner,
    headers: &HeaderMap,
    request: &Summary<'_>,
) -> Result<(), ErrorObject> {
    let mismatch = |message: String| ErrorObject::new(-32020, message);
    let method = request.method.as_deref().unwrap_or("");
    // Values are compared without surrounding whitespace (HTTP optional whitespace).
    let header = |name: &HeaderName| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").trim_matches([' ', '\t']))
    };
    match header(&MCP_METHOD) {
        None => return Err(mismatch("missing Mcp-Method header".to_owned())),
        Some(h) if h != method => {
            return Err(mismatch(format!(
                "Mcp-Method header {h:?} does not match the body's method {method:?}"
            )))
        }
        Some(_) => {}
    }
    if method == "initialize" {
        // Never let the shared modern connection open a legacy session.
        return Err(
            ErrorObject::method_not_found(method).with_data(serde_json::json!({
                "reason": "initialize does not exist from protocol version 2026-07-28 on",
            })),
        );
    }
    let name_key = match method {
        "tools/call" | "prompts/get" => Some(("name", &request.name)),
        "resources/read" => Some(("uri", &request.uri)),
        // The tasks extension's routing header (SEP-2663), where it is installed.
        "tasks/get" | "tasks/update" | "tasks/cancel" if inner.shared.config().tasks.is_some() => {
            Some(("taskId", &request.task_id))
        }
        _ => None,
    };
    if let Some((key, expected)) = name_key {
        let expected = expected.as_deref();
        let given = header(&MCP_NAME).map(decode_header_value);
        match (given, expected) {
            (None, _) => return Err(mismatch("missing Mcp-Name header".to_owned())),
            (Some(None), _) => {
                return Err(mismatch(
                    "malformed Mcp-Name header: invalid =?base64?...?= value".to_owned(),
                ))
            }
            (Some(Some(h)), Some(e)) if *h != *e => {
                return Err(mismatch(format!(
                    "Mcp-Name header {h:?} does not match the body's {key} {e:?}"
                )))
            }
            _ => {}
        }
    }
    let Some(version) = request.version.as_deref() else {
        return Err(ErrorObject::invalid_params(
            "missing _meta \"io.modelcontextprotocol/protocolVersion\" (required from 2026-07-28 on)",
        ));
    };
    if !request.capabilities {
        return Err(ErrorObject::invalid_params(
            "missing _meta \"io.modelcontextprotocol/clientCapabilities\" (required from 2026-07-28 on)",
        ));
    }
    let header_version = header_version(headers).unwrap_or("");
    if header_version != version {
        return Err(mismatch(format!(
            "MCP-Protocol-Version header {header_version:?} does not match _meta protocolVersion {version:?}"
        )));
    }
    if !ProtocolVersion::parse(version).is_some_and(ProtocolVersion::is_modern) {
        return Err(inner.shared.config().unsupported_version(version));
    }
    if method == "tools/call" {
        super::params::check(inner, headers, request)?;
    }
    Ok(())
}

/// Handles a POST's message (each request's handler runs in a task of its own), as a
/// future the POST owns: should the answer stream, or the POST be dropped, the handling
/// goes on in a task of its own ([`Replies::hand_over`], [`Detach`]).
fn handle_owned<H: Responder>(
    peer: &Peer,
    handler: &Arc<H>,
    frame: &Bytes,
    out: Outbound,
) -> Detach {
    let (peer, handler, frame) = (peer.clone(), handler.clone(), frame.clone());
    Detach(Some(Box::pin(async move {
        // Checked by the caller already.
        if let Ok(text) = std::str::from_utf8(&frame) {
            peer.handle_frame_joined(text, &handler, &out, None, None)
                .await;
        }
    })))
}

/// A POST's handling, polled by the POST's task; if the POST is dropped before the handling
/// ends (the client went away, which cancels the request), the handling goes on in a task
/// of its own rather than being dropped mid-way.
struct Detach(Option<BoxFuture<()>>);

impl Future for Detach {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let Some(future) = self.0.as_mut() else {
            return std::task::Poll::Ready(());
        };
        let polled = future.as_mut().poll(cx);
        if polled.is_ready() {
            self.0 = None;
        }
        polled
    }
}

impl FusedFuture for Detach {
    fn is_terminated(&self) -> bool {
        self.0.is_none()
    }
}

impl Drop for Detach {
    fn drop(&mut self) {
        if let Some(future) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(future);
            }
        }
    }
}

/// Handles a POST's message: a request decoded already ([`Posted::request`]) is handed to
/// the engine as it is (its reply, when known at once, is queued before this returns),
/// any other body as its frame ([`handle_owned`]), which the engine decodes. What is left
/// of the handling is the POST's to poll.
fn handle<'a>(
    peer: &Peer,
    handler: &Arc<ConnectionHandler>,
    frame: &Bytes,
    request: Option<Message<'a>>,
    eager: &mut Option<CallParams<'a>>,
    out: Outbound,
) -> Detach {
    match request {
        // A saturated engine lets its handlers run before it takes more: the frame's way.
        Some(request) if !peer.is_saturated() => {
            // On a runtime with one thread, the POST's own task runs a request's handler
            // (see `Peer::run_kept`); elsewhere the request gets a task of its own.
            let mut kept = None;
            let keep = crate::rpc::one_thread().then_some(&mut kept);
            let wait = peer.handle_decoded(request, eager, handler, &out, keep);
            if let Some(queued) = kept {
                // Nothing was answered at once, so there is no reply to wait to send.
                debug_assert!(wait.is_none());
                return Detach(Some(Box::pin(peer.run_kept(queued, out))));
            }
            Detach(wait.map(|wait| -> BoxFuture<()> {
                Box::pin(async move {
                    let _ = wait.await;
                })
            }))
        }
        _ => handle_owned(peer, handler, frame, out),
    }
}

/// The modern way: no session, each POST stands alone.
async fn modern<'a>(
    inner: &Arc<Inner>,
    headers: &HeaderMap,
    frame: &Bytes,
    read: Posted<'a>,
    eager: &mut Option<CallParams<'a>>,
    accept: Accepts,
) -> Response<Body> {
    let body = &read.summary;
    let handler = &inner.modern.1;
    // Request ids are unique per client, not across clients: every POST gets an engine of
    // its own (the connection handler, with its listeners, is shared).
    let peer = Peer::new(inner.max_in_flight);
    if !body.is_object() {
        let error = ErrorObject::invalid_request(
            "JSON-RPC batches are not allowed from protocol version 2025-06-18 on",
        );
        return rpc_error(StatusCode::BAD_REQUEST, None, &error);
    }
    let id = body.id.clone();
    let is_request = body.has_method && id.is_some();
    if is_request {
        if let Err(error) = check_modern(inner, headers, body) {
            let status = if error.code == -32601 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            return rpc_error(status, id.as_ref(), &error);
        }
    }
    let (out, rx) = Outbound::channel();
    let handling = handle(&peer, handler, frame, read.request, eager, out);
    let mut replies = Replies { handling, rx };
    if body.expected_responses(false) == 0 {
        replies.finish().await;
        return empty(StatusCode::ACCEPTED);
    }
    let mut guard = CancelOnDrop {
        peer: peer.clone(),
        id: id.filter(|_| is_request),
    };
    let Some(first) = replies.recv().await else {
        guard.disarm();
        return empty(StatusCode::ACCEPTED);
    };
    #[cfg(feature = "auth")]
    if let Some(response) = super::auth::step_up(inner, first.error, &first.text) {
        guard.disarm();
        replies.finish().await;
        return response;
    }
    if first.is_response {
        guard.disarm();
        if let Some(response) = super::throttle::refusal(&first) {
            replies.finish().await;
            return response;
        }
        if accept.json || !accept.sse {
            replies.finish().await;
            let status = modern_status(first.error);
            return json(status, first.text);
        }
    }
    if !accept.sse {
        let response = json_only(first, replies, 1).await;
        guard.disarm();
        return response;
    }
    let on_drop: OnDrop = Box::new(move |finished| {
        if finished {
            guard.disarm();
        }
        drop(guard);
    });
    let keep_alive = inner.config.keep_alive;
    let body = replies.hand_over(|rx| direct(keep_alive, first, rx, 1, Some(on_drop)));
    sse(body)
}
