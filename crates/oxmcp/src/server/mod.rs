//! Building MCP servers: a [`Router`] of tools whose handlers are plain async functions.
//!
//! ```no_run
//! use oxmcp::server::{Args, Json, Router, tool};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct AddArgs { a: i64, b: i64 }
//!
//! async fn add(Args(args): Args<AddArgs>) -> String {
//!     (args.a + args.b).to_string()
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Weather { city: String, temperature_c: f64 }
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct City { city: String }
//!
//! async fn weather(Args(q): Args<City>) -> Json<Weather> {
//!     Json(Weather { city: q.city, temperature_c: 21.5 })
//! }
//!
//! # async fn run() -> oxmcp::Result<()> {
//! Router::new()
//!     .name("demo")
//!     .tool("add", tool(add).description("Add two integers"))
//!     .tool("weather", weather)
//!     .serve_stdio()
//!     .await
//! # }
//! ```
//!
//! One server answers both eras: legacy clients (2024-11-05 to 2025-11-25) that open a
//! session with `initialize`, and modern clients (2026-07-28) whose every request carries
//! its protocol version and capabilities in `_meta`.

mod connection;
mod context;
mod error;
pub mod extract;
mod response;
mod service;
mod session;
mod tool;

use std::sync::Arc;

use indexmap::IndexMap;
use oxmcp_protocol::lifecycle::Implementation;
use oxmcp_protocol::tools::Tool;

pub use context::Context;
pub use error::ToolError;
pub use extract::{Args, FromToolCall, State, ToolCall};
pub use response::{IntoToolResult, Json};
pub use service::CacheHints;
pub use tool::{tool, IntoTool, ToolDef, ToolHandler};

use crate::rpc::{Peer, DEFAULT_MAX_IN_FLIGHT};

/// The registry of a server's tools, with its identity and settings.
///
/// `S` is the state the tools still need ([`State<S>`]); supply it with
/// [`with_state`](Router::with_state). Only a `Router<()>`, with nothing left to supply,
/// can serve.
#[must_use]
pub struct Router<S = ()> {
    tools: IndexMap<String, (Tool, Arc<dyn tool::ErasedTool<S>>)>,
    info: Implementation,
    instructions: Option<String>,
    cache: CacheHints,
    max_in_flight: usize,
}

impl<S: Clone + Send + Sync + 'static> Default for Router<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// An empty router named `oxmcp-server`.
    pub fn new() -> Self {
        Router {
            tools: IndexMap::new(),
            info: Implementation::new("oxmcp-server", env!("CARGO_PKG_VERSION")),
            instructions: None,
            cache: CacheHints::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// Registers a tool: a handler, or a [`ToolDef`] made with [`tool`] to add a title,
    /// description, annotations or icons. Tools are listed in registration order.
    ///
    /// # Panics
    /// If the name breaks the MCP tool-name rules (1 to 128 characters of `A-Z a-z 0-9 _ -
    /// .`), if a tool of that name exists already, or if two of the handler's arguments
    /// both decode the tool arguments.
    pub fn tool<M, H: IntoTool<M, S>>(mut self, name: &str, handler: H) -> Self {
        assert!(
            !self.tools.contains_key(name),
            "a tool named {name:?} is registered already"
        );
        let (def, erased) = handler.into_tool(name);
        self.tools.insert(name.to_owned(), (def, erased));
        self
    }

    /// The server's name, reported to clients.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info.name = name.into();
        self
    }

    /// The server's version, reported to clients.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// The full implementation info (name, version, title, description, icons, website).
    pub fn server_info(mut self, info: Implementation) -> Self {
        self.info = info;
        self
    }

    /// Guidance for the model on how to use this server.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Cache hints of the modern era's cacheable results (`server/discover`, lists).
    pub fn cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache = hints;
        self
    }

    /// The most requests one connection handles at once (default 256). Past it, the
    /// server stops reading that connection until a request finishes.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Supplies the state the tools extract with [`State<S>`].
    pub fn with_state<S2>(self, state: S) -> Router<S2> {
        let tools = self
            .tools
            .into_iter()
            .map(|(name, (def, erased))| {
                let ready: Arc<dyn tool::ErasedTool<S2>> = Arc::new(tool::WithState {
                    tool: erased,
                    state: state.clone(),
                });
                (name, (def, ready))
            })
            .collect();
        Router {
            tools,
            info: self.info,
            instructions: self.instructions,
            cache: self.cache,
            max_in_flight: self.max_in_flight,
        }
    }

    /// The tool definitions, in listing order.
    pub fn tools(&self) -> impl Iterator<Item = &Tool> {
        self.tools.values().map(|(def, _)| def)
    }
}

impl Router<()> {
    pub(crate) fn build(self) -> Arc<service::Server> {
        Arc::new(service::Server::new(service::ServerParts {
            tools: self.tools.into_values().collect(),
            info: self.info,
            instructions: self.instructions,
            cache: self.cache,
        }))
    }

    /// Starts one connection's handler and its peer.
    pub(crate) fn connection(
        server: &Arc<service::Server>,
        max_in_flight: usize,
    ) -> (Peer, Arc<connection::Connection>) {
        (
            Peer::new(max_in_flight),
            Arc::new(connection::Connection::new(server.clone())),
        )
    }

    /// Serves this router on stdin/stdout until stdin closes, then finishes the requests
    /// still running. Never writes anything but protocol messages to stdout.
    ///
    /// # Errors
    /// If reading stdin or writing stdout fails.
    #[cfg(feature = "stdio")]
    pub async fn serve_stdio(self) -> crate::Result<()> {
        let max = self.max_in_flight;
        let server = self.build();
        let (peer, handler) = Self::connection(&server, max);
        crate::transport::stdio::serve_stdio(peer, handler)
            .await
            .map_err(|e| crate::Error::transport("serve stdio", e))
    }

    /// Serves this router over any pair of byte streams carrying newline-delimited JSON-RPC
    /// (a socket, a pipe, an in-memory duplex), until the reader ends.
    ///
    /// # Errors
    /// If reading or writing fails.
    pub async fn serve_io<R, W>(self, reader: R, writer: W) -> crate::Result<()>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let max = self.max_in_flight;
        let server = self.build();
        let (peer, handler) = Self::connection(&server, max);
        crate::transport::lines::serve_lines(peer, handler, reader, writer)
            .await
            .map_err(|e| crate::Error::transport("serve connection", e))
    }

    #[cfg(feature = "client")]
    pub(crate) fn max_in_flight_setting(&self) -> usize {
        self.max_in_flight
    }
}
