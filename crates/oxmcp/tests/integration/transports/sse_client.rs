//! The HTTP+SSE client: `connect_sse`, and `connect_http`'s fallback to it.

use std::sync::Arc;

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::http::HttpConfig;
use serde_json::json;

use super::sse::router;
use super::start;

fn text(result: &oxmcp::protocol::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn connect_sse_speaks_both_eras_over_the_stream() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let url = format!("http://{}/sse", server.addr);
    for era in [
        EraChoice::Auto,
        EraChoice::Legacy(ProtocolVersion::V2024_11_05),
    ] {
        let client = Client::builder()
            .era(era)
            .connect_sse(url.as_str())
            .await
            .unwrap();
        let tools = client.list_all_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "echo"));
        let out = client
            .call_tool("echo", json!({"text": "via SSE"}))
            .await
            .unwrap();
        assert_eq!(text(&out), "via SSE");
        client.close().await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn connect_http_falls_back_to_an_sse_only_url() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    // POST /sse is refused (400: no session_id), so the client GETs it instead.
    let client = Client::builder()
        .connect_http(format!("http://{}/sse", server.addr))
        .await
        .unwrap();
    let out = client
        .call_tool("echo", json!({"text": "fell back"}))
        .await
        .unwrap();
    assert_eq!(text(&out), "fell back");
    client.close().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_url_that_is_no_sse_stream_keeps_the_first_error() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let error = Client::builder()
        .connect_http(format!("http://{}/nothing", server.addr))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    let error = Client::builder()
        .connect_sse(format!("http://{}/nothing", server.addr))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_server_asks_the_client_over_the_stream() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let url = format!("http://{}/sse", server.addr);
    super::ask_in_both_eras(|builder| builder.connect_sse(url.clone())).await;
    server.shutdown().await;
}
