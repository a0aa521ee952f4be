//! The transports beside Streamable HTTP, over real TCP: HTTP+SSE (2024-11-05) on the
//! same listener and router as `/mcp`.

#[cfg(all(feature = "auth", feature = "sse-server", feature = "ws-server"))]
mod auth;
#[cfg(feature = "sse-server")]
mod sse;
#[cfg(all(feature = "sse-server", feature = "sse-client"))]
mod sse_client;
#[cfg(all(feature = "sse-server", feature = "ws-server"))]
mod ws;

use std::time::Duration;

use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;

pub(crate) use crate::http_server::Server;

/// Serves `router` on a loopback port with `config` (WebSocket pings every 100 ms).
pub(crate) async fn start(router: Router, config: HttpConfig) -> Server {
    #[cfg(feature = "ws-server")]
    let config = config.ws_ping_interval(Duration::from_millis(100));
    Server::start_router(router, config, |serve| serve).await
}

/// Waits (5 s at most) until `condition` holds.
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Calls the `ask` tool (which elicits 3 guests) through a client of each era that
/// `connect` opens: the server's question and the client's answer cross the transport.
#[cfg(feature = "client")]
pub(crate) async fn ask_in_both_eras<F, Fut>(connect: F)
where
    F: Fn(oxmcp::client::ClientBuilder) -> Fut,
    Fut: std::future::Future<Output = oxmcp::Result<oxmcp::client::Client>>,
{
    use oxmcp::client::{Client, EraChoice};
    use oxmcp::protocol::ProtocolVersion;
    use serde_json::json;

    for era in [
        EraChoice::Auto,
        EraChoice::Legacy(ProtocolVersion::V2025_11_25),
    ] {
        let builder = Client::builder().era(era).on_elicitation(|_| async move {
            let mut answers = serde_json::Map::new();
            answers.insert("guests".into(), json!(3));
            Ok(oxmcp::protocol::ElicitResult::accept(answers))
        });
        let client = connect(builder).await.unwrap();
        let out = client.call_tool("ask", json!({})).await.unwrap();
        let out = serde_json::to_value(&out.content).unwrap();
        assert_eq!(out[0]["text"], "3 guests");
        client.close().await.unwrap();
    }
}
