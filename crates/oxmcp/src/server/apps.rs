//! MCP Apps (`io.modelcontextprotocol/ui`, SEP-1865): a tool points at a `ui://` HTML
//! resource that a host renders in a sandboxed iframe, fed the tool's input and result.
//!
//! - [`AppResource`] is the HTML: served by `resources/read` as
//!   `text/html;profile=mcp-app`, with its `_meta.ui` (the CSP origins it needs, the
//!   browser permissions it asks for, a dedicated domain, a border preference) both in
//!   `resources/list` and on the contents.
//! - [`ToolDef::ui`](super::ToolDef::ui) links a tool to it (`_meta.ui.resourceUri`),
//!   with its [`Visibility`]: the model, the app, or both (the default).
//! - [`Apps`] is the extension: installed with [`Router::extension`](super::Router::extension),
//!   it advertises `io.modelcontextprotocol/ui` and registers the resources.
//!
//! A client that did not declare the extension (with the `text/html;profile=mcp-app`
//! MIME type among its `mimeTypes`) has no app to show: it sees UI tools as plain tools
//! (their `_meta.ui` left out of `tools/list`), does not see tools only an app may call,
//! and reads their plain content, which a UI tool must therefore always return.
//!
//! ```
//! use oxmcp::server::apps::{AppResource, Apps, Csp, Permission, Visibility};
//! use oxmcp::server::{tool, Router};
//!
//! async fn weather() -> String {
//!     "Sunny, 22 °C".into()
//! }
//!
//! let dashboard = AppResource::new(
//!     "ui://weather/dashboard",
//!     "Weather dashboard",
//!     "<!DOCTYPE html><html><body><div id=app></div></body></html>",
//! )
//! .csp(Csp::new().connect("https://api.weather.example"))
//! .permission(Permission::Geolocation)
//! .prefers_border(true);
//!
//! let router: Router = Router::new()
//!     .extension(Apps::new().resource(dashboard))
//!     .tool("weather", tool(weather).ui("ui://weather/dashboard"))
//!     .tool(
//!         "refresh",
//!         tool(weather).ui_with("ui://weather/dashboard", &[Visibility::App]),
//!     );
//! # let _ = router;
//! ```

use std::sync::Arc;

use oxmcp_protocol::content::ResourceContents;
use oxmcp_protocol::JsonObject;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::extension::ServerExtension;
use super::resource::resource;
use super::Router;

/// The extension's identifier.
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/ui";

/// The MIME type of an app's HTML (`text/html;profile=mcp-app`).
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";

/// Who may call a tool linked to an app (`_meta.ui.visibility`; both by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The model: the tool is in the agent's tool list.
    Model,
    /// The app: the tool may be called by the app's view, from this server only.
    App,
}

/// The origins an app's view may reach, from which the host builds its Content Security
/// Policy (`_meta.ui.csp`). Empty lists (the default) allow nothing beyond the view
/// itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Csp {
    /// Origins of network requests: fetch, XHR, WebSocket (`connect-src`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect_domains: Vec<String>,
    /// Origins of scripts, images, styles, fonts and media.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_domains: Vec<String>,
    /// Origins of nested iframes (`frame-src`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_domains: Vec<String>,
    /// Allowed base URIs of the document (`base-uri`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_uri_domains: Vec<String>,
}

impl Csp {
    /// Nothing allowed beyond the view itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows network requests to `origin`.
    pub fn connect(mut self, origin: impl Into<String>) -> Self {
        self.connect_domains.push(origin.into());
        self
    }

    /// Allows scripts, images, styles, fonts and media from `origin`.
    pub fn resource(mut self, origin: impl Into<String>) -> Self {
        self.resource_domains.push(origin.into());
        self
    }

    /// Allows nested iframes from `origin`.
    pub fn frame(mut self, origin: impl Into<String>) -> Self {
        self.frame_domains.push(origin.into());
        self
    }

    /// Allows `origin` as the document's base URI.
    pub fn base_uri(mut self, origin: impl Into<String>) -> Self {
        self.base_uri_domains.push(origin.into());
        self
    }
}

/// A browser capability an app's view asks for (`_meta.ui.permissions`); hosts may grant
/// it, and views must not count on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// `camera`.
    Camera,
    /// `microphone`.
    Microphone,
    /// `geolocation`.
    Geolocation,
    /// `clipboard-write`.
    ClipboardWrite,
}

impl Permission {
    fn key(self) -> &'static str {
        match self {
            Permission::Camera => "camera",
            Permission::Microphone => "microphone",
            Permission::Geolocation => "geolocation",
            Permission::ClipboardWrite => "clipboardWrite",
        }
    }
}

/// An app's HTML document, served at a `ui://` URI as `text/html;profile=mcp-app`.
#[derive(Debug, Clone)]
#[must_use]
pub struct AppResource {
    uri: String,
    name: String,
    description: Option<String>,
    html: Arc<str>,
    csp: Option<Csp>,
    permissions: Vec<Permission>,
    domain: Option<String>,
    prefers_border: Option<bool>,
    #[cfg(feature = "auth")]
    scopes: Option<Vec<String>>,
}

impl AppResource {
    /// The HTML document `html`, named `name`, served at `uri`.
    ///
    /// # Panics
    /// If `uri` does not start with `ui://`: the extension reserves that scheme, and hosts
    /// look for apps there only.
    pub fn new(uri: impl Into<String>, name: impl Into<String>, html: impl Into<String>) -> Self {
        let uri = uri.into();
        assert!(
            is_ui_uri(&uri),
            "an MCP Apps resource is served at a ui:// URI, not {uri:?}"
        );
        AppResource {
            uri,
            name: name.into(),
            description: None,
            html: html.into().into(),
            csp: None,
            permissions: Vec::new(),
            domain: None,
            prefers_border: None,
            #[cfg(feature = "auth")]
            scopes: None,
        }
    }

    /// What the view does.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The origins the view may reach (without one, hosts allow none).
    pub fn csp(mut self, csp: Csp) -> Self {
        self.csp = Some(csp);
        self
    }

    /// Asks for a browser capability.
    pub fn permission(mut self, permission: Permission) -> Self {
        if !self.permissions.contains(&permission) {
            self.permissions.push(permission);
        }
        self
    }

    /// A dedicated origin for the view (its format is the host's to define).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Whether the host should draw a border and background around the view.
    pub fn prefers_border(mut self, prefers: bool) -> Self {
        self.prefers_border = Some(prefers);
        self
    }

    /// The scopes a caller's token must grant to read the app (feature `auth`). Without
    /// them, the app needs what a tool linked to it needs: whoever may use one of its
    /// tools may read it (see [`ResourceDef::scopes`](super::ResourceDef::scopes) for
    /// scopes in general). A caller who may not read it sees its tools as plain tools.
    #[cfg(feature = "auth")]
    pub fn scopes<I, Sc>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = Sc>,
        Sc: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The resource's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `_meta`, with the `ui` entry, if there is anything to say.
    fn meta(&self) -> Option<JsonObject> {
        let mut ui = JsonObject::new();
        if let Some(csp) = &self.csp {
            ui.insert("csp".into(), json!(csp));
        }
        if !self.permissions.is_empty() {
            let granted: JsonObject = self
                .permissions
                .iter()
                .map(|p| (p.key().to_owned(), json!({})))
                .collect();
            ui.insert("permissions".into(), Value::Object(granted));
        }
        if let Some(domain) = &self.domain {
            ui.insert("domain".into(), json!(domain));
        }
        if let Some(prefers) = self.prefers_border {
            ui.insert("prefersBorder".into(), json!(prefers));
        }
        (!ui.is_empty()).then(|| JsonObject::from_iter([("ui".to_owned(), Value::Object(ui))]))
    }
}

/// Whether `uri` is in the scheme the extension reserves.
pub(crate) fn is_ui_uri(uri: &str) -> bool {
    uri.len() > "ui://".len() && uri[..5].eq_ignore_ascii_case("ui://")
}

/// The MCP Apps extension: advertises `io.modelcontextprotocol/ui` and serves its
/// [`AppResource`]s. See the [module](self) documentation.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Apps {
    resources: Vec<AppResource>,
}

impl Apps {
    /// The extension, with no resource yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves an app's HTML.
    pub fn resource(mut self, resource: AppResource) -> Self {
        self.resources.push(resource);
        self
    }
}

impl<S: Clone + Send + Sync + 'static> ServerExtension<S> for Apps {
    fn id(&self) -> &str {
        EXTENSION_ID
    }

    fn settings(&self) -> JsonObject {
        JsonObject::from_iter([("mimeTypes".to_owned(), json!([MIME_TYPE]))])
    }

    fn install(self, mut router: Router<S>) -> Router<S> {
        for app in self.resources {
            let meta = app.meta();
            let html = app.html.clone();
            let contents_meta = meta.clone();
            let uri = app.uri.clone();
            let read = move || {
                let mut contents =
                    oxmcp_protocol::content::TextResourceContents::new(uri.clone(), &*html);
                contents.mime_type = Some(MIME_TYPE.to_owned());
                contents.meta = contents_meta.clone();
                let contents = ResourceContents::Text(contents);
                async move { contents }
            };
            let mut def = resource(read).name(app.name).mime_type(MIME_TYPE);
            if let Some(description) = app.description {
                def = def.description(description);
            }
            if let Some(meta) = meta {
                def = def.meta(meta);
            }
            #[cfg(feature = "auth")]
            if let Some(scopes) = app.scopes {
                def = def.scopes(scopes);
            }
            router = router.resource(&app.uri, def);
        }
        router
    }
}

/// `_meta.ui` of a tool linked to the app at `resource_uri`.
pub(crate) fn tool_meta(
    meta: Option<JsonObject>,
    resource_uri: &str,
    visibility: Option<&[Visibility]>,
) -> JsonObject {
    assert!(
        is_ui_uri(resource_uri),
        "a tool's app is a ui:// resource, not {resource_uri:?}"
    );
    let mut meta = meta.unwrap_or_default();
    let mut ui = JsonObject::new();
    ui.insert("resourceUri".into(), json!(resource_uri));
    if let Some(visibility) = visibility {
        ui.insert("visibility".into(), json!(visibility));
    }
    meta.insert("ui".into(), Value::Object(ui));
    meta
}

/// Whether a client declared the extension with the app MIME type.
pub(crate) fn client_supports(
    capabilities: &oxmcp_protocol::lifecycle::ClientCapabilities,
) -> bool {
    capabilities
        .extensions
        .as_ref()
        .and_then(|e| e.get(EXTENSION_ID))
        .and_then(|settings| settings.get("mimeTypes"))
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some(MIME_TYPE)))
}

/// Whether `_meta.ui` lets the model see the tool (`visibility` names `model`, or is
/// absent: both by default).
fn for_model(ui: &Value) -> bool {
    match ui.get("visibility").and_then(Value::as_array) {
        Some(visibility) => visibility.iter().any(|v| v.as_str() == Some("model")),
        None => true,
    }
}

/// A tool definition as a client without the extension sees it: `None` if only an app
/// may call it, else without its `_meta.ui`.
pub(crate) fn plain_tool(json: &str) -> Option<String> {
    let mut tool: JsonObject = serde_json::from_str(json).ok()?;
    let Some(Value::Object(meta)) = tool.get_mut("_meta") else {
        return Some(json.to_owned());
    };
    let Some(ui) = meta.remove("ui") else {
        return Some(json.to_owned());
    };
    if !for_model(&ui) {
        return None;
    }
    if meta.is_empty() {
        tool.remove("_meta");
    }
    Some(Value::Object(tool).to_string())
}

/// What links a registered tool to an MCP App (its `_meta.ui`), read once when the tool
/// is registered (mounted and proxied tools included, from their definitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppLink {
    /// `_meta.ui.resourceUri`, if given.
    pub(crate) resource_uri: Option<Box<str>>,
    /// Whether only an app may call the tool (`visibility` leaves out the model).
    pub(crate) app_only: bool,
}

impl AppLink {
    /// The link a tool definition (as JSON) declares, if any.
    pub(crate) fn of(json: &str) -> Option<AppLink> {
        // Cheap first: most tools say nothing of `ui`.
        if !json.contains("\"ui\"") {
            return None;
        }
        let tool: Value = serde_json::from_str(json).ok()?;
        let ui = tool.pointer("/_meta/ui")?;
        Some(AppLink {
            resource_uri: ui
                .get("resourceUri")
                .and_then(Value::as_str)
                .map(Into::into),
            app_only: !for_model(ui),
        })
    }
}

/// The refusal of a call to a tool only an app may call, from a client without the
/// extension: the same code as an unknown tool, and a message that says why.
pub(crate) fn app_only_refusal(name: &str) -> oxmcp_protocol::ErrorObject {
    oxmcp_protocol::ErrorObject::invalid_params(format!(
        "tool {} is not available: only an MCP App may call it (its _meta.ui.visibility \
         leaves out the model), and this client did not declare the {EXTENSION_ID} \
         extension with the {MIME_TYPE} MIME type",
        oxmcp_protocol::error::echo(name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tools_lose_their_ui_and_app_only_tools_go() {
        let value = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        let ui = r#"{"name":"a","inputSchema":{"type":"object"},"_meta":{"ui":{"resourceUri":"ui://x/y"},"k":1}}"#;
        assert_eq!(
            value(&plain_tool(ui).unwrap()),
            json!({"name": "a", "inputSchema": {"type": "object"}, "_meta": {"k": 1}})
        );
        let only = r#"{"name":"b","inputSchema":{"type":"object"},"_meta":{"ui":{"resourceUri":"ui://x/y","visibility":["app"]}}}"#;
        assert_eq!(plain_tool(only), None);
        let both = r#"{"name":"c","inputSchema":{"type":"object"},"_meta":{"ui":{"resourceUri":"ui://x/y","visibility":["model","app"]}}}"#;
        assert_eq!(
            value(&plain_tool(both).unwrap()),
            json!({"name": "c", "inputSchema": {"type": "object"}})
        );
        let plain = r#"{"name":"d","inputSchema":{"type":"object"}}"#;
        assert_eq!(plain_tool(plain).unwrap(), plain);
        assert_eq!(
            AppLink::of(ui),
            Some(AppLink {
                resource_uri: Some("ui://x/y".into()),
                app_only: false
            })
        );
        assert!(AppLink::of(only).unwrap().app_only);
        assert!(!AppLink::of(both).unwrap().app_only);
        assert_eq!(AppLink::of(plain), None);
    }

    #[test]
    #[should_panic(expected = "ui:// URI")]
    fn app_resources_live_under_ui() {
        let _ = AppResource::new("https://example.com/app.html", "app", "<html></html>");
    }
}
