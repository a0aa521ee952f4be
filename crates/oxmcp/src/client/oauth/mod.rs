//! OAuth 2.1 for the Streamable HTTP client (feature `oauth`).
//!
//! Give an [`OAuth`] configuration to [`HttpClientConfig::oauth`]: every HTTP request of
//! the connection (POSTs, SSE GETs, resumptions) then carries the access token, and a
//! 401 or 403 from the server starts what the MCP authorization specification says:
//!
//! - **Discovery**: the `WWW-Authenticate` challenge (`resource_metadata`, `scope`,
//!   `error`), else the Protected Resource Metadata at the path-based then the root
//!   well-known URL (RFC 9728), then the authorization server's metadata (RFC 8414 and
//!   OpenID Connect, path insertion first); a 2025-03-26 server without metadata gets
//!   the default `/authorize`, `/token` and `/register` at its origin. The metadata's
//!   `resource` must name the server and its `issuer` must be the one looked up.
//! - **Client identity**: a pre-registered client ([`OAuth::client_id`]), a Client ID
//!   Metadata Document URL when the server supports them
//!   ([`OAuth::client_metadata_url`]), else Dynamic Client Registration (RFC 7591).
//! - **Flows**: authorization code with PKCE (S256), `state`, `resource` (RFC 8707) and
//!   the `iss` check of RFC 9207; refresh (rotation kept); client credentials with a
//!   secret or a signed JWT ([`OAuth::client_credentials_jwt`], RFC 7523 §2.2); the JWT
//!   bearer grant for workload identity ([`OAuth::jwt_bearer`], RFC 7523 §2.1);
//!   enterprise-managed authorization ([`OAuth::enterprise_managed`]: token exchange at
//!   the identity provider, RFC 8693, then the JWT bearer grant).
//! - **DPoP** ([`OAuth::dpop`], RFC 9449): sender-constrained tokens, a fresh proof on
//!   every token and MCP request, server nonces honoured.
//! - **Scopes**: the challenge's `scope`, else the resource's `scopes_supported`, else
//!   none; `offline_access` added when the server supports it; a 403
//!   `insufficient_scope` re-authorizes with the union of the scopes held and those
//!   challenged, once per scope set.
//!
//! A request refused with 401 is retried after the token is refreshed or obtained again;
//! requests in flight meanwhile wait for the new token rather than starting flows of
//! their own. Tokens and registrations are kept in a [`TokenStore`] ([`MemoryStore`] by
//! default, or a [`FileStore`]).
//!
//! ```no_run
//! use oxmcp::client::{Client, HttpClientConfig};
//! use oxmcp::client::oauth::{FileStore, LoopbackAgent, OAuth};
//!
//! # async fn run() -> oxmcp::Result<()> {
//! let oauth = OAuth::authorization_code(LoopbackAgent::bind(0).await?)
//!     .client_name("my-app")
//!     .store(FileStore::new("tokens.json"));
//! let config = HttpClientConfig::new("https://example.com/mcp").oauth(oauth);
//! let client = Client::builder().connect_http_with(config).await?;
//! # let _ = client; Ok(()) }
//! ```

mod agent;
mod discovery;
mod dpop;
mod grants;
mod jose;
mod pkce;
mod session;
mod store;

use std::sync::Arc;

pub use agent::{
    open_in_browser, AgentFuture, AutoApproveAgent, HeadlessAgent, LoopbackAgent, UserAgent,
};
pub use grants::{AssertionFile, AssertionSource, IdentityProvider};
pub use jose::SigningKey;
pub use store::{FileStore, MemoryStore, Registration, StoredAuth, TokenStore, Tokens};

use crate::transport::http::client::{AuthSlot, HttpClientConfig};

/// How the client obtains tokens.
#[derive(Clone)]
enum Grant {
    /// The authorization code flow, through a user agent.
    AuthorizationCode(Arc<dyn UserAgent>),
    /// The client credentials grant: the client acts for itself.
    ClientCredentials,
    /// The JWT bearer grant (RFC 7523 §2.1): a workload's identity token is the grant.
    JwtBearer(Arc<dyn AssertionSource>),
    /// Enterprise-managed authorization: token exchange at the identity provider, then
    /// the JWT bearer grant with the identity assertion it issued.
    Enterprise(IdentityProvider),
}

impl Grant {
    fn name(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode(_) => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::JwtBearer(_) => "jwt_bearer",
            Grant::Enterprise(_) => "enterprise_managed",
        }
    }
}

/// The OAuth settings of a connection. See the [module](self) documentation.
#[derive(Clone)]
#[must_use]
pub struct OAuth {
    grant: Grant,
    client_id: Option<String>,
    client_secret: Option<String>,
    signing_key: Option<Arc<SigningKey>>,
    dpop: bool,
    client_metadata_url: Option<String>,
    client_name: String,
    scopes: Option<Vec<String>>,
    offline_access: bool,
    max_step_ups: usize,
    store: Arc<dyn TokenStore>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("grant", &self.grant.name())
            .field("client_id", &self.client_id)
            .field("dpop", &self.dpop)
            .field("client_metadata_url", &self.client_metadata_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    fn new(grant: Grant) -> Self {
        OAuth {
            grant,
            client_id: None,
            client_secret: None,
            signing_key: None,
            dpop: false,
            client_metadata_url: None,
            client_name: "oxmcp".to_owned(),
            scopes: None,
            offline_access: true,
            max_step_ups: 2,
            store: Arc::new(MemoryStore::new()),
        }
    }

    /// The authorization code flow (with PKCE): `agent` takes the user to the
    /// authorization server and brings back the redirect.
    pub fn authorization_code(agent: impl UserAgent) -> Self {
        Self::new(Grant::AuthorizationCode(Arc::new(agent)))
    }

    /// The client credentials grant, for a client acting on its own behalf, with a
    /// pre-registered id and secret (authenticated with `client_secret_basic`, or
    /// `client_secret_post` when that is all the server supports).
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self::new(Grant::ClientCredentials)
            .client_id(client_id)
            .client_secret(client_secret)
    }

    /// The client credentials grant with `private_key_jwt` client authentication
    /// (RFC 7523 §2.2): the client proves who it is with a JWT signed by `key`, whose
    /// public half the authorization server knows.
    pub fn client_credentials_jwt(client_id: impl Into<String>, key: SigningKey) -> Self {
        Self::new(Grant::ClientCredentials)
            .client_id(client_id)
            .private_key_jwt(key)
    }

    /// The JWT bearer grant (RFC 7523 §2.1), for workload identity federation: the
    /// workload's identity token (issued by its platform, trusted by the authorization
    /// server) is exchanged for an access token. `client_id` is sent with the request
    /// when the server wants one (token endpoint authentication `none`). A refused
    /// assertion is reported, not retried with another grant.
    pub fn jwt_bearer(client_id: impl Into<String>, assertion: impl AssertionSource) -> Self {
        Self::new(Grant::JwtBearer(Arc::new(assertion))).client_id(client_id)
    }

    /// Enterprise-managed authorization (the SEP-990 extension): the user's ID token is
    /// exchanged at `idp` (RFC 8693) for an identity assertion naming the MCP server's
    /// authorization server and resource, which that server takes in a JWT bearer grant.
    /// Give the client's credentials at the MCP server's authorization server with
    /// [`client_id`](Self::client_id) and [`client_secret`](Self::client_secret).
    pub fn enterprise_managed(idp: IdentityProvider) -> Self {
        Self::new(Grant::Enterprise(idp))
    }

    /// Authenticates the (pre-registered) client at the token endpoint with a JWT signed
    /// by `key` (`private_key_jwt`, RFC 7523 §2.2) instead of a secret.
    pub fn private_key_jwt(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(Arc::new(key));
        self
    }

    /// Uses DPoP (RFC 9449) when the authorization server supports it
    /// (`dpop_signing_alg_values_supported` names ES256): the connection holds an ES256
    /// key, proves possession of it on token requests and on every request to the MCP
    /// server, and answers servers' `use_dpop_nonce` challenges. Tokens bound to the key
    /// are only good for this connection (the key is not stored). Default `false`.
    pub fn dpop(mut self, enabled: bool) -> Self {
        self.dpop = enabled;
        self
    }

    /// A client id registered beforehand with the authorization server (no dynamic
    /// registration then).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The secret of the pre-registered client.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The HTTPS URL of this client's Client ID Metadata Document, used as its client id
    /// with servers that advertise `client_id_metadata_document_supported`.
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// The `client_name` sent with dynamic registration (default `oxmcp`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// The scopes to ask for when the server's challenge names none (by default those
    /// the resource lists in `scopes_supported`, or none).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Whether to ask for `offline_access` (a refresh token) when the authorization
    /// server supports it (default `true`).
    pub fn offline_access(mut self, want: bool) -> Self {
        self.offline_access = want;
        self
    }

    /// How many step-up authorizations (403 `insufficient_scope`) may follow one another
    /// without a request succeeding in between (default 2).
    pub fn max_step_ups(mut self, times: usize) -> Self {
        self.max_step_ups = times;
        self
    }

    /// Where tokens and registrations are kept (default: in memory).
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Arc::new(store);
        self
    }
}

impl HttpClientConfig {
    /// Authorizes every request with OAuth (feature `oauth`): see [`oauth`](crate::client::oauth).
    pub fn oauth(mut self, oauth: OAuth) -> Self {
        let session = session::Session::new(oauth, self.url.clone());
        self.auth = AuthSlot(Some(Arc::new(session)));
        self
    }
}
