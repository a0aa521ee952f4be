//! Lifecycle in both eras: initialize and version negotiation, server/discover, per-request
//! `_meta`, and both eras on one connection.

use oxmcp::server::Router;
use serde_json::{json, Value};

use crate::support::{code, modern_meta, Raw};

async fn hello() -> &'static str {
    "hello"
}

fn router() -> Router {
    Router::new()
        .name("lifecycle-test")
        .version("9.9.9")
        .instructions("Be nice.")
        .tool("hello", hello)
}

#[tokio::test]
async fn initialize_negotiates_every_legacy_revision() {
    for (asked, expected) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
        ("2026-07-28", "2025-11-25"),
    ] {
        let mut raw = Raw::start(router());
        let result = raw.initialize(asked).await;
        assert_eq!(result["protocolVersion"], expected, "asked for {asked}");
        assert_eq!(result["serverInfo"]["name"], "lifecycle-test");
        assert_eq!(result["serverInfo"]["version"], "9.9.9");
        assert_eq!(result["instructions"], "Be nice.");
        assert!(result["capabilities"]["tools"].is_object());
        let list = raw
            .call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .await;
        assert_eq!(list["result"]["tools"][0]["name"], "hello");
        assert!(
            list["result"].get("resultType").is_none(),
            "legacy results carry no resultType"
        );
        raw.finish().await;
    }
}

#[tokio::test]
async fn a_second_initialize_is_rejected_and_changes_nothing() {
    let mut raw = Raw::start(router());
    assert_eq!(
        raw.initialize("2025-06-18").await["protocolVersion"],
        "2025-06-18"
    );
    let again = raw
        .call(json!({"jsonrpc": "2.0", "id": "again", "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}))
        .await;
    assert_eq!(code(&again), -32600);
    assert!(again["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2025-06-18"));
    // Still 2025-06-18: argument errors are JSON-RPC errors there, unlike in 2025-11-25.
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        .await;
    assert_eq!(r["result"], json!({}));
    raw.finish().await;
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let mut raw = Raw::start(router());
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(code(&r), -32600);
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("initialize"));
    raw.finish().await;
}

#[tokio::test]
async fn discover_describes_the_server() {
    let mut raw = Raw::start(router());
    let r = raw.call(json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": modern_meta()}})).await;
    let result = &r["result"];
    assert_eq!(result["resultType"], "complete");
    let versions: Vec<&str> = result["supportedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "2026-07-28",
            "2025-11-25",
            "2025-06-18",
            "2025-03-26",
            "2024-11-05"
        ]
    );
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(result["instructions"], "Be nice.");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "lifecycle-test"
    );
    assert!(result["ttlMs"].is_u64());
    assert!(result["cacheScope"].is_string());
    raw.finish().await;
}

#[tokio::test]
async fn unsupported_versions_list_the_supported_ones() {
    let mut raw = Raw::start(router());
    for asked in ["1900-01-01", "2025-11-25"] {
        let mut meta = modern_meta();
        meta["io.modelcontextprotocol/protocolVersion"] = json!(asked);
        let r = raw.call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}})).await;
        assert_eq!(code(&r), -32022, "{asked}");
        assert_eq!(r["error"]["data"]["requested"], asked);
        let supported: Vec<Value> = r["error"]["data"]["supported"].as_array().unwrap().clone();
        assert!(supported.contains(&json!("2026-07-28")));
    }
    raw.finish().await;
}

#[tokio::test]
async fn modern_requests_need_client_capabilities() {
    let mut raw = Raw::start(router());
    let r = raw
        .call_invalid(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                     "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}))
        .await;
    assert_eq!(code(&r), -32602);
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("clientCapabilities"));
    raw.finish().await;
}

#[tokio::test]
async fn legacy_only_methods_do_not_exist_for_modern_requests() {
    let mut raw = Raw::start(router());
    for method in ["ping", "logging/setLevel", "resources/subscribe"] {
        let r = raw.call(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": modern_meta()}})).await;
        assert_eq!(code(&r), -32601, "{method}");
    }
    raw.finish().await;
}

#[tokio::test]
async fn both_eras_on_one_connection() {
    let mut raw = Raw::start(router());
    raw.initialize("2025-03-26").await;
    let legacy = raw
        .call(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "hello"}}),
        )
        .await;
    assert_eq!(legacy["result"]["content"][0]["text"], "hello");
    assert!(legacy["result"].get("resultType").is_none());
    let modern = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"_meta": modern_meta(), "name": "hello"}}))
        .await;
    assert_eq!(modern["result"]["content"][0]["text"], "hello");
    assert_eq!(modern["result"]["resultType"], "complete");
    let list = raw.call(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": modern_meta()}})).await;
    assert_eq!(list["result"]["resultType"], "complete");
    raw.finish().await;
}

#[tokio::test]
async fn set_level_is_accepted_in_legacy_sessions() {
    let mut raw = Raw::start(router());
    raw.initialize("2025-11-25").await;
    let r = raw.call(json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "warning"}})).await;
    assert_eq!(r["result"], json!({}));
    let r = raw.call_invalid(json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "loud"}})).await;
    assert_eq!(code(&r), -32602);
    raw.finish().await;
}

#[tokio::test]
async fn initialize_does_not_exist_for_modern_requests() {
    let mut raw = Raw::start(router());
    // Not a valid legacy initialize either: sent unvalidated.
    let r = raw
        .call_invalid(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"_meta": modern_meta()}}))
        .await;
    assert_eq!(code(&r), -32601, "{r}");
    // And it opened no session: legacy requests are still refused.
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert_eq!(code(&r), -32600);
    raw.finish().await;
}
