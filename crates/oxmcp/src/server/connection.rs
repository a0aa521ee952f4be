//! One server connection: resolves each request's era and routes it.
//!
//! A request whose `_meta` names a protocol version is modern and stands alone; anything
//! else belongs to the legacy session that `initialize` opened on this connection. Both
//! kinds may arrive on the same connection.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use oxmcp_protocol::jsonrpc::{ErrorObject, ProgressToken};
use oxmcp_protocol::lifecycle::InitializeRequestParams;
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::ProtocolVersion;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::context::{ClientRef, Context, ContextParts};
use super::extract::ToolCall;
use super::service::Server;
use super::session::LegacySession;
use crate::rpc::{Dispatch, Handler, NotificationCx, Reply, RequestCx};

/// Methods a client may call on a server in some revision.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
];

/// Methods that exist only in the legacy revisions.
const LEGACY_ONLY: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Methods that exist only in the modern revisions.
const MODERN_ONLY: &[&str] = &["server/discover", "subscriptions/listen"];

pub(crate) struct Connection {
    server: Arc<Server>,
    legacy: OnceLock<Arc<LegacySession>>,
}

/// The reserved `_meta` keys of a request, borrowed from its params.
#[derive(Deserialize, Default)]
struct MetaPeek<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    client_capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    client_info: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    log_level: Option<LoggingLevel>,
    #[serde(rename = "progressToken", default)]
    progress_token: Option<ProgressToken>,
}

#[derive(Deserialize, Default)]
struct ParamsPeek<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaPeek<'a>>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

/// The era-resolved facts about one request.
pub(crate) struct Env {
    pub(crate) version: ProtocolVersion,
    client: ClientRef,
    progress_token: Option<ProgressToken>,
    log_level: Option<LoggingLevel>,
}

impl Connection {
    pub(crate) fn new(server: Arc<Server>) -> Self {
        Connection {
            server,
            legacy: OnceLock::new(),
        }
    }

    fn session(&self) -> Option<&Arc<LegacySession>> {
        self.legacy.get()
    }

    /// Works out which era and revision a request speaks, or why it cannot be served.
    fn resolve(&self, method: &str, params: Option<&RawValue>) -> Result<Env, ErrorObject> {
        let peek: ParamsPeek<'_> = match params {
            None => ParamsPeek::default(),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                ErrorObject::invalid_params(format!(
                    "invalid _meta: {}",
                    crate::rpc::frame::strip_position(&e)
                ))
            })?,
        };
        let meta = peek.meta.unwrap_or_default();
        if let Some(requested) = meta.protocol_version.as_deref() {
            let version = match ProtocolVersion::parse(requested) {
                Some(v) if v.is_modern() => v,
                _ => return Err(self.server.unsupported_version(requested)),
            };
            if LEGACY_ONLY.contains(&method) {
                return Err(
                    ErrorObject::method_not_found(method).with_data(serde_json::json!({
                        "reason": format!("{method} does not exist in protocol version {version}"),
                    })),
                );
            }
            let Some(capabilities) = meta.client_capabilities else {
                return Err(ErrorObject::invalid_params(
                    "missing _meta \"io.modelcontextprotocol/clientCapabilities\" (required from 2026-07-28 on)",
                ));
            };
            return Ok(Env {
                version,
                client: ClientRef::Request {
                    capabilities: Some(capabilities.to_owned()),
                    info: meta.client_info.map(RawValue::to_owned),
                },
                progress_token: meta.progress_token,
                log_level: meta.log_level,
            });
        }
        match self.session() {
            Some(session) => {
                if MODERN_ONLY.contains(&method) {
                    return Err(ErrorObject::invalid_params(format!(
                        "{method} needs _meta \"io.modelcontextprotocol/protocolVersion\" (this connection's legacy session speaks {})",
                        session.version
                    )));
                }
                Ok(Env {
                    version: session.version,
                    client: ClientRef::Session(session.clone()),
                    progress_token: meta.progress_token,
                    log_level: None,
                })
            }
            None if MODERN_ONLY.contains(&method) => Err(ErrorObject::invalid_params(format!(
                "{method} needs _meta \"io.modelcontextprotocol/protocolVersion\" and \"io.modelcontextprotocol/clientCapabilities\""
            ))),
            None => Err(ErrorObject::invalid_request(format!(
                "no session: send `initialize` first, or give the request _meta \"io.modelcontextprotocol/protocolVersion\" (supported: {})",
                self.server.supported_list()
            ))),
        }
    }

    fn initialize(&self, params: Option<&RawValue>) -> Reply {
        if let Some(session) = self.session() {
            return Err(ErrorObject::invalid_request(format!(
                "already initialized: this connection's session speaks {}; a second initialize changes nothing",
                session.version
            )));
        }
        let raw = params.map_or("{}", RawValue::get);
        let params: InitializeRequestParams = super::extract::decode_params(raw)?;
        let version = match ProtocolVersion::parse(&params.protocol_version) {
            Some(v) if v.is_legacy() => v,
            // Unknown or modern: offer the newest legacy revision, as the handshake expects.
            _ => ProtocolVersion::LATEST_LEGACY,
        };
        let session = LegacySession::new(version, params.capabilities, params.client_info);
        if self.legacy.set(Arc::new(session)).is_err() {
            return Err(ErrorObject::invalid_request("already initialized"));
        }
        tracing::debug!(%version, "legacy session initialized");
        Ok(self.server.initialize_result(version))
    }

    fn context(&self, env: Env, cx: RequestCx) -> Context {
        Context::new(ContextParts {
            request_id: cx.id,
            version: env.version,
            client: env.client,
            progress_token: env.progress_token,
            log_level: env.log_level,
            cancel: cx.cancel,
            outbound: cx.outbound,
            peer: cx.peer,
        })
    }

    fn call_tool(&self, env: Env, params: Option<&RawValue>, cx: RequestCx) -> Dispatch {
        let Some(raw) = params else {
            return Dispatch::Now(Err(ErrorObject::invalid_params(
                "tools/call needs params with a tool name",
            )));
        };
        let call: CallParams<'_> = match serde_json::from_str(raw.get()) {
            Ok(call) => call,
            Err(e) => {
                return Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                    "invalid tools/call params: {}",
                    crate::rpc::frame::strip_position(&e)
                ))))
            }
        };
        let Some(tool) = self.server.tool(&call.name) else {
            return Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                "unknown tool: {}",
                call.name
            ))));
        };
        if let Some(arguments) = call.arguments {
            if !arguments.get().trim_start().starts_with('{') {
                let error =
                    super::error::ToolError::invalid_arguments("arguments must be a JSON object");
                return Dispatch::Now(finish_call(
                    error.into_outcome(env.version),
                    env.version,
                    &self.server,
                ));
            }
        }
        let version = env.version;
        let tool_call = ToolCall {
            name: call.name.into_owned(),
            arguments: call.arguments.map(RawValue::to_owned),
            context: self.context(env, cx),
        };
        let future = tool.call(tool_call, &());
        let server = self.server.clone();
        Dispatch::Later(Box::pin(async move {
            finish_call(future.await, version, &server)
        }))
    }
}

fn finish_call(
    outcome: super::tool::ToolOutcome,
    version: ProtocolVersion,
    server: &Server,
) -> Reply {
    let mut result = outcome?;
    if version.is_modern() {
        result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
        if result.meta.is_none() {
            result.meta = Some(server.server_info_meta());
        }
    }
    serde_json::to_string(&result)
        .map_err(|e| ErrorObject::internal(format!("could not serialize the tool result: {e}")))
}

impl Handler for Connection {
    fn on_request(&self, method: &str, params: Option<&RawValue>, cx: RequestCx) -> Dispatch {
        if !KNOWN_METHODS.contains(&method) {
            return Dispatch::Now(Err(ErrorObject::method_not_found(method)));
        }
        if method == "initialize" {
            return Dispatch::Now(self.initialize(params));
        }
        let env = match self.resolve(method, params) {
            Ok(env) => env,
            Err(error) => return Dispatch::Now(Err(error)),
        };
        match method {
            "ping" => Dispatch::Now(Ok(self.server.empty_result(env.version))),
            "server/discover" => Dispatch::Now(Ok(self.server.discover_result())),
            "tools/list" => Dispatch::Now(self.server.list_tools(env.version, params)),
            "tools/call" => self.call_tool(env, params, cx),
            "logging/setLevel" => Dispatch::Now(set_level(&env, params)),
            _ => Dispatch::Now(Err(ErrorObject::method_not_found(method))),
        }
    }

    fn on_notification(&self, method: &str, _params: Option<&RawValue>, _cx: NotificationCx<'_>) {
        match method {
            "notifications/initialized" => match self.session() {
                Some(session) => session.mark_initialized(),
                None => tracing::debug!("notifications/initialized before initialize"),
            },
            other => tracing::trace!(method = other, "notification ignored"),
        }
    }

    fn accepts_batches(&self) -> bool {
        self.session()
            .is_some_and(|s| s.version.supports_batching())
    }

    fn null_unknown_ids(&self) -> bool {
        self.session()
            .is_some_and(|s| s.version <= ProtocolVersion::V2025_06_18)
    }
}

fn set_level(env: &Env, params: Option<&RawValue>) -> Reply {
    #[derive(Deserialize)]
    struct SetLevel {
        level: LoggingLevel,
    }
    let params: SetLevel = super::extract::decode_params(params.map_or("{}", RawValue::get))?;
    match &env.client {
        ClientRef::Session(session) => session.set_log_level(params.level),
        ClientRef::Request { .. } => {
            return Err(ErrorObject::method_not_found("logging/setLevel"));
        }
    }
    Ok("{}".to_owned())
}
