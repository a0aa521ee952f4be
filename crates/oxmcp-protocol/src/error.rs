//! The named errors of the schemas and the typed `data` of the MCP-specific ones.
//!
//! Error objects are all [`ErrorObject`]s and error responses all
//! [`JsonRpcErrorResponse`]s; the aliases here give them their schema names.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::elicitation::ElicitRequestURLParams;
use crate::jsonrpc::{error_code, ErrorObject, JsonRpcErrorResponse};
use crate::lifecycle::ClientCapabilities;

/// `-32700`: invalid JSON (an error object).
pub type ParseError = ErrorObject;
/// `-32600`: not a valid request (an error object).
pub type InvalidRequestError = ErrorObject;
/// `-32601`: no such method (an error object).
pub type MethodNotFoundError = ErrorObject;
/// `-32602`: invalid params (an error object).
pub type InvalidParamsError = ErrorObject;
/// `-32603`: internal error (an error object).
pub type InternalError = ErrorObject;

/// `-32020`: HTTP headers do not match the body (a full error response, 2026-07-28).
pub type HeaderMismatchError = JsonRpcErrorResponse;
/// `-32021`: a required client capability was not declared (a full error response,
/// 2026-07-28); `data` is [`MissingRequiredClientCapabilityData`].
pub type MissingRequiredClientCapabilityError = JsonRpcErrorResponse;
/// `-32022`: unsupported protocol version (a full error response, 2026-07-28);
/// `data` is [`UnsupportedProtocolVersionData`].
pub type UnsupportedProtocolVersionError = JsonRpcErrorResponse;
/// `-32042`: the request needs URL elicitations first (a full error response,
/// 2025-11-25); `data` is [`URLElicitationRequiredData`].
pub type URLElicitationRequiredError = JsonRpcErrorResponse;

/// The `data` of a `-32021` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MissingRequiredClientCapabilityData {
    /// The capabilities the request needs.
    pub required_capabilities: ClientCapabilities,
}

impl MissingRequiredClientCapabilityData {
    /// The capabilities the request needs.
    pub fn new(required_capabilities: ClientCapabilities) -> Self {
        MissingRequiredClientCapabilityData {
            required_capabilities,
        }
    }
}

/// The `data` of a `-32022` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsupportedProtocolVersionData {
    /// The revision the client asked for.
    pub requested: String,
    /// The revisions the server supports.
    pub supported: Vec<String>,
}

impl UnsupportedProtocolVersionData {
    /// What was asked and what is supported.
    pub fn new(requested: impl Into<String>, supported: Vec<String>) -> Self {
        UnsupportedProtocolVersionData {
            requested: requested.into(),
            supported,
        }
    }
}

/// The `data` of a `-32042` error (2025-11-25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct URLElicitationRequiredData {
    /// The URL elicitations to complete before retrying.
    pub elicitations: Vec<ElicitRequestURLParams>,
}

impl URLElicitationRequiredData {
    /// These elicitations.
    pub fn new(elicitations: Vec<ElicitRequestURLParams>) -> Self {
        URLElicitationRequiredData { elicitations }
    }
}

impl ErrorObject {
    /// `-32020`: HTTP headers do not match the body (2026-07-28).
    pub fn header_mismatch(message: impl Into<String>) -> Self {
        Self::new(error_code::HEADER_MISMATCH, message)
    }

    /// `-32021`: the request needs client capabilities that were not declared (2026-07-28).
    pub fn missing_required_client_capability(
        message: impl Into<String>,
        required: ClientCapabilities,
    ) -> Self {
        let data = MissingRequiredClientCapabilityData::new(required);
        let err = Self::new(error_code::MISSING_REQUIRED_CLIENT_CAPABILITY, message);
        match serde_json::to_value(data) {
            Ok(v) => err.with_data(v),
            Err(_) => err,
        }
    }

    /// `-32042`: the user must complete these URL elicitations first (2025-11-25).
    pub fn url_elicitation_required(
        message: impl Into<String>,
        elicitations: Vec<ElicitRequestURLParams>,
    ) -> Self {
        let data = URLElicitationRequiredData::new(elicitations);
        let err = Self::new(error_code::URL_ELICITATION_REQUIRED, message);
        match serde_json::to_value(data) {
            Ok(v) => err.with_data(v),
            Err(_) => err,
        }
    }

    /// `-32002`: resource not found (2025-11-25 and older), with the URI in `data`.
    pub fn resource_not_found(uri: &str) -> Self {
        Self::new(
            error_code::RESOURCE_NOT_FOUND,
            format!("resource not found: {uri}"),
        )
        .with_data(serde_json::json!({ "uri": uri }))
    }

    /// `data` read as `T`: `None` without data, `Some(Err)` when it does not fit.
    pub fn data_as<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.data.as_ref().map(|d| T::deserialize(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::ElicitationCapability;
    use serde_json::json;

    #[test]
    fn typed_error_data() {
        let caps = ClientCapabilities::new().with_elicitation(ElicitationCapability::new());
        let e = ErrorObject::missing_required_client_capability("needs elicitation", caps.clone());
        assert_eq!(e.code, -32021);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"elicitation": {}}}))
        );
        let data: MissingRequiredClientCapabilityData = e.data_as().unwrap().unwrap();
        assert_eq!(data.required_capabilities, caps);

        let e = ErrorObject::unsupported_protocol_version("1900-01-01", &["2026-07-28"]);
        let data: UnsupportedProtocolVersionData = e.data_as().unwrap().unwrap();
        assert_eq!(
            data,
            UnsupportedProtocolVersionData::new("1900-01-01", vec!["2026-07-28".into()])
        );

        let e = ErrorObject::url_elicitation_required(
            "authorize first",
            vec![ElicitRequestURLParams::new("go", "https://x.test/").with_elicitation_id("e")],
        );
        assert_eq!(e.code, -32042);
        let data: URLElicitationRequiredData = e.data_as().unwrap().unwrap();
        assert_eq!(data.elicitations[0].elicitation_id.as_deref(), Some("e"));
        assert!(ErrorObject::header_mismatch("x")
            .data_as::<UnsupportedProtocolVersionData>()
            .is_none());
    }
}
