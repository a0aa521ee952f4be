//! The params of requests, read borrowing from their frame.

use std::borrow::Cow;

use oxmcp_protocol::jsonrpc::ProgressToken;
use oxmcp_protocol::logging::LoggingLevel;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The reserved `_meta` keys of a request, borrowed from its params.
#[derive(Deserialize, Default)]
pub(crate) struct MetaPeek<'a> {
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(crate) protocol_version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    pub(crate) client_capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    pub(super) client_info: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    pub(super) log_level: Option<LoggingLevel>,
    #[serde(rename = "progressToken", default)]
    pub(super) progress_token: Option<ProgressToken>,
    /// W3C trace context, for the request's span (feature `otel`).
    #[cfg(feature = "otel")]
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) traceparent: Option<Cow<'a, str>>,
    #[cfg(feature = "otel")]
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) tracestate: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub(super) struct ParamsPeek<'a> {
    #[serde(rename = "_meta", borrow, default)]
    pub(super) meta: Option<MetaPeek<'a>>,
}

/// The params of `tools/call` and `prompts/get`, read in one pass: the target, its
/// arguments, the reserved `_meta` keys and the members of a multi round-trip retry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallParams<'a> {
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", borrow, default)]
    pub(crate) meta: Option<MetaPeek<'a>>,
    #[serde(borrow, default)]
    pub(super) input_responses: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) request_state: Option<Cow<'a, str>>,
}

impl<'a> CallParams<'a> {
    /// The members a multi round-trip retry carries.
    pub(super) fn retry(&self) -> crate::server::ask::Retry<'_> {
        crate::server::ask::Retry {
            input_responses: self.input_responses,
            request_state: self.request_state.as_deref(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct UriParams {
    pub(super) uri: String,
}

/// The params of `resources/read`, with the members of a multi round-trip retry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadParams<'a> {
    pub(super) uri: String,
    #[serde(borrow, default)]
    pub(super) input_responses: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) request_state: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub(super) struct CursorParams {
    #[serde(default)]
    pub(super) cursor: Option<String>,
}
