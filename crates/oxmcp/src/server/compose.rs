//! Composition: one router made of others ([`Router::mount`]), and tools reshaped without
//! a wrapper handler ([`Transform`]).
//!
//! A mounted router keeps everything that makes it work: its state (it is a `Router<()>`
//! whose state was supplied, or comes from its lifespan, which starts and stops with the
//! router it is mounted in), its layers (they run around each of its items' calls, outside
//! the items' own), and its [`ServerHandle`](super::ServerHandle): what that handle adds,
//! removes or announces later shows up in the mounting router, namespaced, and its clients
//! are told.
//!
//! Names get a prefix and a separator (`_` unless [`Mount::separator`] says otherwise):
//! tool `search` mounted under `docs` is `docs_search`, prompts alike. Resource URIs get
//! the prefix as their first path segment, reversibly: `file:///notes.md` under `docs` is
//! `file://docs//notes.md` (and `notes:today`, without `//`, is `notes:docs/today`); a read
//! of the namespaced URI reaches the mounted resource, and the URIs in what it returns are
//! namespaced the same way.
//!
//! ```
//! use oxmcp::server::compose::{Mount, Transform};
//! use oxmcp::server::{Router, State};
//!
//! async fn search(State(index): State<&'static str>) -> String {
//!     format!("searched {index}")
//! }
//!
//! let docs: Router = Router::new().tool("search", search).with_state("docs-index");
//! let router: Router = Router::new()
//!     .mount("docs", docs)
//!     // The same router again, as `wiki.lookup`, with a fixed, hidden argument.
//!     .mount_with(
//!         Mount::new("wiki")
//!             .separator(".")
//!             .transform("search", Transform::new().rename("lookup").description("Look a page up")),
//!         Router::new().tool("search", search).with_state("wiki-index"),
//!     );
//! let names: Vec<_> = router.tools().map(|t| t.name.clone()).collect();
//! assert_eq!(names, ["docs_search", "wiki.lookup"]);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use oxmcp_protocol::content::ResourceContents;
use oxmcp_protocol::tools::{CallToolResult, Tool};
use oxmcp_protocol::JsonObject;
use serde_json::value::RawValue;
use serde_json::Value;

use super::connection::ListKind;
use super::error::ToolError;
use super::extract::Request;
use super::handler::{ErasedHandler, Finish, Layered, Reply};
use super::middleware::Endpoint;
use super::prompt::PromptEntry;
use super::registry::Registry;
use super::resource::{ContentsFn, ResourceEntry};
use super::shared::{Shared, TemplateEntry};
use super::tool::{check_tool_name, ErasedTool};
use super::uri_template::UriTemplate;
use super::Router;
use crate::rpc::BoxFuture;

#[cfg(feature = "client")]
mod hub;
#[cfg(feature = "client")]
mod proxy;
#[cfg(feature = "client")]
pub use hub::{Backend, BackendConfig, CircuitBreakerConfig, Hub, HubConfig, ToolOverride};
#[cfg(feature = "client")]
pub use proxy::Proxy;

/// How a router is mounted: its prefix, the separator between prefix and name, and
/// transforms of its tools. See [`Router::mount_with`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Mount {
    prefix: String,
    separator: String,
    transforms: HashMap<String, Transform>,
    /// Only these tools (by their name in the mounted router), if set.
    allow: Option<Vec<String>>,
    /// Never these tools.
    deny: Vec<String>,
}

impl Mount {
    /// Mounts under `prefix`, with `_` between prefix and names. An empty prefix mounts
    /// without a namespace: names and URIs stay as they are.
    pub fn new(prefix: impl Into<String>) -> Self {
        Mount {
            prefix: prefix.into(),
            separator: "_".to_owned(),
            transforms: HashMap::new(),
            allow: None,
            deny: Vec::new(),
        }
    }

    /// The separator between prefix and tool or prompt name (default `_`). Tool names may
    /// only hold `A-Z a-z 0-9 _ - .`, so `.` and `-` are the other choices.
    pub fn separator(mut self, separator: impl Into<String>) -> Self {
        self.separator = separator.into();
        self
    }

    /// Reshapes the mounted tool named `tool` (its name in the mounted router); a rename
    /// replaces that name, and the prefix still goes before it.
    pub fn transform(mut self, tool: &str, transform: Transform) -> Self {
        self.transforms.insert(tool.to_owned(), transform);
        self
    }

    /// Shows only the mounted tools named here (their names in the mounted router); the
    /// others are hidden: not listed, not callable. Calls add to the list.
    pub fn allow<I, T>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allow
            .get_or_insert_with(Vec::new)
            .extend(tools.into_iter().map(Into::into));
        self
    }

    /// Hides the mounted tools named here (their names in the mounted router), whatever
    /// [`Mount::allow`] says.
    pub fn deny<I, T>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.deny.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Whether the mounted tool named `tool` is shown (see [`Mount::allow`], [`Mount::deny`]).
    pub fn shows(&self, tool: &str) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|allow| allow.iter().any(|a| a == tool));
        allowed && !self.deny.iter().any(|d| d == tool)
    }

    /// The prefix names and URIs get.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The name a mounted tool or prompt named `name` gets.
    pub fn name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}{}{name}", self.prefix, self.separator)
        }
    }

    /// The URI (or URI template) a mounted resource at `uri` gets: the prefix becomes the
    /// first segment after the scheme (`file:///a` under `docs`: `file://docs//a`).
    pub fn uri(&self, uri: &str) -> String {
        if self.prefix.is_empty() {
            return uri.to_owned();
        }
        let at = uri_split(uri);
        format!("{}{}/{}", &uri[..at], self.prefix, &uri[at..])
    }

    /// The mounted resource's own URI for a namespaced one, if `uri` is in this mount's
    /// namespace: the inverse of [`Mount::uri`].
    pub fn unmount_uri(&self, uri: &str) -> Option<String> {
        if self.prefix.is_empty() {
            return Some(uri.to_owned());
        }
        let at = uri_split(uri);
        let rest = uri[at..]
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?;
        Some(format!("{}{rest}", &uri[..at]))
    }
}

/// Where a mount's prefix goes in a URI: after `scheme://`, or after `scheme:`, or first.
fn uri_split(uri: &str) -> usize {
    match uri.find("://") {
        Some(i) => i + 3,
        None => uri.find(':').map_or(0, |i| i + 1),
    }
}

/// A change to one tool, made without writing a wrapper handler: a new name, title or
/// description, and arguments fixed to a value (and hidden from the input schema: the
/// client neither sees nor sets them).
///
/// Use it on a router's own tool ([`Router::transform_tool`]) or on a mounted router's
/// ([`Mount::transform`]).
///
/// ```
/// use oxmcp::server::compose::Transform;
/// use oxmcp::server::{Args, Router};
/// use oxmcp::schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Query { sql: String, database: String }
///
/// async fn query(Args(q): Args<Query>) -> String { format!("{} on {}", q.sql, q.database) }
///
/// let router: Router = Router::new().tool("query", query).transform_tool(
///     "query",
///     Transform::new()
///         .rename("query_sales")
///         .description("Run SQL on the sales database")
///         .fix("database", "sales"),
/// );
/// let tool = router.tools().next().unwrap();
/// assert_eq!(tool.name, "query_sales");
/// assert!(tool.input_schema["properties"].get("database").is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Transform {
    name: Option<String>,
    title: Option<String>,
    description: Option<String>,
    fixed: JsonObject,
}

impl Transform {
    /// A transform that changes nothing yet.
    pub fn new() -> Self {
        Transform::default()
    }

    /// A new name for the tool.
    pub fn rename(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A new human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// A new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Fixes `argument` to `value`: it leaves the input schema (and its `required` list),
    /// and every call gets this value, whatever the client sent.
    pub fn fix(mut self, argument: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fixed.insert(argument.into(), value.into());
        self
    }

    /// The new name, if the transform renames the tool.
    pub(crate) fn new_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Applies the changes to a tool's definition (its name included, if renamed).
    pub(crate) fn apply(&self, def: &mut Tool) {
        if let Some(name) = &self.name {
            def.name.clone_from(name);
        }
        if let Some(title) = &self.title {
            def.title = Some(title.clone());
        }
        if let Some(description) = &self.description {
            def.description = Some(description.clone());
        }
        if self.fixed.is_empty() {
            return;
        }
        if let Some(Value::Object(properties)) = def.input_schema.get_mut("properties") {
            for argument in self.fixed.keys() {
                properties.remove(argument);
            }
        }
        if let Some(Value::Array(required)) = def.input_schema.get_mut("required") {
            required.retain(|r| r.as_str().is_none_or(|r| !self.fixed.contains_key(r)));
        }
    }

    /// The tool's handler, given the fixed arguments.
    pub(crate) fn wrap<S: 'static>(&self, inner: Arc<ErasedTool<S>>) -> Arc<ErasedTool<S>> {
        if self.fixed.is_empty() {
            return inner;
        }
        let mut fixed = inner.preset().cloned().unwrap_or_default();
        fixed.extend(self.fixed.clone());
        Arc::new(Preset { inner, fixed })
    }
}

/// A tool whose arguments are partly fixed by a [`Transform`].
struct Preset<S> {
    inner: Arc<ErasedTool<S>>,
    fixed: JsonObject,
}

impl<S> ErasedHandler<S, CallToolResult> for Preset<S> {
    fn call(&self, request: Request, state: &S) -> BoxFuture<Result<CallToolResult, ToolError>> {
        self.inner.call(request, state)
    }

    fn call_finish(
        &self,
        request: Request,
        state: &S,
        finish: Finish<CallToolResult>,
    ) -> BoxFuture<Reply> {
        self.inner.call_finish(request, state, finish)
    }

    fn layers(&self) -> Option<&Endpoint> {
        self.inner.layers()
    }

    fn preset(&self) -> Option<&JsonObject> {
        Some(&self.fixed)
    }
    fn scopes(&self) -> Option<&[String]> {
        self.inner.scopes()
    }

    fn task_support(&self) -> Option<crate::server::tasks::TaskSupport> {
        self.inner.task_support()
    }
}

/// The client's arguments (an object, or none) with the fixed ones put over them.
pub(crate) fn with_preset(given: Option<&RawValue>, fixed: &JsonObject) -> Box<RawValue> {
    let mut arguments: JsonObject = given
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    arguments.extend(fixed.iter().map(|(k, v)| (k.clone(), v.clone())));
    serde_json::value::to_raw_value(&arguments).expect("a JSON object always serializes")
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Mounts `other` under `prefix`: its tools, prompts, resources and templates appear
    /// here namespaced (tool `prefix_name`, resource `scheme://prefix/...`), with its state,
    /// layers and lifespan; what its [`ServerHandle`](super::ServerHandle) changes later
    /// appears here too. See [`compose`](self) and [`Router::mount_with`] for a separator
    /// and transforms.
    ///
    /// # Panics
    /// If a namespaced name or URI is taken here already, or a namespaced tool name breaks
    /// the MCP tool-name rules.
    pub fn mount(self, prefix: &str, other: Router) -> Self {
        self.mount_with(Mount::new(prefix), other)
    }

    /// Mounts `other` as `mount` says (prefix, separator, transforms of its tools).
    ///
    /// # Panics
    /// As [`Router::mount`].
    pub fn mount_with(mut self, mount: Mount, other: Router) -> Self {
        let inner = other.build();
        let layers = inner.config().layers.clone();
        let mut link = Link {
            mount,
            layers,
            inner,
            held: Mutex::default(),
            listed: Vec::new(),
        };
        link.listed = link.tool_defs();
        let link = Arc::new(link);
        for (key, ..) in link.tools() {
            check_tool_name(&key).unwrap_or_else(|why| {
                panic!("mounting: the namespaced tool name {key:?} is not valid: {why}")
            });
        }
        let here: [Vec<&str>; 4] = [
            self.tools.iter().map(|(k, ..)| k.as_str()).collect(),
            self.prompts.iter().map(|(k, ..)| k.as_str()).collect(),
            self.resources.iter().map(|(k, _)| k.as_str()).collect(),
            self.templates.iter().map(|(k, _)| k.as_str()).collect(),
        ];
        let mounted: Vec<[Vec<String>; 4]> = self.mounts.iter().map(|m| m.keys()).collect();
        let what = [
            "a tool named",
            "a prompt named",
            "a resource",
            "a resource template",
        ];
        for (i, keys) in link.keys().iter().enumerate() {
            for key in keys {
                let taken =
                    here[i].contains(&key.as_str()) || mounted.iter().any(|m| m[i].contains(key));
                assert!(
                    !taken,
                    "mounting: {} {key:?} is registered here already",
                    what[i]
                );
            }
        }
        self.mounts.push(link);
        self
    }

    /// Reshapes the tool registered as `name` (see [`Transform`]).
    ///
    /// # Panics
    /// If no tool of that name is registered, or the new name is taken or invalid.
    pub fn transform_tool(mut self, name: &str, transform: Transform) -> Self {
        let at = self
            .tools
            .iter()
            .position(|(n, ..)| n == name)
            .unwrap_or_else(|| panic!("transform_tool: no tool named {name:?} is registered"));
        if let Some(new) = transform.new_name().filter(|new| *new != name) {
            super::tool::validate_tool_name(new);
            assert!(
                !self.tools.iter().any(|(n, ..)| n == new),
                "transform_tool: a tool named {new:?} is registered already"
            );
        }
        let (key, def, entry) = &mut self.tools[at];
        transform.apply(def);
        key.clone_from(&def.name);
        *entry = transform.wrap(entry.clone());
        self
    }
}

/// A mounted router, live: its items are copied, namespaced, into the mounting router's
/// registries, again whenever its own change.
pub(crate) struct Link {
    mount: Mount,
    /// The mounted router's layers, around each of its items.
    layers: Option<Endpoint>,
    inner: Arc<Shared>,
    /// The keys this mount put in each registry of the mounting router: tools, prompts,
    /// resources, templates.
    held: Mutex<[Vec<String>; 4]>,
    /// The tool definitions when it was mounted, for [`Router::tools`].
    pub(crate) listed: Vec<Tool>,
}

type ToolItem = (String, Tool, Arc<ErasedTool<()>>);

impl Link {
    fn layered<O: 'static>(
        &self,
        handler: Arc<dyn ErasedHandler<(), O>>,
    ) -> Arc<dyn ErasedHandler<(), O>> {
        match &self.layers {
            None => handler,
            Some(outer) => {
                let layers = Endpoint::nest(outer, handler.layers());
                let scopes = handler.scopes().map(Arc::from);
                Layered::around(handler, Some(layers), scopes)
            }
        }
    }

    fn tools(&self) -> impl Iterator<Item = ToolItem> + '_ {
        let catalog = self.inner.tools.snapshot();
        let items: Vec<ToolItem> = catalog
            .items
            .iter()
            .filter(|(name, _)| self.mount.shows(name))
            .filter_map(|(name, item)| {
                let mut def: Tool = serde_json::from_str(&item.json).ok()?;
                let mut entry = self.layered(item.entry.clone());
                if let Some(transform) = self.mount.transforms.get(&**name) {
                    transform.apply(&mut def);
                    entry = transform.wrap(entry);
                }
                def.name = self.mount.name(&def.name);
                Some((def.name.clone(), def, entry))
            })
            .collect();
        items.into_iter()
    }

    fn prompts(&self) -> impl Iterator<Item = (String, Value, PromptEntry<()>)> + '_ {
        let key = |name: &str| self.mount.name(name);
        renamed(&self.inner.prompts, "name", key, |_, entry| {
            Some(PromptEntry {
                handler: self.layered(entry.handler.clone()),
                completers: entry.completers.clone(),
            })
        })
    }

    fn resource_entry(self: &Arc<Self>, entry: &ResourceEntry<()>) -> ResourceEntry<()> {
        let handler: Arc<dyn ErasedHandler<(), ContentsFn>> = Arc::new(Renamed {
            inner: entry.handler.clone(),
            link: self.clone(),
        });
        ResourceEntry {
            mime_type: entry.mime_type.clone(),
            handler: self.layered(handler),
            completers: entry.completers.clone(),
        }
    }

    fn resources(self: &Arc<Self>) -> impl Iterator<Item = (String, Value, ResourceEntry<()>)> {
        let key = |uri: &str| self.mount.uri(uri);
        renamed(&self.inner.resources, "uri", key, |_, entry| {
            Some(self.resource_entry(entry))
        })
    }

    fn templates(self: &Arc<Self>) -> impl Iterator<Item = (String, Value, TemplateEntry)> {
        let key = |template: &str| self.mount.uri(template);
        renamed(&self.inner.templates, "uriTemplate", key, |key, entry| {
            Some(TemplateEntry {
                template: Arc::new(UriTemplate::parse(key).ok()?),
                entry: self.resource_entry(&entry.entry),
            })
        })
    }

    /// Copies the mounted router's items of `kind` into `outer`, replacing the ones copied
    /// before.
    fn sync(self: &Arc<Self>, outer: &Shared, kind: ListKind) {
        let mut held = self.held.lock().expect("mount lock");
        match kind {
            ListKind::Tools => {
                replace(&outer.tools, &mut held[0], self.tools());
            }
            ListKind::Prompts => replace(&outer.prompts, &mut held[1], self.prompts()),
            ListKind::Resources => {
                replace(&outer.resources, &mut held[2], self.resources());
                replace(&outer.templates, &mut held[3], self.templates());
            }
        }
    }
}

/// The items of `registry` under new keys (`key` of the old one, also written to the
/// definition's `field`), with new entries (`entry` of the new key and the old entry).
fn renamed<E: Clone, E2>(
    registry: &Registry<E>,
    field: &str,
    key: impl Fn(&str) -> String,
    entry: impl Fn(&str, &E) -> Option<E2>,
) -> std::vec::IntoIter<(String, Value, E2)> {
    let catalog = registry.snapshot();
    let items: Vec<_> = catalog
        .items
        .iter()
        .filter_map(|(old, item)| {
            let mut def: Value = serde_json::from_str(&item.json).ok()?;
            let new = key(old);
            def[field] = Value::String(new.clone());
            let entry = entry(&new, &item.entry)?;
            Some((new, def, entry))
        })
        .collect();
    items.into_iter()
}

/// Puts `items` in `registry` in place of the keys in `held`, which become theirs; an item
/// whose key is taken by something else is left out, with a warning.
fn replace<E: Clone, D: serde::Serialize>(
    registry: &Registry<E>,
    held: &mut Vec<String>,
    items: impl Iterator<Item = (String, D, E)>,
) {
    let items: Vec<_> = items.collect();
    let refused = registry.replace(held, items.iter().map(|(k, d, e)| (k, d, e)));
    held.clear();
    held.extend(
        items
            .into_iter()
            .map(|(k, ..)| k)
            .filter(|k| !refused.contains(k)),
    );
    for key in refused {
        tracing::warn!(%key, "a mounted router's item is left out: its name is taken");
    }
}

impl Link {
    /// The keys of what this mount adds now: tools, prompts, resources, templates.
    fn keys(self: &Arc<Self>) -> [Vec<String>; 4] {
        [
            self.tools().map(|(k, ..)| k).collect(),
            self.prompts().map(|(k, ..)| k).collect(),
            self.resources().map(|(k, ..)| k).collect(),
            self.templates().map(|(k, ..)| k).collect(),
        ]
    }

    /// The definitions of the tools this mount adds, as they are now.
    pub(crate) fn tool_defs(&self) -> Vec<Tool> {
        self.tools().map(|(_, def, _)| def).collect()
    }
}

/// A mounted resource: read with its own URI, and the URIs of its contents namespaced.
struct Renamed {
    inner: Arc<dyn ErasedHandler<(), ContentsFn>>,
    link: Arc<Link>,
}

impl ErasedHandler<(), ContentsFn> for Renamed {
    fn call(&self, request: Request, state: &()) -> BoxFuture<Result<ContentsFn, ToolError>> {
        let link = self.link.clone();
        let future = self.inner.call(request, state);
        Box::pin(async move {
            let build = future.await?;
            let contents: ContentsFn = Box::new(move |uri, mime| {
                let own = link.mount.unmount_uri(uri);
                let mut contents = build(own.as_deref().unwrap_or(uri), mime)?;
                for item in &mut contents {
                    let uri = match item {
                        ResourceContents::Text(text) => &mut text.uri,
                        ResourceContents::Blob(blob) => &mut blob.uri,
                    };
                    *uri = link.mount.uri(uri);
                }
                Ok(contents)
            });
            Ok(contents)
        })
    }

    fn layers(&self) -> Option<&Endpoint> {
        self.inner.layers()
    }
}

/// Wires the mounts of a router that starts serving: copies their items in, starts their
/// lifespans with its own, and follows their later changes.
pub(crate) fn attach(outer: &Arc<Shared>, mounts: Vec<Arc<Link>>) {
    for link in mounts {
        for kind in [ListKind::Tools, ListKind::Prompts, ListKind::Resources] {
            link.sync(outer, kind);
        }
        outer
            .hooks
            .children
            .lock()
            .expect("hooks lock")
            .push(link.inner.clone());
        let weak: Weak<Shared> = Arc::downgrade(outer);
        let follower = link.clone();
        link.inner.follow(Box::new(move |change| {
            let Some(outer) = weak.upgrade() else { return };
            match change {
                super::shared::Change::List(kind) => {
                    follower.sync(&outer, *kind);
                    outer.list_changed(*kind);
                }
                super::shared::Change::Updated(uri) => {
                    outer.resource_updated(&follower.mount.uri(uri));
                }
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        let mount = Mount::new("docs");
        for (uri, namespaced) in [
            ("file:///notes.md", "file://docs//notes.md"),
            ("users://42/profile", "users://docs/42/profile"),
            ("notes:today", "notes:docs/today"),
            ("plain", "docs/plain"),
        ] {
            assert_eq!(mount.uri(uri), namespaced);
            assert_eq!(mount.unmount_uri(namespaced).as_deref(), Some(uri));
        }
        assert_eq!(mount.unmount_uri("file://other//notes.md"), None);
        assert_eq!(mount.unmount_uri("file://docsx/a"), None);
        let bare = Mount::new("");
        assert_eq!(bare.uri("file:///a"), "file:///a");
        assert_eq!(bare.name("t"), "t");
        assert_eq!(Mount::new("a").separator(".").name("t"), "a.t");
    }
}
