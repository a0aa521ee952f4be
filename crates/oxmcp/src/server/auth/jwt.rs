//! JWT access tokens (RFC 9068).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::jwks::{Jwks, Key};
use super::{looks_like_jwt, Auth, AuthError, BoxFuture, TokenVerifier};

/// The default clock skew allowed on `exp` and `nbf`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

enum Keys {
    Jwks(Jwks),
    /// An explicit HS256 shared secret.
    Secret(Arc<Key>),
}

/// Verifies JWT access tokens (the RFC 9068 profile): the signature with a key of the
/// issuer's [`Jwks`] (RS256/384/512, PS256/384/512, ES256/384, EdDSA: each key only with
/// the algorithms of its type, never `none`), or with an explicit HS256 secret; `iss`;
/// `aud` (this server's resource URI, RFC 8707); `exp` and `nbf` with a small leeway;
/// `sub`; and `typ` when the header has one (`at+jwt`; `JWT` too, which many providers
/// send).
///
/// Scopes come from `scope` (space-separated, RFC 9068) or `scp` (a string or an array,
/// as Entra ID sends).
///
/// ```
/// use oxmcp::server::auth::{Jwks, JwtVerifier};
///
/// let verifier = JwtVerifier::new(Jwks::discover("https://auth.example.com"), "https://auth.example.com")
///     .audience("https://mcp.example.com/mcp");
/// # let _ = verifier;
/// ```
pub struct JwtVerifier {
    keys: Keys,
    issuer: String,
    audiences: Vec<String>,
    leeway: Duration,
    strict_typ: bool,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Tokens of `issuer`, signed with keys of `keys`. Set the audience
    /// ([`audience`](JwtVerifier::audience)) before use: a verifier without one refuses
    /// every token, since a token for another resource must not pass here.
    pub fn new(keys: Jwks, issuer: impl Into<String>) -> Self {
        JwtVerifier::with_keys(Keys::Jwks(keys), issuer.into())
    }

    fn with_keys(keys: Keys, issuer: String) -> Self {
        JwtVerifier {
            keys,
            issuer,
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            strict_typ: false,
        }
    }

    /// Tokens of `issuer` signed with HS256 and this shared secret (only HS256, and only
    /// this way: a key set never yields a symmetric key).
    pub fn hs256(secret: &[u8], issuer: impl Into<String>) -> Self {
        let key = Key {
            decoding: DecodingKey::from_secret(secret),
            algorithms: vec![Algorithm::HS256],
        };
        JwtVerifier::with_keys(Keys::Secret(Arc::new(key)), issuer.into())
    }

    /// Accepts tokens whose `aud` names `audience` (this server's canonical URI, such as
    /// `https://mcp.example.com/mcp`); call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The clock skew allowed on `exp` and `nbf`. Default: [`DEFAULT_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Accepts only `typ: at+jwt` (RFC 9068), refusing tokens whose header says `JWT`.
    pub fn strict_typ(mut self) -> Self {
        self.strict_typ = true;
        self
    }

    async fn check(&self, token: &str) -> Result<Auth, AuthError> {
        if !looks_like_jwt(token) {
            return Err(AuthError::Unrecognized);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            AuthError::invalid(format!("malformed JWT header (or an unsupported alg): {e}"))
        })?;
        if let Some(typ) = &header.typ {
            let typ = typ.to_ascii_lowercase();
            let fine = typ == "at+jwt"
                || typ == "application/at+jwt"
                || (!self.strict_typ && typ == "jwt");
            if !fine {
                return Err(AuthError::invalid(format!(
                    "typ {typ:?} is not an access token (expected at+jwt)"
                )));
            }
        }
        if self.audiences.is_empty() {
            return Err(AuthError::invalid(
                "the server has no audience configured, so accepts no JWT",
            ));
        }
        let alg = header.alg;
        let keys = match &self.keys {
            Keys::Secret(key) => {
                if key.algorithms.contains(&alg) {
                    vec![key.clone()]
                } else {
                    Vec::new()
                }
            }
            Keys::Jwks(jwks) => jwks.keys(header.kid.as_deref(), alg).await?,
        };
        if keys.is_empty() {
            return Err(AuthError::invalid(match &header.kid {
                Some(kid) => format!("no key {kid:?} that verifies {alg:?}"),
                None => format!("no key that verifies {alg:?}"),
            }));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut last = AuthError::invalid("no key verified the signature");
        for key in keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
                Ok(data) => return Ok(auth_from_claims(data.claims, token)),
                Err(e) => {
                    last = AuthError::invalid(describe(e.kind()));
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidIssuer => "the token is from another issuer".to_owned(),
        ErrorKind::InvalidAudience => {
            "the token is for another resource (aud does not name this server)".to_owned()
        }
        ErrorKind::InvalidSignature => "the signature does not verify".to_owned(),
        ErrorKind::InvalidAlgorithm => "the key does not verify this alg".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim:?} claim"),
        other => format!("malformed token: {other:?}"),
    }
}

/// The identity in a verified token's claims.
pub(crate) fn auth_from_claims(claims: Map<String, Value>, token: &str) -> Auth {
    let subject = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let scopes = scopes_in(&claims);
    let mut auth = Auth::new(subject).with_scopes(scopes).with_token(token);
    let client = claims
        .get("client_id")
        .or_else(|| claims.get("azp"))
        .and_then(Value::as_str);
    if let Some(client) = client {
        auth = auth.with_client_id(client);
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        auth = auth.with_expiry(UNIX_EPOCH + Duration::from_secs(exp));
    }
    auth.with_claims(claims)
}

/// `scope` (space-separated), or `scp` (space-separated or an array).
pub(crate) fn scopes_in(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("scope").or_else(|| claims.get("scp")) {
        Some(Value::String(s)) => s.split_ascii_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        Box::pin(self.check(token))
    }
}
