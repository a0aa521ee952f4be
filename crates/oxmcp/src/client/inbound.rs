//! The client side of a connection: what it does with what the server sends.

use std::sync::Arc;

use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::meta::SUBSCRIPTION_ID;
use oxmcp_protocol::ServerNotification;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::handlers::{Handlers, Refusal};
use super::subscription::Subscriptions;
use crate::rpc::{Dispatch, NotificationCx, RequestCx, Responder};

/// Answers server-to-client requests and routes notifications.
pub(crate) struct ClientHandler {
    handlers: Handlers,
    subscriptions: Arc<Subscriptions>,
    /// The client's cache, which change notifications make stale.
    cache: Option<super::ResponseCache>,
}

impl ClientHandler {
    pub(crate) fn new(
        handlers: Handlers,
        subscriptions: Arc<Subscriptions>,
        cache: Option<super::ResponseCache>,
    ) -> Self {
        ClientHandler {
            handlers,
            subscriptions,
            cache,
        }
    }
}

impl Responder for ClientHandler {
    type Eager<'a> = serde::de::IgnoredAny;

    fn on_request(&self, method: &str, params: Option<&RawValue>, _cx: RequestCx) -> Dispatch {
        if method == oxmcp_protocol::method::PING {
            return Dispatch::Now(Ok("{}".to_owned()));
        }
        match self.handlers.answer(method, params) {
            Ok(answer) => Dispatch::Later(Box::pin(async move {
                answer.await.map(|result| result.to_string())
            })),
            Err(Refusal::BadParams(e)) => Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                "invalid params for {method}: {}",
                crate::rpc::frame::strip_position(&e)
            )))),
            Err(Refusal::NoHandler(_) | Refusal::UnknownMethod) => {
                Dispatch::Now(Err(ErrorObject::method_not_found(method)))
            }
        }
    }

    fn on_notification(&self, method: &str, params: Option<&RawValue>, _cx: NotificationCx<'_>) {
        let notification = match typed(method, params) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(method, error = %e, "ignored a notification from the server");
                return;
            }
        };
        if let Some(cache) = &self.cache {
            cache.observe(&notification);
        }
        match subscription_id(params) {
            // A notification of a listen stream goes to its subscription; one of a stream
            // that has ended (its subscription dropped) is stale and dropped too.
            Some(id) => {
                if !self.subscriptions.deliver(&id, notification) {
                    tracing::debug!(method, subscription = %id, "notification for a closed subscription");
                }
            }
            None => self.handlers.notify(notification),
        }
    }
}

/// Types a notification by its method.
fn typed(method: &str, params: Option<&RawValue>) -> Result<ServerNotification, serde_json::Error> {
    let method = serde_json::to_string(method)?;
    let text = match params {
        Some(params) => format!(r#"{{"method":{method},"params":{}}}"#, params.get()),
        None => format!(r#"{{"method":{method}}}"#),
    };
    serde_json::from_str(&text)
}

/// The subscription id in `params._meta`, if the notification carries one.
fn subscription_id(params: Option<&RawValue>) -> Option<RequestId> {
    #[derive(Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<Meta>,
    }
    #[derive(Deserialize)]
    struct Meta {
        #[serde(rename = "io.modelcontextprotocol/subscriptionId")]
        subscription_id: Option<RequestId>,
    }
    debug_assert_eq!(SUBSCRIPTION_ID, "io.modelcontextprotocol/subscriptionId");
    let params: Params = serde_json::from_str(params?.get()).ok()?;
    params.meta?.subscription_id
}
