//! Scopes: what each tool, prompt and resource needs, their hierarchy, and the checks.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use oxmcp_protocol::ErrorObject;
use serde_json::Value;

use super::{Auth, Authn};
use crate::server::apps;
use crate::server::shared::Shared;
use std::borrow::Cow;

/// The JSON-RPC error code of a request that needs a token and came without one (over
/// HTTP: `401` with the scopes in the challenge).
pub const AUTHENTICATION_REQUIRED: i64 = -32041;
/// The JSON-RPC error code of a request whose token lacks a scope the target needs (over
/// HTTP: `403` with an `insufficient_scope` challenge). `data.scopes` names every scope
/// the target needs.
pub const INSUFFICIENT_SCOPE: i64 = -32043;
/// The JSON-RPC error code of a request the [`ScopePolicy::check`] hook refused.
pub const FORBIDDEN: i64 = -32044;

/// What a request targets, for [`ScopePolicy::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target<'a> {
    /// A tool, by name.
    Tool(&'a str),
    /// A prompt, by name.
    Prompt(&'a str),
    /// A resource (or a template's instance), by URI.
    Resource(&'a str),
}

type Check = dyn Fn(&Auth, Target<'_>) -> bool + Send + Sync;

/// How a router's items are guarded by scopes (feature `auth`): default scopes for items
/// that name none, a hierarchy (a scope that implies others), and a check per request
/// (resource-level authorization).
///
/// ```
/// use oxmcp::server::auth::{ScopePolicy, Target};
/// use oxmcp::server::Router;
///
/// let policy = ScopePolicy::new()
///     .default_scopes(["notes:read"])
///     .implies("notes:admin", ["notes:write"])
///     .implies("notes:write", ["notes:read"])
///     // A subject reads only its own notes.
///     .check(|auth, target| match target {
///         Target::Resource(uri) => uri.starts_with(&format!("notes://{}/", auth.subject())),
///         _ => true,
///     });
/// let router: Router = Router::new().scope_policy(policy);
/// # let _ = router;
/// ```
#[derive(Default, Clone)]
pub struct ScopePolicy {
    default: Option<Arc<[String]>>,
    implies: HashMap<String, Vec<String>>,
    check: Option<Arc<Check>>,
}

impl fmt::Debug for ScopePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopePolicy")
            .field("default", &self.default)
            .field("implies", &self.implies)
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl ScopePolicy {
    /// No default scopes, no hierarchy, no check.
    pub fn new() -> Self {
        ScopePolicy::default()
    }

    /// The scopes an item needs when it names none of its own.
    pub fn default_scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.default = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// A token with `scope` also has `implied` (and what those imply in turn).
    pub fn implies<I, T>(mut self, scope: impl Into<String>, implied: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.implies
            .entry(scope.into())
            .or_default()
            .extend(implied.into_iter().map(Into::into));
        self
    }

    /// A check run for every authenticated request to a tool, prompt or resource, once its
    /// scopes are satisfied: `false` refuses it.
    pub fn check(
        mut self,
        check: impl Fn(&Auth, Target<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Every scope `auth` has, those its scopes imply included.
    pub fn granted(&self, auth: &Auth) -> HashSet<String> {
        let mut granted: HashSet<String> = HashSet::new();
        let mut todo: Vec<&str> = auth.scopes().iter().map(String::as_str).collect();
        while let Some(scope) = todo.pop() {
            if granted.insert(scope.to_owned()) {
                if let Some(more) = self.implies.get(scope) {
                    todo.extend(more.iter().map(String::as_str));
                }
            }
        }
        granted
    }
}

/// Whether listings are filtered for the caller of a request: when a transport
/// authenticates (or a layer supplied an [`Auth`]).
pub(crate) fn filters_lists(extensions: &http::Extensions) -> bool {
    extensions.get::<Authn>().is_some() || extensions.get::<Auth>().is_some()
}

/// A `*/list` result of only the items the caller may use (templates: whose scopes it
/// has; the check hook sees concrete resources only).
///
/// A tool linked to an MCP App is listed as a plain tool (its `_meta.ui` left out; left
/// out itself if only an app may call it) when the client did not declare the extension
/// (`client_apps`) or when the caller may not read the app's `ui://` resource: its
/// metadata never points at what the caller cannot read.
pub(crate) fn list_usable(
    shared: &Shared,
    method: &str,
    extensions: &http::Extensions,
    modern: bool,
    cursor: Option<&str>,
    client_apps: bool,
) -> Result<String, ErrorObject> {
    let config = shared.config();
    let may = |scopes: Option<&[String]>, target: Option<Target<'_>>| {
        check(shared, extensions, scopes, target).is_ok()
    };
    match method {
        "tools/list" => shared.tools.snapshot().list_where(
            "tools",
            &config.tools_shape,
            modern,
            cursor,
            |name, tool| {
                if !may(tool.entry.scopes(), Some(Target::Tool(name))) {
                    return None;
                }
                match &tool.app {
                    Some(app) if !(client_apps && app_readable(shared, extensions, app)) => {
                        apps::plain_tool(&tool.json).map(Cow::Owned)
                    }
                    _ => Some(Cow::Borrowed(&tool.json)),
                }
            },
        ),
        "resources/list" => shared.resources.snapshot().list_where(
            "resources",
            &config.resources_shape,
            modern,
            cursor,
            |uri, resource| {
                let scopes = resource.entry.handler.scopes();
                let may = permits(shared, extensions, scopes, Target::Resource(uri)).is_ok();
                shown(may, &resource.json)
            },
        ),
        "resources/templates/list" => shared.templates.snapshot().list_where(
            "resourceTemplates",
            &config.resources_shape,
            modern,
            cursor,
            |_, template| {
                shown(
                    may(template.entry.entry.handler.scopes(), None),
                    &template.json,
                )
            },
        ),
        _ => shared.prompts.snapshot().list_where(
            "prompts",
            &config.prompts_shape,
            modern,
            cursor,
            |name, prompt| {
                let may = may(prompt.entry.handler.scopes(), Some(Target::Prompt(name)));
                shown(may, &prompt.json)
            },
        ),
    }
}

/// An item's definition if the caller may use it.
fn shown(may: bool, json: &str) -> Option<Cow<'_, str>> {
    may.then_some(Cow::Borrowed(json))
}

/// Whether the caller may read the `ui://` resource an app-linked tool points at (a link
/// to no resource this server has is left as it is).
fn app_readable(shared: &Shared, extensions: &http::Extensions, app: &apps::AppLink) -> bool {
    let Some(uri) = app.resource_uri.as_deref() else {
        return true;
    };
    // Served at a fixed URI or by a template (the version only shapes a not-found error).
    let Ok((resource, _)) = shared.find_resource(uri, oxmcp_protocol::ProtocolVersion::LATEST)
    else {
        return true;
    };
    permits(
        shared,
        extensions,
        resource.handler.scopes(),
        Target::Resource(uri),
    )
    .is_ok()
}

/// Whether the caller of a request (in its `extensions`) may use an item that names
/// `scopes`; the error says which scopes are missing.
///
/// A `ui://` resource that names no scopes of its own needs what a tool linked to it
/// needs: the caller may read it if it may use one of them (the check hook then sees the
/// resource too). Only requests with a caller (or a transport that takes tokens) look.
pub(crate) fn permits(
    shared: &Shared,
    extensions: &http::Extensions,
    scopes: Option<&[String]>,
    target: Target<'_>,
) -> Result<(), ErrorObject> {
    if let (None, Target::Resource(uri)) = (scopes, target) {
        if apps::is_ui_uri(uri) && filters_lists(extensions) {
            if let Some(inherited) = as_its_tools(shared, extensions, uri) {
                return inherited;
            }
        }
    }
    check(shared, extensions, scopes, Some(target))
}

/// The check of an app resource at `uri` by the tools linked to it: `None` if no tool is.
fn as_its_tools(
    shared: &Shared,
    extensions: &http::Extensions,
    uri: &str,
) -> Option<Result<(), ErrorObject>> {
    let tools = shared.tools.snapshot();
    let mut refusal = None;
    let linked = tools.items.iter().filter(|(_, tool)| {
        tool.app
            .as_ref()
            .is_some_and(|app| app.resource_uri.as_deref() == Some(uri))
    });
    for (name, tool) in linked {
        match check(
            shared,
            extensions,
            tool.entry.scopes(),
            Some(Target::Tool(name)),
        ) {
            // The resource's own check (no scopes of its own: none more needed).
            Ok(()) => {
                return Some(check(
                    shared,
                    extensions,
                    Some(&[]),
                    Some(Target::Resource(uri)),
                ))
            }
            Err(error) => {
                refusal.get_or_insert(error);
            }
        }
    }
    refusal.map(Err)
}

/// [`permits`]; without a target, the check hook is not asked.
fn check(
    shared: &Shared,
    extensions: &http::Extensions,
    scopes: Option<&[String]>,
    target: Option<Target<'_>>,
) -> Result<(), ErrorObject> {
    let policy = shared.config().scope_policy.as_deref();
    let needed: &[String] = scopes
        .or_else(|| policy.and_then(|p| p.default.as_deref()))
        .unwrap_or(&[]);
    let Some(auth) = extensions.get::<Auth>() else {
        // No caller: only a transport that takes tokens makes that a refusal.
        if !needed.is_empty() && extensions.get::<Authn>().is_some() {
            return Err(scope_error(
                AUTHENTICATION_REQUIRED,
                format!(
                    "authentication required: this needs a token with scope {}",
                    needed.join(" ")
                ),
                needed,
            ));
        }
        return Ok(());
    };
    if !needed.is_empty() {
        let missing: Vec<&String> = match policy {
            Some(policy) if !policy.implies.is_empty() => {
                let granted = policy.granted(auth);
                needed.iter().filter(|s| !granted.contains(*s)).collect()
            }
            _ => needed.iter().filter(|s| !auth.has_scope(s)).collect(),
        };
        if !missing.is_empty() {
            let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(scope_error(
                INSUFFICIENT_SCOPE,
                format!(
                    "insufficient scope: this needs {} (missing: {})",
                    needed.join(" "),
                    missing.join(" ")
                ),
                needed,
            ));
        }
    }
    if let (Some(check), Some(target)) = (policy.and_then(|p| p.check.as_deref()), target) {
        if !check(auth, target) {
            return Err(ErrorObject::new(
                FORBIDDEN,
                format!("{} may not use this", auth.subject()),
            ));
        }
    }
    Ok(())
}

fn scope_error(code: i64, message: String, needed: &[String]) -> ErrorObject {
    ErrorObject::new(code, message).with_data(serde_json::json!({ "scopes": needed }))
}

/// The scopes in a scope error's JSON text (`error.data.scopes`).
pub(crate) fn scopes_in_error(text: &str) -> Vec<String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.pointer("/error/data/scopes").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

impl Shared {
    /// The scopes the target of a JSON-RPC message (a request body) needs, for a
    /// challenge.
    pub(crate) fn scopes_for_message(&self, body: &[u8]) -> Vec<String> {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        let params = message.get("params");
        let key = |field: &str| {
            params
                .and_then(|p| p.get(field))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let own: Option<Vec<String>> = match method {
            "tools/call" => self
                .tools
                .snapshot()
                .get(&key("name"))
                .and_then(|t| t.scopes().map(<[String]>::to_vec)),
            "prompts/get" => self
                .prompts
                .snapshot()
                .get(&key("name"))
                .and_then(|p| p.handler.scopes().map(<[String]>::to_vec)),
            "resources/read" => self
                .find_resource(&key("uri"), oxmcp_protocol::ProtocolVersion::LATEST_LEGACY)
                .ok()
                .and_then(|(r, _)| r.handler.scopes().map(<[String]>::to_vec)),
            _ => return Vec::new(),
        };
        own.or_else(|| {
            self.config()
                .scope_policy
                .as_deref()
                .and_then(|p| p.default.as_deref().map(<[String]>::to_vec))
        })
        .unwrap_or_default()
    }
}
