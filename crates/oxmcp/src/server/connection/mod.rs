//! One server connection: resolves each request's era and routes it.
//!
//! A request whose `_meta` names a protocol version is modern and stands alone; anything
//! else belongs to the legacy session that `initialize` opened on this connection. Both
//! kinds may arrive on the same connection.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use oxmcp_protocol::error::echo;
use oxmcp_protocol::jsonrpc::{ErrorObject, ProgressToken};
use oxmcp_protocol::lifecycle::InitializeRequestParams;
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::ProtocolVersion;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

mod handler;
mod layers;
mod listen;
pub(crate) mod params;
mod resources;

use super::reply::{drive, encode, encode_with_meta, finish_tool};
pub(crate) use handler::ConnectionHandler;
use layers::item_layers;
pub(crate) use listen::ListKind;
use listen::Listener;
use params::{CallParams, CursorParams, MetaPeek, ParamsPeek};

use super::context::{Aim, ClientRef, Context, ContextParts};
use super::extract::{decode_params, Request, Target};
use super::handler::{ErasedHandler, Finish, FinishCx};
use super::session::LegacySession;
use super::shared::Shared;
use crate::rpc::{Dispatch, NotificationCx, Outbound, Reply, RequestCx, Responder};

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

/// Whether the protocol defines `method` (in some revision): an extension may not add it.
pub(crate) fn is_core_method(method: &str) -> bool {
    KNOWN_METHODS.contains(&method)
}

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

/// The id of the next connection.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(crate) struct Connection {
    shared: Arc<Shared>,
    legacy: OnceLock<Arc<LegacySession>>,
    /// Where notifications that belong to no request go (the stdio writer).
    default_out: OnceLock<Outbound>,
    /// Legacy `resources/subscribe` URIs.
    subscribed: Mutex<HashSet<String>>,
    listeners: Mutex<Vec<Listener>>,
    /// Fires when the client's input ends: open listen streams close gracefully.
    input_ended: CancellationToken,
    /// Unique in the process: whose tasks a request without a requester may see.
    id: u64,
    /// How the connection is carried, for the spans: `network.transport` and the session id.
    #[cfg(feature = "otel")]
    wire: OnceLock<(&'static str, Option<String>)>,
    /// Lasts as long as the legacy session (its duration, for the metrics).
    #[cfg(feature = "otel")]
    session_span: OnceLock<tracing::Span>,
}

/// The era-resolved facts about one request.
pub(crate) struct Env {
    pub(crate) version: ProtocolVersion,
    client: ClientRef,
    progress_token: Option<ProgressToken>,
    log_level: Option<LoggingLevel>,
    /// What the router's layers attached to the request.
    extensions: http::Extensions,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        let connection = Arc::new(Connection {
            shared: shared.clone(),
            legacy: OnceLock::new(),
            default_out: OnceLock::new(),
            subscribed: Mutex::default(),
            listeners: Mutex::default(),
            input_ended: CancellationToken::new(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            #[cfg(feature = "otel")]
            wire: OnceLock::new(),
            #[cfg(feature = "otel")]
            session_span: OnceLock::new(),
        });
        shared.register(&connection);
        connection
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
        self.resolve_meta(method, peek.meta.unwrap_or_default())
    }

    /// [`Connection::resolve`], from the request's reserved `_meta` keys.
    fn resolve_meta(&self, method: &str, meta: MetaPeek<'_>) -> Result<Env, ErrorObject> {
        let config = self.shared.config();
        if let Some(requested) = meta.protocol_version.as_deref() {
            let version = match ProtocolVersion::parse(requested) {
                Some(v) if v.is_modern() => v,
                _ => return Err(config.unsupported_version(requested)),
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
                extensions: http::Extensions::new(),
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
                    extensions: http::Extensions::new(),
                })
            }
            None if MODERN_ONLY.contains(&method) => Err(ErrorObject::invalid_params(format!(
                "{method} needs _meta \"io.modelcontextprotocol/protocolVersion\" and \"io.modelcontextprotocol/clientCapabilities\""
            ))),
            None => Err(ErrorObject::invalid_request(format!(
                "no session: send `initialize` first, or give the request _meta \"io.modelcontextprotocol/protocolVersion\" (supported: {})",
                config.supported_list()
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
        let params: InitializeRequestParams = decode_params(params.map_or("{}", RawValue::get))?;
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
        #[cfg(feature = "otel")]
        let _ = self.session_span.set(crate::otel::session(
            true,
            version,
            Some(self.wire.get().map_or("pipe", |(transport, _)| transport)),
        ));
        Ok(self.shared.config().initialize_result(version))
    }

    /// The context of a request for `target`; `method` names the kind of request, whose
    /// modern form may ask questions in rounds.
    fn context(
        &self,
        env: Env,
        cx: RequestCx,
        method: &'static str,
        target: impl Into<Aim>,
        arguments: Option<&RawValue>,
    ) -> Context {
        let mrtr = env.version.is_modern().then(|| super::context::Mrtr {
            shared: self.shared.clone(),
            method,
        });
        let mut env = env;
        self.scope(&mut env);
        self.context_with(env, cx, mrtr, target, arguments)
    }

    /// With tasks, says which connection a request came on: whose tasks it may see
    /// when no layer named the requester.
    fn scope(&self, env: &mut Env) {
        if self.shared.config().tasks.is_some() {
            env.extensions
                .insert(super::tasks::ConnectionScope(self.id));
        }
    }

    /// The context of a request; `mrtr` says how a modern one may ask questions (`None`:
    /// it may not).
    fn context_with(
        &self,
        env: Env,
        cx: RequestCx,
        mrtr: Option<super::context::Mrtr>,
        target: impl Into<Aim>,
        arguments: Option<&RawValue>,
    ) -> Context {
        Context::new(ContextParts {
            extensions: env.extensions,
            cancel: cx.cancel,
            target: target.into(),
            arguments: arguments.map(RawValue::to_owned),
            mrtr,
            request_id: cx.id,
            version: env.version,
            client: env.client,
            progress_token: env.progress_token,
            log_level: env.log_level,
            outbound: cx.outbound,
            peer: cx.peer,
            question_timeout: self.shared.config().limits.question_timeout(),
        })
    }

    /// MRTR hook: every handler run (tools, prompts, resources) goes through here, with the
    /// raw params of its request (which carry `inputResponses` and `requestState`).
    ///
    /// A modern request runs in a round of questions: when the handler asks the client
    /// something the round has no answer to, the request ends with an `InputRequiredResult`
    /// instead of `finish`ing.
    fn run_handler<O: Send + 'static>(
        &self,
        handler: &Arc<dyn ErasedHandler<(), O>>,
        request: Request,
        method: &'static str,
        retry: super::ask::Retry<'_>,
        finish: impl FnOnce(Result<O, super::ToolError>) -> Reply + Send + 'static,
    ) -> Dispatch {
        let cancel = request.context.cancel_source();
        if request.context.protocol_version().is_legacy() {
            let future = handler.call(request, &());
            return Dispatch::LaterWith(Box::pin(async move { finish(future.await) }), cancel);
        }
        if let Err(error) = self.open_retry(&request, method, retry) {
            return Dispatch::Now(Err(error));
        }
        let context = request.context.clone();
        let future = handler.call(request, &());
        let shared = self.shared.clone();
        Dispatch::LaterWith(
            Box::pin(async move {
                match drive(&context, future).await {
                    super::ask::Driven::Done(outcome) => finish(outcome),
                    super::ask::Driven::InputRequired(result) => encode_with_meta(&result, &shared),
                }
            }),
            cancel,
        )
    }

    /// A modern retry carries the state of the rounds before: its round opens now. (A first
    /// round opens with the handler's first question, if it asks any.)
    fn open_retry(
        &self,
        request: &Request,
        method: &'static str,
        retry: super::ask::Retry<'_>,
    ) -> Result<(), ErrorObject> {
        if retry.input_responses.is_some() || retry.request_state.is_some() {
            let sealer = self.shared.config().sealer.clone();
            let context = &request.context;
            let round = super::ask::Round::start(
                sealer,
                method,
                retry,
                context.target(),
                context.arguments(),
            )?;
            context.set_round(Arc::new(round));
        }
        Ok(())
    }

    /// [`Connection::run_handler`] for a tool: the handler and the making of its result
    /// share one boxed future.
    fn run_tool(
        &self,
        tool: &Arc<dyn ErasedHandler<(), oxmcp_protocol::tools::CallToolResult>>,
        request: Request,
        retry: super::ask::Retry<'_>,
    ) -> Dispatch {
        let context = &request.context;
        let version = context.protocol_version();
        let modern = version.is_modern();
        if modern {
            if let Err(error) = self.open_retry(&request, "tools/call", retry) {
                return Dispatch::Now(Err(error));
            }
        }
        let cancel = context.cancel_source();
        let admitted = match tool.task_support() {
            Some(support) if modern => match super::tasks::admit(&self.shared, support, context) {
                Ok(runtime) => runtime.map(|runtime| (runtime, context.clone())),
                Err(error) => return Dispatch::Now(Err(error)),
            },
            _ => None,
        };
        let finish = Finish {
            run: tool_reply,
            text: Some(text_reply),
            cx: FinishCx {
                version,
                drive: modern.then(|| context.clone()),
            },
        };
        let call = tool.call_finish(request, &(), finish);
        match admitted {
            Some((runtime, context)) => {
                Dispatch::LaterWith(runtime.escalate(context, call), cancel)
            }
            None => Dispatch::LaterWith(call, cancel),
        }
    }

    /// `tools/call` and `prompts/get` with raw params (their params were not read with the
    /// message: they do not fit, or came before the method). Well-formed params are read in
    /// one pass; otherwise the era is resolved first, so a request that cannot be served
    /// says why before its params are faulted.
    fn call(
        &self,
        method: &str,
        params: Option<&RawValue>,
        cx: RequestCx,
        extensions: http::Extensions,
    ) -> Dispatch {
        let json = params.map_or("{}", RawValue::get);
        match serde_json::from_str::<CallParams<'_>>(json) {
            Ok(mut call) => self.call_read(method, &mut call, cx, extensions),
            Err(_) => {
                if let Err(error) = self.resolve(method, params) {
                    return Dispatch::Now(Err(error));
                }
                Dispatch::Now(
                    decode_params::<CallParams<'_>>(json).and_then(|_| {
                        Err(ErrorObject::invalid_params("invalid params".to_owned()))
                    }),
                )
            }
        }
    }

    /// `tools/call` and `prompts/get`, their params read.
    fn call_read(
        &self,
        method: &str,
        call: &mut CallParams<'_>,
        cx: RequestCx,
        extensions: http::Extensions,
    ) -> Dispatch {
        let mut env = match self.resolve_meta(method, call.meta.take().unwrap_or_default()) {
            Ok(env) => env,
            Err(error) => return Dispatch::Now(Err(error)),
        };
        env.extensions = extensions;
        if method == "tools/call" {
            self.call_tool(env, call, cx)
        } else {
            self.get_prompt(env, call, cx)
        }
    }

    fn list(&self, method: &str, env: &Env, params: Option<&RawValue>) -> Reply {
        let cursor = match params {
            Some(raw) => decode_params::<CursorParams>(raw.get())?.cursor,
            None => None,
        };
        let config = self.shared.config();
        let modern = env.version.is_modern();
        let cursor = cursor.as_deref();
        // A caller the transport authenticated sees only what it may use.
        #[cfg(feature = "auth")]
        if crate::server::auth::filters_lists(&env.extensions) {
            let client_apps = method == "tools/list"
                && crate::server::apps::client_supports(&env.client.capabilities());
            return crate::server::auth::list_usable(
                &self.shared,
                method,
                &env.extensions,
                modern,
                cursor,
                client_apps,
            );
        }
        match method {
            "tools/list" => {
                let tools = self.shared.tools.snapshot();
                // Tools linked to MCP Apps degrade for a client without the extension.
                match tools.plain_pages("tools", &config.tools_shape) {
                    Some(plain)
                        if !crate::server::apps::client_supports(&env.client.capabilities()) =>
                    {
                        crate::server::registry::page_of(plain, modern, cursor)
                    }
                    _ => tools.list("tools", &config.tools_shape, modern, cursor),
                }
            }
            "resources/list" => self.shared.resources.snapshot().list(
                "resources",
                &config.resources_shape,
                modern,
                cursor,
            ),
            "resources/templates/list" => self.shared.templates.snapshot().list(
                "resourceTemplates",
                &config.resources_shape,
                modern,
                cursor,
            ),
            _ => self.shared.prompts.snapshot().list(
                "prompts",
                &config.prompts_shape,
                modern,
                cursor,
            ),
        }
    }

    fn call_tool(&self, env: Env, call: &CallParams<'_>, cx: RequestCx) -> Dispatch {
        // The handler is used where it is registered: its future is made under the
        // registry's read lock, and holds what it needs.
        let started = self.shared.tools.read(&call.name, |name, tool| {
            let version = env.version;
            // A tool only an app may call is not there for a client without apps.
            if tool.app.as_ref().is_some_and(|app| app.app_only)
                && !crate::server::apps::client_supports(&env.client.capabilities())
            {
                return Dispatch::Now(Err(crate::server::apps::app_only_refusal(&call.name)));
            }
            if let Err(error) = self.permits(&env, tool.entry.scopes(), Scoped::Tool(&call.name)) {
                return Dispatch::Now(Err(error));
            }
            if let Some(arguments) = call.arguments {
                if !arguments.get().trim_start().starts_with('{') {
                    let error =
                        super::ToolError::invalid_arguments("arguments must be a JSON object");
                    return Dispatch::Now(self.finish_tool(error.into_outcome(version), version));
                }
            }
            let preset;
            let arguments = match tool.entry.preset() {
                Some(fixed) => {
                    preset = crate::server::compose::with_preset(call.arguments, fixed);
                    Some(&*preset)
                }
                None => call.arguments,
            };
            let retry = call.retry();
            let target = Aim::Tool(name.clone());
            let request = Request {
                context: self.context(env, cx, "tools/call", target, arguments),
            };
            let Some(layers) = tool.entry.layers() else {
                return self.run_tool(&tool.entry, request, retry);
            };
            let context = request.context.clone();
            let dispatch = self.run_tool(&tool.entry, request, retry);
            let shared = self.shared.clone();
            let failure = move |e: super::ToolError| {
                finish_tool(Some(&shared), e.into_outcome(version), version)
            };
            item_layers(
                layers,
                "tools/call",
                &context,
                dispatch,
                Some(Box::new(failure)),
            )
        });
        started.unwrap_or_else(|| {
            Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                "unknown tool: {}",
                echo(&call.name)
            ))))
        })
    }

    fn finish_tool(
        &self,
        outcome: Result<oxmcp_protocol::tools::CallToolResult, ErrorObject>,
        version: ProtocolVersion,
    ) -> Reply {
        finish_tool(Some(&self.shared), outcome, version)
    }

    fn get_prompt(&self, env: Env, get: &CallParams<'_>, cx: RequestCx) -> Dispatch {
        let Some(prompt) = self.shared.prompts.get(&get.name) else {
            return Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                "unknown prompt: {}",
                echo(&get.name)
            ))));
        };
        if let Err(error) = self.permits(&env, prompt.handler.scopes(), Scoped::Prompt(&get.name)) {
            return Dispatch::Now(Err(error));
        }
        let version = env.version;
        let retry = get.retry();
        let target = Target::Prompt(get.name.clone().into_owned());
        let request = Request {
            context: self.context(env, cx, "prompts/get", target, get.arguments),
        };
        let layered = prompt
            .handler
            .layers()
            .map(|layers| (layers.clone(), request.context.clone()));
        let shared = self.shared.clone();
        let dispatch = self.run_handler(
            &prompt.handler,
            request,
            "prompts/get",
            retry,
            move |outcome| {
                let mut result = outcome.map_err(|e| e.into_error_object(version))?;
                if version.is_modern() {
                    result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
                    if result.meta.is_none() {
                        return encode_with_meta(&result, &shared);
                    }
                }
                encode(&result)
            },
        );
        match layered {
            Some((layers, context)) => {
                item_layers(&layers, "prompts/get", &context, dispatch, None)
            }
            None => dispatch,
        }
    }

    /// Routes a request to what answers it; `extensions` are what the router's layers
    /// attached to it.
    fn route(
        self: &Arc<Self>,
        method: &str,
        params: Option<&RawValue>,
        cx: RequestCx,
        extensions: http::Extensions,
    ) -> Dispatch {
        let this = self;
        if !KNOWN_METHODS.contains(&method) {
            return this.extension_method(method, params, cx, extensions);
        }
        // `initialize` opens a legacy session, unless the request speaks a modern revision
        // (its `_meta` names one): there the method does not exist.
        if method == "initialize" && !names_modern_version(params) {
            return Dispatch::Now(this.initialize(params));
        }
        if matches!(method, "tools/call" | "prompts/get") {
            return this.call(method, params, cx, extensions);
        }
        // A ping is answered before initialization too (the lifecycle allows it).
        if method == "ping" && this.session().is_none() && !names_modern_version(params) {
            return Dispatch::Now(Ok("{}".to_owned()));
        }
        let mut env = match this.resolve(method, params) {
            Ok(env) => env,
            Err(error) => return Dispatch::Now(Err(error)),
        };
        env.extensions = extensions;
        let config = this.shared.config();
        match method {
            "ping" => Dispatch::Now(Ok(config.empty_result(env.version))),
            "server/discover" => Dispatch::Now(Ok(config.discover_result())),
            "tools/list" | "resources/list" | "resources/templates/list" | "prompts/list" => {
                Dispatch::Now(this.list(method, &env, params))
            }
            "resources/read" => this.read_resource(env, params, cx),
            "completion/complete" => this.complete(&env, params),
            "resources/subscribe" => Dispatch::Now(this.subscribe(params, true)),
            "resources/unsubscribe" => Dispatch::Now(this.subscribe(params, false)),
            "subscriptions/listen" => this.listen(params, cx),
            "logging/setLevel" => Dispatch::Now(set_level(&env, params)),
            _ => Dispatch::Now(Err(ErrorObject::method_not_found(method))),
        }
    }

    /// Whether the caller may use an item that names `scopes` (feature `auth`; without
    /// it, always).
    fn permits(
        &self,
        env: &Env,
        scopes: Option<&[String]>,
        target: Scoped<'_>,
    ) -> Result<(), ErrorObject> {
        #[cfg(feature = "auth")]
        return crate::server::auth::permits(&self.shared, &env.extensions, scopes, target);
        #[cfg(not(feature = "auth"))]
        {
            let _ = (env, scopes, target);
            Ok(())
        }
    }

    /// A method an extension added; an unknown one is not found.
    fn extension_method(
        &self,
        method: &str,
        params: Option<&RawValue>,
        cx: RequestCx,
        extensions: http::Extensions,
    ) -> Dispatch {
        let Some(handler) = self.shared.config().methods.get(method).cloned() else {
            return Dispatch::Now(Err(ErrorObject::method_not_found(method)));
        };
        let mut env = match self.resolve(method, params) {
            Ok(env) => env,
            Err(error) => return Dispatch::Now(Err(error)),
        };
        env.extensions = extensions;
        let server_meta = env
            .version
            .is_modern()
            .then(|| serde_json::to_value(&self.shared.config().server_info_meta))
            .and_then(Result::ok);
        self.scope(&mut env);
        let target = Target::Method(method.to_owned());
        let context = self.context_with(env, cx, None, target, None);
        let cancel = context.cancel_source();
        let future = super::extension::run(
            handler,
            method.to_owned(),
            params.map(RawValue::to_owned),
            context,
            server_meta,
        );
        Dispatch::LaterWith(Box::pin(future), cancel)
    }
}

/// What a scope check is about.
#[cfg(feature = "auth")]
use crate::server::auth::Target as Scoped;
/// What a scope check is about (nothing is checked without the `auth` feature).
#[cfg(not(feature = "auth"))]
#[derive(Clone, Copy)]
#[allow(dead_code)] // read by the `auth` feature's checks only
enum Scoped<'a> {
    Tool(&'a str),
    Prompt(&'a str),
    Resource(&'a str),
}

/// The extensions a request starts with: its caller, when the transport authenticated it
/// (feature `auth`).
pub(super) fn initial_extensions() -> http::Extensions {
    #[cfg(feature = "auth")]
    return crate::server::auth::request_extensions();
    #[cfg(not(feature = "auth"))]
    http::Extensions::new()
}

/// The reply to a `tools/call` from the handler's outcome.
fn tool_reply(
    outcome: Result<oxmcp_protocol::tools::CallToolResult, super::ToolError>,
    cx: &FinishCx,
) -> Reply {
    let outcome = match outcome {
        Ok(result) => Ok(result),
        Err(error) => error.into_outcome(cx.version),
    };
    finish_tool(cx.shared(), outcome, cx.version)
}

/// The reply to a `tools/call` whose handler returned a `String`: what [`tool_reply`] makes
/// of the one text block it converts into.
fn text_reply(text: String, cx: &FinishCx) -> Reply {
    Ok(super::reply::text_result(
        &text,
        cx.version.is_modern(),
        cx.shared(),
    ))
}

/// Whether params carry `_meta["io.modelcontextprotocol/protocolVersion"]` naming a modern
/// revision.
fn names_modern_version(params: Option<&RawValue>) -> bool {
    params
        .and_then(|raw| serde_json::from_str::<ParamsPeek<'_>>(raw.get()).ok())
        .and_then(|peek| peek.meta)
        .and_then(|meta| meta.protocol_version)
        .and_then(|v| ProtocolVersion::parse(&v))
        .is_some_and(ProtocolVersion::is_modern)
}

fn set_level(env: &Env, params: Option<&RawValue>) -> Reply {
    #[derive(Deserialize)]
    struct SetLevel {
        level: LoggingLevel,
    }
    let params: SetLevel = decode_params(params.map_or("{}", RawValue::get))?;
    match &env.client {
        ClientRef::Session(session) => session.set_log_level(params.level),
        ClientRef::Request { .. } => return Err(ErrorObject::method_not_found("logging/setLevel")),
    }
    Ok("{}".to_owned())
}
