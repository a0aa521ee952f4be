//! `ClientBuilder::circuit_breaker`: after failures in a row the server is taken for
//! unavailable and calls fail at once; after the open period probes go through, and their
//! outcome closes or reopens the circuit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use oxmcp::client::{CircuitBreaker, CircuitState, Client, HttpClientConfig};
use oxmcp::server::http::{HttpConfig, McpService};
use oxmcp::server::{Router, ToolError};

/// The MCP server behind a switch: while `failing`, every POST is answered 500; while
/// `stalling`, `tools/list` waits until `release` is told. Counts every POST per method.
struct Switch {
    service: McpService,
    failing: AtomicBool,
    stalling: AtomicBool,
    release: tokio::sync::Semaphore,
    seen: Mutex<Vec<String>>,
}

async fn switched(State(switch): State<Arc<Switch>>, request: Request) -> Response {
    let method = super::mcp_method(&request);
    switch.seen.lock().unwrap().push(method.clone());
    if switch.failing.load(Ordering::SeqCst) {
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::from("down"))
            .unwrap();
    }
    if method == "tools/list" && switch.stalling.load(Ordering::SeqCst) {
        let _ = switch.release.acquire().await.unwrap();
    }
    switch.service.handle(request).await
}

async fn hello() -> &'static str {
    "hello"
}

async fn broken() -> Result<String, ToolError> {
    Err(ToolError::execution("this tool always fails"))
}

/// Serves the switch; returns a client behind `breaker` and the switch.
async fn serve(breaker: &CircuitBreaker) -> (Client, Arc<Switch>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let service = Router::new()
        .tool("hello", hello)
        .tool("broken", broken)
        .into_http_service(HttpConfig::new().disable_host_check());
    let switch = Arc::new(Switch {
        service,
        failing: AtomicBool::new(false),
        stalling: AtomicBool::new(false),
        release: tokio::sync::Semaphore::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/mcp", axum::routing::any(switched))
        .with_state(switch.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::builder()
        .circuit_breaker(breaker.clone())
        .no_cache()
        .connect_http_with(HttpClientConfig::new(url))
        .await
        .unwrap();
    (client, switch)
}

fn lists(switch: &Switch) -> usize {
    let seen = switch.seen.lock().unwrap();
    seen.iter().filter(|m| *m == "tools/list").count()
}

/// Fails `n` lists on a failing server, each reaching it.
async fn fail(client: &Client, switch: &Switch, n: usize) {
    switch.failing.store(true, Ordering::SeqCst);
    for _ in 0..n {
        let before = lists(switch);
        let e = client.list_tools(None).await.unwrap_err();
        assert_eq!(e.http_status(), Some(500), "{e}");
        assert_eq!(lists(switch), before + 1, "it reached the server");
    }
}

#[tokio::test]
async fn the_breaker_opens_after_the_threshold_and_then_fails_at_once() {
    let breaker = CircuitBreaker::new()
        .failure_threshold(3)
        .open_for(Duration::from_secs(30));
    let (client, switch) = serve(&breaker).await;
    client.list_tools(None).await.unwrap();
    fail(&client, &switch, 2).await;
    assert_eq!(
        breaker.state(),
        CircuitState::Closed,
        "two failures of three"
    );
    fail(&client, &switch, 1).await;
    assert!(matches!(breaker.state(), CircuitState::Open { .. }));

    let before = lists(&switch);
    for _ in 0..5 {
        let e = tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
            .await
            .expect("fails at once")
            .unwrap_err();
        let open = e.circuit_open().expect("refused by the breaker");
        assert_eq!(open.failures(), 3);
        assert!(!open.is_probing());
        assert!(
            open.retry_in() > Duration::from_secs(20) && open.retry_in() <= Duration::from_secs(30)
        );
        let message = e.to_string();
        assert!(
            message.contains("unavailable")
                && message.contains("3 failures")
                && message.contains("next attempt"),
            "{message}"
        );
    }
    assert_eq!(
        lists(&switch),
        before,
        "nothing reached the server while open"
    );
}

#[tokio::test]
async fn tool_errors_and_json_rpc_errors_are_answers_not_failures() {
    let breaker = CircuitBreaker::new().failure_threshold(1);
    let (client, _switch) = serve(&breaker).await;
    for _ in 0..3 {
        let result = client
            .call_tool("broken", serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(result.is_error, Some(true));
        let unknown = client.call_tool("nope", serde_json::json!({})).await;
        if let Err(e) = unknown {
            assert!(e.rpc_error().is_some(), "{e}");
        }
        assert_eq!(breaker.state(), CircuitState::Closed);
    }
}

#[tokio::test]
async fn after_the_open_period_a_probe_reopens_or_closes_the_circuit() {
    let open_for = Duration::from_millis(200);
    let breaker = CircuitBreaker::new()
        .failure_threshold(1)
        .open_for(open_for);
    let (client, switch) = serve(&breaker).await;
    fail(&client, &switch, 1).await;
    assert!(client
        .list_tools(None)
        .await
        .unwrap_err()
        .circuit_open()
        .is_some());

    // Still failing: the probe reaches the server, fails, and the circuit opens again.
    tokio::time::sleep(open_for + Duration::from_millis(50)).await;
    fail(&client, &switch, 1).await;
    let CircuitState::Open { retry_at } = breaker.state() else {
        panic!("open again after a failed probe: {:?}", breaker.state());
    };
    assert!(retry_at > std::time::Instant::now() + Duration::from_millis(100));
    let e = client.list_tools(None).await.unwrap_err();
    assert_eq!(e.circuit_open().map(|o| o.failures()), Some(2));

    // Back: the next probe answers and closes it.
    switch.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(open_for + Duration::from_millis(50)).await;
    client.list_tools(None).await.unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    let before = lists(&switch);
    client.list_tools(None).await.unwrap();
    assert_eq!(lists(&switch), before + 1);
}

#[tokio::test]
async fn while_half_open_only_the_allowed_probes_go_through() {
    let open_for = Duration::from_millis(200);
    let breaker = CircuitBreaker::new()
        .failure_threshold(1)
        .open_for(open_for)
        .half_open_probes(2);
    let (client, switch) = serve(&breaker).await;
    fail(&client, &switch, 1).await;
    switch.failing.store(false, Ordering::SeqCst);
    switch.stalling.store(true, Ordering::SeqCst);
    tokio::time::sleep(open_for + Duration::from_millis(50)).await;

    let before = lists(&switch);
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.list_tools(None).await })
        })
        .collect();
    // Eight are refused at once, naming the probes in flight; two wait at the server
    // (which holds them until released, so they cannot finish meanwhile).
    let settled = tokio::time::timeout(Duration::from_secs(5), async {
        while calls.iter().filter(|c| c.is_finished()).count() < 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(settled.is_ok(), "eight calls are refused at once");
    let (refused, pending): (Vec<_>, Vec<_>) = calls.into_iter().partition(|c| c.is_finished());
    for call in refused {
        let e = call.await.unwrap().unwrap_err();
        assert!(e.circuit_open().is_some_and(|o| o.is_probing()), "{e}");
    }
    assert_eq!(pending.len(), 2, "two probes in flight");
    tokio::time::timeout(Duration::from_secs(5), async {
        while lists(&switch) < before + 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the probes reach the server");
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    assert_eq!(
        lists(&switch),
        before + 2,
        "only the probes reached the server"
    );

    switch.release.add_permits(2);
    for call in pending {
        let answered = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("answered within 5 s");
        answered.unwrap().unwrap();
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
}
