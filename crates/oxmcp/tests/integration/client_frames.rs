//! `ClientBuilder::on_frame`: every frame the client sends and receives, on newline
//! pipes and on Streamable HTTP, in both eras, including the probe and the handshake.

use std::sync::{Arc, Mutex};

use oxmcp::client::{Client, ClientBuilder, EraChoice, FrameDirection};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;
use serde_json::{json, Value};

use crate::support::{legacy, modern};

async fn hello() -> &'static str {
    "hello"
}

fn router() -> Router {
    Router::new().tool("hello", hello)
}

type Seen = Arc<Mutex<Vec<(FrameDirection, Value)>>>;

fn tapped(era: EraChoice) -> (ClientBuilder, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let builder = Client::builder()
        .era(era)
        .on_frame(move |direction, frame| {
            let frame = serde_json::from_str(frame).expect("a frame is JSON");
            sink.lock().unwrap().push((direction, frame));
        });
    (builder, seen)
}

/// A tapped client of `router()` over an in-memory pipe.
async fn on_a_pipe(era: EraChoice) -> (Client, Seen) {
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_end);
    tokio::spawn(router().serve_io(server_read, server_write));
    let (client_read, client_write) = tokio::io::split(client_end);
    let (builder, seen) = tapped(era);
    let client = builder.connect_io(client_read, client_write).await.unwrap();
    (client, seen)
}

/// The client's frames include the handshake, the call and its answer, each way once.
async fn check(client: Client, seen: Seen, handshake: &str) {
    let out = client.call_tool("hello", json!({})).await.unwrap();
    assert_eq!(
        serde_json::to_value(&out.content).unwrap()[0]["text"],
        "hello"
    );
    let seen = seen.lock().unwrap().clone();
    let sent = |method: &str| {
        seen.iter()
            .filter(|(d, f)| *d == FrameDirection::Sent && f["method"] == method)
            .map(|(_, f)| f["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(sent(handshake).len(), 1, "{seen:?}");
    let calls = sent("tools/call");
    assert_eq!(calls.len(), 1, "{seen:?}");
    let answers: Vec<_> = seen
        .iter()
        .filter(|(d, f)| *d == FrameDirection::Received && f["id"] == calls[0])
        .collect();
    assert_eq!(answers.len(), 1, "{seen:?}");
    assert_eq!(answers[0].1["result"]["content"][0]["text"], "hello");
    client.close().await.unwrap();
}

#[tokio::test]
async fn on_frame_sees_both_directions_on_a_pipe_in_both_eras() {
    for (era, handshake) in [(legacy(), "initialize"), (modern(), "server/discover")] {
        let (client, seen) = on_a_pipe(era).await;
        check(client, seen, handshake).await;
    }
}

#[tokio::test]
async fn on_frame_sees_both_directions_over_streamable_http_in_both_eras() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest_service(
        "/mcp",
        router().into_http_service(HttpConfig::new().disable_host_check()),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    for (era, handshake) in [(legacy(), "initialize"), (modern(), "server/discover")] {
        let (builder, seen) = tapped(era);
        let client = builder
            .connect_http(format!("http://{addr}/mcp"))
            .await
            .unwrap();
        check(client, seen, handshake).await;
    }
}

/// The `_meta` the client adds joins a `_meta` of the caller's own, in both eras: a modern
/// request carries the era's members (and the log level once set) and the caller's; a
/// legacy one only the caller's. A progress token goes in beside them.
#[tokio::test]
async fn request_meta_joins_the_callers_own_in_both_eras() {
    use oxmcp::client::CallOptions;
    use oxmcp::protocol::logging::LoggingLevel;
    const VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    for (era, modern_era) in [(legacy(), false), (modern(), true)] {
        let (client, seen) = on_a_pipe(era).await;
        let params = json!({
            "name": "hello",
            "arguments": {},
            "_meta": {"example.com/trace": "t1"}
        });
        let params = params.as_object().unwrap().clone();
        let _: Value = client
            .request("tools/call", params, CallOptions::default())
            .await
            .unwrap();
        if modern_era {
            client.set_log_level(LoggingLevel::Debug).await.unwrap();
        }
        client
            .call_tool_with("hello", json!({}), CallOptions::new().on_progress(|_| {}))
            .await
            .unwrap();
        let calls: Vec<Value> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, f)| *d == FrameDirection::Sent && f["method"] == "tools/call")
            .map(|(_, f)| f["params"].clone())
            .collect();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0]["_meta"]["example.com/trace"], "t1", "{calls:?}");
        assert_eq!(calls[0]["name"], "hello");
        assert!(
            calls[1]["_meta"]["progressToken"].is_number()
                || calls[1]["_meta"]["progressToken"].is_string(),
            "{calls:?}"
        );
        assert_eq!(calls[1]["arguments"], json!({}));
        if modern_era {
            for call in &calls {
                assert_eq!(call["_meta"][VERSION], "2026-07-28", "{call}");
                assert!(call["_meta"]["io.modelcontextprotocol/clientInfo"]["name"].is_string());
            }
            assert_eq!(
                calls[1]["_meta"]["io.modelcontextprotocol/logLevel"],
                "debug"
            );
        } else {
            assert!(calls[0]["_meta"].get(VERSION).is_none(), "{calls:?}");
            assert_eq!(calls[1]["_meta"].as_object().unwrap().len(), 1, "{calls:?}");
        }
        client.close().await.unwrap();
    }
}
