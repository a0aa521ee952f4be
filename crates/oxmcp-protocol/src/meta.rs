//! `_meta` objects and the keys MCP reserves in them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jsonrpc::{ProgressToken, RequestId};
use crate::lifecycle::{ClientCapabilities, Implementation};
use crate::logging::LoggingLevel;

/// A `_meta` object: an open map of namespaced keys.
pub type Meta = Map<String, Value>;

/// `_meta` key of the request's protocol version (2026-07-28).
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities for this request (2026-07-28).
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the client's implementation info (2026-07-28).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key of the log level the client asks for on this request (2026-07-28).
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key of the server's implementation info on results (2026-07-28).
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key that tags notifications delivered on a `subscriptions/listen` stream (2026-07-28).
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key of a request's progress token (every revision).
pub const PROGRESS_TOKEN: &str = "progressToken";
/// `_meta` key tying a message to a task (2025-11-25); the value is a
/// [`RelatedTaskMetadata`](crate::tasks::RelatedTaskMetadata).
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// Converts a typed view back into a plain `_meta` map.
fn to_meta<T: Serialize>(value: &T) -> Meta {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Meta::new(),
    }
}

/// A request's `_meta` with the reserved keys typed; other keys stay in `other`.
///
/// In 2026-07-28 every client request carries the protocol version and the client
/// capabilities here (both required), and optionally the client info and log level.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestMeta {
    /// [`PROTOCOL_VERSION`]: the revision of this request (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// [`CLIENT_CAPABILITIES`]: the client's capabilities for this request (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// [`CLIENT_INFO`]: the client software (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// [`LOG_LEVEL`]: the log level wanted for this request (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// [`PROGRESS_TOKEN`]: asks for progress notifications (every revision).
    #[serde(
        rename = "progressToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_token: Option<ProgressToken>,
    /// Every other key.
    #[serde(flatten)]
    pub other: Meta,
}

impl RequestMeta {
    /// An empty `_meta`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the typed keys of a `_meta` map.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        Self::deserialize(Value::Object(meta.clone()))
    }

    /// Back to a plain `_meta` map.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }

    /// Sets the protocol version.
    pub fn with_protocol_version(mut self, version: impl Into<String>) -> Self {
        self.protocol_version = Some(version.into());
        self
    }

    /// Sets the client capabilities.
    pub fn with_client_capabilities(mut self, capabilities: ClientCapabilities) -> Self {
        self.client_capabilities = Some(capabilities);
        self
    }

    /// Sets the client info.
    pub fn with_client_info(mut self, client_info: Implementation) -> Self {
        self.client_info = Some(client_info);
        self
    }

    /// Sets the log level.
    pub fn with_log_level(mut self, level: LoggingLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// Sets the progress token.
    pub fn with_progress_token(mut self, token: impl Into<ProgressToken>) -> Self {
        self.progress_token = Some(token.into());
        self
    }
}

/// A result's `_meta` with the reserved keys typed; other keys stay in `other`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResultMeta {
    /// [`SERVER_INFO`]: the server software (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/serverInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_info: Option<Implementation>,
    /// [`SUBSCRIPTION_ID`]: on a `subscriptions/listen` result (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Every other key.
    #[serde(flatten)]
    pub other: Meta,
}

impl ResultMeta {
    /// An empty `_meta`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the typed keys of a `_meta` map.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        Self::deserialize(Value::Object(meta.clone()))
    }

    /// Back to a plain `_meta` map.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }

    /// Sets the server info.
    pub fn with_server_info(mut self, server_info: Implementation) -> Self {
        self.server_info = Some(server_info);
        self
    }
}

/// A notification's `_meta` with the reserved keys typed; other keys stay in `other`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationMeta {
    /// [`SUBSCRIPTION_ID`]: the `subscriptions/listen` stream it belongs to (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Every other key.
    #[serde(flatten)]
    pub other: Meta,
}

impl NotificationMeta {
    /// An empty `_meta`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the typed keys of a `_meta` map.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        Self::deserialize(Value::Object(meta.clone()))
    }

    /// Back to a plain `_meta` map.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }

    /// Sets the subscription id.
    pub fn with_subscription_id(mut self, id: impl Into<RequestId>) -> Self {
        self.subscription_id = Some(id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_meta_typed_keys_round_trip() {
        let v = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"sampling": {"tools": {}}},
            "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
            "io.modelcontextprotocol/logLevel": "warning",
            "progressToken": 7,
            "com.example/trace": "abc"
        });
        let m: RequestMeta = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(m.protocol_version.as_deref(), Some("2026-07-28"));
        assert!(m
            .client_capabilities
            .as_ref()
            .unwrap()
            .sampling
            .as_ref()
            .unwrap()
            .tools
            .is_some());
        assert_eq!(m.client_info.as_ref().unwrap().name, "c");
        assert_eq!(m.log_level, Some(LoggingLevel::Warning));
        assert_eq!(m.progress_token, Some(RequestId::Number(7)));
        assert_eq!(m.other.get("com.example/trace"), Some(&json!("abc")));
        assert_eq!(m.other.len(), 1);
        assert_eq!(serde_json::to_value(&m).unwrap(), v);

        let Value::Object(map) = v else {
            unreachable!()
        };
        assert_eq!(RequestMeta::from_meta(&map).unwrap(), m);
        assert_eq!(m.to_meta(), map);

        let built = RequestMeta::new()
            .with_protocol_version("2026-07-28")
            .with_client_capabilities(ClientCapabilities::new())
            .with_progress_token("p");
        assert_eq!(
            serde_json::to_value(&built).unwrap(),
            json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                   "io.modelcontextprotocol/clientCapabilities": {},
                   "progressToken": "p"})
        );
        // A reserved key with the wrong type is an error, not silently kept in `other`.
        assert!(serde_json::from_value::<RequestMeta>(
            json!({"io.modelcontextprotocol/logLevel": "loud"})
        )
        .is_err());
    }

    #[test]
    fn result_and_notification_meta() {
        let v =
            json!({"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "2"}, "x": 1});
        let m: ResultMeta = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(m.server_info.as_ref().unwrap().version, "2");
        assert_eq!(serde_json::to_value(&m).unwrap(), v);
        let n = NotificationMeta::new().with_subscription_id("listen-1");
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            json!({"io.modelcontextprotocol/subscriptionId": "listen-1"})
        );
    }
}
