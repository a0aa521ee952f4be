//! Spans for every MCP request and notification (feature `otel`), on both sides of a
//! connection, following the OpenTelemetry semantic conventions for MCP
//! (`semantic-conventions-genai`, `docs/gen-ai/mcp.md`).
//!
//! The spans are `tracing` spans (target `oxmcp::otel`, level INFO), so any subscriber
//! sees them; with `tracing-opentelemetry`'s layer in the subscriber they become
//! OpenTelemetry spans, named and typed by the `otel.*` fields:
//!
//! - what this side receives gets a span `mcp.server` (kind SERVER): a client's request
//!   on a server, a server's question on a client;
//! - what this side sends gets a span `mcp.client` (kind CLIENT), for the time until the
//!   answer arrives.
//!
//! Fields: `otel.name` (`{mcp.method.name} {target}`, the target being the tool or prompt
//! name), `mcp.method.name`, `jsonrpc.request.id`, `mcp.protocol.version`,
//! `mcp.session.id`, `network.transport`, `gen_ai.tool.name` with
//! `gen_ai.operation.name = execute_tool`, `gen_ai.prompt.name`, `mcp.resource.uri`, and
//! on failure `error.type` (the JSON-RPC error code, `tool_error` for a tool result with
//! `isError`, `timeout`, `cancelled`, ...), `rpc.response.status_code` and
//! `otel.status_code = ERROR`.
//!
//! W3C trace context travels in `params._meta` (`traceparent`, `tracestate`, unprefixed as
//! the conventions say): what is sent carries the context of its `mcp.client` span, and a
//! received message's context becomes the parent of its `mcp.server` span. A handler runs
//! inside its request's span, so what it sends (a question to the client, a call to
//! another server) continues the same trace.
//!
//! When no subscriber wants the spans nothing of this runs beyond `tracing`'s own check.
//!
//! To export them, put [`layer`]'s [`SpanLayer`] in your subscriber (made for these spans
//! and cheaper), or `tracing-opentelemetry`'s layer (which bridges any `tracing` span);
//! the [operations guide](crate::guide::operations) says when to use which.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::ProtocolVersion;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::field::{display, Empty};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::rpc::{BoxFuture, Dispatch, Reply};

mod layer;

pub use layer::{layer, SpanLayer};

/// What `otel.rs` and the [`SpanLayer`]s of the subscriber tell each other while a span is
/// being made (on this thread, inside `tracing`'s call): the remote parent of a received
/// message's span, and the context of a sent message's span (to put in its `_meta`).
/// Without a [`SpanLayer`], `tracing-opentelemetry`'s layer is asked instead, after.
#[derive(Default)]
struct Handoff {
    /// The remote parent of the span being made.
    parent: Option<SpanContext>,
    /// Whether a layer took it.
    taken: bool,
    /// Whether the span's context is wanted...
    wants_context: bool,
    /// ...and what a layer answered.
    context: Option<SpanContext>,
}

thread_local! {
    static HANDOFF: std::cell::RefCell<Handoff> = std::cell::RefCell::new(Handoff::default());
}

impl Handoff {
    /// For a layer making an MCP span: its remote parent, and whether its context is
    /// wanted ([`Handoff::give_context`]).
    fn take_parent() -> (Option<SpanContext>, bool) {
        HANDOFF
            .try_with(|h| {
                let Ok(mut h) = h.try_borrow_mut() else {
                    return (None, false);
                };
                h.taken |= h.parent.is_some();
                (h.parent.clone(), h.wants_context)
            })
            .unwrap_or((None, false))
    }

    /// For a layer making an MCP span: its context, as asked.
    fn give_context(context: Option<SpanContext>) {
        let _ = HANDOFF.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut() {
                h.context = context;
            }
        });
    }

    /// Makes a span with `make`, telling the layers its remote `parent` and whether its
    /// context is wanted; returns the span and, if wanted, its context (invalid when no
    /// layer records it).
    fn make(
        parent: Option<SpanContext>,
        wants_context: bool,
        make: impl FnOnce() -> Span,
    ) -> (Span, Option<SpanContext>) {
        let remote = parent.clone();
        let _ = HANDOFF.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut() {
                *h = Handoff {
                    parent,
                    taken: false,
                    wants_context,
                    context: None,
                };
            }
        });
        let span = make();
        let (taken, context) = HANDOFF
            .try_with(|h| {
                let Ok(mut h) = h.try_borrow_mut() else {
                    return (false, None);
                };
                let h = std::mem::take(&mut *h);
                (h.taken, h.context)
            })
            .unwrap_or((false, None));
        // tracing-opentelemetry's layer, if it records the span.
        if let Some(remote) = remote.filter(|_| !taken) {
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        }
        let context = wants_context
            .then(|| context.unwrap_or_else(|| span.context().span().span_context().clone()));
        (span, context)
    }
}

/// The `tracing` target of the spans.
pub(crate) const TARGET: &str = "oxmcp::otel";

/// Whether a subscriber wants the spans at all (`tracing`'s cached callsite check).
pub(crate) fn on() -> bool {
    tracing::span_enabled!(target: TARGET, tracing::Level::INFO)
}

/// What the receiving side knows of its connection, for the spans of what it receives.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// The protocol revision the message speaks (its own, or its session's).
    pub(crate) version: Option<ProtocolVersion>,
    /// The session's id (legacy Streamable HTTP sessions).
    pub(crate) session: Option<String>,
    /// `network.transport`: `pipe` (stdio), `tcp` (HTTP).
    pub(crate) transport: Option<&'static str>,
}

/// The members of params the spans read.
#[derive(Deserialize, Default)]
struct Peek<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaPeek<'a>>,
}

#[derive(Deserialize, Default)]
struct MetaPeek<'a> {
    #[serde(borrow, default)]
    traceparent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tracestate: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<Cow<'a, str>>,
}

fn peek(params: Option<&str>) -> Peek<'_> {
    params
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// `{mcp.method.name} {target}`: the target is the tool or prompt name (a resource URI
/// would make too many span names).
struct SpanName<'a>(&'a str, Option<&'a str>);

impl fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(target) => write!(f, "{} {target}", self.0),
            None => f.write_str(self.0),
        }
    }
}

/// Whether the method's `name` param names a tool or a prompt (and so is the span's
/// target).
fn named_target(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get")
}

/// A span that lasts as long as a session (`mcp.server.session` or `mcp.client.session`):
/// dropped with the session, it gives the conventions' session duration. Never entered,
/// and a root (a child would keep the span it was made in open).
pub(crate) fn session(server: bool, version: ProtocolVersion, transport: Option<&str>) -> Span {
    if !on() {
        return Span::none();
    }
    if server {
        tracing::info_span!(
            target: TARGET,
            parent: None,
            "mcp.server.session",
            otel.kind = "server",
            mcp.protocol.version = version.as_str(),
            network.transport = transport,
        )
    } else {
        tracing::info_span!(
            target: TARGET,
            parent: None,
            "mcp.client.session",
            otel.kind = "client",
            mcp.protocol.version = version.as_str(),
            network.transport = transport,
        )
    }
}

/// The span of a message this side received: `id` is `None` for a notification.
pub(crate) fn receive(
    method: &str,
    id: Option<&RequestId>,
    params: Option<&RawValue>,
    facts: impl FnOnce() -> Facts,
) -> Span {
    if !on() {
        return Span::none();
    }
    received(method, id, &peek(params.map(RawValue::get)), facts())
}

/// [`receive`] for a `tools/call` or `prompts/get` whose params were read already: the
/// target's `name` and the `_meta` trace context (`traceparent`, `tracestate`).
#[cfg(feature = "server")]
pub(crate) fn receive_named(
    method: &str,
    id: &RequestId,
    name: &str,
    trace: (Option<&str>, Option<&str>),
    facts: Facts,
) -> Span {
    if !on() {
        return Span::none();
    }
    let peek = Peek {
        name: Some(Cow::Borrowed(name)),
        uri: None,
        meta: Some(MetaPeek {
            traceparent: trace.0.map(Cow::Borrowed),
            tracestate: trace.1.map(Cow::Borrowed),
            protocol_version: None,
        }),
    };
    received(method, Some(id), &peek, facts)
}

/// An MCP span (name and kind literals, then the method, its target, the request id, the
/// protocol version, the session id, `network.transport` and the [`Target`]): one field
/// set for both kinds, the failure fields left to be recorded.
macro_rules! mcp_span {
    ($name:literal, $kind:literal, $method:expr, $target:expr, $id:expr, $version:expr,
     $session:expr, $transport:expr, $what:expr) => {
        tracing::info_span!(
            target: TARGET,
            $name,
            otel.name = %SpanName($method, $target),
            otel.kind = $kind,
            mcp.method.name = $method,
            jsonrpc.request.id = $id.map(display),
            mcp.protocol.version = $version,
            mcp.session.id = $session,
            network.transport = $transport,
            gen_ai.tool.name = $what.tool,
            gen_ai.prompt.name = $what.prompt,
            gen_ai.operation.name = $what.tool.map(|_| EXECUTE_TOOL),
            mcp.resource.uri = $what.uri,
            error.type = Empty,
            rpc.response.status_code = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        )
    };
}

/// The span of a received message, from what its params say.
fn received(method: &str, id: Option<&RequestId>, peek: &Peek<'_>, facts: Facts) -> Span {
    let version = facts
        .version
        .map(|v| Cow::Borrowed(v.as_str()))
        .or_else(|| peek.meta.as_ref().and_then(|m| m.protocol_version.clone()));
    let target = peek.name.as_deref().filter(|_| named_target(method));
    let what = Target::of(method, peek);
    let parent = peek.meta.as_ref().and_then(extract);
    let make = || {
        mcp_span!(
            "mcp.server",
            "server",
            method,
            target,
            id,
            version.as_deref(),
            facts.session.as_deref(),
            facts.transport,
            what
        )
    };
    Handoff::make(parent, false, make).0
}

/// The span of a message this side sends (`id` is `None` for a notification), and its
/// params with the span's trace context in `_meta` when it has one.
pub(crate) fn send(
    method: &str,
    id: Option<&RequestId>,
    params: Option<&str>,
) -> (Span, Option<String>) {
    if !on() {
        return (Span::none(), None);
    }
    let peek = peek(params);
    let target = peek.name.as_deref().filter(|_| named_target(method));
    let version = peek
        .meta
        .as_ref()
        .and_then(|m| m.protocol_version.as_deref());
    let what = Target::of(method, &peek);
    // Params that carry a trace context already keep it (the caller chose it), and the
    // span joins that trace; otherwise the span's context goes in `_meta`.
    let chosen = peek.meta.as_ref().filter(|m| m.traceparent.is_some());
    let parent = chosen.and_then(extract);
    let make = || {
        mcp_span!(
            "mcp.client",
            "client",
            method,
            target,
            id,
            version,
            None::<&str>,
            None::<&str>,
            what
        )
    };
    let (span, context) = Handoff::make(parent, chosen.is_none(), make);
    let Some(span_context) = context else {
        return (span, None);
    };
    let injected = span_context
        .is_valid()
        .then(|| inject(params, &span_context))
        .flatten();
    (span, injected)
}

/// `gen_ai.operation.name` of a `tools/call`.
const EXECUTE_TOOL: &str = "execute_tool";

/// What a message is about: the tool, prompt or resource its span names. Given to the
/// span when it is made (recording a field afterwards costs every layer a span lookup).
#[derive(Default)]
struct Target<'a> {
    tool: Option<&'a str>,
    prompt: Option<&'a str>,
    uri: Option<&'a str>,
}

impl<'a> Target<'a> {
    fn of(method: &str, peek: &'a Peek<'_>) -> Self {
        match (method, &peek.name, &peek.uri) {
            ("tools/call", Some(name), _) => Target {
                tool: Some(name),
                ..Target::default()
            },
            ("prompts/get", Some(name), _) => Target {
                prompt: Some(name),
                ..Target::default()
            },
            (
                "resources/read"
                | "resources/subscribe"
                | "resources/unsubscribe"
                | "notifications/resources/updated",
                _,
                Some(uri),
            ) => Target {
                uri: Some(uri),
                ..Target::default()
            },
            _ => Target::default(),
        }
    }
}

/// Records a JSON-RPC error on `span`.
fn record_error(span: &Span, error: &ErrorObject) {
    span.record("error.type", display(error.code));
    span.record("rpc.response.status_code", display(error.code));
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", error.message.as_str());
}

/// Records a failure that is not a JSON-RPC error (`tool_error`, `timeout`, ...).
fn record_failure(span: &Span, kind: &str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// Whether a `tools/call` result says `isError: true`.
fn is_tool_error(json: &str) -> bool {
    #[derive(Deserialize)]
    struct Flag {
        #[serde(rename = "isError", default)]
        is_error: bool,
    }
    // Most results do not name it at all (a key can only spell it otherwise with `\u`
    // escapes): no need to parse them.
    (json.contains("isError") || json.contains("\\u"))
        && serde_json::from_str::<Flag>(json).is_ok_and(|flag| flag.is_error)
}

/// Records the answer to a received request on its span.
pub(crate) fn record_reply(span: &Span, tool_call: bool, reply: &Reply) {
    if span.is_disabled() {
        return;
    }
    match reply {
        Err(error) => record_error(span, error),
        Ok(json) if tool_call && is_tool_error(json) => record_failure(span, "tool_error"),
        Ok(_) => {}
    }
}

/// Records the outcome of a request this side sent on its span.
pub(crate) fn record_outcome(
    span: &Span,
    tool_call: bool,
    outcome: &Result<Box<RawValue>, crate::Error>,
) {
    if span.is_disabled() {
        return;
    }
    match outcome {
        Ok(result) if tool_call && is_tool_error(result.get()) => {
            record_failure(span, "tool_error");
        }
        Ok(_) => {}
        Err(error) => match error.rpc_error() {
            Some(rpc) => record_error(span, rpc),
            None => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else if error.is_cancelled() {
                    "cancelled"
                } else if error.is_closed() {
                    "closed"
                } else {
                    "transport"
                };
                record_failure(span, kind);
                span.record("otel.status_description", display(error));
            }
        },
    }
}

/// Runs a received request's answer inside its span and records how it ended.
fn answer(span: Span, tool_call: bool, future: BoxFuture<Reply>) -> BoxFuture<Reply> {
    Box::pin(Answer {
        span,
        tool_call,
        future: Some(future),
    })
}

/// A received request's answer, polled (and dropped) inside its span, which it owns: the
/// one handle both enters the span and records the reply (a clone to record with would
/// cost every layer a clone and a close per request).
struct Answer {
    span: Span,
    tool_call: bool,
    /// `None` once it has answered.
    future: Option<BoxFuture<Reply>>,
}

impl std::future::Future for Answer {
    type Output = Reply;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Reply> {
        let this = &mut *self;
        let Some(future) = this.future.as_mut() else {
            return std::task::Poll::Pending;
        };
        let reply = {
            let _entered = this.span.enter();
            let reply = std::task::ready!(future.as_mut().poll(cx));
            this.future = None;
            reply
        };
        record_reply(&this.span, this.tool_call, &reply);
        std::task::Poll::Ready(reply)
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        // A request cancelled before it answered: its future is dropped inside the span,
        // as a handler's own spans and events expect.
        if let Some(future) = self.future.take() {
            let _entered = self.span.enter();
            drop(future);
        }
    }
}

/// A received request's dispatch, with its answer recorded on `span` (and run inside it).
pub(crate) fn dispatched(span: Span, method: &str, dispatch: Dispatch) -> Dispatch {
    if span.is_disabled() {
        return dispatch;
    }
    let tool_call = method == "tools/call";
    match dispatch {
        Dispatch::Now(reply) => {
            record_reply(&span, tool_call, &reply);
            Dispatch::Now(reply)
        }
        Dispatch::Later(future) => Dispatch::Later(answer(span, tool_call, future)),
        Dispatch::LaterWith(future, cancel) => {
            Dispatch::LaterWith(answer(span, tool_call, future), cancel)
        }
    }
}

/// The remote span context W3C `traceparent` (and `tracestate`) describe, if valid.
fn extract(meta: &MetaPeek<'_>) -> Option<SpanContext> {
    let parent = parse_traceparent(meta.traceparent.as_deref()?)?;
    let state = meta
        .tracestate
        .as_deref()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    Some(SpanContext::new(parent.0, parent.1, parent.2, true, state))
}

/// Parses `version-traceid-spanid-flags` (W3C Trace Context, version 00; later versions
/// are read as 00 as the recommendation says). All-zero ids are invalid.
fn parse_traceparent(text: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let mut parts = text.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !lower_hex(version, 2) || version == "ff" || !lower_hex(trace, 32) || !lower_hex(span, 16) {
        return None;
    }
    if !lower_hex(flags, 2) || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok()?;
    let span = SpanId::from_hex(span).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1);
    (trace != TraceId::INVALID && span != SpanId::INVALID).then_some((trace, span, flags))
}

/// `params` (an object, or none) with `traceparent` and `tracestate` in its `_meta`.
/// `None` when the params are not an object (they are sent as they were).
fn inject(params: Option<&str>, context: &SpanContext) -> Option<String> {
    use serde_json::Map;
    let mut object: Map<String, serde_json::Value> = match params {
        Some(text) => serde_json::from_str(text).ok()?,
        None => Map::new(),
    };
    let meta = object
        .entry("_meta")
        .or_insert_with(|| serde_json::Value::Object(Map::new()));
    let meta = meta.as_object_mut()?;
    let traceparent = format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    );
    meta.insert("traceparent".into(), traceparent.into());
    let state = context.trace_state().header();
    if !state.is_empty() {
        meta.insert("tracestate".into(), state.into());
    }
    serde_json::to_string(&object).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_reads_w3c_version_00_and_rejects_malformed_ones() {
        let (trace, span, flags) =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.to_string(), "00f067aa0ba902b7");
        assert!(flags.is_sampled());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
        // A later version may carry more fields.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")
                .is_some()
        );
    }

    #[test]
    fn a_tool_error_is_found_however_its_key_is_written() {
        assert!(is_tool_error(r#"{"content":[],"isError":true}"#));
        assert!(is_tool_error(r#"{"content":[],"is\u0045rror":true}"#));
        assert!(!is_tool_error(r#"{"content":[],"isError":false}"#));
        assert!(!is_tool_error(
            r#"{"content":[{"type":"text","text":"isError"}]}"#
        ));
        assert!(!is_tool_error(r#"{"content":[]}"#));
    }

    #[test]
    fn injecting_keeps_the_params_and_their_meta() {
        let context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            "rojo=00f067aa0ba902b7".parse().unwrap(),
        );
        let text = inject(
            Some(r#"{"name":"x","_meta":{"progressToken":3}}"#),
            &context,
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["name"], "x");
        assert_eq!(value["_meta"]["progressToken"], 3);
        assert_eq!(
            value["_meta"]["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(value["_meta"]["tracestate"], "rojo=00f067aa0ba902b7");
        let bare: serde_json::Value =
            serde_json::from_str(&inject(None, &context).unwrap()).unwrap();
        assert!(bare["_meta"]["traceparent"].is_string());
        assert_eq!(inject(Some("[1]"), &context), None);
    }
}
