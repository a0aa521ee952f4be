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
//! Resources (static URIs and RFC 6570 templates), prompts and completions are registered
//! the same way ([`Router::resource`], [`Router::resource_template`], [`Router::prompt`]),
//! and a [`ServerHandle`] changes them while the server runs.
//!
//! One server answers both eras: legacy clients (2024-11-05 to 2025-11-25) that open a
//! session with `initialize`, and modern clients (2026-07-28) whose every request carries
//! its protocol version and capabilities in `_meta`.

pub mod apps;
pub mod ask;
#[cfg(feature = "auth")]
pub mod auth;
mod completion;
pub mod compose;
pub(crate) mod connection;
mod context;
mod error;
mod extension;
mod extract;
mod handle;
mod handler;
#[cfg(feature = "http-server")]
pub mod http;
mod lifespan;
pub mod limits;
#[cfg(feature = "tracing-layer")]
mod log_layer;
pub mod middleware;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "output-validation")]
mod output_check;
mod prompt;
mod ready;
mod registry;
mod reply;
mod resource;
mod response;
mod sealed;
mod session;
mod shared;
#[cfg(any(feature = "http-server", feature = "stdio"))]
mod signal;
#[cfg(feature = "skills")]
mod skills;
pub mod tasks;
mod tool;
pub(crate) mod uri_template;

use std::sync::Arc;

use oxmcp_protocol::lifecycle::Implementation;
use oxmcp_protocol::prompts::Prompt;
use oxmcp_protocol::tools::Tool;

pub use completion::{Complete, Completer, IntoCompleter, IntoCompletion};
pub use context::Context;
pub use error::ToolError;
pub use extension::{MethodRequest, MethodResult, ServerExtension};
pub use extract::{Args, FromRequest, Request, ResourceUri, State, Target, Uri};
pub use handle::{AddError, ServerHandle};
pub use handler::Handler;
pub use lifespan::Lifespan;
#[cfg(feature = "tracing-layer")]
pub use log_layer::ClientLogLayer;
#[cfg(feature = "macros")]
pub use oxmcp_macros::debug_handler;
pub use prompt::{prompt, IntoPrompt, IntoPromptResult, PromptDef};
pub use ready::ReadyToServe;
pub use resource::{
    files, mime_type_for, resource, Blob, FileContents, FilePath, IntoResource,
    IntoResourceContents, ResourceDef,
};
pub use response::{IntoToolResult, Json};
pub use shared::CacheHints;
#[cfg(feature = "skills")]
pub use skills::Skills;
pub use tool::{tool, IntoTool, ToolDef};

use crate::rpc::{Peer, DEFAULT_MAX_IN_FLIGHT};
#[cfg(feature = "http-server")]
pub(crate) use connection::ConnectionHandler;
pub(crate) use shared::Shared;
use shared::{CachePolicy, Settings, TemplateEntry};

/// The registry of a server's tools, resources and prompts, with its identity and
/// settings.
///
/// `S` is the state the handlers still need ([`State<S>`]); supply it with
/// [`with_state`](Router::with_state). Only a `Router<()>`, with nothing left to supply,
/// can serve.
#[must_use]
pub struct Router<S = ()> {
    shared: Arc<Shared>,
    tools: Vec<(String, Tool, Arc<tool::ErasedTool<S>>)>,
    resources: Vec<(String, resource::StaticParts<S>)>,
    templates: Vec<(String, resource::TemplateParts<S>)>,
    prompts: Vec<(String, Prompt, prompt::PromptEntry<S>)>,
    info: Implementation,
    instructions: Option<String>,
    cache: CachePolicy,
    page_size: Option<usize>,
    max_in_flight: usize,
    grace: std::time::Duration,
    max_uri_length: usize,
    request_state: ask::StateSettings,
    limits: limits::Settings,
    layers: Option<middleware::Endpoint>,
    #[cfg(feature = "auth")]
    scope_policy: Option<Arc<auth::ScopePolicy>>,
    /// Extensions advertised, by identifier, with their settings.
    extensions: std::collections::BTreeMap<String, oxmcp_protocol::JsonObject>,
    /// Methods extensions added.
    methods: Vec<(String, extension::MethodHandler)>,
    /// The tasks extension's runtime, once installed.
    tasks: Option<Arc<tasks::Runtime>>,
    /// The state, once given: what the handlers a [`ServerHandle`] adds run with.
    state: Arc<std::sync::OnceLock<S>>,
    /// Routers mounted in this one ([`Router::mount`]).
    mounts: Vec<Arc<compose::Link>>,
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
            shared: Arc::default(),
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            info: Implementation::new("oxmcp-server", env!("CARGO_PKG_VERSION")),
            instructions: None,
            cache: CachePolicy::default(),
            page_size: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            grace: crate::rpc::DEFAULT_GRACE,
            layers: None,
            #[cfg(feature = "auth")]
            scope_policy: None,
            max_uri_length: resource::DEFAULT_MAX_URI_LENGTH,
            request_state: ask::StateSettings::default(),
            limits: limits::Settings::default(),
            extensions: std::collections::BTreeMap::new(),
            methods: Vec::new(),
            tasks: None,
            state: Arc::default(),
            mounts: Vec::new(),
        }
    }

    /// The scope policy of every item (feature `auth`): default scopes for items that
    /// name none, a scope hierarchy, and a check per item (see
    /// [`ScopePolicy`](auth::ScopePolicy)).
    #[cfg(feature = "auth")]
    pub fn scope_policy(mut self, policy: auth::ScopePolicy) -> Self {
        self.scope_policy = Some(Arc::new(policy));
        self
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
            !self.tools.iter().any(|(n, ..)| n == name),
            "a tool named {name:?} is registered already"
        );
        let (def, erased) = handler.into_tool(name);
        self.tools.push((name.to_owned(), def, erased));
        self
    }

    /// Registers a resource at a fixed URI: a handler, or a [`ResourceDef`] made with
    /// [`resource`] to add a name, description, MIME type, ...
    ///
    /// # Panics
    /// If a resource with that URI exists already.
    pub fn resource<M, H: IntoResource<M, S>>(mut self, uri: &str, handler: H) -> Self {
        assert!(
            !self.resources.iter().any(|(u, _)| u == uri),
            "a resource {uri:?} is registered already"
        );
        let parts = handler.into_resource_def().into_static(uri);
        self.resources.push((uri.to_owned(), parts));
        self
    }

    /// Registers a resource template (RFC 6570, e.g. `users://{id}/profile`); the handler
    /// reads its variables with [`Uri<T>`]. A read is served by the first template that
    /// matches, after the static resources.
    ///
    /// # Panics
    /// If the template does not parse, or is registered already.
    pub fn resource_template<M, H: IntoResource<M, S>>(
        mut self,
        template: &str,
        handler: H,
    ) -> Self {
        assert!(
            !self.templates.iter().any(|(t, _)| t == template),
            "a resource template {template:?} is registered already"
        );
        let parts = handler.into_resource_def().into_template(template);
        self.templates.push((template.to_owned(), parts));
        self
    }

    /// Registers a prompt: a handler, or a [`PromptDef`] made with [`prompt`].
    ///
    /// # Panics
    /// If a prompt of that name exists already, or a completer names no argument.
    pub fn prompt<M, H: IntoPrompt<M, S>>(mut self, name: &str, handler: H) -> Self {
        assert!(
            !self.prompts.iter().any(|(n, ..)| n == name),
            "a prompt named {name:?} is registered already"
        );
        let (def, entry) = handler.into_prompt(name);
        self.prompts.push((name.to_owned(), def, entry));
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

    /// Cache hints of the modern era's cacheable results, all kinds alike.
    pub fn cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache = CachePolicy {
            discover: hints,
            tools: hints,
            resources: hints,
            prompts: hints,
        };
        self
    }

    /// Cache hints of `tools/list` results.
    pub fn tool_cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache.tools = hints;
        self
    }

    /// Cache hints of resource lists and `resources/read` results.
    pub fn resource_cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache.resources = hints;
        self
    }

    /// Cache hints of `prompts/list` results.
    pub fn prompt_cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache.prompts = hints;
        self
    }

    /// Splits every list into pages of at most `size` items, with opaque cursors (default:
    /// everything in one page).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size.max(1));
        self
    }

    /// The most requests one connection runs handlers for at once (default 256). Past it,
    /// as many more wait for their turn; a request beyond those is refused at once with a
    /// JSON-RPC error (code -32000) that says the server is busy. The connection is read
    /// all the while, so cancellations and pings always get through.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Puts a `tower` layer around every request the router answers (see [`middleware`]).
    /// Called again, the new layer goes around the ones before: the last one added sees a
    /// request first. Layers of one tool, prompt or resource
    /// ([`ToolDef::layer`](crate::server::ToolDef::layer)) run inside the router's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmcp::server::Router;
    ///
    /// let router: Router = Router::new()
    ///     .layer(tower::limit::ConcurrencyLimitLayer::new(64))
    ///     .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(30)));
    /// # let _ = router;
    /// ```
    pub fn layer(mut self, layer: impl middleware::McpLayer) -> Self {
        self.layers = middleware::Endpoint::stack(self.layers.take(), layer);
        self
    }

    /// Installs a [`ServerExtension`]: its identifier and settings are advertised under
    /// `capabilities.extensions` (in `server/discover` and `initialize`), and what it
    /// brings (tools, resources, layers, methods) is added by its
    /// [`install`](ServerExtension::install).
    ///
    /// # Panics
    /// If the identifier is not a vendor prefix, a `/` and a name
    /// (`io.modelcontextprotocol/tasks`), or an extension of that identifier is installed
    /// already.
    pub fn extension<E: ServerExtension<S>>(mut self, extension: E) -> Self {
        let id = extension.id().to_owned();
        assert!(
            extension::valid_id(&id),
            "extension identifier {id:?} is not a vendor prefix, a '/' and a name (e.g. \"com.example/audit\")"
        );
        assert!(
            !self.extensions.contains_key(&id),
            "an extension {id:?} is installed already"
        );
        self.extensions.insert(id, extension.settings());
        extension.install(self)
    }

    /// Adds a JSON-RPC method, for a [`ServerExtension`] to bring its own (`tasks/get`,
    /// `skills/list`). The handler gets the params and the request's [`Context`] and
    /// answers a JSON object; a modern request's result gets `resultType: "complete"`
    /// (unless the handler set one) and the server's `_meta`. The router's layers see these
    /// requests like any other.
    ///
    /// # Panics
    /// If the protocol defines the method already, or it was added before.
    pub fn method<F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(MethodRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = MethodResult> + Send + 'static,
    {
        assert!(
            !connection::is_core_method(name),
            "{name:?} is a method of the protocol; an extension cannot replace it"
        );
        assert!(
            !self.methods.iter().any(|(n, _)| n == name),
            "a method {name:?} is added already"
        );
        self.methods
            .push((name.to_owned(), extension::method_handler(handler)));
        self
    }

    /// How long the requests still running when a byte-stream connection's input ends
    /// (stdio: stdin closed) may take to be answered (default 5 s). Those still running
    /// then are cancelled. Requests waiting on the client (an elicitation, a sampling
    /// request) fail at once when the input ends, since no answer can come.
    pub fn shutdown_grace(mut self, grace: std::time::Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The longest URI, in bytes, that `resources/read` looks up (default 64 KiB); a longer
    /// one is refused with an invalid-params error that says so.
    ///
    /// Resource URIs are short in practice (paths end at 4 KiB, HTTP asks for 8,000 bytes of
    /// URI at least); the default leaves room for URIs that carry data while bounding the
    /// work of matching one against every template.
    pub fn max_uri_length(mut self, bytes: usize) -> Self {
        self.max_uri_length = bytes;
        self
    }

    /// A handle to add and remove tools, resources and prompts while the server runs, and to
    /// announce resource updates. Its handlers may extract [`State<S>`] like the router's.
    pub fn handle(&self) -> ServerHandle<S> {
        ServerHandle {
            shared: self.shared.clone(),
            state: self.state.clone(),
        }
    }

    /// Supplies the state the handlers extract with [`State<S>`].
    pub fn with_state<S2>(self, state: S) -> Router<S2> {
        let _ = self.state.set(state.clone());
        self.supply(&handler::StateValue(state))
    }

    /// Supplies the state from an async startup hook, run when the server starts serving;
    /// its [`Lifespan`] may add a shutdown hook, run once the input has ended and every
    /// request in flight has finished. Serving fails if the startup hook fails.
    pub fn with_lifespan<S2, F, Fut, E>(self, startup: F) -> Router<S2>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Lifespan<S>, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let cell = self.state.clone();
        *self.shared.hooks.startup.lock().expect("hooks lock") =
            Some(lifespan::startup(startup, cell.clone()));
        self.supply(&lifespan::LateState { cell })
    }

    fn supply<S2>(self, supplier: &impl Supplier<S, S2>) -> Router<S2> {
        Router {
            shared: self.shared,
            tools: self
                .tools
                .into_iter()
                .map(|(name, def, erased)| (name, def, supplier.supply(erased)))
                .collect(),
            resources: self
                .resources
                .into_iter()
                .map(|(uri, parts)| {
                    (
                        uri,
                        resource::StaticParts {
                            def: parts.def,
                            entry: resource::supply(parts.entry, supplier),
                        },
                    )
                })
                .collect(),
            templates: self
                .templates
                .into_iter()
                .map(|(t, parts)| {
                    let entry = resource::supply(parts.entry, supplier);
                    (
                        t,
                        resource::TemplateParts {
                            def: parts.def,
                            template: parts.template,
                            entry,
                        },
                    )
                })
                .collect(),
            prompts: self
                .prompts
                .into_iter()
                .map(|(name, def, entry)| (name, def, prompt::supply(entry, supplier)))
                .collect(),
            info: self.info,
            instructions: self.instructions,
            cache: self.cache,
            page_size: self.page_size,
            max_in_flight: self.max_in_flight,
            grace: self.grace,
            layers: self.layers,
            #[cfg(feature = "auth")]
            scope_policy: self.scope_policy,
            max_uri_length: self.max_uri_length,
            request_state: self.request_state,
            limits: self.limits,
            extensions: self.extensions,
            methods: self.methods,
            tasks: self.tasks,
            state: Arc::default(),
            mounts: self.mounts,
        }
    }

    /// The tool definitions, in listing order (mounted routers' last).
    pub fn tools(&self) -> impl Iterator<Item = &Tool> {
        let mounted = self.mounts.iter().flat_map(|m| m.listed.iter());
        self.tools.iter().map(|(_, def, _)| def).chain(mounted)
    }
}

/// Supplies handlers with their state: a value (`with_state`) or one a lifespan fills.
pub(crate) trait Supplier<S, S2> {
    fn supply<O: 'static>(
        &self,
        inner: Arc<dyn handler::ErasedHandler<S, O>>,
    ) -> Arc<dyn handler::ErasedHandler<S2, O>>;
}

impl<S: Clone + Send + Sync + 'static, S2> Supplier<S, S2> for handler::StateValue<S> {
    fn supply<O: 'static>(
        &self,
        inner: Arc<dyn handler::ErasedHandler<S, O>>,
    ) -> Arc<dyn handler::ErasedHandler<S2, O>> {
        Arc::new(handler::WithState {
            inner,
            state: self.0.clone(),
        })
    }
}

impl<S: Send + Sync + 'static, S2> Supplier<S, S2> for lifespan::LateState<S> {
    fn supply<O: 'static>(
        &self,
        inner: Arc<dyn handler::ErasedHandler<S, O>>,
    ) -> Arc<dyn handler::ErasedHandler<S2, O>> {
        Arc::new(lifespan::WithLateState {
            inner,
            state: self.cell.clone(),
        })
    }
}

impl Router<()> {
    /// Puts everything registered into the shared registries and fixes the settings.
    pub(crate) fn build(self) -> Arc<Shared> {
        let _ = self.state.set(());
        let shared = self.shared;
        shared.tools.insert_all(self.tools);
        shared.resources.insert_all(
            self.resources
                .into_iter()
                .map(|(uri, parts)| (uri, parts.def, parts.entry)),
        );
        shared
            .templates
            .insert_all(self.templates.into_iter().map(|(template, parts)| {
                let entry = TemplateEntry {
                    template: Arc::new(parts.template),
                    entry: parts.entry,
                };
                (template, parts.def, entry)
            }));
        shared.prompts.insert_all(self.prompts);
        compose::attach(&shared, self.mounts);
        shared.configure(Settings {
            info: self.info,
            instructions: self.instructions,
            cache: self.cache,
            page_size: self.page_size,
            max_uri_length: self.max_uri_length,
            request_state: self.request_state,
            limits: self.limits,
            layers: self.layers,
            #[cfg(feature = "auth")]
            scope_policy: self.scope_policy,
            extensions: self.extensions,
            methods: self.methods.into_iter().collect(),
            tasks: self.tasks,
        });
        shared
    }

    /// Starts one connection's handler and its peer.
    #[cfg_attr(
        not(any(feature = "client", feature = "http-server")),
        allow(dead_code)
    )]
    pub(crate) fn connection(
        shared: &Arc<Shared>,
        max_in_flight: usize,
    ) -> (Peer, Arc<connection::ConnectionHandler>) {
        (Peer::new(max_in_flight), Self::handler(shared))
    }

    /// A new connection's handler.
    fn handler(shared: &Arc<Shared>) -> Arc<connection::ConnectionHandler> {
        let connection = connection::Connection::new(shared.clone());
        Arc::new(connection::ConnectionHandler(connection))
    }

    #[cfg(feature = "client")]
    pub(crate) fn max_in_flight_setting(&self) -> usize {
        self.max_in_flight
    }
}

/// Serving: defined on every `Router<S>` but bounded by [`ReadyToServe`], which only a
/// `Router<()>` is, so that forgetting `.with_state(...)` gets an error that says so
/// (rather than "no method found"), while a router that needs no state still infers `()`.
impl<S> Router<S> {
    /// Serves this router on stdin/stdout until stdin closes, then finishes the requests
    /// still running. Never writes anything but protocol messages to stdout.
    ///
    /// `SIGTERM` and `SIGINT` (Ctrl-C) stop it gracefully: no more input is read, the
    /// requests in flight are answered within [`shutdown_grace`](Router::shutdown_grace),
    /// the lifespan's shutdown hook runs, and this returns `Ok` (so `main` exits 0). To
    /// leave the signals alone, serve the same streams with
    /// [`serve_io`](Router::serve_io)`(tokio::io::stdin(), tokio::io::stdout())`.
    ///
    /// Handlers run in tasks of their own, never on the task that reads stdin; on the
    /// multi-threaded runtime that `#[tokio::main]` builds, even a handler that blocks its
    /// thread does not stop the others. Wrap blocking work (file system calls, CPU-heavy
    /// loops, synchronous clients) in `tokio::task::spawn_blocking`, which runs it on a
    /// thread meant for blocking, so the runtime's worker threads stay free.
    ///
    /// # Errors
    /// If reading stdin or writing stdout fails.
    #[cfg(feature = "stdio")]
    pub async fn serve_stdio(self) -> crate::Result<()>
    where
        Self: ReadyToServe,
    {
        let router = ready::into_ready(self);
        let (max, grace) = (router.max_in_flight, router.grace);
        let max_frame = limits::Limits::max_frame(router.given_limits());
        let shared = router.build();
        shared.hooks.start().await?;
        let (peer, handler) = (Peer::with_grace(max, grace), Router::handler(&shared));
        let stop = signal::terminate();
        let served = crate::transport::stdio::serve_stdio(peer, handler, max_frame, stop).await;
        shared.hooks.stop().await;
        served.map_err(|e| crate::Error::transport("serve stdio", e))
    }

    /// Serves this router over any pair of byte streams carrying newline-delimited JSON-RPC
    /// (a socket, a pipe, an in-memory duplex), until the reader ends.
    ///
    /// # Errors
    /// If reading or writing fails.
    pub async fn serve_io<R, W>(self, reader: R, writer: W) -> crate::Result<()>
    where
        Self: ReadyToServe,
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let router = ready::into_ready(self);
        let (max, grace) = (router.max_in_flight, router.grace);
        let max_frame = limits::Limits::max_frame(router.given_limits());
        let shared = router.build();
        shared.hooks.start().await?;
        let (peer, handler) = (Peer::with_grace(max, grace), Router::handler(&shared));
        let served = crate::transport::lines::serve_lines(
            peer,
            handler,
            (reader, writer),
            max_frame,
            std::future::pending(),
        )
        .await;
        shared.hooks.stop().await;
        served.map_err(|e| crate::Error::transport("serve connection", e))
    }
}

/// 128 random bits from the OS, for ids that must be unique (session ids, elicitation ids).
/// Without OS randomness, the time in nanoseconds: still unique, if guessable.
pub(crate) fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    u128::from_le_bytes(bytes)
}
