//! A built-in OAuth 2.1 authorization server (feature `auth-server`), for development,
//! tests and small deployments: everything an MCP client needs to get an access token for
//! an oxmcp server, as an axum [`Router`](axum::Router).
//!
//! - Metadata: RFC 8414 at `/.well-known/oauth-authorization-server`, OpenID discovery at
//!   `/.well-known/openid-configuration`, the keys at `{issuer}/jwks`.
//! - `{issuer}/authorize`: authorization code with PKCE S256 only, exact redirect URI
//!   match (a loopback redirect URI's port may vary, RFC 8252), `state` echoed, `iss` in
//!   the response (RFC 9207), `resource` (RFC 8707) bound into the token's `aud`. Who the
//!   user is and whether they consent is a [`Login`]: [`AutoApprove`] for development,
//!   [`LoginPage`] for a minimal HTML login and consent form.
//! - `{issuer}/token`: `authorization_code` (a replayed code is refused and revokes what
//!   it issued), `refresh_token` (rotated; reuse of a rotated token revokes the family),
//!   `client_credentials`; clients authenticate with `none`, `client_secret_basic`,
//!   `client_secret_post` or `private_key_jwt`.
//! - `{issuer}/register` (RFC 7591), Client ID Metadata Documents (URL client ids),
//!   `{issuer}/revoke` (RFC 7009).
//!
//! Access tokens are RFC 9068 JWTs (`typ: at+jwt`, ES256 by default, RS256 with an RSA
//! key) with `iss`, `sub`, `aud` (the requested resource), `client_id`, `scope`, `iat`,
//! `exp` and `jti`. State lives in a [`Store`]; [`MemoryStore`] is bounded and purges
//! expired entries.
//!
//! The guide [`crate::guide::authorization_server`] shows it serving next to an MCP
//! endpoint.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

mod authorize;
mod cimd;
mod clients;
mod keys;
mod store;
mod token;

pub use authorize::{AuthorizationRequest, AutoApprove, Login, LoginDecision, LoginPage};
pub use clients::{AuthMethod, Client};
pub use keys::{Algorithm, KeyError, SigningKey};
pub use store::{Grant, MemoryLimits, MemoryStore, Redeemed, Store, StoreError, StoreResult};

/// The largest form or JSON body an endpoint reads.
const BODY_LIMIT: usize = 16 * 1024;

/// How long things live.
#[derive(Clone, Copy, Debug)]
struct Lifetimes {
    code: Duration,
    access: Duration,
    refresh: Duration,
    key_overlap: Duration,
}

/// Client ID Metadata Document settings.
#[derive(Clone, Debug)]
pub(crate) struct CimdSettings {
    pub(crate) allow_private: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
}

pub(crate) struct Inner {
    issuer: String,
    keys: keys::KeyRing,
    store: Arc<dyn Store>,
    login: Arc<dyn Login>,
    clients: HashMap<String, Client>,
    scopes_supported: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    ttl: Lifetimes,
    registration: bool,
    cimd: Option<cimd::Fetcher>,
}

/// The authorization server. Cheap to clone; serve it with [`router`](Self::router).
#[derive(Clone)]
pub struct AuthorizationServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthorizationServer`]; from [`AuthorizationServer::builder`].
pub struct Builder {
    issuer: String,
    key: Option<SigningKey>,
    store: Option<Arc<dyn Store>>,
    login: Option<Arc<dyn Login>>,
    clients: Vec<Client>,
    scopes_supported: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    ttl: Lifetimes,
    registration: bool,
    cimd: Option<CimdSettings>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A configuration that cannot work.
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Builder {
    /// Signs with this key (default: a new ES256 key).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Keeps state in this store (default: a [`MemoryStore`]).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Decides who the user is and whether they consent (default: every request is
    /// denied with `access_denied`, until you choose [`AutoApprove`], [`LoginPage`] or
    /// your own).
    pub fn login(mut self, login: impl Login) -> Self {
        self.login = Some(Arc::new(login));
        self
    }

    /// Registers a client up front.
    pub fn client(mut self, client: Client) -> Self {
        self.clients.push(client);
        self
    }

    /// The scopes this server grants, published as `scopes_supported`; any other scope
    /// is refused with `invalid_scope` (default: any scope).
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The resources (RFC 8707) tokens may be issued for; any other `resource` is refused
    /// with `invalid_target` (default: any absolute URI without a fragment).
    pub fn resources(mut self, resources: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.resources = Some(resources.into_iter().map(Into::into).collect());
        self
    }

    /// How long access tokens live (default 1 hour).
    pub fn access_token_lifetime(mut self, ttl: Duration) -> Self {
        self.ttl.access = ttl;
        self
    }

    /// How long refresh tokens live (default 30 days).
    pub fn refresh_token_lifetime(mut self, ttl: Duration) -> Self {
        self.ttl.refresh = ttl;
        self
    }

    /// How long an authorization code is valid, and so how long its replay is detected
    /// (default 60 s).
    pub fn code_lifetime(mut self, ttl: Duration) -> Self {
        self.ttl.code = ttl;
        self
    }

    /// How long a rotated-out key stays in the JWKS (default: the access token lifetime
    /// plus 5 minutes, so every token it signed can still be verified).
    pub fn key_overlap(mut self, overlap: Duration) -> Self {
        self.ttl.key_overlap = overlap;
        self
    }

    /// Whether anyone may register a client at `/register` (RFC 7591; default on).
    pub fn dynamic_registration(mut self, enabled: bool) -> Self {
        self.registration = enabled;
        self
    }

    /// Whether URL client ids are accepted (Client ID Metadata Documents; default on).
    pub fn client_id_metadata_documents(mut self, enabled: bool) -> Self {
        self.cimd = enabled.then(|| self.cimd.clone().unwrap_or_else(default_cimd));
        self
    }

    /// Lets metadata documents be fetched from loopback and private addresses, and over
    /// plain http from loopback hosts (default off: such client ids are refused, so a
    /// client id cannot make the server reach into its own network). For development.
    pub fn allow_private_metadata_documents(mut self, allow: bool) -> Self {
        if let Some(cimd) = &mut self.cimd {
            cimd.allow_private = allow;
        }
        self
    }

    /// The limits of a metadata document fetch (default: 5 s, 16 KiB).
    pub fn metadata_document_limits(mut self, timeout: Duration, max_bytes: usize) -> Self {
        if let Some(cimd) = &mut self.cimd {
            cimd.timeout = timeout;
            cimd.max_bytes = max_bytes;
        }
        self
    }

    /// The server, or what is wrong with the configuration.
    pub fn build(self) -> Result<AuthorizationServer, ConfigError> {
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        let url = url::Url::parse(&issuer)
            .map_err(|e| ConfigError(format!("the issuer `{issuer}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(ConfigError(format!(
                "the issuer `{issuer}` must be an http(s) URL without query or fragment"
            )));
        }
        let key = match self.key {
            Some(key) => key,
            None => SigningKey::generate_es256().map_err(|e| ConfigError(e.to_string()))?,
        };
        let mut clients = HashMap::new();
        for client in self.clients {
            clients.insert(client.client_id.clone(), client);
        }
        Ok(AuthorizationServer {
            inner: Arc::new(Inner {
                issuer,
                keys: keys::KeyRing::new(key),
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                login: self.login.unwrap_or_else(|| Arc::new(authorize::DenyAll)),
                clients,
                scopes_supported: self.scopes_supported,
                resources: self.resources,
                ttl: self.ttl,
                registration: self.registration,
                cimd: self.cimd.map(cimd::Fetcher::new),
            }),
        })
    }
}

fn default_cimd() -> CimdSettings {
    CimdSettings {
        allow_private: false,
        timeout: Duration::from_secs(5),
        max_bytes: 16 * 1024,
    }
}

impl AuthorizationServer {
    /// Starts configuring a server whose issuer identifier is `issuer` (an http(s) URL; a
    /// trailing slash is dropped). Its endpoints live under the issuer's path.
    pub fn builder(issuer: impl Into<String>) -> Builder {
        let access = Duration::from_secs(3600);
        Builder {
            issuer: issuer.into(),
            key: None,
            store: None,
            login: None,
            clients: Vec::new(),
            scopes_supported: None,
            resources: None,
            ttl: Lifetimes {
                code: Duration::from_secs(60),
                access,
                refresh: Duration::from_secs(30 * 24 * 3600),
                key_overlap: access + Duration::from_secs(300),
            },
            registration: true,
            cimd: Some(default_cimd()),
        }
    }

    /// The issuer identifier (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Signs with `key` from now on; the previous key stays in the JWKS for the overlap
    /// window ([`Builder::key_overlap`]).
    pub fn rotate_key(&self, key: SigningKey) {
        self.inner.keys.rotate(key, self.inner.ttl.key_overlap);
    }

    /// The JWKS document (the current key and the keys still in their overlap).
    pub fn jwks(&self) -> Value {
        self.inner.keys.jwks()
    }

    /// The RFC 8414 metadata document.
    pub fn metadata(&self) -> Value {
        self.inner.metadata(false)
    }

    /// The routes: metadata, JWKS, authorize, token, register, revoke. Merge it with your
    /// MCP endpoint's router, or serve it on its own; it must be reachable at the issuer
    /// URL.
    pub fn router(&self) -> axum::Router {
        let prefix = url::Url::parse(&self.inner.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let at = |path: &str| format!("{prefix}{path}");
        let inner = self.inner.clone();
        let oauth = {
            let inner = inner.clone();
            move || {
                let inner = inner.clone();
                async move { json_response(StatusCode::OK, inner.metadata(false), false) }
            }
        };
        let oidc = {
            let inner = inner.clone();
            move || {
                let inner = inner.clone();
                async move { json_response(StatusCode::OK, inner.metadata(true), false) }
            }
        };
        let jwks = {
            let inner = inner.clone();
            move || {
                let inner = inner.clone();
                async move { json_response(StatusCode::OK, inner.keys.jwks(), false) }
            }
        };
        let mut router = axum::Router::new()
            .route(
                &format!("/.well-known/oauth-authorization-server{prefix}"),
                get(oauth),
            )
            .route(
                &format!("/.well-known/openid-configuration{prefix}"),
                get(oidc.clone()),
            )
            .route(&at("/jwks"), get(jwks))
            .route(
                &at("/authorize"),
                get(authorize::authorize).post(authorize::authorize_form),
            )
            .route(
                &at("/token"),
                axum::routing::post(token::token).options(preflight),
            )
            .route(
                &at("/revoke"),
                axum::routing::post(token::revoke).options(preflight),
            )
            .route(
                &at("/register"),
                axum::routing::post(token::register).options(preflight),
            );
        if !prefix.is_empty() {
            router = router.route(&at("/.well-known/openid-configuration"), get(oidc));
        }
        router
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(inner)
    }
}

impl Inner {
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    fn metadata(&self, oidc: bool) -> Value {
        let methods = [
            "none",
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ];
        let algs = ["ES256", "RS256"];
        let mut doc = json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("/authorize"),
            "token_endpoint": self.endpoint("/token"),
            "jwks_uri": self.endpoint("/jwks"),
            "revocation_endpoint": self.endpoint("/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": methods,
            "token_endpoint_auth_signing_alg_values_supported": algs,
            "revocation_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_signing_alg_values_supported": algs,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": self.cimd.is_some(),
        });
        let object = doc.as_object_mut().expect("an object");
        if self.registration {
            object.insert(
                "registration_endpoint".into(),
                json!(self.endpoint("/register")),
            );
        }
        if let Some(scopes) = &self.scopes_supported {
            object.insert("scopes_supported".into(), json!(scopes));
        }
        if oidc {
            // Required by OpenID discovery; this server issues no ID tokens.
            object.insert("subject_types_supported".into(), json!(["public"]));
            object.insert(
                "id_token_signing_alg_values_supported".into(),
                json!([self.keys.current().algorithm().name()]),
            );
        }
        doc
    }

    /// A client by id: pre-registered, then a URL client id's metadata document, then
    /// the store. `Err` says why a URL client id could not be used.
    async fn client(&self, client_id: &str) -> Result<Option<Client>, String> {
        if let Some(client) = self.clients.get(client_id) {
            return Ok(Some(client.clone()));
        }
        if cimd::is_url_client_id(client_id) {
            let Some(fetcher) = &self.cimd else {
                return Ok(None);
            };
            if let Ok(Some(cached)) = self.store.client(client_id).await {
                return Ok(Some(cached));
            }
            let client = fetcher
                .fetch(client_id, self.scopes_supported.as_deref())
                .await?;
            if let Err(e) = self.store.put_client(client.clone()).await {
                tracing::warn!(error = %e, "cannot cache a client metadata document");
            }
            return Ok(Some(client));
        }
        self.store
            .client(client_id)
            .await
            .map_err(|e| format!("storage: {e}"))
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32 random bytes, base64url: codes, refresh tokens, secrets, ids.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    keys::b64(bytes)
}

/// The storage key of a secret value: its SHA-256, so a leaked store leaks no tokens.
pub(crate) fn hashed(value: &str) -> String {
    use sha2::{Digest, Sha256};
    keys::b64(Sha256::digest(value.as_bytes()))
}

/// A JSON response; `no_store` adds `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn json_response(status: StatusCode, body: Value, no_store: bool) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Browser-based clients read every answer; no endpoint relies on cookies, so any
    // origin may.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    } else {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        );
    }
    response
}

/// The CORS preflight of the token, revocation and registration endpoints.
async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}
