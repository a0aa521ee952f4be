//! Streams of notifications: legacy `resources/subscribe` and modern
//! `subscriptions/listen`, and what a change sends on them.

use std::sync::Arc;

use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::subscriptions::SubscriptionFilter;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Connection;
use crate::rpc::{Dispatch, Outbound, RequestCx};
use crate::server::extract::decode_params;
use crate::server::reply::encode;

/// Which list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Tools,
    Resources,
    Prompts,
}

impl ListKind {
    fn method(self) -> &'static str {
        match self {
            ListKind::Tools => "notifications/tools/list_changed",
            ListKind::Resources => "notifications/resources/list_changed",
            ListKind::Prompts => "notifications/prompts/list_changed",
        }
    }

    fn wanted_by(self, filter: &SubscriptionFilter) -> bool {
        let flag = match self {
            ListKind::Tools => filter.tools_list_changed,
            ListKind::Resources => filter.resources_list_changed,
            ListKind::Prompts => filter.prompts_list_changed,
        };
        flag == Some(true)
    }
}

/// A modern `subscriptions/listen` stream open on this connection.
pub(super) struct Listener {
    id: RequestId,
    filter: SubscriptionFilter,
    outbound: Outbound,
}

impl Connection {
    /// `subscriptions/listen`: acknowledges, then streams matching notifications until the
    /// client cancels or its input ends (then the stream closes with a result).
    pub(super) fn listen(self: &Arc<Self>, params: Option<&RawValue>, cx: RequestCx) -> Dispatch {
        #[derive(Deserialize)]
        struct ListenParams {
            notifications: SubscriptionFilter,
        }
        let listen: ListenParams = match decode_params(params.map_or("{}", RawValue::get)) {
            Ok(listen) => listen,
            Err(e) => return Dispatch::Now(Err(e)),
        };
        let filter = listen.notifications;
        let id = cx.id.clone();
        let connection = self.clone();
        let outbound = cx.outbound.clone();
        Dispatch::Later(Box::pin(async move {
            let ack = serde_json::json!({
                "_meta": { oxmcp_protocol::meta::SUBSCRIPTION_ID: &id },
                "notifications": &filter,
            });
            let frame = crate::rpc::frame::encode_notification(
                "notifications/subscriptions/acknowledged",
                Some(&ack.to_string()),
            );
            outbound
                .send(frame)
                .await
                .map_err(|_| ErrorObject::internal("connection closed"))?;
            connection
                .listeners
                .lock()
                .expect("listeners lock")
                .push(Listener {
                    id: id.clone(),
                    filter,
                    outbound,
                });
            // Unregisters however the stream ends (cancelled: this future is dropped).
            let _guard = ListenerGuard {
                connection: &connection,
                id: &id,
            };
            connection.input_ended.cancelled().await;
            let mut meta = connection.shared.config().server_info_meta.clone();
            meta.insert(
                oxmcp_protocol::meta::SUBSCRIPTION_ID.to_owned(),
                serde_json::to_value(&id).unwrap_or_default(),
            );
            encode(&serde_json::json!({ "resultType": "complete", "_meta": meta }))
        }))
    }

    /// Tells this connection's client that a list changed.
    pub(crate) fn notify_list_changed(&self, kind: ListKind) {
        if let (Some(session), Some(out)) = (self.session(), self.default_out.get()) {
            if session.is_initialized() {
                out.send_detached(crate::rpc::frame::encode_notification(kind.method(), None));
            }
        }
        for listener in self.listeners.lock().expect("listeners lock").iter() {
            if kind.wanted_by(&listener.filter) {
                let params = serde_json::json!({ "_meta": { oxmcp_protocol::meta::SUBSCRIPTION_ID: &listener.id } });
                listener
                    .outbound
                    .send_detached(crate::rpc::frame::encode_notification(
                        kind.method(),
                        Some(&params.to_string()),
                    ));
            }
        }
    }

    /// Tells this connection's client that a resource it subscribed to changed.
    pub(crate) fn notify_resource_updated(&self, uri: &str) {
        let method = "notifications/resources/updated";
        if self
            .subscribed
            .lock()
            .expect("subscriptions lock")
            .contains(uri)
        {
            if let Some(out) = self.default_out.get() {
                let params = serde_json::json!({ "uri": uri });
                out.send_detached(crate::rpc::frame::encode_notification(
                    method,
                    Some(&params.to_string()),
                ));
            }
        }
        for listener in self.listeners.lock().expect("listeners lock").iter() {
            if listener
                .filter
                .resource_subscriptions
                .iter()
                .flatten()
                .any(|u| u == uri)
            {
                let params = serde_json::json!({
                    "_meta": { oxmcp_protocol::meta::SUBSCRIPTION_ID: &listener.id },
                    "uri": uri,
                });
                listener
                    .outbound
                    .send_detached(crate::rpc::frame::encode_notification(
                        method,
                        Some(&params.to_string()),
                    ));
            }
        }
    }
}

pub(super) struct ListenerGuard<'a> {
    connection: &'a Connection,
    id: &'a RequestId,
}

impl Drop for ListenerGuard<'_> {
    fn drop(&mut self) {
        self.connection
            .listeners
            .lock()
            .expect("listeners lock")
            .retain(|l| &l.id != self.id);
    }
}
