//! `rmcp2_echo`: an `echo(text) -> text` tool written with rmcp 2.x, the official Rust SDK
//! before it learned the 2026-07-28 era, as a reference legacy peer.
//!
//! Such a server exits when the first message on stdin is not `initialize` (or `ping`):
//! `tests/legacy_peers.rs` checks that a client in auto mode still connects to it. Stdio
//! only; written without rmcp's macros (they name the crate `rmcp`, renamed here).
//! rmcp 2.x is a dev-dependency of `oxmcp-bench` only, never of the SDK.

use std::sync::Arc;

use rmcp2::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerInfo, Tool,
};
use rmcp2::service::RequestContext;
use rmcp2::transport::stdio;
use rmcp2::{ErrorData, RoleServer, ServerHandler, ServiceExt};

/// The server: one tool.
#[derive(Debug, Clone)]
struct Echo;

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rmcp2-echo", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "text": { "type": "string" } },
            "required": ["text"],
        });
        let serde_json::Value::Object(schema) = schema else {
            unreachable!("an object literal")
        };
        let tool = Tool::new("echo", "Send the text back unchanged.", Arc::new(schema));
        Ok(ListToolsResult::with_all_items(vec![tool]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let text = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("text"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| ErrorData::invalid_params("echo needs a string `text`", None))?;
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = Echo.serve(stdio()).await?;
    service.waiting().await?;
    Ok(())
}
