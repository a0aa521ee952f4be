//! Spans (feature `otel`): every request and notification gets one on each side, named
//! and attributed per the OpenTelemetry semantic conventions for MCP, and the W3C trace
//! context in `_meta` makes the server's span a child of the client's, and the server's
//! own questions to the client children of the tool call's span.
//!
//! Each test runs with both bridges to OpenTelemetry, over an in-memory exporter (what it
//! records is what any OpenTelemetry backend would receive): oxmcp's own
//! [`oxmcp::otel::layer`] for the MCP spans beside `tracing-opentelemetry` for the test's
//! own spans, and `tracing-opentelemetry` alone for all of them.

use opentelemetry::trace::{SpanId, SpanKind, Status, TracerProvider as _};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use oxmcp::client::CallOptions;
use oxmcp::protocol::elicitation::{ElicitAction, ElicitRequestParams, ElicitResult};
use oxmcp::protocol::ErrorObject;
use oxmcp::server::{tool, Context, Router, ToolError};
use oxmcp::testing::TestClient;
use serde_json::json;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::{legacy, modern, Raw, SchemaTap};

async fn echo() -> &'static str {
    "echoed"
}

/// A tool that does some work in a span of its own (not an MCP span).
async fn work() -> &'static str {
    tracing::info_span!("own work").in_scope(|| ());
    "worked"
}

async fn broken() -> Result<String, ToolError> {
    Err(ToolError::execution("it broke"))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Sure {
    /// Really?
    #[serde(default)]
    really: bool,
}

/// Asks the client a question: the server's own outgoing request, inside the call.
async fn confirm(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.elicit::<Sure>("Sure?").await?;
    let really = matches!(
        answer,
        oxmcp::server::ask::Elicitation::Accept(Sure { really: true })
    );
    Ok(format!("{really}"))
}

async fn accept(_: ElicitRequestParams) -> Result<ElicitResult, ErrorObject> {
    let mut result = ElicitResult::new(ElicitAction::Accept);
    result.content = Some(json!({"really": true}).as_object().unwrap().clone());
    Ok(result)
}

fn router() -> Router {
    Router::new()
        .tool("echo", echo)
        .tool("broken", tool(broken))
        .tool("confirm", confirm)
        .tool("work", work)
}

/// How the spans reach OpenTelemetry.
#[derive(Clone, Copy, Debug)]
enum Bridge {
    /// `oxmcp::otel::layer` for the MCP spans, `tracing-opentelemetry` for the others.
    Lean,
    /// The same, without context activation.
    LeanInactive,
    /// `tracing-opentelemetry` for every span.
    Generic,
}

/// Runs `work` with a subscriber that exports every span to memory; returns the spans.
async fn traced<F: std::future::Future<Output = ()>>(bridge: Bridge, work: F) -> Vec<SpanData> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::Layer;

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("test");
    let (lean, generic) = match bridge {
        Bridge::Lean | Bridge::LeanInactive => {
            let not_mcp = Targets::new()
                .with_default(LevelFilter::TRACE)
                .with_target("oxmcp::otel", LevelFilter::OFF);
            let lean = oxmcp::otel::layer(tracer.clone())
                .with_context_activation(matches!(bridge, Bridge::Lean));
            (
                Some(lean),
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(not_mcp)
                    .boxed(),
            )
        }
        Bridge::Generic => (
            None,
            tracing_opentelemetry::layer().with_tracer(tracer).boxed(),
        ),
    };
    let subscriber = tracing_subscriber::registry().with(lean).with(generic);
    let guard = tracing::subscriber::set_default(subscriber);
    work.await;
    drop(guard);
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn attr_str(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned())
}

fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect()
}

fn one<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found = find(spans, name, kind.clone());
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} span {name:?} among {:#?}",
        spans
            .iter()
            .map(|s| (&s.name, &s.span_kind))
            .collect::<Vec<_>>()
    );
    found[0]
}

fn assert_child(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} is in the trace of {}",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is a child of {}",
        child.name,
        parent.name
    );
}

#[tokio::test]
async fn a_tool_call_is_one_trace_from_the_agent_to_the_server_and_back() {
    one_trace(Bridge::Lean).await;
}

#[tokio::test]
async fn a_tool_call_is_one_trace_without_context_activation() {
    one_trace(Bridge::LeanInactive).await;
}

#[tokio::test]
async fn a_tool_call_is_one_trace_through_tracing_opentelemetry_alone() {
    one_trace(Bridge::Generic).await;
}

async fn one_trace(bridge: Bridge) {
    let tap = SchemaTap::new();
    let seen = tap.clone();
    let spans = traced(bridge, async {
        let client = TestClient::builder(router())
            .era(legacy())
            .client(|b| b.on_elicitation(accept))
            .on_frame(move |d, f| seen.see(d, f))
            .connect()
            .await
            .unwrap();
        async {
            client.call_tool("echo", ()).await.unwrap();
            let broken = client.call_tool("broken", ()).await.unwrap();
            assert_eq!(broken.is_error, Some(true));
            client.call_tool("confirm", ()).await.unwrap();
            client.call_tool("work", ()).await.unwrap();
            client.list_tools(None).await.unwrap();
            let params = json!({"name": "nope"}).as_object().unwrap().clone();
            let missing = client
                .request::<serde_json::Value>("prompts/get", params, CallOptions::default())
                .await;
            assert!(missing.is_err());
        }
        .instrument(tracing::info_span!("agent"))
        .await;
    })
    .await;
    tap.assert_clean();

    let agent = spans.iter().find(|s| s.name == "agent").unwrap();
    let client = one(&spans, "tools/call echo", SpanKind::Client);
    let server = one(&spans, "tools/call echo", SpanKind::Server);
    assert_child(client, agent);
    assert_child(server, client);
    for span in [client, server] {
        assert_eq!(
            attr_str(span, "mcp.method.name").as_deref(),
            Some("tools/call")
        );
        assert_eq!(attr_str(span, "gen_ai.tool.name").as_deref(), Some("echo"));
        assert_eq!(
            attr_str(span, "gen_ai.operation.name").as_deref(),
            Some("execute_tool")
        );
        assert!(attr(span, "jsonrpc.request.id").is_some(), "{span:#?}");
        assert!(attr(span, "error.type").is_none());
        assert_eq!(span.status, Status::Unset);
    }
    assert_eq!(
        attr_str(server, "mcp.protocol.version").as_deref(),
        Some("2025-11-25")
    );
    assert_eq!(
        attr_str(server, "network.transport").as_deref(),
        Some("pipe")
    );

    // A tool result with isError is a failure for the spans (not for JSON-RPC).
    for kind in [SpanKind::Client, SpanKind::Server] {
        let span = one(&spans, "tools/call broken", kind);
        assert_eq!(attr_str(span, "error.type").as_deref(), Some("tool_error"));
        assert!(matches!(span.status, Status::Error { .. }), "{span:#?}");
    }

    // The server's question to the client continues the call's trace.
    let call = one(&spans, "tools/call confirm", SpanKind::Server);
    let asked = one(&spans, "elicitation/create", SpanKind::Client);
    let answered = one(&spans, "elicitation/create", SpanKind::Server);
    assert_child(asked, call);
    assert_child(answered, asked);

    // A handler's own span continues the trace (with context activation, or when
    // tracing-opentelemetry records the MCP spans too); without, it starts its own.
    let call = one(&spans, "tools/call work", SpanKind::Server);
    let own = spans.iter().find(|s| s.name == "own work").unwrap();
    match bridge {
        Bridge::Lean | Bridge::Generic => assert_child(own, call),
        Bridge::LeanInactive => assert_ne!(own.parent_span_id, call.span_context.span_id()),
    }

    // A JSON-RPC error: its code, and the message as the status.
    let failed = one(&spans, "prompts/get nope", SpanKind::Server);
    let code = attr_str(failed, "error.type").unwrap();
    assert!(code.starts_with("-326"), "{code}");
    assert_eq!(attr_str(failed, "rpc.response.status_code"), Some(code));
    assert!(
        matches!(&failed.status, Status::Error { description } if description.contains("nope"))
    );

    // Methods without a target are named by the method alone; notifications get spans too.
    one(&spans, "tools/list", SpanKind::Server);
    one(&spans, "initialize", SpanKind::Server);
    let initialized = one(&spans, "notifications/initialized", SpanKind::Server);
    assert_eq!(
        attr_str(initialized, "mcp.method.name").as_deref(),
        Some("notifications/initialized")
    );
    assert!(attr(initialized, "jsonrpc.request.id").is_none());
    one(&spans, "notifications/initialized", SpanKind::Client);
}

#[tokio::test]
async fn modern_requests_carry_their_own_version_and_the_trace_context() {
    for bridge in [Bridge::Lean, Bridge::Generic] {
        modern_trace(bridge).await;
    }
}

async fn modern_trace(bridge: Bridge) {
    let spans = traced(bridge, async {
        let client = TestClient::builder(router())
            .era(modern())
            .connect()
            .await
            .unwrap();
        client
            .call_tool("echo", ())
            .instrument(tracing::info_span!("agent"))
            .await
            .unwrap();
    })
    .await;
    let agent = spans.iter().find(|s| s.name == "agent").unwrap();
    let client = one(&spans, "tools/call echo", SpanKind::Client);
    let server = one(&spans, "tools/call echo", SpanKind::Server);
    assert_child(client, agent);
    assert_child(server, client);
    let version = attr_str(server, "mcp.protocol.version").unwrap();
    assert!(version.starts_with("2026"), "{version}");
    assert_eq!(attr_str(client, "mcp.protocol.version"), Some(version));
}

#[tokio::test]
async fn a_traceparent_from_elsewhere_is_the_parent_and_bad_ones_are_ignored() {
    for bridge in [Bridge::Lean, Bridge::Generic] {
        remote_parent(bridge).await;
    }
}

async fn remote_parent(bridge: Bridge) {
    let spans = traced(bridge, async {
        let mut raw = Raw::start(router());
        raw.initialize("2025-11-25").await;
        let call = |id: i64, traceparent: &str| {
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                "name": "echo",
                "_meta": {"traceparent": traceparent, "tracestate": "rojo=00f067aa0ba902b7"}
            }})
        };
        let answer = raw
            .call(call(
                1,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ))
            .await;
        assert_eq!(answer["result"]["content"][0]["text"], "echoed");
        let answer = raw.call(call(2, "00-not-a-trace-01")).await;
        assert_eq!(answer["result"]["content"][0]["text"], "echoed");
        raw.finish().await;
    })
    .await;
    let servers = find(&spans, "tools/call echo", SpanKind::Server);
    assert_eq!(servers.len(), 2);
    let remote = servers
        .iter()
        .find(|s| s.parent_span_id != SpanId::INVALID)
        .expect("one span has the remote parent");
    assert_eq!(
        remote.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(remote.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(
        remote.span_context.trace_state().get("rojo"),
        Some("00f067aa0ba902b7")
    );
    let fresh = servers
        .iter()
        .filter(|s| s.span_context.trace_id() != remote.span_context.trace_id())
        .count();
    assert_eq!(
        fresh, 1,
        "the malformed traceparent starts a trace of its own"
    );
}

/// Notes the fields given a value when a span is made (`new`) and those recorded later
/// (`record`): each later record costs every layer of the subscriber a span lookup.
#[derive(Clone, Default)]
struct Recording(std::sync::Arc<std::sync::Mutex<Vec<(&'static str, String)>>>);

/// The names of the fields a visitor is shown, tagged with `when`.
struct Names<'a>(&'static str, &'a mut Vec<(&'static str, String)>);

impl tracing::field::Visit for Names<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, _: &dyn std::fmt::Debug) {
        self.1.push((self.0, field.name().into()));
    }
}

impl<S> tracing_subscriber::Layer<S> for Recording
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        attrs.record(&mut Names("new", &mut self.0.lock().unwrap()));
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        values.record(&mut Names("record", &mut self.0.lock().unwrap()));
    }
}

#[tokio::test]
async fn a_tool_call_span_is_made_with_its_target_and_not_recorded_into_afterwards() {
    let recording = Recording::default();
    let subscriber = tracing_subscriber::registry().with(recording.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    let client = TestClient::builder(router())
        .era(modern())
        .connect()
        .await
        .unwrap();
    recording.0.lock().unwrap().clear();
    client.call_tool("echo", ()).await.unwrap();
    drop(guard);
    let fields = recording.0.lock().unwrap().clone();
    for name in ["gen_ai.tool.name", "gen_ai.operation.name"] {
        // Once on each side: the client's span and the server's.
        let made = fields
            .iter()
            .filter(|(when, field)| *when == "new" && field == name)
            .count();
        assert_eq!(made, 2, "{name} given when the spans are made: {fields:?}");
    }
    let later: Vec<_> = fields
        .iter()
        .filter(|(when, _)| *when == "record")
        .collect();
    assert!(
        later.is_empty(),
        "a successful call records nothing after its spans are made: {later:?}"
    );
}
