//! The client's cache (2026-07-28 `ttlMs` / `cacheScope`): fresh answers served without a
//! request, invalidated by change notifications, private answers never shared across
//! identities, opt-out per call.

use std::sync::{Arc, Mutex};

use oxmcp::client::{CallOptions, ResponseCache};
use oxmcp::protocol::result::CacheScope;
use oxmcp::protocol::subscriptions::SubscriptionFilter;
use oxmcp::protocol::ServerNotification;
use oxmcp::server::middleware::McpRequest;
use oxmcp::server::{CacheHints, Router};
use oxmcp::testing::TestClient;

use crate::support::{legacy, modern};

type Seen = Arc<Mutex<Vec<String>>>;

async fn noop() -> String {
    "ok".into()
}

/// A server whose answers are cacheable for a minute with `scope`; it records the methods
/// it is asked.
fn server(scope: CacheScope) -> (Router, Seen) {
    let seen: Seen = Arc::default();
    (server_to(scope, &seen), seen)
}

/// [`server`], recording in `seen`: instances of one server (same name and version).
fn server_to(scope: CacheScope, seen: &Seen) -> Router {
    logged(
        Router::new()
            .tool("noop", noop)
            .prompt("greet", noop)
            .resource("test://notes", || async { "notes" })
            .cache_hints(CacheHints::new(60_000, scope)),
        seen,
    )
}

/// `router`, recording in `seen` the methods it is asked.
fn logged(router: Router, seen: &Seen) -> Router {
    let log = seen.clone();
    router.layer(tower::util::MapRequestLayer::new(
        move |request: McpRequest| {
            log.lock().unwrap().push(request.method().to_owned());
            request
        },
    ))
}

fn asked(seen: &Seen, method: &str) -> usize {
    seen.lock().unwrap().iter().filter(|m| *m == method).count()
}

#[tokio::test]
async fn fresh_answers_are_served_without_a_request() {
    let (router, seen) = server(CacheScope::Private);
    let client = TestClient::modern(router).await.unwrap();
    for _ in 0..3 {
        assert_eq!(client.list_tools(None).await.unwrap().tools.len(), 1);
        assert_eq!(client.list_all_prompts().await.unwrap().len(), 1);
        client.list_resources(None).await.unwrap();
        client.read_resource("test://notes").await.unwrap();
    }
    for method in [
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/read",
    ] {
        assert_eq!(asked(&seen, method), 1, "{method}");
    }
    // Opted out: asked again, and the answer refreshes the cache.
    client
        .list_tools_with(None, CallOptions::new().fresh())
        .await
        .unwrap();
    client
        .read_resource_with("test://notes", CallOptions::new().fresh())
        .await
        .unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);
    assert_eq!(asked(&seen, "resources/read"), 2);
    client.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);
}

#[tokio::test]
async fn no_hints_or_no_cache_means_every_call_asks() {
    // Legacy results carry no `ttlMs`.
    let (router, seen) = server(CacheScope::Public);
    let client = TestClient::builder(router)
        .era(legacy())
        .connect()
        .await
        .unwrap();
    client.list_tools(None).await.unwrap();
    client.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);
    // The default hints say `ttlMs: 0`.
    let seen: Seen = Arc::default();
    let router = logged(Router::new().tool("noop", noop), &seen);
    let client = TestClient::modern(router).await.unwrap();
    client.list_tools(None).await.unwrap();
    client.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);
    // A client with its cache turned off.
    let (router, seen) = server(CacheScope::Public);
    let client = TestClient::builder(router)
        .era(modern())
        .client(|b| b.no_cache())
        .connect()
        .await
        .unwrap();
    client.list_tools(None).await.unwrap();
    client.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);
}

#[tokio::test]
async fn change_notifications_make_cached_answers_stale() {
    let (router, seen) = server(CacheScope::Private);
    let handle = router.handle();
    let client = TestClient::modern(router).await.unwrap();
    let mut subscription = client
        .listen(
            SubscriptionFilter::new()
                .with_tools_list_changed(true)
                .with_resource_subscriptions(vec!["test://notes".into()]),
        )
        .await
        .unwrap();
    assert_eq!(client.list_tools(None).await.unwrap().tools.len(), 1);
    client.read_resource("test://notes").await.unwrap();

    handle.add_tool("second", noop).unwrap();
    assert!(matches!(
        subscription.next().await,
        Some(Ok(ServerNotification::ToolListChanged(_)))
    ));
    assert_eq!(client.list_tools(None).await.unwrap().tools.len(), 2);
    assert_eq!(asked(&seen, "tools/list"), 2);

    handle.notify_resource_updated("test://notes");
    assert!(matches!(
        subscription.next().await,
        Some(Ok(ServerNotification::ResourceUpdated(_)))
    ));
    client.read_resource("test://notes").await.unwrap();
    assert_eq!(asked(&seen, "resources/read"), 2);
    subscription.close().await;
}

#[tokio::test]
async fn private_answers_are_never_shared_across_identities() {
    let connect = |router: Router, cache: &ResponseCache, identity: &str| {
        let cache = cache.clone();
        let identity = identity.to_owned();
        TestClient::builder(router)
            .era(modern())
            .client(move |b| b.cache(cache, identity))
            .connect()
    };

    let seen: Seen = Arc::default();
    let private = || server_to(CacheScope::Private, &seen);
    let cache = ResponseCache::new();
    let alice = connect(private(), &cache, "alice").await.unwrap();
    let alice_again = connect(private(), &cache, "alice").await.unwrap();
    let bob = connect(private(), &cache, "bob").await.unwrap();
    alice.list_tools(None).await.unwrap();
    alice_again.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 1, "same identity: shared");
    bob.list_tools(None).await.unwrap();
    assert_eq!(
        asked(&seen, "tools/list"),
        2,
        "another identity: not shared"
    );

    // Clients that share nothing have caches of their own.
    let seen: Seen = Arc::default();
    let one = TestClient::modern(server_to(CacheScope::Private, &seen))
        .await
        .unwrap();
    let other = TestClient::modern(server_to(CacheScope::Private, &seen))
        .await
        .unwrap();
    one.list_tools(None).await.unwrap();
    other.list_tools(None).await.unwrap();
    assert_eq!(asked(&seen, "tools/list"), 2);

    // Public answers are shared with every client of the cache.
    let seen: Seen = Arc::default();
    let cache = ResponseCache::new();
    let alice = connect(server_to(CacheScope::Public, &seen), &cache, "alice")
        .await
        .unwrap();
    let bob = connect(server_to(CacheScope::Public, &seen), &cache, "bob")
        .await
        .unwrap();
    alice.read_resource("test://notes").await.unwrap();
    bob.read_resource("test://notes").await.unwrap();
    assert_eq!(asked(&seen, "resources/read"), 1);
}

/// A server named like the others of [`server_to`], whose discover answer says `note`.
fn noted(scope: CacheScope, ttl_ms: u64, note: &str, seen: &Seen) -> Router {
    logged(
        Router::new()
            .tool("noop", noop)
            .instructions(note)
            .cache_hints(CacheHints::new(ttl_ms, scope)),
        seen,
    )
}

/// A session with a server noted `note`, sharing `cache` as `identity`.
async fn session(
    cache: &ResponseCache,
    identity: &str,
    era: oxmcp::client::EraChoice,
    (scope, note, seen): (CacheScope, &str, &Seen),
) -> TestClient {
    let cache = cache.clone();
    let identity = identity.to_owned();
    TestClient::builder(noted(scope, 60_000, note, seen))
        .era(era)
        .client(move |b| b.cache(cache, identity))
        .connect()
        .await
        .unwrap()
}

/// What a client discovers now: the server's instructions.
async fn discovered(client: &TestClient) -> String {
    client.discover().await.unwrap().instructions.unwrap()
}

#[tokio::test]
async fn discover_is_answered_from_the_handshake_until_stale_or_asked_fresh() {
    let seen: Seen = Arc::default();
    let client = TestClient::modern(noted(CacheScope::Private, 60_000, "one", &seen))
        .await
        .unwrap();
    assert_eq!(asked(&seen, "server/discover"), 1, "the handshake");
    for _ in 0..3 {
        let found = client.discover().await.unwrap();
        assert_eq!(found.instructions.as_deref(), Some("one"));
        assert!(found.capabilities.tools.is_some());
    }
    assert_eq!(asked(&seen, "server/discover"), 1, "served from the cache");
    client
        .discover_with(CallOptions::new().fresh())
        .await
        .unwrap();
    assert_eq!(asked(&seen, "server/discover"), 2, "fresh asks");
    client.discover().await.unwrap();
    assert_eq!(asked(&seen, "server/discover"), 2);

    // Expiry: an answer fresh for 1 ms is stale by the next call.
    let seen: Seen = Arc::default();
    let client = TestClient::modern(noted(CacheScope::Public, 1, "one", &seen))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    client.discover().await.unwrap();
    assert_eq!(asked(&seen, "server/discover"), 2);

    // Nothing to discover in the legacy era.
    let client = TestClient::builder(noted(CacheScope::Public, 60_000, "one", &seen))
        .era(legacy())
        .connect()
        .await
        .unwrap();
    let refused = client.discover().await.unwrap_err();
    assert!(refused.is_unsupported(), "{refused}");
}

#[tokio::test]
async fn a_new_session_or_era_replaces_what_was_discovered() {
    let cache = ResponseCache::new();
    let (seen_one, seen_two): (Seen, Seen) = Default::default();
    let public = CacheScope::Public;
    let first = session(&cache, "alice", modern(), (public, "one", &seen_one)).await;
    assert_eq!(discovered(&first).await, "one");
    // A new session with the same server (name and version): its answer takes the place.
    let _second = session(&cache, "alice", modern(), (public, "two", &seen_two)).await;
    assert_eq!(discovered(&first).await, "two");
    assert_eq!(asked(&seen_one, "server/discover"), 1);
    // The server, now spoken to in the legacy era: nothing discovered is kept.
    let _legacy = session(&cache, "alice", legacy(), (public, "three", &seen_two)).await;
    assert_eq!(discovered(&first).await, "one");
    assert_eq!(asked(&seen_one, "server/discover"), 2, "asked again");
}

#[tokio::test]
async fn private_discover_answers_stay_with_their_identity() {
    let cache = ResponseCache::new();
    let (seen_alice, seen_bob): (Seen, Seen) = Default::default();
    let private = CacheScope::Private;
    let alice = session(
        &cache,
        "alice",
        modern(),
        (private, "for alice", &seen_alice),
    )
    .await;
    let bob = session(&cache, "bob", modern(), (private, "for bob", &seen_bob)).await;
    // Bob's session replaced Alice's answer, but his is private: Alice asks her server.
    assert_eq!(discovered(&alice).await, "for alice");
    assert_eq!(asked(&seen_alice, "server/discover"), 2);
    assert_eq!(discovered(&bob).await, "for bob");
    assert_eq!(asked(&seen_bob, "server/discover"), 1, "his own, cached");
    discovered(&alice).await;
    assert_eq!(asked(&seen_alice, "server/discover"), 2);
}

/// A modern server that gives no name or version, listing the one tool `tool`, every
/// answer public for a minute.
fn anonymous(
    tool: &'static str,
) -> (
    tokio::io::ReadHalf<tokio::io::DuplexStream>,
    tokio::io::WriteHalf<tokio::io::DuplexStream>,
) {
    use crate::client::{scripted_server, Script};
    use serde_json::json;
    scripted_server(move |msg| {
        let hints = json!({ "resultType": "complete", "ttlMs": 60_000, "cacheScope": "public" });
        let mut result = match msg["method"].as_str().unwrap_or("") {
            "server/discover" => json!({
                "supportedVersions": ["2026-07-28"], "capabilities": { "tools": {} }
            }),
            "tools/list" => {
                json!({ "tools": [{ "name": tool, "inputSchema": { "type": "object" } }] })
            }
            _ => return std::future::ready(Script::Ignore),
        };
        result
            .as_object_mut()
            .unwrap()
            .extend(hints.as_object().unwrap().clone());
        let reply = json!({ "jsonrpc": "2.0", "id": msg["id"], "result": result });
        std::future::ready(Script::Reply(reply))
    })
}

#[tokio::test]
async fn servers_that_give_no_name_share_nothing() {
    let cache = ResponseCache::new();
    let mut listed = Vec::new();
    for tool in ["first", "second"] {
        let (read, write) = anonymous(tool);
        let client = oxmcp::client::Client::builder()
            .cache(cache.clone(), "alice")
            .connect_io(read, write)
            .await
            .unwrap();
        let page = client.list_tools(None).await.unwrap();
        listed.push(page.tools[0].name.clone());
        assert_eq!(client.list_tools(None).await.unwrap().tools[0].name, tool);
    }
    assert_eq!(listed, ["first", "second"], "each server's own list");
}
