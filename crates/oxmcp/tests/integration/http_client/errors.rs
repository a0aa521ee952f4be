//! Failures of the HTTP client are typed errors with their cause, never made-up JSON-RPC
//! errors: a server that cannot be reached, HTTP error statuses, timeouts, garbage.

use std::error::Error as _;
use std::time::Duration;

use oxmcp::client::HttpClientConfig;
use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use tokio::sync::mpsc;

use super::{init_result, start, Hit, Reply};

/// A legacy client, no standalone stream: one POST per request.
fn legacy() -> oxmcp::client::ClientBuilder {
    Client::builder().era(EraChoice::Legacy(ProtocolVersion::V2025_11_25))
}

fn config(url: String) -> HttpClientConfig {
    HttpClientConfig::new(url).standalone_stream(false)
}

/// Not a JSON-RPC error of the server: none of the made-up -32000 of old.
fn assert_not_rpc(err: &oxmcp::Error) {
    assert!(err.rpc_error().is_none(), "{err:?}");
    assert_eq!(err.rpc_code(), None, "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_with_its_cause() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let err = Client::builder().connect_http(url).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_transport(), "{err:?}");
    assert!(!err.is_timeout() && !err.is_tls(), "{err:?}");
    assert_eq!(err.http_status(), None);
    assert_not_rpc(&err);
    assert!(err.source().is_some(), "the cause is kept: {err:?}");
    assert_eq!(err.to_string(), "could not connect to the server");
}

/// A legacy server (no session) that answers these methods with an error status.
fn failing(hit: &Hit) -> Reply {
    match hit.rpc_method() {
        "initialize" => Reply::Json(200, init_result(hit), None),
        "tools/list" => Reply::Text(500, "database exploded"),
        "prompts/list" => Reply::Text(401, "unauthorized: bad token"),
        "resources/list" => Reply::Text(404, "no such endpoint"),
        _ => Reply::Accepted,
    }
}

#[tokio::test]
async fn http_error_statuses_keep_status_and_body() {
    let (_fake, url) = start(failing).await;
    let client = legacy().connect_http_with(config(url)).await.unwrap();
    let cases = [
        (
            client.list_tools(None).await.map(drop),
            500,
            "database exploded",
        ),
        (
            client.list_prompts(None).await.map(drop),
            401,
            "unauthorized: bad token",
        ),
        (
            client.list_resources(None).await.map(drop),
            404,
            "no such endpoint",
        ),
    ];
    for (outcome, status, body) in cases {
        let err = outcome.unwrap_err();
        assert_eq!(err.http_status(), Some(status), "{err:?}");
        assert_eq!(err.http_body(), Some(body), "{err:?}");
        assert!(err.is_transport() && !err.is_connect(), "{err:?}");
        assert_not_rpc(&err);
        let message = err.to_string();
        assert!(
            message.contains(&status.to_string()) && message.contains(body),
            "{message}"
        );
    }
    // The connection is still usable.
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_http_error_at_connect_is_kept_and_a_long_body_bounded() {
    let long: &'static str = Box::leak("x".repeat(100_000).into_boxed_str());
    let (_fake, url) = start(move |_| Reply::Text(401, long)).await;
    let err = Client::builder().connect_http(url).await.unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert!(err.http_body().unwrap().len() <= 512, "{err:?}");
    assert_not_rpc(&err);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (_fake, url) = start(|hit| match hit.rpc_method() {
        "initialize" => Reply::Json(200, init_result(hit), None),
        "tools/list" => {
            // A stream that stays open and says nothing.
            let (tx, rx) = mpsc::unbounded_channel::<String>();
            std::mem::forget(tx);
            Reply::Sse(rx, None)
        }
        _ => Reply::Accepted,
    })
    .await;
    let client = legacy()
        .request_timeout(Some(Duration::from_millis(200)))
        .connect_http_with(config(url))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), client.list_tools(None))
        .await
        .expect("failed within 5 s")
        .unwrap_err();
    assert!(err.is_timeout() && !err.is_connect(), "{err:?}");
    assert_not_rpc(&err);
    client.close().await.unwrap();
}

#[tokio::test]
async fn connecting_too_long_is_a_connect_timeout() {
    // A listener whose backlog is full: connections to it are left hanging.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let full = loop {
        assert!(held.len() < 64, "could not fill the listen backlog");
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(stream) => held.push(stream),
            Err(_) => break true,
        }
    };
    assert!(full);
    let config = HttpClientConfig::new(format!("http://{addr}/mcp"))
        .connect_timeout(Some(Duration::from_millis(200)));
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        Client::builder().connect_http_with(config),
    )
    .await
    .expect("failed within 5 s")
    .unwrap_err();
    assert!(err.is_timeout() && err.is_connect(), "{err:?}");
    assert!(err.source().is_some(), "{err:?}");
    assert_not_rpc(&err);
    drop(listener);
}

#[tokio::test]
async fn garbage_from_the_server_is_a_protocol_error() {
    let (_fake, url) = start(|hit| match hit.rpc_method() {
        "initialize" => Reply::Json(200, init_result(hit), None),
        "tools/list" => Reply::Text(200, "<html>this is not JSON</html>"),
        "prompts/list" => Reply::Json(200, serde_json::json!({ "hello": "world" }), None),
        _ => Reply::Accepted,
    })
    .await;
    let client = legacy().connect_http_with(config(url)).await.unwrap();
    let err = client.list_tools(None).await.unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert!(err.source().is_some(), "the parse error is kept: {err:?}");
    assert_not_rpc(&err);
    let err = client.list_prompts(None).await.unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
    assert_not_rpc(&err);
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_tls_error() {
    // An HTTP (not HTTPS) server behind an https:// URL.
    let (_fake, url) = start(|_| Reply::Text(200, "plain")).await;
    let url = url.replacen("http://", "https://", 1);
    let err = tokio::time::timeout(Duration::from_secs(5), Client::builder().connect_http(url))
        .await
        .expect("failed within 5 s")
        .unwrap_err();
    assert!(err.is_tls() && err.is_connect(), "{err:?}");
    assert!(err.source().is_some(), "{err:?}");
    assert_not_rpc(&err);
}
