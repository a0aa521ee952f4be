//! Where the authorization server keeps clients, codes, refresh tokens and revocations.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;

use futures_util::future::BoxFuture;

use super::clients::Client;

/// What an authorization code or a refresh token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The client the grant was issued to.
    pub client_id: String,
    /// The resource owner (for `client_credentials`, the client itself).
    pub subject: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The resource (RFC 8707) the tokens are bound to; their `aud`.
    pub resource: Option<String>,
    /// The redirect URI of the authorization request (codes only).
    pub redirect_uri: Option<String>,
    /// The PKCE S256 challenge (codes only).
    pub code_challenge: Option<String>,
    /// The token family: every token descending from one authorization code.
    pub family: String,
    /// When this code or refresh token stops being usable.
    pub expires_at: SystemTime,
}

/// The outcome of redeeming a single-use code or refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// First use: the grant it stands for.
    Fresh(Grant),
    /// It was redeemed before: a replay. The grant is returned so its family can be
    /// revoked.
    Replayed(Grant),
    /// Unknown or expired.
    Unknown,
}

/// A storage failure (full, or the backend is unreachable).
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// A storage result.
pub type StoreResult<T> = Result<T, StoreError>;

/// The authorization server's state. Codes and refresh tokens are keyed by a hash of the
/// secret value, never the value itself. Implementations must make `redeem_*` atomic: of
/// two concurrent redemptions of one value, exactly one is `Fresh`.
pub trait Store: Send + Sync + 'static {
    /// Stores a client (registered dynamically or fetched from its metadata document).
    fn put_client(&self, client: Client) -> BoxFuture<'_, StoreResult<()>>;
    /// A client by id.
    fn client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>>;
    /// Stores an authorization code.
    fn put_code(&self, key: String, grant: Grant) -> BoxFuture<'_, StoreResult<()>>;
    /// Redeems an authorization code: marks it used and says whether it was used before.
    fn redeem_code<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Redeemed>>;
    /// Stores a refresh token.
    fn put_refresh(&self, key: String, grant: Grant) -> BoxFuture<'_, StoreResult<()>>;
    /// Redeems a refresh token (rotation): marks it used and says whether it was used
    /// before.
    fn redeem_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Redeemed>>;
    /// The grant of a live, unused refresh token, without redeeming it (for revocation).
    fn refresh_grant<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Grant>>>;
    /// Revokes a token family until `until` (the longest a token of it can live).
    fn revoke_family(&self, family: String, until: SystemTime) -> BoxFuture<'_, StoreResult<()>>;
    /// Whether a family was revoked.
    fn family_revoked<'a>(&'a self, family: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
    /// Records a one-time value (a client assertion's `jti`) until `until`; `false` if it
    /// was already recorded.
    fn once(&self, key: String, until: SystemTime) -> BoxFuture<'_, StoreResult<bool>>;
}

/// Limits of [`MemoryStore`].
#[derive(Clone, Copy, Debug)]
pub struct MemoryLimits {
    /// Most stored clients (dynamic registrations and fetched metadata documents).
    pub clients: usize,
    /// Most live codes, refresh tokens, revoked families and one-time values, each.
    pub entries: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            clients: 10_000,
            entries: 100_000,
        }
    }
}

/// The in-memory [`Store`]: bounded, expired entries purged as it fills.
#[derive(Debug, Default)]
pub struct MemoryStore {
    limits: MemoryLimits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<String, Client>,
    codes: HashMap<String, (Grant, bool)>,
    refresh: HashMap<String, (Grant, bool)>,
    families: HashMap<String, SystemTime>,
    once: HashMap<String, SystemTime>,
}

/// Inserts into a bounded map, purging expired entries when it is full.
fn bounded_insert<V>(
    map: &mut HashMap<String, V>,
    limit: usize,
    key: String,
    value: V,
    live: impl Fn(&V) -> bool,
    what: &str,
) -> StoreResult<()> {
    if map.len() >= limit && !map.contains_key(&key) {
        map.retain(|_, v| live(v));
        if map.len() >= limit {
            return Err(StoreError(format!(
                "too many {what} ({limit}); try again later"
            )));
        }
    }
    map.insert(key, value);
    Ok(())
}

impl MemoryStore {
    /// An empty store with the default limits.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store with these limits.
    pub fn with_limits(limits: MemoryLimits) -> MemoryStore {
        MemoryStore {
            limits,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn redeem(map: &mut HashMap<String, (Grant, bool)>, key: &str) -> Redeemed {
        match map.get_mut(key) {
            Some((grant, _)) if grant.expires_at <= SystemTime::now() => {
                map.remove(key);
                Redeemed::Unknown
            }
            Some((grant, used)) if *used => Redeemed::Replayed(grant.clone()),
            Some((grant, used)) => {
                *used = true;
                Redeemed::Fresh(grant.clone())
            }
            None => Redeemed::Unknown,
        }
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl Store for MemoryStore {
    fn put_client(&self, client: Client) -> BoxFuture<'_, StoreResult<()>> {
        let limit = self.limits.clients;
        let mut state = self.state();
        let id = client.client_id.clone();
        ready(bounded_insert(
            &mut state.clients,
            limit,
            id,
            client,
            |c| c.expires_at.is_none_or(|t| t > SystemTime::now()),
            "registered clients",
        ))
    }

    fn client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        let state = self.state();
        let found = state
            .clients
            .get(client_id)
            .filter(|c| c.expires_at.is_none_or(|t| t > SystemTime::now()))
            .cloned();
        ready(Ok(found))
    }

    fn put_code(&self, key: String, grant: Grant) -> BoxFuture<'_, StoreResult<()>> {
        let limit = self.limits.entries;
        let now = SystemTime::now();
        ready(bounded_insert(
            &mut self.state().codes,
            limit,
            key,
            (grant, false),
            |(g, _)| g.expires_at > now,
            "pending authorization codes",
        ))
    }

    fn redeem_code<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Redeemed>> {
        ready(Ok(Self::redeem(&mut self.state().codes, key)))
    }

    fn put_refresh(&self, key: String, grant: Grant) -> BoxFuture<'_, StoreResult<()>> {
        let limit = self.limits.entries;
        let now = SystemTime::now();
        ready(bounded_insert(
            &mut self.state().refresh,
            limit,
            key,
            (grant, false),
            |(g, _)| g.expires_at > now,
            "refresh tokens",
        ))
    }

    fn redeem_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Redeemed>> {
        ready(Ok(Self::redeem(&mut self.state().refresh, key)))
    }

    fn refresh_grant<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Grant>>> {
        let now = SystemTime::now();
        ready(Ok(self
            .state()
            .refresh
            .get(key)
            .filter(|(g, used)| !used && g.expires_at > now)
            .map(|(g, _)| g.clone())))
    }

    fn revoke_family(&self, family: String, until: SystemTime) -> BoxFuture<'_, StoreResult<()>> {
        let limit = self.limits.entries;
        let now = SystemTime::now();
        let mut state = self.state();
        // The family's refresh tokens go at once; the mark stays for codes still in flight.
        state.refresh.retain(|_, (g, _)| g.family != family);
        ready(bounded_insert(
            &mut state.families,
            limit,
            family,
            until,
            |t| *t > now,
            "revoked token families",
        ))
    }

    fn family_revoked<'a>(&'a self, family: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let now = SystemTime::now();
        ready(Ok(self
            .state()
            .families
            .get(family)
            .is_some_and(|t| *t > now)))
    }

    fn once(&self, key: String, until: SystemTime) -> BoxFuture<'_, StoreResult<bool>> {
        let limit = self.limits.entries;
        let now = SystemTime::now();
        let mut state = self.state();
        if state.once.get(&key).is_some_and(|t| *t > now) {
            return ready(Ok(false));
        }
        ready(
            bounded_insert(
                &mut state.once,
                limit,
                key,
                until,
                |t| *t > now,
                "one-time values",
            )
            .map(|()| true),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn grant(ttl: Duration) -> Grant {
        Grant {
            client_id: "c".into(),
            subject: "alice".into(),
            scopes: vec![],
            resource: None,
            redirect_uri: None,
            code_challenge: None,
            family: "f".into(),
            expires_at: SystemTime::now() + ttl,
        }
    }

    #[tokio::test]
    async fn full_store_purges_expired_entries_then_refuses() {
        let store = MemoryStore::with_limits(MemoryLimits {
            clients: 1,
            entries: 2,
        });
        store
            .put_code("a".into(), grant(Duration::ZERO))
            .await
            .unwrap();
        store
            .put_code("b".into(), grant(Duration::from_secs(60)))
            .await
            .unwrap();
        // Full, but "a" has expired: it is purged to make room.
        store
            .put_code("c".into(), grant(Duration::from_secs(60)))
            .await
            .unwrap();
        let err = store
            .put_code("d".into(), grant(Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("too many"), "{err}");
        assert_eq!(store.state().codes.len(), 2);
    }

    #[tokio::test]
    async fn codes_redeem_once() {
        let store = MemoryStore::new();
        store
            .put_code("a".into(), grant(Duration::from_secs(60)))
            .await
            .unwrap();
        assert!(matches!(
            store.redeem_code("a").await.unwrap(),
            Redeemed::Fresh(_)
        ));
        assert!(matches!(
            store.redeem_code("a").await.unwrap(),
            Redeemed::Replayed(_)
        ));
        assert_eq!(store.redeem_code("b").await.unwrap(), Redeemed::Unknown);
    }
}
