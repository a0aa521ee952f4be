//! The router's limits over Streamable HTTP: one concurrency bound across modern `POST`s
//! (each of which is a connection of its own), and `429` with `Retry-After` for a client
//! past its rate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::http::HttpConfig;
use oxmcp::server::limits::{RateLimit, RATE_LIMITED};
use oxmcp::server::Router;
use serde_json::json;
use tokio::sync::Semaphore;

use super::{modern_call, modern_headers, Server};

#[tokio::test]
async fn the_concurrency_bound_holds_across_modern_posts() {
    let started = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let (s, g) = (started.clone(), gate.clone());
    let hold = move || {
        let (started, gate) = (s.clone(), g.clone());
        async move {
            started.fetch_add(1, Ordering::SeqCst);
            gate.acquire().await.unwrap().forget();
            "done".to_owned()
        }
    };
    let router = Router::new().max_concurrent(1).tool("hold", hold);
    let server = Server::start_router(router, HttpConfig::new(), |s| s).await;
    let post = |id: i64| {
        let client = server.client();
        tokio::spawn(async move {
            let resp = client
                .post(
                    &modern_call(id, "hold", json!({})),
                    &modern_headers("tools/call", Some("hold")),
                )
                .await;
            assert_eq!(resp.status, 200);
            client.json(resp).await
        })
    };
    let first = post(1);
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = post(2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "the second POST waits for the first"
    );
    // One runs and one waits: a third is refused at once.
    let third = post(3).await.unwrap();
    assert_eq!(third["error"]["code"], -32000, "{third}");
    let message = third["error"]["message"].as_str().unwrap();
    assert!(message.contains("server busy"), "{message}");
    gate.add_permits(2);
    for answer in [first.await.unwrap(), second.await.unwrap()] {
        assert_eq!(answer["result"]["content"][0]["text"], "done", "{answer}");
    }
    assert_eq!(started.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after() {
    let router = Router::new()
        .rate_limit(RateLimit::per_second(0.5).burst(1))
        .tool("echo", || async { "echo".to_owned() });
    let server = Server::start_router(router, HttpConfig::new(), |s| s).await;
    let client = server.client();
    let headers = modern_headers("tools/call", Some("echo"));
    let resp = client
        .post(&modern_call(1, "echo", json!({})), &headers)
        .await;
    assert_eq!(resp.status, 200);
    let resp = client
        .post(&modern_call(2, "echo", json!({})), &headers)
        .await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"), "one token every 2 s");
    let answer = client.json(resp).await;
    assert_eq!(answer["id"], 2);
    assert_eq!(answer["error"]["code"], RATE_LIMITED, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("retry in"), "{message}");
    let wait = answer["error"]["data"]["retryAfterMs"].as_u64().unwrap();
    assert!(wait > 1000 && wait <= 2000, "{wait}");
    server.shutdown().await;
}
