//! Subscriptions of 2026-07-28: one long-lived `subscriptions/listen` request carries
//! every notification the client asked for.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jsonrpc::RequestId;
use crate::message::TypedResultResponse;
use crate::meta::{self, Meta};
use crate::method;
use crate::result::ResultType;

/// The notifications a listener wants (in a request) or gets (in the acknowledgement).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubscriptionFilter {
    /// `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_list_changed: Option<bool>,
    /// `notifications/resources/updated` for these resource URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_subscriptions: Option<Vec<String>>,
}

impl SubscriptionFilter {
    /// Nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `toolsListChanged`.
    pub fn with_tools_list_changed(mut self, on: bool) -> Self {
        self.tools_list_changed = Some(on);
        self
    }

    /// Sets `promptsListChanged`.
    pub fn with_prompts_list_changed(mut self, on: bool) -> Self {
        self.prompts_list_changed = Some(on);
        self
    }

    /// Sets `resourcesListChanged`.
    pub fn with_resources_list_changed(mut self, on: bool) -> Self {
        self.resources_list_changed = Some(on);
        self
    }

    /// Sets `resourceSubscriptions`.
    pub fn with_resource_subscriptions(mut self, uris: Vec<String>) -> Self {
        self.resource_subscriptions = Some(uris);
        self
    }
}

/// Params of `subscriptions/listen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionsListenRequestParams {
    /// What to listen to.
    pub notifications: SubscriptionFilter,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl SubscriptionsListenRequestParams {
    /// Listens to `notifications`.
    pub fn new(notifications: SubscriptionFilter) -> Self {
        SubscriptionsListenRequestParams {
            notifications,
            meta: None,
        }
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// The result of `subscriptions/listen`, sent only when the server ends the
/// subscription gracefully. `_meta` carries the subscription id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubscriptionsListenResult {
    /// The result type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata: [`meta::SUBSCRIPTION_ID`] (required) and
    /// [`meta::SERVER_INFO`].
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl SubscriptionsListenResult {
    /// The end of subscription `subscription_id` (the id of the listen request).
    pub fn new(subscription_id: RequestId) -> Self {
        let mut m = Meta::new();
        let id = serde_json::to_value(subscription_id).unwrap_or(Value::Null);
        m.insert(meta::SUBSCRIPTION_ID.into(), id);
        SubscriptionsListenResult {
            result_type: Some(ResultType::Complete),
            meta: Some(m),
        }
    }

    /// The subscription id in `_meta`, if present and well-formed.
    pub fn subscription_id(&self) -> Option<RequestId> {
        let v = self.meta.as_ref()?.get(meta::SUBSCRIPTION_ID)?;
        serde_json::from_value(v.clone()).ok()
    }
}

/// Params of `notifications/subscriptions/acknowledged`: the first message on a listen
/// stream, telling which notifications the server will send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionsAcknowledgedNotificationParams {
    /// The notifications the server agreed to send.
    pub notifications: SubscriptionFilter,
    /// Reserved metadata: [`meta::SUBSCRIPTION_ID`].
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl SubscriptionsAcknowledgedNotificationParams {
    /// An acknowledgement.
    pub fn new(notifications: SubscriptionFilter) -> Self {
        SubscriptionsAcknowledgedNotificationParams {
            notifications,
            meta: None,
        }
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

request_message! {
    /// `subscriptions/listen`: opens a notification stream (2026-07-28).
    SubscriptionsListenRequest = method::SUBSCRIPTIONS_LISTEN, required SubscriptionsListenRequestParams
}

notification_message! {
    /// `notifications/subscriptions/acknowledged`: the server accepted a listen request
    /// (2026-07-28).
    SubscriptionsAcknowledgedNotification = method::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED, required SubscriptionsAcknowledgedNotificationParams
}

/// The response to `subscriptions/listen` (2026-07-28).
pub type SubscriptionsListenResultResponse = TypedResultResponse<SubscriptionsListenResult>;
