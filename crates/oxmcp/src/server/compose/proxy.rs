//! [`Proxy`]: any MCP server the client reaches, served as a [`Router`].

use std::sync::{Arc, Mutex, OnceLock, Weak};

use oxmcp_protocol::completion::{CompletionReference, PromptReference};
use oxmcp_protocol::content::ResourceContents;
use oxmcp_protocol::logging::LoggingMessageNotificationParams;
use oxmcp_protocol::message::ServerNotification;
use oxmcp_protocol::prompts::GetPromptResult;
use oxmcp_protocol::subscriptions::SubscriptionFilter;
use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::{ErrorObject, JsonObject};
use serde_json::value::RawValue;
use serde_json::Value;

use super::replace;

mod passthrough;
use crate::client::{CallOptions, Client, ClientBuilder, ToolAnswer};
use crate::rpc::BoxFuture;
use crate::server::completion::{Complete, Completer};
use crate::server::connection::ListKind;
use crate::server::error::ToolError;
use crate::server::extract::{Request, Target};
use crate::server::handler::{ErasedHandler, Finish, Reply};
use crate::server::prompt::PromptEntry;
use crate::server::resource::{ContentsFn, ResourceEntry};
use crate::server::shared::{Shared, TemplateEntry};
use crate::server::uri_template::UriTemplate;
use crate::server::{Context, Router};

/// Serves a server that a [`Client`] reaches (a stdio child, a Streamable HTTP endpoint,
/// anything the client connects to) as a [`Router`]: mount it, put layers around it, serve
/// it on another transport.
///
/// What passes through, both ways:
/// - the back end's tools, prompts, resources and templates, listed again (and the proxy's
///   own clients told) when it announces `list_changed`;
/// - calls, prompt requests, reads and prompt-argument completions, with their errors;
/// - progress of a call, forwarded to the request that made it;
/// - cancellation: a request the front cancels is cancelled at the back end;
/// - the back end's log messages, and updates of its resources (the proxy subscribes to
///   every resource the back end lists, when it offers subscriptions; a modern back end's
///   list is the one when the proxy started);
/// - the back end's questions (elicitation, sampling, roots), asked of the proxy's own
///   client in its era: a real request for a legacy client, an `InputRequiredResult` for a
///   modern one (whose retry runs the call again at the back end, where the answer is
///   waiting). A question goes to the request whose back-end call asked it; when the back
///   end cannot say (a legacy back end asks on its session), to the one request in flight,
///   and is refused if there are several.
///
/// ```no_run
/// use oxmcp::client::Client;
/// use oxmcp::server::compose::Proxy;
/// use oxmcp::transport::stdio::ChildCommand;
///
/// # async fn run() -> oxmcp::Result<()> {
/// let proxy = Proxy::new();
/// let client = proxy
///     .client(Client::builder())
///     .connect_stdio(ChildCommand::new("my-stdio-server"))
///     .await?;
/// proxy.router(client).await?.serve_stdio().await
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Proxy {
    relay: Arc<Relay>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").finish_non_exhaustive()
    }
}

/// What the proxy's handlers share.
#[derive(Default)]
struct Relay {
    client: OnceLock<Client>,
    /// The longest a back-end call may take ([`Proxy::timeout`]).
    timeout: OnceLock<std::time::Duration>,
    /// The front router's shared state, to change its lists and announce updates.
    front: OnceLock<Weak<Shared>>,
    /// The front requests whose back-end call is in flight.
    in_flight: Mutex<Vec<(u64, Context)>>,
    next: std::sync::atomic::AtomicU64,
    /// The keys the back end's items hold in the front registries: tools, prompts,
    /// resources, templates.
    held: Mutex<[Vec<String>; 4]>,
    /// The back-end resources subscribed to (legacy back end).
    subscribed: Mutex<std::collections::HashSet<String>>,
    /// Serializes the re-listings that `list_changed` starts.
    syncing: tokio::sync::Mutex<()>,
    /// Whether the `subscriptions/listen` stream of a modern back end is open.
    listening: std::sync::atomic::AtomicBool,
}

tokio::task_local! {
    /// The front request whose back-end call runs in this task.
    static CURRENT: Context;
}

impl Proxy {
    /// A proxy, before its client connects.
    pub fn new() -> Self {
        Proxy::default()
    }

    /// The longest one back-end call (a tool call, a prompt, a read) may take, progress or
    /// not; past it the front request fails with an error that says so. Without it, the
    /// client's own timeouts apply ([`ClientBuilder::request_timeout`]). The first value
    /// set is kept.
    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        let _ = self.relay.timeout.set(timeout);
        self
    }

    /// Prepares the client that reaches the back end: its questions, notifications and log
    /// messages are relayed to the proxy's own clients, and it declares the capabilities
    /// to answer them.
    pub fn client(&self, builder: ClientBuilder) -> ClientBuilder {
        // Weak: the relay holds the client, whose handlers these are.
        let relay = Arc::downgrade(&self.relay);
        let (elicit, sample, roots, notes) = (relay.clone(), relay.clone(), relay.clone(), relay);
        builder
            .on_elicitation(move |params| {
                let relay = elicit.clone();
                async move { Ok(Relay::asker_of(&relay)?.elicit_with(params).await?) }
            })
            .on_sampling(move |params| {
                let relay = sample.clone();
                async move { Ok(Relay::asker_of(&relay)?.sample(params).await?) }
            })
            .on_roots(move || {
                let relay = roots.clone();
                async move { Ok(Relay::asker_of(&relay)?.list_roots().await?) }
            })
            .on_notification(move |note| {
                if let Some(relay) = notes.upgrade() {
                    relay.notified(note);
                }
            })
    }

    /// The router that serves the back end `client` reaches (connected with a builder from
    /// [`Proxy::client`]): named as the back end, with its instructions and everything it
    /// lists now.
    ///
    /// # Errors
    /// If listing the back end's tools, prompts, resources or templates fails.
    pub async fn router(self, client: Client) -> crate::Result<Router> {
        let mut router = Router::new();
        if let Some(info) = client.server_info() {
            router = router.server_info(info.clone());
        }
        if let Some(instructions) = client.server().instructions.clone() {
            router = router.instructions(instructions);
        }
        self.attach(client, &router.shared).await?;
        Ok(router)
    }

    /// Fills `front`'s registries with forwarders to the back end `client` reaches, and
    /// follows its changes (what [`Proxy::router`] does to a router of its own).
    pub(crate) async fn attach(&self, client: Client, front: &Arc<Shared>) -> crate::Result<()> {
        let _ = self.relay.client.set(client);
        let _ = self.relay.front.set(Arc::downgrade(front));
        self.refresh(front).await
    }

    /// Lists everything of the back end again into `front`, in place of what it held, and
    /// listens for its changes again if its listen stream ended (a back end that was
    /// unavailable for a while).
    pub(crate) async fn refresh(&self, front: &Shared) -> crate::Result<()> {
        for kind in [ListKind::Tools, ListKind::Prompts, ListKind::Resources] {
            self.relay.sync(front, kind).await?;
        }
        self.relay.listen().await
    }

    /// Takes the back end's items out of `front` (it went away); `front`'s clients are
    /// not told here.
    pub(crate) fn detach(&self, front: &Shared) {
        let mut held = self.relay.held.lock().expect("proxy lock");
        let [tools, prompts, resources, templates] = &mut *held;
        replace(
            &front.tools,
            tools,
            std::iter::empty::<(
                String,
                oxmcp_protocol::tools::Tool,
                Arc<dyn ErasedHandler<(), CallToolResult>>,
            )>(),
        );
        replace(
            &front.prompts,
            prompts,
            std::iter::empty::<(String, Value, PromptEntry<()>)>(),
        );
        replace(
            &front.resources,
            resources,
            std::iter::empty::<(String, Value, ResourceEntry<()>)>(),
        );
        replace(
            &front.templates,
            templates,
            std::iter::empty::<(String, Value, TemplateEntry)>(),
        );
    }

    /// The client that reaches the back end, once attached.
    pub(crate) fn backend(&self) -> Option<&Client> {
        self.relay.client.get()
    }
}

impl Relay {
    fn client(&self) -> &Client {
        self.client
            .get()
            .expect("the proxy's client is set before it serves")
    }

    /// [`Relay::asker`] of a relay that may be gone.
    fn asker_of(relay: &Weak<Relay>) -> Result<Context, ErrorObject> {
        match relay.upgrade() {
            Some(relay) => relay.asker(),
            None => Err(ErrorObject::internal("the proxy has stopped")),
        }
    }

    /// The front request a back-end question belongs to.
    fn asker(&self) -> Result<Context, ErrorObject> {
        if let Ok(ctx) = CURRENT.try_with(Context::clone) {
            return Ok(ctx);
        }
        let in_flight = self.in_flight.lock().expect("proxy lock");
        match in_flight.as_slice() {
            [(_, ctx)] => Ok(ctx.clone()),
            [] => Err(ErrorObject::invalid_request(
                "the proxy has no request in flight to relay this question to",
            )),
            _ => Err(ErrorObject::invalid_request(
                "the proxy has several requests in flight and cannot tell which one this question belongs to",
            )),
        }
    }

    /// A modern back end announces list changes on a `subscriptions/listen` stream only
    /// (a legacy one, on its session, to the notification callback): opens one, unless
    /// one is open.
    async fn listen(self: &Arc<Self>) -> crate::Result<()> {
        use std::sync::atomic::Ordering;
        let client = self.client();
        if !client.protocol_version().is_modern() || self.listening.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let caps = client.server_capabilities();
        let mut filter = SubscriptionFilter::new()
            .with_tools_list_changed(caps.tools.is_some())
            .with_prompts_list_changed(caps.prompts.is_some())
            .with_resources_list_changed(caps.resources.is_some());
        if caps.resources.as_ref().and_then(|r| r.subscribe) == Some(true) {
            let uris = self.held.lock().expect("proxy lock")[2].clone();
            filter = filter.with_resource_subscriptions(uris);
        }
        let mut stream = match client.listen(filter).await {
            Ok(stream) => stream,
            Err(e) => {
                self.listening.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let relay = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(Ok(note)) = stream.next().await {
                match relay.upgrade() {
                    Some(relay) => relay.notified(note),
                    None => return,
                }
            }
            if let Some(relay) = relay.upgrade() {
                relay.listening.store(false, Ordering::SeqCst);
            }
        });
        Ok(())
    }

    fn notified(self: &Arc<Self>, note: ServerNotification) {
        let kind = match note {
            ServerNotification::ToolListChanged(_) => ListKind::Tools,
            ServerNotification::PromptListChanged(_) => ListKind::Prompts,
            ServerNotification::ResourceListChanged(_) => ListKind::Resources,
            ServerNotification::ResourceUpdated(updated) => {
                if let Some(front) = self.front.get().and_then(Weak::upgrade) {
                    front.resource_updated(&updated.uri);
                }
                return;
            }
            ServerNotification::LoggingMessage(log) => return self.log(log),
            _ => return,
        };
        let relay = self.clone();
        tokio::spawn(async move {
            let Some(front) = relay.front.get().and_then(Weak::upgrade) else {
                return;
            };
            match relay.sync(&front, kind).await {
                Ok(()) => front.list_changed(kind),
                Err(e) => tracing::warn!(error = %e, "the proxy could not list the back end again"),
            }
        });
    }

    /// A back-end log message: to the request in flight, if one, else to `tracing`.
    fn log(&self, log: LoggingMessageNotificationParams) {
        match self.asker() {
            Ok(ctx) => {
                tokio::spawn(async move {
                    ctx.log(log.level, log.logger.as_deref(), &log.data).await;
                });
            }
            Err(_) => {
                tracing::info!(target: "oxmcp::server_log", level = ?log.level, logger = ?log.logger, data = %log.data, "back-end log")
            }
        }
    }

    /// Runs a back-end call for the front request `ctx`: progress forwarded, questions
    /// routed to it, a JSON-RPC error passed on as is.
    async fn relay<T, F>(self: &Arc<Self>, ctx: &Context, call: F) -> Result<T, ToolError>
    where
        F: AsyncFnOnce(&Client, CallOptions) -> crate::Result<T>,
    {
        let mut options = CallOptions::new();
        if let Some(cap) = self.timeout.get() {
            options = options.max_timeout(*cap);
        }
        // A channel for progress only when the front request asked for it.
        let progress = ctx.progress_token().is_some().then(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            options = std::mem::take(&mut options).on_progress(move |p| {
                let _ = tx.send(p);
            });
            rx
        });
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.in_flight
            .lock()
            .expect("proxy lock")
            .push((id, ctx.clone()));
        let _done = InFlight { relay: self, id };
        let answer = CURRENT.scope(ctx.clone(), call(self.client(), options));
        let outcome = match progress {
            None => answer.await,
            Some(mut rx) => {
                tokio::pin!(answer);
                loop {
                    tokio::select! {
                        outcome = &mut answer => break outcome,
                        Some(progress) = rx.recv() => ctx.progress(progress).await,
                    }
                }
            }
        };
        outcome.map_err(|e| match e.rpc_error() {
            Some(error) => ToolError::protocol_object(error.clone()),
            None => ToolError::internal(format!("the back end did not answer: {e}")),
        })
    }

    /// Lists the back end's items of `kind` and puts them in `front` in place of the ones
    /// listed before.
    async fn sync(self: &Arc<Self>, front: &Shared, kind: ListKind) -> crate::Result<()> {
        let _one = self.syncing.lock().await;
        let client = self.client();
        let caps = client.server_capabilities();
        match kind {
            ListKind::Tools if caps.tools.is_some() => {
                let tools = client.list_all_tools().await?;
                let items = tools.into_iter().map(|def| {
                    let entry: Arc<dyn ErasedHandler<(), CallToolResult>> = Arc::new(Forward {
                        relay: self.clone(),
                        name: def.name.clone(),
                    });
                    (def.name.clone(), def, entry)
                });
                replace(
                    &front.tools,
                    &mut self.held.lock().expect("proxy lock")[0],
                    items,
                );
            }
            ListKind::Prompts if caps.prompts.is_some() => {
                let prompts = client.list_all_prompts().await?;
                let items = prompts.into_iter().map(|def| {
                    let forward = Forward {
                        relay: self.clone(),
                        name: def.name.clone(),
                    };
                    let arguments = def.arguments.iter().flatten();
                    let completers = arguments
                        .map(|a| (a.name.clone(), self.completer(&def.name)))
                        .collect();
                    let entry = PromptEntry {
                        handler: Arc::new(forward),
                        completers,
                    };
                    (def.name.clone(), def, entry)
                });
                replace(
                    &front.prompts,
                    &mut self.held.lock().expect("proxy lock")[1],
                    items,
                );
            }
            ListKind::Resources if caps.resources.is_some() => {
                let resources = client.list_all_resources().await?;
                let templates = client.list_all_resource_templates().await?;
                let entry = |mime: Option<String>| ResourceEntry {
                    mime_type: mime,
                    handler: Arc::new(Forward {
                        relay: self.clone(),
                        name: String::new(),
                    }),
                    completers: Vec::new(),
                };
                self.subscribe(resources.iter().map(|def| def.uri.as_str()))
                    .await;
                let items = resources.into_iter().map(|def| {
                    let e = entry(def.mime_type.clone());
                    (def.uri.clone(), def, e)
                });
                replace(
                    &front.resources,
                    &mut self.held.lock().expect("proxy lock")[2],
                    items,
                );
                let items = templates.into_iter().filter_map(|def| {
                    let template = UriTemplate::parse(&def.uri_template).ok()?;
                    let e = TemplateEntry {
                        template: Arc::new(template),
                        entry: entry(def.mime_type.clone()),
                    };
                    Some((def.uri_template.clone(), def, e))
                });
                replace(
                    &front.templates,
                    &mut self.held.lock().expect("proxy lock")[3],
                    items,
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// Subscribes to updates of the back end's resources at `uris` that it was not
    /// subscribed to yet (a legacy back end that offers subscriptions; a modern one's are
    /// named by the listen stream), so that their updates reach the proxy's subscribers.
    async fn subscribe(&self, uris: impl Iterator<Item = &str>) {
        let client = self.client();
        let offered = client
            .server_capabilities()
            .resources
            .as_ref()
            .and_then(|r| r.subscribe)
            == Some(true);
        if !offered || client.protocol_version().is_modern() {
            return;
        }
        let new: Vec<String> = {
            let mut subscribed = self.subscribed.lock().expect("proxy lock");
            uris.filter(|uri| subscribed.insert((*uri).to_owned()))
                .map(str::to_owned)
                .collect()
        };
        for uri in new {
            if let Err(e) = client.subscribe_resource(&uri).await {
                tracing::warn!(%uri, error = %e, "the proxy could not subscribe to a back-end resource");
            }
        }
    }

    /// Completes an argument of the back end's prompt `prompt`.
    fn completer(self: &Arc<Self>, prompt: &str) -> Completer {
        let relay = Arc::downgrade(self);
        let prompt = prompt.to_owned();
        Completer(Arc::new(move |ask: Complete| {
            let relay = relay.clone();
            let reference = CompletionReference::Prompt(PromptReference::new(prompt.clone()));
            Box::pin(async move {
                let Some(relay) = relay.upgrade() else {
                    return Default::default();
                };
                let client = relay.client();
                match client
                    .complete(reference, &ask.argument, &ask.value, &ask.context)
                    .await
                {
                    Ok(result) => result.completion,
                    Err(e) => {
                        tracing::warn!(error = %e, "the back end did not complete");
                        oxmcp_protocol::completion::Completion::new(Vec::new())
                    }
                }
            })
        }))
    }
}

/// Takes a front request off the in-flight list when its back-end call ends (or is
/// dropped: cancelled).
struct InFlight<'a> {
    relay: &'a Relay,
    id: u64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.relay.in_flight.lock().expect("proxy lock");
        in_flight.retain(|(id, _)| *id != self.id);
    }
}

/// A back-end tool, prompt or resource, forwarded.
struct Forward {
    relay: Arc<Relay>,
    /// The tool or prompt name (resources are read by the URI of the request).
    name: String,
}

/// The raw arguments of a request, as a JSON object.
fn arguments(request: &Request) -> JsonObject {
    request
        .arguments()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default()
}

impl Forward {
    /// Calls the back-end tool with the front request's arguments, passed on as they came
    /// (the front checked they are an object): no tree of values made and written again.
    fn call_tool<T>(
        &self,
        request: Request,
        call: impl AsyncFnOnce(&Client, &str, Option<Box<RawValue>>, CallOptions) -> crate::Result<T>,
    ) -> impl std::future::Future<Output = Result<T, ToolError>> {
        let (relay, name) = (self.relay.clone(), self.name.clone());
        async move {
            let args = request.arguments().map(RawValue::to_owned);
            relay
                .relay(request.context(), async move |client: &Client, options| {
                    call(client, &name, args, options).await
                })
                .await
        }
    }
}

impl ErasedHandler<(), CallToolResult> for Forward {
    fn call(&self, request: Request, _: &()) -> BoxFuture<Result<CallToolResult, ToolError>> {
        Box::pin(self.call_tool(
            request,
            async |client: &Client, name: &str, args, options| {
                client.call_tool_with(name, args, options).await
            },
        ))
    }

    /// The back end's result passed on as JSON text, only what differs between its era
    /// and the front's rewritten (see `passthrough`); a result this side must check (an
    /// `outputSchema`) or follow (a task) is decoded as [`Forward::call`] does.
    fn call_finish(
        &self,
        request: Request,
        _: &(),
        finish: Finish<CallToolResult>,
    ) -> BoxFuture<Reply> {
        // Boxed on its own, as `call` is: the finishing future holds a pointer, not the
        // whole call, and moves cheaply. The result is written for the front as it is read
        // (once), in the client's loop.
        let front = passthrough::Front::of(&finish.cx);
        let answer: BoxFuture<Result<ToolAnswer, ToolError>> = Box::pin(self.call_tool(
            request,
            async move |client: &Client, name: &str, args, options| {
                let pass = |raw: &RawValue| front.pass(raw);
                client
                    .call_tool_passthrough(name, args, options, pass)
                    .await
            },
        ));
        Box::pin(finish.around_with(answer, |outcome, finish| match outcome {
            Ok(ToolAnswer::Passed(text)) => Ok(text),
            Ok(ToolAnswer::Decoded(result)) => (finish.run)(Ok(result), &finish.cx),
            Err(error) => (finish.run)(Err(error), &finish.cx),
        }))
    }
}

impl ErasedHandler<(), GetPromptResult> for Forward {
    fn call(&self, request: Request, _: &()) -> BoxFuture<Result<GetPromptResult, ToolError>> {
        let (relay, name) = (self.relay.clone(), self.name.clone());
        Box::pin(async move {
            let args: serde_json::Map<String, Value> = arguments(&request);
            relay
                .relay(request.context(), async move |client: &Client, options| {
                    client.get_prompt_with(&name, args, options).await
                })
                .await
        })
    }
}

impl ErasedHandler<(), ContentsFn> for Forward {
    fn call(&self, request: Request, _: &()) -> BoxFuture<Result<ContentsFn, ToolError>> {
        let relay = self.relay.clone();
        Box::pin(async move {
            let Target::Resource { uri, .. } = request.target() else {
                return Err(ToolError::internal("a resource read without a URI"));
            };
            let uri = uri.clone();
            let read = relay
                .relay(request.context(), async move |client: &Client, options| {
                    client.read_resource_with(&uri, options).await
                })
                .await?;
            let contents: Vec<ResourceContents> = read.contents;
            let build: ContentsFn = Box::new(move |_, _| Ok(contents));
            Ok(build)
        })
    }
}
