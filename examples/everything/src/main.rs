//! `everything`: an MCP server with the full surface the official conformance suite expects
//! of a server under test (tools, resources, templates, prompts, completions, logging,
//! progress, sampling and elicitation), in both protocol eras.
//!
//! It serves stdio by default; `--http ADDR` serves Streamable HTTP at `http://ADDR/mcp`
//! instead (both eras on that one URL), and on the same listener the HTTP+SSE transport of
//! 2024-11-05 (`/sse`, `/messages`) and WebSocket (`/ws`, subprotocol `mcp`). See `EXPECTATIONS.md` for what each fixture must do.

mod fixtures;
mod mrtr;

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {
    // Colour only for a person at a terminal: hosts write server stderr to log files.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match http_address() {
        Some(addr) => fixtures::router().serve_http(addr).await,
        None => fixtures::router().serve_stdio().await,
    }
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
