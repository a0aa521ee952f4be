//! The JSON-RPC 2.0 envelope: ids, messages and error objects.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{echo, shorten_message};

/// The `"2.0"` every JSON-RPC message carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// Standard JSON-RPC and MCP error codes.
pub mod error_code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Resource not found (2025-11-25 and earlier; modern revisions use `INVALID_PARAMS`).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// URL elicitation required (2025-11-25 only).
    pub const URL_ELICITATION_REQUIRED: i64 = -32042;
    /// HTTP headers do not match the body (2026-07-28).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The request needs a client capability that was not declared (2026-07-28).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// The requested protocol version is not supported (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// A request id: a string or an integer, never `null`.
///
/// Cloning is cheap: string ids are reference counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(Arc<str>),
}

/// Read straight from the token (an untagged derive would buffer it first): an integer
/// that fits `i64`, or a string; anything else (a fraction, `null`, an object) is refused.
impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Id;

        impl serde::de::Visitor<'_> for Id {
            type Value = RequestId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request id (a string or an integer)")
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(n))
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<RequestId, E> {
                i64::try_from(n).map(RequestId::Number).map_err(|_| {
                    E::invalid_value(
                        serde::de::Unexpected::Unsigned(n),
                        &"an integer id within i64",
                    )
                })
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(s.into()))
            }
        }

        deserializer.deserialize_any(Id)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.into())
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::String(s.into())
    }
}

/// A progress token: a string or an integer chosen by the requester.
pub type ProgressToken = RequestId;

/// The `error` member of a JSON-RPC error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The error code; see [`error_code`].
    pub code: i64,
    /// A short, single-sentence description.
    pub message: String,
    /// Additional information defined by the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// An error about the peer's input, its message cut by [`shorten_message`] (decoders
    /// quote the values they refuse, whatever their size).
    pub(crate) fn about_input(code: i64, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match shorten_message(&message) {
            Cow::Borrowed(_) => message,
            Cow::Owned(short) => short,
        };
        Self::new(code, message)
    }

    /// `-32700`: the frame was not valid JSON. A message longer than
    /// [`MESSAGE_LIMIT`](crate::error::MESSAGE_LIMIT) is cut in the middle.
    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::about_input(error_code::PARSE_ERROR, message)
    }

    /// `-32600`: the message is not a valid JSON-RPC request. A message longer than
    /// [`MESSAGE_LIMIT`](crate::error::MESSAGE_LIMIT) is cut in the middle.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::about_input(error_code::INVALID_REQUEST, message)
    }

    /// `-32601`: no such method. A long method name is cut (see [`echo`]).
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            error_code::METHOD_NOT_FOUND,
            format!("method not found: {}", echo(method)),
        )
    }

    /// `-32602`: the params are invalid. A message longer than
    /// [`MESSAGE_LIMIT`](crate::error::MESSAGE_LIMIT) is cut in the middle.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::about_input(error_code::INVALID_PARAMS, message)
    }

    /// `-32603`: the receiver failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(error_code::INTERNAL_ERROR, message)
    }

    /// `-32022`: the requested protocol version is not supported; `data` lists the supported
    /// ones. A long requested version is cut (see [`echo`]), in the message and in `data`.
    pub fn unsupported_protocol_version(requested: &str, supported: &[&str]) -> Self {
        let requested = echo(requested).to_string();
        Self::new(
            error_code::UNSUPPORTED_PROTOCOL_VERSION,
            format!("unsupported protocol version `{requested}`"),
        )
        .with_data(serde_json::json!({ "requested": requested, "supported": supported }))
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// A JSON-RPC request, with its params kept as a JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonRpcRequest {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The request id.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params object, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl JsonRpcRequest {
    /// A request.
    pub fn new(id: impl Into<RequestId>, method: impl Into<String>, params: Option<Value>) -> Self {
        JsonRpcRequest {
            jsonrpc: JsonRpcVersion,
            id: id.into(),
            method: method.into(),
            params,
        }
    }
}

/// A JSON-RPC notification (no id, no response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonRpcNotification {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The method name.
    pub method: String,
    /// The params object, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl JsonRpcNotification {
    /// A notification.
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        JsonRpcNotification {
            jsonrpc: JsonRpcVersion,
            method: method.into(),
            params,
        }
    }
}

/// A successful JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonRpcResultResponse {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The id of the request answered.
    pub id: RequestId,
    /// The result object.
    pub result: Value,
}

impl JsonRpcResultResponse {
    /// A result response.
    pub fn new(id: RequestId, result: Value) -> Self {
        JsonRpcResultResponse {
            jsonrpc: JsonRpcVersion,
            id,
            result,
        }
    }
}

/// A JSON-RPC error response. The id is absent when the request's id could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonRpcErrorResponse {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The id of the request answered, if it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The error.
    pub error: ErrorObject,
}

impl JsonRpcErrorResponse {
    /// An error response.
    pub fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        JsonRpcErrorResponse {
            jsonrpc: JsonRpcVersion,
            id,
            error,
        }
    }
}

/// Any JSON-RPC message. Deserializing picks the variant by the members present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonRpcMessage {
    /// A request (has `id` and `method`).
    Request(JsonRpcRequest),
    /// A notification (has `method`, no `id`).
    Notification(JsonRpcNotification),
    /// A successful response (has `result`).
    Result(JsonRpcResultResponse),
    /// An error response (has `error`).
    Error(JsonRpcErrorResponse),
}

/// A JSON-RPC batch: an array of messages (2025-03-26 only).
pub type JsonRpcBatch = Vec<JsonRpcMessage>;

/// What one frame holds: a message, or (2025-03-26 only) a batch of messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonRpcFrame {
    /// A single message.
    Single(JsonRpcMessage),
    /// A batch (a JSON array).
    Batch(JsonRpcBatch),
}

/// The `"jsonrpc": "2.0"` member; deserializing anything else fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonRpcVersion;

impl Serialize for JsonRpcVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(JSONRPC_VERSION)
    }
}

impl<'de> Deserialize<'de> for JsonRpcVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s == JSONRPC_VERSION {
            Ok(JsonRpcVersion)
        } else {
            Err(serde::de::Error::custom(format!(
                "jsonrpc must be \"2.0\", got {:?}",
                echo(&s)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_keep_their_type() {
        let n: RequestId = serde_json::from_value(json!(7)).unwrap();
        let s: RequestId = serde_json::from_value(json!("7")).unwrap();
        assert_eq!(n, RequestId::Number(7));
        assert_eq!(s, RequestId::from("7"));
        assert_ne!(n, s);
        assert!(serde_json::from_value::<RequestId>(json!(null)).is_err());
    }

    #[test]
    fn ids_are_integers_within_i64_or_strings() {
        let parse = |text: &str| serde_json::from_str::<RequestId>(text);
        assert_eq!(
            parse("-9223372036854775808").unwrap(),
            RequestId::Number(i64::MIN)
        );
        assert_eq!(
            parse("9223372036854775807").unwrap(),
            RequestId::Number(i64::MAX)
        );
        assert_eq!(parse(r#""a\"b""#).unwrap(), RequestId::from("a\"b"));
        assert_eq!(parse(r#""""#).unwrap(), RequestId::from(""));
        for bad in [
            "9223372036854775808",
            "1.5",
            "1e3",
            "null",
            "true",
            "[1]",
            r#"{"a":1}"#,
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("id"), "{bad}: {error}");
        }
        // Inside a message, as the typed messages read it.
        let m: JsonRpcMessage =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":"x","method":"ping"}"#).unwrap();
        assert!(matches!(m, JsonRpcMessage::Request(r) if r.id == RequestId::from("x")));
    }

    #[test]
    fn messages_classify() {
        let m: JsonRpcMessage =
            serde_json::from_value(json!({"jsonrpc":"2.0","id":1,"method":"ping"})).unwrap();
        assert!(matches!(m, JsonRpcMessage::Request(_)));
        let m: JsonRpcMessage =
            serde_json::from_value(json!({"jsonrpc":"2.0","method":"x"})).unwrap();
        assert!(matches!(m, JsonRpcMessage::Notification(_)));
        let m: JsonRpcMessage =
            serde_json::from_value(json!({"jsonrpc":"2.0","id":1,"result":{}})).unwrap();
        assert!(matches!(m, JsonRpcMessage::Result(_)));
        let m: JsonRpcMessage = serde_json::from_value(
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}),
        )
        .unwrap();
        assert!(matches!(
            m,
            JsonRpcMessage::Error(JsonRpcErrorResponse { id: None, .. })
        ));
        assert!(
            serde_json::from_value::<JsonRpcMessage>(json!({"jsonrpc":"1.0","method":"x"}))
                .is_err()
        );
    }
}
