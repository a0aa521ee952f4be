//! Extractors: the arguments of a tool function.
//!
//! Each argument of a tool is built from the call by its [`FromToolCall`] impl, in any
//! order: [`Args<T>`] decodes the arguments, [`Context`] describes the request, [`State<S>`]
//! hands over the router's state. A failed extraction answers the call with its rejection
//! instead of running the tool.

mod args;
mod state;

use std::future::Future;

use schemars::{Schema, SchemaGenerator};
use serde_json::value::RawValue;

pub use args::Args;
pub use state::State;

use super::context::Context;
use super::error::ToolError;

/// A `tools/call` on its way to a tool: the tool name, the raw arguments and the request's
/// [`Context`].
#[derive(Debug)]
pub struct ToolCall {
    pub(crate) name: String,
    pub(crate) arguments: Option<Box<RawValue>>,
    pub(crate) context: Context,
}

impl ToolCall {
    /// The name of the tool called.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments as raw JSON (an object), if the client sent any.
    pub fn arguments(&self) -> Option<&RawValue> {
        self.arguments.as_deref()
    }

    /// The request's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// Builds one tool argument from the call.
///
/// Implement it for your own extractors (an authenticated user, a database handle taken
/// from state, ...). The returned future may wait (check a token, open a connection).
/// `input_schema` is for extractors that decode the tool's arguments: at most one argument
/// of a tool may return `Some` (registering a tool with two panics).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool argument",
    label = "not an extractor",
    note = "tool arguments are extractors: `Args<T>`, `Context`, `State<S>`, or a type that implements `FromToolCall`"
)]
pub trait FromToolCall<S>: Sized + Send {
    /// Extracts the value, or rejects the call.
    fn from_tool_call(
        call: &ToolCall,
        state: &S,
    ) -> impl Future<Output = Result<Self, ToolError>> + Send;

    /// The JSON Schema of the tool arguments this extractor decodes, if it decodes them.
    fn input_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        let _ = generator;
        None
    }
}

/// Decodes request params; a mismatch is a `-32602` error naming the field.
pub(crate) fn decode_params<T: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<T, oxmcp_protocol::ErrorObject> {
    args::decode_with_path(json)
        .map_err(|m| oxmcp_protocol::ErrorObject::invalid_params(format!("invalid params: {m}")))
}

impl<S: Sync> FromToolCall<S> for Context {
    async fn from_tool_call(call: &ToolCall, _state: &S) -> Result<Self, ToolError> {
        Ok(call.context.clone())
    }
}
