//! `ServerHandle`: change a running server's tools, resources and prompts, and tell
//! clients about changes.

use std::sync::Arc;

use std::sync::OnceLock;

use super::connection::ListKind;
use super::lifespan::LateState;
use super::prompt::{self, IntoPrompt};
use super::resource::{supply, IntoResource};
use super::shared::{Shared, TemplateEntry};
use super::tool::{check_tool_name, IntoTool};
use super::uri_template::UriTemplate;
use super::Supplier as _;

/// A handle on a server's registries, usable while it serves (from any task). Cloning is
/// cheap.
///
/// `S` is the router's state: a `Router<S>` hands out a `ServerHandle<S>`, whose handlers
/// may extract [`State<S>`](super::State) like the router's own; they get the state the
/// router is given ([`with_state`](super::Router::with_state) or
/// [`with_lifespan`](super::Router::with_lifespan)).
///
/// Every change is announced to clients: legacy sessions get
/// `notifications/{tools,resources,prompts}/list_changed`, and modern clients that opened a
/// `subscriptions/listen` stream asking for it get the same, tagged with their
/// subscription id.
///
/// ```
/// use oxmcp::server::{Router, State};
///
/// #[derive(Clone)]
/// struct Greeting(&'static str);
///
/// async fn hello(State(greeting): State<Greeting>) -> &'static str { greeting.0 }
///
/// let router: Router<Greeting> = Router::new();
/// let handle = router.handle();
/// let router: Router = router.with_state(Greeting("hello"));
/// // ... serve the router in a task, then, at any time:
/// handle.add_tool("hello", hello).unwrap();
/// assert!(handle.add_tool("hello", hello).unwrap_err().is_taken());
/// assert!(handle.remove_tool("hello"));
/// # let _ = router;
/// ```
pub struct ServerHandle<S = ()> {
    pub(crate) shared: Arc<Shared>,
    /// The router's state, once it is given (a `Router<()>`'s when it starts serving).
    pub(crate) state: Arc<OnceLock<S>>,
}

impl<S> Clone for ServerHandle<S> {
    fn clone(&self) -> Self {
        ServerHandle {
            shared: self.shared.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S> std::fmt::Debug for ServerHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle").finish_non_exhaustive()
    }
}

/// Why a [`ServerHandle`] did not add a tool, resource, template or prompt: the name (or
/// URI, or template) is taken, or it is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddError {
    taken: bool,
    message: String,
}

impl AddError {
    fn taken(what: &str, key: &str) -> Self {
        AddError {
            taken: true,
            message: format!("{what} {key:?} is registered already; remove it first to replace it"),
        }
    }

    fn invalid(message: String) -> Self {
        AddError {
            taken: false,
            message,
        }
    }

    /// Whether the name (or URI, or template) is registered already.
    pub fn is_taken(&self) -> bool {
        self.taken
    }
}

impl std::fmt::Display for AddError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AddError {}

impl<S: Send + Sync + 'static> ServerHandle<S> {
    /// Adds a tool, as [`Router::tool`](super::Router::tool) registers one.
    ///
    /// # Errors
    /// If a tool of that name exists already (remove it first to replace it), or the name
    /// breaks the MCP tool-name rules (1 to 128 characters of `A-Z a-z 0-9 _ - .`).
    ///
    /// # Panics
    /// If two of the handler's arguments both decode the tool arguments, or a hand-written
    /// input schema is not an object schema: mistakes in the code, as with `Router::tool`.
    pub fn add_tool<M>(&self, name: &str, tool: impl IntoTool<M, S>) -> Result<(), AddError> {
        check_tool_name(name).map_err(|why| {
            AddError::invalid(format!(
                "invalid tool name {name:?}: {why} (SEP-986: 1-128 characters of A-Z a-z 0-9 _ - .)"
            ))
        })?;
        let (def, handler) = tool.into_tool(name);
        let handler = self.late_state().supply(handler);
        if !self.shared.tools.insert_new(name.to_owned(), &def, handler) {
            return Err(AddError::taken("a tool named", name));
        }
        self.list_changed(ListKind::Tools);
        Ok(())
    }

    /// Adds a static resource, as [`Router::resource`](super::Router::resource) registers
    /// one.
    ///
    /// # Errors
    /// If a resource with that URI exists already (remove it first to replace it).
    pub fn add_resource<M>(
        &self,
        uri: &str,
        resource: impl IntoResource<M, S>,
    ) -> Result<(), AddError> {
        let parts = resource.into_resource_def().into_static(uri);
        let entry = supply(parts.entry, &self.late_state());
        if !self
            .shared
            .resources
            .insert_new(uri.to_owned(), &parts.def, entry)
        {
            return Err(AddError::taken("a resource", uri));
        }
        self.list_changed(ListKind::Resources);
        Ok(())
    }

    /// Adds a resource template, as
    /// [`Router::resource_template`](super::Router::resource_template) registers one.
    ///
    /// # Errors
    /// If the template is registered already (remove it first to replace it), or does not
    /// parse.
    ///
    /// # Panics
    /// If a completer names no variable of the template.
    pub fn add_resource_template<M>(
        &self,
        template: &str,
        resource: impl IntoResource<M, S>,
    ) -> Result<(), AddError> {
        UriTemplate::parse(template).map_err(|e| {
            AddError::invalid(format!("invalid resource template {template:?}: {e}"))
        })?;
        let parts = resource.into_resource_def().into_template(template);
        let entry = TemplateEntry {
            template: Arc::new(parts.template),
            entry: supply(parts.entry, &self.late_state()),
        };
        if !self
            .shared
            .templates
            .insert_new(template.to_owned(), &parts.def, entry)
        {
            return Err(AddError::taken("a resource template", template));
        }
        self.list_changed(ListKind::Resources);
        Ok(())
    }

    /// Adds a prompt, as [`Router::prompt`](super::Router::prompt) registers one.
    ///
    /// # Errors
    /// If a prompt of that name exists already (remove it first to replace it).
    ///
    /// # Panics
    /// If a completer names no argument of the prompt.
    pub fn add_prompt<M>(&self, name: &str, prompt: impl IntoPrompt<M, S>) -> Result<(), AddError> {
        let (def, entry) = prompt.into_prompt(name);
        let entry = prompt::supply(entry, &self.late_state());
        if !self.shared.prompts.insert_new(name.to_owned(), &def, entry) {
            return Err(AddError::taken("a prompt named", name));
        }
        self.list_changed(ListKind::Prompts);
        Ok(())
    }

    /// What supplies the added handlers with the router's state, when they run.
    fn late_state(&self) -> LateState<S> {
        LateState {
            cell: self.state.clone(),
        }
    }
}

impl<S> ServerHandle<S> {
    /// Removes a tool; returns whether it existed.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.shared.tools.remove(name);
        if removed {
            self.list_changed(ListKind::Tools);
        }
        removed
    }

    /// Removes a static resource; returns whether it existed.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = self.shared.resources.remove(uri);
        if removed {
            self.list_changed(ListKind::Resources);
        }
        removed
    }

    /// Removes a resource template; returns whether it existed.
    pub fn remove_resource_template(&self, template: &str) -> bool {
        let removed = self.shared.templates.remove(template);
        if removed {
            self.list_changed(ListKind::Resources);
        }
        removed
    }

    /// Removes a prompt; returns whether it existed.
    pub fn remove_prompt(&self, name: &str) -> bool {
        let removed = self.shared.prompts.remove(name);
        if removed {
            self.list_changed(ListKind::Prompts);
        }
        removed
    }

    /// Tells every subscriber of `uri` that it changed: legacy sessions that sent
    /// `resources/subscribe` and modern `subscriptions/listen` streams that named it.
    pub fn notify_resource_updated(&self, uri: &str) {
        self.shared.resource_updated(uri);
    }

    /// Announces that the tool list changed, without changing the registry: for tools whose
    /// behaviour or availability depends on something outside the server.
    pub fn notify_tools_changed(&self) {
        self.list_changed(ListKind::Tools);
    }

    /// Announces that the resource list changed, without changing the registry.
    pub fn notify_resources_changed(&self) {
        self.list_changed(ListKind::Resources);
    }

    /// Announces that the prompt list changed, without changing the registry.
    pub fn notify_prompts_changed(&self) {
        self.list_changed(ListKind::Prompts);
    }

    fn list_changed(&self, kind: ListKind) {
        self.shared.list_changed(kind);
    }
}
