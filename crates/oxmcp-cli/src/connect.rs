//! `oxmcp connect URL`: a stdio server that forwards to a remote MCP server, for apps
//! that only launch local processes (what `mcp-remote` does for Node).
//!
//! The remote is reached over Streamable HTTP (falling back to HTTP+SSE) with the
//! commands' OAuth login and token cache ([`crate::login`]): a server that answers 401 gets
//! the browser login (the URL on stderr), the tokens are cached per server and refreshed.
//! Everything else is the [`Proxy`]: lists, calls, reads, prompts, progress, logs,
//! cancellation and the remote's questions, relayed in the local client's era.

use std::time::Duration;

use clap::Args;
use oxmcp::client::EraChoice;
use oxmcp::server::compose::Proxy;

use crate::error::CliError;
use crate::login::Login;
use crate::target::Target;

/// `oxmcp connect`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// The remote server's MCP endpoint, such as https://example.com/mcp.
    pub url: String,
    /// An HTTP header sent with every request, as `Name: value` (repeatable); an
    /// `Authorization` header of your own skips the OAuth login.
    #[arg(long = "header", value_name = "K:V", value_parser = crate::target::parse_header)]
    pub headers: Vec<(String, String)>,
    /// Which protocol era to speak to the remote: auto, modern, legacy, or a legacy
    /// revision such as 2025-03-26 (the local client may speak either).
    #[arg(long, value_name = "ERA", default_value = "auto", value_parser = crate::target::parse_era)]
    pub era: EraChoice,
    /// How long to wait for the remote's answer when nothing arrives (progress resets it):
    /// 30, 30s, 500ms, 2m; 0 waits forever.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::cli::parse_duration)]
    pub timeout: Duration,
    /// When the remote asks you to sign in (OAuth), print the URL to open on stderr
    /// instead of opening the browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// `oxmcp connect`: signs in if asked, then serves the remote on stdio until stdin ends
/// (status 0) or the remote goes away for good (status 1).
pub async fn connect(args: &ConnectArgs) -> Result<u8, CliError> {
    let target = Target {
        url: Some(args.url.clone()),
        config: None,
        server: None,
        era: args.era,
        headers: args.headers.clone(),
        timeout: args.timeout,
        no_browser: args.no_browser,
        command: Vec::new(),
    };
    let proxy = Proxy::new();
    let builder = proxy.client(target.builder().name("oxmcp-connect"));
    // Stdin is the protocol channel: no paste prompt on it.
    let login = Login {
        stdin_is_protocol: true,
        ..target.login()
    };
    let client = target.resolve()?.connect(builder, login).await?;
    let router = proxy
        .router(client.clone())
        .await
        .map_err(|e| CliError::from(e).context(format!("listing what {} offers", args.url)))?;
    let gone = tokio::select! {
        served = router.serve_stdio() => {
            served.map_err(|e| CliError::from(e).context("serving stdio"))?;
            false
        }
        () = client.closed() => true,
    };
    if gone {
        return Err(CliError::failure(format!(
            "the remote server {} closed the connection",
            args.url
        )));
    }
    if let Err(e) = client.close().await {
        tracing::debug!(error = %e, "closing the remote connection failed");
    }
    Ok(0)
}
