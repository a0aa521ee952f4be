//! `hub`: the chapter 21 hub. Many MCP servers, listed in an `mcpServers` JSON config (stdio
//! `command`/`args`/`env` entries and Streamable HTTP `url`/`headers` entries), served as
//! one: each back end's tools appear as `{server}_{tool}`.
//!
//! ```text
//! hub --config FILE [--http ADDR]
//! ```
//!
//! Over stdio by default, or over Streamable HTTP at `http://ADDR/mcp` with `--http ADDR`.
//! A back end that exits is hidden and started again with backoff; each entry may also say
//! `timeout` (seconds per call), `allow`/`deny` (tool names) and `tools` (per tool a new
//! `name` or `description`). Logs go to stderr (`RUST_LOG=info` for restarts).

use std::process::ExitCode;

use oxmcp::server::compose::{Hub, HubConfig};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hub: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let Some(path) = option("--config") else {
        return Err("usage: hub --config FILE [--http ADDR]".into());
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| format!("cannot read the config {path}: {e}"))?;
    let config = HubConfig::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let hub = Hub::from_config(&config).map_err(|e| format!("{path}: {e}"))?;
    let router = hub
        .router()
        .await
        .map_err(|e| e.to_string())?
        .name("oxmcp-hub")
        .version(env!("CARGO_PKG_VERSION"));
    let served = match option("--http") {
        Some(addr) => router.serve_http(addr).await,
        None => router.serve_stdio().await,
    };
    served.map_err(|e| e.to_string())
}

/// The value of option `name`, if given (`NAME VALUE` or `NAME=VALUE`).
fn option(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == name {
            return args.next();
        }
        if let Some(value) = arg.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
            return Some(value.to_owned());
        }
    }
    None
}
