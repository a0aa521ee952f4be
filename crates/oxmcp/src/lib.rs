//! # oxmcp
//!
//! The Model Context Protocol for Rust: servers and clients for every revision from
//! 2024-11-05 to 2026-07-28, legacy (handshake) and modern (stateless) eras alike. One
//! server answers both eras on the same connection; one client talks to both.
//!
//! ## Servers
//!
//! Tools, prompts and resources are plain async functions. Their arguments are extractors,
//! in any order, and their return values convert into results. Schemas come from your
//! types.
//!
//! ```
//! use oxmcp::server::{prompt, resource, tool, Args, Context, Json, Router, Uri};
//! use oxmcp::Progress;
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Search {
//!     /// What to look for.
//!     query: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Hits { titles: Vec<String> }
//!
//! async fn search(Args(s): Args<Search>, ctx: Context) -> Json<Hits> {
//!     ctx.progress(Progress::new(1.0).total(1.0).message("searched")).await;
//!     Json(Hits { titles: vec![format!("about {}", s.query)] })
//! }
//!
//! #[derive(Deserialize)]
//! struct Page { id: u32 }
//!
//! async fn page(Uri(p): Uri<Page>) -> String {
//!     format!("page {}", p.id)
//! }
//!
//! async fn summarize(Args(s): Args<Search>) -> String {
//!     format!("Summarize what you know about {}.", s.query)
//! }
//!
//! let router: Router = Router::new()
//!     .name("docs")
//!     .tool("search", tool(search).description("Search the docs"))
//!     .resource_template("docs://pages/{id}", resource(page).mime_type("text/plain"))
//!     .prompt("summarize", prompt(summarize).description("Summarize a topic"));
//! // router.serve_stdio().await, or serve_io over any byte stream.
//! # let _ = router;
//! ```
//!
//! - Tools: [`server::tool`], [`server::IntoToolResult`], [`server::ToolError`] (an
//!   execution error the model sees, or a protocol error).
//! - Resources and templates: [`server::resource`], [`server::Uri`], [`server::files`].
//! - Prompts and completions: [`server::prompt`], [`server::Complete`].
//! - Questions to the client: [`server::Context::elicit`], [`server::Context::sample`],
//!   [`server::Context::list_roots`]. These are real requests in legacy sessions and multi
//!   round-trips in the modern era, from the same handler code.
//! - Changes at runtime and notifications: [`server::ServerHandle`]. Startup and shutdown:
//!   [`server::Lifespan`].
//! - Middleware: any `tower` layer around every request ([`server::Router::layer`]) or one
//!   tool, prompt or resource ([`server::ToolDef::layer`]); see [`server::middleware`].
//!
//! Every handler runs in a task of its own, never on the task that reads the connection: a
//! slow or CPU-bound tool does not hold up the requests after it, and a cancellation reaches
//! it while it runs. Serve on the multi-threaded runtime that `#[tokio::main]` builds, and
//! put blocking work (synchronous I/O, long computations) in `tokio::task::spawn_blocking`,
//! so it runs on a thread meant for blocking and leaves the runtime's workers free.
//!
//! ## Clients
//!
//! [`client::Client`] probes a server with `server/discover` and falls back to `initialize`
//! for legacy servers. It then offers typed methods for tools, resources, prompts,
//! completions and subscriptions in both eras, and answers the server's questions with the
//! handlers you give it.
//!
//! ## Testing
//!
//! [`testing::TestClient`] wires a real client to a router in-process, in either era.
//!
//! ## Errors
//!
//! Clients and transports return the opaque [`Error`]: ask it with predicates
//! (`is_timeout`, `is_closed`, `rpc_error`, ...); causes come from `source()`. Handlers
//! fail with [`server::ToolError`], and the wire error object is
//! [`protocol::ErrorObject`].
//!
//! ## Features
//!
//! | feature  | default | what it adds |
//! |----------|---------|--------------|
//! | `server` | yes     | [`server::Router`], extractors, handlers; serving any byte stream ([`server::Router::serve_io`]) |
//! | `client` | yes     | [`client::Client`]; connecting over any byte stream ([`client::ClientBuilder::connect_io`]) |
//! | `stdio`  | yes     | serving on this process's stdin/stdout, and spawning a server as a child process |
//! | `output-validation` | yes | tool results checked against their `outputSchema` (the `jsonschema` crate): by the server for its own tools (a hand-written schema always, a derived one in debug builds), by the client for what servers return; without it nothing is checked, and a server's binary is about 1 MiB smaller |
//! | `tracing-layer` | no | `server::ClientLogLayer`: a handler's `tracing` events go to its client as log messages |
//! | `http-server` | no | the Streamable HTTP server |
//! | `http-client` | no | the Streamable HTTP client |
//! | `auth` | no | the OAuth 2.1 resource server: token verifiers, Protected Resource Metadata and challenges on the HTTP server, the `Auth` extractor, scopes per item |
//! | `oauth` | no | OAuth 2.1 for the HTTP client (`client::oauth`): discovery, registration, every grant the conformance suite tests, DPoP |
//! | `otel` | no | a span per MCP request and notification on both sides (OpenTelemetry conventions for MCP), trace context in `_meta` |
//! | `metrics` | no | MCP metrics in the Prometheus text format, `/metrics`, `/healthz`, `/readyz` |
//! | `sse-server` | no | the 2024-11-05 HTTP+SSE transport beside Streamable HTTP (`/sse`, `/messages`) |
//! | `sse-client` | no | the HTTP+SSE client, and the Streamable HTTP client's fallback to it |
//! | `ws-server` | no | WebSocket (subprotocol `mcp`) on the same listener (`/ws`) |
//! | `ws-client` | no | the WebSocket client |
//! | `auth-server` | no | [`auth_server`]: a built-in OAuth 2.1 authorization server (metadata, JWKS, authorize, token, registration, revocation) as an axum router |
//! | `openapi` | no | `server::openapi`: every operation of an OpenAPI 3.0 or 3.1 document as a tool, called with reqwest |
//! | `macros` | no | `server::debug_handler`: on a handler that does not compile, an error that points at the argument or return type at fault |
//!
//! Logs go through [`tracing`]; the library never prints to stdout, which on stdio is the
//! protocol channel.
//!
//! ## How it is built
//!
//! [ARCHITECTURE.md](https://github.com/oxmcp/oxmcp/blob/main/ARCHITECTURE.md) follows a
//! request from bytes to handler and back, gives the rules for which layer may use which,
//! and says where to add a transport, an extractor, a layer or a method.

mod error;
#[cfg(all(feature = "metrics", any(feature = "server", feature = "client")))]
pub mod metrics;
#[cfg(all(feature = "otel", any(feature = "server", feature = "client")))]
pub mod otel;
#[cfg(all(
    feature = "output-validation",
    any(feature = "server", feature = "client")
))]
pub(crate) mod output_schema;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) mod rpc;
#[cfg(any(feature = "server", feature = "client"))]
pub mod transport;

#[cfg(feature = "auth-server")]
pub mod auth_server;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "skills")]
pub mod skills;
#[cfg(all(feature = "server", feature = "client"))]
pub mod testing;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

/// Guides: one page per topic, with examples that compile.
#[cfg(any(feature = "server", feature = "oauth"))]
pub mod guide {
    #[cfg(feature = "http-server")]
    #[doc = include_str!("../docs/guide/serving.md")]
    pub mod serving {}

    #[cfg(feature = "server")]
    #[doc = include_str!("../docs/guide/middleware.md")]
    pub mod middleware {}

    #[cfg(feature = "oauth")]
    #[doc = include_str!("../docs/guide/oauth_client.md")]
    pub mod oauth_client {}

    #[cfg(feature = "auth-server")]
    #[doc = include_str!("../docs/guide/authorization_server.md")]
    pub mod authorization_server {}

    #[cfg(all(feature = "auth", feature = "auth-server"))]
    #[doc = include_str!("../docs/guide/securing.md")]
    pub mod securing {}

    #[cfg(feature = "client")]
    #[doc = include_str!("../docs/guide/extensions.md")]
    pub mod extensions {}

    #[cfg(all(
        feature = "metrics",
        feature = "http-server",
        feature = "http-client",
        feature = "stdio"
    ))]
    #[doc = include_str!("../docs/guide/operations.md")]
    pub mod operations {}

    #[cfg(all(feature = "client", feature = "stdio"))]
    #[doc = include_str!("../docs/guide/composition.md")]
    pub mod composition {}

    #[cfg(all(feature = "openapi", feature = "stdio"))]
    #[doc = include_str!("../docs/guide/openapi.md")]
    pub mod openapi {}

    #[cfg(feature = "server")]
    #[doc = include_str!("../docs/guide/robustness.md")]
    pub mod robustness {}

    #[cfg(all(
        feature = "sse-server",
        feature = "ws-server",
        feature = "sse-client",
        feature = "ws-client"
    ))]
    #[doc = include_str!("../docs/guide/transports.md")]
    pub mod transports {}
}

pub use error::{CircuitOpen, Error, OAuthError, Result};
pub use oxmcp_protocol as protocol;
#[cfg(any(feature = "server", feature = "client"))]
pub use rpc::{Progress, ProgressCallback};

/// schemars 1, the version whose `JsonSchema` the argument types of [`server::Args`] derive.
#[cfg(feature = "server")]
pub use schemars;
/// serde, the version whose `Deserialize` the argument types of [`server::Args`] derive
/// (and what `#[server::debug_handler]` checks them against).
#[cfg(feature = "server")]
pub use serde;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
