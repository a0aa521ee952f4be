//! `rmcp_echo`: the benchmark's `echo(text) -> text` tool written with
//! [rmcp](https://crates.io/crates/rmcp), the official Rust SDK, as a reference peer.
//!
//! It is written the way rmcp's README teaches (`#[tool_router]`, `#[tool]`,
//! `#[tool_handler]`, `serve(stdio())` on the default multi-threaded runtime), with no
//! benchmark-only tricks, so the benchmarks compare oxmcp with rmcp as people use it.
//!
//! Stdio by default; `--http ADDR` serves rmcp's Streamable HTTP at `http://ADDR/mcp`
//! with its default configuration (stateful sessions for legacy clients; 2026-07-28
//! requests are served statelessly), on axum as rmcp's examples do, with TCP_NODELAY.
//!
//! rmcp is a dev-dependency of `oxmcp-bench` only, never of the SDK:
//! `cargo build --release -p oxmcp-bench --example rmcp_echo`.

use axum::serve::ListenerExt;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::stdio;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use serde::Deserialize;

/// Arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

/// The server: one tool.
#[derive(Debug, Clone)]
struct Echo {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Echo {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Sends the text back.
    #[tool(description = "Send the text back unchanged.")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rmcp-echo", env!("CARGO_PKG_VERSION")))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match http_address() {
        Some(addr) => {
            let service: StreamableHttpService<Echo, LocalSessionManager> =
                StreamableHttpService::new(
                    || Ok(Echo::new()),
                    Default::default(),
                    StreamableHttpServerConfig::default(),
                );
            let router = axum::Router::new().nest_service("/mcp", service);
            // TCP_NODELAY, as oxmcp and the floor set it: rmcp answers a POST with an SSE
            // stream written in several small pieces, and without it Nagle's algorithm and
            // the client's delayed ACK add ~40 ms to every call.
            let listener = tokio::net::TcpListener::bind(&addr).await?.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, router).await?;
        }
        None => {
            let service = Echo::new().serve(stdio()).await?;
            service.waiting().await?;
        }
    }
    Ok(())
}

/// The address after `--http`, if given (`--http ADDR` or `--http=ADDR`).
fn http_address() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--http" {
            return args.next();
        }
        if let Some(addr) = arg.strip_prefix("--http=") {
            return Some(addr.to_owned());
        }
    }
    None
}
