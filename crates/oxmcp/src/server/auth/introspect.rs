//! OAuth 2.0 token introspection (RFC 7662), with a bounded cache.

use std::time::Duration;

use serde_json::{Map, Value};

use super::cache::{token_hash, TokenCache, DEFAULT_CACHE_CAPACITY};
use super::fetch;
use super::jwt::{auth_from_claims, now_secs};
use super::{Auth, AuthError, BoxFuture, TokenVerifier};

/// Asks the authorization server about each token (RFC 7662), authenticating as a client
/// with `client_secret_basic`. Active tokens are remembered (bounded, until their `exp`
/// or for at most the cache's time to live, 60 seconds by default), so a token is not
/// asked about on every request.
///
/// With an [`audience`](Introspection::audience), a token whose introspected `aud` does
/// not name it is refused (a token for another resource).
///
/// ```
/// use oxmcp::server::auth::Introspection;
///
/// let verifier = Introspection::new("https://auth.example.com/introspect", "mcp-server", "s3cret")
///     .audience("https://mcp.example.com/mcp");
/// # let _ = verifier;
/// ```
pub struct Introspection {
    endpoint: String,
    client_id: String,
    client_secret: String,
    audiences: Vec<String>,
    timeout: Duration,
    cache: TokenCache,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Introspects at `endpoint` as client `client_id` with `client_secret`.
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Introspection {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            audiences: Vec::new(),
            timeout: Duration::from_secs(5),
            cache: TokenCache::new(DEFAULT_CACHE_CAPACITY, Duration::from_secs(60)),
        }
    }

    /// Refuses tokens whose `aud` (when the answer has one) does not name `audience`;
    /// call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The longest a request waits for the endpoint. Default: 5 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cache: how many tokens, and how long each at most.
    pub fn cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.cache = TokenCache::new(capacity, ttl);
        self
    }

    async fn ask(&self, token: &str) -> Result<Auth, AuthError> {
        let request = fetch::client()
            .post(&self.endpoint)
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(&self.client_secret)),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        let answer = fetch::json(request, "token introspection", self.timeout)
            .await
            .map_err(AuthError::Unavailable)?;
        let Value::Object(claims) = answer else {
            return Err(AuthError::Unavailable(
                "token introspection: expected a JSON object".to_owned(),
            ));
        };
        self.judge(claims, token)
    }

    fn judge(&self, claims: Map<String, Value>, token: &str) -> Result<Auth, AuthError> {
        if claims.get("active") != Some(&Value::Bool(true)) {
            return Err(AuthError::invalid("the token is not active"));
        }
        let now = now_secs();
        if claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|exp| exp <= now)
        {
            return Err(AuthError::invalid("the token has expired"));
        }
        if claims
            .get("nbf")
            .and_then(Value::as_u64)
            .is_some_and(|nbf| nbf > now + 30)
        {
            return Err(AuthError::invalid("the token is not valid yet (nbf)"));
        }
        if !self.audiences.is_empty() {
            let fits = |aud: &Value| {
                aud.as_str()
                    .is_some_and(|a| self.audiences.iter().any(|x| x == a))
            };
            let ok = match claims.get("aud") {
                None => true,
                Some(Value::Array(items)) => items.iter().any(fits),
                Some(aud) => fits(aud),
            };
            if !ok {
                return Err(AuthError::invalid(
                    "the token is for another resource (aud does not name this server)",
                ));
            }
        }
        Ok(auth_from_claims(claims, token))
    }
}

/// Client credentials go form-encoded into Basic authentication (RFC 6749 §2.3.1).
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl TokenVerifier for Introspection {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        let hash = token_hash(token);
        if let Some(auth) = self.cache.get(&hash) {
            return Box::pin(std::future::ready(Ok(auth)));
        }
        Box::pin(async move {
            let auth = self.ask(token).await?;
            self.cache.insert(hash, auth.clone());
            Ok(auth)
        })
    }
}
