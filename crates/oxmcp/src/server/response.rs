//! What a tool may return: anything that converts into a `tools/call` result.

use std::borrow::Cow;

use oxmcp_protocol::content::ContentBlock;
use oxmcp_protocol::tools::CallToolResult;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use super::error::ToolError;

/// Converts a tool's return value into its result.
///
/// Implemented for text (`String`, `&'static str`, `Cow<str>`), numbers and `bool` (as
/// text), `()` (an empty result), [`ContentBlock`] and `Vec<ContentBlock>`,
/// [`CallToolResult`] itself, [`Json<T>`] (structured output with an `outputSchema`), and
/// `Result<T, E>` for any error `E` that converts into `Box<dyn Error + Send + Sync>`: a
/// [`ToolError`] keeps its channel, any other error becomes an execution error the model
/// reads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    note = "return a String, content blocks, `Json<T>`, `()`, `CallToolResult`, or `Result<T, E>` of one of those, where `E` is `ToolError` or any `std::error::Error + Send + Sync`"
)]
pub trait IntoToolResult {
    /// The result, or the error the call ends with.
    fn into_tool_result(self) -> Result<CallToolResult, ToolError>;

    /// The JSON Schema of the structured output, for tools that return structured content.
    fn output_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        let _ = generator;
        None
    }
}

/// Structured output: `T` becomes the result's `structuredContent` (and, for clients that
/// only read text, its JSON text as content), and the tool's `outputSchema` is `T`'s schema.
///
/// `T` should serialize to a JSON object; any other value is wrapped as `{"result": value}`
/// (and the schema with it), since MCP requires structured content to be an object.
///
/// ```
/// use oxmcp::server::Json;
/// use schemars::JsonSchema;
/// use serde::Serialize;
///
/// #[derive(Serialize, JsonSchema)]
/// struct Forecast { city: String, temperature_c: f64 }
///
/// async fn forecast() -> Json<Forecast> {
///     Json(Forecast { city: "Oslo".into(), temperature_c: -3.5 })
/// }
/// # let _ = forecast;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        let value = serde_json::to_value(&self.0).map_err(|e| {
            ToolError::internal(format!("could not serialize the tool output: {e}"))
        })?;
        let value = if value.is_object() {
            value
        } else {
            serde_json::json!({ "result": value })
        };
        let text = value.to_string();
        let mut result = CallToolResult::new(vec![ContentBlock::text(text)]);
        result.structured_content = Some(value);
        Ok(result)
    }

    fn output_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        let schema = generator.root_schema_for::<T>();
        if is_object_schema(&schema) {
            return Some(schema);
        }
        // Wrap a non-object schema the way the value is wrapped.
        let mut inner = schema.to_value();
        let dialect = inner.as_object_mut().and_then(|o| o.remove("$schema"));
        let defs = inner.as_object_mut().and_then(|o| o.remove("$defs"));
        let mut wrapped = serde_json::json!({
            "type": "object",
            "properties": { "result": inner },
            "required": ["result"],
        });
        if let Some(d) = dialect {
            wrapped["$schema"] = d;
        }
        if let Some(defs) = defs {
            wrapped["$defs"] = defs;
        }
        Schema::try_from(wrapped).ok()
    }
}

pub(crate) fn is_object_schema(schema: &Schema) -> bool {
    schema.get("type").and_then(|t| t.as_str()) == Some("object")
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(self)
    }
}

impl IntoToolResult for () {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(Vec::new()))
    }
}

impl IntoToolResult for ContentBlock {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(vec![self]))
    }
}

impl IntoToolResult for Vec<ContentBlock> {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(self))
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(vec![ContentBlock::text(self)]))
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(vec![ContentBlock::text(self)]))
    }
}

impl IntoToolResult for Cow<'static, str> {
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::new(vec![ContentBlock::text(
            self.into_owned(),
        )]))
    }
}

macro_rules! display_as_text {
    ($($t:ty),*) => {$(
        impl IntoToolResult for $t {
            fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
                Ok(CallToolResult::new(vec![ContentBlock::text(self.to_string())]))
            }
        }
    )*};
}
display_as_text!(bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);

impl<T, E> IntoToolResult for Result<T, E>
where
    T: IntoToolResult,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn into_tool_result(self) -> Result<CallToolResult, ToolError> {
        self.map_err(ToolError::from_error)?.into_tool_result()
    }

    fn output_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        T::output_schema(generator)
    }
}
