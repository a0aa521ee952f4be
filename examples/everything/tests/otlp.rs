//! `everything --http ADDR --metrics --otlp URL`: the server's MCP spans reach a real
//! OTLP/HTTP receiver (this test's, decoding with the official OpenTelemetry protobuf
//! definitions) as children of the client's span, across the process boundary, and
//! `/metrics` counts the call.

use std::process::Stdio;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind as ProtoKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use oxmcp::client::Client;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const BIN: &str = env!("CARGO_BIN_EXE_everything");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain `GET`: the status code and the body, or `None` if nothing listens yet.
async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            other => Some(format!("{other:?}")),
        })
}

#[tokio::test]
async fn the_servers_spans_reach_an_otlp_receiver_as_children_of_the_clients() {
    // The OTLP/HTTP receiver.
    let (received, mut spans) = tokio::sync::mpsc::unbounded_channel::<Span>();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export");
                for span in request
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans)
                {
                    let _ = received.send(span);
                }
                ""
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = tokio::process::Command::new(BIN)
        .args([
            "--http",
            &addr,
            "--metrics",
            "--otlp",
            &format!("http://{receiver}"),
        ])
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&addr, "/healthz").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the server never answered /healthz"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The client's own spans, in memory.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    let client = Client::builder()
        .connect_http(format!("http://{addr}/mcp"))
        .await
        .unwrap();
    client
        .call_tool("test_simple_text", ())
        .instrument(tracing::info_span!("agent"))
        .await
        .unwrap();
    drop(guard);
    let ours = exporter.get_finished_spans().unwrap();
    let call = ours
        .iter()
        .find(|s| s.name == "tools/call test_simple_text" && s.span_kind == SpanKind::Client)
        .expect("the client's span");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let theirs = loop {
        let span = tokio::time::timeout_at(deadline, spans.recv())
            .await
            .expect("the server's span within 15 s")
            .unwrap();
        if span.name == "tools/call test_simple_text" {
            break span;
        }
    };
    assert_eq!(theirs.kind, ProtoKind::Server as i32);
    assert_eq!(
        theirs.trace_id,
        call.span_context.trace_id().to_bytes().to_vec(),
        "one trace across the processes"
    );
    assert_eq!(
        theirs.parent_span_id,
        call.span_context.span_id().to_bytes().to_vec(),
        "the server's span is a child of the client's"
    );
    assert_eq!(
        attr(&theirs, "mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(
        attr(&theirs, "gen_ai.tool.name").as_deref(),
        Some("test_simple_text")
    );
    assert_eq!(attr(&theirs, "network.transport").as_deref(), Some("tcp"));

    let (status, text) = get(&addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        text.lines().any(
            |l| l.starts_with("mcp_server_operation_duration_seconds_count{")
                && l.contains("gen_ai_tool_name=\"test_simple_text\"")
                && l.ends_with(" 1")
        ),
        "{text}"
    );
    assert_eq!(get(&addr, "/readyz").await.unwrap().0, 200);
    server.kill().await.unwrap();
}
