//! The bounded, expiring cache of verified tokens, keyed by a hash of the token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::{Auth, AuthError, BoxFuture, TokenVerifier};

/// The default number of tokens a cache remembers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// The default longest time a verified token is remembered (it is forgotten at its `exp`
/// if that comes first).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// The SHA-256 of a token: what caches key on, so they never hold a token's text as a key.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// When an entry verified now should be forgotten: at the token's expiry, or after `ttl`.
pub(crate) fn until(auth: &Auth, ttl: Duration) -> Instant {
    let now = Instant::now();
    let cap = now + ttl;
    match auth.expires_at() {
        Some(exp) => match exp.duration_since(SystemTime::now()) {
            Ok(left) => cap.min(now + left),
            Err(_) => now,
        },
        None => cap,
    }
}

/// A map from token hash to what it verified as, bounded and expiring.
pub(crate) struct TokenCache {
    map: Mutex<HashMap<TokenHash, (Auth, Instant), foldhash::fast::RandomState>>,
    capacity: usize,
    ttl: Duration,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        TokenCache {
            map: Mutex::default(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<TokenHash, (Auth, Instant), foldhash::fast::RandomState>>
    {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The identity `hash` verified as, unless it expired.
    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Auth> {
        let mut map = self.lock();
        let (auth, until) = map.get(hash)?;
        if *until > Instant::now() {
            return Some(auth.clone());
        }
        map.remove(hash);
        None
    }

    /// Remembers `auth` for `hash` until its expiry (or the cache's time to live).
    pub(crate) fn insert(&self, hash: TokenHash, auth: Auth) {
        let until = until(&auth, self.ttl);
        let now = Instant::now();
        if until <= now {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.capacity && !map.contains_key(&hash) {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= self.capacity {
                // Still full of live entries: drop an eighth of them (any), so that the
                // next inserts do not each pay for a scan.
                let drop = (self.capacity / 8).max(1);
                let victims: Vec<TokenHash> = map.keys().take(drop).copied().collect();
                for victim in victims {
                    map.remove(&victim);
                }
            }
        }
        map.insert(hash, (auth, until));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Any verifier, with a cache of the tokens it accepted: a token seen before is not
/// verified again until it expires (or for at most the cache's time to live). A hit costs
/// a SHA-256 of the token and a map lookup.
///
/// ```
/// use std::time::Duration;
/// use oxmcp::server::auth::{ApiKeys, Auth, Cached};
///
/// let keys = ApiKeys::new().key("s3cret", Auth::new("alice").with_scopes(["notes:read"]));
/// let verifier = Cached::new(keys).capacity(1_000).ttl(Duration::from_secs(60));
/// # let _ = verifier;
/// ```
pub struct Cached<V> {
    inner: V,
    cache: TokenCache,
}

impl<V: TokenVerifier> Cached<V> {
    /// `inner`, with a cache of [`DEFAULT_CACHE_CAPACITY`] tokens kept at most
    /// [`DEFAULT_CACHE_TTL`].
    pub fn new(inner: V) -> Self {
        Cached {
            inner,
            cache: TokenCache::new(DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL),
        }
    }

    /// How many tokens the cache remembers at most.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.cache = TokenCache::new(capacity, self.cache.ttl);
        self
    }

    /// How long a token is remembered at most (less if it expires sooner).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.cache = TokenCache::new(self.cache.capacity, ttl);
        self
    }
}

impl<V> std::fmt::Debug for Cached<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("capacity", &self.cache.capacity)
            .field("ttl", &self.cache.ttl)
            .finish_non_exhaustive()
    }
}

impl<V: TokenVerifier> TokenVerifier for Cached<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        let hash = token_hash(token);
        if let Some(auth) = self.cache.get(&hash) {
            return Box::pin(std::future::ready(Ok(auth)));
        }
        Box::pin(async move {
            let auth = self.inner.verify(token).await?;
            self.cache.insert(hash, auth.clone());
            Ok(auth)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Accepts every token, counting the verifications.
    struct Counting(AtomicUsize);

    impl TokenVerifier for Counting {
        fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(Auth::new(token)) })
        }
    }

    #[tokio::test]
    async fn a_cached_token_is_verified_once() {
        let cached = Cached::new(Counting(AtomicUsize::new(0)));
        for _ in 0..3 {
            assert_eq!(cached.verify("t1").await.unwrap().subject(), "t1");
        }
        assert_eq!(cached.verify("t2").await.unwrap().subject(), "t2");
        assert_eq!(cached.inner.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn bounded_and_expiring() {
        let cache = TokenCache::new(16, Duration::from_secs(60));
        for i in 0..100 {
            cache.insert(token_hash(&i.to_string()), Auth::new("a"));
        }
        assert!(cache.len() <= 16);
        assert!(cache.get(&token_hash("99")).is_some());
        let expired = Auth::new("b").with_expiry(SystemTime::now() - Duration::from_secs(1));
        cache.insert(token_hash("old"), expired);
        assert!(cache.get(&token_hash("old")).is_none());
    }
}
