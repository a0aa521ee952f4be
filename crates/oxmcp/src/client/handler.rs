//! The client side of a connection: what it does with what the server sends.

use oxmcp_protocol::jsonrpc::ErrorObject;
use serde_json::value::RawValue;

use crate::rpc::{Dispatch, Handler, NotificationCx, RequestCx};

/// Answers server-to-client requests and receives notifications.
pub(crate) struct ClientHandler {}

impl ClientHandler {
    pub(crate) fn new() -> Self {
        ClientHandler {}
    }
}

impl Handler for ClientHandler {
    fn on_request(&self, method: &str, _params: Option<&RawValue>, _cx: RequestCx) -> Dispatch {
        match method {
            "ping" => Dispatch::Now(Ok("{}".to_owned())),
            other => Dispatch::Now(Err(ErrorObject::method_not_found(other))),
        }
    }

    fn on_notification(&self, method: &str, params: Option<&RawValue>, _cx: NotificationCx<'_>) {
        match method {
            "notifications/message" => {
                tracing::info!(target: "oxmcp::server_log", params = params.map(RawValue::get), "server log message");
            }
            other => tracing::debug!(method = other, "notification from the server"),
        }
    }
}
