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
