//! Multi round-trip requests of 2026-07-28: instead of sending its own requests, a
//! server answers `tools/call`, `prompts/get` or `resources/read` with an
//! [`InputRequiredResult`]; the client answers the input requests and retries the
//! request with `inputResponses` and the echoed `requestState`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::elicitation::{ElicitRequestParams, ElicitResult};
use crate::meta::Meta;
use crate::method;
use crate::pagination::RequestParams;
use crate::result::ResultType;
use crate::roots::ListRootsResult;
use crate::sampling::{CreateMessageRequestParams, CreateMessageResult};
use crate::serde_util::{from_value, str_member};

method_enum! {
    /// A request from the server to the client, embedded in an [`InputRequiredResult`]:
    /// `{"method": ..., "params": ...}` without `jsonrpc` and `id`.
    pub enum InputRequest {
        /// `sampling/createMessage`.
        CreateMessage(required CreateMessageRequestParams) = method::SAMPLING_CREATE_MESSAGE,
        /// `roots/list`.
        ListRoots(optional RequestParams) = method::ROOTS_LIST,
        /// `elicitation/create`.
        Elicit(required ElicitRequestParams) = method::ELICITATION_CREATE,
    }
}

/// The client's answer to one [`InputRequest`]. Told apart by shape: an elicitation
/// result has `action`, a roots result has `roots`, anything else is a sampling result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum InputResponse {
    /// The result of `sampling/createMessage`.
    CreateMessage(CreateMessageResult),
    /// The result of `roots/list`.
    ListRoots(ListRootsResult),
    /// The result of `elicitation/create`.
    Elicit(ElicitResult),
}

impl<'de> Deserialize<'de> for InputResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if v.get("action").is_some() {
            from_value(v).map(InputResponse::Elicit)
        } else if v.get("roots").is_some() {
            from_value(v).map(InputResponse::ListRoots)
        } else {
            from_value(v).map(InputResponse::CreateMessage)
        }
    }
}

impl From<CreateMessageResult> for InputResponse {
    fn from(r: CreateMessageResult) -> Self {
        InputResponse::CreateMessage(r)
    }
}

impl From<ListRootsResult> for InputResponse {
    fn from(r: ListRootsResult) -> Self {
        InputResponse::ListRoots(r)
    }
}

impl From<ElicitResult> for InputResponse {
    fn from(r: ElicitResult) -> Self {
        InputResponse::Elicit(r)
    }
}

/// Input requests by key; the client answers each under the same key.
pub type InputRequests = BTreeMap<String, InputRequest>;

/// Input responses by the key of the request they answer.
pub type InputResponses = BTreeMap<String, InputResponse>;

/// A result saying the request needs input before it can complete:
/// `{"resultType": "input_required", ...}`. At least one of `inputRequests` and
/// `requestState` is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InputRequiredResult {
    /// Always [`ResultType::InputRequired`] on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// What the client must answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
    /// Opaque server state the client echoes on the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl InputRequiredResult {
    /// An input-required result without requests or state (add at least one).
    pub fn new() -> Self {
        InputRequiredResult {
            result_type: Some(ResultType::InputRequired),
            input_requests: None,
            request_state: None,
            meta: None,
        }
    }

    /// Adds an input request under `key`.
    pub fn with_input_request(mut self, key: impl Into<String>, request: InputRequest) -> Self {
        self.input_requests
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), request);
        self
    }

    /// Sets `inputRequests`.
    pub fn with_input_requests(mut self, input_requests: InputRequests) -> Self {
        self.input_requests = Some(input_requests);
        self
    }

    /// Sets `requestState`.
    pub fn with_request_state(mut self, request_state: impl Into<String>) -> Self {
        self.request_state = Some(request_state.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

impl Default for InputRequiredResult {
    fn default() -> Self {
        Self::new()
    }
}

/// The params members a request carries on its retry after an [`InputRequiredResult`]
/// (the common part of `tools/call`, `prompts/get` and `resources/read` params).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InputResponseRequestParams {
    /// The answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<InputResponses>,
    /// The echoed `requestState`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl InputResponseRequestParams {
    /// `{}`.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The result of a request that may need input (2026-07-28): the final result, or an
/// [`InputRequiredResult`]. Picked by `resultType`: `"input_required"` is the latter,
/// anything else (or nothing, as from legacy servers) the former.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MaybeInputRequired<T> {
    /// The request completed.
    Complete(T),
    /// The request needs input.
    InputRequired(InputRequiredResult),
}

impl<T> MaybeInputRequired<T> {
    /// The final result, if the request completed.
    pub fn complete(self) -> Option<T> {
        match self {
            MaybeInputRequired::Complete(t) => Some(t),
            MaybeInputRequired::InputRequired(_) => None,
        }
    }

    /// Whether the request needs input.
    pub fn is_input_required(&self) -> bool {
        matches!(self, MaybeInputRequired::InputRequired(_))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for MaybeInputRequired<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if str_member(&v, "resultType") == Some("input_required") {
            from_value(v).map(MaybeInputRequired::InputRequired)
        } else {
            from_value(v).map(MaybeInputRequired::Complete)
        }
    }
}

impl<T> From<InputRequiredResult> for MaybeInputRequired<T> {
    fn from(r: InputRequiredResult) -> Self {
        MaybeInputRequired::InputRequired(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::CallToolResult;
    use serde_json::json;

    #[test]
    fn input_required_is_picked_by_result_type() {
        let r: MaybeInputRequired<CallToolResult> =
            serde_json::from_value(json!({"resultType": "input_required", "requestState": "s"}))
                .unwrap();
        assert!(r.is_input_required());
        let r: MaybeInputRequired<CallToolResult> =
            serde_json::from_value(json!({"content": [], "resultType": "complete"})).unwrap();
        assert!(matches!(r, MaybeInputRequired::Complete(_)));
        // Legacy results have no resultType.
        let r: MaybeInputRequired<CallToolResult> =
            serde_json::from_value(json!({"content": []})).unwrap();
        assert_eq!(r.complete(), Some(CallToolResult::new(vec![])));
    }

    #[test]
    fn input_requests_and_responses() {
        let req = InputRequiredResult::new()
            .with_input_request("roots", InputRequest::ListRoots(None))
            .with_request_state("abc");
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({"resultType": "input_required", "requestState": "abc",
                   "inputRequests": {"roots": {"method": "roots/list"}}})
        );
        assert_eq!(
            serde_json::from_value::<InputRequiredResult>(v).unwrap(),
            req
        );
        assert!(serde_json::from_value::<InputRequest>(
            json!({"method": "tools/call", "params": {}})
        )
        .is_err());
        assert!(serde_json::from_value::<InputRequest>(
            json!({"method": "sampling/createMessage"})
        )
        .is_err());

        let responses: InputResponses = serde_json::from_value(json!({
            "a": {"action": "decline"},
            "b": {"roots": []},
            "c": {"role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"}
        }))
        .unwrap();
        assert!(matches!(responses["a"], InputResponse::Elicit(_)));
        assert!(matches!(responses["b"], InputResponse::ListRoots(_)));
        assert!(matches!(responses["c"], InputResponse::CreateMessage(_)));
    }
}
