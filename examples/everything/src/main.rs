//! `everything`: an MCP server with the full surface the official conformance suite expects
//! of a server under test (tools, resources, templates, prompts, completions, logging,
//! progress, sampling and elicitation), in both protocol eras.
//!
//! It serves stdio by default. See `EXPECTATIONS.md` for what each fixture must do.

mod fixtures;
mod mrtr;

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    fixtures::router().serve_stdio().await
}
