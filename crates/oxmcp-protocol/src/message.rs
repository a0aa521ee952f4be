//! Typed whole messages: the method-tagged enums of what each side sends, and JSON-RPC
//! envelopes around them.
//!
//! The enums cover every revision: a variant exists when any revision defines the
//! method. Each variant holds the method's params; the value is (de)serialized as
//! `{"method": ..., "params": ...}` (`params` left out when an optional one is `None`).
//! Put one in a [`TypedRequest`] or [`TypedNotification`] for the full JSON-RPC message.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::completion::CompleteRequestParams;
use crate::elicitation::{ElicitRequestParams, ElicitationCompleteNotificationParams};
use crate::jsonrpc::{JsonRpcNotification, JsonRpcRequest, JsonRpcVersion, RequestId};
use crate::lifecycle::InitializeRequestParams;
use crate::logging::{LoggingMessageNotificationParams, SetLevelRequestParams};
use crate::method;
use crate::notification::{
    CancelledNotificationParams, NotificationParams, ProgressNotificationParams,
    ResourceUpdatedNotificationParams,
};
use crate::pagination::{PaginatedRequestParams, RequestParams};
use crate::prompts::GetPromptRequestParams;
use crate::resources::{
    ReadResourceRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use crate::sampling::CreateMessageRequestParams;
use crate::subscriptions::{
    SubscriptionsAcknowledgedNotificationParams, SubscriptionsListenRequestParams,
};
use crate::tasks::{TaskIdParams, TaskStatusNotificationParams};
use crate::tools::CallToolRequestParams;

pub use crate::meta::RequestMeta;

method_enum! {
    /// A request from the client to the server, any revision.
    pub enum ClientRequest {
        /// `initialize` (2025-11-25 and older).
        Initialize(required InitializeRequestParams) = method::INITIALIZE,
        /// `ping` (2025-11-25 and older).
        Ping(optional RequestParams) = method::PING,
        /// `server/discover` (2026-07-28).
        Discover(required RequestParams) = method::SERVER_DISCOVER,
        /// `resources/list`.
        ListResources(optional PaginatedRequestParams) = method::RESOURCES_LIST,
        /// `resources/templates/list`.
        ListResourceTemplates(optional PaginatedRequestParams) = method::RESOURCES_TEMPLATES_LIST,
        /// `resources/read`.
        ReadResource(required ReadResourceRequestParams) = method::RESOURCES_READ,
        /// `resources/subscribe` (2025-11-25 and older).
        Subscribe(required SubscribeRequestParams) = method::RESOURCES_SUBSCRIBE,
        /// `resources/unsubscribe` (2025-11-25 and older).
        Unsubscribe(required UnsubscribeRequestParams) = method::RESOURCES_UNSUBSCRIBE,
        /// `subscriptions/listen` (2026-07-28).
        SubscriptionsListen(required SubscriptionsListenRequestParams) = method::SUBSCRIPTIONS_LISTEN,
        /// `prompts/list`.
        ListPrompts(optional PaginatedRequestParams) = method::PROMPTS_LIST,
        /// `prompts/get`.
        GetPrompt(required GetPromptRequestParams) = method::PROMPTS_GET,
        /// `tools/list`.
        ListTools(optional PaginatedRequestParams) = method::TOOLS_LIST,
        /// `tools/call`.
        CallTool(required CallToolRequestParams) = method::TOOLS_CALL,
        /// `logging/setLevel` (2025-11-25 and older).
        SetLevel(required SetLevelRequestParams) = method::LOGGING_SET_LEVEL,
        /// `completion/complete`.
        Complete(required CompleteRequestParams) = method::COMPLETION_COMPLETE,
        /// `tasks/get` (2025-11-25).
        GetTask(required TaskIdParams) = method::TASKS_GET,
        /// `tasks/result` (2025-11-25).
        GetTaskPayload(required TaskIdParams) = method::TASKS_RESULT,
        /// `tasks/cancel` (2025-11-25).
        CancelTask(required TaskIdParams) = method::TASKS_CANCEL,
        /// `tasks/list` (2025-11-25).
        ListTasks(optional PaginatedRequestParams) = method::TASKS_LIST,
    }
}

method_enum! {
    /// A request from the server to the client (2025-11-25 and older; 2026-07-28 sends
    /// these as [`InputRequest`](crate::mrtr::InputRequest)s inside results instead).
    pub enum ServerRequest {
        /// `ping`.
        Ping(optional RequestParams) = method::PING,
        /// `sampling/createMessage`.
        CreateMessage(required CreateMessageRequestParams) = method::SAMPLING_CREATE_MESSAGE,
        /// `roots/list`.
        ListRoots(optional RequestParams) = method::ROOTS_LIST,
        /// `elicitation/create` (2025-06-18 onward).
        Elicit(required ElicitRequestParams) = method::ELICITATION_CREATE,
        /// `tasks/get` (2025-11-25).
        GetTask(required TaskIdParams) = method::TASKS_GET,
        /// `tasks/result` (2025-11-25).
        GetTaskPayload(required TaskIdParams) = method::TASKS_RESULT,
        /// `tasks/cancel` (2025-11-25).
        CancelTask(required TaskIdParams) = method::TASKS_CANCEL,
        /// `tasks/list` (2025-11-25).
        ListTasks(optional PaginatedRequestParams) = method::TASKS_LIST,
    }
}

method_enum! {
    /// A notification from the client to the server, any revision.
    pub enum ClientNotification {
        /// `notifications/cancelled`.
        Cancelled(required CancelledNotificationParams) = method::NOTIFICATION_CANCELLED,
        /// `notifications/initialized` (2025-11-25 and older).
        Initialized(optional NotificationParams) = method::NOTIFICATION_INITIALIZED,
        /// `notifications/progress` (2025-11-25 and older).
        Progress(required ProgressNotificationParams) = method::NOTIFICATION_PROGRESS,
        /// `notifications/roots/list_changed` (2025-11-25 and older).
        RootsListChanged(optional NotificationParams) = method::NOTIFICATION_ROOTS_LIST_CHANGED,
        /// `notifications/tasks/status` (2025-11-25).
        TaskStatus(required TaskStatusNotificationParams) = method::NOTIFICATION_TASKS_STATUS,
    }
}

method_enum! {
    /// A notification from the server to the client, any revision.
    pub enum ServerNotification {
        /// `notifications/cancelled`.
        Cancelled(required CancelledNotificationParams) = method::NOTIFICATION_CANCELLED,
        /// `notifications/progress`.
        Progress(required ProgressNotificationParams) = method::NOTIFICATION_PROGRESS,
        /// `notifications/message`.
        LoggingMessage(required LoggingMessageNotificationParams) = method::NOTIFICATION_MESSAGE,
        /// `notifications/resources/updated`.
        ResourceUpdated(required ResourceUpdatedNotificationParams) = method::NOTIFICATION_RESOURCES_UPDATED,
        /// `notifications/resources/list_changed`.
        ResourceListChanged(optional NotificationParams) = method::NOTIFICATION_RESOURCES_LIST_CHANGED,
        /// `notifications/prompts/list_changed`.
        PromptListChanged(optional NotificationParams) = method::NOTIFICATION_PROMPTS_LIST_CHANGED,
        /// `notifications/tools/list_changed`.
        ToolListChanged(optional NotificationParams) = method::NOTIFICATION_TOOLS_LIST_CHANGED,
        /// `notifications/elicitation/complete` (2025-11-25).
        ElicitationComplete(required ElicitationCompleteNotificationParams) = method::NOTIFICATION_ELICITATION_COMPLETE,
        /// `notifications/tasks/status` (2025-11-25).
        TaskStatus(required TaskStatusNotificationParams) = method::NOTIFICATION_TASKS_STATUS,
        /// `notifications/subscriptions/acknowledged` (2026-07-28).
        SubscriptionsAcknowledged(required SubscriptionsAcknowledgedNotificationParams) = method::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
    }
}

/// Converts a `{method, params}` value into a typed enum.
fn typed_from_parts<R: DeserializeOwned>(
    method: String,
    params: Option<Value>,
) -> Result<R, serde_json::Error> {
    let mut map = serde_json::Map::new();
    map.insert("method".into(), Value::String(method));
    if let Some(params) = params {
        map.insert("params".into(), params);
    }
    serde_json::from_value(Value::Object(map))
}

/// Splits a typed enum into its method and params.
fn typed_into_parts<R: Serialize>(r: &R) -> Result<(String, Option<Value>), serde_json::Error> {
    let Value::Object(mut map) = serde_json::to_value(r)? else {
        return Err(serde::ser::Error::custom(
            "a method enum must serialize to an object",
        ));
    };
    let method = match map.remove("method") {
        Some(Value::String(m)) => m,
        _ => {
            return Err(serde::ser::Error::custom(
                "a method enum must write `method`",
            ))
        }
    };
    Ok((method, map.remove("params")))
}

/// A JSON-RPC request whose method and params are typed by `R`
/// (e.g. [`ClientRequest`] or [`ServerRequest`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypedRequest<R = ClientRequest> {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The request id.
    pub id: RequestId,
    /// The method and params.
    #[serde(flatten)]
    pub request: R,
}

impl<R> TypedRequest<R> {
    /// A request.
    pub fn new(id: impl Into<RequestId>, request: R) -> Self {
        TypedRequest {
            jsonrpc: JsonRpcVersion,
            id: id.into(),
            request,
        }
    }
}

impl<R: DeserializeOwned> TypedRequest<R> {
    /// Types an untyped request.
    pub fn from_untyped(req: JsonRpcRequest) -> Result<Self, serde_json::Error> {
        Ok(TypedRequest::new(
            req.id,
            typed_from_parts(req.method, req.params)?,
        ))
    }
}

impl<R: Serialize> TypedRequest<R> {
    /// Back to an untyped request.
    pub fn to_untyped(&self) -> Result<JsonRpcRequest, serde_json::Error> {
        let (method, params) = typed_into_parts(&self.request)?;
        Ok(JsonRpcRequest::new(self.id.clone(), method, params))
    }
}

/// A JSON-RPC notification whose method and params are typed by `N`
/// (e.g. [`ServerNotification`] or [`ClientNotification`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypedNotification<N = ServerNotification> {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The method and params.
    #[serde(flatten)]
    pub notification: N,
}

impl<N> TypedNotification<N> {
    /// A notification.
    pub fn new(notification: N) -> Self {
        TypedNotification {
            jsonrpc: JsonRpcVersion,
            notification,
        }
    }
}

impl<N: DeserializeOwned> TypedNotification<N> {
    /// Types an untyped notification.
    pub fn from_untyped(n: JsonRpcNotification) -> Result<Self, serde_json::Error> {
        Ok(TypedNotification::new(typed_from_parts(
            n.method, n.params,
        )?))
    }
}

impl<N: Serialize> TypedNotification<N> {
    /// Back to an untyped notification.
    pub fn to_untyped(&self) -> Result<JsonRpcNotification, serde_json::Error> {
        let (method, params) = typed_into_parts(&self.notification)?;
        Ok(JsonRpcNotification::new(method, params))
    }
}

/// A successful JSON-RPC response whose result is typed by `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypedResultResponse<T> {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpcVersion,
    /// The id of the request answered.
    pub id: RequestId,
    /// The result.
    pub result: T,
}

impl<T> TypedResultResponse<T> {
    /// A response.
    pub fn new(id: impl Into<RequestId>, result: T) -> Self {
        TypedResultResponse {
            jsonrpc: JsonRpcVersion,
            id: id.into(),
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_tagged_by_method() {
        let v = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"x": 1}}});
        let r: TypedRequest<ClientRequest> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.id, RequestId::Number(3));
        assert_eq!(r.request.method(), "tools/call");
        assert!(matches!(&r.request, ClientRequest::CallTool(p) if p.name == "echo"));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);

        let untyped = r.to_untyped().unwrap();
        assert_eq!(untyped.method, "tools/call");
        assert_eq!(
            TypedRequest::<ClientRequest>::from_untyped(untyped).unwrap(),
            r
        );
    }

    #[test]
    fn optional_params_stay_absent() {
        let v = json!({"jsonrpc": "2.0", "id": "a", "method": "ping"});
        let r: TypedRequest<ClientRequest> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.request, ClientRequest::Ping(None));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        let v = json!({"method": "tools/list", "params": {"cursor": "c"}});
        let r: ClientRequest = serde_json::from_value(v.clone()).unwrap();
        assert!(
            matches!(&r, ClientRequest::ListTools(Some(p)) if p.cursor.as_deref() == Some("c"))
        );
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn unknown_methods_and_bad_params_fail() {
        let err = serde_json::from_value::<ClientRequest>(json!({"method": "tools/frobnicate"}))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown method `tools/frobnicate`"),
            "{err}"
        );
        let err =
            serde_json::from_value::<ClientRequest>(json!({"method": "tools/call"})).unwrap_err();
        assert!(err.to_string().contains("params"), "{err}");
        assert!(serde_json::from_value::<ClientRequest>(
            json!({"method": "tools/call", "params": {"arguments": {}}})
        )
        .is_err());
        // A server request is not a client request.
        assert!(serde_json::from_value::<ClientRequest>(json!({"method": "roots/list"})).is_err());
        assert!(ClientRequest::METHODS.contains(&"server/discover"));
        assert!(!ServerRequest::METHODS.contains(&"tools/call"));
    }

    #[test]
    fn notifications_round_trip() {
        let v = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
        let n: TypedNotification<ServerNotification> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(n.notification, ServerNotification::ToolListChanged(None));
        assert_eq!(serde_json::to_value(&n).unwrap(), v);
        let v = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let n: TypedNotification<ClientNotification> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(n.notification.method(), method::NOTIFICATION_INITIALIZED);
        let untyped = n.to_untyped().unwrap();
        assert_eq!(untyped.params, None);
        assert_eq!(
            TypedNotification::<ClientNotification>::from_untyped(untyped).unwrap(),
            n
        );
    }

    #[test]
    fn per_method_structs_check_their_method() {
        use crate::notification::{ProgressNotification, ProgressNotificationParams};
        use crate::sampling::{CreateMessageRequest, SamplingMessage};
        use crate::tools::{CallToolRequest, CallToolRequestParams};

        let v = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t"}});
        let r: CallToolRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r, CallToolRequest::new(1, CallToolRequestParams::new("t")));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        let err = serde_json::from_value::<CallToolRequest>(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"name": "t"}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("expected method `tools/call`"),
            "{err}"
        );
        assert!(serde_json::from_value::<CallToolRequest>(
            json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "t"}})
        )
        .is_err());

        let n = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                       "params": {"progressToken": "p", "progress": 1}});
        let p: ProgressNotification = serde_json::from_value(n.clone()).unwrap();
        assert_eq!(p.params, ProgressNotificationParams::new("p", 1.0));
        assert_eq!(serde_json::to_value(&p).unwrap(), n);
        let mut with_id = n.clone();
        with_id["id"] = json!(3);
        assert!(serde_json::from_value::<ProgressNotification>(with_id).is_err());

        let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text("hi")], 10);
        let embedded = CreateMessageRequest::new(params.clone());
        assert_eq!(
            serde_json::to_value(&embedded).unwrap(),
            json!({"method": "sampling/createMessage", "params": {"maxTokens": 10,
                   "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}]}})
        );
        let legacy = CreateMessageRequest::new(params).with_id("s-1");
        let v = serde_json::to_value(&legacy).unwrap();
        assert_eq!(v["jsonrpc"], json!("2.0"));
        assert_eq!(v["id"], json!("s-1"));
        let typed: TypedRequest<ServerRequest> = serde_json::from_value(v).unwrap();
        assert_eq!(typed.request.method(), method::SAMPLING_CREATE_MESSAGE);
    }
}
