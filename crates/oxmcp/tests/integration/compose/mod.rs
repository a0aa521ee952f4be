//! Composition: routers mounted in routers, tools transformed.

#[cfg(all(feature = "http-server", feature = "http-client"))]
mod circuit;
#[cfg(feature = "client")]
mod hub;
mod mount;
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
