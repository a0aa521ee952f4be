//! The router's layers and an item's layers around a request (see
//! [`middleware`](crate::server::middleware)): only routers that have layers come here.

use std::sync::Arc;

use futures_util::FutureExt as _;

use oxmcp_protocol::ProtocolVersion;
use serde_json::value::RawValue;

use super::params::ParamsPeek;
use super::Connection;
use crate::rpc::{Dispatch, Reply, RequestCx};
use crate::server::ask::salient;
use crate::server::context::Context;
use crate::server::middleware::{Endpoint, McpRequest, McpResponse, Next};
use crate::server::reply::finish_tool;

impl Connection {
    /// A request that passes through the router's layers: they see it first, and what
    /// they let through is routed as usual. Everything runs in the request's task.
    pub(super) fn layered(
        self: &Arc<Self>,
        layers: &Endpoint,
        method: &str,
        params: Option<&RawValue>,
        mut cx: RequestCx,
    ) -> Dispatch {
        let version = self.peek_version(params);
        let cancel = Arc::new(crate::rpc::RequestCancel::default());
        cx.cancel = Some(cancel.clone());
        let id = cx.id.clone();
        let this = self.clone();
        let owned = method.to_owned();
        let next: Next = Box::new(move |params, extensions| {
            match this.route(&owned, params.as_deref(), cx, extensions) {
                Dispatch::Now(reply) => {
                    Box::pin(std::future::ready(McpResponse::from_reply(reply)))
                }
                Dispatch::Later(future) | Dispatch::LaterWith(future, _) => {
                    Box::pin(future.map(McpResponse::from_reply))
                }
            }
        });
        let request = McpRequest::new(
            method,
            id,
            params.map(RawValue::to_owned),
            version,
            super::initial_extensions(),
            next,
        );
        let failure: Option<ToolFailure> = (method == "tools/call").then(|| {
            let shared = self.shared.clone();
            let version = version.unwrap_or(ProtocolVersion::LATEST_LEGACY);
            Box::new(move |e: crate::server::ToolError| {
                finish_tool(Some(&shared), e.into_outcome(version), version)
            }) as ToolFailure
        });
        Dispatch::LaterWith(layers.run(request, failure), cancel)
    }

    /// The revision a request speaks, as far as can be told before it is routed.
    pub(super) fn peek_version(&self, params: Option<&RawValue>) -> Option<ProtocolVersion> {
        let peek = params.and_then(|raw| serde_json::from_str::<ParamsPeek<'_>>(raw.get()).ok());
        self.version_named(
            peek.as_ref()
                .and_then(|peek| peek.meta.as_ref())
                .and_then(|meta| meta.protocol_version.as_deref()),
        )
    }

    /// The revision a request speaks: the one its `_meta` names, else its session's.
    pub(super) fn version_named(&self, named: Option<&str>) -> Option<ProtocolVersion> {
        named
            .and_then(ProtocolVersion::parse)
            .or_else(|| self.session().map(|s| s.version))
    }
}

/// Makes a tool call's failure in a layer into its reply.
pub(super) type ToolFailure = Box<dyn Fn(crate::server::ToolError) -> Reply + Send>;

/// A request for one tool, prompt or resource that passes through that item's layers: the
/// handler's future (not started yet) runs when they let it through, with the extensions
/// as they left them.
pub(super) fn item_layers(
    layers: &Endpoint,
    method: &'static str,
    context: &Context,
    dispatch: Dispatch,
    failure: Option<ToolFailure>,
) -> Dispatch {
    let (future, cancel) = match dispatch {
        Dispatch::Now(reply) => return Dispatch::Now(reply),
        Dispatch::Later(future) => (future, None),
        Dispatch::LaterWith(future, cancel) => (future, Some(cancel)),
    };
    let params = salient(context.target(), context.arguments());
    let mut extensions = context.take_extensions();
    if let Some(cancel) = &cancel {
        // For a `Timeout` layer, which tells the handler it was cancelled.
        extensions.insert(crate::server::limits::HandlerCancel(Arc::downgrade(cancel)));
    }
    let handler_context = context.clone();
    let next: Next = Box::new(move |_, extensions| {
        handler_context.set_extensions(extensions);
        Box::pin(future.map(McpResponse::from_reply))
    });
    let request = McpRequest::new(
        method,
        context.request_id().clone(),
        params,
        Some(context.protocol_version()),
        extensions,
        next,
    );
    let future = layers.run(request, failure);
    match cancel {
        Some(cancel) => Dispatch::LaterWith(future, cancel),
        None => Dispatch::Later(future),
    }
}
