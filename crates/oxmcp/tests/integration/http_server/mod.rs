//! The Streamable HTTP server over real TCP, driven by a minimal raw HTTP/1.1 client so the
//! wire itself is what is tested: both eras, SSE, sessions, validation, limits, resumption.

mod hostile;
mod limits;
mod replies;
mod routes;
#[cfg(unix)]
mod signal;
pub(crate) mod wire;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::ask::Elicitation;
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{tool, Args, Context, Router, ServerHandle, ToolError};
use oxmcp::testing::Direction;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{modern_meta, SchemaTap};
use wire::{call, text_of, Client};

// ---------------------------------------------------------------- the server under test

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(200)).await;
    "slept"
}

async fn progress(ctx: Context) -> &'static str {
    ctx.progress(oxmcp::Progress::new(1.0).total(2.0).message("halfway"))
        .await;
    ctx.progress(oxmcp::Progress::new(2.0).total(2.0)).await;
    "progressed"
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Guests {
    /// How many guests.
    guests: u32,
}

pub(crate) async fn ask(ctx: Context) -> Result<String, ToolError> {
    match ctx.elicit::<Guests>("How many guests?").await? {
        Elicitation::Accept(g) => Ok(format!("{} guests", g.guests)),
        other => Ok(format!("no answer: {:?}", other.action())),
    }
}

/// Reports progress, then takes a while: a reply in flight on an SSE stream.
async fn dawdle(ctx: Context) -> &'static str {
    ctx.progress(oxmcp::Progress::new(1.0).message("started"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    "dawdled"
}

async fn reconnect(ctx: Context) -> &'static str {
    assert!(
        ctx.close_stream(),
        "the HTTP transport supports closing streams"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    "resumed"
}

fn router() -> Router {
    Router::new()
        .name("http-test")
        .tool("echo", echo)
        .tool("slow", slow)
        .tool("progress", progress)
        .tool("ask", ask)
        .tool("reconnect", reconnect)
        .tool("dawdle", dawdle)
        .tool(
            "regional",
            tool(regional).input_schema(
                json!({"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"},
                    "count": {"type": "integer", "x-mcp-header": "Count"}
                }, "required": ["region"]})
                .as_object()
                .unwrap()
                .clone(),
            ),
        )
}

#[derive(Deserialize, JsonSchema)]
struct Regional {
    region: String,
}

async fn regional(Args(args): Args<Regional>) -> String {
    args.region
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<oxmcp::Result<()>>,
}

impl Server {
    async fn start(config: HttpConfig) -> Server {
        Server::start_with(config, |serve| serve).await
    }

    /// Starts a server with connection settings too.
    async fn start_with(
        config: HttpConfig,
        settings: impl FnOnce(oxmcp::server::http::HttpServe) -> oxmcp::server::http::HttpServe,
    ) -> Server {
        Server::start_router(router(), config, settings).await
    }

    /// Serves `router` rather than the tests' usual one.
    pub(crate) async fn start_router(
        router: Router,
        config: HttpConfig,
        settings: impl FnOnce(oxmcp::server::http::HttpServe) -> oxmcp::server::http::HttpServe,
    ) -> Server {
        let handle = router.handle();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serve = settings(router.http_on(listener))
            .config(config)
            .no_signal_handlers()
            .shutdown(async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(serve.into_future());
        Server {
            addr,
            handle,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the server stopped within 5 s")
            .unwrap()
            .unwrap();
    }

    /// A raw client of this server.
    pub(crate) fn client(&self) -> Client {
        Client {
            addr: self.addr,
            tap: SchemaTap::new(),
            session: None,
            version: None,
        }
    }
}

/// A legacy `initialize` (2025-11-25).
fn init_message() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}})
}

// ---------------------------------------------------------------- legacy era

#[tokio::test]
async fn legacy_session_end_to_end() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    let init = client.initialize(json!({})).await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");

    // A plain call answers with JSON.
    let resp = client
        .post(&call(1, "echo", json!({"text": "hi"})), &[])
        .await;
    assert_eq!(resp.status, 200);
    let answer = client.json(resp).await;
    assert_eq!(text_of(&answer), "hi");

    // Progress must go out before the result: the POST turns into an SSE stream.
    let mut message = call(2, "progress", json!({}));
    message["params"]["_meta"] = json!({"progressToken": "p"});
    let mut resp = client.post(&message, &[]).await;
    assert_eq!(resp.status, 200);
    assert!(resp.content_type().starts_with("text/event-stream"));
    let priming = resp.next_event().await.unwrap();
    assert!(priming.id.is_some() && priming.data.is_empty() && priming.retry.is_some());
    let (_, first) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(first["method"], "notifications/progress");
    assert_eq!(first["params"]["message"], "halfway");
    let (_, second) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(second["method"], "notifications/progress");
    let (_, result) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(result["id"], 2);
    assert_eq!(text_of(&result), "progressed");
    assert!(
        client.sse_message(&mut resp).await.is_none(),
        "the stream ends"
    );

    // The standalone stream gets list_changed.
    let mut stream = client
        .send("GET", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(stream.status, 200);
    assert!(stream.content_type().starts_with("text/event-stream"));
    let priming = stream.next_event().await.unwrap();
    assert!(priming.id.is_some() && priming.data.is_empty());
    server.handle.add_tool("late", echo).unwrap();
    let (id, changed) = client.sse_message(&mut stream).await.unwrap();
    assert!(id.is_some(), "events carry ids");
    assert_eq!(changed["method"], "notifications/tools/list_changed");

    // A batch of notifications only, or a response: 202.
    let resp = client
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}), &[])
        .await;
    assert_eq!(resp.status, 202);

    // A request without the session header: 400; with an unknown one: 404.
    let resp = client
        .post(
            &call(3, "echo", json!({"text": "x"})),
            &[("mcp-session-id", "")],
        )
        .await;
    assert_eq!(resp.status, 400);
    let resp = client
        .post(
            &call(3, "echo", json!({"text": "x"})),
            &[("mcp-session-id", "nope")],
        )
        .await;
    assert_eq!(resp.status, 404);

    let resp = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
            &[],
        )
        .await;
    assert_eq!(resp.status, 200);
    let list = client.json(resp).await;
    assert!(list["result"]["tools"].as_array().unwrap().len() >= 6);

    // DELETE ends the session, and its streams.
    let resp = client.send("DELETE", &[], None).await;
    assert!(resp.status == 204 || resp.status == 200, "{}", resp.status);
    assert!(
        client.sse_message(&mut stream).await.is_none(),
        "the GET stream closed"
    );
    let resp = client
        .post(&call(5, "echo", json!({"text": "x"})), &[])
        .await;
    assert_eq!(resp.status, 404);

    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_initialize_creates_no_session() {
    let server = Server::start(HttpConfig::new().max_sessions(1)).await;
    let client = server.client();
    let resp = client
        .send(
            "POST",
            &[],
            Some(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":"bad"}}"#,
            ),
        )
        .await;
    assert_eq!(resp.status, 400);
    assert!(resp.header("mcp-session-id").is_none());
    // The one session allowed is still free.
    let mut client = server.client();
    client.initialize(json!({})).await;
    // Busy (a stream open), it cannot make room for another.
    let _stream = client
        .send("GET", &[("accept", "text/event-stream")], None)
        .await;
    let resp = server
        .client()
        .post(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "x", "version": "1"}}}),
            &[],
        )
        .await;
    assert_eq!(resp.status, 503, "the session cap");
    server.shutdown().await;
}

#[tokio::test]
async fn legacy_elicitation_over_the_post_stream() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({"elicitation": {}})).await;
    let mut resp = client.post(&call(7, "ask", json!({})), &[]).await;
    assert!(resp.content_type().starts_with("text/event-stream"));
    let (_, question) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(question["method"], "elicitation/create");
    let answer = json!({"jsonrpc": "2.0", "id": question["id"].clone(),
        "result": {"action": "accept", "content": {"guests": 3}}});
    let posted = client.post(&answer, &[]).await;
    assert_eq!(posted.status, 202);
    let (_, result) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(result["id"], 7);
    assert_eq!(text_of(&result), "3 guests");
    client.tap.assert_clean();
    server.shutdown().await;
}

/// A client that takes only JSON cannot be asked anything on its POST: the question fails
/// at once, and the handler's error comes back as the result, instead of a call that hangs.
#[tokio::test]
async fn a_json_only_client_is_not_left_waiting_for_a_question() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({"elicitation": {}})).await;
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        client.post(
            &call(8, "ask", json!({})),
            &[("accept", "application/json")],
        ),
    )
    .await
    .expect("the call is answered, not left waiting");
    assert_eq!(resp.status, 200);
    let answer = client.json(resp).await;
    assert_eq!(answer["id"], 8);
    let failed = answer["result"]["isError"] == true || answer.get("error").is_some();
    assert!(failed, "the question fails: {answer}");
    let text = answer.to_string();
    assert!(
        text.contains("text/event-stream"),
        "the error says why: {text}"
    );
    // The session is still usable.
    let resp = client
        .post(&call(9, "echo", json!({"text": "still here"})), &[])
        .await;
    assert_eq!(text_of(&client.json(resp).await), "still here");
    server.shutdown().await;
}

#[tokio::test]
async fn a_closed_stream_is_resumed_with_last_event_id() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let mut resp = client.post(&call(9, "reconnect", json!({})), &[]).await;
    assert!(resp.content_type().starts_with("text/event-stream"));
    let priming = resp.next_event().await.unwrap();
    assert!(priming.retry.is_some());
    let last = priming.id.expect("the priming event has an id");
    assert!(
        client.sse_message(&mut resp).await.is_none(),
        "the server closed the stream before the result"
    );
    let mut resumed = client.resume(&last).await;
    assert_eq!(resumed.status, 200);
    let (_, result) = client.sse_message(&mut resumed).await.unwrap();
    assert_eq!(result["id"], 9);
    assert_eq!(text_of(&result), "resumed");
    assert!(client.sse_message(&mut resumed).await.is_none());

    // An unknown event id, or one of another session, is refused.
    let resp = client.resume("x#1").await;
    assert_eq!(resp.status, 404);
    let mut other = server.client();
    other.initialize(json!({})).await;
    let resp = other.resume(&last).await;
    assert_eq!(resp.status, 404);
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_posts_in_one_session_and_across_eras() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let client = Arc::new(client);
    let modern = Arc::new(server.client());
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client.post(&call(100 + i, "slow", json!({})), &[]).await;
            let answer = client.json(resp).await;
            assert_eq!(answer["id"], 100 + i);
            assert_eq!(text_of(&answer), "slept");
        }));
        let modern = modern.clone();
        tasks.push(tokio::spawn(async move {
            let resp = modern
                .post(
                    &modern_call(200 + i, "slow", json!({})),
                    &modern_headers("tools/call", Some("slow")),
                )
                .await;
            assert_eq!(resp.status, 200);
            let answer = modern.json(resp).await;
            assert_eq!(answer["id"], 200 + i);
            assert_eq!(answer["result"]["resultType"], "complete");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the calls ran concurrently: {:?}",
        started.elapsed()
    );
    client.tap.assert_clean();
    modern.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn independent_modern_clients_may_use_the_same_request_id() {
    let server = Server::start(HttpConfig::new()).await;
    let clients: Vec<_> = (0..4).map(|_| Arc::new(server.client())).collect();
    // Every client uses id 7 at the same time: ids are unique per client only.
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let client = client.clone();
            tokio::spawn(async move {
                let resp = client
                    .post(
                        &modern_call(7, "slow", json!({})),
                        &modern_headers("tools/call", Some("slow")),
                    )
                    .await;
                assert_eq!(resp.status, 200);
                let answer = client.json(resp).await;
                assert_eq!(answer["id"], 7);
                assert_eq!(text_of(&answer), "slept");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for client in &clients {
        client.tap.assert_clean();
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------- modern era

fn modern_call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": modern_meta()}})
}

fn modern_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    headers
}

fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an error: {response}"))
}

#[tokio::test]
async fn modern_requests_and_their_validation() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    let headers = modern_headers("tools/call", Some("echo"));

    let resp = client
        .post(&modern_call(1, "echo", json!({"text": "hey"})), &headers)
        .await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("mcp-session-id").is_none(),
        "no session in 2026"
    );
    let answer = client.json(resp).await;
    assert_eq!(text_of(&answer), "hey");
    assert_eq!(answer["result"]["resultType"], "complete");

    // Progress: SSE, notifications before the result, no priming event.
    let mut message = modern_call(2, "progress", json!({}));
    message["params"]["_meta"]["progressToken"] = json!("tok");
    let mut resp = client
        .post(&message, &modern_headers("tools/call", Some("progress")))
        .await;
    assert!(resp.content_type().starts_with("text/event-stream"));
    let first = resp.next_event().await.unwrap();
    assert!(!first.data.is_empty(), "no priming event in 2026");
    let first: Value = serde_json::from_str(&first.data).unwrap();
    client
        .tap
        .see(Direction::ServerToClient, &first.to_string());
    assert_eq!(first["method"], "notifications/progress");
    let (_, _) = client.sse_message(&mut resp).await.unwrap();
    let (_, result) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(text_of(&result), "progressed");

    // Mcp-Method missing or different, Mcp-Name missing or different: 400 -32020.
    for bad in [
        vec![("mcp-protocol-version", "2026-07-28")],
        modern_headers("tools/list", Some("echo")),
        modern_headers("tools/call", None),
        modern_headers("tools/call", Some("other")),
    ] {
        let resp = client
            .post(&modern_call(3, "echo", json!({"text": "x"})), &bad)
            .await;
        assert_eq!(resp.status, 400, "{bad:?}");
        let answer = client.json(resp).await;
        assert_eq!(error_code(&answer), -32020, "{bad:?}");
        assert_eq!(answer["id"], 3, "errors echo the request id");
    }

    // Header version different from _meta: 400 -32020.
    let mut message = modern_call(4, "echo", json!({"text": "x"}));
    message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let resp = client
        .send("POST", &headers, Some(&message.to_string()))
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&client.json(resp).await), -32020);

    // Both agree on an unsupported version: 400 -32022, with the supported list.
    let mut h = headers.clone();
    h[0] = ("mcp-protocol-version", "v999.0.0");
    let resp = client.send("POST", &h, Some(&message.to_string())).await;
    assert_eq!(resp.status, 400);
    let answer = client.json(resp).await;
    assert_eq!(error_code(&answer), -32022);
    assert!(answer["error"]["data"]["supported"].is_array());

    // Missing _meta: 400 -32602.
    let bare = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}}});
    let resp = client.send("POST", &headers, Some(&bare.to_string())).await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&client.json(resp).await), -32602);

    // Unknown and legacy-only methods: 404 -32601.
    for method in ["nope/nothing", "ping", "initialize"] {
        let message = json!({"jsonrpc": "2.0", "id": 6, "method": method, "params": {"_meta": modern_meta()}});
        let resp = client
            .send(
                "POST",
                &modern_headers(method, None),
                Some(&message.to_string()),
            )
            .await;
        assert_eq!(resp.status, 404, "{method}");
        assert_eq!(error_code(&client.json(resp).await), -32601);
    }

    // GET and DELETE have no meaning in 2026.
    for method in ["GET", "DELETE"] {
        let resp = client
            .send(
                method,
                &[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("accept", "text/event-stream"),
                ],
                None,
            )
            .await;
        assert_eq!(resp.status, 405, "{method}");
    }
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn modern_listen_streams_acknowledge_then_notify() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    let listen = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
        "params": {"_meta": modern_meta(), "notifications": {"toolsListChanged": true}}});
    let mut resp = client
        .post(&listen, &modern_headers("subscriptions/listen", None))
        .await;
    assert_eq!(resp.status, 200);
    assert!(resp.content_type().starts_with("text/event-stream"));
    let (_, ack) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    server.handle.add_tool("late", echo).unwrap();
    let (_, changed) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    // Shutting down ends the stream with its result.
    let shutdown = tokio::spawn(server.shutdown());
    let (_, result) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(result["id"], 1);
    shutdown.await.unwrap();
    client.tap.assert_clean();
}

// ---------------------------------------------------------------- limits and guards

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let server = Server::start(HttpConfig::new().body_limit(1024)).await;
    let client = server.client();
    let big = call(1, "echo", json!({"text": "x".repeat(4096)})).to_string();
    let resp = client.send("POST", &[], Some(&big)).await;
    assert_eq!(resp.status, 413);
    server.shutdown().await;
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    let init = init_message().to_string();
    let resp = client
        .send(
            "POST",
            &[
                ("host", "evil.example.com"),
                ("origin", "http://evil.example.com"),
            ],
            Some(&init),
        )
        .await;
    assert_eq!(resp.status, 403);
    let why = resp.text().await;
    assert!(
        why.contains("not allowed") && why.contains("DNS-rebinding"),
        "{why}"
    );

    let resp = client
        .send(
            "POST",
            &[("origin", "http://evil.example.com")],
            Some(&init),
        )
        .await;
    assert_eq!(resp.status, 403);
    assert!(resp.text().await.contains("Origin"));

    let host = format!("localhost:{}", server.addr.port());
    let origin = format!("http://{host}");
    let resp = client
        .send("POST", &[("host", &host), ("origin", &origin)], Some(&init))
        .await;
    assert_eq!(resp.status, 200);
    server.shutdown().await;

    // A configured host is accepted, loopback names no longer are.
    let server = Server::start(HttpConfig::new().allowed_hosts(["mcp.example.com"])).await;
    let client = server.client();
    let resp = client
        .send("POST", &[("host", "mcp.example.com")], Some(&init))
        .await;
    assert_eq!(resp.status, 200);
    let resp = client.send("POST", &[], Some(&init)).await;
    assert_eq!(resp.status, 403);
    server.shutdown().await;
}

#[tokio::test]
async fn encoded_mcp_name_headers_are_decoded() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    // "echo" as the spec's base64 sentinel.
    let headers = modern_headers("tools/call", Some("=?base64?ZWNobw==?="));
    let resp = client
        .post(&modern_call(1, "echo", json!({"text": "b64"})), &headers)
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(text_of(&client.json(resp).await), "b64");
    let headers = modern_headers("tools/call", Some("=?base64?!!!?="));
    let resp = client
        .post(&modern_call(2, "echo", json!({"text": "x"})), &headers)
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&client.json(resp).await), -32020);
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let client = Arc::new(client);
    let caller = client.clone();
    let call = tokio::spawn(async move {
        let resp = caller.post(&call(1, "slow", json!({})), &[]).await;
        caller.json(resp).await
    });
    let modern = server.client();
    let pending = tokio::spawn(async move {
        let resp = modern
            .post(
                &modern_call(2, "slow", json!({})),
                &modern_headers("tools/call", Some("slow")),
            )
            .await;
        modern.json(resp).await
    });
    tokio::time::sleep(Duration::from_millis(80)).await;
    server.shutdown().await;
    assert_eq!(text_of(&call.await.unwrap()), "slept");
    assert_eq!(text_of(&pending.await.unwrap()), "slept");
    client.tap.assert_clean();
}

#[tokio::test]
async fn idle_sessions_are_forgotten() {
    let config = HttpConfig::new().session_idle_timeout(Duration::from_millis(100));
    let server = Server::start(config).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = client
        .post(&call(1, "echo", json!({"text": "x"})), &[])
        .await;
    assert_eq!(resp.status, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let config = HttpConfig::new()
        .cors(true)
        .allowed_origins(["https://app.example.com"]);
    let server = Server::start(config).await;
    let client = server.client();
    let origin = ("origin", "https://app.example.com");
    let resp = client.send("OPTIONS", &[origin], None).await;
    assert_eq!(resp.status, 204);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(resp
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("Mcp-Session-Id")));
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}});
    let resp = client
        .send("POST", &[origin], Some(&init.to_string()))
        .await;
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("Mcp-Session-Id")));
    server.shutdown().await;
}

#[tokio::test]
async fn mirrored_tool_parameters_are_checked() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    let call = |region: &str, count: Option<i64>| {
        let mut arguments = json!({"region": region});
        if let Some(count) = count {
            arguments["count"] = json!(count);
        }
        modern_call(1, "regional", arguments)
    };
    let base = modern_headers("tools/call", Some("regional"));
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut headers = base.clone();
        headers.extend_from_slice(extra);
        headers
    };
    // Plain, base64 (with padding), numbers compared as numbers.
    for (message, headers) in [
        (
            call("us-west1", None),
            with(&[("mcp-param-region", "us-west1")]),
        ),
        (
            call("Hello", None),
            with(&[("Mcp-Param-Region", "=?base64?SGVsbG8=?=")]),
        ),
        (
            call("SGVsbG8=", None),
            with(&[("mcp-param-region", "SGVsbG8=")]),
        ),
        (
            call("x", Some(42)),
            with(&[("mcp-param-region", "x"), ("mcp-param-count", "42.0")]),
        ),
    ] {
        let resp = client.post(&message, &headers).await;
        assert_eq!(resp.status, 200, "{headers:?}");
        assert!(client.json(resp).await.get("error").is_none());
    }
    // Missing, different, badly encoded: 400 -32020.
    for (message, headers) in [
        (call("test-value", None), base.clone()),
        (call("us-west1", None), with(&[("mcp-param-region", "eu")])),
        (
            call("Hello", None),
            with(&[("mcp-param-region", "=?base64?SGVsbG8?=")]),
        ),
        (
            call("Hello", None),
            with(&[("mcp-param-region", "=?base64?SGVs!!!bG8=?=")]),
        ),
    ] {
        let resp = client.post(&message, &headers).await;
        assert_eq!(resp.status, 400, "{headers:?}");
        assert_eq!(error_code(&client.json(resp).await), -32020);
    }
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn quiet_streams_get_keep_alive_comments() {
    let server = Server::start(HttpConfig::new().sse_keep_alive(Duration::from_millis(50))).await;
    let client = server.client();
    let listen = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
        "params": {"_meta": modern_meta(), "notifications": {"toolsListChanged": true}}});
    let mut resp = client
        .post(&listen, &modern_headers("subscriptions/listen", None))
        .await;
    let (_, ack) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    let line = tokio::time::timeout(Duration::from_secs(2), resp.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, ":", "a comment line keeps the stream alive");
    drop(resp);
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn batches_in_a_2025_03_26_session() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    let resp = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-03-26", "capabilities": {},
                "clientInfo": {"name": "batcher", "version": "1"}}}),
            &[],
        )
        .await;
    client.session = Some(resp.header("mcp-session-id").unwrap().to_owned());
    client.version = Some("2025-03-26".into());
    let init = client.json(resp).await;
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
    let batch = json!([
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        call(1, "echo", json!({"text": "one"})),
        call(2, "slow", json!({})),
    ]);
    let resp = client.post(&batch, &[]).await;
    assert_eq!(resp.status, 200);
    let answer = client.json(resp).await;
    let answers = answer.as_array().expect("one array of responses");
    assert_eq!(answers.len(), 2);
    let mut ids: Vec<i64> = answers.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2]);
    client.tap.assert_clean();
    server.shutdown().await;
}

#[tokio::test]
async fn missed_notifications_are_replayed_on_the_standalone_stream() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let accept = ("accept", "text/event-stream");
    let mut stream = client.send("GET", &[accept], None).await;
    let priming = stream.next_event().await.unwrap();
    let last = priming.id.unwrap();
    drop(stream);
    // Sent while no stream is open: kept for the client.
    server.handle.add_tool("late", echo).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut resumed = client
        .send("GET", &[accept, ("last-event-id", &last)], None)
        .await;
    assert_eq!(resumed.status, 200);
    let (id, changed) = client.sse_message(&mut resumed).await.unwrap();
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    // The resumed stream goes on live.
    server.handle.remove_tool("late");
    let (next, again) = client.sse_message(&mut resumed).await.unwrap();
    assert_eq!(again["method"], "notifications/tools/list_changed");
    assert_ne!(id, next);
    drop(resumed);
    client.tap.assert_clean();
    server.shutdown().await;
}
