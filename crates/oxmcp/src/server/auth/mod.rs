//! Authorization: the server as an OAuth 2.1 protected resource (feature `auth`).
//!
//! A [`TokenVerifier`] turns the bearer token of a request into an [`Auth`] (who calls,
//! with which scopes) or refuses it. Verifiers that come with the SDK:
//!
//! - [`JwtVerifier`]: JWT access tokens (RFC 9068) checked against the keys of a [`Jwks`]
//!   (a file, a URL, or discovered from the issuer), or an explicit HS256 secret;
//! - [`Introspection`]: opaque tokens asked about at the authorization server (RFC 7662);
//! - [`ApiKeys`]: static keys, compared in constant time;
//!
//! and two that compose them: [`AnyOf`] (the first that recognises the token) and
//! [`Cached`] (remembers verified tokens until they expire).
//!
//! [`ProtectedResource`] puts a verifier in front of the Streamable HTTP server
//! ([`HttpConfig::auth`](crate::server::http::HttpConfig::auth)): it serves the Protected
//! Resource Metadata (RFC 9728) and answers requests without a valid token with the
//! `401` challenge that tells a client where to get one. Handlers see the caller with the
//! [`Auth`] extractor (or `Option<Auth>` where a token is optional).
//!
//! The guide [`securing`](crate::guide::securing) says which verifier to use when.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::error::ToolError;
use super::extract::{FromRequest, Request};

mod api_keys;
mod cache;
mod fetch;
mod introspect;
mod jwks;
mod jwt;
mod resource;
mod scopes;

pub use api_keys::ApiKeys;
pub use cache::{Cached, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL};
pub use introspect::Introspection;
pub use jwks::{Jwks, DEFAULT_JWKS_REFRESH, DEFAULT_JWKS_TIMEOUT};
pub use jwt::{JwtVerifier, DEFAULT_LEEWAY};
pub(crate) use resource::{
    authenticated, request_extensions, with_caller, with_caller_sync, Authn, Challenge,
};
pub use resource::{ProtectedResource, DEFAULT_MAX_TOKEN_LEN};
pub(crate) use scopes::{filters_lists, list_usable, permits, scopes_in_error};
pub use scopes::{ScopePolicy, Target, AUTHENTICATION_REQUIRED, FORBIDDEN, INSUFFICIENT_SCOPE};

/// A boxed future, as [`TokenVerifier::verify`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Checks bearer tokens.
///
/// Implement it for a scheme of your own; compose verifiers with [`AnyOf`] and put a
/// [`Cached`] around a costly one.
///
/// ```
/// use oxmcp::server::auth::{Auth, AuthError, BoxFuture, TokenVerifier};
///
/// /// Accepts tokens of the form `user:NAME`.
/// struct Naive;
///
/// impl TokenVerifier for Naive {
///     fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
///         Box::pin(async move {
///             match token.strip_prefix("user:") {
///                 Some(name) => Ok(Auth::new(name)),
///                 None => Err(AuthError::Unrecognized),
///             }
///         })
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Who `token` stands for, or why it is refused.
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>>;
}

impl<V: TokenVerifier + ?Sized> TokenVerifier for Arc<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        (**self).verify(token)
    }
}

impl<V: TokenVerifier + ?Sized> TokenVerifier for Box<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        (**self).verify(token)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a token this verifier knows (an unknown API key, an opaque token given to a JWT
    /// verifier): [`AnyOf`] goes on to the next verifier.
    Unrecognized,
    /// A token of this verifier's kind that is not valid: a bad signature, expired, for
    /// another audience... The text says why (it goes to the client in the challenge's
    /// `error_description`).
    InvalidToken(String),
    /// The verifier could not decide (the key set or the introspection endpoint did not
    /// answer in time): the client gets `503` and may retry.
    Unavailable(String),
}

impl AuthError {
    /// An [`AuthError::InvalidToken`] with this description.
    pub fn invalid(description: impl Into<String>) -> Self {
        AuthError::InvalidToken(description.into())
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Unrecognized => f.write_str("the token is not recognized"),
            AuthError::InvalidToken(why) => write!(f, "invalid token: {why}"),
            AuthError::Unavailable(why) => write!(f, "cannot verify the token now: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// A verifier that could not be set up (a key set that does not parse, a file that cannot
/// be read).
#[derive(Debug, Clone)]
pub struct SetupError(pub(crate) String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// Who calls: what a verifier found in the request's token.
///
/// Cloning is cheap. A handler receives it as an extractor (or `Option<Auth>` when the
/// token is optional):
///
/// ```
/// use oxmcp::server::auth::Auth;
///
/// async fn whoami(auth: Auth) -> String {
///     format!("{} ({})", auth.subject(), auth.scopes().join(" "))
/// }
/// # let _: oxmcp::server::Router = oxmcp::server::Router::new().tool("whoami", whoami);
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

#[derive(Clone)]
struct AuthInner {
    subject: String,
    client_id: Option<String>,
    scopes: Vec<String>,
    claims: Map<String, Value>,
    expires_at: Option<SystemTime>,
    token: String,
}

impl Auth {
    /// The identity of `subject`, with no scopes.
    pub fn new(subject: impl Into<String>) -> Self {
        Auth {
            inner: Arc::new(AuthInner {
                subject: subject.into(),
                client_id: None,
                scopes: Vec::new(),
                claims: Map::new(),
                expires_at: None,
                token: String::new(),
            }),
        }
    }

    fn edit(&mut self) -> &mut AuthInner {
        Arc::make_mut(&mut self.inner)
    }

    /// With these scopes.
    pub fn with_scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.edit().scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With the OAuth client the token was issued to.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.edit().client_id = Some(client_id.into());
        self
    }

    /// With these claims (a JWT's payload, an introspection response).
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.edit().claims = claims;
        self
    }

    /// Valid until `expires_at` (caches forget it then).
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.edit().expires_at = Some(expires_at);
        self
    }

    /// With the raw token it was verified from.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.edit().token = token.into();
        self
    }

    /// The subject: who the token stands for (`sub`).
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The OAuth client the token was issued to (`client_id`), if known.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The scopes the token grants.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether the token grants `scope` itself (scopes it implies through a scope
    /// hierarchy are not counted here).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// Every claim: a JWT's payload, or the introspection response.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.inner.claims.get(name)
    }

    /// When the token expires, if it says.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// The raw bearer token, to pass on to a downstream service (delegation).
    pub fn token(&self) -> &str {
        &self.inner.token
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Auth")
            .field("subject", &self.inner.subject)
            .field("client_id", &self.inner.client_id)
            .field("scopes", &self.inner.scopes)
            .finish_non_exhaustive()
    }
}

/// Several verifiers: the first that recognises a token decides.
///
/// A verifier that answers [`AuthError::Unrecognized`] passes the token on; if none
/// recognises it, the token is refused as unknown.
///
/// ```
/// use oxmcp::server::auth::{AnyOf, ApiKeys, Auth, JwtVerifier};
///
/// let keys = ApiKeys::new().key("s3cret", Auth::new("ci-bot").with_scopes(["notes:read"]));
/// let jwt = JwtVerifier::hs256(b"a shared secret of 32 bytes or more!", "https://issuer.example");
/// let verifier = AnyOf::new().or(keys).or(jwt);
/// # let _ = verifier;
/// ```
#[derive(Default)]
pub struct AnyOf {
    verifiers: Vec<Box<dyn TokenVerifier>>,
}

impl AnyOf {
    /// No verifier yet (refuses every token).
    pub fn new() -> Self {
        AnyOf::default()
    }

    /// With `verifier` tried after those before.
    pub fn or(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifiers.push(Box::new(verifier));
        self
    }
}

impl fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyOf")
            .field("verifiers", &self.verifiers.len())
            .finish()
    }
}

impl TokenVerifier for AnyOf {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        Box::pin(async move {
            for verifier in &self.verifiers {
                match verifier.verify(token).await {
                    Err(AuthError::Unrecognized) => continue,
                    decided => return decided,
                }
            }
            Err(AuthError::Unrecognized)
        })
    }
}

/// When a JWT-shaped token (three base64url parts) is not one: verifiers of other kinds
/// recognise it.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}

impl<S: Sync> FromRequest<S> for Auth {
    async fn from_request(call: &Request, _state: &S) -> Result<Self, ToolError> {
        call.context.extension::<Auth>().ok_or_else(|| {
            ToolError::internal(
                "this handler needs an authenticated caller (`Auth`), and the request carries no verified token: serve it over HTTP with `HttpConfig::auth`, or take `Option<Auth>`",
            )
        })
    }
}

impl<S: Sync> FromRequest<S> for Option<Auth> {
    async fn from_request(call: &Request, _state: &S) -> Result<Self, ToolError> {
        Ok(call.context.extension::<Auth>())
    }
}
