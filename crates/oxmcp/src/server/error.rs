//! `ToolError`: how a tool says it failed, and on which channel.

use std::fmt;

use oxmcp_protocol::content::ContentBlock;
use oxmcp_protocol::error::shorten_message;
use oxmcp_protocol::jsonrpc::{error_code, ErrorObject};
use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::ProtocolVersion;

/// A failed tool call.
///
/// The channel is explicit:
/// - [`ToolError::execution`] becomes a result with `isError: true` whose content the model
///   reads and can react to (a bad date, a missing file, an API that said no);
/// - [`ToolError::protocol`] becomes a JSON-RPC error the client application handles.
///
/// It is a `std::error::Error`, so `?` turns it into `Box<dyn Error>`, `anyhow::Error` and
/// the like, and a handler may return any error type: a handler's `Result<T, E>` accepts
/// every `E` that converts into `Box<dyn Error + Send + Sync>` (a `std::error::Error`,
/// `anyhow::Error`, a `String`). A `ToolError` among them keeps its channel, even boxed;
/// any other error becomes an execution error with its message. So `?` works in tools on
/// whatever error type the handler returns:
///
/// ```
/// use oxmcp::server::ToolError;
///
/// // Any error becomes `isError` content the model reads.
/// async fn read_config() -> std::io::Result<String> {
///     let text = std::fs::read_to_string("/definitely/missing")?;
///     Ok(text)
/// }
///
/// // Mixed errors, and a protocol error where the client application must know.
/// async fn lookup(id: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
///     if id.is_empty() {
///         return Err(ToolError::protocol(-32602, "an empty id").into());
///     }
///     let n: u32 = id.parse()?;
///     Ok(format!("item {n}"))
/// }
///
/// // A handler returning `Result<T, ToolError>` chooses the channel of each error.
/// async fn parse(text: String) -> Result<u32, ToolError> {
///     text.trim().parse().map_err(ToolError::execution)
/// }
/// # let _ = (read_config, lookup, parse);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Execution(Vec<ContentBlock>),
    Protocol(ErrorObject),
    InvalidArguments(String),
    ResourceNotFound(String),
}

impl ToolError {
    /// An execution error: the model sees `message` in an `isError: true` result.
    pub fn execution(message: impl fmt::Display) -> Self {
        ToolError {
            kind: Kind::Execution(vec![ContentBlock::text(message.to_string())]),
        }
    }

    /// An execution error with content blocks of your choosing.
    pub fn execution_content(content: Vec<ContentBlock>) -> Self {
        ToolError {
            kind: Kind::Execution(content),
        }
    }

    /// A protocol error: the client gets a JSON-RPC error with this code and message.
    pub fn protocol(code: i64, message: impl Into<String>) -> Self {
        ToolError {
            kind: Kind::Protocol(ErrorObject::new(code, message)),
        }
    }

    /// A protocol error from a complete error object (with `data`).
    pub fn protocol_object(error: ErrorObject) -> Self {
        ToolError {
            kind: Kind::Protocol(error),
        }
    }

    /// `-32603`: the server failed in a way the model cannot help with.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::protocol(error_code::INTERNAL_ERROR, message)
    }

    /// The arguments did not match the tool's input schema.
    ///
    /// From 2025-11-25 on this is an execution error the model can correct; with older
    /// revisions it is a `-32602` JSON-RPC error, as those revisions expect.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        ToolError {
            kind: Kind::InvalidArguments(message.into()),
        }
    }

    /// No resource has this URI: `-32002` for legacy clients, `-32602` from 2026-07-28 on.
    pub fn resource_not_found(uri: impl Into<String>) -> Self {
        ToolError {
            kind: Kind::ResourceNotFound(uri.into()),
        }
    }

    /// The JSON-RPC error this becomes outside tools (prompts, resources), where there is
    /// no `isError` channel.
    pub(crate) fn into_error_object(self, version: ProtocolVersion) -> ErrorObject {
        match self.kind {
            Kind::Protocol(error) => error,
            Kind::InvalidArguments(message) => {
                ErrorObject::invalid_params(format!("invalid arguments: {message}"))
            }
            Kind::ResourceNotFound(uri) => resource_not_found(&uri, version),
            Kind::Execution(content) => {
                let text: Vec<String> = content
                    .iter()
                    .filter_map(|c| match c {
                        ContentBlock::Text(t) => Some(t.text.clone()),
                        _ => None,
                    })
                    .collect();
                ErrorObject::internal(text.join(" "))
            }
        }
    }

    /// Whether this becomes a JSON-RPC error for a client speaking `version`.
    pub fn is_protocol(&self, version: ProtocolVersion) -> bool {
        match &self.kind {
            Kind::Execution(_) => false,
            Kind::Protocol(_) => true,
            Kind::InvalidArguments(_) => !version.argument_errors_are_execution_errors(),
            Kind::ResourceNotFound(_) => true,
        }
    }

    /// The result or error this becomes for a client speaking `version`.
    pub(crate) fn into_outcome(
        self,
        version: ProtocolVersion,
    ) -> Result<CallToolResult, ErrorObject> {
        match self.kind {
            Kind::Execution(content) => Ok(error_result(content)),
            Kind::Protocol(error) => Err(error),
            Kind::ResourceNotFound(uri) => Err(resource_not_found(&uri, version)),
            Kind::InvalidArguments(message) => {
                if version.argument_errors_are_execution_errors() {
                    Ok(error_result(vec![ContentBlock::text(format!(
                        "invalid arguments: {}",
                        shorten_message(&message)
                    ))]))
                } else {
                    Err(ErrorObject::invalid_params(format!(
                        "invalid arguments: {message}"
                    )))
                }
            }
        }
    }
}

/// The era's "resource not found" error, with the URI in `data`.
pub(crate) fn resource_not_found(uri: &str, version: ProtocolVersion) -> ErrorObject {
    ErrorObject::resource_not_found_with_code(version.resource_not_found_code(), uri)
}

fn error_result(content: Vec<ContentBlock>) -> CallToolResult {
    let mut result = CallToolResult::new(content);
    result.is_error = Some(true);
    result
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Execution(content) => {
                let text: Vec<&str> = content
                    .iter()
                    .filter_map(|c| match c {
                        ContentBlock::Text(t) => Some(t.text.as_str()),
                        _ => None,
                    })
                    .collect();
                write!(f, "tool failed: {}", text.join(" "))
            }
            Kind::Protocol(e) => write!(f, "protocol error {}: {}", e.code, e.message),
            Kind::InvalidArguments(m) => write!(f, "invalid arguments: {m}"),
            Kind::ResourceNotFound(uri) => write!(f, "resource not found: {uri}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// A boxed error as a tool error: a [`ToolError`] in the box comes out as it went in (same
/// channel), any other error becomes an execution error with its message. This is what a
/// handler's `Result<T, E>` goes through, for any `E` that converts into
/// `Box<dyn Error + Send + Sync>`: a `std::error::Error`, `anyhow::Error`, a `String`.
impl From<Box<dyn std::error::Error + Send + Sync + 'static>> for ToolError {
    fn from(error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        match error.downcast::<ToolError>() {
            Ok(tool_error) => *tool_error,
            Err(other) => ToolError::execution(other),
        }
    }
}

impl ToolError {
    /// Any error a handler returns, as a tool error (see the `From` impl of boxed errors).
    pub(crate) fn from_error(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::from(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::IntoToolResult;

    fn is_std_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}

    #[test]
    fn a_tool_error_is_a_std_error_and_keeps_its_channel_through_a_box() {
        let protocol = ToolError::protocol(-32001, "backend unavailable");
        is_std_error(&protocol);
        let boxed: Box<dyn std::error::Error + Send + Sync> = protocol.clone().into();
        assert_eq!(
            boxed.to_string(),
            "protocol error -32001: backend unavailable"
        );
        assert_eq!(ToolError::from(boxed), protocol);

        let result: Result<String, Box<dyn std::error::Error + Send + Sync>> =
            Err(protocol.clone().into());
        assert_eq!(result.into_tool_result().unwrap_err(), protocol);
    }

    #[test]
    fn other_errors_a_handler_returns_are_execution_errors() {
        let io: Result<String, std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let error = io.into_tool_result().unwrap_err();
        assert_eq!(error, ToolError::execution("disk on fire"));
        assert!(!error.is_protocol(ProtocolVersion::LATEST_LEGACY));
        let text: Result<String, String> = Err("no such city".to_owned());
        let error = text.into_tool_result().unwrap_err();
        assert_eq!(error, ToolError::execution("no such city"));
        let tool: Result<String, ToolError> = Err(ToolError::execution("the date is past"));
        let error = tool.into_tool_result().unwrap_err();
        assert_eq!(error, ToolError::execution("the date is past"));
    }
}
