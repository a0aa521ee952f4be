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

mod builder;
mod handler;

use std::sync::Arc;
use std::time::Duration;

use oxmcp_protocol::lifecycle::{ClientCapabilities, Implementation, ServerCapabilities};
use oxmcp_protocol::meta::{CLIENT_CAPABILITIES, CLIENT_INFO, PROGRESS_TOKEN, PROTOCOL_VERSION};
use oxmcp_protocol::tools::{CallToolResult, ListToolsResult, Tool};
use oxmcp_protocol::{Era, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

pub use builder::{ClientBuilder, EraChoice};

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
    #[cfg_attr(not(feature = "stdio"), allow(dead_code))]
    child: ChildSlot,
    driver: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

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

    /// The server process, when the client started it.
    #[cfg(feature = "stdio")]
    pub fn child_process(&self) -> Option<&ChildProcess> {
        self.inner.child.as_ref()
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

    /// One page of the server's tools.
    ///
    /// # Errors
    /// If the request fails or the answer is not a tool list.
    pub async fn list_tools(&self, cursor: Option<&str>) -> Result<ListToolsResult> {
        let mut params = Map::new();
        if let Some(cursor) = cursor {
            params.insert("cursor".into(), Value::String(cursor.to_owned()));
        }
        self.request("tools/list", params, CallOptions::default())
            .await
    }

    /// Every tool, following pagination to the end.
    ///
    /// # Errors
    /// If a request fails, or the server hands out the same cursor twice.
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.list_tools(cursor.as_deref()).await?;
            tools.extend(page.tools);
            match page.next_cursor {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(Error::protocol(format!("server repeated cursor {next:?}")));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(tools),
            }
        }
    }

    /// Calls a tool. `arguments` must serialize to a JSON object (or `()` for none).
    ///
    /// A tool that fails in a way the model should see answers `Ok` with `is_error`
    /// set; `Err` means the call itself failed.
    ///
    /// # Errors
    /// If the request fails, times out, or the server answers with a JSON-RPC error.
    pub async fn call_tool(&self, name: &str, arguments: impl Serialize) -> Result<CallToolResult> {
        self.call_tool_with(name, arguments, CallOptions::default())
            .await
    }

    /// Calls a tool with options: timeouts, a progress callback, cancellation.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: impl Serialize,
        options: CallOptions,
    ) -> Result<CallToolResult> {
        let mut params = Map::new();
        params.insert("name".into(), Value::String(name.to_owned()));
        match serde_json::to_value(arguments)
            .map_err(|e| Error::serde("serialize the arguments", e))?
        {
            Value::Null => {}
            args @ Value::Object(_) => {
                params.insert("arguments".into(), args);
            }
            _ => {
                return Err(Error::protocol(
                    "tool arguments must serialize to a JSON object",
                ))
            }
        }
        self.request("tools/call", params, options).await
    }

    /// Sends any request and decodes its result; the era's `_meta` is added for you.
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

    async fn request_raw(
        &self,
        method: &str,
        mut params: Map<String, Value>,
        options: CallOptions,
    ) -> Result<Box<serde_json::value::RawValue>> {
        let id = self.inner.peer.next_id();
        let meta = self.request_meta(options.progress.is_some().then_some(&id));
        if !meta.is_empty() {
            params.insert("_meta".into(), Value::Object(meta));
        }
        let params = Value::Object(params).to_string();
        let options = RequestOptions {
            timeout: options.timeout.or(self.inner.timeout),
            max_total: options.max_timeout.or(self.inner.max_timeout),
            progress: options.progress,
            cancel: options.cancel,
        };
        let raw = self
            .inner
            .peer
            .request(&self.inner.outbound, id, method, Some(&params), options)
            .await?;
        check_result_type(&raw)?;
        Ok(raw)
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
        }
        if let Some(token) = progress {
            meta.insert(
                PROGRESS_TOKEN.into(),
                serde_json::to_value(token).unwrap_or_default(),
            );
        }
        meta
    }

    /// Closes the connection: stops sending, lets a child server exit (killing it after
    /// its grace period).
    ///
    /// # Errors
    /// If waiting for the child process fails.
    pub async fn close(self) -> Result<()> {
        self.inner.peer.close();
        let driver = self.inner.driver.lock().expect("driver lock").take();
        if let Some(driver) = driver {
            let _ = driver.await;
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

/// Rejects results whose `resultType` this client does not know; `input_required` is
/// reported as an error until multi round-trip support handles it.
fn check_result_type(raw: &serde_json::value::RawValue) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(rename = "resultType", borrow, default)]
        result_type: Option<std::borrow::Cow<'a, str>>,
    }
    let peek: Peek<'_> =
        serde_json::from_str(raw.get()).map_err(|e| Error::serde("decode the result", e))?;
    match peek.result_type.as_deref() {
        None | Some("complete") => Ok(()),
        Some(other) => Err(Error::protocol(format!("unsupported resultType {other:?}"))),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Stops the reader and writer tasks, which ends the connection for the server too.
        self.peer.close();
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
