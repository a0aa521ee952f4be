//! [`ConnectionHandler`]: what the rpc engine drives for a connection. It applies the
//! router's limits, then hands each request to the [`Connection`] (eagerly read params to
//! `call_read`, the others to the layers or `route`), and answers the engine's questions
//! about the connection (batching, its era, how it is carried).

use super::*;

/// The per-connection handler the engine drives.
pub(crate) struct ConnectionHandler(pub(crate) Arc<Connection>);

impl ConnectionHandler {
    /// A request within the router's limits: its client's rate, the concurrency bounds,
    /// the request timeout.
    fn limited(&self, method: &str, dispatch: impl FnOnce() -> Dispatch) -> Dispatch {
        let limits = &self.0.shared.config().limits;
        let connection = &self.0;
        let client = limits.per_client().then(|| {
            crate::server::limits::client_key(
                connection.session().map(|_| connection.id),
                connection.id,
            )
        });
        if let Err(error) = limits.admit(client.as_ref()) {
            return Dispatch::Now(Err(error));
        }
        limits.apply(dispatch(), method, client)
    }
}

impl Responder for ConnectionHandler {
    type Eager<'a> = CallParams<'a>;

    fn eager(&self, method: &str) -> bool {
        // Requests that pass through the router's layers keep their params raw: the
        // layers see them.
        matches!(method, "tools/call" | "prompts/get") && self.0.shared.config().layers.is_none()
    }

    fn on_eager_request(
        &self,
        method: &str,
        params: &mut CallParams<'_>,
        cx: RequestCx,
    ) -> Dispatch {
        self.limited(method, || {
            self.0.call_read(method, params, cx, initial_extensions())
        })
    }

    fn on_request(&self, method: &str, params: Option<&RawValue>, cx: RequestCx) -> Dispatch {
        self.limited(method, || match &self.0.shared.config().layers {
            Some(layers) => self.0.layered(layers, method, params, cx),
            None => self.0.route(method, params, cx, initial_extensions()),
        })
    }

    fn on_notification(&self, method: &str, _params: Option<&RawValue>, _cx: NotificationCx<'_>) {
        match method {
            "notifications/initialized" => match self.0.session() {
                Some(session) => session.mark_initialized(),
                None => tracing::debug!("notifications/initialized before initialize"),
            },
            other => tracing::trace!(method = other, "notification ignored"),
        }
    }

    fn attach(&self, outbound: &Outbound) {
        let _ = self.0.default_out.set(outbound.clone());
    }

    fn on_input_end(&self) {
        self.0.input_ended.cancel();
    }

    fn accepts_batches(&self) -> bool {
        self.0
            .session()
            .is_some_and(|s| s.version.supports_batching())
    }

    fn null_unknown_ids(&self) -> bool {
        self.0
            .session()
            .is_some_and(|s| s.version <= ProtocolVersion::V2025_06_18)
    }

    #[cfg(feature = "otel")]
    fn facts(&self, params: Option<&RawValue>) -> crate::otel::Facts {
        self.facts_with(self.0.peek_version(params))
    }

    #[cfg(feature = "otel")]
    fn eager_span(
        &self,
        method: &str,
        id: &oxmcp_protocol::jsonrpc::RequestId,
        params: &CallParams<'_>,
    ) -> tracing::Span {
        let meta = params.meta.as_ref();
        let version = self
            .0
            .version_named(meta.and_then(|m| m.protocol_version.as_deref()));
        let trace = (
            meta.and_then(|m| m.traceparent.as_deref()),
            meta.and_then(|m| m.tracestate.as_deref()),
        );
        crate::otel::receive_named(method, id, &params.name, trace, self.facts_with(version))
    }
}

impl ConnectionHandler {
    /// What the spans say of this connection, with the request's protocol `version`.
    #[cfg(feature = "otel")]
    fn facts_with(&self, version: Option<ProtocolVersion>) -> crate::otel::Facts {
        let wire = self.0.wire.get();
        crate::otel::Facts {
            version,
            session: wire.and_then(|(_, session)| session.clone()),
            transport: Some(wire.map_or("pipe", |(transport, _)| transport)),
        }
    }

    /// Tells the spans how this connection is carried (`network.transport`, without it
    /// `pipe`) and its session id (feature `otel`; nothing otherwise).
    #[cfg_attr(not(feature = "http-server"), allow(dead_code))]
    pub(crate) fn describe(
        &self,
        transport: &'static str,
        session: Option<&dyn std::fmt::Display>,
    ) {
        #[cfg(feature = "otel")]
        let _ = self
            .0
            .wire
            .set((transport, session.map(ToString::to_string)));
        #[cfg(not(feature = "otel"))]
        let _ = (transport, session);
    }
}
