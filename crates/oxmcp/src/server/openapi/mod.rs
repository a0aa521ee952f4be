//! OpenAPI import: every operation of an HTTP API's OpenAPI document (3.0 or 3.1, JSON or
//! YAML) as a tool of a [`Router`], whose calls are made with `reqwest` (feature `openapi`).
//!
//! Each operation becomes one tool:
//! - named after its `operationId` (characters a tool name cannot hold become `_`), or
//!   after its method and path (`get_pets_petId`) when it has none; a name taken already
//!   gets a `_2`, `_3`... suffix;
//! - described by its summary and description;
//! - whose input schema has one property per path, query, header and cookie parameter
//!   (named as the parameter; one that clashes with another's name is `{in}_{name}`), and
//!   a `body` property for the request body; `$ref`s are resolved and inlined, a
//!   reference cycle is cut (the inner occurrence accepts anything, with a `$comment`
//!   saying so), as is an expansion past a size budget; 3.0 schemas are translated to
//!   JSON Schema 2020-12 (`nullable`, boolean `exclusiveMinimum`...);
//! - whose output schema is the JSON schema of its success (2xx) response: the response
//!   body becomes the result's structured content (wrapped as `{"result": ...}` when it
//!   is not an object, as [`Json`](crate::server::Json) does) and its text;
//! - annotated read-only for `GET` and `HEAD`, idempotent for `PUT` and `DELETE`,
//!   destructive for `DELETE`.
//!
//! A call builds the request from the arguments (path parameters percent-encoded, query
//! parameters per their `style`/`explode`, a JSON, form or raw body per the operation's
//! media type), lets the [`OpenApi::auth`] hook add credentials, and sends it with a
//! timeout. A response that is not a success is a tool error (`isError: true`) that gives
//! the status and the start of the body; a success body larger than
//! [`OpenApi::max_response_bytes`] is refused rather than read whole.
//!
//! ```
//! use oxmcp::server::openapi::OpenApi;
//! use oxmcp::server::Router;
//!
//! let spec = r#"
//! openapi: 3.1.0
//! info: { title: Pets, version: "1" }
//! paths:
//!   /pets/{petId}:
//!     get:
//!       operationId: getPet
//!       tags: [pets]
//!       parameters:
//!         - { name: petId, in: path, required: true, schema: { type: integer } }
//!       responses:
//!         "200":
//!           description: A pet
//!           content:
//!             application/json:
//!               schema: { type: object, properties: { name: { type: string } } }
//! "#;
//! let router: Router = OpenApi::parse(spec)?
//!     .base_url("http://127.0.0.1:8080")
//!     .header("x-api-key", "secret")
//!     .include_tags(["pets"])
//!     .router()?;
//! let tool = router.tools().next().unwrap();
//! assert_eq!(tool.name, "getPet");
//! assert_eq!(tool.input_schema["required"], serde_json::json!(["petId"]));
//! # Ok::<(), oxmcp::server::openapi::OpenApiError>(())
//! ```

mod call;
mod schema;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use oxmcp_protocol::tools::ToolAnnotations;
use oxmcp_protocol::JsonObject;
use serde_json::{json, Map, Value};

use self::call::{Backend, BodyKind, Location, Operation, Param};
use self::schema::{deref, kind, Resolver};
use crate::rpc::BoxFuture;
use crate::server::{tool, Args, Router, ToolError};

/// The schema nodes one tool's input (or output) schema may have once its `$ref`s are
/// inlined; past it, references are cut.
const SCHEMA_BUDGET: usize = 20_000;
/// The longest tool description kept (bytes); longer ones are cut with `…`.
const MAX_DESCRIPTION: usize = 4096;
/// The HTTP methods an OpenAPI path item may hold operations for.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An OpenAPI document that could not be imported: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiError {
    message: String,
}

impl OpenApiError {
    fn new(message: impl Into<String>) -> Self {
        OpenApiError {
            message: message.into(),
        }
    }
}

impl fmt::Display for OpenApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenAPI import: {}", self.message)
    }
}

impl std::error::Error for OpenApiError {}

/// The hook that adds credentials to each request ([`OpenApi::auth`]).
type AuthHook =
    Arc<dyn Fn(reqwest::Request) -> BoxFuture<Result<reqwest::Request, ToolError>> + Send + Sync>;

/// An OpenAPI document on its way to a [`Router`]: where the API is, how to reach it,
/// which operations to keep. See the [module documentation](self).
#[must_use]
pub struct OpenApi {
    doc: Value,
    v30: bool,
    base_url: Option<String>,
    client: Option<reqwest::Client>,
    headers: Vec<(String, String)>,
    auth: Option<AuthHook>,
    timeout: Duration,
    max_response_bytes: usize,
    filter: Filter,
}

impl fmt::Debug for OpenApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApi")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Which operations become tools.
#[derive(Default)]
struct Filter {
    include_tags: Option<HashSet<String>>,
    exclude_tags: HashSet<String>,
    include_paths: Vec<String>,
    exclude_paths: Vec<String>,
    include_methods: Option<HashSet<String>>,
    exclude_methods: HashSet<String>,
}

impl Filter {
    fn keeps(&self, method: &str, path: &str, tags: &[&str]) -> bool {
        if let Some(include) = &self.include_tags {
            if !tags.iter().any(|t| include.contains(*t)) {
                return false;
            }
        }
        if tags.iter().any(|t| self.exclude_tags.contains(*t)) {
            return false;
        }
        if !self.include_paths.is_empty() && !self.include_paths.iter().any(|p| glob(p, path)) {
            return false;
        }
        if self.exclude_paths.iter().any(|p| glob(p, path)) {
            return false;
        }
        if let Some(include) = &self.include_methods {
            if !include.contains(method) {
                return false;
            }
        }
        !self.exclude_methods.contains(method)
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl OpenApi {
    /// Reads a document in JSON or YAML (JSON when it starts with `{`).
    ///
    /// # Errors
    /// If it is neither, or not an OpenAPI 3.0 or 3.1 document.
    pub fn parse(text: &str) -> Result<Self, OpenApiError> {
        let doc: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| OpenApiError::new(format!("the document is not valid JSON: {e}")))?
        } else {
            serde_yaml_ng::from_str(text)
                .map_err(|e| OpenApiError::new(format!("the document is not valid YAML: {e}")))?
        };
        Self::from_value(doc)
    }

    /// A document already parsed.
    ///
    /// # Errors
    /// If it is not an OpenAPI 3.0 or 3.1 document.
    pub fn from_value(doc: Value) -> Result<Self, OpenApiError> {
        if !doc.is_object() {
            return Err(OpenApiError::new(format!(
                "expected an OpenAPI document (an object), found {}",
                kind(&doc)
            )));
        }
        let version = match doc.get("openapi") {
            Some(Value::String(v)) => v.clone(),
            Some(other) => {
                return Err(OpenApiError::new(format!(
                    "`openapi` must be a version string such as \"3.1.0\", found {}",
                    kind(other)
                )))
            }
            None if doc.get("swagger").is_some() => {
                return Err(OpenApiError::new(
                    "Swagger 2.0 documents are not supported: expected OpenAPI 3.0 or 3.1 (convert it first)",
                ))
            }
            None => {
                return Err(OpenApiError::new(
                    "not an OpenAPI document: expected an `openapi` field such as \"3.1.0\"",
                ))
            }
        };
        let v30 = version.starts_with("3.0");
        if !(v30 || version.starts_with("3.1") || version.starts_with("3.2")) {
            return Err(OpenApiError::new(format!(
                "OpenAPI {version} is not supported: expected 3.0 or 3.1"
            )));
        }
        Ok(OpenApi {
            doc,
            v30,
            base_url: None,
            client: None,
            headers: Vec::new(),
            auth: None,
            timeout: Duration::from_secs(60),
            max_response_bytes: 4 << 20,
            filter: Filter::default(),
        })
    }

    /// Where the API is: prefixed to each operation's path. Without it, the document's
    /// first `servers` entry (its variables at their defaults), which must be absolute.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The HTTP client the calls go through (its connection pool, proxy, TLS settings,
    /// default headers). Without it, a default client.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// A header sent with every request (an API key, a `User-Agent`); the arguments of a
    /// header parameter of the same name win.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A hook that sees each request just before it is sent and returns it with
    /// credentials added (a bearer token it refreshes, a signature); an error it returns
    /// is the call's.
    ///
    /// ```
    /// use oxmcp::server::openapi::OpenApi;
    /// # let spec = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#;
    ///
    /// let api = OpenApi::parse(spec)?.auth(|mut request: reqwest::Request| async move {
    ///     let token = "fresh-token"; // from a cache, a refresh...
    ///     request
    ///         .headers_mut()
    ///         .insert("authorization", format!("Bearer {token}").parse().unwrap());
    ///     Ok(request)
    /// });
    /// # let _ = api;
    /// # Ok::<(), oxmcp::server::openapi::OpenApiError>(())
    /// ```
    pub fn auth<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(reqwest::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<reqwest::Request, ToolError>> + Send + 'static,
    {
        self.auth = Some(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// The longest one call may take, response body included (60 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest success body a call reads (4 MiB unless set); a larger one fails the
    /// call. An error body is cut to its first 4 KiB either way.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Keeps only the operations with one of these tags.
    pub fn include_tags<I: IntoIterator<Item = T>, T: Into<String>>(mut self, tags: I) -> Self {
        self.filter
            .include_tags
            .get_or_insert_with(HashSet::new)
            .extend(tags.into_iter().map(Into::into));
        self
    }

    /// Leaves out the operations with any of these tags.
    pub fn exclude_tags<I: IntoIterator<Item = T>, T: Into<String>>(mut self, tags: I) -> Self {
        self.filter
            .exclude_tags
            .extend(tags.into_iter().map(Into::into));
        self
    }

    /// Keeps only the operations whose path (as written in the document, such as
    /// `/pets/{petId}`) matches one of these patterns, where `*` matches anything
    /// (`/pets*`).
    pub fn include_paths<I: IntoIterator<Item = T>, T: Into<String>>(mut self, paths: I) -> Self {
        self.filter
            .include_paths
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Leaves out the operations whose path matches one of these patterns (`*` matches
    /// anything).
    pub fn exclude_paths<I: IntoIterator<Item = T>, T: Into<String>>(mut self, paths: I) -> Self {
        self.filter
            .exclude_paths
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Keeps only the operations of these HTTP methods (any case: `"GET"`, `"get"`).
    pub fn include_methods<I: IntoIterator<Item = T>, T: AsRef<str>>(mut self, methods: I) -> Self {
        self.filter
            .include_methods
            .get_or_insert_with(HashSet::new)
            .extend(methods.into_iter().map(|m| m.as_ref().to_ascii_lowercase()));
        self
    }

    /// Leaves out the operations of these HTTP methods.
    pub fn exclude_methods<I: IntoIterator<Item = T>, T: AsRef<str>>(mut self, methods: I) -> Self {
        self.filter
            .exclude_methods
            .extend(methods.into_iter().map(|m| m.as_ref().to_ascii_lowercase()));
        self
    }

    /// The router: one tool per operation kept.
    ///
    /// # Errors
    /// If an operation cannot be turned into a tool (a `$ref` that points at nothing or
    /// outside the document, a malformed parameter or schema: the message names the
    /// operation and the place), or no base URL is known.
    pub fn router(self) -> Result<Router, OpenApiError> {
        let base_url = self.resolve_base_url()?;
        let client = self.client.clone().unwrap_or_else(|| {
            // reqwest needs a crypto provider before a client is built.
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        });
        let backend = Arc::new(Backend {
            client,
            base_url,
            headers: self.headers.clone(),
            auth: self.auth.clone(),
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
        });
        let mut router = Router::new();
        let mut names = HashSet::new();
        let Some(paths) = self.doc.get("paths") else {
            return Ok(router);
        };
        let Value::Object(paths) = paths else {
            return Err(OpenApiError::new(format!(
                "`paths` must be an object, found {}",
                kind(paths)
            )));
        };
        for (path, item) in paths {
            let item = deref(&self.doc, item)
                .map_err(|e| OpenApiError::new(format!("path `{path}`: {e}")))?;
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let tags: Vec<&str> = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if !self.filter.keeps(method, path, &tags) {
                    continue;
                }
                let built = self.operation(method, path, item, op).map_err(|e| {
                    OpenApiError::new(format!("{} {path}: {e}", method.to_ascii_uppercase()))
                })?;
                let name = unique_name(&mut names, tool_name(op, method, path));
                router = register(router, &name, built, &backend);
            }
        }
        Ok(router)
    }

    fn resolve_base_url(&self) -> Result<String, OpenApiError> {
        if let Some(url) = &self.base_url {
            return Ok(url.trim_end_matches('/').to_owned());
        }
        let server = self
            .doc
            .get("servers")
            .and_then(|s| s.get(0))
            .ok_or_else(|| OpenApiError::new("the document names no `servers`: give a base URL"))?;
        let mut url = server
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| OpenApiError::new("`servers[0].url` must be a string"))?
            .to_owned();
        if let Some(Value::Object(vars)) = server.get("variables") {
            for (name, var) in vars {
                if let Some(default) = var.get("default").and_then(Value::as_str) {
                    url = url.replace(&format!("{{{name}}}"), default);
                }
            }
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(OpenApiError::new(format!(
                "the document's server URL `{url}` is not an absolute http(s) URL: give a base URL"
            )));
        }
        Ok(url.trim_end_matches('/').to_owned())
    }

    /// One operation: its parameters, body, schemas and description.
    fn operation(
        &self,
        method: &str,
        path: &str,
        item: &Value,
        op: &Value,
    ) -> Result<Built, String> {
        let doc = &self.doc;
        // Path-level parameters, overridden by the operation's of the same name and place.
        let mut declared: Vec<&Value> = Vec::new();
        for list in [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
        {
            let Value::Array(list) = list else {
                return Err(format!(
                    "`parameters` must be an array, found {}",
                    kind(list)
                ));
            };
            for (i, p) in list.iter().enumerate() {
                let p = deref(doc, p).map_err(|e| format!("parameters[{i}]: {e}"))?;
                let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
                declared.retain(|q| key(q) != key(p));
                declared.push(p);
            }
        }
        let mut resolver = Resolver::new(doc, self.v30, SCHEMA_BUDGET);
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut params = Vec::new();
        for p in declared {
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or("a parameter without a `name`")?;
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                Some("header") => Location::Header,
                Some("cookie") => Location::Cookie,
                other => {
                    let found = other.map_or("nothing".to_owned(), |s| format!("`{s}`"));
                    return Err(format!(
                        "parameter `{name}`: `in` must be path, query, header or cookie, found {found}"
                    ));
                }
            };
            let schema = match (p.get("schema"), p.get("content")) {
                (Some(schema), _) => Some(schema),
                (None, Some(Value::Object(content))) => {
                    content.values().next().and_then(|m| m.get("schema"))
                }
                _ => None,
            };
            let mut schema = match schema {
                Some(s) => resolver
                    .schema(s)
                    .map_err(|e| format!("parameter `{name}`: {e}"))?,
                None => json!({"type": "string"}),
            };
            if let (Value::Object(map), Some(description)) = (&mut schema, p.get("description")) {
                map.entry("description")
                    .or_insert_with(|| description.clone());
            }
            let arg = if properties.contains_key(name) || name == "body" {
                format!("{}_{name}", location.as_str())
            } else {
                name.to_owned()
            };
            let is_required = location == Location::Path
                || p.get("required").and_then(Value::as_bool) == Some(true);
            if is_required {
                required.push(Value::String(arg.clone()));
            }
            properties.insert(arg.clone(), schema);
            params.push(Param {
                arg,
                name: name.to_owned(),
                location,
                style: p.get("style").and_then(Value::as_str).map(str::to_owned),
                explode: p.get("explode").and_then(Value::as_bool),
            });
        }
        let mut body = None;
        if let Some(request_body) = op.get("requestBody") {
            let request_body = deref(doc, request_body).map_err(|e| format!("requestBody: {e}"))?;
            if let Some((media, kind, schema)) = pick_media(request_body.get("content")) {
                let mut schema = match (kind, schema) {
                    (BodyKind::Raw, _) => json!({"type": "string"}),
                    (_, Some(s)) => resolver
                        .schema(s)
                        .map_err(|e| format!("requestBody: {e}"))?,
                    (_, None) => json!({}),
                };
                if let (Value::Object(map), Some(d)) =
                    (&mut schema, request_body.get("description"))
                {
                    map.entry("description").or_insert_with(|| d.clone());
                }
                let arg = if properties.contains_key("body") {
                    "requestBody".to_owned()
                } else {
                    "body".to_owned()
                };
                if request_body.get("required").and_then(Value::as_bool) == Some(true) {
                    required.push(Value::String(arg.clone()));
                }
                properties.insert(arg.clone(), schema);
                body = Some((arg, media, kind));
            }
        }
        let mut input = JsonObject::new();
        input.insert("type".into(), "object".into());
        input.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            input.insert("required".into(), Value::Array(required));
        }
        input.insert("additionalProperties".into(), false.into());

        let output = self.output_schema(op)?;
        let description = describe(op);
        Ok(Built {
            operation: Operation {
                method: method
                    .to_ascii_uppercase()
                    .parse()
                    .map_err(|_| format!("bad method {method}"))?,
                path: path.to_owned(),
                params,
                body,
                wrap_output: output.as_ref().map(|(_, wrap)| *wrap),
            },
            input,
            output: output.map(|(schema, _)| schema),
            description,
        })
    }

    /// The JSON schema of the operation's success response, as an object schema, and
    /// whether a body must be wrapped to fit it.
    fn output_schema(&self, op: &Value) -> Result<Option<(JsonObject, bool)>, String> {
        let Some(Value::Object(responses)) = op.get("responses") else {
            return Ok(None);
        };
        let mut codes: Vec<&String> = responses
            .keys()
            .filter(|c| c.starts_with('2') && c.len() == 3)
            .collect();
        codes.sort();
        let Some(code) = codes.first() else {
            return Ok(None);
        };
        let response = deref(&self.doc, &responses[code.as_str()])
            .map_err(|e| format!("responses.{code}: {e}"))?;
        let Some((_, BodyKind::Json, Some(schema))) = pick_media(response.get("content")) else {
            return Ok(None);
        };
        let schema = Resolver::new(&self.doc, self.v30, SCHEMA_BUDGET)
            .schema(schema)
            .map_err(|e| format!("responses.{code}: {e}"))?;
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        Ok(Some(if is_object {
            let Value::Object(map) = schema else {
                unreachable!("an object schema has a type")
            };
            (map, false)
        } else {
            let wrapped = json!({
                "type": "object",
                "properties": {"result": schema},
                "required": ["result"],
            });
            let Value::Object(map) = wrapped else {
                unreachable!("json! of an object")
            };
            (map, true)
        }))
    }
}

/// One operation, ready to become a tool.
struct Built {
    operation: Operation,
    input: JsonObject,
    output: Option<JsonObject>,
    description: Option<String>,
}

fn register(router: Router, name: &str, built: Built, backend: &Arc<Backend>) -> Router {
    let method = built.operation.method.clone();
    let operation = Arc::new(built.operation);
    let backend = backend.clone();
    let handler = move |Args(args): Args<JsonObject>| {
        let (operation, backend) = (operation.clone(), backend.clone());
        async move { backend.call(&operation, args).await }
    };
    let mut def = tool(handler).input_schema(built.input);
    if let Some(output) = built.output {
        def = def.output_schema(output);
    }
    if let Some(description) = built.description {
        def = def.description(description);
    }
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = Some(matches!(method.as_str(), "GET" | "HEAD"));
    annotations.destructive_hint = Some(method == reqwest::Method::DELETE);
    annotations.idempotent_hint = Some(matches!(
        method.as_str(),
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
    ));
    annotations.open_world_hint = Some(true);
    router.tool(name, def.annotations(annotations))
}

/// The media type a body or response is sent in: JSON first, then a form, then anything
/// else as raw text.
fn pick_media(content: Option<&Value>) -> Option<(String, BodyKind, Option<&Value>)> {
    let Some(Value::Object(content)) = content else {
        return None;
    };
    let is_json = |m: &str| {
        let m = m.split(';').next().unwrap_or(m).trim();
        m == "application/json" || m.ends_with("+json") || m == "*/*"
    };
    let pick = content
        .iter()
        .find(|(m, _)| is_json(m))
        .map(|(m, v)| (m, BodyKind::Json, v))
        .or_else(|| {
            content
                .iter()
                .find(|(m, _)| m.starts_with("application/x-www-form-urlencoded"))
                .map(|(m, v)| (m, BodyKind::Form, v))
        })
        .or_else(|| content.iter().next().map(|(m, v)| (m, BodyKind::Raw, v)))?;
    let (media, kind, value) = pick;
    let media = if media == "*/*" {
        "application/json".to_owned()
    } else {
        media.clone()
    };
    Some((media, kind, value.get("schema")))
}

/// The tool's description: the operation's summary and description, bounded.
fn describe(op: &Value) -> Option<String> {
    let parts: Vec<&str> = ["summary", "description"]
        .iter()
        .filter_map(|k| op.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return None;
    }
    let mut text = parts.join("\n\n");
    if text.len() > MAX_DESCRIPTION {
        let mut end = MAX_DESCRIPTION;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    Some(text)
}

/// The tool name of an operation: its `operationId`, else its method and path, with the
/// characters a tool name cannot hold replaced.
fn tool_name(op: &Value, method: &str, path: &str) -> String {
    let raw = match op.get("operationId").and_then(Value::as_str) {
        Some(id) if !id.trim().is_empty() => id.to_owned(),
        _ => format!("{method}{}", path.replace(['{', '}'], "")),
    };
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            c
        } else {
            '_'
        };
        if !(c == '_' && name.ends_with('_')) {
            name.push(c);
        }
    }
    let name = name.trim_matches('_');
    let mut name = if name.is_empty() { "operation" } else { name }.to_owned();
    name.truncate(120);
    name
}

/// `name`, or `name_2`, `name_3`... if it is taken.
fn unique_name(taken: &mut HashSet<String>, name: String) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    let mut n = 1;
    loop {
        n += 1;
        let candidate = format!("{name}_{n}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
}

impl Router {
    /// The tools of an OpenAPI document (3.0 or 3.1, JSON or YAML), one per operation,
    /// calling the API at `base_url` through `client`; see [`openapi`](crate::server::openapi)
    /// for the details and [`OpenApi`] for filters, auth and limits.
    ///
    /// # Errors
    /// If the document cannot be read or an operation cannot be turned into a tool.
    pub fn from_openapi(
        spec: &str,
        base_url: &str,
        client: reqwest::Client,
    ) -> Result<Router, OpenApiError> {
        OpenApi::parse(spec)?
            .base_url(base_url)
            .client(client)
            .router()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        let op = json!({"operationId": "repos/get-content"});
        assert_eq!(tool_name(&op, "get", "/x"), "repos_get-content");
        assert_eq!(
            tool_name(&json!({}), "get", "/pets/{petId}/toys"),
            "get_pets_petId_toys"
        );
        let mut taken = HashSet::new();
        assert_eq!(unique_name(&mut taken, "a".into()), "a");
        assert_eq!(unique_name(&mut taken, "a".into()), "a_2");
        assert_eq!(unique_name(&mut taken, "a".into()), "a_3");
    }

    #[test]
    fn globs() {
        assert!(glob("/pets*", "/pets/{id}"));
        assert!(glob("/pets", "/pets"));
        assert!(!glob("/pets", "/pets/1"));
        assert!(glob("*/toys", "/pets/{id}/toys"));
        assert!(glob("/a*b*c", "/axxbyyc"));
        assert!(!glob("/a*b*c", "/axxbyy"));
    }
}
