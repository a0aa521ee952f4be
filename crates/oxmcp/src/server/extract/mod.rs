//! Extractors: the arguments of a handler function.
//!
//! Each argument of a tool, prompt or resource handler is built from the request by its
//! [`FromRequest`] impl, in any order: [`Args<T>`] decodes the arguments, [`Uri<T>`] the
//! variables of a resource template, [`Context`] describes the request, [`State<S>`] hands
//! over the router's state. A failed extraction answers the request with its rejection
//! instead of running the handler.

mod args;
mod state;
mod uri;

use std::future::Future;

use schemars::{Schema, SchemaGenerator};
use serde_json::value::RawValue;

pub use args::Args;
pub use state::State;
pub use uri::{ResourceUri, Uri};

use super::context::Context;
use super::error::ToolError;

/// A request on its way to a handler: what it targets (a tool, a prompt, a resource), its
/// raw arguments, and the request's [`Context`].
#[derive(Debug)]
pub struct Request {
    /// The context holds the target and arguments too, so a question can bind a round of
    /// a modern request to them without copies.
    pub(crate) context: Context,
}

/// What a request targets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A `tools/call` of this tool.
    Tool(String),
    /// A `prompts/get` of this prompt.
    Prompt(String),
    /// A `resources/read` of this URI, with the variables of the template it matched.
    Resource {
        /// The URI read.
        uri: String,
        /// The template variables, in template order (empty for a static resource).
        variables: Vec<(String, String)>,
    },
    /// A method an [`ServerExtension`](crate::server::ServerExtension) added.
    Method(String),
}

impl Request {
    /// What the request targets.
    pub fn target(&self) -> &Target {
        self.context.target()
    }

    /// The tool, prompt or method name, or the resource URI.
    pub fn name(&self) -> &str {
        self.context.target_name()
    }

    /// The arguments as raw JSON (an object), if the client sent any.
    pub fn arguments(&self) -> Option<&RawValue> {
        self.context.arguments()
    }

    /// The request's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// Builds one handler argument from the request: an extractor.
///
/// Each argument of a tool, prompt or resource handler is built from the request by its
/// `FromRequest` impl, in any order: [`Args<T>`] decodes the arguments, [`Uri<T>`] the
/// variables of a resource template, [`Context`](crate::server::Context) describes the
/// request, [`State<S>`] hands over the router's state,
/// [`Extension<T>`](crate::server::middleware::Extension) takes what a layer put in the
/// request. A failed extraction answers the request with its rejection instead of running
/// the handler.
///
/// Implement it for your own extractors (an authenticated user, a database handle taken
/// from state, ...). The returned future may wait (check a token, open a connection).
/// `input_schema` is for extractors that decode the tool's arguments: at most one argument
/// of a tool may return `Some` (registering a tool with two panics).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not an extractor",
    note = "handler arguments are extractors: `Args<T>`, `Uri<T>`, `ResourceUri`, `Context`, `State<S>`, or a type that implements `FromRequest`",
    note = "to decode the arguments of a tool or prompt into `{Self}`, take `Args<{Self}>` (the variables of a resource template: `Uri<{Self}>`)"
)]
pub trait FromRequest<S>: Sized + Send {
    /// Extracts the value, or rejects the call.
    fn from_request(
        call: &Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, ToolError>> + Send;

    /// The JSON Schema of the tool arguments this extractor decodes, if it decodes them.
    fn input_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        let _ = generator;
        None
    }
}

/// Decodes request params; a mismatch is a `-32602` error naming the field.
pub(crate) fn decode_params<'de, T: serde::Deserialize<'de>>(
    json: &'de str,
) -> Result<T, oxmcp_protocol::ErrorObject> {
    args::decode_with_path(json)
        .map_err(|m| oxmcp_protocol::ErrorObject::invalid_params(format!("invalid params: {m}")))
}

impl<S: Sync> FromRequest<S> for Context {
    async fn from_request(call: &Request, _state: &S) -> Result<Self, ToolError> {
        Ok(call.context.clone())
    }
}
