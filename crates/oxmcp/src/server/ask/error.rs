//! `AskError`: why a question to the client got no usable answer.

use std::fmt;

use oxmcp_protocol::jsonrpc::{error_code, ErrorObject};
use oxmcp_protocol::lifecycle::ClientCapabilities;

use crate::server::ToolError;

/// Why a question to the client (elicitation, sampling, roots) got no usable answer.
///
/// With `?` in a tool it becomes a JSON-RPC error of the call ([`ToolError::protocol`]):
///
/// | cause | code |
/// |-------|------|
/// | the client did not declare the capability the question needs | `-32021`, with `data.requiredCapabilities` |
/// | the client's answer does not decode or does not fit the form | `-32602` |
/// | the form type cannot be shown as an elicitation form, the client answered with an error, the connection closed | `-32603` |
///
/// `-32021` is the 2026-07-28 `MissingRequiredClientCapability` error; legacy sessions get
/// the same code and data (a server-defined code in JSON-RPC's reserved range).
///
/// `AskError` deliberately does not implement [`std::error::Error`]: every
/// `std::error::Error` converts into an *execution* error of a tool (`isError: true`
/// content for the model), while a failed question is a protocol matter for the client
/// application. Use [`AskError::to_error_object`] or `to_string` elsewhere.
#[derive(Debug)]
pub struct AskError {
    kind: Box<Kind>,
}

#[derive(Debug)]
enum Kind {
    MissingCapability {
        message: String,
        required: Box<ClientCapabilities>,
    },
    Unavailable {
        method: String,
    },
    Ended {
        method: &'static str,
    },
    Schema {
        type_name: &'static str,
        reason: String,
    },
    InvalidResponse {
        method: &'static str,
        reason: String,
    },
    Rejected {
        method: &'static str,
        error: ErrorObject,
    },
    Failed {
        method: &'static str,
        error: crate::Error,
    },
}

impl AskError {
    fn new(kind: Kind) -> Self {
        AskError {
            kind: Box::new(kind),
        }
    }

    /// The client did not declare `required`; `message` says what and why.
    pub(crate) fn missing_capability(
        message: impl Into<String>,
        required: ClientCapabilities,
    ) -> Self {
        Self::new(Kind::MissingCapability {
            message: message.into(),
            required: Box::new(required),
        })
    }

    /// No questions can be asked while answering `method`.
    pub(crate) fn unavailable(method: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable {
            method: method.into(),
        })
    }

    /// `method` was asked after the request's round ended.
    pub(crate) fn ended(method: &'static str) -> Self {
        Self::new(Kind::Ended { method })
    }

    /// `type_name` cannot be shown as an elicitation form.
    pub(crate) fn schema(type_name: &'static str, reason: impl Into<String>) -> Self {
        Self::new(Kind::Schema {
            type_name,
            reason: reason.into(),
        })
    }

    /// The client's answer to `method` is unusable.
    pub(crate) fn invalid_response(method: &'static str, reason: impl Into<String>) -> Self {
        Self::new(Kind::InvalidResponse {
            method,
            reason: reason.into(),
        })
    }

    /// The client answered `method` with a JSON-RPC error (legacy sessions).
    pub(crate) fn rejected(method: &'static str, error: ErrorObject) -> Self {
        Self::new(Kind::Rejected { method, error })
    }

    /// The request could not be sent or its answer never came.
    pub(crate) fn failed(method: &'static str, error: crate::Error) -> Self {
        match error.rpc_error() {
            Some(rpc) => Self::rejected(method, rpc.clone()),
            None => Self::new(Kind::Failed { method, error }),
        }
    }

    /// Whether the client lacks a capability the question needs.
    pub fn is_missing_capability(&self) -> bool {
        matches!(*self.kind, Kind::MissingCapability { .. })
    }

    /// The capabilities the question needs, when the client lacks them.
    pub fn required_capabilities(&self) -> Option<&ClientCapabilities> {
        match &*self.kind {
            Kind::MissingCapability { required, .. } => Some(required),
            _ => None,
        }
    }

    /// Whether the form type cannot be shown as an elicitation form (a programming error:
    /// see [`Context::elicit`](crate::server::Context::elicit) for what a form may hold).
    pub fn is_unsupported_schema(&self) -> bool {
        matches!(*self.kind, Kind::Schema { .. })
    }

    /// Whether the client's answer does not decode, or does not fit the form.
    pub fn is_invalid_response(&self) -> bool {
        matches!(*self.kind, Kind::InvalidResponse { .. })
    }

    /// The error the client answered with, if it refused the question (legacy sessions,
    /// where the question is a JSON-RPC request of its own).
    pub fn client_error(&self) -> Option<&ErrorObject> {
        match &*self.kind {
            Kind::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the connection closed, the call was cancelled or (modern era) the request
    /// ended before the answer came.
    pub fn is_closed(&self) -> bool {
        match &*self.kind {
            Kind::Failed { error, .. } => error.is_closed() || error.is_cancelled(),
            Kind::Ended { .. } => true,
            _ => false,
        }
    }

    /// The JSON-RPC error this becomes when a handler gives up with it.
    pub fn to_error_object(&self) -> ErrorObject {
        let message = self.to_string();
        match &*self.kind {
            Kind::MissingCapability { required, .. } => {
                ErrorObject::missing_required_client_capability(message, (**required).clone())
            }
            Kind::InvalidResponse { .. } => ErrorObject::invalid_params(message),
            Kind::Rejected { error, .. } => {
                ErrorObject::new(error_code::INTERNAL_ERROR, message).with_data(
                    serde_json::json!({ "clientError": { "code": error.code, "message": error.message } }),
                )
            }
            Kind::Unavailable { .. }
            | Kind::Ended { .. }
            | Kind::Schema { .. }
            | Kind::Failed { .. } => {
                ErrorObject::internal(message)
            }
        }
    }
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            Kind::MissingCapability { message, .. } => f.write_str(message),
            Kind::Unavailable { method } => write!(
                f,
                "cannot ask the client anything while answering {method} (only tools/call, prompts/get and resources/read may ask)"
            ),
            Kind::Ended { method } => write!(
                f,
                "cannot ask {method}: the request has ended (its questions went to the client in its result; a task that outlives the handler cannot ask more)"
            ),
            Kind::Schema { type_name, reason } => write!(
                f,
                "cannot ask for `{type_name}` with an elicitation form: {reason}"
            ),
            Kind::InvalidResponse { method, reason } => {
                write!(f, "the client's answer to {method} is invalid: {reason}")
            }
            Kind::Rejected { method, error } => write!(
                f,
                "the client answered {method} with error {}: {}",
                error.code, error.message
            ),
            Kind::Failed { method, error } => {
                write!(f, "{method} got no answer from the client: {error}")
            }
        }
    }
}

impl From<AskError> for ToolError {
    /// A protocol error of the tool call (see [`AskError`] for the codes).
    fn from(error: AskError) -> Self {
        ToolError::protocol_object(error.to_error_object())
    }
}

impl From<AskError> for ErrorObject {
    fn from(error: AskError) -> Self {
        error.to_error_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmcp_protocol::lifecycle::ElicitationCapability;
    use oxmcp_protocol::ProtocolVersion;

    #[test]
    fn errors_map_to_their_codes() {
        let required =
            ClientCapabilities::new().with_elicitation(ElicitationCapability::new().with_form());
        let e = AskError::missing_capability("needs elicitation", required.clone());
        assert!(e.is_missing_capability());
        assert_eq!(e.required_capabilities(), Some(&required));
        let obj = e.to_error_object();
        assert_eq!(obj.code, -32021);
        assert_eq!(
            obj.data,
            Some(serde_json::json!({"requiredCapabilities": {"elicitation": {"form": {}}}}))
        );

        let e = AskError::invalid_response("elicitation/create", "content.age: expected u8");
        assert!(e.is_invalid_response());
        assert_eq!(e.to_error_object().code, -32602);

        let e = AskError::rejected("sampling/createMessage", ErrorObject::new(-1, "no"));
        assert_eq!(e.client_error().map(|e| e.code), Some(-1));
        assert_eq!(e.to_error_object().code, -32603);
        assert!(e.to_string().contains("error -1: no"), "{e}");

        let e = AskError::failed("roots/list", crate::Error::closed());
        assert!(e.is_closed());
        let e = AskError::failed("roots/list", crate::Error::rpc(ErrorObject::new(-3, "x")));
        assert_eq!(e.client_error().map(|e| e.code), Some(-3));

        let e = AskError::schema("Form", "field `a`: nested objects are not allowed");
        assert!(e.is_unsupported_schema());
        assert_eq!(e.to_error_object().code, -32603);
        assert_eq!(
            AskError::unavailable("completion/complete")
                .to_error_object()
                .code,
            -32603
        );
    }

    #[test]
    fn question_mark_in_a_tool_gives_a_protocol_error() {
        fn tool() -> Result<(), ToolError> {
            Err(AskError::missing_capability(
                "needs roots",
                ClientCapabilities::new(),
            ))?;
            Ok(())
        }
        let error = tool().unwrap_err();
        assert!(error.is_protocol(ProtocolVersion::V2026_07_28));
        assert!(error.is_protocol(ProtocolVersion::V2025_06_18));
    }
}
