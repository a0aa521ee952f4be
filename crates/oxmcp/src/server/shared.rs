//! The state a server shares across its connections: registries, settings, and the live
//! connections that notifications fan out to.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::lifecycle::{
    DiscoverResult, Implementation, InitializeResult, PromptsCapability, ResourcesCapability,
    ServerCapabilities, ToolsCapability,
};
use oxmcp_protocol::meta::{Meta, SERVER_INFO};
use oxmcp_protocol::result::{CacheScope, ResultType};
use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::ProtocolVersion;

use super::connection::Connection;
use super::handler::ErasedHandler;
use super::prompt::PromptEntry;
use super::registry::{ListShape, Registry};
use super::resource::ResourceEntry;
use super::uri_template::UriTemplate;

/// Cache hints attached to cacheable results of the modern era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheHints {
    /// How long a client may reuse the result, in milliseconds (0: re-fetch every time).
    pub ttl_ms: u64,
    /// Whether shared caches may serve the result across users.
    pub scope: CacheScope,
}

impl CacheHints {
    /// Hints with a time to live and a scope.
    pub fn new(ttl_ms: u64, scope: CacheScope) -> Self {
        CacheHints { ttl_ms, scope }
    }

    fn tail(&self, server_info: &Meta) -> String {
        format!(
            r#""ttlMs":{},"cacheScope":{},"_meta":{}"#,
            self.ttl_ms,
            serde_json::to_string(&self.scope).unwrap_or_default(),
            serde_json::to_string(server_info).unwrap_or_default()
        )
    }
}

impl Default for CacheHints {
    /// Immediately stale and private: safe for any server.
    fn default() -> Self {
        CacheHints {
            ttl_ms: 0,
            scope: CacheScope::Private,
        }
    }
}

/// Cache hints per kind of cacheable result.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CachePolicy {
    pub(crate) discover: CacheHints,
    pub(crate) tools: CacheHints,
    pub(crate) resources: CacheHints,
    pub(crate) prompts: CacheHints,
}

pub(crate) type ToolEntry = Arc<dyn ErasedHandler<(), CallToolResult>>;

/// A registered template: the parsed template and its resource entry.
#[derive(Clone)]
pub(crate) struct TemplateEntry {
    pub(crate) template: Arc<UriTemplate>,
    pub(crate) entry: ResourceEntry<()>,
}

impl Clone for ResourceEntry<()> {
    fn clone(&self) -> Self {
        ResourceEntry {
            mime_type: self.mime_type.clone(),
            handler: self.handler.clone(),
            completers: self.completers.clone(),
        }
    }
}

impl Clone for PromptEntry<()> {
    fn clone(&self) -> Self {
        PromptEntry {
            handler: self.handler.clone(),
            completers: self.completers.clone(),
        }
    }
}

/// Settings fixed when the server starts.
pub(crate) struct Config {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) capabilities: ServerCapabilities,
    pub(crate) server_info_meta: Meta,
    /// `server_info_meta` serialized once, for the `_meta` of every modern result.
    pub(crate) server_info_meta_json: String,
    pub(crate) supported: Vec<&'static str>,
    pub(crate) cache: CachePolicy,
    pub(crate) tools_shape: ListShape,
    pub(crate) resources_shape: ListShape,
    pub(crate) prompts_shape: ListShape,
    /// The longest URI `resources/read` looks up.
    pub(crate) max_uri_length: usize,
    /// Seals the `requestState` of multi round-trip requests.
    pub(crate) sealer: super::ask::Sealer,
    /// The router's limits: timeouts, concurrency, rate.
    pub(crate) limits: super::limits::Enforcer,
    /// The router's layers, around every request (`None`: no layers).
    pub(crate) layers: Option<super::middleware::Endpoint>,
    /// Default scopes, their hierarchy and the per-item check (feature `auth`).
    #[cfg(feature = "auth")]
    pub(crate) scope_policy: Option<std::sync::Arc<super::auth::ScopePolicy>>,
    /// Methods extensions added, by name.
    pub(crate) methods: std::collections::HashMap<String, super::extension::MethodHandler>,
    /// The tasks extension's runtime, if it is installed.
    pub(crate) tasks: Option<Arc<super::tasks::Runtime>>,
    discover: String,
}

/// What every connection of one server shares.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) tools: Registry<ToolEntry>,
    pub(crate) resources: Registry<ResourceEntry<()>>,
    pub(crate) templates: Registry<TemplateEntry>,
    pub(crate) prompts: Registry<PromptEntry<()>>,
    config: OnceLock<Config>,
    connections: Mutex<Vec<Weak<Connection>>>,
    pub(crate) hooks: super::lifespan::Hooks,
    /// Who follows this server's changes: the routers it is mounted in.
    followers: Mutex<Vec<Follower>>,
}

/// A change a server announces, for the routers it is mounted in.
pub(crate) enum Change<'a> {
    /// A list changed.
    List(super::connection::ListKind),
    /// A resource changed.
    Updated(&'a str),
}

/// What follows a server's changes.
pub(crate) type Follower = Box<dyn Fn(&Change<'_>) + Send + Sync>;

/// The settings a router collected, turned into a [`Config`].
pub(crate) struct Settings {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) cache: CachePolicy,
    pub(crate) page_size: Option<usize>,
    pub(crate) max_uri_length: usize,
    pub(crate) request_state: super::ask::StateSettings,
    pub(crate) limits: super::limits::Settings,
    pub(crate) layers: Option<super::middleware::Endpoint>,
    #[cfg(feature = "auth")]
    pub(crate) scope_policy: Option<std::sync::Arc<super::auth::ScopePolicy>>,
    pub(crate) extensions: std::collections::BTreeMap<String, oxmcp_protocol::JsonObject>,
    pub(crate) methods: std::collections::HashMap<String, super::extension::MethodHandler>,
    pub(crate) tasks: Option<Arc<super::tasks::Runtime>>,
}

impl Shared {
    /// Fixes the settings; the first call wins.
    pub(crate) fn configure(&self, settings: Settings) {
        let mut capabilities = ServerCapabilities::default();
        let mut tools = ToolsCapability::default();
        tools.list_changed = Some(true);
        capabilities.tools = Some(tools);
        let mut resources = ResourcesCapability::default();
        resources.list_changed = Some(true);
        resources.subscribe = Some(true);
        capabilities.resources = Some(resources);
        let mut prompts = PromptsCapability::default();
        prompts.list_changed = Some(true);
        capabilities.prompts = Some(prompts);
        capabilities.logging = Some(Default::default());
        capabilities.completions = Some(Default::default());
        if !settings.extensions.is_empty() {
            capabilities.extensions = Some(settings.extensions);
        }

        let mut server_info_meta = Meta::new();
        server_info_meta.insert(
            SERVER_INFO.to_owned(),
            serde_json::to_value(&settings.info).unwrap_or_default(),
        );
        // Modern first, then legacy, newest first within each.
        let mut supported: Vec<&'static str> = ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str())
            .collect();
        supported.sort_by_key(|v| ProtocolVersion::parse(v).is_some_and(|p| p.is_legacy()));

        let mut discover = DiscoverResult::new(
            supported.iter().map(|s| (*s).to_owned()).collect(),
            capabilities.clone(),
        );
        discover.result_type = Some(ResultType::Complete);
        discover.ttl_ms = Some(settings.cache.discover.ttl_ms);
        discover.cache_scope = Some(settings.cache.discover.scope);
        discover.instructions = settings.instructions.clone();
        discover.meta = Some(server_info_meta.clone());

        let shape = |hints: CacheHints| ListShape {
            page_size: settings.page_size,
            modern_tail: hints.tail(&server_info_meta),
        };
        let sealer = settings.request_state.sealer(&settings.info.name);
        let config = Config {
            sealer,
            layers: settings.layers,
            limits: super::limits::Enforcer::new(settings.limits),
            #[cfg(feature = "auth")]
            scope_policy: settings.scope_policy,
            methods: settings.methods,
            tasks: settings.tasks,
            tools_shape: shape(settings.cache.tools),
            resources_shape: shape(settings.cache.resources),
            prompts_shape: shape(settings.cache.prompts),
            max_uri_length: settings.max_uri_length,
            info: settings.info,
            instructions: settings.instructions,
            capabilities,
            supported,
            cache: settings.cache,
            discover: serde_json::to_string(&discover).expect("protocol types always serialize"),
            server_info_meta_json: serde_json::to_string(&server_info_meta)
                .expect("protocol types always serialize"),
            server_info_meta,
        };
        let _ = self.config.set(config);
    }

    pub(crate) fn config(&self) -> &Config {
        self.config
            .get()
            .expect("the server is configured before it serves")
    }

    /// Keeps track of a live connection, for notifications.
    pub(crate) fn register(&self, connection: &Arc<Connection>) {
        let mut connections = self.connections.lock().expect("connections lock");
        connections.retain(|c| c.strong_count() > 0);
        connections.push(Arc::downgrade(connection));
    }

    /// Calls `follower` on every change this server announces from now on.
    pub(crate) fn follow(&self, follower: Follower) {
        self.followers
            .lock()
            .expect("followers lock")
            .push(follower);
    }

    fn announce(&self, change: &Change<'_>) {
        for follower in self.followers.lock().expect("followers lock").iter() {
            follower(change);
        }
    }

    /// Tells every connection (and every router this one is mounted in) that a list
    /// changed.
    pub(crate) fn list_changed(&self, kind: super::connection::ListKind) {
        for connection in self.connections() {
            connection.notify_list_changed(kind);
        }
        self.announce(&Change::List(kind));
    }

    /// Tells every subscriber of `uri` (and every router this one is mounted in) that it
    /// changed.
    pub(crate) fn resource_updated(&self, uri: &str) {
        for connection in self.connections() {
            connection.notify_resource_updated(uri);
        }
        self.announce(&Change::Updated(uri));
    }

    /// The live connections.
    pub(crate) fn connections(&self) -> Vec<Arc<Connection>> {
        let mut connections = self.connections.lock().expect("connections lock");
        connections.retain(|c| c.strong_count() > 0);
        connections.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Config {
    pub(crate) fn unsupported_version(&self, requested: &str) -> ErrorObject {
        ErrorObject::unsupported_protocol_version(requested, &self.supported)
    }

    pub(crate) fn supported_list(&self) -> String {
        self.supported.join(", ")
    }

    pub(crate) fn initialize_result(&self, version: ProtocolVersion) -> String {
        let mut result = InitializeResult::new(
            version.as_str().to_owned(),
            self.capabilities.clone(),
            self.info.clone(),
        );
        result.instructions = self.instructions.clone();
        serde_json::to_string(&result).expect("protocol types always serialize")
    }

    pub(crate) fn discover_result(&self) -> String {
        self.discover.clone()
    }

    pub(crate) fn empty_result(&self, version: ProtocolVersion) -> String {
        if version.is_modern() {
            format!(
                r#"{{"resultType":"complete","_meta":{}}}"#,
                self.server_info_meta_json
            )
        } else {
            "{}".to_owned()
        }
    }
}
