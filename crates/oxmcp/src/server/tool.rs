//! Tools: handlers whose output converts into a `tools/call` result.

use std::marker::PhantomData;
use std::sync::Arc;

use oxmcp_protocol::lifecycle::Icon;
use oxmcp_protocol::tools::{CallToolResult, Tool, ToolAnnotations};
use oxmcp_protocol::JsonObject;
use schemars::Schema;

use super::handler::{generator, ErasedHandler, Handler, Layered, Typed};
use super::response::IntoToolResult;
use super::sealed::ToolParts;

/// A tool with its types erased.
pub(crate) type ErasedTool<S> = dyn ErasedHandler<S, CallToolResult>;

/// A tool handler with its definition: title, description, annotations, icons.
///
/// Made by [`tool`]; pass it to [`Router::tool`](crate::server::Router::tool).
///
/// ```
/// use oxmcp::server::{tool, Router};
///
/// async fn now() -> String { "12:00".into() }
///
/// let router: Router = Router::new().tool(
///     "now",
///     tool(now).title("Current time").description("The server's wall-clock time.").read_only(),
/// );
/// # let _ = router;
/// ```
#[must_use]
pub struct ToolDef<H, T> {
    handler: H,
    title: Option<String>,
    description: Option<String>,
    annotations: Option<ToolAnnotations>,
    icons: Option<Vec<Icon>>,
    meta: Option<JsonObject>,
    input_schema: Option<JsonObject>,
    output_schema: Option<JsonObject>,
    layers: Option<super::middleware::Endpoint>,
    scopes: Option<std::sync::Arc<[String]>>,
    task: Option<super::tasks::TaskSupport>,
    timeout: Option<std::time::Duration>,
    /// The MCP App this tool shows its results in, and who may call it.
    ui: Option<(String, Option<Vec<super::apps::Visibility>>)>,
    /// Whether the server checks results against the output schema (see `output_check`).
    check_output: bool,
    _marker: PhantomData<fn() -> T>,
}

/// Starts a tool definition from a handler.
pub fn tool<H, T>(handler: H) -> ToolDef<H, T> {
    ToolDef {
        handler,
        title: None,
        description: None,
        annotations: None,
        icons: None,
        meta: None,
        input_schema: None,
        output_schema: None,
        layers: None,
        scopes: None,
        task: None,
        timeout: None,
        ui: None,
        check_output: true,
        _marker: PhantomData,
    }
}

impl<H, T> ToolDef<H, T> {
    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// What the tool does; models read this to decide when to call it.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Behaviour hints for clients.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Shorthand for the `readOnlyHint: true` annotation.
    pub fn read_only(mut self) -> Self {
        self.annotations
            .get_or_insert_with(ToolAnnotations::default)
            .read_only_hint = Some(true);
        self
    }

    /// Icons a client may show.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.icons = Some(icons);
        self
    }

    /// Custom `_meta` of the tool definition.
    pub fn meta(mut self, meta: JsonObject) -> Self {
        self.meta = Some(meta);
        self
    }

    /// An input schema written by hand, used instead of the one derived from the argument
    /// type (which then only decodes). It must be an object schema (`"type": "object"`).
    pub fn input_schema(mut self, schema: JsonObject) -> Self {
        self.input_schema = Some(schema);
        self
    }

    /// An output schema written by hand, used instead of the one derived from the return
    /// type.
    pub fn output_schema(mut self, schema: JsonObject) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Leaves this tool's results unchecked against its output schema on the server. By
    /// default (with the `output-validation` feature, on by default) they are checked,
    /// always for a schema given with [`output_schema`](Self::output_schema) and in debug
    /// builds for a derived one, and a result that does not match is an internal error.
    /// Use this for a tool whose results come from something the server does not control,
    /// such as the answers of an HTTP API imported from its OpenAPI document: the schema
    /// still documents them, and a client may still check them.
    pub fn unchecked_output(mut self) -> Self {
        self.check_output = false;
        self
    }

    /// Links this tool to an MCP App (the [`apps`](super::apps) extension): hosts that
    /// support it render the tool's results in the `ui://` resource at `resource_uri`
    /// (`_meta.ui.resourceUri`); the tool stays visible to the model and the app. The
    /// tool must still return meaningful plain content, which is all that clients without
    /// the extension see.
    ///
    /// # Panics
    /// At registration, if `resource_uri` is not a `ui://` URI.
    pub fn ui(self, resource_uri: impl Into<String>) -> Self {
        self.ui_for(resource_uri, None)
    }

    /// [`ui`](Self::ui), visible to `visibility` only (`_meta.ui.visibility`): a tool for
    /// [`Visibility::App`](super::apps::Visibility) only is left out of the model's list,
    /// and out of the list of clients without the extension.
    pub fn ui_with(
        self,
        resource_uri: impl Into<String>,
        visibility: &[super::apps::Visibility],
    ) -> Self {
        self.ui_for(resource_uri, Some(visibility.to_vec()))
    }

    fn ui_for(
        mut self,
        resource_uri: impl Into<String>,
        visibility: Option<Vec<super::apps::Visibility>>,
    ) -> Self {
        self.ui = Some((resource_uri.into(), visibility));
        self
    }

    /// Lets calls of this tool run as tasks (the [`tasks`](super::tasks) extension, which
    /// must be installed): with [`TaskSupport::Optional`](super::tasks::TaskSupport), a
    /// client that did not declare the extension gets a plain result; with `Required` it
    /// gets a `-32021` error. `Forbidden` is the default.
    pub fn task(mut self, support: super::tasks::TaskSupport) -> Self {
        self.task = Some(support);
        self
    }

    /// Puts a `tower` layer around this tool's calls only (see
    /// [`middleware`](super::middleware)); the router's layers run around it. Called again,
    /// the new layer goes around the ones before.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmcp::server::{tool, Router};
    ///
    /// async fn crawl() -> String { "crawled".into() }
    ///
    /// let router: Router = Router::new().tool(
    ///     "crawl",
    ///     tool(crawl).layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(10))),
    /// );
    /// # let _ = router;
    /// ```
    pub fn layer(mut self, layer: impl super::middleware::McpLayer) -> Self {
        self.layers = super::middleware::Endpoint::stack(self.layers.take(), layer);
        self
    }

    /// How long one call of this tool may run. Past it the handler's future is dropped, its
    /// cancellation token fires, and the call is answered with a tool error (`isError`)
    /// whose text says it timed out, which the model reads. The bound covers this tool's
    /// own layers too; the router's [`request_timeout`](super::Router::request_timeout),
    /// if shorter, still applies.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmcp::server::{tool, Router};
    ///
    /// async fn crawl() -> String { "crawled".into() }
    ///
    /// let router: Router =
    ///     Router::new().tool("crawl", tool(crawl).timeout(Duration::from_secs(10)));
    /// # let _ = router;
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The scopes a caller's token must grant to use this tool (feature `auth`): a
    /// caller without them gets `403` with an `insufficient_scope` challenge naming them
    /// over HTTP (a JSON-RPC error naming them elsewhere), and listings leave the tool
    /// out. Replaces the router's default scopes for this tool.
    #[cfg(feature = "auth")]
    pub fn scopes<I, Sc>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = Sc>,
        Sc: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// Anything that registers as a tool: a bare handler or a [`ToolDef`]. `M` only keeps the
/// two impls apart; you never name it.
///
/// The trait is sealed: the crate implements it and turns what implements it into a tool.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool handler",
    label = "not a tool handler",
    note = "a tool handler is an `async fn` (or a closure returning a future) whose arguments are all extractors (`Args<T>`, `Context`, `State<S>`, ...), whose return type implements `IntoToolResult`, and whose future is `Send`",
    note = "a future is not `Send` when it holds a `std::sync::MutexGuard`, an `Rc` or a `RefCell` borrow across an `.await`: drop it before the `.await`, or use `tokio::sync::Mutex`",
    note = "`Args<T>` needs `T: serde::Deserialize + JsonSchema` of schemars 1, re-exported as `oxmcp::schemars` (a schemars 0.8 `JsonSchema` does not count); `State<X>` needs a `Router<X>`",
    note = "to see which argument or return type is at fault, put `#[oxmcp::server::debug_handler]` on the function (feature `macros`)"
)]
pub trait IntoTool<M, S>: ToolParts<M, S> + Sized {}

/// Tells a bare handler's impls from a definition's.
pub struct BareHandler;
/// Tells a definition's impls from a bare handler's.
pub struct WithDefinition;

impl<H, T, S> IntoTool<(BareHandler, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoToolResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> IntoTool<(WithDefinition, T), S> for ToolDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoToolResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> ToolParts<(BareHandler, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoToolResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_tool(self, name: &str) -> (Tool, Arc<ErasedTool<S>>) {
        tool::<H, T>(self).into_tool(name)
    }
}

impl<H, T, S> ToolParts<(WithDefinition, T), S> for ToolDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoToolResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_tool(self, name: &str) -> (Tool, Arc<ErasedTool<S>>) {
        validate_tool_name(name);
        let mut generator = generator();
        let input = match self.input_schema {
            Some(schema) => schema,
            None => {
                into_object(H::input_schema(&mut generator).unwrap_or_else(empty_object_schema))
            }
        };
        let custom = self.output_schema.is_some();
        let output = match self.output_schema {
            Some(schema) => Some(schema),
            None => <H::Output as IntoToolResult>::output_schema(&mut generator).map(into_object),
        };
        assert!(
            input.get("type").and_then(|t| t.as_str()) == Some("object"),
            "tool `{name}`: its arguments must be a JSON object, but the input schema is not an object schema"
        );
        let mut def = Tool::new(name, input);
        def.title = self.title;
        def.description = self.description;
        def.annotations = self.annotations;
        def.icons = self.icons;
        def.meta = match &self.ui {
            Some((uri, visibility)) => Some(super::apps::tool_meta(
                self.meta,
                uri,
                visibility.as_deref(),
            )),
            None => self.meta,
        };
        def.output_schema = output;
        let erased: Arc<ErasedTool<S>> = Arc::new(Typed::<H, T, _>::new(
            self.handler,
            IntoToolResult::into_tool_result,
        ));
        #[cfg(feature = "output-validation")]
        let erased = super::output_check::around(
            erased,
            name,
            def.output_schema.as_ref().filter(|_| self.check_output),
            custom,
        );
        // Without the feature, results are not checked.
        #[cfg(not(feature = "output-validation"))]
        let _ = (custom, self.check_output);
        let layers = match self.timeout {
            Some(limit) => {
                super::middleware::Endpoint::stack(self.layers, super::limits::Timeout::new(limit))
            }
            None => self.layers,
        };
        let erased = Layered::around(erased, layers, self.scopes);
        (def, super::tasks::Tasked::around(erased, self.task))
    }
}

/// The schema of a tool without arguments: an empty object.
fn empty_object_schema() -> Schema {
    Schema::try_from(serde_json::json!({ "type": "object", "properties": {} }))
        .expect("a literal object schema")
}

pub(crate) fn into_object(schema: Schema) -> JsonObject {
    match schema.to_value() {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// Checks a tool name against the MCP naming rules (SEP-986): 1 to 128 characters, ASCII
/// letters, digits, `_`, `-` and `.` only.
///
/// # Panics
/// On a name that breaks the rules: registering such a tool is a programming mistake.
pub(crate) fn validate_tool_name(name: &str) {
    if let Err(why) = check_tool_name(name) {
        panic!(
            "invalid tool name {name:?}: {why} (SEP-986: 1-128 characters of A-Z a-z 0-9 _ - .)"
        );
    }
}

pub(crate) fn check_tool_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > 128 {
        return Err(format!("it is {} characters long", name.chars().count()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!("it contains {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_sep_986() {
        for ok in [
            "add",
            "get_weather",
            "db.query",
            "a-b",
            "A1",
            &"x".repeat(128),
        ] {
            assert!(check_tool_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "slash/name",
            "émoji",
            "comma,",
            &"x".repeat(129),
        ] {
            assert!(check_tool_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    #[should_panic(expected = "invalid tool name \"bad name\"")]
    fn registering_a_bad_name_panics() {
        validate_tool_name("bad name");
    }
}
