//! Composition: routers mounted in routers, tools transformed.

#[cfg(all(feature = "http-server", feature = "http-client"))]
mod circuit;
#[cfg(feature = "client")]
mod hub;
mod mount;
#[cfg(feature = "client")]
mod passthrough;
#[cfg(feature = "client")]
mod proxy;
mod transform;

use oxmcp::protocol::content::ContentBlock;
use oxmcp::protocol::tools::CallToolResult;
use oxmcp::testing::TestClient;

/// The text of a tool result's first content block.
fn text(result: &CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The names of the tools a client lists.
async fn tool_names(client: &TestClient) -> Vec<String> {
    let tools = client.list_all_tools().await.expect("tools/list");
    tools.into_iter().map(|t| t.name).collect()
}

/// A legacy client of `router`, and the notifications it receives.
#[cfg(feature = "client")]
async fn noted_client(
    router: oxmcp::server::Router,
) -> (
    TestClient,
    tokio::sync::mpsc::UnboundedReceiver<oxmcp::protocol::message::ServerNotification>,
) {
    let (tx, notes) = tokio::sync::mpsc::unbounded_channel();
    let client = TestClient::builder(router)
        .era(crate::support::legacy())
        .client(|b| {
            b.on_notification(move |n| {
                let _ = tx.send(n);
            })
        })
        .connect()
        .await
        .unwrap();
    (client, notes)
}
