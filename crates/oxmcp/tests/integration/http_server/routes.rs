//! `HttpServe::routes`: an application's own axum routes beside MCP, on the same listener
//! and under the same rules (body limits and deadline, graceful stop).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::hostile::{closed_by_server, trickled};
use super::{HttpConfig, Server};

fn app() -> axum::Router {
    axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/length",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow but done"
            }),
        )
}

/// Sends `request` on a fresh connection (which it asks to close) and returns the answer.
async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    closed_by_server(&mut stream).await
}

fn get_request(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n")
}

#[tokio::test]
async fn extra_routes_are_served_beside_mcp() {
    let server = Server::start_with(HttpConfig::new(), |s| s.routes(app())).await;
    let answer = exchange(server.addr, &get_request(server.addr, "/hello")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");

    // The peer's address reaches the routes' handlers.
    let mine = TcpStream::connect(server.addr).await.unwrap();
    let port = mine.local_addr().unwrap().port();
    let mut mine = mine;
    mine.write_all(get_request(server.addr, "/peer").as_bytes())
        .await
        .unwrap();
    let answer = closed_by_server(&mut mine).await;
    assert!(answer.ends_with(&format!("127.0.0.1:{port}")), "{answer}");

    // Paths neither MCP nor the routes know: the routes' 404.
    let answer = exchange(server.addr, &get_request(server.addr, "/nowhere")).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    // MCP still answers at /mcp.
    let mut client = server.client();
    client.initialize(json!({})).await;
    server.shutdown().await;
}

#[tokio::test]
async fn extra_routes_keep_the_body_limit_and_deadline() {
    let config = HttpConfig::new()
        .body_limit(1024)
        .body_timeout(Duration::from_millis(300));
    let server = Server::start_with(config, |s| s.routes(app())).await;
    let head = |length: usize| {
        format!(
            "POST /length HTTP/1.1\r\nhost: {}\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: {length}\r\n\r\n",
            server.addr
        )
    };
    let answer = exchange(server.addr, &format!("{}{}", head(10), "0123456789")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n10"), "{answer}");

    let big = "x".repeat(2048);
    let answer = exchange(server.addr, &format!("{}{big}", head(big.len()))).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 1024 bytes"), "{answer}");

    // A body that trickles in is cut off at the deadline.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let answer = trickled(&mut stream, &head(100)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn extra_routes_keep_the_header_timeout_and_drain_on_stop() {
    let server = Server::start_with(HttpConfig::new(), |s| {
        s.routes(app()).header_timeout(Duration::from_millis(200))
    })
    .await;
    // Half a request line for a route of the app's: closed, not held.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /hel").await.unwrap();
    closed_by_server(&mut stream).await;

    // A request in flight when the server stops is answered.
    let addr = server.addr;
    let slow = tokio::spawn(async move { exchange(addr, &get_request(addr, "/slow")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.shutdown().await;
    let answer = slow.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("slow but done"), "{answer}");
}
