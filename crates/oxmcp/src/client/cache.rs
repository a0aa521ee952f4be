//! The client's cache of answers a server marked cacheable (`ttlMs`, `cacheScope`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxmcp_protocol::result::CacheScope;
use oxmcp_protocol::ServerNotification;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The client's cache of answers a server marked cacheable (2026-07-28): `ttlMs` says for
/// how long an answer stays fresh, `cacheScope` who may reuse it (`public`: anyone;
/// `private`: only the same identity).
///
/// `server/discover` ([`Client::discover`](crate::client::Client::discover)), lists
/// (`tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`, page by
/// page) and `resources/read` are cached. A fresh cached answer is served without a
/// request; `notifications/*/list_changed` drops the cached pages of that list and
/// `notifications/resources/updated` the cached reads of that resource. A new connection
/// to a server replaces what was discovered of it: the answer of its handshake's
/// `server/discover` takes the place of the cached one (a legacy handshake just drops it,
/// the server no longer speaking 2026-07-28). A call can opt out
/// ([`CallOptions::fresh`](crate::client::CallOptions::fresh)): it asks the server, and its answer
/// replaces the cached one.
///
/// Every client has a cache of its own. Clients can share one
/// ([`ClientBuilder::cache`](crate::client::ClientBuilder::cache)): `public` answers are then
/// shared between all of them, `private` ones only between clients that name the same
/// identity (the user on whose behalf they act). Answers are shared between clients of the
/// same server, told by its name and version: those of a server that gives neither (modern
/// servers may leave them out) stay with the client that got them. A cache keeps at most
/// [`DEFAULT_ENTRIES`](Self::DEFAULT_ENTRIES) answers and [`DEFAULT_BYTES`](Self::DEFAULT_BYTES) bytes
/// (by default), evicting the answers closest to expiry first, and holds an answer for at
/// most [`MAX_TTL`](Self::MAX_TTL) whatever `ttlMs` says.
///
/// A cache is shared by cloning it: the clones share the entries.
///
/// ```
/// use oxmcp::client::{Client, ResponseCache};
///
/// // Two clients acting for the same user: they share private answers too.
/// let cache = ResponseCache::new();
/// let alice = Client::builder().cache(cache.clone(), "alice");
/// let alice_again = Client::builder().cache(cache.clone(), "alice");
/// // Another user shares only the public answers.
/// let bob = Client::builder().cache(cache, "bob");
/// # let _ = (alice, alice_again, bob);
/// ```
#[derive(Clone)]
pub struct ResponseCache {
    store: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.lock();
        f.debug_struct("ResponseCache")
            .field("entries", &store.entries.len())
            .field("bytes", &store.bytes)
            .finish()
    }
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new()
    }
}

struct Store {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

/// What an answer answers, and who may reuse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// The server (its name and version).
    server: Arc<str>,
    method: Box<str>,
    /// The cursor of a list page, the URI of a read.
    target: Box<str>,
    /// `None` for a public answer; the identity of a private one.
    identity: Option<Arc<str>>,
}

struct Entry {
    result: Arc<str>,
    expires: Instant,
}

impl ResponseCache {
    /// The most answers a cache holds by default.
    pub const DEFAULT_ENTRIES: usize = 1024;
    /// The most bytes of answers a cache holds by default.
    pub const DEFAULT_BYTES: usize = 16 << 20;
    /// The longest an answer is held, whatever its `ttlMs`.
    pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// An empty cache with the default bounds.
    pub fn new() -> Self {
        Self::with_bounds(Self::DEFAULT_ENTRIES, Self::DEFAULT_BYTES)
    }

    /// An empty cache holding at most `max_entries` answers and `max_bytes` bytes of them
    /// (an answer larger than `max_bytes` is not cached).
    pub fn with_bounds(max_entries: usize, max_bytes: usize) -> Self {
        ResponseCache {
            store: Arc::new(Mutex::new(Store {
                entries: HashMap::new(),
                bytes: 0,
                max_entries,
                max_bytes,
            })),
        }
    }

    /// How many answers the cache holds (fresh or not yet evicted).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache holds no answer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every answer.
    pub fn clear(&self) {
        let mut store = self.lock();
        store.entries.clear();
        store.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops what a server notification makes stale.
    pub(crate) fn observe(&self, notification: &ServerNotification) {
        let lists: &[&str] = match notification {
            ServerNotification::ToolListChanged(_) => &["tools/list"],
            ServerNotification::PromptListChanged(_) => &["prompts/list"],
            ServerNotification::ResourceListChanged(_) => {
                &["resources/list", "resources/templates/list"]
            }
            ServerNotification::ResourceUpdated(updated) => {
                let uri = updated.uri.as_str();
                // The URI may be the subscribed resource's or one under it.
                self.retain(|key| {
                    !(&*key.method == "resources/read"
                        && (uri.starts_with(&*key.target) || key.target.starts_with(uri)))
                });
                return;
            }
            _ => return,
        };
        self.retain(|key| !lists.contains(&&*key.method));
    }

    fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut store = self.lock();
        let mut freed = 0;
        store.entries.retain(|key, entry| {
            let kept = keep(key);
            if !kept {
                freed += entry.result.len();
            }
            kept
        });
        store.bytes -= freed;
    }
}

/// The method whose answers describe the server itself.
pub(crate) const DISCOVER: &str = "server/discover";

/// A client's view of a cache: the server it talks to and the identity it acts for.
#[derive(Clone)]
pub(crate) struct ClientCache {
    pub(crate) cache: ResponseCache,
    pub(crate) identity: Arc<str>,
    pub(crate) server: Arc<str>,
}

/// The cache hints of a result.
#[derive(Deserialize)]
struct Hints {
    #[serde(rename = "ttlMs")]
    ttl_ms: Option<u64>,
    #[serde(rename = "cacheScope")]
    cache_scope: Option<CacheScope>,
    #[serde(rename = "resultType")]
    result_type: Option<String>,
}

impl ClientCache {
    /// A key no other client has: as an identity, private answers are then this client's
    /// alone; as a server's, nothing of that server is shared.
    pub(crate) fn unique() -> Arc<str> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        format!("\0client-{}", NEXT.fetch_add(1, Ordering::Relaxed)).into()
    }

    fn key(&self, method: &str, target: &str, identity: Option<&Arc<str>>) -> Key {
        Key {
            server: self.server.clone(),
            method: method.into(),
            target: target.into(),
            identity: identity.cloned(),
        }
    }

    /// Replaces the cached `server/discover` answers of this server, whatever their scope,
    /// with the one a new connection's handshake got (`None`: a legacy handshake).
    pub(crate) fn discovered(&self, answer: Option<&RawValue>) {
        self.cache
            .retain(|key| !(&*key.method == DISCOVER && key.server == self.server));
        if let Some(answer) = answer {
            self.put(DISCOVER, "", answer);
        }
    }

    /// A fresh answer to `method` on `target` this client may reuse.
    pub(crate) fn get(&self, method: &str, target: &str) -> Option<Arc<str>> {
        let now = Instant::now();
        let mut store = self.cache.lock();
        for key in [
            self.key(method, target, None),
            self.key(method, target, Some(&self.identity)),
        ] {
            let Some(entry) = store.entries.get(&key) else {
                continue;
            };
            if entry.expires > now {
                return Some(entry.result.clone());
            }
            let stale = store.entries.remove(&key).expect("just found");
            store.bytes -= stale.result.len();
        }
        None
    }

    /// Keeps `result` if the server marked it cacheable (`ttlMs` above 0).
    pub(crate) fn put(&self, method: &str, target: &str, result: &RawValue) {
        let Ok(hints) = serde_json::from_str::<Hints>(result.get()) else {
            return;
        };
        let ttl = match hints.ttl_ms {
            Some(ms) if ms > 0 => Duration::from_millis(ms).min(ResponseCache::MAX_TTL),
            _ => return,
        };
        if hints
            .result_type
            .as_deref()
            .is_some_and(|t| t != "complete")
        {
            return;
        }
        // A result without a scope is taken as private: the safe reading.
        let identity = match hints.cache_scope {
            Some(CacheScope::Public) => None,
            _ => Some(&self.identity),
        };
        let key = self.key(method, target, identity);
        let result: Arc<str> = result.get().into();
        let now = Instant::now();
        let mut store = self.cache.lock();
        if result.len() > store.max_bytes || store.max_entries == 0 {
            return;
        }
        if let Some(old) = store.entries.remove(&key) {
            store.bytes -= old.result.len();
        }
        store.make_room(result.len(), now);
        store.bytes += result.len();
        store.entries.insert(
            key,
            Entry {
                result,
                expires: now + ttl,
            },
        );
    }
}

impl Store {
    /// Evicts expired answers, then those closest to expiry, until `incoming` more bytes
    /// and one more entry fit.
    fn make_room(&mut self, incoming: usize, now: Instant) {
        let full =
            |s: &Store| s.entries.len() + 1 > s.max_entries || s.bytes + incoming > s.max_bytes;
        if !full(self) {
            return;
        }
        let mut freed = 0;
        self.entries.retain(|_, entry| {
            let fresh = entry.expires > now;
            if !fresh {
                freed += entry.result.len();
            }
            fresh
        });
        self.bytes -= freed;
        while full(self) {
            let Some(soonest) = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.expires)
                .map(|(key, _)| key.clone())
            else {
                return;
            };
            let gone = self.entries.remove(&soonest).expect("just found");
            self.bytes -= gone.result.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(cache: &ResponseCache, identity: &str) -> ClientCache {
        ClientCache {
            cache: cache.clone(),
            identity: identity.into(),
            server: "srv@1".into(),
        }
    }

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn private_answers_stay_with_their_identity() {
        let cache = ResponseCache::new();
        let (alice, bob) = (client(&cache, "alice"), client(&cache, "bob"));
        alice.put(
            "tools/list",
            "",
            &raw(r#"{"tools":[],"ttlMs":60000,"cacheScope":"private"}"#),
        );
        assert!(alice.get("tools/list", "").is_some());
        assert!(bob.get("tools/list", "").is_none());
        bob.put(
            "prompts/list",
            "",
            &raw(r#"{"prompts":[],"ttlMs":60000,"cacheScope":"public"}"#),
        );
        assert!(alice.get("prompts/list", "").is_some());
        // No scope: private.
        alice.put(
            "resources/read",
            "a://x",
            &raw(r#"{"contents":[],"ttlMs":60000}"#),
        );
        assert!(bob.get("resources/read", "a://x").is_none());
    }

    #[test]
    fn no_ttl_no_entry_and_huge_ttls_are_capped() {
        let cache = ResponseCache::new();
        let me = client(&cache, "me");
        me.put("tools/list", "", &raw(r#"{"tools":[],"ttlMs":0}"#));
        me.put("tools/list", "", &raw(r#"{"tools":[]}"#));
        assert!(cache.is_empty());
        me.put(
            "tools/list",
            "",
            &raw(r#"{"tools":[],"ttlMs":18446744073709551615}"#),
        );
        assert!(me.get("tools/list", "").is_some());
    }

    #[test]
    fn bounds_hold_and_evict_the_soonest_to_expire() {
        let cache = ResponseCache::with_bounds(2, 1 << 20);
        let me = client(&cache, "me");
        me.put(
            "resources/read",
            "a",
            &raw(r#"{"contents":[],"ttlMs":1000}"#),
        );
        me.put(
            "resources/read",
            "b",
            &raw(r#"{"contents":[],"ttlMs":90000}"#),
        );
        me.put(
            "resources/read",
            "c",
            &raw(r#"{"contents":[],"ttlMs":90000}"#),
        );
        assert_eq!(cache.len(), 2);
        assert!(me.get("resources/read", "a").is_none());
        let small = ResponseCache::with_bounds(10, 40);
        let me = client(&small, "me");
        let big = format!(
            r#"{{"contents":[],"ttlMs":1000,"x":"{}"}}"#,
            "y".repeat(100)
        );
        me.put("resources/read", "big", &raw(&big));
        assert!(small.is_empty(), "larger than the whole cache");
    }

    #[test]
    fn notifications_drop_what_they_make_stale() {
        let cache = ResponseCache::new();
        let me = client(&cache, "me");
        let hints = r#"{"x":[],"ttlMs":60000}"#;
        for (method, target) in [
            ("tools/list", ""),
            ("tools/list", "page2"),
            ("prompts/list", ""),
            ("resources/read", "file:///dir"),
            ("resources/read", "file:///other"),
        ] {
            me.put(method, target, &raw(hints));
        }
        cache.observe(&ServerNotification::ToolListChanged(None));
        assert!(me.get("tools/list", "").is_none());
        assert!(me.get("tools/list", "page2").is_none());
        assert!(me.get("prompts/list", "").is_some());
        let updated: ServerNotification = serde_json::from_value(serde_json::json!({
            "method": "notifications/resources/updated",
            "params": { "uri": "file:///dir/a.txt" }
        }))
        .unwrap();
        cache.observe(&updated);
        assert!(me.get("resources/read", "file:///dir").is_none());
        assert!(me.get("resources/read", "file:///other").is_some());
    }
}
