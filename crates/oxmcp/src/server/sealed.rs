//! The working parts of the public handler and registration traits, out of users' reach.
//!
//! [`Handler`](super::Handler), [`IntoTool`](super::IntoTool),
//! [`IntoPrompt`](super::IntoPrompt) and [`IntoResource`](super::IntoResource) are public
//! so that users can name them in bounds and read what they mean; what they do lives in the
//! supertraits below. Those are `pub` in this private module: the crate names and implements
//! them, code outside it can do neither, so the public traits are sealed and their methods
//! are no part of the API.

use std::future::Future;
use std::sync::Arc;

use oxmcp_protocol::prompts::Prompt;
use oxmcp_protocol::tools::Tool;
use schemars::{Schema, SchemaGenerator};

use super::error::ToolError;
use super::extract::Request;
use super::prompt::PromptEntry;
use super::resource::{ErasedResource, ResourceDef};
use super::tool::ErasedTool;
use crate::rpc::BoxFuture;

/// What makes a [`Handler`](super::Handler): extracting the arguments and running the
/// function.
pub trait HandlerFn<T, S>: Clone + Send + Sync + Sized + 'static {
    /// What the function returns.
    type Output: Send + 'static;

    /// Extracts the arguments, runs the function, then `then` on its output, in one boxed
    /// future. A panic becomes an internal error.
    fn call_then<O, C>(self, request: Request, state: S, then: C) -> BoxFuture<Result<O, ToolError>>
    where
        O: 'static,
        C: FnOnce(Self::Output) -> Result<O, ToolError> + Send + 'static,
    {
        Box::pin(self.call_unboxed(request, state, then))
    }

    /// [`HandlerFn::call_then`], not boxed (for a caller that boxes it with more work).
    fn call_unboxed<O, C>(
        self,
        request: Request,
        state: S,
        then: C,
    ) -> impl Future<Output = Result<O, ToolError>> + Send + 'static
    where
        O: 'static,
        C: FnOnce(Self::Output) -> Result<O, ToolError> + Send + 'static;

    /// The schema of the arguments, from the one extractor that decodes them (if any).
    ///
    /// # Panics
    /// If two arguments both decode the request's arguments.
    fn input_schema(generator: &mut SchemaGenerator) -> Option<Schema>;
}

/// What makes an [`IntoTool`](super::IntoTool): a definition and an erased handler.
pub trait ToolParts<M, S> {
    /// # Panics
    /// If the name breaks the tool-name rules, or the input schema is not an object schema.
    fn into_tool(self, name: &str) -> (Tool, Arc<ErasedTool<S>>);
}

/// What makes an [`IntoPrompt`](super::IntoPrompt): a definition and an entry.
pub trait PromptParts<M, S> {
    /// # Panics
    /// If a completer names no argument of the prompt.
    fn into_prompt(self, name: &str) -> (Prompt, PromptEntry<S>);
}

/// What makes an [`IntoResource`](super::IntoResource): a definition with its handler
/// erased, for a static URI or a template.
pub trait ResourceParts<M, S> {
    fn into_resource_def(self) -> ResourceDef<Box<ErasedResource<S>>, ()>;
}
