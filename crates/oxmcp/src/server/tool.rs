//! Tools: plain async functions whose arguments are extractors.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use oxmcp_protocol::lifecycle::Icon;
use oxmcp_protocol::tools::{CallToolResult, Tool, ToolAnnotations};
use oxmcp_protocol::{ErrorObject, JsonObject, ProtocolVersion};
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};

use super::extract::{FromToolCall, ToolCall};
use super::response::IntoToolResult;
use crate::rpc::BoxFuture;

/// What a tool call ends with: a result, or a JSON-RPC error.
pub(crate) type ToolOutcome = Result<CallToolResult, ErrorObject>;

/// An async function that can serve as a tool.
///
/// Implemented for every `async fn` (or closure returning a future) of up to 12 arguments
/// that all implement [`FromToolCall<S>`], whose output implements [`IntoToolResult`]. `T`
/// is the tuple of argument types and only keeps the impls apart; you never name it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool handler",
    note = "a tool is an async fn whose arguments are extractors (`Args<T>`, `Context`, `State<S>`, ...) and whose output implements `IntoToolResult`",
    note = "if it uses `State<X>`, the router must be given that state with `.with_state(x)`"
)]
pub trait ToolHandler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the tool.
    fn call(self, call: ToolCall, state: S) -> BoxFuture<ToolOutcome>;

    /// The input schema (from the argument that decodes arguments) and output schema.
    fn schemas() -> (Schema, Option<Schema>);
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

/// The schema of a tool without arguments: an empty object.
fn empty_object_schema() -> Schema {
    Schema::try_from(serde_json::json!({ "type": "object", "properties": {} }))
        .expect("a literal object schema")
}

macro_rules! impl_tool_handler {
    ($($ty:ident $var:ident),*) => {
        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<F, Fut, R, S, $($ty,)*> ToolHandler<($($ty,)*), S> for F
        where
            F: FnOnce($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send,
            R: IntoToolResult,
            S: Send + Sync + 'static,
            $($ty: FromToolCall<S> + 'static,)*
        {
            fn call(self, call: ToolCall, state: S) -> BoxFuture<ToolOutcome> {
                Box::pin(async move {
                    let version = call.context.protocol_version();
                    $(
                        let $var = match $ty::from_tool_call(&call, &state).await {
                            Ok(value) => value,
                            Err(rejection) => return rejection.into_outcome(version),
                        };
                    )*
                    match self($($var),*).await.into_tool_result() {
                        Ok(result) => Ok(result),
                        Err(error) => error.into_outcome(version),
                    }
                })
            }

            fn schemas() -> (Schema, Option<Schema>) {
                let mut generator = generator();
                let mut input: Option<Schema> = None;
                $(
                    if let Some(schema) = $ty::input_schema(&mut generator) {
                        assert!(
                            input.is_none(),
                            "a tool may have only one argument that decodes its arguments (such as `Args<T>`), but `{}` is a second one",
                            std::any::type_name::<$ty>(),
                        );
                        input = Some(schema);
                    }
                )*
                let output = R::output_schema(&mut generator);
                (input.unwrap_or_else(empty_object_schema), output)
            }
        }
    };
}

impl_tool_handler!();
impl_tool_handler!(T1 a1);
impl_tool_handler!(T1 a1, T2 a2);
impl_tool_handler!(T1 a1, T2 a2, T3 a3);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11);
impl_tool_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11, T12 a12);

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
    pub(crate) handler: H,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) annotations: Option<ToolAnnotations>,
    pub(crate) icons: Option<Vec<Icon>>,
    pub(crate) meta: Option<JsonObject>,
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
}

/// Anything that registers as a tool: a bare handler or a [`ToolDef`]. `M` only keeps the
/// two impls apart.
pub trait IntoTool<M, S>: Sized {
    #[doc(hidden)]
    fn into_tool(self, name: &str) -> (Tool, Arc<dyn ErasedTool<S>>);
}

#[doc(hidden)]
pub struct BareHandler;
#[doc(hidden)]
pub struct WithDefinition;

impl<H, T, S> IntoTool<(BareHandler, T), S> for H
where
    H: ToolHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_tool(self, name: &str) -> (Tool, Arc<dyn ErasedTool<S>>) {
        tool::<H, T>(self).into_tool(name)
    }
}

impl<H, T, S> IntoTool<(WithDefinition, T), S> for ToolDef<H, T>
where
    H: ToolHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_tool(self, name: &str) -> (Tool, Arc<dyn ErasedTool<S>>) {
        validate_tool_name(name);
        let (input, output) = H::schemas();
        assert!(
            super::response::is_object_schema(&input),
            "tool `{name}`: its arguments must be a JSON object, but the argument type's schema is not an object schema"
        );
        let mut def = Tool::new(name, into_object(input));
        def.title = self.title;
        def.description = self.description;
        def.annotations = self.annotations;
        def.icons = self.icons;
        def.meta = self.meta;
        def.output_schema = output.map(into_object);
        let erased: Arc<dyn ErasedTool<S>> = Arc::new(Handler {
            handler: self.handler,
            _marker: PhantomData::<fn() -> T>,
        });
        (def, erased)
    }
}

fn into_object(schema: Schema) -> JsonObject {
    match schema.to_value() {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// A tool with its types erased, waiting for state `S`.
#[doc(hidden)]
pub trait ErasedTool<S>: Send + Sync {
    fn call(&self, call: ToolCall, state: &S) -> BoxFuture<ToolOutcome>;
}

struct Handler<H, T> {
    handler: H,
    _marker: PhantomData<fn() -> T>,
}

impl<H, T, S> ErasedTool<S> for Handler<H, T>
where
    H: ToolHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn call(&self, call: ToolCall, state: &S) -> BoxFuture<ToolOutcome> {
        let version: ProtocolVersion = call.context.protocol_version();
        let future = self.handler.clone().call(call, state.clone());
        // A panicking tool answers with an internal error instead of leaving the call hanging.
        Box::pin(
            AssertUnwindSafe(future)
                .catch_unwind()
                .map(move |outcome| match outcome {
                    Ok(outcome) => outcome,
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        tracing::error!(panic = %what, %version, "tool panicked");
                        Err(ErrorObject::internal("the tool failed unexpectedly"))
                    }
                }),
        )
    }
}

/// A tool that has its state already: the router's state was supplied with `with_state`.
pub(crate) struct WithState<S> {
    pub(crate) tool: Arc<dyn ErasedTool<S>>,
    pub(crate) state: S,
}

impl<S: Send + Sync, S2> ErasedTool<S2> for WithState<S> {
    fn call(&self, call: ToolCall, _state: &S2) -> BoxFuture<ToolOutcome> {
        self.tool.call(call, &self.state)
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
