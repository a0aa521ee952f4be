//! `ServerHandle`: change a running server's tools, resources and prompts, and tell
//! clients about changes.

use std::sync::Arc;

use super::connection::ListKind;
use super::prompt::IntoPrompt;
use super::resource::IntoResource;
use super::shared::{Shared, TemplateEntry};
use super::tool::IntoTool;

/// A handle on a server's registries, usable while it serves (from any task). Cloning is
/// cheap.
///
/// Every change is announced to clients: legacy sessions get
/// `notifications/{tools,resources,prompts}/list_changed`, and modern clients that opened a
/// `subscriptions/listen` stream asking for it get the same, tagged with their
/// subscription id.
///
/// ```
/// use oxmcp::server::Router;
///
/// async fn hello() -> &'static str { "hello" }
///
/// let router: Router = Router::new();
/// let handle = router.handle();
/// // ... serve the router in a task, then, at any time:
/// handle.add_tool("hello", hello);
/// assert!(handle.remove_tool("hello"));
/// ```
#[derive(Clone)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle").finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Adds (or replaces) a tool.
    ///
    /// # Panics
    /// If the name breaks the tool-name rules.
    pub fn add_tool<M>(&self, name: &str, tool: impl IntoTool<M, ()>) {
        let (def, handler) = tool.into_tool(name);
        self.shared.tools.insert(name.to_owned(), &def, handler);
        self.list_changed(ListKind::Tools);
    }

    /// Removes a tool; returns whether it existed.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.shared.tools.remove(name);
        if removed {
            self.list_changed(ListKind::Tools);
        }
        removed
    }

    /// Adds (or replaces) a static resource.
    pub fn add_resource<M>(&self, uri: &str, resource: impl IntoResource<M, ()>) {
        let parts = resource.into_resource_def().into_static(uri);
        self.shared
            .resources
            .insert(uri.to_owned(), &parts.def, parts.entry);
        self.list_changed(ListKind::Resources);
    }

    /// Removes a static resource; returns whether it existed.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = self.shared.resources.remove(uri);
        if removed {
            self.list_changed(ListKind::Resources);
        }
        removed
    }

    /// Adds (or replaces) a resource template.
    ///
    /// # Panics
    /// If the template does not parse.
    pub fn add_resource_template<M>(&self, template: &str, resource: impl IntoResource<M, ()>) {
        let parts = resource.into_resource_def().into_template(template);
        let entry = TemplateEntry {
            template: Arc::new(parts.template),
            entry: parts.entry,
        };
        self.shared
            .templates
            .insert(template.to_owned(), &parts.def, entry);
        self.list_changed(ListKind::Resources);
    }

    /// Removes a resource template; returns whether it existed.
    pub fn remove_resource_template(&self, template: &str) -> bool {
        let removed = self.shared.templates.remove(template);
        if removed {
            self.list_changed(ListKind::Resources);
        }
        removed
    }

    /// Adds (or replaces) a prompt.
    pub fn add_prompt<M>(&self, name: &str, prompt: impl IntoPrompt<M, ()>) {
        let (def, entry) = prompt.into_prompt(name);
        self.shared.prompts.insert(name.to_owned(), &def, entry);
        self.list_changed(ListKind::Prompts);
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
        for connection in self.shared.connections() {
            connection.notify_resource_updated(uri);
        }
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
        for connection in self.shared.connections() {
            connection.notify_list_changed(kind);
        }
    }
}
