//! The server as a protected resource: the verifier in front of the HTTP endpoint, its
//! metadata (RFC 9728) and its challenges (RFC 6750).

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

use super::{Auth, AuthError, TokenVerifier};

/// The default longest bearer token accepted: 16 KiB. Longer ones are refused before any
/// parsing.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// An MCP endpoint as an OAuth 2.1 protected resource: which verifier checks the bearer
/// tokens, and what its Protected Resource Metadata (RFC 9728) says.
///
/// Give it to [`HttpConfig::auth`](crate::server::http::HttpConfig::auth). Every request
/// then needs a valid `Authorization: Bearer` token (unless the resource is
/// [`optional`](ProtectedResource::optional)); one without gets `401` with a
/// `WWW-Authenticate: Bearer resource_metadata="…"` challenge that leads the client to the
/// metadata, and from there to the authorization server. Tokens are read from the
/// `Authorization` header only (one in the query string is ignored).
///
/// [`Router::serve_http`](crate::server::Router::serve_http) serves the metadata at
/// `/.well-known/oauth-protected-resource/mcp`; a server mounted in axum merges
/// [`metadata_router`](ProtectedResource::metadata_router) at the root of its app.
///
/// ```
/// use oxmcp::server::auth::{Jwks, JwtVerifier, ProtectedResource};
/// use oxmcp::server::http::HttpConfig;
///
/// let issuer = "https://auth.example.com";
/// let resource = "https://mcp.example.com/mcp";
/// let verifier = JwtVerifier::new(Jwks::discover(issuer), issuer).audience(resource);
/// let auth = ProtectedResource::new(resource, verifier)
///     .authorization_server(issuer)
///     .scopes_supported(["notes:read", "notes:write"]);
/// let config = HttpConfig::new().auth(auth);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct ProtectedResource {
    inner: Arc<Settings>,
}

struct Settings {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    verifier: Arc<dyn TokenVerifier>,
    optional: bool,
    max_token_len: usize,
}

impl std::fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtectedResource")
            .field("resource", &self.inner.resource)
            .field("authorization_servers", &self.inner.authorization_servers)
            .field("optional", &self.inner.optional)
            .finish_non_exhaustive()
    }
}

impl ProtectedResource {
    /// The endpoint at `resource` (its canonical URI, such as
    /// `https://mcp.example.com/mcp`), its tokens checked by `verifier`.
    pub fn new(resource: impl Into<String>, verifier: impl TokenVerifier) -> Self {
        ProtectedResource {
            inner: Arc::new(Settings {
                resource: resource.into(),
                authorization_servers: Vec::new(),
                scopes_supported: Vec::new(),
                verifier: Arc::new(verifier),
                optional: false,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
            }),
        }
    }

    fn edit(&mut self) -> &mut Settings {
        Arc::get_mut(&mut self.inner)
            .expect("a ProtectedResource is configured before it is shared")
    }

    /// Names an authorization server (its issuer URL) in the metadata; call again for
    /// several.
    ///
    /// # Panics
    /// If called on a clone.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.edit().authorization_servers.push(issuer.into());
        self
    }

    /// The scopes the metadata lists.
    ///
    /// # Panics
    /// If called on a clone.
    pub fn scopes_supported<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.edit().scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Lets requests without a token through (handlers see `Option<Auth>` as `None`; an
    /// item that needs a scope still answers `401`). A token that is sent must be valid.
    ///
    /// # Panics
    /// If called on a clone.
    pub fn optional(mut self) -> Self {
        self.edit().optional = true;
        self
    }

    /// The longest token accepted, in bytes. Default: [`DEFAULT_MAX_TOKEN_LEN`].
    ///
    /// # Panics
    /// If called on a clone.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.edit().max_token_len = bytes;
        self
    }

    /// The resource's canonical URI.
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The path the metadata is served at: `/.well-known/oauth-protected-resource`
    /// followed by the path of the resource URI.
    pub fn metadata_path(&self) -> String {
        let (_, path) = split_origin(&self.inner.resource);
        let path = path.trim_end_matches('/');
        format!("/.well-known/oauth-protected-resource{path}")
    }

    /// The metadata's URL (what challenges name in `resource_metadata`).
    pub fn metadata_url(&self) -> String {
        let (origin, _) = split_origin(&self.inner.resource);
        format!("{origin}{}", self.metadata_path())
    }

    /// The Protected Resource Metadata document (RFC 9728), as JSON.
    pub fn metadata_json(&self) -> String {
        let s = &self.inner;
        let mut document = serde_json::json!({
            "resource": s.resource,
            "authorization_servers": s.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !s.scopes_supported.is_empty() {
            document["scopes_supported"] = serde_json::json!(s.scopes_supported);
        }
        document.to_string()
    }

    /// An axum router that serves the metadata at
    /// [`metadata_path`](ProtectedResource::metadata_path), to merge at the root of an app that mounts
    /// the MCP endpoint.
    ///
    /// ```no_run
    /// use oxmcp::server::auth::{ApiKeys, ProtectedResource};
    /// use oxmcp::server::http::HttpConfig;
    /// use oxmcp::server::Router;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let auth = ProtectedResource::new("https://mcp.example.com/mcp", ApiKeys::new());
    /// let mcp = Router::new().into_http_service(HttpConfig::new().auth(auth.clone()));
    /// let app = axum::Router::new()
    ///     .nest_service("/mcp", mcp)
    ///     .merge(auth.metadata_router());
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn metadata_router(&self) -> axum::Router {
        let this = self.clone();
        axum::Router::new().route_service(
            &self.metadata_path(),
            tower::service_fn(move |request: http::Request<axum::body::Body>| {
                let answer = this.metadata_response(request.method());
                async move { Ok::<_, std::convert::Infallible>(answer) }
            }),
        )
    }

    /// The answer to a request for the metadata: cacheable, readable from any origin.
    pub(crate) fn metadata_response(&self, method: &http::Method) -> Response<Body> {
        let mut response = match *method {
            http::Method::GET | http::Method::HEAD => {
                let mut response = Response::new(Body::from(self.metadata_json()));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                );
                response
            }
            http::Method::OPTIONS => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::NO_CONTENT;
                response.headers_mut().insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, OPTIONS"),
                );
                response.headers_mut().insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("*"),
                );
                response
            }
            _ => {
                let mut response = Response::new(Body::from("method not allowed"));
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, OPTIONS"));
                response
            }
        };
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    }

    /// Who a request comes from, or the answer that refuses it.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<Authn, Challenge> {
        let s = &self.inner;
        let token = match bearer(headers) {
            Ok(Some(token)) => token,
            Ok(None) if s.optional => return Ok(Authn::Anonymous),
            Ok(None) => return Err(Challenge::NoToken),
            Err(why) => return Err(Challenge::Invalid(why.to_owned())),
        };
        if token.len() > s.max_token_len {
            return Err(Challenge::Invalid(format!(
                "the token is longer than {} bytes",
                s.max_token_len
            )));
        }
        match s.verifier.verify(token).await {
            Ok(auth) => Ok(Authn::Token(if auth.token().is_empty() {
                auth.with_token(token)
            } else {
                auth
            })),
            Err(AuthError::Unrecognized) => {
                Err(Challenge::Invalid("the token is not recognized".to_owned()))
            }
            Err(AuthError::InvalidToken(why)) => Err(Challenge::Invalid(why)),
            Err(AuthError::Unavailable(why)) => Err(Challenge::Unavailable(why)),
        }
    }

    /// The `401` (or `403`, `503`) answer to `challenge`; `scopes` are those the target
    /// needs, when known. A `401` names them in its `scope`, with a token or without, as
    /// the MCP authorization spec asks of a server (RFC 6750 §3: the scope needed for the
    /// resource asked for). When the target needs none, there is no `scope`: the client
    /// then asks for the metadata's `scopes_supported`, which naming here would make it
    /// prefer over the scopes it was configured with.
    pub(crate) fn refuse(&self, challenge: &Challenge, scopes: &[String]) -> Response<Body> {
        let metadata = self.metadata_url();
        let scope = scopes.join(" ");
        let (status, value, text) = match challenge {
            Challenge::NoToken => {
                let mut value = format!("Bearer resource_metadata=\"{metadata}\"");
                if !scope.is_empty() {
                    value.push_str(&format!(", scope=\"{}\"", quoted(&scope)));
                }
                (
                    StatusCode::UNAUTHORIZED,
                    value,
                    "this endpoint needs a bearer token (Authorization: Bearer ...)".to_owned(),
                )
            }
            Challenge::Invalid(why) => {
                let mut value = format!(
                    "Bearer resource_metadata=\"{metadata}\", error=\"invalid_token\", error_description=\"{}\"",
                    quoted(why)
                );
                if !scope.is_empty() {
                    value.push_str(&format!(", scope=\"{}\"", quoted(&scope)));
                }
                (StatusCode::UNAUTHORIZED, value, format!("invalid token: {why}"))
            }
            Challenge::InsufficientScope => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer resource_metadata=\"{metadata}\", error=\"insufficient_scope\", scope=\"{}\"",
                    quoted(&scope)
                ),
                format!("the token lacks a scope this needs: {scope}"),
            ),
            Challenge::Unavailable(why) => {
                let mut response = Response::new(Body::from(format!(
                    "cannot verify the token now: {why}"
                )));
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
        };
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    /// Whether `subject` may use a legacy session `owner` opened.
    pub(crate) fn same_subject(owner: Option<&str>, authn: Option<&Authn>) -> bool {
        let caller = match authn {
            Some(Authn::Token(auth)) => Some(auth.subject()),
            _ => None,
        };
        owner == caller
    }
}

/// Why a request is refused.
#[derive(Debug)]
pub(crate) enum Challenge {
    NoToken,
    Invalid(String),
    InsufficientScope,
    Unavailable(String),
}

/// The bearer token of the `Authorization` header: `None` without one, an error when the
/// header is there but is not a bearer token.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one Authorization header");
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("expected Authorization: Bearer <token>")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("expected Authorization: Bearer <token>");
    }
    let token = token.trim_matches(' ');
    if token.is_empty() {
        return Err("empty bearer token");
    }
    Ok(Some(token))
}

/// Text fit for a quoted-string: quotes and backslashes escaped, controls dropped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(200) {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            _ => {}
        }
    }
    out
}

/// `scheme://host[:port]` and the path (with query) of a URL.
fn split_origin(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('/') {
        Some(slash) => url.split_at(start + slash),
        None => (url, ""),
    }
}

/// What the transport learnt about the caller of a request.
#[derive(Clone, Debug)]
pub(crate) enum Authn {
    /// The endpoint takes tokens, and this request had none.
    Anonymous,
    /// The request's verified token.
    Token(Auth),
}

tokio::task_local! {
    /// The caller of the message being handled (set by the HTTP server around the
    /// handling of a `POST`, read when the connection builds a request's extensions).
    static CALLER: Authn;
}

/// Runs `f` with `authn` as the caller of what it handles. Not an `async fn`: that would
/// hold `f` twice (the argument, and the future awaiting it), in every connection's task.
pub(crate) fn with_caller<F: Future>(
    authn: Option<Authn>,
    f: F,
) -> impl Future<Output = F::Output> {
    match authn {
        Some(authn) => futures_util::future::Either::Left(CALLER.scope(authn, f)),
        None => futures_util::future::Either::Right(f),
    }
}

/// [`with_caller`], for synchronous work.
pub(crate) fn with_caller_sync<R>(authn: Option<Authn>, f: impl FnOnce() -> R) -> R {
    match authn {
        Some(authn) => CALLER.sync_scope(authn, f),
        None => f(),
    }
}

/// The caller of the message being handled, if the transport authenticates.
pub(crate) fn authenticated() -> Option<Authn> {
    CALLER.try_with(Clone::clone).ok()
}

/// The extensions a request starts with: its caller, when the transport authenticated it
/// (an [`Auth`] for a token, and the fact that the endpoint takes tokens).
pub(crate) fn request_extensions() -> http::Extensions {
    let mut extensions = http::Extensions::new();
    if let Some(authn) = authenticated() {
        if let Authn::Token(auth) = &authn {
            extensions.insert(auth.clone());
        }
        extensions.insert(authn);
    }
    extensions
}
