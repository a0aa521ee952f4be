//! JSON Web Key Sets: from a file, a URL or the issuer's metadata; cached, refreshed on an
//! unknown `kid` at most so often, never waited on longer than a timeout.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::fetch;
use super::{AuthError, SetupError};

/// The default shortest time between two fetches of a key set: 30 seconds.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(30);
/// The default longest time a request waits on the key set's endpoint: 5 seconds.
pub const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fetched key set is used before it is fetched again in the background.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// One verification key and the algorithms it may verify.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
}

#[derive(Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Arc<Key>>,
    unnamed: Vec<Arc<Key>>,
}

impl KeySet {
    /// Parses a JWKS document; keys that cannot be used (unknown types, encryption keys,
    /// symmetric keys) are skipped.
    fn parse(document: &Value) -> Result<KeySet, String> {
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("expected a JSON Web Key Set: an object with a \"keys\" array")?;
        let mut set = KeySet::default();
        for key in keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(key.clone()) else {
                tracing::debug!("skipped a JWK of an unknown shape");
                continue;
            };
            if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
                continue;
            }
            let algorithms = algorithms_for(&jwk);
            if algorithms.is_empty() {
                continue;
            }
            let Ok(decoding) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            let key = Arc::new(Key {
                decoding,
                algorithms,
            });
            match jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid, key);
                }
                None => set.unnamed.push(key),
            }
        }
        Ok(set)
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<Arc<Key>> {
        let fits = |key: &&Arc<Key>| key.algorithms.contains(&alg);
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .filter(fits)
                .cloned()
                .into_iter()
                .collect(),
            None => self
                .unnamed
                .iter()
                .chain(self.by_kid.values())
                .filter(fits)
                .cloned()
                .collect(),
        }
    }

    fn knows(&self, kid: Option<&str>) -> bool {
        match kid {
            Some(kid) => self.by_kid.contains_key(kid),
            None => !self.unnamed.is_empty() || !self.by_kid.is_empty(),
        }
    }

    fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }
}

/// The asymmetric algorithms a JWK may verify: its own `alg` if it names one, else every
/// algorithm of its key type. Never `none`, never a symmetric one.
fn algorithms_for(jwk: &Jwk) -> Vec<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => vec![],
    };
    let named = jwk
        .common
        .key_algorithm
        .and_then(|a| serde_json::to_value(a).ok())
        .and_then(|v| v.as_str().and_then(|s| Algorithm::from_str(s).ok()));
    match named {
        Some(alg) => family.into_iter().filter(|a| *a == alg).collect(),
        None => family,
    }
}

enum Origin {
    /// Given once; never refreshed.
    Fixed,
    File(PathBuf),
    Url(String),
    /// The issuer whose metadata names the `jwks_uri`.
    Discover(String),
}

struct Inner {
    origin: Origin,
    keys: RwLock<Arc<KeySet>>,
    /// When the set was last fetched (successfully), and when a fetch was last tried.
    fetched: Mutex<(Option<Instant>, Option<Instant>)>,
    /// One fetch at a time; the others wait for its outcome.
    fetching: tokio::sync::Mutex<()>,
    discovered: OnceLock<String>,
    refresh: Duration,
    timeout: Duration,
}

/// A JSON Web Key Set: the public keys that verify JWT access tokens.
///
/// Fetched sets are cached. A token signed with a key the set does not know (a `kid` it
/// has not seen: the issuer rotated its keys) makes it fetch the set again, at most once
/// per [`refresh_interval`](Jwks::refresh_interval); a request never waits on the
/// endpoint longer than the [`timeout`](Jwks::timeout). Keys of unknown types, encryption
/// keys and symmetric keys in the set are ignored.
///
/// ```
/// use std::time::Duration;
/// use oxmcp::server::auth::Jwks;
///
/// // From the issuer's RFC 8414 (or OpenID Connect) metadata.
/// let keys = Jwks::discover("https://auth.example.com")
///     .refresh_interval(Duration::from_secs(60))
///     .timeout(Duration::from_secs(2));
/// // Or a URL, a file, or a document given whole.
/// let other = Jwks::from_url("https://auth.example.com/jwks");
/// # let _ = (keys, other);
/// ```
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match &self.inner.origin {
            Origin::Fixed => "fixed".to_owned(),
            Origin::File(path) => path.display().to_string(),
            Origin::Url(url) => url.clone(),
            Origin::Discover(issuer) => format!("discovered from {issuer}"),
        };
        f.debug_struct("Jwks")
            .field("origin", &origin)
            .field("keys", &self.current().len())
            .finish()
    }
}

impl Jwks {
    fn with(origin: Origin, keys: KeySet, fetched: Option<Instant>) -> Jwks {
        Jwks {
            inner: Arc::new(Inner {
                origin,
                keys: RwLock::new(Arc::new(keys)),
                fetched: Mutex::new((fetched, fetched)),
                fetching: tokio::sync::Mutex::new(()),
                discovered: OnceLock::new(),
                refresh: DEFAULT_JWKS_REFRESH,
                timeout: DEFAULT_JWKS_TIMEOUT,
            }),
        }
    }

    /// A key set given as a JWKS JSON document; never refreshed.
    pub fn from_json(json: &str) -> Result<Jwks, SetupError> {
        let document: Value =
            serde_json::from_str(json).map_err(|e| SetupError(format!("JWKS: not JSON: {e}")))?;
        let keys = KeySet::parse(&document).map_err(|e| SetupError(format!("JWKS: {e}")))?;
        Ok(Jwks::with(Origin::Fixed, keys, Some(Instant::now())))
    }

    /// The key set in a file, read now and read again when a token names a key it does not
    /// have.
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Jwks, SetupError> {
        let path = path.into();
        let keys = read_file(&path).map_err(SetupError)?;
        Ok(Jwks::with(Origin::File(path), keys, Some(Instant::now())))
    }

    /// The key set at a URL, fetched when first needed.
    pub fn from_url(url: impl Into<String>) -> Jwks {
        Jwks::with(Origin::Url(url.into()), KeySet::default(), None)
    }

    /// The key set at the `jwks_uri` of the issuer's authorization server metadata
    /// (RFC 8414, else OpenID Connect discovery), found when first needed.
    pub fn discover(issuer: impl Into<String>) -> Jwks {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Jwks::with(Origin::Discover(issuer), KeySet::default(), None)
    }

    /// A file path, or an `http(s)://` URL.
    pub fn from_path_or_url(source: &str) -> Result<Jwks, SetupError> {
        if source.starts_with("http://") || source.starts_with("https://") {
            Ok(Jwks::from_url(source))
        } else {
            Jwks::from_file(source)
        }
    }

    fn edit(&mut self) -> &mut Inner {
        Arc::get_mut(&mut self.inner).expect("a Jwks is configured before it is shared")
    }

    /// The shortest time between two fetches (a token with an unknown `kid` fetches the set
    /// again no sooner than this after the last fetch). Default: [`DEFAULT_JWKS_REFRESH`].
    ///
    /// # Panics
    /// If called on a clone.
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.edit().refresh = every;
        self
    }

    /// The longest a request waits for the key set. Default: [`DEFAULT_JWKS_TIMEOUT`].
    ///
    /// # Panics
    /// If called on a clone.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.edit().timeout = timeout;
        self
    }

    fn current(&self) -> Arc<KeySet> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn stamps(&self) -> std::sync::MutexGuard<'_, (Option<Instant>, Option<Instant>)> {
        self.inner
            .fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The keys that may verify a token with `kid` and `alg`, fetching the set again if it
    /// does not know `kid` (and may be fetched now).
    pub(crate) async fn keys(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<Key>>, AuthError> {
        let keys = self.current();
        if keys.knows(kid) {
            self.refresh_if_old();
            return Ok(keys.candidates(kid, alg));
        }
        if matches!(self.inner.origin, Origin::Fixed) {
            return Ok(Vec::new());
        }
        let seen = Arc::as_ptr(&keys) as usize;
        let timeout = self.inner.timeout;
        match tokio::time::timeout(timeout, self.refresh(seen)).await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                if self.current().len() == 0 {
                    return Err(AuthError::Unavailable(why));
                }
                tracing::debug!(%why, "JWKS refresh failed");
            }
            Err(_) => {
                if self.current().len() == 0 {
                    return Err(AuthError::Unavailable(format!(
                        "the key set did not arrive within {timeout:?}"
                    )));
                }
            }
        }
        Ok(self.current().candidates(kid, alg))
    }

    /// A set older than [`MAX_AGE`] is fetched again in the background (the request goes
    /// on with the keys it has).
    fn refresh_if_old(&self) {
        if matches!(self.inner.origin, Origin::Fixed) {
            return;
        }
        let old = {
            let stamps = self.stamps();
            stamps.0.is_some_and(|at| at.elapsed() >= MAX_AGE)
                && stamps.1.is_none_or(|at| at.elapsed() >= self.inner.refresh)
        };
        if old {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let this = self.clone();
                let seen = Arc::as_ptr(&self.current()) as usize;
                runtime.spawn(async move {
                    let timeout = this.inner.timeout;
                    let _ = tokio::time::timeout(timeout, this.refresh(seen)).await;
                });
            }
        }
    }

    /// Fetches the set again, unless another fetch replaced `seen` meanwhile or the last
    /// attempt was too recent.
    async fn refresh(&self, seen: usize) -> Result<(), String> {
        let _one = self.inner.fetching.lock().await;
        if Arc::as_ptr(&self.current()) as usize != seen {
            return Ok(()); // someone else fetched it while we waited
        }
        {
            let mut stamps = self.stamps();
            if stamps.1.is_some_and(|at| at.elapsed() < self.inner.refresh) {
                return Err(format!(
                    "the key set was fetched less than {:?} ago and does not have this key",
                    self.inner.refresh
                ));
            }
            stamps.1 = Some(Instant::now());
        }
        let keys = self.fetch().await?;
        tracing::debug!(keys = keys.len(), "fetched the JWKS");
        *self
            .inner
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        self.stamps().0 = Some(Instant::now());
        Ok(())
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let timeout = self.inner.timeout;
        let url = match &self.inner.origin {
            Origin::Fixed => return Ok(KeySet::default()),
            Origin::File(path) => {
                let path = path.clone();
                return tokio::task::spawn_blocking(move || read_file(&path))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Origin::Url(url) => url.clone(),
            Origin::Discover(issuer) => match self.inner.discovered.get() {
                Some(url) => url.clone(),
                None => {
                    let url = discover_jwks_uri(issuer, timeout).await?;
                    let _ = self.inner.discovered.set(url.clone());
                    url
                }
            },
        };
        let document = fetch::get_json(&url, "JWKS", timeout).await?;
        KeySet::parse(&document)
    }
}

fn read_file(path: &std::path::Path) -> Result<KeySet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("JWKS: cannot read {}: {e}", path.display()))?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|e| format!("JWKS: {} is not JSON: {e}", path.display()))?;
    KeySet::parse(&document).map_err(|e| format!("JWKS: {}: {e}", path.display()))
}

/// The metadata URLs of an issuer: RFC 8414 (the well-known part before the issuer's
/// path), then OpenID Connect (after it).
pub(crate) fn metadata_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let (origin, path) = match issuer.find("://").map(|i| i + 3) {
        Some(start) => match issuer[start..].find('/') {
            Some(slash) => issuer.split_at(start + slash),
            None => (issuer, ""),
        },
        None => (issuer, ""),
    };
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{issuer}/.well-known/openid-configuration"),
    ]
}

/// The `jwks_uri` of `issuer`'s metadata, whose `issuer` must be `issuer`.
async fn discover_jwks_uri(issuer: &str, timeout: Duration) -> Result<String, String> {
    let mut last = String::new();
    for url in metadata_urls(issuer) {
        match fetch::get_json(&url, "authorization server metadata", timeout).await {
            Ok(metadata) => {
                let named = metadata.get("issuer").and_then(Value::as_str).unwrap_or("");
                if named.trim_end_matches('/') != issuer {
                    return Err(format!(
                        "the metadata at {url} names issuer {named:?}, expected {issuer:?}"
                    ));
                }
                return metadata
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("the metadata at {url} has no jwks_uri"));
            }
            Err(why) => last = why,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::metadata_urls;

    #[test]
    fn well_known_urls() {
        assert_eq!(
            metadata_urls("https://as.example/tenant/"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                "https://as.example/tenant/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("http://127.0.0.1:9"),
            [
                "http://127.0.0.1:9/.well-known/oauth-authorization-server",
                "http://127.0.0.1:9/.well-known/openid-configuration"
            ]
        );
    }
}
