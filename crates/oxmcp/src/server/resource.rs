//! Resources: static URIs and RFC 6570 templates, read by handlers; files under a root.

use std::marker::PhantomData;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use oxmcp_protocol::content::{
    Annotations, BlobResourceContents, ResourceContents, TextResourceContents,
};
use oxmcp_protocol::error::echo;
use oxmcp_protocol::lifecycle::Icon;
use oxmcp_protocol::resources::{ReadResourceResult, Resource, ResourceTemplate};
use oxmcp_protocol::{ErrorObject, JsonObject, ProtocolVersion};
use serde::Serialize;

use super::completion::{Completer, IntoCompleter};
use super::error::ToolError;
use super::handler::{ErasedHandler, Handler, Typed};
use super::response::Json;
use super::sealed::ResourceParts;
use super::uri_template::UriTemplate;

/// Turns a handler's output into the contents of the resource read.
pub(crate) type ContentsFn =
    Box<dyn FnOnce(&str, Option<&str>) -> Result<Vec<ResourceContents>, ToolError> + Send>;

/// A resource handler with its types erased.
pub(crate) type ErasedResource<S> = dyn ErasedHandler<S, ContentsFn>;

/// Converts a resource handler's output into resource contents.
///
/// Implemented for text (`String`, `&'static str`: a text content with the resource's MIME
/// type), [`Blob`] (binary, sent base64-encoded), [`Json<T>`] (`application/json` text),
/// [`ResourceContents`] and `Vec<ResourceContents>`, [`ReadResourceResult`], and
/// `Result<T, E>` for any error `E` that converts into `Box<dyn Error + Send + Sync>`,
/// [`ToolError`] among them. An error from a resource handler is
/// a JSON-RPC error: resources have no `isError` channel.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a resource handler",
    note = "return a String, `Blob`, `Json<T>`, `ResourceContents`, `ReadResourceResult`, or `Result<T, E>` of one of those, where `E` is `ToolError` or any `std::error::Error + Send + Sync`"
)]
pub trait IntoResourceContents: Send + 'static {
    /// The contents of `uri`; `mime_type` is the one declared for the resource.
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError>;
}

/// Binary resource contents (sent base64-encoded), with an optional MIME type that
/// overrides the resource's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob {
    /// The bytes.
    pub data: Vec<u8>,
    /// The MIME type, if it differs from the resource's.
    pub mime_type: Option<String>,
}

impl Blob {
    /// Bytes with the resource's MIME type.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Blob {
            data: data.into(),
            mime_type: None,
        }
    }

    /// Bytes with their own MIME type.
    pub fn with_mime_type(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Blob {
            data: data.into(),
            mime_type: Some(mime_type.into()),
        }
    }
}

fn text_contents(uri: &str, mime: Option<&str>, text: String) -> ResourceContents {
    let mut contents = TextResourceContents::new(uri, text);
    contents.mime_type = mime.map(str::to_owned);
    ResourceContents::Text(contents)
}

impl IntoResourceContents for String {
    fn into_contents(
        self,
        uri: &str,
        mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(vec![text_contents(uri, mime, self)])
    }
}

impl IntoResourceContents for &'static str {
    fn into_contents(
        self,
        uri: &str,
        mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(vec![text_contents(uri, mime, self.to_owned())])
    }
}

impl IntoResourceContents for Blob {
    fn into_contents(
        self,
        uri: &str,
        mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        let mut contents = BlobResourceContents::new(
            uri,
            base64::engine::general_purpose::STANDARD.encode(&self.data),
        );
        contents.mime_type = self.mime_type.or_else(|| mime.map(str::to_owned));
        Ok(vec![ResourceContents::Blob(contents)])
    }
}

impl<T: Serialize + Send + 'static> IntoResourceContents for Json<T> {
    fn into_contents(
        self,
        uri: &str,
        mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        let text = serde_json::to_string(&self.0)
            .map_err(|e| ToolError::internal(format!("could not serialize the resource: {e}")))?;
        Ok(vec![text_contents(
            uri,
            Some(mime.unwrap_or("application/json")),
            text,
        )])
    }
}

impl IntoResourceContents for ResourceContents {
    fn into_contents(
        self,
        _uri: &str,
        _mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(vec![self])
    }
}

impl IntoResourceContents for Vec<ResourceContents> {
    fn into_contents(
        self,
        _uri: &str,
        _mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(self)
    }
}

impl IntoResourceContents for ReadResourceResult {
    fn into_contents(
        self,
        _uri: &str,
        _mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(self.contents)
    }
}

impl<T, E> IntoResourceContents for Result<T, E>
where
    T: IntoResourceContents,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    fn into_contents(
        self,
        uri: &str,
        mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        self.map_err(ToolError::from_error)?
            .into_contents(uri, mime)
    }
}

/// A resource (or template) handler with its description.
///
/// Made by [`resource`]; pass it to [`Router::resource`](crate::server::Router::resource) or
/// [`Router::resource_template`](crate::server::Router::resource_template).
///
/// ```
/// use oxmcp::server::{resource, Router};
///
/// async fn readme() -> &'static str { "# Hello" }
///
/// let router: Router = Router::new().resource(
///     "docs://readme",
///     resource(readme).name("readme").title("Read me").mime_type("text/markdown"),
/// );
/// # let _ = router;
/// ```
#[must_use]
pub struct ResourceDef<H, T> {
    handler: H,
    name: Option<String>,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
    size: Option<u64>,
    annotations: Option<Annotations>,
    icons: Option<Vec<Icon>>,
    meta: Option<JsonObject>,
    completers: Vec<(String, Completer)>,
    layers: Option<super::middleware::Endpoint>,
    scopes: Option<std::sync::Arc<[String]>>,
    _marker: PhantomData<fn() -> T>,
}

/// Starts a resource definition from a handler.
pub fn resource<H, T>(handler: H) -> ResourceDef<H, T> {
    ResourceDef {
        handler,
        name: None,
        title: None,
        description: None,
        mime_type: None,
        size: None,
        annotations: None,
        icons: None,
        meta: None,
        completers: Vec::new(),
        layers: None,
        scopes: None,
        _marker: PhantomData,
    }
}

impl<H, T> ResourceDef<H, T> {
    /// The resource's name (defaults to its URI or template).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// What the resource holds.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The MIME type of its contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Puts a `tower` layer around this resource's reads only (see
    /// [`middleware`](super::middleware)); the router's layers run around it.
    pub fn layer(mut self, layer: impl super::middleware::McpLayer) -> Self {
        self.layers = super::middleware::Endpoint::stack(self.layers.take(), layer);
        self
    }

    /// The scopes a caller's token must grant to use this resource (feature `auth`): a
    /// caller without them gets `403` with an `insufficient_scope` challenge naming them
    /// over HTTP (a JSON-RPC error naming them elsewhere), and listings leave the resource
    /// out. Replaces the router's default scopes for this resource.
    #[cfg(feature = "auth")]
    pub fn scopes<I, Sc>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = Sc>,
        Sc: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Its size in bytes, if known up front.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Audience, priority and last-modified hints.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Icons a client may show.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.icons = Some(icons);
        self
    }

    /// Custom `_meta` of the definition.
    pub fn meta(mut self, meta: JsonObject) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Completes values of one template variable (`completion/complete`).
    pub fn complete<M>(
        mut self,
        variable: impl Into<String>,
        completer: impl IntoCompleter<M>,
    ) -> Self {
        self.completers
            .push((variable.into(), completer.into_completer()));
        self
    }
}

/// A registered resource or template: its definition and its handler.
pub(crate) struct ResourceEntry<S> {
    pub(crate) mime_type: Option<String>,
    pub(crate) handler: Arc<ErasedResource<S>>,
    pub(crate) completers: Vec<(String, Completer)>,
}

/// What a definition becomes for a static URI.
pub(crate) struct StaticParts<S> {
    pub(crate) def: Resource,
    pub(crate) entry: ResourceEntry<S>,
}

/// What a definition becomes for a template.
pub(crate) struct TemplateParts<S> {
    pub(crate) def: ResourceTemplate,
    pub(crate) template: UriTemplate,
    pub(crate) entry: ResourceEntry<S>,
}

/// Anything that registers as a resource: a bare handler or a [`ResourceDef`]. `M` only
/// keeps the two impls apart; you never name it.
///
/// The trait is sealed: the crate implements it and turns what implements it into a
/// resource or a template.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a resource handler",
    label = "not a resource handler",
    note = "a resource handler is an `async fn` (or a closure returning a future) whose arguments are all extractors (`Args<T>`, `Context`, `State<S>`, ...), whose return type implements `IntoResourceContents`, and whose future is `Send`",
    note = "a future is not `Send` when it holds a `std::sync::MutexGuard`, an `Rc` or a `RefCell` borrow across an `.await`: drop it before the `.await`, or use `tokio::sync::Mutex`",
    note = "`Args<T>` needs `T: serde::Deserialize + JsonSchema` of schemars 1, re-exported as `oxmcp::schemars` (a schemars 0.8 `JsonSchema` does not count); `State<X>` needs a `Router<X>`",
    note = "to see which argument or return type is at fault, put `#[oxmcp::server::debug_handler]` on the function (feature `macros`)"
)]
pub trait IntoResource<M, S>: ResourceParts<M, S> + Sized {}

/// Tells a bare handler's impls from a definition's.
pub struct BareResource;
/// Tells a definition's impls from a bare handler's.
pub struct DefinedResource;

impl<H, T, S> IntoResource<(BareResource, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoResourceContents,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> IntoResource<(DefinedResource, T), S> for ResourceDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoResourceContents,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<H, T, S> ResourceParts<(BareResource, T), S> for H
where
    H: Handler<T, S>,
    H::Output: IntoResourceContents,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_resource_def(self) -> ResourceDef<Box<ErasedResource<S>>, ()> {
        resource::<H, T>(self).into_resource_def()
    }
}

impl<H, T, S> ResourceParts<(DefinedResource, T), S> for ResourceDef<H, T>
where
    H: Handler<T, S>,
    H::Output: IntoResourceContents,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    fn into_resource_def(self) -> ResourceDef<Box<ErasedResource<S>>, ()> {
        fn contents<O: IntoResourceContents>(output: O) -> Result<ContentsFn, ToolError> {
            Ok(Box::new(move |uri: &str, mime: Option<&str>| {
                output.into_contents(uri, mime)
            }))
        }
        let erased: Arc<ErasedResource<S>> =
            Arc::new(Typed::<H, T, _>::new(self.handler, contents::<H::Output>));
        let erased: Box<ErasedResource<S>> = Box::new(super::handler::Layered {
            inner: erased,
            layers: Some(
                self.layers
                    .unwrap_or_else(super::middleware::Endpoint::base),
            ),
            scopes: self.scopes,
        });
        ResourceDef {
            handler: erased,
            layers: None,
            scopes: None,
            name: self.name,
            title: self.title,
            description: self.description,
            mime_type: self.mime_type,
            size: self.size,
            annotations: self.annotations,
            icons: self.icons,
            meta: self.meta,
            completers: self.completers,
            _marker: PhantomData,
        }
    }
}

impl<S> ResourceDef<Box<ErasedResource<S>>, ()> {
    pub(crate) fn into_static(self, uri: &str) -> StaticParts<S> {
        let mut def = Resource::new(uri, self.name.unwrap_or_else(|| uri.to_owned()));
        def.title = self.title;
        def.description = self.description;
        def.mime_type = self.mime_type.clone();
        def.size = self.size;
        def.annotations = self.annotations;
        def.icons = self.icons;
        def.meta = self.meta;
        let entry = ResourceEntry {
            mime_type: self.mime_type,
            handler: Arc::from(self.handler),
            completers: self.completers,
        };
        StaticParts { def, entry }
    }

    /// # Panics
    /// If the template does not parse.
    pub(crate) fn into_template(self, template: &str) -> TemplateParts<S> {
        let parsed = UriTemplate::parse(template)
            .unwrap_or_else(|e| panic!("invalid resource template: {e}"));
        for (variable, _) in &self.completers {
            assert!(
                parsed.variables().contains(&variable.as_str()),
                "template {template:?} has no variable {variable:?} to complete"
            );
        }
        let mut def =
            ResourceTemplate::new(template, self.name.unwrap_or_else(|| template.to_owned()));
        def.title = self.title;
        def.description = self.description;
        def.mime_type = self.mime_type.clone();
        def.annotations = self.annotations;
        def.icons = self.icons;
        def.meta = self.meta;
        let entry = ResourceEntry {
            mime_type: self.mime_type,
            handler: Arc::from(self.handler),
            completers: self.completers,
        };
        TemplateParts {
            def,
            template: parsed,
            entry,
        }
    }
}

/// A template's variables, by name, as a URI fitting it gave them.
pub(crate) type Variables = Vec<(String, String)>;

/// The default of [`Router::max_uri_length`](crate::server::Router::max_uri_length).
pub(crate) const DEFAULT_MAX_URI_LENGTH: usize = 64 * 1024;

impl super::shared::Shared {
    /// The resource `uri` names, static or through a template (with the template's
    /// variables); an error if there is none or the URI is longer than the server accepts.
    pub(crate) fn find_resource(
        &self,
        uri: &str,
        version: ProtocolVersion,
    ) -> Result<(ResourceEntry<()>, Variables), ErrorObject> {
        let max = self.config().max_uri_length;
        if uri.len() > max {
            return Err(ErrorObject::invalid_params(format!(
                "resource URI too long: {:?}; this server reads URIs of at most {max} bytes",
                echo(uri)
            )));
        }
        if let Some(entry) = self.resources.snapshot().get(uri) {
            return Ok((entry.clone(), Vec::new()));
        }
        self.templates
            .snapshot()
            .items
            .values()
            .find_map(|item| {
                item.entry
                    .template
                    .matches(uri)
                    .map(|vars| (item.entry.entry.clone(), vars))
            })
            .ok_or_else(|| super::error::resource_not_found(uri, version))
    }
}

/// Moves an entry's state in: a `Router<S>` entry becomes a `Router<S2>` one.
pub(crate) fn supply<S, S2>(
    entry: ResourceEntry<S>,
    supplier: &impl super::Supplier<S, S2>,
) -> ResourceEntry<S2> {
    ResourceEntry {
        mime_type: entry.mime_type,
        handler: supplier.supply(entry.handler),
        completers: entry.completers,
    }
}

/// Serves the files below `root`: a handler for a template with one `{+path}` variable
/// (`Router::resource_template("files://{+path}", files("/srv/docs"))`).
///
/// Paths that leave the root are refused, whether by `..`, an absolute path, or a symbolic
/// link that points outside. Text files (valid UTF-8) are sent as text, others as blobs; the
/// MIME type comes from the file extension.
pub fn files(
    root: impl Into<PathBuf>,
) -> impl Handler<(super::Uri<FilePath>,), (), Output = Result<FileContents, ToolError>> {
    let root: Arc<Path> = Arc::from(root.into());
    move |super::Uri(FilePath { path }): super::Uri<FilePath>| {
        let root = root.clone();
        async move { read_file_under(&root, &path).await }
    }
}

/// The `{+path}` variable of a [`files`] template.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct FilePath {
    /// The path relative to the root.
    pub path: String,
}

async fn read_file_under(root: &Path, relative: &str) -> Result<FileContents, ToolError> {
    let path = resolve_under(root, relative)?;
    let data = tokio::fs::read(&path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => not_found(relative),
        _ => ToolError::internal(format!("could not read {:?}", echo(relative))),
    })?;
    Ok(FileContents::new(&path, data))
}

/// The contents of a file: text when it is UTF-8, a blob otherwise.
#[derive(Debug)]
pub struct FileContents {
    mime_type: &'static str,
    data: Vec<u8>,
}

impl FileContents {
    /// The contents `data` of the file at `path`, with the MIME type its extension says
    /// ([`mime_type_for`]).
    pub fn new(path: &Path, data: Vec<u8>) -> Self {
        FileContents {
            mime_type: mime_type_for(path),
            data,
        }
    }
}

impl IntoResourceContents for FileContents {
    fn into_contents(
        self,
        uri: &str,
        _mime: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        match String::from_utf8(self.data) {
            Ok(text) => String::into_contents(text, uri, Some(self.mime_type)),
            Err(e) => Blob::with_mime_type(e.into_bytes(), self.mime_type).into_contents(uri, None),
        }
    }
}

fn not_found(what: &str) -> ToolError {
    ToolError::resource_not_found(what)
}

/// Joins `relative` to `root`, refusing anything that would end up outside it.
pub(crate) fn resolve_under(root: &Path, relative: &str) -> Result<PathBuf, ToolError> {
    let refuse = |why: &str| {
        ToolError::invalid_arguments(format!("path {:?} refused: {why}", echo(relative)))
    };
    if relative.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    let rel = Path::new(relative);
    for component in rel.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it climbs out with `..`")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("it is absolute")),
        }
    }
    let root = root
        .canonicalize()
        .map_err(|_| ToolError::internal("the resource root is missing"))?;
    let real = root
        .join(rel)
        .canonicalize()
        .map_err(|_| not_found(relative))?;
    if !real.starts_with(&root) {
        return Err(refuse("it leads outside the root through a link"));
    }
    if !real.is_file() {
        return Err(not_found(relative));
    }
    Ok(real)
}

/// The MIME type of a file, from its extension (`application/octet-stream` when unknown):
/// the one [`files`] serves it with.
///
/// ```
/// use std::path::Path;
/// assert_eq!(oxmcp::server::mime_type_for(Path::new("notes/a.md")), "text/markdown");
/// ```
pub fn mime_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "rs" | "py" | "go" | "c" | "h" | "ts" | "sh" | "ini" | "cfg" => "text/plain",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_root() {
        let dir = std::env::temp_dir().join(format!("oxmcp-files-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/ok.txt"), "fine").unwrap();
        std::fs::write(dir.join("secret.txt"), "secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("escape.txt")).unwrap();

        assert!(resolve_under(&root, "sub/ok.txt").is_ok());
        assert!(resolve_under(&root, "./sub/ok.txt").is_ok());
        for bad in [
            "../secret.txt",
            "sub/../../secret.txt",
            "/etc/passwd",
            "a\0b",
        ] {
            let err = resolve_under(&root, bad).unwrap_err().to_string();
            assert!(err.contains("refused"), "{bad}: {err}");
        }
        #[cfg(unix)]
        assert!(resolve_under(&root, "escape.txt")
            .unwrap_err()
            .to_string()
            .contains("link"));
        assert!(resolve_under(&root, "missing.txt").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
