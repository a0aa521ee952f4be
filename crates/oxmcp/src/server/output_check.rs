//! A tool's results checked against its output schema (feature `output-validation`).

use std::sync::Arc;

use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::JsonObject;

use super::extract::Request;
use super::handler::ErasedHandler;
use super::tool::ErasedTool;
use super::ToolError;
use crate::output_schema::OutputSchema;
use crate::rpc::BoxFuture;

/// `inner` with its successful results checked against `schema` (the tool's output schema,
/// if it has one and its results are checked): always for a custom schema, in debug builds
/// for a derived one.
///
/// # Panics
/// On a custom schema that is not a valid JSON Schema: registering it is a programming
/// mistake.
pub(super) fn around<S: 'static>(
    inner: Arc<ErasedTool<S>>,
    name: &str,
    schema: Option<&JsonObject>,
    custom: bool,
) -> Arc<ErasedTool<S>> {
    match schema.and_then(|schema| compile(name, schema, custom)) {
        Some(check) => Arc::new(Checked {
            inner,
            check: Arc::new(check),
        }),
        None => inner,
    }
}

/// The check of a tool's results, if they are checked (see [`around`]).
fn compile(name: &str, schema: &JsonObject, custom: bool) -> Option<OutputCheck> {
    if !custom && !cfg!(debug_assertions) {
        return None;
    }
    match OutputSchema::compiled(schema) {
        Ok(schema) => Some(OutputCheck {
            tool: name.to_owned(),
            schema,
        }),
        Err(why) if custom => panic!("tool `{name}`: {why}"),
        Err(why) => {
            tracing::warn!(tool = name, "derived output schema not checked: {why}");
            None
        }
    }
}

/// A tool's compiled output schema, with its name for the errors.
struct OutputCheck {
    tool: String,
    schema: OutputSchema,
}

impl OutputCheck {
    /// The result, or an internal error naming the tool and the failing path.
    fn apply(
        &self,
        outcome: Result<CallToolResult, ToolError>,
    ) -> Result<CallToolResult, ToolError> {
        let result = outcome?;
        match self.schema.check(&result) {
            Ok(()) => Ok(result),
            Err(why) => {
                tracing::error!(tool = %self.tool, "tool result rejected: {why}");
                Err(ToolError::internal(format!("tool `{}`: {why}", self.tool)))
            }
        }
    }
}

/// A tool whose successful results are checked against its output schema before they
/// are sent.
struct Checked<S> {
    inner: Arc<ErasedTool<S>>,
    check: Arc<OutputCheck>,
}

impl<S: 'static> ErasedHandler<S, CallToolResult> for Checked<S> {
    fn call(&self, request: Request, state: &S) -> BoxFuture<Result<CallToolResult, ToolError>> {
        let call = self.inner.call(request, state);
        let check = Arc::clone(&self.check);
        Box::pin(async move { check.apply(call.await) })
    }

    fn preset(&self) -> Option<&JsonObject> {
        self.inner.preset()
    }

    fn task_support(&self) -> Option<super::tasks::TaskSupport> {
        self.inner.task_support()
    }
}
