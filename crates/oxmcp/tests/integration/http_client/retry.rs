//! `HttpClientConfig::retry`: 429 and 503 answers to requests that change nothing are sent
//! again (honouring `Retry-After`, in seconds or as an HTTP date), a `tools/call` never
//! is; on by default, off with `RetryPolicy::none()`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use oxmcp::client::{Client, HttpClientConfig, RetryPolicy};
use oxmcp::server::http::{HttpConfig, McpService};
use oxmcp::server::Router;

/// The MCP server behind a gate that answers the next POSTs of one method with the
/// scripted refusals first, and counts every POST per method.
struct Gate {
    service: McpService,
    method: &'static str,
    refusals: Mutex<VecDeque<(StatusCode, Option<&'static str>)>>,
    seen: Mutex<Vec<String>>,
}

async fn gate(State(gate): State<Arc<Gate>>, request: Request) -> Response {
    let method = super::mcp_method(&request);
    gate.seen.lock().unwrap().push(method.clone());
    if method == gate.method {
        if let Some((status, retry_after)) = gate.refusals.lock().unwrap().pop_front() {
            let mut response = Response::builder().status(status);
            if let Some(after) = retry_after {
                response = response.header("retry-after", after);
            }
            return response.body(Body::from("busy")).unwrap();
        }
    }
    gate.service.handle(request).await
}

async fn hello() -> &'static str {
    "hello"
}

/// Serves a one-tool router behind the gate; returns its URL and the gate.
async fn serve(
    method: &'static str,
    refusals: &[(StatusCode, Option<&'static str>)],
) -> (String, Arc<Gate>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    (url, serve_on(listener, method, refusals))
}

fn serve_on(
    listener: tokio::net::TcpListener,
    method: &'static str,
    refusals: &[(StatusCode, Option<&'static str>)],
) -> Arc<Gate> {
    let service = Router::new()
        .tool("hello", hello)
        .into_http_service(HttpConfig::new().disable_host_check());
    let gate = Arc::new(Gate {
        service,
        method,
        refusals: Mutex::new(refusals.iter().copied().collect()),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/mcp", axum::routing::any(gate_handler))
        .with_state(gate.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    gate
}

async fn gate_handler(state: State<Arc<Gate>>, request: Request) -> Response {
    gate(state, request).await
}

fn policy() -> RetryPolicy {
    RetryPolicy::new()
        .max_retries(3)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_secs(2))
}

fn count(gate: &Gate, method: &str) -> usize {
    gate.seen
        .lock()
        .unwrap()
        .iter()
        .filter(|m| *m == method)
        .count()
}

/// A client of `url`, with `retry` or else the default policy.
async fn connect(url: &str, retry: Option<RetryPolicy>) -> Client {
    let mut config = HttpClientConfig::new(url);
    if let Some(policy) = retry {
        config = config.retry(policy);
    }
    Client::builder().connect_http_with(config).await.unwrap()
}

/// An HTTP date `seconds` from now (negative: in the past), as `Retry-After` may carry.
fn http_date(seconds: i64) -> &'static str {
    let now = std::time::SystemTime::now();
    let at = if seconds >= 0 {
        now + Duration::from_secs(seconds.unsigned_abs())
    } else {
        now - Duration::from_secs(seconds.unsigned_abs())
    };
    Box::leak(httpdate::fmt_http_date(at).into_boxed_str())
}

#[tokio::test]
async fn a_list_answered_429_then_503_is_retried_until_it_succeeds() {
    let refusals = [
        (StatusCode::TOO_MANY_REQUESTS, Some("0")),
        (StatusCode::SERVICE_UNAVAILABLE, None),
    ];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy())).await;
    let tools = tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("answered within 5 s")
        .expect("the third attempt succeeds");
    assert_eq!(tools.tools[0].name, "hello");
    assert_eq!(count(&gate, "tools/list"), 3);
}

#[tokio::test]
async fn retries_are_bounded_and_a_long_retry_after_ends_them() {
    let refusals = [(StatusCode::SERVICE_UNAVAILABLE, None); 10];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy().max_retries(2))).await;
    assert!(client.list_tools(None).await.is_err());
    assert_eq!(count(&gate, "tools/list"), 3, "one attempt and two retries");

    let refusals = [(StatusCode::TOO_MANY_REQUESTS, Some("3600"))];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy())).await;
    let refused = tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("no hour-long wait");
    assert!(refused.is_err());
    assert_eq!(count(&gate, "tools/list"), 1);
}

#[tokio::test]
async fn a_tool_call_answered_503_is_never_sent_twice() {
    let refusals = [(StatusCode::SERVICE_UNAVAILABLE, Some("0"))];
    let (url, gate) = serve("tools/call", &refusals).await;
    let client = connect(&url, Some(policy())).await;
    assert!(client
        .call_tool("hello", serde_json::json!({}))
        .await
        .is_err());
    assert_eq!(count(&gate, "tools/call"), 1);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_past_now_and_bounded_ahead() {
    // A date in the past: retried at once.
    let refusals = [(StatusCode::SERVICE_UNAVAILABLE, Some(http_date(-60)))];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy())).await;
    tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("answered within 5 s")
        .expect("the retry succeeds");
    assert_eq!(count(&gate, "tools/list"), 2);

    // A date two seconds ahead, within the policy's bound: waited for.
    let refusals = [(StatusCode::TOO_MANY_REQUESTS, Some(http_date(2)))];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy().max_delay(Duration::from_secs(3)))).await;
    let started = std::time::Instant::now();
    client.list_tools(None).await.expect("the retry succeeds");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for the date"
    );
    assert_eq!(count(&gate, "tools/list"), 2);

    // A date a day ahead, past the policy's bound: no retry, no wait.
    let refusals = [(StatusCode::TOO_MANY_REQUESTS, Some(http_date(86_400)))];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(policy())).await;
    let refused = tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("no day-long wait");
    assert_eq!(refused.unwrap_err().http_status(), Some(429));
    assert_eq!(count(&gate, "tools/list"), 1);
}

#[tokio::test]
async fn by_default_a_list_answered_429_or_503_is_retried_and_a_call_is_not() {
    let refusals = [
        (StatusCode::TOO_MANY_REQUESTS, Some("0")),
        (StatusCode::SERVICE_UNAVAILABLE, None),
    ];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, None).await;
    tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("answered within 5 s")
        .expect("retried by default");
    assert_eq!(count(&gate, "tools/list"), 3);

    let refusals = [(StatusCode::SERVICE_UNAVAILABLE, Some("0"))];
    let (url, gate) = serve("tools/call", &refusals).await;
    let client = connect(&url, None).await;
    let refused = client.call_tool("hello", serde_json::json!({})).await;
    assert_eq!(refused.unwrap_err().http_status(), Some(503));
    assert_eq!(count(&gate, "tools/call"), 1);
}

#[tokio::test]
async fn by_default_connecting_to_a_closed_port_still_fails_quickly() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = HttpClientConfig::new(format!("http://{addr}/mcp"));
    let failed = tokio::time::timeout(
        Duration::from_secs(5),
        Client::builder().connect_http_with(config),
    )
    .await
    .expect("fails within 5 s");
    assert!(failed.unwrap_err().is_connect());
}

#[tokio::test]
async fn with_retry_policy_none_a_429_fails_at_once() {
    let refusals = [(StatusCode::TOO_MANY_REQUESTS, Some("0"))];
    let (url, gate) = serve("tools/list", &refusals).await;
    let client = connect(&url, Some(RetryPolicy::none())).await;
    assert!(client.list_tools(None).await.is_err());
    assert_eq!(count(&gate, "tools/list"), 1);
}

#[tokio::test]
async fn connecting_before_the_server_listens_is_retried_until_it_does() {
    // A free port, closed until the server takes it a moment after the client starts.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/mcp");
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        serve_on(
            tokio::net::TcpListener::bind(addr).await.unwrap(),
            "none",
            &[],
        )
    });
    let retry = policy()
        .max_retries(8)
        .base_delay(Duration::from_millis(50));
    let client = tokio::time::timeout(Duration::from_secs(5), connect(&url, Some(retry)))
        .await
        .expect("connected within 5 s");
    let gate = late.await.unwrap();
    assert_eq!(client.list_tools(None).await.unwrap().tools.len(), 1);
    assert!(!gate.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn with_retry_policy_none_connecting_to_a_closed_port_fails() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = HttpClientConfig::new(format!("http://{addr}/mcp")).retry(RetryPolicy::none());
    assert!(Client::builder().connect_http_with(config).await.is_err());
}
