//! `oxmcp serve`: a stdio server, or a whole `mcpServers` config as one hub, served over
//! HTTP (Streamable HTTP at `/mcp`, the HTTP+SSE transport of 2024-11-05 at `/sse` and
//! `/messages`, WebSocket at `/ws`, all on one listener, with bearer-token auth if asked),
//! or over stdio.
//!
//! A `-- CMD` server is proxied as it is ([`Proxy`]): its tools keep their names, its
//! questions (elicitation, sampling, roots) go to the front client in the client's era.
//! When it exits, `serve` says so on stderr and stops with status 1, so that a supervisor
//! can start it again. A `--config` hub restarts its back ends itself ([`Hub`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use oxmcp::client::Client;
use oxmcp::server::auth::{AnyOf, ApiKeys, Cached, Jwks, JwtVerifier, ProtectedResource};
use oxmcp::server::compose::{Hub, HubConfig, Proxy};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};

use crate::error::CliError;

/// `oxmcp serve`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Serve HTTP at ADDR (such as 127.0.0.1:8080; port 0 picks a free one): Streamable
    /// HTTP at /mcp, HTTP+SSE at /sse and /messages, WebSocket at /ws. Without it, serve
    /// stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Require a bearer token from this JSON file of API keys:
    /// {"KEY": {"sub": "SUBJECT", "scopes": ["..."]}}.
    #[arg(
        long,
        value_name = "FILE",
        requires = "http",
        help_heading = "Authorization (with --http)"
    )]
    pub api_keys: Option<PathBuf>,
    /// Require a JWT access token signed by a key of this JWKS (a file or an https URL);
    /// needs --issuer.
    #[arg(
        long,
        value_name = "PATH_OR_URL",
        requires = "issuer",
        help_heading = "Authorization (with --http)"
    )]
    pub jwks: Option<String>,
    /// The issuer of the JWT access tokens (its keys are discovered from its metadata
    /// unless --jwks names them); named as the authorization server in the Protected
    /// Resource Metadata.
    #[arg(
        long,
        value_name = "ISS",
        requires = "http",
        help_heading = "Authorization (with --http)"
    )]
    pub issuer: Option<String>,
    /// The audience the JWTs must name (default: this endpoint's URL, http://ADDR/mcp).
    #[arg(
        long,
        value_name = "AUD",
        requires = "issuer",
        help_heading = "Authorization (with --http)"
    )]
    pub audience: Option<String>,
    /// An mcpServers JSON file (Claude Desktop, Cursor): serve all its servers as one, each
    /// server's tools named SERVER_TOOL.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "command",
        required_unless_present = "command"
    )]
    pub config: Option<PathBuf>,
    /// The stdio server to serve: its command and arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `oxmcp serve`: serves until `SIGTERM` or Ctrl-C (HTTP: requests in flight are answered
/// first), the end of stdin (stdio), or the server's exit (status 1).
pub async fn serve(args: &ServeArgs) -> Result<u8, CliError> {
    // The address and the auth settings first: a mistake there starts nothing.
    let front = match &args.http {
        Some(addr) => Some(bind(addr, args).await?),
        None => None,
    };
    let (router, child) = back_end(args).await?;
    let served = match front {
        Some((listener, config)) => {
            let mut serve = router.http_on(listener).config(config);
            if let Some(client) = child.clone() {
                serve = serve.shutdown(async move { client.closed().await });
            }
            serve.await
        }
        None => match child.clone() {
            Some(client) => tokio::select! {
                served = router.serve_stdio() => served,
                () = client.closed() => Ok(()),
            },
            None => router.serve_stdio().await,
        },
    };
    if let Some(client) = &child {
        if client.is_closed() {
            return Err(death(client, &args.command[0]).await);
        }
    }
    served.map_err(|e| CliError::from(e).context("serving"))?;
    if let Some(client) = child {
        if let Err(e) = client.close().await {
            tracing::debug!(error = %e, "stopping the server failed");
        }
    }
    Ok(0)
}

/// Binds the HTTP listener and prepares the endpoint's settings (its auth, whose resource
/// URL names the address bound); says where it listens on stderr.
async fn bind(
    addr: &str,
    args: &ServeArgs,
) -> Result<(tokio::net::TcpListener, HttpConfig), CliError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::usage(format!(
            "cannot listen on {addr}: {e} (expected a free HOST:PORT such as 127.0.0.1:8080)"
        ))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::failure(format!("reading the address bound: {e}")))?;
    let endpoint = format!("http://{local}/mcp");
    let mut config = HttpConfig::new();
    if let Some(protected) = protection(args, &endpoint)? {
        config = config.auth(protected);
    }
    eprintln!(
        "oxmcp serve: listening on {endpoint} (Streamable HTTP), http://{local}/sse \
         (HTTP+SSE), ws://{local}/ws (WebSocket)"
    );
    Ok((listener, config))
}

/// The protected resource `--api-keys`, `--jwks`, `--issuer` and `--audience` ask for;
/// `None` without them.
fn protection(args: &ServeArgs, resource: &str) -> Result<Option<ProtectedResource>, CliError> {
    let mut verifier = AnyOf::new();
    let mut any = false;
    if let Some(file) = &args.api_keys {
        let keys = ApiKeys::from_file(file).map_err(|e| {
            CliError::usage(format!(
                "--api-keys {}: {e} (expected a JSON object such as \
                 {{\"KEY\": {{\"sub\": \"alice\", \"scopes\": []}}}})",
                file.display()
            ))
        })?;
        verifier = verifier.or(keys);
        any = true;
    }
    if let Some(issuer) = &args.issuer {
        let keys = match &args.jwks {
            Some(source) => Jwks::from_path_or_url(source)
                .map_err(|e| CliError::usage(format!("--jwks {source}: {e}")))?,
            None => Jwks::discover(issuer),
        };
        let audience = args.audience.as_deref().unwrap_or(resource);
        verifier = verifier.or(Cached::new(
            JwtVerifier::new(keys, issuer).audience(audience),
        ));
        any = true;
    }
    if !any {
        return Ok(None);
    }
    let protected = ProtectedResource::new(resource, verifier);
    Ok(Some(match &args.issuer {
        Some(issuer) => protected.authorization_server(issuer),
        None => protected,
    }))
}

/// The router to serve, and the client of a `-- CMD` server (`None` for a hub).
async fn back_end(args: &ServeArgs) -> Result<(Router, Option<Client>), CliError> {
    if let Some(file) = &args.config {
        let text = tokio::fs::read_to_string(file)
            .await
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
        let bad = |e: oxmcp::Error| CliError::usage(format!("{}: {e}", file.display()));
        let config = HubConfig::from_json(&text).map_err(bad)?;
        let router = Hub::from_config(&config)
            .map_err(bad)?
            .router()
            .await
            .map_err(|e| CliError::from(e).context("starting the hub"))?
            .name("oxmcp-serve")
            .version(env!("CARGO_PKG_VERSION"));
        return Ok((router, None));
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::usage(
            "no server given: add -- CMD ARGS... at the end of the line, or --config FILE",
        ));
    };
    let proxy = Proxy::new();
    let builder = proxy.client(
        Client::builder()
            .name("oxmcp-serve")
            .version(env!("CARGO_PKG_VERSION")),
    );
    // The server's stderr is its log: passed through.
    let command = ChildCommand::new(program)
        .args(rest)
        .stderr(StderrMode::Inherit)
        .shutdown_grace(Duration::from_secs(2));
    let client = builder.connect_stdio(command).await.map_err(|e| {
        CliError::from(e).context(format!("starting and connecting to {program:?}"))
    })?;
    let router = proxy
        .router(client.clone())
        .await
        .map_err(|e| CliError::from(e).context(format!("listing what {program:?} offers")))?;
    Ok((router, Some(client)))
}

/// What to say when the server's connection ended under us: its exit status, once the
/// process is reaped.
async fn death(client: &Client, program: &str) -> CliError {
    let mut status = None;
    if let Some(child) = client.child_process() {
        for _ in 0..100 {
            status = child.exit_status().await;
            if status.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    CliError::failure(match status {
        Some(status) => format!("the server {program:?} exited ({status}); stopping"),
        None => format!("the server {program:?} closed its output; stopping"),
    })
}
