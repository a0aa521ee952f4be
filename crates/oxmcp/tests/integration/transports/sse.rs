//! The HTTP+SSE transport of 2024-11-05: `GET /sse`, `POST /messages?session_id=…`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::http::HttpConfig;
use oxmcp::server::{Args, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{eventually, start, Server};
use crate::http_server::wire::{Client, Resp};

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

/// Sets its flag when dropped: whether a handler's future was dropped (cancelled).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub(super) fn router(cancelled: Arc<AtomicBool>) -> Router {
    Router::new()
        .name("sse-test")
        .tool("echo", echo)
        .tool("ask", crate::http_server::ask)
        .tool("forever", move || {
            let cancelled = cancelled.clone();
            async move {
                let _flag = SetOnDrop(cancelled);
                std::future::pending::<()>().await;
                "never"
            }
        })
}

fn client(server: &Server) -> Client {
    server.client()
}

/// Repeats `request` (up to 1 s) until it is answered with `status`; the last status.
async fn until_status<F: std::future::Future<Output = u16>>(
    status: u16,
    mut request: impl FnMut() -> F,
) -> u16 {
    let mut last = 0;
    for _ in 0..100 {
        last = request().await;
        if last == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    last
}

/// Opens a session: the stream, and the URL its `endpoint` event names.
pub(super) async fn open(client: &Client) -> (Resp, String) {
    let mut stream = client
        .send_to("GET", "/sse", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(stream.status, 200);
    assert!(stream.content_type().starts_with("text/event-stream"));
    let endpoint = stream.next_event().await.expect("the endpoint event");
    assert_eq!(endpoint.event.as_deref(), Some("endpoint"));
    let id = endpoint
        .data
        .strip_prefix("/messages?session_id=")
        .unwrap_or_else(|| panic!("a messages URL: {:?}", endpoint.data));
    assert_eq!(id.len(), 32, "a 128-bit session id: {id:?}");
    (stream, endpoint.data)
}

/// The next `message` event (schema-checked), skipping keep-alive comments.
async fn message(client: &Client, stream: &mut Resp) -> Value {
    loop {
        let event = stream.next_event().await.expect("a message event");
        if event.data.is_empty() {
            continue;
        }
        assert_eq!(event.event.as_deref(), Some("message"));
        client
            .tap
            .see(oxmcp::testing::Direction::ServerToClient, &event.data);
        return serde_json::from_str(&event.data).unwrap();
    }
}

async fn post(client: &Client, url: &str, message: &Value) -> u16 {
    let body = message.to_string();
    client
        .tap
        .see(oxmcp::testing::Direction::ClientToServer, &body);
    client.send_to("POST", url, &[], Some(&body)).await.status
}

async fn handshake(client: &Client, url: &str, stream: &mut Resp) {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "sse-test", "version": "1"}}});
    assert_eq!(post(client, url, &init).await, 202);
    let reply = message(client, stream).await;
    assert_eq!(reply["id"], 0);
    assert_eq!(reply["result"]["protocolVersion"], "2024-11-05");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(client, url, &initialized).await, 202);
}

#[tokio::test]
async fn a_session_answers_on_its_stream_beside_streamable_http() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let client = client(&server);
    let (mut stream, url) = open(&client).await;
    handshake(&client, &url, &mut stream).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "over SSE"}}});
    assert_eq!(post(&client, &url, &call).await, 202);
    let reply = message(&client, &mut stream).await;
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"]["content"][0]["text"], "over SSE");

    // The same listener and router still serve Streamable HTTP at /mcp.
    let mut mcp = server.client();
    mcp.initialize(json!({})).await;
    client.tap.assert_clean();
    drop(stream);
    server.shutdown().await;
}

#[tokio::test]
async fn closing_the_stream_ends_the_session_and_cancels_its_requests() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let server = start(router(cancelled.clone()), HttpConfig::new()).await;
    let client = client(&server);
    let (mut stream, url) = open(&client).await;
    handshake(&client, &url, &mut stream).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "forever", "arguments": {}}});
    assert_eq!(post(&client, &url, &call).await, 202);
    // Let the handler start, then hang up.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!cancelled.load(Ordering::SeqCst));
    drop(stream);
    eventually("the handler was cancelled", || {
        cancelled.load(Ordering::SeqCst)
    })
    .await;
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let status = until_status(404, || post(&client, &url, &ping)).await;
    assert_eq!(status, 404, "a closed session's URL is gone");
    server.shutdown().await;
}

#[tokio::test]
async fn quiet_streams_get_keep_alive_comments() {
    let config = HttpConfig::new().sse_keep_alive(Duration::from_millis(50));
    let server = start(router(Arc::default()), config).await;
    let client = client(&server);
    let (mut stream, _) = open(&client).await;
    let line = tokio::time::timeout(Duration::from_secs(5), stream.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(line.starts_with(':'), "a comment: {line:?}");
}

#[tokio::test]
async fn bad_requests_get_statuses_that_say_why() {
    let config = HttpConfig::new().body_limit(1024);
    let server = start(router(Arc::default()), config).await;
    let client = client(&server);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let unknown = "/messages?session_id=0123456789abcdef0123456789abcdef";

    let resp = client.send_to("POST", unknown, &[], Some(&ping)).await;
    assert_eq!(resp.status, 404);
    assert!(resp.text().await.contains("unknown or closed"));
    let resp = client
        .send_to("POST", "/messages?session_id=nope", &[], Some(&ping))
        .await;
    assert_eq!(resp.status, 404);
    let resp = client.send_to("POST", "/messages", &[], Some(&ping)).await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().await.contains("missing session_id"));

    let (_stream, url) = open(&client).await;
    // A second GET naming the session does not attach to it.
    let resp = client
        .send_to("GET", &url, &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().await.contains("takes no session_id"));
    let resp = client
        .send_to("GET", "/sse", &[("accept", "application/json")], None)
        .await;
    assert_eq!(resp.status, 406);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(2048));
    let resp = client.send_to("POST", &url, &[], Some(&big)).await;
    assert_eq!(resp.status, 413);
    let resp = client
        .send_to("POST", &url, &[("content-type", "text/plain")], Some(&ping))
        .await;
    assert_eq!(resp.status, 415);
    let resp = client
        .send_to("GET", "/sse", &[("host", "evil.example")], None)
        .await;
    assert_eq!(resp.status, 403);
    let resp = client.send_to("DELETE", &url, &[], None).await;
    assert_eq!(resp.status, 405);
}

#[tokio::test]
async fn invalid_json_is_answered_on_the_stream() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let client = client(&server);
    let (mut stream, url) = open(&client).await;
    let resp = client.send_to("POST", &url, &[], Some("{not json")).await;
    assert_eq!(resp.status, 202);
    let reply = message(&client, &mut stream).await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
}

#[tokio::test]
async fn sessions_are_capped_per_address() {
    let config = HttpConfig::new().max_sessions_per_peer(1);
    let server = start(router(Arc::default()), config).await;
    let client = client(&server);
    let (first, _) = open(&client).await;
    let resp = client
        .send_to("GET", "/sse", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(resp.status, 503);
    assert!(resp
        .text()
        .await
        .contains("too many sessions from this address"));
    drop(first);
    // Once the first stream is gone, its place is free.
    let reopened = until_status(200, || async {
        client
            .send_to("GET", "/sse", &[("accept", "text/event-stream")], None)
            .await
            .status
    })
    .await;
    assert_eq!(reopened, 200);
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let client = client(&server);
    let (mut stream, url) = open(&client).await;
    handshake(&client, &url, &mut stream).await;
    let stopping = tokio::spawn(server.shutdown());
    loop {
        match stream.next_event().await {
            None => break,
            Some(event) => assert!(event.data.is_empty(), "only keep-alives: {event:?}"),
        }
    }
    stopping.await.unwrap();
}
