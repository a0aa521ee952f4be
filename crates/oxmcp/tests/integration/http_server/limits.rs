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

#[tokio::test]
async fn a_session_holds_at_most_its_cap_of_sse_streams() {
    let router = Router::new().tool("echo", || async { "echo".to_owned() });
    let config = HttpConfig::new()
        .max_streams_per_session(2)
        // Frequent comments: a stream the client closed is noticed at once.
        .sse_keep_alive(Duration::from_millis(20));
    let server = Server::start_router(router, config, |s| s).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let accept = [("accept", "text/event-stream")];
    let mut first = client.send("GET", &accept, None).await;
    assert_eq!(first.status, 200);
    let last = first.next_event().await.unwrap().id.unwrap();
    let second = client.send("GET", &accept, None).await;
    assert_eq!(second.status, 200);

    // A third GET (a resumption counts too) is refused, saying why.
    for headers in [
        &accept[..],
        &[accept[0], ("last-event-id", last.as_str())][..],
    ] {
        let refused = client.send("GET", headers, None).await;
        assert_eq!(refused.status, 429);
        let why = refused.text().await;
        assert!(why.contains("at most 2 SSE streams"), "{why}");
    }
    // So is a request that could be answered with a stream: it does not start.
    let refused = client
        .post(&super::wire::call(7, "echo", json!({})), &[])
        .await;
    assert_eq!(refused.status, 429);
    let answer = client.json(refused).await;
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("too many open streams"), "{message}");
    // A notification opens no stream: accepted.
    let note =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}});
    assert_eq!(client.post(&note, &[]).await.status, 202);

    // Closing a stream frees its place.
    drop(first);
    let reopened = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let resp = client.send("GET", &accept, None).await;
            if resp.status == 200 {
                return resp;
            }
            assert_eq!(resp.status, 429);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the closed stream's place is free within 5 s");
    drop((second, reopened));
    server.shutdown().await;
}

#[tokio::test]
async fn a_limits_file_bounds_the_http_server() {
    use oxmcp::server::limits::Limits;
    let limits: Limits = serde_json::from_str(
        r#"{ "body_limit": 2000, "max_streams_per_session": 1, "max_sessions": 1,
             "max_sessions_per_peer": 1, "request_timeout": "100ms" }"#,
    )
    .unwrap();
    let router = Router::new()
        .tool("echo", || async { "echo".to_owned() })
        .tool("nap", || async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late".to_owned()
        })
        .limits(limits);
    // The endpoint's own settings say otherwise: the limits win.
    let config = HttpConfig::new()
        .body_limit(1 << 20)
        .max_streams_per_session(8);
    let server = Server::start_router(router, config, |s| s).await;
    let mut client = server.client();
    client.initialize(json!({})).await;

    // The body bound.
    let big = super::wire::call(1, "echo", json!({"pad": "x".repeat(3000)}));
    assert_eq!(client.post(&big, &[]).await.status, 413);
    // The request timeout.
    let resp = client
        .post(&super::wire::call(2, "nap", json!({})), &[])
        .await;
    let answer = client.json(resp).await;
    assert_eq!(
        answer["error"]["code"],
        oxmcp::server::limits::REQUEST_TIMED_OUT,
        "{answer}"
    );
    // The stream cap.
    let accept = [("accept", "text/event-stream")];
    let stream = client.send("GET", &accept, None).await;
    assert_eq!(stream.status, 200);
    assert_eq!(client.send("GET", &accept, None).await.status, 429);
    // The session cap: the one session is busy (its stream is open), so no other.
    let other = server.client();
    let resp = other.post(&super::init_message(), &[]).await;
    assert_eq!(resp.status, 503);
    drop(stream);
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limit_refusals_and_open_streams_are_counted() {
    use oxmcp::metrics::{Metrics, MetricsLayer};
    use tracing_subscriber::layer::SubscriberExt;
    let metrics = Metrics::new();
    let subscriber = tracing_subscriber::registry().with(MetricsLayer::new(metrics.clone()));
    // A current-thread runtime: the server's tasks see this subscriber too.
    let _guard = tracing::subscriber::set_default(subscriber);
    let router = Router::new().rate_limit(RateLimit::per_second(0.01).burst(2));
    // Frequent comments: a stream the client closed is noticed at once.
    let config = HttpConfig::new().sse_keep_alive(Duration::from_millis(20));
    let server = Server::start_router(router, config, |s| s).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let stream = client
        .send("GET", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(stream.status, 200);
    let ping = |id: i64| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    let mut refused = 0;
    for id in 1..=4 {
        let status = client.post(&ping(id), &[]).await.status;
        assert!(status == 200 || status == 429, "{status}");
        refused += usize::from(status == 429);
    }
    assert!(refused >= 2, "a burst of 2: {refused} of 4 refused");
    let text = metrics.render();
    let counted = format!("\nmcp_server_rate_limited_total {refused}\n");
    assert!(text.contains(&counted), "{text}");
    assert!(text.contains("\nmcp_server_streams_open 1\n"), "{text}");
    super::super::metrics::promtool_check(&text).await;
    drop(stream);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while !metrics.render().contains("\nmcp_server_streams_open 0\n") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    closed
        .await
        .expect("the closed stream is no longer counted");
    server.shutdown().await;
}
