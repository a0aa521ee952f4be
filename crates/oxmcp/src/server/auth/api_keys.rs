//! Static API keys (opaque bearer tokens), compared in constant time.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::cache::{token_hash, TokenHash};
use super::{Auth, AuthError, BoxFuture, SetupError, TokenVerifier};

/// A fixed set of API keys, each standing for an identity with its scopes.
///
/// A presented token is hashed and compared with every key's hash in constant time, so
/// neither the time taken nor an early exit tells how much of a key was right.
///
/// ```
/// use oxmcp::server::auth::{ApiKeys, Auth};
///
/// let keys = ApiKeys::new()
///     .key("k-alice", Auth::new("alice").with_scopes(["notes:read", "notes:write"]))
///     .key("k-bob", Auth::new("bob").with_scopes(["notes:read"]));
///
/// // Or from JSON: key -> {"sub": ..., "scopes": [...]}
/// let same = ApiKeys::from_json(r#"{"k-alice": {"sub": "alice", "scopes": ["notes:read"]}}"#)?;
/// # let _ = (keys, same);
/// # Ok::<(), oxmcp::server::auth::SetupError>(())
/// ```
#[derive(Default)]
pub struct ApiKeys {
    keys: Vec<(TokenHash, Auth)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    sub: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    client_id: Option<String>,
}

impl ApiKeys {
    /// No keys yet.
    pub fn new() -> Self {
        ApiKeys::default()
    }

    /// With `key` standing for `auth`.
    pub fn key(mut self, key: impl AsRef<str>, auth: Auth) -> Self {
        self.keys.push((token_hash(key.as_ref()), auth));
        self
    }

    /// The keys of a JSON object: key → `{"sub": "...", "scopes": ["..."]}` (and an
    /// optional `"client_id"`).
    pub fn from_json(json: &str) -> Result<Self, SetupError> {
        let entries: HashMap<String, Entry> = serde_json::from_str(json).map_err(|e| {
            SetupError(format!(
                "API keys: expected a JSON object of key -> {{\"sub\": \"...\", \"scopes\": [\"...\"]}}: {e}"
            ))
        })?;
        Ok(entries
            .into_iter()
            .fold(ApiKeys::new(), |keys, (key, entry)| {
                let mut auth = Auth::new(entry.sub).with_scopes(entry.scopes);
                if let Some(client) = entry.client_id {
                    auth = auth.with_client_id(client);
                }
                keys.key(key, auth)
            }))
    }

    /// [`ApiKeys::from_json`], from a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SetupError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|e| SetupError(format!("API keys: cannot read {}: {e}", path.display())))?;
        ApiKeys::from_json(&json)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn find(&self, token: &str) -> Option<&Auth> {
        let hash = token_hash(token);
        let mut found = None;
        // Every key is compared, whatever matched before.
        for (key, auth) in &self.keys {
            if bool::from(key.ct_eq(&hash)) {
                found = Some(auth);
            }
        }
        found
    }
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl TokenVerifier for ApiKeys {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        let found = self
            .find(token)
            .map(|auth| auth.clone().with_token(token))
            .ok_or(AuthError::Unrecognized);
        Box::pin(std::future::ready(found))
    }
}
