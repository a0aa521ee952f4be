//! Connecting to MCP servers.
//!
//! A [`Client`] finds out which era a server speaks: it probes with `server/discover`
//! (2026-07-28) and falls back to the `initialize` handshake for legacy servers, then offers
//! the same typed methods either way.
//!
//! ```no_run
//! use oxmcp::client::Client;
//! use oxmcp::transport::stdio::ChildCommand;
//!
//! # async fn run() -> oxmcp::Result<()> {
//! let client = Client::builder()
//!     .name("my-app")
//!     .connect_stdio(ChildCommand::new("my-mcp-server"))
//!     .await?;
//! println!("speaking {}", client.protocol_version());
//! for tool in client.list_all_tools().await? {
//!     println!("{}", tool.name);
//! }
//! let result = client.call_tool("add", serde_json::json!({ "a": 2, "b": 3 })).await?;
//! client.close().await?;
//! # let _ = result; Ok(()) }
//! ```
//!
//! ## When the server asks
//!
//! A server may ask the client to sample an LLM, to elicit input from the user, or for
//! its roots. Set a handler for each on the [`ClientBuilder`]
//! ([`on_sampling`](ClientBuilder::on_sampling),
//! [`on_elicitation`](ClientBuilder::on_elicitation), [`on_roots`](ClientBuilder::on_roots)
//! or [`roots`](ClientBuilder::roots)); setting one declares the matching capability.
//! Legacy servers send these questions as requests of their own. Modern servers answer a
//! `tools/call`, `prompts/get` or `resources/read` with `input_required` instead: the
//! client answers with the same handlers and retries the request for you, so
//! [`Client::call_tool`] returns the final result either way.
//!
//! ## Notifications
//!
//! [`ClientBuilder::on_notification`] receives the server's notifications, typed, and
//! [`ClientBuilder::on_log`] its log messages. With a modern server, change notifications
//! come on a [`Subscription`] opened with [`Client::listen`]; with a legacy one, they come
//! to the callback (after [`Client::subscribe_resource`] for resource updates).

mod builder;
mod cache;
mod circuit;
mod handlers;
#[cfg(feature = "http-client")]
mod http;
mod inbound;
mod methods;
mod mrtr;
#[cfg(feature = "oauth")]
pub mod oauth;
#[cfg(feature = "skills")]
mod skills;
#[cfg(feature = "sse-client")]
mod sse;
mod subscription;
mod tap;
pub mod tasks;
#[cfg(feature = "ws-client")]
mod ws;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp_protocol::lifecycle::{ClientCapabilities, Implementation, ServerCapabilities};
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::meta::{
    CLIENT_CAPABILITIES, CLIENT_INFO, LOG_LEVEL, PROGRESS_TOKEN, PROTOCOL_VERSION,
};
use oxmcp_protocol::{Era, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

#[cfg(feature = "http-client")]
pub use crate::transport::http::client::{HttpClientConfig, RetryPolicy};
#[cfg(feature = "ws-client")]
pub use crate::transport::ws::WsClientConfig;
pub use builder::{ClientBuilder, EraChoice};
pub use cache::ResponseCache;
pub use circuit::{CircuitBreaker, CircuitState};
#[cfg(feature = "skills")]
pub use skills::LoadedSkill;
pub use subscription::Subscription;
pub use tap::FrameDirection;

use crate::error::{Error, Result};
use crate::rpc::{Outbound, Peer, ProgressCallback, RequestOptions};
#[cfg(feature = "stdio")]
use crate::transport::stdio::ChildProcess;

/// A connection to an MCP server. Cloning is cheap: clones share the connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    peer: Peer,
    outbound: Outbound,
    version: ProtocolVersion,
    info: Implementation,
    capabilities: ClientCapabilities,
    server: ServerDetails,
    timeout: Option<Duration>,
    max_timeout: Option<Duration>,
    handlers: handlers::Handlers,
    subscriptions: Arc<subscription::Subscriptions>,
    /// The output schemas of the tools listed so far, which their results are checked
    /// against.
    #[cfg(feature = "output-validation")]
    output_schemas: crate::output_schema::ListedSchemas,
    /// The cache of answers the server marked cacheable, unless it is turned off.
    cache: Option<cache::ClientCache>,
    /// The log level of `set_log_level`, sent in every modern request's `_meta`.
    log_level: Mutex<Option<LoggingLevel>>,
    /// The members of `_meta` a modern request always carries (version, capabilities,
    /// client info), as JSON text without braces: written on first use, once.
    era_meta: std::sync::OnceLock<String>,
    max_input_rounds: usize,
    /// Refuses requests while the server is taken for unavailable.
    breaker: Option<CircuitBreaker>,
    #[cfg_attr(not(feature = "stdio"), allow(dead_code))]
    child: ChildSlot,
    driver: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// What the transport does on [`Client::close`] once the connection is down (HTTP:
    /// delete the session).
    #[cfg_attr(not(feature = "http-client"), allow(dead_code))]
    close_hook: std::sync::Mutex<Option<CloseHook>>,
    /// Lasts as long as the client (its session's duration, for the metrics).
    #[cfg(feature = "otel")]
    #[allow(dead_code)]
    session_span: tracing::Span,
}

/// A request's params on their way out: a map, or an object already written as JSON text
/// on one line (a tool call's: its arguments are written once, not copied into a tree).
/// Writes `key` as a JSON string: as it is when it needs no escapes (the member names the
/// client appends, most tool names), else through serde.
fn push_key(text: &mut String, key: &str) {
    if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        text.push('"');
        text.push_str(key);
        text.push('"');
    } else {
        text.push_str(&Value::from(key).to_string());
    }
}

pub(crate) enum OutParams {
    Map(Map<String, Value>),
    Text(String),
}

impl From<Map<String, Value>> for OutParams {
    fn from(map: Map<String, Value>) -> Self {
        OutParams::Map(map)
    }
}

/// A transport's last words, run by [`Client::close`].
pub(crate) use crate::transport::CloseHook;
#[cfg(feature = "server")]
pub(crate) use methods::ToolAnswer;

/// The server process a client started, if any.
#[cfg(feature = "stdio")]
pub(crate) type ChildSlot = Option<ChildProcess>;
/// Without the stdio transport no client starts a process.
#[cfg(not(feature = "stdio"))]
pub(crate) type ChildSlot = Option<std::convert::Infallible>;

/// What the server said about itself when the connection was set up.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ServerDetails {
    /// Name and version (modern servers may leave it out).
    pub info: Option<Implementation>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Guidance for the model, if any.
    pub instructions: Option<String>,
    /// The revisions the server listed (modern servers only).
    pub supported_versions: Vec<String>,
}

/// How one call waits for its answer.
///
/// When a modern server needs input first, a call takes several rounds, each a request
/// of its own: the timeouts bound each round's wait for the server (the time the
/// client's handlers take, perhaps waiting on a user, does not count), progress of every
/// round reaches the callback, and cancellation ends the call wherever it is, handlers
/// included.
#[derive(Debug, Clone, Default)]
#[must_use]
#[non_exhaustive]
pub struct CallOptions {
    /// Fail when nothing (no answer, no progress) arrived for this long; progress resets it.
    pub timeout: Option<Duration>,
    /// Fail after this long in all, whatever progress arrives.
    pub max_timeout: Option<Duration>,
    /// Receives progress notifications of this call.
    pub progress: Option<ProgressCallback>,
    /// Cancels the call (the server is told with `notifications/cancelled`).
    pub cancel: Option<CancellationToken>,
    /// Asks the server even if the client's cache holds a fresh answer (the new answer
    /// then replaces it); see [`ResponseCache`].
    pub fresh: bool,
}

impl CallOptions {
    /// Default options: the client's timeouts, no progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the idle timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the hard cap.
    pub fn max_timeout(mut self, cap: Duration) -> Self {
        self.max_timeout = Some(cap);
        self
    }

    /// Receives progress.
    pub fn on_progress(mut self, f: impl Fn(crate::Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressCallback::new(f));
        self
    }

    /// Cancels the call when `token` fires.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Opts out of the cache for this call: the server is asked even if a fresh cached
    /// answer exists, and its answer replaces the cached one (see [`ResponseCache`]).
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The revision spoken with this server.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The era of the revision spoken.
    pub fn era(&self) -> Era {
        self.inner.version.era()
    }

    /// What the server said about itself.
    pub fn server(&self) -> &ServerDetails {
        &self.inner.server
    }

    /// The server's name and version, when it gave them.
    pub fn server_info(&self) -> Option<&Implementation> {
        self.inner.server.info.as_ref()
    }

    /// The server's capabilities.
    pub fn server_capabilities(&self) -> &ServerCapabilities {
        &self.inner.server.capabilities
    }

    /// The settings the server advertised for extension `id` (SEP-2133), if it offers it.
    /// Extensions the client does not know are kept here too, and otherwise ignored.
    pub fn server_extension(&self, id: &str) -> Option<&oxmcp_protocol::JsonObject> {
        self.inner.server.capabilities.extensions.as_ref()?.get(id)
    }

    /// The server process, when the client started it.
    #[cfg(feature = "stdio")]
    pub fn child_process(&self) -> Option<&ChildProcess> {
        self.inner.child.as_ref()
    }

    /// Waits until the connection has ended: the server closed it (a child server
    /// exited, an HTTP stream ended for good) or [`close`](Self::close) was called.
    /// Returns at once if it already has.
    ///
    /// ```no_run
    /// # async fn run(client: oxmcp::client::Client) {
    /// client.closed().await;
    /// eprintln!("the server went away");
    /// # }
    /// ```
    pub async fn closed(&self) {
        self.inner.peer.closed().cancelled().await;
    }

    /// Whether the connection has ended (see [`closed`](Self::closed)).
    pub fn is_closed(&self) -> bool {
        self.inner.peer.closed().is_cancelled()
    }

    /// Checks the server answers: `ping` with legacy servers, `server/discover` with modern
    /// ones (2026-07-28 has no ping).
    ///
    /// # Errors
    /// If the server does not answer, or answers with an error.
    pub async fn ping(&self) -> Result<()> {
        let method = if self.inner.version.is_modern() {
            "server/discover"
        } else {
            "ping"
        };
        self.request::<Value>(method, Map::new(), CallOptions::default())
            .await
            .map(drop)
    }

    /// Sends any request and decodes its result; the era's `_meta` is added for you, and
    /// input rounds of a modern server are answered (see [`CallOptions`]).
    ///
    /// # Errors
    /// If the request fails or the result does not decode into `T`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Map<String, Value>,
        options: CallOptions,
    ) -> Result<T> {
        let raw = self.request_raw(method, params, options).await?;
        serde_json::from_str(raw.get()).map_err(|e| Error::serde("decode the result", e))
    }

    /// Sends a request once (one round) and waits for its result.
    async fn send_once(
        &self,
        method: &str,
        params: &OutParams,
        round: Map<String, Value>,
        options: &CallOptions,
    ) -> Result<Box<serde_json::value::RawValue>> {
        let id = self.inner.peer.next_id();
        let params = self.params_text(params, round, options.progress.is_some().then_some(&id));
        let options = RequestOptions {
            timeout: options.timeout.or(self.inner.timeout),
            max_total: options.max_timeout.or(self.inner.max_timeout),
            progress: options.progress.clone(),
            cancel: options.cancel.clone(),
        };
        let permit = match &self.inner.breaker {
            Some(breaker) => Some(breaker.admit()?),
            None => None,
        };
        let result = self
            .inner
            .peer
            .request(&self.inner.outbound, id, method, Some(&params), options)
            .await;
        if let Some(permit) = permit {
            permit.finish(&result);
        }
        result
    }

    /// A request's params as JSON text: `params`, the members of its input round (`round`),
    /// and the `_meta` the client adds (the era's, a progress token). A `_meta` object of
    /// the caller's own keeps its members beside those.
    ///
    /// Unless the caller gave a `_meta`, the params are written once and the other members
    /// appended, the era's written once per client: no copy of the map, no JSON tree per
    /// request.
    fn params_text(
        &self,
        params: &OutParams,
        round: Map<String, Value>,
        progress: Option<&oxmcp_protocol::RequestId>,
    ) -> String {
        let modern = self.inner.version.is_modern();
        let adds_meta = modern || progress.is_some();
        let mut text = match params {
            OutParams::Map(map) if map.contains_key("_meta") => {
                let mut params = map.clone();
                params.extend(round);
                if adds_meta {
                    let meta = self.request_meta(progress);
                    match params.get_mut("_meta") {
                        Some(Value::Object(own)) => own.extend(meta),
                        _ => {
                            params.insert("_meta".into(), Value::Object(meta));
                        }
                    }
                }
                return Value::Object(params).to_string();
            }
            // A map of strings to values always serializes.
            OutParams::Map(map) => serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned()),
            OutParams::Text(text) => {
                // Room for what is appended below, so that the text is written once.
                let room = if modern {
                    self.era_meta().len() + 48
                } else {
                    48
                };
                let mut owned = String::with_capacity(text.len() + room);
                owned.push_str(text);
                owned
            }
        };
        if round.is_empty() && !adds_meta {
            return text;
        }
        let member = |text: &mut String, key: &str, value: &str| {
            if !text.ends_with('{') {
                text.push(',');
            }
            push_key(text, key);
            text.push(':');
            text.push_str(value);
        };
        text.pop(); // the closing brace
        for (key, value) in &round {
            member(&mut text, key, &value.to_string());
        }
        if adds_meta {
            member(&mut text, "_meta", "{");
            if modern {
                text.push_str(self.era_meta());
                if let Some(level) = *self.inner.log_level.lock().expect("log level lock") {
                    member(
                        &mut text,
                        LOG_LEVEL,
                        &Value::from(level.as_str()).to_string(),
                    );
                }
            }
            if let Some(token) = progress {
                let token = serde_json::to_string(token).unwrap_or_else(|_| "null".to_owned());
                member(&mut text, PROGRESS_TOKEN, &token);
            }
            text.push('}');
        }
        text.push('}');
        text
    }

    /// The members of the `_meta` a modern request carries, as JSON text: written once
    /// per client.
    fn era_meta(&self) -> &str {
        self.inner.era_meta.get_or_init(|| {
            let mut meta = Map::new();
            modern_meta(
                &mut meta,
                self.inner.version,
                &self.inner.info,
                &self.inner.capabilities,
            );
            let members = Value::Object(meta).to_string();
            members[1..members.len() - 1].to_owned()
        })
    }

    fn request_meta(&self, progress: Option<&oxmcp_protocol::RequestId>) -> Map<String, Value> {
        let mut meta = Map::new();
        if self.inner.version.is_modern() {
            modern_meta(
                &mut meta,
                self.inner.version,
                &self.inner.info,
                &self.inner.capabilities,
            );
            if let Some(level) = *self.inner.log_level.lock().expect("log level lock") {
                meta.insert(LOG_LEVEL.into(), Value::String(level.as_str().to_owned()));
            }
        }
        if let Some(token) = progress {
            meta.insert(
                PROGRESS_TOKEN.into(),
                serde_json::to_value(token).unwrap_or_default(),
            );
        }
        meta
    }

    /// Closes the connection: stops sending, ends an HTTP session (DELETE), lets a child
    /// server exit (killing it after its grace period).
    ///
    /// A client dropped without `close` stops at once; its HTTP session is still ended,
    /// from a task of its own, if a tokio runtime is running.
    ///
    /// # Errors
    /// If waiting for the child process fails.
    pub async fn close(self) -> Result<()> {
        self.inner.peer.close();
        let driver = self.inner.driver.lock().expect("driver lock").take();
        if let Some(driver) = driver {
            let _ = driver.await;
        }
        let hook = self
            .inner
            .close_hook
            .lock()
            .expect("close hook lock")
            .take();
        if let Some(hook) = hook {
            hook().await;
        }
        #[cfg(feature = "stdio")]
        if let Some(child) = &self.inner.child {
            child
                .shutdown()
                .await
                .map_err(|e| Error::transport("wait for the server process", e))?;
        }
        Ok(())
    }
}

/// Fills the modern per-request `_meta` keys.
pub(crate) fn modern_meta(
    meta: &mut Map<String, Value>,
    version: ProtocolVersion,
    info: &Implementation,
    capabilities: &ClientCapabilities,
) {
    meta.insert(
        PROTOCOL_VERSION.into(),
        Value::String(version.as_str().to_owned()),
    );
    meta.insert(
        CLIENT_CAPABILITIES.into(),
        serde_json::to_value(capabilities).unwrap_or_default(),
    );
    meta.insert(
        CLIENT_INFO.into(),
        serde_json::to_value(info).unwrap_or_default(),
    );
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Stops the reader and writer tasks, which ends the connection for the server too.
        self.peer.close();
        // A client dropped without `close` still ends its HTTP session (DELETE), from a task
        // of its own, when a runtime is there to run it.
        let hook = self.close_hook.get_mut().ok().and_then(Option::take);
        if let (Some(hook), Ok(runtime)) = (hook, tokio::runtime::Handle::try_current()) {
            runtime.spawn(hook());
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("protocol_version", &self.inner.version)
            .field("server", &self.inner.server.info)
            .finish_non_exhaustive()
    }
}
