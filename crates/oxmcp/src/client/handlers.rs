//! What the client answers when the server asks it something (sampling, elicitation,
//! roots), and the callbacks that receive the server's notifications.
//!
//! The same handlers serve both eras: a legacy server sends real JSON-RPC requests
//! (`sampling/createMessage`, `elicitation/create`, `roots/list`), a modern one embeds them
//! as input requests in an `input_required` result. Either way the handler sees typed
//! params and returns a typed result.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use oxmcp_protocol::elicitation::{ElicitRequestParams, ElicitResult};
use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::logging::LoggingMessageNotificationParams;
use oxmcp_protocol::method;
use oxmcp_protocol::roots::{ListRootsResult, Root};
use oxmcp_protocol::sampling::{CreateMessageRequestParams, CreateMessageResult};
use oxmcp_protocol::ServerNotification;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::rpc::BoxFuture;

/// What a handler's future resolves to.
type HandlerResult<T> = Result<T, ErrorObject>;

type SamplingFn = dyn Fn(CreateMessageRequestParams) -> BoxFuture<HandlerResult<CreateMessageResult>>
    + Send
    + Sync;
type ElicitationFn =
    dyn Fn(ElicitRequestParams) -> BoxFuture<HandlerResult<ElicitResult>> + Send + Sync;
type RootsFn = dyn Fn() -> BoxFuture<HandlerResult<Vec<Root>>> + Send + Sync;
type NotificationFn = dyn Fn(ServerNotification) + Send + Sync;
type LogFn = dyn Fn(LoggingMessageNotificationParams) + Send + Sync;

/// The client's handlers; cheap to clone (each is shared).
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    sampling: Option<Arc<SamplingFn>>,
    elicitation: Option<Arc<ElicitationFn>>,
    roots: Option<Arc<RootsFn>>,
    notification: Option<Arc<NotificationFn>>,
    log: Option<Arc<LogFn>>,
}

/// Why a server question cannot be answered.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A method this client knows but has no handler for.
    NoHandler(&'static str),
    /// A method no client answers.
    UnknownMethod,
    /// The params do not decode.
    BadParams(serde_json::Error),
}

impl Handlers {
    pub(crate) fn set_sampling<F, Fut>(&mut self, f: F)
    where
        F: Fn(CreateMessageRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult<CreateMessageResult>> + Send + 'static,
    {
        self.sampling = Some(Arc::new(move |params| Box::pin(f(params))));
    }

    pub(crate) fn set_elicitation<F, Fut>(&mut self, f: F)
    where
        F: Fn(ElicitRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult<ElicitResult>> + Send + 'static,
    {
        self.elicitation = Some(Arc::new(move |params| Box::pin(f(params))));
    }

    pub(crate) fn set_roots<F, Fut>(&mut self, f: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult<Vec<Root>>> + Send + 'static,
    {
        self.roots = Some(Arc::new(move || Box::pin(f())));
    }

    pub(crate) fn set_notification(
        &mut self,
        f: impl Fn(ServerNotification) + Send + Sync + 'static,
    ) {
        self.notification = Some(Arc::new(f));
    }

    pub(crate) fn set_log(
        &mut self,
        f: impl Fn(LoggingMessageNotificationParams) + Send + Sync + 'static,
    ) {
        self.log = Some(Arc::new(f));
    }

    /// Starts answering one server question: a legacy server-to-client request, or one
    /// input request of a modern `input_required` result. The future resolves to the
    /// result object.
    pub(crate) fn answer(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<BoxFuture<HandlerResult<Value>>, Refusal> {
        match method {
            method::SAMPLING_CREATE_MESSAGE => {
                let handler = self
                    .sampling
                    .clone()
                    .ok_or(Refusal::NoHandler("sampling"))?;
                let params = decode(params)?;
                Ok(guarded("sampling", handler(params)))
            }
            method::ELICITATION_CREATE => {
                let handler = self
                    .elicitation
                    .clone()
                    .ok_or(Refusal::NoHandler("elicitation"))?;
                let params = decode(params)?;
                Ok(guarded("elicitation", handler(params)))
            }
            method::ROOTS_LIST => {
                let handler = self.roots.clone().ok_or(Refusal::NoHandler("roots"))?;
                let roots = handler();
                Ok(guarded("roots", async move {
                    roots.await.map(ListRootsResult::new)
                }))
            }
            _ => Err(Refusal::UnknownMethod),
        }
    }

    /// Hands a notification to the callbacks: log messages to the log callback (or to
    /// `tracing` when there is none), everything to the notification callback.
    pub(crate) fn notify(&self, notification: ServerNotification) {
        if let ServerNotification::LoggingMessage(params) = &notification {
            match &self.log {
                Some(log) => {
                    let params = params.clone();
                    shielded("log callback", || log(params));
                }
                None if self.notification.is_none() => tracing::info!(
                    target: "oxmcp::server_log",
                    level = %params.level,
                    logger = params.logger.as_deref(),
                    data = %params.data,
                    "server log message"
                ),
                None => {}
            }
        }
        match &self.notification {
            Some(callback) => shielded("notification callback", || callback(notification)),
            None => tracing::debug!(
                method = notification.method(),
                "notification from the server"
            ),
        }
    }
}

/// Decodes a question's params (absent params decode as `{}`).
fn decode<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<T, Refusal> {
    serde_json::from_str(params.map_or("{}", RawValue::get)).map_err(Refusal::BadParams)
}

/// Serializes a handler's result and turns a panic into an internal error, so a
/// question always gets an answer.
fn guarded<T: Serialize + Send + 'static>(
    what: &'static str,
    future: impl Future<Output = HandlerResult<T>> + Send + 'static,
) -> BoxFuture<HandlerResult<Value>> {
    Box::pin(async move {
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(Ok(result)) => serde_json::to_value(result).map_err(|e| {
                ErrorObject::internal(format!("the {what} result could not be encoded: {e}"))
            }),
            Ok(Err(error)) => Err(error),
            Err(panic) => {
                tracing::error!(
                    handler = what,
                    panic = panic_message(&panic),
                    "client handler panicked"
                );
                Err(ErrorObject::internal(format!(
                    "the client's {what} handler failed"
                )))
            }
        }
    })
}

/// Runs a notification callback; a panic is logged, not propagated into the reader.
fn shielded(what: &'static str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
        tracing::error!(
            callback = what,
            panic = panic_message(&panic),
            "client callback panicked"
        );
    }
}

fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handlers")
            .field("sampling", &self.sampling.is_some())
            .field("elicitation", &self.elicitation.is_some())
            .field("roots", &self.roots.is_some())
            .field("notification", &self.notification.is_some())
            .field("log", &self.log.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(v: Value) -> Box<RawValue> {
        RawValue::from_string(v.to_string()).unwrap()
    }

    #[tokio::test]
    async fn routes_each_method_and_refuses_the_rest() {
        let mut h = Handlers::default();
        assert!(matches!(
            h.answer("roots/list", None),
            Err(Refusal::NoHandler("roots"))
        ));
        h.set_roots(|| async { Ok(vec![Root::new("file:///a")]) });
        let v = h.answer("roots/list", None).ok().unwrap().await.unwrap();
        assert_eq!(v, json!({"roots": [{"uri": "file:///a"}]}));
        assert!(matches!(
            h.answer("tasks/get", None),
            Err(Refusal::UnknownMethod)
        ));
        h.set_elicitation(|_| async {
            Ok(ElicitResult::new(oxmcp_protocol::ElicitAction::Decline))
        });
        let bad = raw(json!({"mode": "voice", "message": "m"}));
        assert!(matches!(
            h.answer("elicitation/create", Some(&bad)),
            Err(Refusal::BadParams(_))
        ));
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_an_internal_error() {
        let mut h = Handlers::default();
        h.set_roots(|| async { panic!("boom") });
        let err = h
            .answer("roots/list", None)
            .ok()
            .unwrap()
            .await
            .unwrap_err();
        assert_eq!(err.code, -32603);
    }
}
