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
/// It implements `Display`; [`into_std_error`](ToolError::into_std_error) makes it a
/// `std::error::Error`, and it converts into `Box<dyn Error>` with `?` (see
/// [`StdToolError`] for why it is not one itself).
///
/// Any `std::error::Error` converts into an execution error, so `?` works in tools:
///
/// ```
/// use oxmcp::server::ToolError;
/// async fn read_config() -> Result<String, ToolError> {
///     let text = std::fs::read_to_string("/definitely/missing")?; // becomes isError content
///     Ok(text)
/// }
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

impl<E: std::error::Error> From<E> for ToolError {
    fn from(error: E) -> Self {
        ToolError::execution(error)
    }
}

/// A [`ToolError`] as a `std::error::Error`.
///
/// `ToolError` itself cannot implement `std::error::Error`: that would collide with the
/// conversion from every error that makes `?` work in tools (the same trade-off as
/// `anyhow::Error`). It converts into this type, and into `Box<dyn Error>`, so that `?`
/// works where a standard error is expected:
///
/// ```
/// use oxmcp::server::ToolError;
///
/// fn check(n: i64) -> Result<i64, ToolError> {
///     if n < 0 { Err(ToolError::execution("negative")) } else { Ok(n) }
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let err = check(-1).unwrap_err().into_std_error();
///     assert_eq!(err.to_string(), "tool failed: negative");
///     assert_eq!(err.tool_error(), &ToolError::execution("negative"));
///     check(2)?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StdToolError(ToolError);

impl StdToolError {
    /// The tool error inside.
    pub fn tool_error(&self) -> &ToolError {
        &self.0
    }

    /// Takes the tool error back.
    pub fn into_tool_error(self) -> ToolError {
        self.0
    }
}

impl fmt::Display for StdToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for StdToolError {}

impl ToolError {
    /// This error as a `std::error::Error` (see [`StdToolError`]).
    pub fn into_std_error(self) -> StdToolError {
        StdToolError(self)
    }
}

impl From<ToolError> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(error: ToolError) -> Self {
        Box::new(StdToolError(error))
    }
}

impl From<ToolError> for Box<dyn std::error::Error + 'static> {
    fn from(error: ToolError) -> Self {
        Box::new(StdToolError(error))
    }
}
