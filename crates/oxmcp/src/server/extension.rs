//! Extensions (SEP-2133): optional features outside the core protocol, named by an
//! identifier such as `io.modelcontextprotocol/tasks` and negotiated through the
//! `extensions` member of the client's and the server's capabilities.
//!
//! A [`ServerExtension`] is installed on a [`Router`] with [`Router::extension`]: its identifier
//! and settings are advertised under `capabilities.extensions` (in `server/discover` and
//! `initialize`), and its [`install`](ServerExtension::install) adds whatever it brings with the
//! router's ordinary API: tools, resources, prompts, layers, and methods of its own
//! ([`Router::method`]). Extensions the client declares that the server does not know are
//! ignored, as the SEP says.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::JsonObject;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

use super::context::Context;
use super::extract::decode_params;
use super::Router;
use crate::rpc::Reply;

/// An extension of the protocol (SEP-2133): an identifier, the settings it advertises
/// under `capabilities.extensions` (in `server/discover` and `initialize`), and what it
/// adds to a router ([`Router::extension`]): tools, resources, prompts, layers, methods of
/// its own ([`Router::method`]). Extensions a client declares that the server does not
/// know are ignored.
///
/// ```
/// use oxmcp::server::{MethodRequest, Router, ServerExtension};
///
/// /// Answers `com.example/echo` with its params.
/// struct Echo;
///
/// impl<S: Clone + Send + Sync + 'static> ServerExtension<S> for Echo {
///     fn id(&self) -> &str {
///         "com.example/echo"
///     }
///
///     fn install(self, router: Router<S>) -> Router<S> {
///         router.method("com.example/echo", |request: MethodRequest| async move {
///             let params: serde_json::Value = request.decode()?;
///             Ok(serde_json::json!({ "echo": params }))
///         })
///     }
/// }
///
/// let router: Router = Router::new().extension(Echo);
/// # let _ = router;
/// ```
///
/// `S` is the router's state type; an extension that needs none implements `ServerExtension<S>`
/// for every `S`, so it installs on any router.
pub trait ServerExtension<S = ()> {
    /// The extension's identifier: a vendor prefix, a slash, a name
    /// (`io.modelcontextprotocol/tasks`, `com.example/audit`).
    fn id(&self) -> &str;

    /// The settings advertised under `capabilities.extensions[id]` (default: `{}`, support
    /// with no settings).
    fn settings(&self) -> JsonObject {
        JsonObject::new()
    }

    /// Adds what the extension brings to the router: tools, resources, prompts, layers,
    /// methods ([`Router::method`]). The default adds nothing.
    fn install(self, router: Router<S>) -> Router<S>
    where
        Self: Sized,
    {
        router
    }
}

/// A request for a method an extension added with [`Router::method`]: its params and the
/// request's [`Context`] (the client's capabilities, the values layers attached, ...).
#[derive(Debug)]
pub struct MethodRequest {
    method: String,
    params: Option<Box<RawValue>>,
    context: Context,
}

impl MethodRequest {
    /// The method called.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The params as raw JSON, `_meta` included, if the client sent any.
    pub fn params(&self) -> Option<&RawValue> {
        self.params.as_deref()
    }

    /// Decodes the params (absent params decode as `{}`).
    ///
    /// # Errors
    /// An invalid-params error that says which member is wrong and what was expected.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ErrorObject> {
        decode_params(self.params.as_deref().map_or("{}", RawValue::get))
    }

    /// The request's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// What a method handler answers: the result object, or a JSON-RPC error.
pub type MethodResult = Result<Value, ErrorObject>;

type BoxFuture = Pin<Box<dyn Future<Output = MethodResult> + Send>>;

/// A method handler, type-erased.
pub(crate) type MethodHandler = Arc<dyn Fn(MethodRequest) -> BoxFuture + Send + Sync>;

/// Erases a method handler.
pub(crate) fn method_handler<F, Fut>(f: F) -> MethodHandler
where
    F: Fn(MethodRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = MethodResult> + Send + 'static,
{
    Arc::new(move |request| Box::pin(f(request)))
}

/// Whether `id` has the shape SEP-2133 gives identifiers: a non-empty vendor prefix and a
/// non-empty name, separated by one `/`, without whitespace.
pub(crate) fn valid_id(id: &str) -> bool {
    match id.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && !name.is_empty()
                && !name.contains('/')
                && !id.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Runs a method handler; the result of a modern request gets `resultType: "complete"`
/// (unless the handler set one) and the server's `_meta`.
pub(crate) async fn run(
    handler: MethodHandler,
    method: String,
    params: Option<Box<RawValue>>,
    context: Context,
    server_meta: Option<Value>,
) -> Reply {
    let request = MethodRequest {
        method,
        params,
        context,
    };
    let mut result = handler(request).await?;
    let Value::Object(object) = &mut result else {
        return Err(ErrorObject::internal(
            "an extension method answered something other than a JSON object",
        ));
    };
    if let Some(meta) = server_meta {
        object
            .entry("resultType")
            .or_insert_with(|| Value::String("complete".to_owned()));
        object.entry("_meta").or_insert(meta);
    }
    super::reply::encode(&result)
}

impl Context {
    /// The settings the client declared for extension `id`, if it declared it.
    pub fn client_extension(&self, id: &str) -> Option<JsonObject> {
        self.client_capabilities().extensions?.remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn identifiers_need_a_prefix_and_a_name() {
        assert!(valid_id("io.modelcontextprotocol/tasks"));
        assert!(valid_id("com.example/x"));
        for bad in ["tasks", "/tasks", "io.x/", "a/b/c", "a b/c", ""] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
