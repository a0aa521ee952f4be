//! [`Hub`]: one router made of many back ends, from code or an `mcpServers` config.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Deserialize;

use super::{Mount, Proxy, Transform};
use crate::client::{CircuitBreaker, CircuitState, Client, ClientBuilder};
use crate::rpc::BoxFuture;
use crate::server::connection::ListKind;
use crate::server::shared::Shared;
use crate::server::Router;

/// How a back end is reached: called again for every (re)start, with a builder prepared by
/// the hub's proxy.
type Connect = Arc<dyn Fn(ClientBuilder) -> BoxFuture<crate::Result<Client>> + Send + Sync>;

/// One router made of many back ends: MCP servers reached by a client (stdio children,
/// Streamable HTTP endpoints, anything a [`Client`] connects to), each proxied and mounted
/// under its name (tool `search` of back end `docs` is `docs_search`), and routers from
/// code, mounted as they are.
///
/// - Each back end's calls are bounded by its own timeout ([`Backend::timeout`]).
/// - Health: a back end whose connection ends (a child that exits, a stream that ends for
///   good) has its tools, prompts and resources hidden at once, and is started again with
///   exponential backoff ([`Backend::backoff`]); when it is back, they are shown again. The
///   hub's clients are told each time (`list_changed`).
/// - Circuit breaker: each back end's calls go through a [`CircuitBreaker`] of its own
///   ([`Backend::circuit_breaker`]; by default 5 failures in a row, 30 s open, one probe).
///   A back end that keeps failing (unreachable, `5xx`, timeouts) while its connection
///   stays up is treated as a dead one: its items are hidden while the circuit is open (a
///   call already routed to it fails at once with an error that says it is unavailable
///   and when it is retried); after the open period the hub probes it (`ping`, or
///   `server/discover`), lists it again and shows it when the probe answers, or keeps it
///   hidden for another period when it does not.
/// - Filtering: [`Backend::allow`], [`Backend::deny`], and [`Backend::transform`] to rename
///   a tool or override its description.
/// - Listings: the hub answers `tools/list` (and the other lists) from its own registry,
///   never asking the back ends; a back end's `list_changed` lists it again, and the hub's
///   clients are told.
///
/// ```no_run
/// use oxmcp::server::compose::{Backend, Hub, HubConfig};
/// use oxmcp::transport::stdio::ChildCommand;
///
/// # async fn run() -> oxmcp::Result<()> {
/// let config: HubConfig = serde_json::from_str(
///     r#"{ "mcpServers": { "files": { "command": "my-files-server", "args": ["--root", "."] } } }"#,
/// ).unwrap();
/// let hub = Hub::from_config(&config)?
///     .backend(Backend::stdio("notes", ChildCommand::new("my-notes-server")).deny(["delete"]));
/// hub.router().await?.serve_stdio().await
/// # }
/// ```
#[derive(Default)]
#[must_use]
pub struct Hub {
    backends: Vec<Backend>,
    routers: Vec<(Mount, Router)>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("backends", &self.backends)
            .field("routers", &self.routers.len())
            .finish()
    }
}

/// One back end of a [`Hub`]: how to reach it, and how its tools are shown.
#[must_use]
pub struct Backend {
    name: String,
    connect: Connect,
    timeout: Option<Duration>,
    backoff: (Duration, Duration),
    breaker: Option<CircuitBreaker>,
    mount: Mount,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("breaker", &self.breaker)
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A back end named `name` (its prefix in the hub), reached by `connect`, which gets a
    /// client builder prepared to relay the back end's questions and notifications and
    /// connects it; it is called again for every restart.
    pub fn new<F, Fut>(name: impl Into<String>, connect: F) -> Self
    where
        F: Fn(ClientBuilder) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = crate::Result<Client>> + Send + 'static,
    {
        let name = name.into();
        Backend {
            mount: Mount::new(name.clone()),
            name,
            connect: Arc::new(move |builder| Box::pin(connect(builder))),
            timeout: None,
            backoff: (Duration::from_millis(100), Duration::from_secs(30)),
            breaker: Some(CircuitBreaker::new()),
        }
    }

    /// A back end run as a child process speaking stdio.
    #[cfg(feature = "stdio")]
    pub fn stdio(name: impl Into<String>, command: crate::transport::stdio::ChildCommand) -> Self {
        Backend::new(name, move |builder: ClientBuilder| {
            builder.connect_stdio(command.clone())
        })
    }

    /// A back end reached over Streamable HTTP (headers and timeouts in `config`).
    #[cfg(feature = "http-client")]
    pub fn http(name: impl Into<String>, config: crate::client::HttpClientConfig) -> Self {
        Backend::new(name, move |builder: ClientBuilder| {
            builder.connect_http_with(config.clone())
        })
    }

    /// The longest one call to this back end may take; past it, the hub's client gets an
    /// error that says so.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The wait before the first restart of a back end that went away (or could not be
    /// reached), doubled after each failed attempt up to `max` (default 100 ms and 30 s).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max.max(first));
        self
    }

    /// The circuit breaker of the back end's calls (default: [`CircuitBreaker::new`], 5
    /// failures in a row, 30 s open, one probe); it lasts across restarts. Keep a clone to
    /// watch its [`state`](CircuitBreaker::state).
    pub fn circuit_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// No circuit breaker: calls reach the back end however often it failed before.
    pub fn no_circuit_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }

    /// The separator between the back end's name and its tools' (default `_`).
    pub fn separator(mut self, separator: impl Into<String>) -> Self {
        self.mount = self.mount.separator(separator);
        self
    }

    /// Shows only these tools of the back end (named as the back end names them).
    pub fn allow<I, T>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.mount = self.mount.allow(tools);
        self
    }

    /// Hides these tools of the back end (named as the back end names them).
    pub fn deny<I, T>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.mount = self.mount.deny(tools);
        self
    }

    /// Reshapes the back end's tool `tool` (rename, description, fixed arguments); the
    /// back end's name still prefixes a new name.
    pub fn transform(mut self, tool: &str, transform: Transform) -> Self {
        self.mount = self.mount.transform(tool, transform);
        self
    }
}

impl Hub {
    /// A hub with no back ends yet.
    pub fn new() -> Self {
        Hub::default()
    }

    /// Adds a back end reached by a client.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backends.push(backend);
        self
    }

    /// Adds a router from code, mounted as `mount` says (see [`Router::mount_with`]).
    pub fn router_backend(mut self, mount: Mount, router: Router) -> Self {
        self.routers.push((mount, router));
        self
    }

    /// A hub of the back ends of an `mcpServers` config (entries with `disabled: true`
    /// left out), in the order of their names.
    ///
    /// # Errors
    /// If an entry has neither a `command` nor a `url`, or both, or needs a transport this
    /// build leaves out (`stdio`, `http-client`).
    pub fn from_config(config: &HubConfig) -> crate::Result<Self> {
        let mut hub = Hub::new();
        for (name, entry) in &config.mcp_servers {
            if !entry.disabled {
                hub = hub.backend(entry.backend(name)?);
            }
        }
        Ok(hub)
    }

    /// The hub's router: every back end connected (at the same time; one that cannot be
    /// reached now is left out and tried again with backoff) and mounted under its name,
    /// then the routers from code.
    ///
    /// Each back end is watched by a task of its own that restarts it, until the router is
    /// dropped.
    ///
    /// # Errors
    /// None yet: a back end that cannot be reached is retried rather than failing the hub.
    ///
    /// # Panics
    /// If two back ends' namespaced names collide (as [`Router::mount`]).
    pub async fn router(self) -> crate::Result<Router> {
        let mut router = Router::new();
        let mut slots = Vec::new();
        for backend in self.backends {
            let slot = Router::new();
            let shared = slot.shared.clone();
            router = router.mount_with(backend.mount.clone(), slot);
            slots.push((backend, shared));
        }
        let first = slots.into_iter().map(|(backend, shared)| {
            let (ready, started) = tokio::sync::oneshot::channel();
            tokio::spawn(supervise(backend, Arc::downgrade(&shared), ready));
            started
        });
        for started in first.collect::<Vec<_>>() {
            let _ = started.await;
        }
        for (mount, other) in self.routers {
            router = router.mount_with(mount, other);
        }
        Ok(router)
    }
}

/// Keeps a back end connected: connects, fills its slot, waits for the connection to end,
/// empties the slot, waits (backoff), connects again; until the slot is dropped. `ready`
/// is told after the first attempt.
async fn supervise(backend: Backend, slot: Weak<Shared>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let (first, max) = backend.backoff;
    let mut wait = first;
    loop {
        let proxy = match backend.timeout {
            Some(timeout) => Proxy::new().timeout(timeout),
            None => Proxy::new(),
        };
        let attempt = async {
            let mut builder = proxy.client(Client::builder());
            if let Some(breaker) = &backend.breaker {
                builder = builder.circuit_breaker(breaker.clone());
            }
            let client = (backend.connect)(builder).await?;
            let Some(shared) = slot.upgrade() else {
                return Ok(false);
            };
            proxy.attach(client, &shared).await?;
            announce(&shared);
            Ok::<_, crate::Error>(true)
        };
        let connected = attempt.await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        match connected {
            Ok(false) => return,
            Ok(true) => {
                tracing::info!(backend = %backend.name, "hub back end connected");
                wait = first;
                if !watch(&proxy, &slot, &backend).await {
                    return;
                }
                tracing::warn!(backend = %backend.name, "hub back end went away; its items are hidden until it is back");
                if let Some(shared) = slot.upgrade() {
                    proxy.detach(&shared);
                    announce(&shared);
                }
            }
            Err(e) => {
                tracing::warn!(backend = %backend.name, error = %e, retry_in = ?wait, "hub back end could not be reached");
                proxy.detach_if_attached(&slot);
            }
        }
        drop(proxy);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(max);
        if slot.strong_count() == 0 {
            return;
        }
    }
}

/// Waits until the back end's connection ends (`true`) or the hub is gone (`false`);
/// meanwhile hides the back end while its circuit breaker is open ([`recover`]).
async fn watch(proxy: &Proxy, slot: &Weak<Shared>, backend: &Backend) -> bool {
    let Some(client) = proxy.backend() else {
        return true;
    };
    let mut changes = backend.breaker.as_ref().map(CircuitBreaker::watch);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = client.closed() => return true,
            _ = tick.tick() => {
                if slot.strong_count() == 0 {
                    return false;
                }
            }
            Some(()) = changed(&mut changes) => {
                if let Some(ended) = recover(proxy, client, slot, backend).await {
                    return ended;
                }
            }
        }
    }
}

/// The next change of a circuit breaker's state (`None` without a breaker: never).
async fn changed(changes: &mut Option<tokio::sync::watch::Receiver<u64>>) -> Option<()> {
    match changes {
        Some(changes) => changes.changed().await.ok(),
        None => std::future::pending().await,
    }
}

/// When the back end's circuit breaker is open: hides its items, probes it after each
/// open period until it answers, then lists it again and shows it (`None`). `Some` as
/// [`watch`] when the connection ends or the hub is gone meanwhile.
async fn recover(
    proxy: &Proxy,
    client: &Client,
    slot: &Weak<Shared>,
    backend: &Backend,
) -> Option<bool> {
    let breaker = backend.breaker.as_ref()?;
    let CircuitState::Open { .. } = breaker.state() else {
        return None;
    };
    tracing::warn!(backend = %backend.name, "hub back end keeps failing (circuit breaker open); its items are hidden until a probe finds it back");
    let Some(shared) = slot.upgrade() else {
        return Some(false);
    };
    proxy.detach(&shared);
    announce(&shared);
    drop(shared);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let retry_at = match breaker.state() {
            CircuitState::Open { retry_at } => retry_at,
            CircuitState::Closed => break,
            // A probe of its own is in flight (a call routed before the items were hidden).
            _ => std::time::Instant::now() + Duration::from_millis(50),
        };
        let wait = tokio::time::sleep_until(retry_at.into());
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = client.closed() => return Some(true),
                () = &mut wait => break,
                _ = tick.tick() => {
                    if slot.strong_count() == 0 {
                        return Some(false);
                    }
                }
            }
        }
        match client.ping().await {
            Ok(()) => break,
            Err(e) => {
                tracing::debug!(backend = %backend.name, error = %e, "hub back end probe failed")
            }
        }
    }
    let Some(shared) = slot.upgrade() else {
        return Some(false);
    };
    if let Err(e) = proxy.refresh(&shared).await {
        tracing::warn!(backend = %backend.name, error = %e, "hub back end answered its probe but could not be listed; restarting it");
        return Some(true);
    }
    tracing::info!(backend = %backend.name, "hub back end is back (circuit breaker closed)");
    announce(&shared);
    None
}

/// Tells the slot's followers (the hub) that all its lists changed.
fn announce(shared: &Shared) {
    for kind in [ListKind::Tools, ListKind::Prompts, ListKind::Resources] {
        shared.list_changed(kind);
    }
}

impl Proxy {
    /// Empties the slot of what a half-done attach put there.
    fn detach_if_attached(&self, slot: &Weak<Shared>) {
        if let Some(shared) = slot.upgrade() {
            self.detach(&shared);
        }
    }
}

/// An `mcpServers` config, as Claude Desktop, Cursor and most MCP hosts write it:
///
/// ```json
/// {
///   "mcpServers": {
///     "files": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."],
///                "env": { "DEBUG": "0" }, "timeout": 30, "deny": ["write_file"] },
///     "remote": { "url": "https://example.com/mcp", "headers": { "Authorization": "Bearer ..." },
///                 "tools": { "search": { "name": "find", "description": "Find anything" } } }
///   }
/// }
/// ```
///
/// Besides the usual keys (`command`, `args`, `env`, `cwd`, `url`, `headers`, `disabled`),
/// an entry may hold `timeout` (seconds per call), `allow` and `deny` (tool names),
/// `tools` (per tool: a new `name`, a new `description`) and `circuitBreaker`
/// (`failureThreshold`, `openSeconds`, `halfOpenProbes`, or `disabled: true`; see
/// [`CircuitBreakerConfig`]). Other keys are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubConfig {
    /// The back ends, by name.
    pub mcp_servers: BTreeMap<String, BackendConfig>,
}

impl HubConfig {
    /// Reads a config from JSON text.
    ///
    /// # Errors
    /// If the text is not an `mcpServers` config; the message says where and what was
    /// expected.
    pub fn from_json(text: &str) -> crate::Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            crate::Error::protocol(format!(
                "the hub config is not valid at `{}`: {}",
                e.path(),
                e.inner()
            ))
        })
    }
}

/// One entry of an `mcpServers` config (see [`HubConfig`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendConfig {
    /// The program of a stdio back end.
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables set for it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Its working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The endpoint of a Streamable HTTP back end.
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent with every request to it.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Left out of the hub.
    #[serde(default)]
    pub disabled: bool,
    /// The longest one call may take, in seconds.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Only these tools are shown.
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    /// These tools are hidden.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Per tool: a new name or description.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolOverride>,
    /// The circuit breaker of its calls (on by default, see [`Backend::circuit_breaker`]).
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreakerConfig>,
}

/// A back end's circuit breaker in a [`HubConfig`] entry (`"circuitBreaker"`); what is
/// left out keeps the default of [`CircuitBreaker::new`].
///
/// ```json
/// { "url": "https://example.com/mcp",
///   "circuitBreaker": { "failureThreshold": 3, "openSeconds": 10, "halfOpenProbes": 1 } }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CircuitBreakerConfig {
    /// How many failures in a row open the circuit.
    pub failure_threshold: Option<u32>,
    /// How long it stays open, in seconds.
    pub open_seconds: Option<f64>,
    /// How many probes go through when the open period is over.
    pub half_open_probes: Option<u32>,
    /// No circuit breaker for this back end.
    pub disabled: bool,
}

impl CircuitBreakerConfig {
    /// The breaker these settings describe, `None` when disabled; `name` is the back end's.
    fn breaker(&self, name: &str) -> crate::Result<Option<CircuitBreaker>> {
        if self.disabled {
            return Ok(None);
        }
        let mut breaker = CircuitBreaker::new();
        if let Some(failures) = self.failure_threshold {
            breaker = breaker.failure_threshold(failures);
        }
        if let Some(seconds) = self.open_seconds {
            breaker = breaker.open_for(seconds_of(name, "circuitBreaker.openSeconds", seconds)?);
        }
        if let Some(probes) = self.half_open_probes {
            breaker = breaker.half_open_probes(probes);
        }
        Ok(Some(breaker))
    }
}

/// A duration in seconds of a config entry, or the error that names the entry and key.
fn seconds_of(name: &str, key: &str, seconds: f64) -> crate::Result<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        crate::Error::protocol(format!(
            "hub config: server {name:?} has {key} {seconds}, expected a positive number of seconds"
        ))
    })
}

/// A back end's tool renamed or described anew by a [`HubConfig`] entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOverride {
    /// The new name (still prefixed by the back end's).
    #[serde(default)]
    pub name: Option<String>,
    /// The new description.
    #[serde(default)]
    pub description: Option<String>,
}

impl BackendConfig {
    /// The back end this entry describes, named `name`.
    ///
    /// # Errors
    /// As [`Hub::from_config`].
    pub fn backend(&self, name: &str) -> crate::Result<Backend> {
        let mut backend = match (&self.command, &self.url) {
            (Some(command), None) => self.stdio(name, command)?,
            (None, Some(url)) => self.http(name, url)?,
            _ => {
                return Err(crate::Error::protocol(format!(
                    "hub config: server {name:?} needs either a \"command\" (stdio) or a \"url\" (Streamable HTTP), not both or neither"
                )))
            }
        };
        if let Some(seconds) = self.timeout {
            backend = backend.timeout(seconds_of(name, "timeout", seconds)?);
        }
        if let Some(settings) = &self.circuit_breaker {
            backend = match settings.breaker(name)? {
                Some(breaker) => backend.circuit_breaker(breaker),
                None => backend.no_circuit_breaker(),
            };
        }
        if let Some(allow) = &self.allow {
            backend = backend.allow(allow.iter().cloned());
        }
        backend = backend.deny(self.deny.iter().cloned());
        for (tool, change) in &self.tools {
            let mut transform = Transform::new();
            if let Some(new) = &change.name {
                transform = transform.rename(new.clone());
            }
            if let Some(description) = &change.description {
                transform = transform.description(description.clone());
            }
            backend = backend.transform(tool, transform);
        }
        Ok(backend)
    }

    #[cfg(feature = "stdio")]
    fn stdio(&self, name: &str, command: &str) -> crate::Result<Backend> {
        let mut child = crate::transport::stdio::ChildCommand::new(command).args(&self.args);
        for (key, value) in &self.env {
            child = child.env(key, value);
        }
        if let Some(cwd) = &self.cwd {
            child = child.current_dir(cwd);
        }
        Ok(Backend::stdio(name, child))
    }

    #[cfg(not(feature = "stdio"))]
    fn stdio(&self, name: &str, _: &str) -> crate::Result<Backend> {
        Err(crate::Error::unsupported(format!(
            "hub config: server {name:?} is a stdio one, and this build has no `stdio` feature"
        )))
    }

    #[cfg(feature = "http-client")]
    fn http(&self, name: &str, url: &str) -> crate::Result<Backend> {
        let mut config = crate::client::HttpClientConfig::new(url);
        for (key, value) in &self.headers {
            config = config.header(key, value);
        }
        Ok(Backend::http(name, config))
    }

    #[cfg(not(feature = "http-client"))]
    fn http(&self, name: &str, _: &str) -> crate::Result<Backend> {
        Err(crate::Error::unsupported(format!(
            "hub config: server {name:?} is a Streamable HTTP one, and this build has no `http-client` feature"
        )))
    }
}
