//! Prompts: handlers whose output converts into a `prompts/get` result.

use std::marker::PhantomData;
use std::sync::Arc;

use oxmcp_protocol::content::Role;
use oxmcp_protocol::lifecycle::Icon;
use oxmcp_protocol::prompts::{GetPromptResult, Prompt, PromptArgument, PromptMessage};
use oxmcp_protocol::JsonObject;

use super::completion::{Completer, IntoCompleter};
use super::error::ToolError;
use super::handler::{generator, ErasedHandler, Handler, Typed};
use super::sealed::PromptParts;

/// A prompt handler with its types erased.
pub(crate) type ErasedPrompt<S> = dyn ErasedHandler<S, GetPromptResult>;

/// Converts a prompt handler's output into a `prompts/get` result.
///
/// Implemented for `String` and `&'static str` (one user message of text),
/// [`PromptMessage`], `Vec<PromptMessage>`, [`GetPromptResult`], and `Result<T, E>` for any
/// error `E` that converts into `Box<dyn Error + Send + Sync>`, [`ToolError`] among them (a
/// prompt's errors are JSON-RPC errors).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a prompt",
    note = "return a String, `PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult`, or `Result<T, E>` of one of those, where `E` is `ToolError` or any `std::error::Error + Send + Sync`"
)]
pub trait IntoPromptResult {
    /// The prompt's messages.
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError>;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        Ok(self)
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        Ok(GetPromptResult::new(self))
    }
}

impl IntoPromptResult for PromptMessage {
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        Ok(GetPromptResult::new(vec![self]))
    }
}

impl IntoPromptResult for String {
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        PromptMessage::new(
            Role::User,
            oxmcp_protocol::content::ContentBlock::text(self),
        )
        .into_prompt_result()
    }
}

impl IntoPromptResult for &'static str {
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        self.to_owned().into_prompt_result()
    }
}

impl<T, E> IntoPromptResult for Result<T, E>
where
    T: IntoPromptResult,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn into_prompt_result(self) -> Result<GetPromptResult, ToolError> {
        self.map_err(ToolError::from_error)?.into_prompt_result()
    }
}

/// A prompt handler with its definition.
///
/// Made by [`prompt`]; pass it to [`Router::prompt`](crate::server::Router::prompt). The
/// prompt's arguments come from the `Args<T>` extractor: each property of `T` is an
/// argument, required unless optional, described by its doc comment.
///
/// ```
/// use oxmcp::server::{prompt, Args, Router};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Review {
///     /// The code to review.
///     code: String,
///     /// The language it is written in.
///     language: Option<String>,
/// }
///
/// async fn review(Args(r): Args<Review>) -> String {
///     format!("Review this {} code:\n{}", r.language.as_deref().unwrap_or("unknown"), r.code)
/// }
///
/// let router: Router = Router::new().prompt(
///     "review",
///     prompt(review).description("Ask for a code review").complete("language", ["rust", "python"]),
/// );
/// # let _ = router;
/// ```
#[must_use]
pub struct PromptDef<H, T> {
    handler: H,
    title: Option<String>,
    description: Option<String>,
    icons: Option<Vec<Icon>>,
    meta: Option<JsonObject>,
    completers: Vec<(String, Completer)>,
    layers: Option<super::middleware::Endpoint>,
    scopes: Option<std::sync::Arc<[String]>>,
    _marker: PhantomData<fn() -> T>,
}

/// Starts a prompt definition from a handler.
pub fn prompt<H, T>(handler: H) -> PromptDef<H, T> {
    PromptDef {
        handler,
        title: None,
        description: None,
        icons: None,
        meta: None,
        completers: Vec::new(),
        layers: None,
        scopes: None,
        _marker: PhantomData,
    }
}

impl<H, T> PromptDef<H, T> {
    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// What the prompt is for.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Puts a `tower` layer around this prompt's requests only (see
    /// [`middleware`](super::middleware)); the router's layers run around it.
    pub fn layer(mut self, layer: impl super::middleware::McpLayer) -> Self {
        self.layers = super::middleware::Endpoint::stack(self.layers.take(), layer);
        self
    }

    /// The scopes a caller's token must grant to use this prompt (feature `auth`): a
    /// caller without them gets `403` with an `insufficient_scope` challenge naming them
    /// over HTTP (a JSON-RPC error naming them elsewhere), and listings leave the prompt
    /// out. Replaces the router's default scopes for this prompt.
    #[cfg(feature = "auth")]
    pub fn scopes<I, Sc>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = Sc>,
        Sc: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Icons a client may show.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.icons = Some(icons);
        self
    }

    /// Custom `_meta` of the definition.
    pub fn meta(mut self, meta: JsonObject) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Completes values of one argument (`completion/complete`).
    pub fn complete<M>(
        mut self,
        argument: impl Into<String>,
        completer: impl IntoCompleter<M>,
    ) -> Self {
        self.completers
            .push((argument.into(), completer.into_completer()));
        self
    }
}

/// A registered prompt's handler and completers.
pub struct PromptEntry<S> {
    pub(crate) handler: Arc<ErasedPrompt<S>>,
    pub(crate) completers: Vec<(String, Completer)>,
}

/// Anything that registers as a prompt: a bare handler or a [`PromptDef`]. `M` only keeps
/// the two impls apart; you never name it.
///
/// The trait is sealed: the crate implements it and turns what implements it into a prompt.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a prompt handler",
    label = "not a prompt handler",
    note = "a prompt handler is an `async fn` (or a closure returning a future) whose arguments are all extractors (`Args<T>`, `Context`, `State<S>`, ...), whose return type implements `IntoPromptResult`, and whose future is `Send`",
    note = "a future is not `Send` when it holds a `std::sync::MutexGuard`, an `Rc` or a `RefCell` borrow across an `.await`: drop it before the `.await`, or use `tokio::sync::Mutex`",
    note = "`Args<T>` needs `T: serde::Deserialize + JsonSchema` of schemars 1, re-exported as `oxmcp::schemars` (a schemars 0.8 `JsonSchema` does not count); `State<X>` needs a `Router<X>`",
    note = "to see which argument or return type is at fault, put `#[oxmcp::server::debug_handler]` on the function (feature `macros`)"
)]
pub trait IntoPrompt<M, S>: PromptParts<M, S> + Sized {}

/// Tells a bare handler's impls from a definition's.
pub struct BarePrompt;
/// Tells a definition's impls from a bare handler's.
pub struct DefinedPrompt;

impl<H, T, S> IntoPrompt<(BarePrompt, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoPromptResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> IntoPrompt<(DefinedPrompt, T), S> for PromptDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoPromptResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> PromptParts<(BarePrompt, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoPromptResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_prompt(self, name: &str) -> (Prompt, PromptEntry<S>) {
        prompt::<H, T>(self).into_prompt(name)
    }
}

impl<H, T, S> PromptParts<(DefinedPrompt, T), S> for PromptDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoPromptResult,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_prompt(self, name: &str) -> (Prompt, PromptEntry<S>) {
        let arguments =
            H::input_schema(&mut generator()).map(|s| arguments_from_schema(&s.to_value()));
        for (argument, _) in &self.completers {
            assert!(
                arguments.iter().flatten().any(|a| &a.name == argument),
                "prompt {name:?} has no argument {argument:?} to complete"
            );
        }
        let mut def = Prompt::new(name);
        def.title = self.title;
        def.description = self.description;
        def.arguments = arguments;
        def.icons = self.icons;
        def.meta = self.meta;
        let handler: Arc<ErasedPrompt<S>> = Arc::new(Typed::<H, T, _>::new(
            self.handler,
            IntoPromptResult::into_prompt_result,
        ));
        (
            def,
            PromptEntry {
                handler: super::handler::Layered::around(handler, self.layers, self.scopes),
                completers: self.completers,
            },
        )
    }
}

/// The prompt arguments described by an object schema: one per property.
fn arguments_from_schema(schema: &serde_json::Value) -> Vec<PromptArgument> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut argument = PromptArgument::new(name.clone());
            argument.description = property["description"].as_str().map(str::to_owned);
            argument.title = property["title"].as_str().map(str::to_owned);
            argument.required = Some(required.contains(&name.as_str()));
            argument
        })
        .collect()
}

/// Moves an entry's state in.
pub(crate) fn supply<S, S2>(
    entry: PromptEntry<S>,
    supplier: &impl super::Supplier<S, S2>,
) -> PromptEntry<S2> {
    PromptEntry {
        handler: supplier.supply(entry.handler),
        completers: entry.completers,
    }
}
