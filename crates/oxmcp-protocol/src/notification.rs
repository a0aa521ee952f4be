//! Notifications shared by several features: progress, cancellation, resource updates
//! and the list-changed family.

use serde::{Deserialize, Serialize};

use crate::jsonrpc::{ProgressToken, RequestId};
use crate::meta::Meta;
use crate::method;

/// Params that carry nothing but `_meta` (the list-changed notifications, ...).
///
/// On a 2026-07-28 `subscriptions/listen` stream, `_meta` carries the subscription id
/// under [`meta::SUBSCRIPTION_ID`](crate::meta::SUBSCRIPTION_ID).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationParams {
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl NotificationParams {
    /// `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProgressNotificationParams {
    /// The token the request gave in its `_meta.progressToken`.
    pub progress_token: ProgressToken,
    /// Progress so far; increases with every notification.
    #[serde(serialize_with = "crate::serde_util::f64_js")]
    pub progress: f64,
    /// The total, if known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_f64_js"
    )]
    pub total: Option<f64>,
    /// A human-readable status (2025-03-26 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ProgressNotificationParams {
    /// Progress of the request that gave `progress_token`.
    pub fn new(progress_token: impl Into<ProgressToken>, progress: f64) -> Self {
        ProgressNotificationParams {
            progress_token: progress_token.into(),
            progress,
            total: None,
            message: None,
            meta: None,
        }
    }

    /// Sets `total`.
    pub fn with_total(mut self, total: f64) -> Self {
        self.total = Some(total);
        self
    }

    /// Sets `message`.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CancelledNotificationParams {
    /// The id of the request to cancel (required in every revision but 2025-11-25,
    /// where a task is cancelled with `tasks/cancel` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Why, for logs or display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl CancelledNotificationParams {
    /// Cancels request `request_id`.
    pub fn new(request_id: impl Into<RequestId>) -> Self {
        CancelledNotificationParams {
            request_id: Some(request_id.into()),
            reason: None,
            meta: None,
        }
    }

    /// Sets `reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of `notifications/resources/updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceUpdatedNotificationParams {
    /// The URI of the resource that changed (maybe a sub-resource of the one subscribed).
    pub uri: String,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ResourceUpdatedNotificationParams {
    /// Resource `uri` changed.
    pub fn new(uri: impl Into<String>) -> Self {
        ResourceUpdatedNotificationParams {
            uri: uri.into(),
            meta: None,
        }
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

notification_message! {
    /// `notifications/cancelled`: the sender no longer wants the result of a request.
    CancelledNotification = method::NOTIFICATION_CANCELLED, required CancelledNotificationParams
}

notification_message! {
    /// `notifications/progress`: progress of a long-running request.
    ProgressNotification = method::NOTIFICATION_PROGRESS, required ProgressNotificationParams
}

notification_message! {
    /// `notifications/resources/updated`: a subscribed resource changed.
    ResourceUpdatedNotification = method::NOTIFICATION_RESOURCES_UPDATED, required ResourceUpdatedNotificationParams
}

notification_message! {
    /// `notifications/resources/list_changed`: the server's resource list changed.
    ResourceListChangedNotification = method::NOTIFICATION_RESOURCES_LIST_CHANGED, optional NotificationParams
}

notification_message! {
    /// `notifications/prompts/list_changed`: the server's prompt list changed.
    PromptListChangedNotification = method::NOTIFICATION_PROMPTS_LIST_CHANGED, optional NotificationParams
}

notification_message! {
    /// `notifications/tools/list_changed`: the server's tool list changed.
    ToolListChangedNotification = method::NOTIFICATION_TOOLS_LIST_CHANGED, optional NotificationParams
}

notification_message! {
    /// `notifications/roots/list_changed`: the client's roots changed (2025-11-25 and older).
    RootsListChangedNotification = method::NOTIFICATION_ROOTS_LIST_CHANGED, optional NotificationParams
}
