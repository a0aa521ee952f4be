//! A hub's circuit breaker per back end, with a real Streamable HTTP back end that is
//! stopped and started again on the same port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::client::{CircuitBreaker, CircuitState, ClientBuilder, HttpClientConfig};
use oxmcp::protocol::message::ServerNotification;
use oxmcp::server::compose::{Backend, Hub, HubConfig};
use oxmcp::server::{Args, Router, ServerHandle};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{text, tool_names};

#[derive(Deserialize, JsonSchema)]
struct Text {
    text: String,
}

async fn echo(Args(t): Args<Text>) -> String {
    format!("echo: {}", t.text)
}

/// A back end served on `addr` until its stop sender is used (or dropped).
struct Served {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    handle: ServerHandle,
}

async fn start(addr: SocketAddr) -> Served {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new().tool("echo", echo);
    let handle = router.handle();
    let served = router
        .http_on(listener)
        .no_signal_handlers()
        .grace(Duration::from_millis(100))
        .shutdown(async move {
            let _ = stopped.await;
        });
    let task = tokio::spawn(async move {
        let _ = served.await;
    });
    Served { stop, task, handle }
}

/// Waits (5 s at most) until `ok` holds.
async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let done = tokio::time::timeout(Duration::from_secs(5), async {
        while !ok().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "{what} within 5 s");
}

#[tokio::test]
async fn a_back_end_that_keeps_failing_is_hidden_until_a_probe_finds_it_back() {
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let first = start(addr).await;
    let breaker = CircuitBreaker::new()
        .failure_threshold(2)
        .open_for(Duration::from_millis(300));
    let config = HttpClientConfig::new(format!("http://{addr}/mcp"));
    let starts = Arc::new(AtomicUsize::new(0));
    let counted = starts.clone();
    let backend = Backend::new("remote", move |builder: ClientBuilder| {
        counted.fetch_add(1, Ordering::SeqCst);
        builder.connect_http_with(config.clone())
    })
    .circuit_breaker(breaker.clone());
    let hub = Hub::new().backend(backend).router().await.unwrap();
    let (client, mut notes) = super::noted_client(hub).await;
    assert_eq!(tool_names(&client).await, ["remote_echo"]);

    // Killed: its calls fail (the connection is refused), and after two the breaker opens.
    first.stop.send(()).unwrap();
    first.task.await.unwrap();
    for _ in 0..2 {
        let outcome = client.call_tool("remote_echo", json!({"text": "x"})).await;
        let message = match outcome {
            Ok(result) => {
                assert_eq!(result.is_error, Some(true));
                text(&result)
            }
            Err(e) => e.to_string(),
        };
        assert!(message.contains("did not answer"), "{message}");
    }
    assert!(
        matches!(breaker.state(), CircuitState::Open { .. }),
        "{:?}",
        breaker.state()
    );
    // Hidden, like a dead back end; probes keep failing while it is down.
    until("the back end is hidden", async || {
        tool_names(&client).await.is_empty()
    })
    .await;
    let note = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .expect("the hub tells its client the list changed");
    assert!(matches!(note, Some(ServerNotification::ToolListChanged(_))));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(tool_names(&client).await.is_empty());
    assert!(!matches!(breaker.state(), CircuitState::Closed));

    // Started again on the same port: a probe finds it, it is listed and shown again.
    let again = start(addr).await;
    until("the back end is shown again", async || {
        tool_names(&client).await == ["remote_echo"]
    })
    .await;
    assert_eq!(breaker.state(), CircuitState::Closed);
    let result = client
        .call_tool("remote_echo", json!({"text": "back"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "echo: back");
    // Its changes are followed again (a modern back end's listen stream, reopened).
    again.handle.add_tool("added", echo).unwrap();
    until("the back end's new tool is shown", async || {
        let mut names = tool_names(&client).await;
        names.sort();
        names == ["remote_added", "remote_echo"]
    })
    .await;
    // The same connection all along: the breaker hid it, not a restart.
    assert_eq!(starts.load(Ordering::SeqCst), 1);
}

#[test]
fn a_config_sets_or_disables_the_circuit_breaker() {
    let config = HubConfig::from_json(
        r#"{ "mcpServers": {
            "a": { "url": "http://127.0.0.1:1/mcp", "circuitBreaker": { "failureThreshold": 2, "openSeconds": 1.5, "halfOpenProbes": 3 } },
            "b": { "url": "http://127.0.0.1:1/mcp", "circuitBreaker": { "disabled": true } }
        } }"#,
    )
    .unwrap();
    let a = format!("{:?}", config.mcp_servers["a"].backend("a").unwrap());
    assert!(
        a.contains("failure_threshold: 2")
            && a.contains("open_for: 1.5s")
            && a.contains("half_open_probes: 3"),
        "{a}"
    );
    let b = format!("{:?}", config.mcp_servers["b"].backend("b").unwrap());
    assert!(b.contains("breaker: None"), "{b}");

    let bad = HubConfig::from_json(
        r#"{ "mcpServers": { "a": { "url": "http://127.0.0.1:1/mcp", "circuitBreaker": { "openSeconds": -1 } } } }"#,
    )
    .unwrap();
    let e = bad.mcp_servers["a"].backend("a").unwrap_err().to_string();
    assert!(
        e.contains("circuitBreaker.openSeconds") && e.contains("positive"),
        "{e}"
    );
}
