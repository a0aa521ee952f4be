//! The Streamable HTTP client against fake servers (axum on 127.0.0.1): the exact wire in
//! both eras, sessions, SSE answers, resumption, era detection.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use oxmcp::client::HttpClientConfig;
use oxmcp::client::{CallOptions, Client, EraChoice};
use oxmcp::protocol::ElicitResult;
use oxmcp::testing::Direction;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::support::SchemaTap;

#[cfg(feature = "http-server")]
mod circuit;
mod errors;
mod retry;

/// The `Mcp-Method` header of a request (empty without one).
#[cfg(feature = "http-server")]
fn mcp_method(request: &Request) -> String {
    let header = request.headers().get("mcp-method");
    header
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// One HTTP request the fake server received.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    headers: HeaderMap,
    body: Value,
    at: Instant,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn rpc_method(&self) -> &str {
        self.body["method"].as_str().unwrap_or("")
    }
}

/// What the fake server answers.
enum Reply {
    Json(u16, Value, Option<&'static str>),
    Text(u16, &'static str),
    Accepted,
    /// An SSE stream of these chunks, ending when the sender is dropped.
    Sse(mpsc::UnboundedReceiver<String>, Option<&'static str>),
}

type Script = Box<dyn Fn(&Hit) -> Reply + Send + Sync>;

struct Fake {
    hits: Mutex<Vec<Hit>>,
    tap: Arc<SchemaTap>,
    script: Script,
}

impl Fake {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn posts(&self, rpc_method: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.method == "POST" && h.rpc_method() == rpc_method)
            .collect()
    }
}

async fn start(script: impl Fn(&Hit) -> Reply + Send + Sync + 'static) -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake {
        hits: Mutex::default(),
        tap: SchemaTap::new(),
        script: Box::new(script),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/mcp", axum::routing::any(handle))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, url)
}

async fn handle(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if parts.method == "POST" {
        fake.tap.see(Direction::ClientToServer, &body.to_string());
    }
    let hit = Hit {
        method: parts.method.to_string(),
        headers: parts.headers,
        body,
        at: Instant::now(),
    };
    fake.hits.lock().unwrap().push(hit.clone());
    let with_session = |mut builder: axum::http::response::Builder, session: Option<&str>| {
        if let Some(session) = session {
            builder = builder.header("mcp-session-id", session);
        }
        builder
    };
    match (fake.script)(&hit) {
        Reply::Json(status, value, session) => {
            if status == 200 {
                fake.tap.see(Direction::ServerToClient, &value.to_string());
            }
            with_session(Response::builder().status(status), session)
                .header("content-type", "application/json")
                .body(Body::from(value.to_string()))
                .unwrap()
        }
        Reply::Text(status, text) => Response::builder()
            .status(status)
            .body(Body::from(text))
            .unwrap(),
        Reply::Accepted => Response::builder()
            .status(StatusCode::ACCEPTED)
            .body(Body::empty())
            .unwrap(),
        Reply::Sse(rx, session) => {
            let tap = fake.tap.clone();
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            });
            let stream = futures_util::StreamExt::map(stream, move |chunk: String| {
                for line in chunk.lines() {
                    if let Some(data) = line.strip_prefix("data: ") {
                        if !data.trim().is_empty() {
                            tap.see(Direction::ServerToClient, data);
                        }
                    }
                }
                Ok::<_, Infallible>(chunk)
            });
            with_session(Response::builder().status(200), session)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

fn result(hit: &Hit, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": hit.body["id"], "result": result })
}

fn event(message: &Value) -> String {
    format!("event: message\ndata: {message}\n\n")
}

/// An SSE stream of these chunks that then closes.
fn sse(chunks: Vec<String>, session: Option<&'static str>) -> Reply {
    let (tx, rx) = mpsc::unbounded_channel();
    for chunk in chunks {
        tx.send(chunk).unwrap();
    }
    Reply::Sse(rx, session)
}

fn init_result(hit: &Hit) -> Value {
    result(
        hit,
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {}, "logging": {} },
            "serverInfo": { "name": "fake", "version": "1.0.0" }
        }),
    )
}

fn tools_result(hit: &Hit) -> Value {
    result(
        hit,
        json!({ "tools": [{ "name": "echo", "inputSchema": { "type": "object" } }] }),
    )
}

fn text_result(hit: &Hit, text: &str) -> Value {
    result(
        hit,
        json!({ "content": [{ "type": "text", "text": text }] }),
    )
}

/// A legacy server: sessions `s1`, GET refused (405), DELETE accepted.
fn legacy_script(hit: &Hit) -> Reply {
    match (hit.method.as_str(), hit.rpc_method()) {
        ("POST", "server/discover") => Reply::Text(400, "Bad Request: no session"),
        ("POST", "initialize") => Reply::Json(200, init_result(hit), Some("s1")),
        ("POST", "tools/list") => Reply::Json(200, tools_result(hit), None),
        ("POST", "tools/call") => Reply::Json(200, text_result(hit, "ok"), None),
        ("POST", _) => Reply::Accepted,
        ("DELETE", _) => Reply::Text(200, ""),
        _ => Reply::Text(405, ""),
    }
}

/// A client dropped without `close` still ends its session: the DELETE goes out from a
/// task of its own.
#[tokio::test]
async fn a_dropped_client_still_deletes_its_session() {
    let (fake, url) = start(legacy_script).await;
    let client = Client::builder().connect_http(url).await.unwrap();
    client.list_all_tools().await.unwrap();
    drop(client);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(delete) = fake.hits().iter().find(|h| h.method == "DELETE") {
            assert_eq!(delete.header("mcp-session-id"), Some("s1"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no DELETE after the client was dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn legacy_server_found_by_fallback_session_round_trip_and_delete() {
    let (fake, url) = start(legacy_script).await;
    let client = Client::builder().connect_http(url).await.unwrap();
    assert_eq!(client.protocol_version().as_str(), "2025-11-25");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools[0].name, "echo");
    client.close().await.unwrap();

    let hits = fake.hits();
    let discover = &fake.posts("server/discover")[0];
    assert_eq!(discover.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(discover.header("mcp-method"), Some("server/discover"));
    let init = &fake.posts("initialize")[0];
    assert_eq!(init.header("mcp-session-id"), None);
    assert_eq!(
        init.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(init.header("content-type"), Some("application/json"));
    for later in fake
        .posts("notifications/initialized")
        .iter()
        .chain(&fake.posts("tools/list"))
    {
        assert_eq!(later.header("mcp-session-id"), Some("s1"));
        assert_eq!(later.header("mcp-protocol-version"), Some("2025-11-25"));
    }
    let delete = hits.iter().find(|h| h.method == "DELETE").expect("DELETE");
    assert_eq!(delete.header("mcp-session-id"), Some("s1"));
    // The standalone stream was tried (and its 405 was not fatal).
    let get = hits.iter().find(|h| h.method == "GET").expect("GET");
    assert_eq!(get.header("accept"), Some("text/event-stream"));
    assert_eq!(get.header("mcp-session-id"), Some("s1"));
    fake.tap.assert_clean();
}

#[tokio::test]
async fn legacy_only_choice_skips_discover() {
    let (fake, url) = start(legacy_script).await;
    let client = Client::builder()
        .era(EraChoice::Legacy(
            oxmcp::protocol::ProtocolVersion::V2025_11_25,
        ))
        .connect_http(url)
        .await
        .unwrap();
    client.close().await.unwrap();
    assert!(fake.posts("server/discover").is_empty());
    assert_eq!(fake.posts("initialize").len(), 1);
    fake.tap.assert_clean();
}

#[tokio::test]
async fn modern_server_headers_and_sse_answer() {
    let (fake, url) = start(|hit| match hit.rpc_method() {
        "server/discover" => Reply::Json(
            200,
            result(
                hit,
                json!({
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "ttlMs": 0,
                    "cacheScope": "public",
                    "capabilities": { "tools": {} },
                    "_meta": { "io.modelcontextprotocol/serverInfo": { "name": "fake", "version": "1" } }
                }),
            ),
            None,
        ),
        "tools/call" => {
            let token = hit.body["params"]["_meta"]["progressToken"].clone();
            let progress = json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": { "progressToken": token, "progress": 1, "total": 2 }
            });
            let log = json!({
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": { "level": "info", "data": "working" }
            });
            let mut done = text_result(hit, "done");
            done["result"]["resultType"] = json!("complete");
            sse(
                vec![
                    "id: 1\nretry: 100\ndata: \n\n".into(),
                    event(&progress),
                    event(&log),
                    event(&done),
                ],
                None,
            )
        }
        _ => Reply::Text(404, ""),
    })
    .await;
    let logs = Arc::new(Mutex::new(Vec::new()));
    let seen = logs.clone();
    let client = Client::builder()
        .on_log(move |log| seen.lock().unwrap().push(log.data))
        .connect_http(url)
        .await
        .unwrap();
    assert_eq!(client.protocol_version().as_str(), "2026-07-28");
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    let out = client
        .call_tool_with(
            "my-tool",
            json!({}),
            CallOptions::new().on_progress(move |pr| p.lock().unwrap().push(pr.progress)),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out.content).unwrap()[0]["text"],
        "done"
    );
    assert_eq!(*progress.lock().unwrap(), vec![1.0]);
    assert_eq!(*logs.lock().unwrap(), vec![json!("working")]);
    client.close().await.unwrap();

    let call = &fake.posts("tools/call")[0];
    assert_eq!(call.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    assert_eq!(call.header("mcp-name"), Some("my-tool"));
    assert_eq!(call.header("mcp-session-id"), None);
    assert!(fake.posts("initialize").is_empty());
    // Stateless: no GET stream, no DELETE.
    assert!(fake.hits().iter().all(|h| h.method == "POST"));
    fake.tap.assert_clean();
}

#[tokio::test]
async fn forgotten_session_is_initialized_again_and_retried() {
    let inits = std::sync::atomic::AtomicUsize::new(0);
    let (fake, url) = start(move |hit| {
        let session = hit.header("mcp-session-id");
        match (hit.method.as_str(), hit.rpc_method()) {
            ("POST", "initialize") => {
                let n = inits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let session = if n == 0 { "s1" } else { "s2" };
                Reply::Json(200, init_result(hit), Some(session))
            }
            ("POST", "tools/list") if session == Some("s1") => Reply::Text(404, "no session"),
            ("POST", "tools/list") => Reply::Json(200, tools_result(hit), None),
            // As the Python SDK answers a request without a session.
            ("POST", "server/discover") => Reply::Json(
                400,
                json!({ "jsonrpc": "2.0", "id": "server-error", "error": {
                    "code": -32600, "message": "Bad Request: Missing session ID"
                }}),
                None,
            ),
            ("POST", _) => Reply::Accepted,
            ("DELETE", _) => Reply::Text(405, ""),
            _ => Reply::Text(405, ""),
        }
    })
    .await;
    let started = Instant::now();
    let client = Client::builder().connect_http(url).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "no wait for the probe timeout"
    );
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 1);
    // A DELETE refused with 405 is no error.
    client.close().await.unwrap();

    let lists = fake.posts("tools/list");
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].header("mcp-session-id"), Some("s1"));
    assert_eq!(lists[1].header("mcp-session-id"), Some("s2"));
    let inits = fake.posts("initialize");
    assert_eq!(inits.len(), 2);
    assert_eq!(inits[1].header("mcp-session-id"), None);
    let initialized = fake.posts("notifications/initialized");
    assert_eq!(initialized.len(), 2);
    assert_eq!(initialized[1].header("mcp-session-id"), Some("s2"));
    let delete = fake
        .hits()
        .into_iter()
        .find(|h| h.method == "DELETE")
        .unwrap();
    assert_eq!(delete.header("mcp-session-id"), Some("s2"));
    fake.tap.assert_clean();
}

/// The conformance `sse-retry` scenario: a tool call's stream closes after a priming
/// event; the client resumes with GET and `Last-Event-ID`, no sooner than `retry:`.
#[tokio::test]
async fn dropped_stream_resumed_with_last_event_id_after_retry() {
    let pending: Arc<Mutex<Option<Value>>> = Arc::default();
    let closed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let (p, c) = (pending.clone(), closed_at.clone());
    let (fake, url) = start(move |hit| match (hit.method.as_str(), hit.rpc_method()) {
        ("POST", "initialize") => Reply::Json(200, init_result(hit), Some("s1")),
        ("POST", "tools/call") => {
            *p.lock().unwrap() = Some(text_result(hit, "Reconnection test completed successfully"));
            let (tx, rx) = mpsc::unbounded_channel();
            tx.send("id: event-1\nretry: 500\ndata: \n\n".to_owned())
                .unwrap();
            let c = c.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                *c.lock().unwrap() = Some(Instant::now());
                drop(tx);
            });
            Reply::Sse(rx, Some("s1"))
        }
        ("POST", "server/discover") => Reply::Text(400, ""),
        ("POST", _) => Reply::Accepted,
        ("GET", _) => {
            let (tx, rx) = mpsc::unbounded_channel();
            tx.send("id: event-2\ndata: \n\n".to_owned()).unwrap();
            if hit.header("last-event-id").is_some() {
                if let Some(answer) = p.lock().unwrap().take() {
                    tx.send(event(&answer)).unwrap();
                }
            }
            // The stream stays open.
            std::mem::forget(tx);
            Reply::Sse(rx, Some("s1"))
        }
        _ => Reply::Text(405, ""),
    })
    .await;
    let client = Client::builder().connect_http(url).await.unwrap();
    let out = client
        .call_tool("test_reconnection", json!({}))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out.content).unwrap()[0]["text"],
        "Reconnection test completed successfully"
    );
    client.close().await.unwrap();

    let closed = closed_at.lock().unwrap().expect("the stream closed");
    let resumed: Vec<Hit> = fake
        .hits()
        .into_iter()
        .filter(|h| h.method == "GET" && h.header("last-event-id").is_some())
        .collect();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].header("last-event-id"), Some("event-1"));
    assert_eq!(resumed[0].header("mcp-session-id"), Some("s1"));
    let waited = resumed[0].at.duration_since(closed);
    assert!(
        waited >= Duration::from_millis(450),
        "resumed after {waited:?}"
    );
    fake.tap.assert_clean();
}

/// A legacy server asks a question on the stream of a tool call; the client's answer
/// goes out as a POST of its own, and the result follows on the first stream.
#[tokio::test]
async fn legacy_server_request_on_a_post_stream() {
    /// The stream of the call in flight, and its result.
    type Open = Mutex<Option<(mpsc::UnboundedSender<String>, Value)>>;
    let open: Arc<Open> = Arc::default();
    let o = open.clone();
    let (fake, url) = start(move |hit| match (hit.method.as_str(), hit.rpc_method()) {
        ("POST", "initialize") => Reply::Json(200, init_result(hit), Some("s1")),
        ("POST", "tools/call") => {
            let (tx, rx) = mpsc::unbounded_channel();
            let ask = json!({
                "jsonrpc": "2.0", "id": "srv-1", "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": "Your name?",
                    "requestedSchema": { "type": "object", "properties": { "name": { "type": "string" } } }
                }
            });
            tx.send(event(&ask)).unwrap();
            *o.lock().unwrap() = Some((tx, text_result(hit, "thanks")));
            Reply::Sse(rx, None)
        }
        ("POST", "") if hit.body["id"] == "srv-1" => {
            let (tx, answer) = o.lock().unwrap().take().expect("a call in flight");
            let name = hit.body["result"]["content"]["name"].as_str().unwrap_or("?").to_owned();
            let mut answer = answer;
            answer["result"]["content"][0]["text"] = json!(format!("thanks {name}"));
            tx.send(event(&answer)).unwrap();
            Reply::Accepted
        }
        ("POST", "server/discover") => Reply::Text(405, ""),
        ("POST", _) => Reply::Accepted,
        _ => Reply::Text(405, ""),
    })
    .await;
    let client = Client::builder()
        .on_elicitation(|_| async {
            let mut answers = serde_json::Map::new();
            answers.insert("name".into(), json!("octocat"));
            Ok(ElicitResult::accept(answers))
        })
        .connect_http(url)
        .await
        .unwrap();
    let out = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(
        serde_json::to_value(&out.content).unwrap()[0]["text"],
        "thanks octocat"
    );
    client.close().await.unwrap();
    let answer = fake
        .hits()
        .into_iter()
        .find(|h| h.body["id"] == "srv-1")
        .unwrap();
    assert_eq!(answer.header("mcp-session-id"), Some("s1"));
    assert_eq!(answer.header("mcp-protocol-version"), Some("2025-11-25"));
    fake.tap.assert_clean();
}

#[tokio::test]
async fn http_errors_surface_with_their_status() {
    let (fake, url) = start(|hit| match hit.rpc_method() {
        "initialize" => Reply::Json(200, init_result(hit), None),
        "tools/list" => Reply::Text(503, "overloaded"),
        "tools/call" => Reply::Json(
            400,
            json!({ "jsonrpc": "2.0", "error": { "code": -32602, "message": "bad arguments" } }),
            None,
        ),
        "server/discover" => Reply::Text(404, ""),
        _ => Reply::Accepted,
    })
    .await;
    let client = Client::builder().connect_http(url).await.unwrap();
    let err = client.list_all_tools().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503), "{err}");
    let err = client.call_tool("x", json!({})).await.unwrap_err();
    assert_eq!(err.rpc_error().map(|e| e.code), Some(-32602), "{err}");
    client.close().await.unwrap();
    fake.tap.assert_clean();
}

#[tokio::test]
async fn custom_headers_and_bad_urls() {
    let (fake, url) = start(legacy_script).await;
    let config = HttpClientConfig::new(url)
        .header("Authorization", "Bearer secret")
        .standalone_stream(false);
    let client = Client::builder().connect_http_with(config).await.unwrap();
    client.close().await.unwrap();
    assert!(fake
        .hits()
        .iter()
        .all(|h| h.header("authorization") == Some("Bearer secret")));
    assert!(fake.hits().iter().all(|h| h.method != "GET"));
    let err = Client::builder()
        .connect_http("ftp://x/")
        .await
        .unwrap_err();
    assert!(err.is_transport(), "{err}");
    let err = Client::builder()
        .connect_http_with(HttpClientConfig::new("http://127.0.0.1:1/").header("bad header", "x"))
        .await
        .unwrap_err();
    assert!(err.is_transport(), "{err}");
}

fn discover_result(hit: &Hit) -> Value {
    result(
        hit,
        json!({
            "resultType": "complete",
            "supportedVersions": ["2026-07-28"],
            "ttlMs": 0,
            "cacheScope": "public",
            "capabilities": { "tools": {}, "resources": {} }
        }),
    )
}

/// The conformance `request-metadata` and `http-custom-headers` scenarios: a first
/// request rejected as unsupported is retried; `x-mcp-header` arguments are mirrored.
#[tokio::test]
async fn modern_retry_after_unsupported_version_and_param_headers() {
    let first = std::sync::atomic::AtomicBool::new(true);
    let (fake, url) = start(move |hit| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Reply::Json(
                400,
                json!({ "jsonrpc": "2.0", "error": {
                    "code": -32022, "message": "Unsupported protocol version",
                    "data": { "supported": ["2026-07-28"], "requested": "2026-07-28" }
                }}),
                None,
            );
        }
        match hit.rpc_method() {
            "server/discover" => Reply::Json(200, discover_result(hit), None),
            "tools/list" => Reply::Json(
                200,
                result(
                    hit,
                    json!({ "resultType": "complete", "ttlMs": 0, "cacheScope": "public", "tools": [
                        { "name": "test_custom_headers", "inputSchema": { "type": "object", "properties": {
                            "region": { "type": "string", "x-mcp-header": "Region" },
                            "priority": { "type": "integer", "x-mcp-header": "Priority" },
                            "verbose": { "type": "boolean", "x-mcp-header": "Verbose" },
                            "empty_val": { "type": "string", "x-mcp-header": "EmptyVal" },
                            "method_val": { "type": "string", "x-mcp-header": "Method" },
                            "non_ascii_val": { "type": "string", "x-mcp-header": "NonAscii" },
                            "query": { "type": "string" }
                        }}},
                        { "name": "invalid_number_header", "inputSchema": { "type": "object", "properties": {
                            "n": { "type": "number", "x-mcp-header": "N" }
                        }}}
                    ]}),
                ),
                None,
            ),
            "tools/call" | "resources/read" => {
                let mut r = if hit.rpc_method() == "tools/call" {
                    text_result(hit, "ok")
                } else {
                    result(hit, json!({ "contents": [], "ttlMs": 0, "cacheScope": "public" }))
                };
                r["result"]["resultType"] = json!("complete");
                Reply::Json(200, r, None)
            }
            _ => Reply::Json(
                404,
                json!({ "jsonrpc": "2.0", "id": hit.body["id"], "error": { "code": -32601, "message": "nope" } }),
                None,
            ),
        }
    })
    .await;
    let client = Client::builder().connect_http(url).await.unwrap();
    assert_eq!(client.protocol_version().as_str(), "2026-07-28");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(
        tools.len(),
        1,
        "the tool with an invalid x-mcp-header is dropped"
    );
    client
        .call_tool(
            "test_custom_headers",
            json!({
                "region": "us-west1", "priority": 42, "verbose": null, "empty_val": "",
                "method_val": "test-method", "non_ascii_val": "Hello, 世界", "query": "SELECT 1"
            }),
        )
        .await
        .unwrap();
    client
        .read_resource("file:///path/to/file%20name.txt")
        .await
        .unwrap();
    client.close().await.unwrap();

    assert_eq!(fake.posts("server/discover").len(), 2);
    let call = &fake.posts("tools/call")[0];
    assert_eq!(call.header("mcp-name"), Some("test_custom_headers"));
    assert_eq!(call.header("mcp-param-region"), Some("us-west1"));
    assert_eq!(call.header("mcp-param-priority"), Some("42"));
    assert_eq!(call.header("mcp-param-verbose"), None);
    assert_eq!(call.header("mcp-param-emptyval"), Some(""));
    assert_eq!(call.header("mcp-param-method"), Some("test-method"));
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    assert_eq!(
        call.header("mcp-param-nonascii"),
        Some("=?base64?SGVsbG8sIOS4lueVjA==?=")
    );
    assert_eq!(call.header("mcp-param-query"), None);
    let read = &fake.posts("resources/read")[0];
    assert_eq!(
        read.header("mcp-name"),
        Some("file:///path/to/file%20name.txt")
    );
    assert_eq!(read.header("mcp-method"), Some("resources/read"));
    fake.tap.assert_clean();
}

mod real;

/// Cancelling a modern request closes its stream; no `notifications/cancelled` is sent.
#[tokio::test]
async fn modern_cancellation_closes_the_stream() {
    type Held = Mutex<Option<mpsc::UnboundedSender<String>>>;
    let held: Arc<Held> = Arc::default();
    let h = held.clone();
    let (fake, url) = start(move |hit| match hit.rpc_method() {
        "server/discover" => Reply::Json(200, discover_result(hit), None),
        "tools/call" => {
            let (tx, rx) = mpsc::unbounded_channel();
            tx.send(": open\n\n".to_owned()).unwrap();
            *h.lock().unwrap() = Some(tx);
            Reply::Sse(rx, None)
        }
        _ => Reply::Accepted,
    })
    .await;
    let client = Client::builder().connect_http(url).await.unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let call = {
        let client = client.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            client
                .call_tool_with("slow", json!({}), CallOptions::new().cancel_on(cancel))
                .await
        })
    };
    let tx = loop {
        if let Some(tx) = held.lock().unwrap().clone() {
            break tx;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    held.lock().unwrap().take();
    cancel.cancel();
    let err = call.await.unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    tokio::time::timeout(Duration::from_secs(5), tx.closed())
        .await
        .expect("the stream was closed");
    client.close().await.unwrap();
    assert!(fake.posts("notifications/cancelled").is_empty());
    fake.tap.assert_clean();
}
