//! The HTTP client against oxmcp's own HTTP server, both eras, every message schema-checked.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::StreamExt;
use oxmcp::client::{CallOptions, Client, EraChoice};
use oxmcp::protocol::{
    ElicitRequestParams, ElicitResult, ProtocolVersion, ServerNotification, SubscriptionFilter,
};
use oxmcp::server::ask::Elicitation;
use oxmcp::server::http::{HttpConfig, McpService};
use oxmcp::server::{Args, Context, Router, ServerHandle, ToolError};
use oxmcp::testing::Direction;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::support::SchemaTap;

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Guests {
    /// How many guests.
    guests: u32,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

async fn progress(ctx: Context) -> &'static str {
    ctx.progress(oxmcp::Progress::new(1.0).total(2.0)).await;
    "progressed"
}

async fn ask(ctx: Context) -> Result<String, ToolError> {
    match ctx.elicit::<Guests>("How many guests?").await? {
        Elicitation::Accept(g) => Ok(format!("{} guests", g.guests)),
        other => Ok(format!("no answer: {:?}", other.action())),
    }
}

async fn reconnect(ctx: Context) -> &'static str {
    ctx.close_stream();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    "resumed"
}

struct Proxy {
    service: McpService,
    tap: Arc<SchemaTap>,
}

/// Serves the router through a proxy that shows every message to a schema tap.
async fn serve(router: Router) -> (String, Arc<SchemaTap>, ServerHandle) {
    let handle = router.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = router.into_http_service(
        HttpConfig::new()
            .sse_retry(std::time::Duration::from_millis(100))
            .disable_host_check(),
    );
    let tap = SchemaTap::new();
    let proxy = Arc::new(Proxy {
        service,
        tap: tap.clone(),
    });
    let app = axum::Router::new()
        .route("/mcp", axum::routing::any(forward))
        .with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/mcp"), tap, handle)
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    if !bytes.is_empty() {
        proxy.tap.see(
            Direction::ClientToServer,
            std::str::from_utf8(&bytes).unwrap(),
        );
    }
    let response = proxy
        .service
        .handle(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let sse = parts
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let tap = proxy.tap.clone();
    if sse {
        let stream = body.into_data_stream().map(move |chunk| {
            if let Ok(chunk) = &chunk {
                for line in String::from_utf8_lossy(chunk).lines() {
                    if let Some(data) = line.strip_prefix("data: ") {
                        if !data.trim().is_empty() {
                            tap.see(Direction::ServerToClient, data);
                        }
                    }
                }
            }
            chunk
        });
        Response::from_parts(parts, Body::from_stream(stream))
    } else {
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        if parts.status.is_success() && !bytes.is_empty() {
            tap.see(
                Direction::ServerToClient,
                std::str::from_utf8(&bytes).unwrap(),
            );
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

fn router() -> Router {
    Router::new()
        .name("http-e2e")
        .tool("echo", echo)
        .tool("progress", progress)
        .tool("ask", ask)
        .tool("reconnect", reconnect)
}

async fn exercise(era: EraChoice, expect: &str) {
    let (url, tap, handle) = serve(router()).await;
    let (changes, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::builder()
        .era(era)
        .on_notification(move |n| {
            let _ = changes.send(n);
        })
        .on_elicitation(|request| async move {
            assert!(matches!(request, ElicitRequestParams::Form(_)));
            let mut answers = serde_json::Map::new();
            answers.insert("guests".into(), json!(4));
            Ok(ElicitResult::accept(answers))
        })
        .connect_http(url)
        .await
        .unwrap();
    assert_eq!(client.protocol_version().as_str(), expect);
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 4);
    let text = |r: &oxmcp::protocol::CallToolResult| {
        serde_json::to_value(&r.content).unwrap()[0]["text"].clone()
    };
    let out = client
        .call_tool("echo", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(text(&out), "hi");
    let seen = Arc::new(std::sync::Mutex::new(0));
    let s = seen.clone();
    let out = client
        .call_tool_with(
            "progress",
            json!({}),
            CallOptions::new().on_progress(move |_| *s.lock().unwrap() += 1),
        )
        .await
        .unwrap();
    assert_eq!(text(&out), "progressed");
    assert_eq!(*seen.lock().unwrap(), 1);
    let out = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(text(&out), "4 guests");
    if expect != "2026-07-28" {
        let out = client.call_tool("reconnect", json!({})).await.unwrap();
        assert_eq!(text(&out), "resumed");
    }
    // List changes: on the standalone GET stream (legacy), on a listen stream (modern).
    let wait = std::time::Duration::from_secs(5);
    if expect == "2026-07-28" {
        let mut sub = client
            .listen(SubscriptionFilter::new().with_tools_list_changed(true))
            .await
            .unwrap();
        handle.add_tool("late", echo).unwrap();
        let n = tokio::time::timeout(wait, sub.next()).await.unwrap();
        assert!(
            matches!(n, Some(Ok(ServerNotification::ToolListChanged(_)))),
            "{n:?}"
        );
        sub.close().await;
    } else {
        // The standalone stream opens in the background: change until it is heard.
        let heard = tokio::time::timeout(wait, async {
            let mut i = 0;
            loop {
                i += 1;
                handle.add_tool(&format!("late{i}"), echo).unwrap();
                let tick = std::time::Duration::from_millis(100);
                if let Ok(Some(n)) = tokio::time::timeout(tick, changed.recv()).await {
                    break n;
                }
            }
        })
        .await
        .unwrap();
        assert!(
            matches!(heard, ServerNotification::ToolListChanged(_)),
            "{heard:?}"
        );
    }
    client.ping().await.unwrap();
    client.close().await.unwrap();
    tap.assert_clean();
}

#[tokio::test]
async fn modern_era_end_to_end() {
    exercise(EraChoice::Auto, "2026-07-28").await;
}

#[tokio::test]
async fn legacy_era_end_to_end() {
    exercise(
        EraChoice::Legacy(ProtocolVersion::V2025_11_25),
        "2025-11-25",
    )
    .await;
}
