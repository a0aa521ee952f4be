//! `ClientBuilder`: settings, connection and era detection.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp_protocol::elicitation::{ElicitRequestParams, ElicitResult};
use oxmcp_protocol::jsonrpc::{error_code, ErrorObject};
use oxmcp_protocol::lifecycle::{
    ClientCapabilities, DiscoverResult, ElicitationCapability, Implementation,
    InitializeRequestParams, InitializeResult, RootsCapability, SamplingCapability,
};
use oxmcp_protocol::logging::LoggingMessageNotificationParams;
use oxmcp_protocol::roots::Root;
use oxmcp_protocol::sampling::{CreateMessageRequestParams, CreateMessageResult};
use oxmcp_protocol::{ProtocolVersion, ServerNotification};
use serde_json::Map;

use super::handlers::Handlers;
use super::inbound::ClientHandler;
use super::mrtr::DEFAULT_MAX_INPUT_ROUNDS;
use super::subscription::Subscriptions;
use super::{modern_meta, Client, Inner, ServerDetails};
use crate::error::{Error, Result};
use crate::rpc::{Outbound, Peer, RequestOptions, DEFAULT_MAX_IN_FLIGHT};
use crate::transport::FrameSource;

/// Which era the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EraChoice {
    /// Probe with `server/discover`; fall back to `initialize` for legacy servers.
    #[default]
    Auto,
    /// Only the modern era (2026-07-28); fail against legacy servers.
    Modern,
    /// Only the legacy handshake, offering this revision.
    Legacy(ProtocolVersion),
}

/// Configures and connects a [`Client`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    info: Implementation,
    capabilities: ClientCapabilities,
    /// Set by [`ClientBuilder::capabilities`]: handlers then declare nothing.
    capabilities_explicit: bool,
    /// Extensions declared with [`ClientBuilder::extension`], whatever the capabilities.
    extensions: std::collections::BTreeMap<String, oxmcp_protocol::JsonObject>,
    handlers: Handlers,
    max_input_rounds: usize,
    era: EraChoice,
    timeout: Option<Duration>,
    max_timeout: Option<Duration>,
    probe_timeout: Duration,
    max_in_flight: usize,
    /// The cache and the identity it is shared under; `None`: a cache of this client's own.
    cache: Option<(super::ResponseCache, Arc<str>)>,
    cache_off: bool,
    breaker: Option<super::CircuitBreaker>,
    /// Set by [`ClientBuilder::on_frame`].
    pub(super) tap: Option<super::tap::FrameTap>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// Defaults: named `oxmcp-client`, era detection, 60 s idle timeout per request.
    pub fn new() -> Self {
        ClientBuilder {
            info: Implementation::new("oxmcp-client", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::default(),
            capabilities_explicit: false,
            extensions: std::collections::BTreeMap::new(),
            handlers: Handlers::default(),
            max_input_rounds: DEFAULT_MAX_INPUT_ROUNDS,
            era: EraChoice::Auto,
            timeout: Some(Duration::from_secs(60)),
            max_timeout: None,
            probe_timeout: Duration::from_secs(5),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            cache: None,
            cache_off: false,
            breaker: None,
            tap: None,
        }
    }

    /// Shares `cache` with the other clients given it, acting for `identity` (the user,
    /// the auth subject): answers the server marked `public` are shared with all of them,
    /// `private` ones only with the clients of the same identity. Without this, a client
    /// has a cache of its own. See [`ResponseCache`](super::ResponseCache).
    pub fn cache(mut self, cache: super::ResponseCache, identity: impl Into<String>) -> Self {
        self.cache = Some((cache, identity.into().into()));
        self.cache_off = false;
        self
    }

    /// Turns the cache off: every list and read asks the server, whatever `ttlMs` says.
    pub fn no_cache(mut self) -> Self {
        self.cache = None;
        self.cache_off = true;
        self
    }

    /// Puts the client's requests behind `breaker`: after failures in a row the server is
    /// taken for unavailable and requests fail at once, until a probe finds it back (see
    /// [`CircuitBreaker`](super::CircuitBreaker)). Clients given clones of one breaker
    /// share its circuit. Without this (the default), every request reaches the server.
    pub fn circuit_breaker(mut self, breaker: super::CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// The client's name, reported to servers.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info.name = name.into();
        self
    }

    /// The client's version, reported to servers.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// The full implementation info.
    pub fn client_info(mut self, info: Implementation) -> Self {
        self.info = info;
        self
    }

    /// The capabilities the client declares. Without this call they follow from the
    /// handlers set (`sampling`, `elicitation`, `roots`); with it, exactly these are
    /// declared, whatever the handlers.
    pub fn capabilities(mut self, capabilities: ClientCapabilities) -> Self {
        self.capabilities = capabilities;
        self.capabilities_explicit = true;
        self
    }

    /// Declares support for an extension (SEP-2133), with its settings (`{}` for none),
    /// under `capabilities.extensions`; added to the capabilities whether or not they were
    /// set explicitly. What the server offers is in
    /// [`Client::server_extension`](super::Client::server_extension).
    pub fn extension(
        mut self,
        id: impl Into<String>,
        settings: oxmcp_protocol::JsonObject,
    ) -> Self {
        self.extensions.insert(id.into(), settings);
        self
    }

    /// Answers the server's sampling requests (`sampling/createMessage`) and declares the
    /// `sampling` capability.
    ///
    /// Legacy servers send the request on the connection; modern ones ask for it inside
    /// the result of a `tools/call`, `prompts/get` or `resources/read`, which the client
    /// then retries with the answer. Either way `f` is called with the params.
    ///
    /// ```no_run
    /// use oxmcp::client::Client;
    /// use oxmcp::protocol::{CreateMessageResult, Role, SamplingMessageContent};
    ///
    /// # async fn run(read: tokio::io::DuplexStream, write: tokio::io::DuplexStream) -> oxmcp::Result<()> {
    /// let client = Client::builder()
    ///     .on_sampling(|params| async move {
    ///         // Ask your LLM here; params.messages holds the conversation.
    ///         let _ = params.max_tokens;
    ///         Ok(CreateMessageResult::new(
    ///             Role::Assistant,
    ///             SamplingMessageContent::text("Paris"),
    ///             "my-model",
    ///         ))
    ///     })
    ///     .connect_io(read, write)
    ///     .await?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn on_sampling<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(CreateMessageRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
    {
        self.handlers.set_sampling(f);
        if !self.capabilities_explicit {
            self.capabilities
                .sampling
                .get_or_insert_with(SamplingCapability::new);
        }
        self
    }

    /// Answers the server's elicitation requests (`elicitation/create`, form or URL
    /// mode) and declares the `elicitation` capability with both modes. To declare form
    /// mode only, set [`capabilities`](Self::capabilities) explicitly.
    ///
    /// A user who declines or dismisses is an `Ok` [`ElicitResult`] with that action,
    /// not an error.
    ///
    /// ```no_run
    /// use oxmcp::client::Client;
    /// use oxmcp::protocol::{ElicitAction, ElicitRequestParams, ElicitResult};
    ///
    /// # fn run() {
    /// let builder = Client::builder().on_elicitation(|request| async move {
    ///     match request {
    ///         ElicitRequestParams::Form(form) => {
    ///             let mut answers = serde_json::Map::new();
    ///             answers.insert("name".into(), "octocat".into());
    ///             let _ = form.requested_schema;
    ///             Ok(ElicitResult::accept(answers))
    ///         }
    ///         ElicitRequestParams::Url(_) => Ok(ElicitResult::new(ElicitAction::Decline)),
    ///     }
    /// });
    /// # let _ = builder; }
    /// ```
    pub fn on_elicitation<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(ElicitRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.handlers.set_elicitation(f);
        if !self.capabilities_explicit {
            self.capabilities
                .elicitation
                .get_or_insert_with(|| ElicitationCapability::new().with_form().with_url());
        }
        self
    }

    /// Answers the server's `roots/list` requests with what `f` returns, and declares
    /// the `roots` capability.
    pub fn on_roots<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Root>, ErrorObject>> + Send + 'static,
    {
        self.handlers.set_roots(f);
        if !self.capabilities_explicit {
            self.capabilities
                .roots
                .get_or_insert_with(RootsCapability::new);
        }
        self
    }

    /// Answers the server's `roots/list` requests with these roots, and declares the
    /// `roots` capability.
    pub fn roots(self, roots: Vec<Root>) -> Self {
        let roots = Arc::new(roots);
        self.on_roots(move || {
            let roots = roots.clone();
            async move { Ok(roots.as_ref().clone()) }
        })
    }

    /// Receives every notification from the server, typed (log messages, list changes,
    /// resource updates, progress of no request in flight, ...), except those of a
    /// [`Subscription`](super::Subscription), which go to the subscription.
    ///
    /// The callback runs on the connection's reader: keep it quick (hand heavy work to a
    /// task or a channel). Notifications of unknown methods are dropped.
    pub fn on_notification(
        mut self,
        f: impl Fn(ServerNotification) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.set_notification(f);
        self
    }

    /// Receives the server's log messages (`notifications/message`), which also reach
    /// [`on_notification`](Self::on_notification). Without either callback they are
    /// logged through `tracing` (target `oxmcp::server_log`). Runs on the reader, like
    /// `on_notification`.
    ///
    /// Servers send log messages at the level set with
    /// [`Client::set_log_level`](super::Client::set_log_level).
    pub fn on_log(
        mut self,
        f: impl Fn(LoggingMessageNotificationParams) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.set_log(f);
        self
    }

    /// The most rounds of input one call answers before failing (default 8): a modern
    /// server may answer `tools/call`, `prompts/get` and `resources/read` with
    /// `input_required` again and again. `0` answers none.
    pub fn max_input_rounds(mut self, rounds: usize) -> Self {
        self.max_input_rounds = rounds;
        self
    }

    /// Which era to speak (default: detect).
    pub fn era(mut self, era: EraChoice) -> Self {
        self.era = era;
        self
    }

    /// Fail a request when nothing (no answer, no progress) arrived for this long
    /// (default 60 s; `None` waits forever).
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Fail a request after this long in all, whatever progress arrives (default: none).
    pub fn max_request_timeout(mut self, cap: Option<Duration>) -> Self {
        self.max_timeout = cap;
        self
    }

    /// How long the `server/discover` probe waits before taking the server for a legacy
    /// one (default 5 s).
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Spawns a server process and connects to it over stdio.
    ///
    /// With [`EraChoice::Auto`], some legacy servers exit when the first message is not
    /// `initialize` (the `server/discover` probe): when the connection closes during the
    /// probe, the server is started again and spoken to with the legacy handshake.
    ///
    /// # Errors
    /// If the process cannot start, or no protocol revision is shared; after a fresh
    /// start, the error of the legacy handshake, saying what was tried.
    #[cfg(feature = "stdio")]
    pub async fn connect_stdio(
        self,
        command: crate::transport::stdio::ChildCommand,
    ) -> Result<Client> {
        let (child, stdin, stdout) = command.spawn()?;
        if self.era != EraChoice::Auto {
            return self.connect_lines(stdout, stdin, Some(child)).await;
        }
        let legacy = self
            .clone()
            .era(EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY));
        match self.connect_lines(stdout, stdin, Some(child.clone())).await {
            Err(e) if ProbeClosed::caused(&e) => {
                tracing::debug!(
                    "the server closed the connection when probed with server/discover; \
                     starting it again for the legacy handshake"
                );
                if let Err(e) = child.kill().await {
                    tracing::debug!(error = %e, "stopping the probed server failed");
                }
                drop(child);
                let (child, stdin, stdout) = command.spawn()?;
                legacy
                    .connect_lines(stdout, stdin, Some(child))
                    .await
                    .map_err(|e| {
                        e.with_context(
                            "the server closed the connection when probed with \
                             server/discover, and a fresh start of it failed the legacy \
                             handshake (initialize)",
                        )
                    })
            }
            outcome => outcome,
        }
    }

    /// Connects over any pair of byte streams carrying newline-delimited JSON-RPC (a socket,
    /// a pipe, an in-memory duplex).
    ///
    /// # Errors
    /// If no protocol revision is shared or the handshake fails.
    pub async fn connect_io<R, W>(self, reader: R, writer: W) -> Result<Client>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        self.connect_lines(reader, writer, None).await
    }

    async fn connect_lines<R, W>(
        self,
        reader: R,
        writer: W,
        child: super::ChildSlot,
    ) -> Result<Client>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        use crate::transport::lines::{write_lines, LineReader};
        let (outbound, rx) = self.outbound_channel();
        let peer = Peer::new(self.max_in_flight);
        let closed = peer.closed().clone();
        tokio::spawn(async move {
            tokio::select! {
                result = write_lines(rx, writer) => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "writing to the server stopped");
                    }
                }
                // Dropping the writer closes the pipe: a child server's cue to exit.
                _ = closed.cancelled() => {}
            }
        });
        let source = LineReader::new(
            tokio::io::BufReader::new(reader),
            crate::transport::DEFAULT_MAX_FRAME,
        );
        self.connect_parts(peer, outbound, source, child).await
    }

    /// The bound on server requests handled at once.
    #[cfg(any(feature = "http-client", feature = "ws-client"))]
    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Connects over an already running transport.
    pub(crate) async fn connect_parts<R: FrameSource + 'static>(
        self,
        peer: Peer,
        outbound: Outbound,
        source: R,
        child: super::ChildSlot,
    ) -> Result<Client> {
        let source = super::tap::Tapped {
            inner: source,
            tap: self.tap.clone(),
        };
        let mut this = self;
        if !this.extensions.is_empty() {
            let declared = this
                .capabilities
                .extensions
                .get_or_insert_with(Default::default);
            declared.extend(std::mem::take(&mut this.extensions));
        }
        this.connect_declared(peer, outbound, source, child).await
    }

    /// [`Self::connect_parts`], the extensions merged into the capabilities.
    async fn connect_declared<R: FrameSource + 'static>(
        self,
        peer: Peer,
        outbound: Outbound,
        source: R,
        child: super::ChildSlot,
    ) -> Result<Client> {
        let subscriptions = Arc::new(Subscriptions::default());
        let (cache, identity) = match &self.cache {
            _ if self.cache_off => (None, None),
            Some((cache, identity)) => (Some(cache.clone()), Some(identity.clone())),
            None => (Some(super::ResponseCache::new()), None),
        };
        let handler = Arc::new(ClientHandler::new(
            self.handlers.clone(),
            subscriptions.clone(),
            cache.clone(),
        ));
        let driver = {
            let peer = peer.clone();
            let outbound = outbound.clone();
            tokio::spawn(async move {
                if let Err(e) =
                    crate::transport::drive(peer, handler, source, outbound, std::future::pending())
                        .await
                {
                    tracing::debug!(error = %e, "connection to the server ended");
                }
            })
        };
        let (version, settled) = match self.handshake(&peer, &outbound).await {
            Ok(settled) => settled,
            Err(e) => {
                peer.close();
                return Err(e);
            }
        };
        let server = *settled.details;
        let cache = cache.map(|cache| super::cache::ClientCache {
            cache,
            identity: identity.unwrap_or_else(super::cache::ClientCache::unique),
            server: server_key(&server),
        });
        if let Some(cache) = &cache {
            // A new session (or a server now spoken to in the legacy era) makes what was
            // discovered before stale; its own answer takes the place.
            cache.discovered(settled.discovered.as_deref());
        }
        Ok(Client {
            inner: Arc::new(Inner {
                peer,
                outbound,
                version,
                info: self.info,
                capabilities: self.capabilities,
                server,
                timeout: self.timeout,
                max_timeout: self.max_timeout,
                handlers: self.handlers,
                subscriptions,
                #[cfg(feature = "output-validation")]
                output_schemas: Default::default(),
                cache,
                log_level: Mutex::new(None),
                era_meta: Default::default(),
                max_input_rounds: self.max_input_rounds,
                breaker: self.breaker,
                child,
                driver: std::sync::Mutex::new(Some(driver)),
                close_hook: std::sync::Mutex::new(None),
                #[cfg(feature = "otel")]
                session_span: crate::otel::session(false, version, None),
            }),
        })
    }

    async fn handshake(
        &self,
        peer: &Peer,
        outbound: &Outbound,
    ) -> Result<(ProtocolVersion, Settled)> {
        match self.era {
            EraChoice::Legacy(version) => self.initialize(peer, outbound, version).await,
            EraChoice::Modern => match self.discover(peer, outbound, None).await? {
                Discovery::Modern(details) => Ok((ProtocolVersion::V2026_07_28, details)),
                Discovery::Legacy(why) => Err(Error::version(format!(
                    "the server is not a modern one: {why}"
                ))),
            },
            EraChoice::Auto => {
                let outcome = match self
                    .discover(peer, outbound, Some(self.probe_timeout))
                    .await
                {
                    Ok(Discovery::Modern(details)) => Ok((ProtocolVersion::V2026_07_28, details)),
                    Ok(Discovery::Legacy(why)) => {
                        tracing::debug!(reason = %why, "falling back to the legacy handshake");
                        let modern = ProtocolVersion::V2026_07_28;
                        match self
                            .initialize(peer, outbound, ProtocolVersion::LATEST_LEGACY)
                            .await
                        {
                            // A modern server that answered the probe too late (a slow
                            // start) now serves 2026-07-28 on this connection and refuses
                            // `initialize`: ask again, as patiently as any request.
                            Err(e) if supports_after_all(&e, modern) => {
                                match self.discover(peer, outbound, None).await? {
                                    Discovery::Modern(details) => Ok((modern, details)),
                                    Discovery::Legacy(_) => Err(e),
                                }
                            }
                            outcome => outcome,
                        }
                    }
                    Err(e) => Err(e),
                };
                // A server that quits on a first message other than `initialize`.
                outcome.map_err(|e| match e.is_closed() {
                    true => e.with_source(ProbeClosed),
                    false => e,
                })
            }
        }
    }

    /// Probes with `server/discover`.
    async fn discover(
        &self,
        peer: &Peer,
        outbound: &Outbound,
        timeout: Option<Duration>,
    ) -> Result<Discovery> {
        let version = ProtocolVersion::V2026_07_28;
        let mut meta = Map::new();
        modern_meta(&mut meta, version, &self.info, &self.capabilities);
        let params = serde_json::json!({ "_meta": meta }).to_string();
        let options = RequestOptions {
            timeout: timeout.or(self.timeout),
            max_total: timeout,
            ..Default::default()
        };
        let mut outcome = peer
            .request(
                outbound,
                peer.next_id(),
                "server/discover",
                Some(&params),
                options.clone(),
            )
            .await;
        if outcome
            .as_ref()
            .is_err_and(|e| supports_after_all(e, version))
        {
            // An unsupported-version answer that lists our version (a server that rejects
            // a first request, or one that changed its mind): ask once more.
            outcome = peer
                .request(
                    outbound,
                    peer.next_id(),
                    "server/discover",
                    Some(&params),
                    options,
                )
                .await;
        }
        match outcome {
            Ok(raw) => {
                let result: DiscoverResult = serde_json::from_str(raw.get())
                    .map_err(|e| Error::serde("decode the server/discover result", e))?;
                if !result
                    .supported_versions
                    .iter()
                    .any(|v| v == version.as_str())
                {
                    return Ok(Discovery::Legacy(format!(
                        "it supports only {}",
                        result.supported_versions.join(", ")
                    )));
                }
                let info = result
                    .meta
                    .as_ref()
                    .and_then(|m| m.get(oxmcp_protocol::meta::SERVER_INFO))
                    .and_then(|v| serde_json::from_value(v.clone()).ok());
                Ok(Discovery::Modern(Settled {
                    details: Box::new(ServerDetails {
                        info,
                        capabilities: result.capabilities,
                        instructions: result.instructions,
                        supported_versions: result.supported_versions,
                    }),
                    discovered: Some(raw),
                }))
            }
            Err(e) if e.is_timeout() && !e.is_connect() => {
                Ok(Discovery::Legacy("server/discover went unanswered".into()))
            }
            // Legacy HTTP servers refuse a request outside a session (400, 404, 405, ...).
            Err(e) if e.http_status().is_some() => Ok(Discovery::Legacy(format!(
                "server/discover was refused with HTTP {}",
                e.http_status().unwrap_or_default()
            ))),
            Err(e) => match e.rpc_error() {
                Some(err) if err.code == error_code::UNSUPPORTED_PROTOCOL_VERSION => {
                    let supported: Vec<String> = err
                        .data
                        .as_ref()
                        .and_then(|d| d.get("supported"))
                        .and_then(|s| serde_json::from_value(s.clone()).ok())
                        .unwrap_or_default();
                    Ok(Discovery::Legacy(format!(
                        "it supports {}",
                        supported.join(", ")
                    )))
                }
                Some(err) => Ok(Discovery::Legacy(format!(
                    "server/discover failed: {}",
                    err.message
                ))),
                None => Err(e),
            },
        }
    }

    /// The legacy handshake: `initialize`, then `notifications/initialized`.
    async fn initialize(
        &self,
        peer: &Peer,
        outbound: &Outbound,
        offer: ProtocolVersion,
    ) -> Result<(ProtocolVersion, Settled)> {
        let params = InitializeRequestParams::new(
            offer.as_str().to_owned(),
            self.capabilities.clone(),
            self.info.clone(),
        );
        let params =
            serde_json::to_string(&params).map_err(|e| Error::serde("encode initialize", e))?;
        let options = RequestOptions {
            timeout: self.timeout,
            max_total: self.max_timeout,
            ..Default::default()
        };
        let id = peer.next_id();
        let raw = peer
            .request(outbound, id, "initialize", Some(&params), options)
            .await?;
        let result: InitializeResult = serde_json::from_str(raw.get())
            .map_err(|e| Error::serde("decode the initialize result", e))?;
        let version = match ProtocolVersion::parse(&result.protocol_version) {
            Some(v) if v.is_legacy() => v,
            _ => {
                return Err(Error::version(format!(
                    "the server answered initialize with protocol version {:?}",
                    result.protocol_version
                )))
            }
        };
        peer.notify(outbound, "notifications/initialized", None)
            .await?;
        let details = ServerDetails {
            info: Some(result.server_info),
            capabilities: result.capabilities,
            instructions: result.instructions,
            supported_versions: Vec::new(),
        };
        Ok((
            version,
            Settled {
                details: Box::new(details),
                discovered: None,
            },
        ))
    }
}

/// Whether `error` is an unsupported-version error whose `data.supported` lists `version`.
fn supports_after_all(error: &Error, version: ProtocolVersion) -> bool {
    error.rpc_error().is_some_and(|err| {
        err.code == error_code::UNSUPPORTED_PROTOCOL_VERSION
            && err
                .data
                .as_ref()
                .and_then(|d| d.get("supported"))
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|v| v == version.as_str()))
    })
}

/// Why the connection closed while the era was being found out: probably a legacy server
/// that exits when the first message is not `initialize`.
#[derive(Debug)]
struct ProbeClosed;

impl ProbeClosed {
    /// Whether this is what `error` comes from.
    #[cfg_attr(not(feature = "stdio"), allow(dead_code))]
    fn caused(error: &Error) -> bool {
        std::error::Error::source(error).is_some_and(|s| s.is::<ProbeClosed>())
    }
}

impl std::fmt::Display for ProbeClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the server closed the connection when probed with server/discover; a legacy \
             server that expects initialize first may do so (choose EraChoice::Legacy)",
        )
    }
}

impl std::error::Error for ProbeClosed {}

enum Discovery {
    Modern(Settled),
    Legacy(String),
}

/// What the handshake found out about the server.
struct Settled {
    details: Box<ServerDetails>,
    /// The `server/discover` answer, for the cache (modern servers).
    discovered: Option<Box<serde_json::value::RawValue>>,
}

/// What names a server in a shared cache: its name and version. A server that gives
/// neither cannot be told from another: its answers are kept for this client alone.
fn server_key(server: &super::ServerDetails) -> Arc<str> {
    match &server.info {
        Some(info) => format!("{}@{}", info.name, info.version).into(),
        None => super::cache::ClientCache::unique(),
    }
}
