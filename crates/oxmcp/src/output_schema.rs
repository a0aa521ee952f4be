//! Structured output validation: a tool's `outputSchema`, compiled once, checked against
//! the `structuredContent` of its results. The server checks its own tools' results (a
//! custom schema always, a derived one in debug builds); the client checks what a server
//! returns against the schema the server listed.

use std::sync::OnceLock;

use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::JsonObject;
use serde_json::Value;

/// The most characters of a validator's message kept in an error: the message quotes the
/// offending value, which a hostile peer can make as large as a frame.
const MESSAGE_KEEP: usize = 300;

/// A tool's output schema and, once first needed, its compiled validator.
///
/// Compiling happens at most once per schema; a schema that does not compile is kept as
/// that error, reported on every result it should have checked.
pub(crate) struct OutputSchema {
    schema: Value,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

impl std::fmt::Debug for OutputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl OutputSchema {
    /// A schema, not compiled yet.
    pub(crate) fn new(schema: &JsonObject) -> Self {
        OutputSchema {
            schema: Value::Object(schema.clone()),
            compiled: OnceLock::new(),
        }
    }

    /// A schema, compiled now.
    ///
    /// # Errors
    /// If it is not a valid JSON Schema (the message says where and why).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn compiled(schema: &JsonObject) -> Result<Self, String> {
        let this = Self::new(schema);
        this.validator()?;
        Ok(this)
    }

    /// Whether this is the same schema as `schema` (so its validator can be kept).
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn is(&self, schema: &JsonObject) -> bool {
        matches!(&self.schema, Value::Object(own) if own == schema)
    }

    fn validator(&self) -> Result<&jsonschema::Validator, String> {
        self.compiled
            .get_or_init(|| {
                jsonschema::validator_for(&self.schema).map_err(|e| {
                    format!(
                        "its outputSchema is not a valid JSON Schema: {}",
                        located(&e.instance_path.to_string(), &e.to_string())
                    )
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Checks a result of the tool: a successful result must carry `structuredContent`
    /// that the schema accepts (an `isError` result is not checked).
    ///
    /// # Errors
    /// What is wrong, naming the failing path in the structured content.
    pub(crate) fn check(&self, result: &CallToolResult) -> Result<(), String> {
        if result.is_error == Some(true) {
            return Ok(());
        }
        let validator = self.validator()?;
        let Some(structured) = &result.structured_content else {
            return Err(
                "it declares an outputSchema but its result has no structuredContent".to_owned(),
            );
        };
        match validator.validate(structured) {
            Ok(()) => Ok(()),
            Err(e) => Err(format!(
                "its structuredContent does not match its outputSchema: {}",
                located(&e.instance_path.to_string(), &e.to_string())
            )),
        }
    }
}

/// `message` at `path` (a JSON pointer; empty for the root), cut to [`MESSAGE_KEEP`].
fn located(path: &str, message: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut message = message.to_owned();
    if message.len() > MESSAGE_KEEP {
        let mut end = MESSAGE_KEEP;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    format!("at `{path}`: {message}")
}

/// The output schemas of the tools a client has seen listed, by tool name.
#[cfg(feature = "client")]
#[derive(Default)]
pub(crate) struct ListedSchemas {
    by_tool: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<OutputSchema>>>,
}

#[cfg(feature = "client")]
impl ListedSchemas {
    /// Records the schemas of listed tools; a tool whose schema is unchanged keeps its
    /// compiled validator, a tool listed without one is no longer checked.
    pub(crate) fn record(&self, tools: &[oxmcp_protocol::tools::Tool]) {
        let mut by_tool = self.by_tool.lock().unwrap_or_else(|e| e.into_inner());
        for tool in tools {
            match &tool.output_schema {
                Some(schema) => {
                    if !by_tool.get(&tool.name).is_some_and(|s| s.is(schema)) {
                        by_tool.insert(
                            tool.name.clone(),
                            std::sync::Arc::new(OutputSchema::new(schema)),
                        );
                    }
                }
                None => {
                    by_tool.remove(&tool.name);
                }
            }
        }
    }

    /// The schema listed for `tool`, if any.
    pub(crate) fn get(&self, tool: &str) -> Option<std::sync::Arc<OutputSchema>> {
        let by_tool = self.by_tool.lock().unwrap_or_else(|e| e.into_inner());
        by_tool.get(tool).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(feature = "client")]
    use std::sync::Arc;

    fn object(value: Value) -> JsonObject {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn result(structured: Value) -> CallToolResult {
        let mut result = CallToolResult::new(Vec::new());
        result.structured_content = Some(structured);
        result
    }

    #[test]
    fn names_the_failing_path() {
        let schema = OutputSchema::compiled(&object(json!({
            "type": "object",
            "properties": { "items": { "type": "array", "items": { "type": "integer" } } }
        })))
        .unwrap();
        assert!(schema.check(&result(json!({ "items": [1, 2] }))).is_ok());
        let err = schema
            .check(&result(json!({ "items": [1, "two"] })))
            .unwrap_err();
        assert!(err.contains("at `/items/1`"), "{err}");
        assert!(err.contains("integer"), "{err}");
    }

    #[test]
    fn an_invalid_schema_is_an_error_not_a_panic() {
        let err = OutputSchema::compiled(&object(json!({ "type": 5 }))).unwrap_err();
        assert!(err.contains("not a valid JSON Schema"), "{err}");
        let lazy = OutputSchema::new(&object(json!({ "type": "nonsense" })));
        assert!(lazy.check(&result(json!({}))).is_err());
    }

    #[test]
    fn long_messages_are_cut() {
        let schema = OutputSchema::compiled(&object(json!({
            "type": "object", "properties": { "s": { "type": "integer" } }
        })))
        .unwrap();
        let err = schema
            .check(&result(json!({ "s": "x".repeat(100_000) })))
            .unwrap_err();
        assert!(err.len() < 1_000, "{}", err.len());
    }

    #[cfg(feature = "client")]
    #[test]
    fn a_schema_listed_again_keeps_its_compiled_validator() {
        let tool = |schema: Value| {
            let mut tool = oxmcp_protocol::tools::Tool::new("t", JsonObject::new());
            tool.output_schema = Some(object(schema));
            tool
        };
        let listed = ListedSchemas::default();
        listed.record(&[tool(json!({ "type": "object" }))]);
        let first = listed.get("t").unwrap();
        first.check(&result(json!({}))).unwrap();
        listed.record(&[tool(json!({ "type": "object" }))]);
        assert!(Arc::ptr_eq(&first, &listed.get("t").unwrap()));
        assert!(first.compiled.get().is_some(), "compiled once, kept");
        listed.record(&[tool(json!({ "type": "array" }))]);
        assert!(!Arc::ptr_eq(&first, &listed.get("t").unwrap()));
        let mut bare = tool(json!({}));
        bare.output_schema = None;
        listed.record(&[bare]);
        assert!(listed.get("t").is_none());
    }

    #[test]
    fn error_results_and_missing_content() {
        let schema = OutputSchema::compiled(&object(json!({ "type": "object" }))).unwrap();
        let mut failed = CallToolResult::new(Vec::new());
        failed.is_error = Some(true);
        assert!(schema.check(&failed).is_ok());
        let err = schema.check(&CallToolResult::new(Vec::new())).unwrap_err();
        assert!(err.contains("no structuredContent"), "{err}");
    }
}
