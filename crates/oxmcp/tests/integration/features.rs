//! Resources, templates, prompts, completions, pagination, runtime changes, subscriptions
//! and cache hints, on the wire, in both eras; every frame schema-checked.

use std::time::Duration;

use oxmcp::protocol::result::CacheScope;
use oxmcp::server::{files, prompt, resource, Args, Blob, CacheHints, Complete, Router, Uri};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{code, modern_meta, Raw};

#[derive(Deserialize)]
struct Item {
    id: u32,
}

async fn item(Uri(item): Uri<Item>) -> String {
    format!("item {}", item.id)
}

#[derive(Deserialize, JsonSchema)]
struct Greeting {
    /// Who to greet.
    name: String,
    /// How formal to be.
    tone: Option<String>,
}

async fn greet(Args(g): Args<Greeting>) -> String {
    format!(
        "Say hello to {} in a {} tone.",
        g.name,
        g.tone.as_deref().unwrap_or("friendly")
    )
}

async fn complete_id(request: Complete) -> Vec<String> {
    let base = request.context.get("prefix").cloned().unwrap_or_default();
    ["1", "12", "123", "2"]
        .iter()
        .filter(|v| v.starts_with(&request.value))
        .map(|v| format!("{base}{v}"))
        .collect()
}

fn router() -> Router {
    Router::new()
        .resource(
            "test://static-text",
            resource(|| async { "static text" })
                .name("static")
                .mime_type("text/plain"),
        )
        .resource(
            "test://static-binary",
            resource(|| async { Blob::new(vec![0u8, 1, 2, 255]) })
                .name("binary")
                .mime_type("application/octet-stream"),
        )
        .resource_template(
            "test://items/{id}",
            resource(item).name("item").complete("id", complete_id),
        )
        .prompt(
            "greet",
            prompt(greet)
                .description("Greet someone")
                .complete("tone", ["friendly", "formal", "funny"]),
        )
        .cache_hints(CacheHints::new(60_000, CacheScope::Public))
}

fn legacy_request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn modern_request(id: i64, method: &str, mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Runs the same checks against a legacy session and modern requests.
async fn both_eras(check: impl AsyncFnLike) {
    let mut raw = Raw::start(router());
    raw.initialize("2025-11-25").await;
    check.run(&mut raw, false).await;
    raw.finish().await;
    let mut raw = Raw::start(router());
    check.run(&mut raw, true).await;
    raw.finish().await;
}

trait AsyncFnLike {
    async fn run(&self, raw: &mut Raw, modern: bool);
}

fn request(modern: bool, id: i64, method: &str, params: Value) -> Value {
    if modern {
        modern_request(id, method, params)
    } else {
        legacy_request(id, method, params)
    }
}

struct ResourceChecks;

impl AsyncFnLike for ResourceChecks {
    async fn run(&self, raw: &mut Raw, modern: bool) {
        let list = raw
            .call(request(modern, 1, "resources/list", json!({})))
            .await;
        let uris: Vec<&str> = list["result"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uri"].as_str().unwrap())
            .collect();
        assert_eq!(uris, ["test://static-text", "test://static-binary"]);
        assert_eq!(list["result"]["resources"][0]["mimeType"], "text/plain");
        let templates = raw
            .call(request(modern, 2, "resources/templates/list", json!({})))
            .await;
        assert_eq!(
            templates["result"]["resourceTemplates"][0]["uriTemplate"],
            "test://items/{id}"
        );

        let text = raw
            .call(request(
                modern,
                3,
                "resources/read",
                json!({"uri": "test://static-text"}),
            ))
            .await;
        assert_eq!(
            text["result"]["contents"],
            json!([{"uri": "test://static-text", "mimeType": "text/plain", "text": "static text"}])
        );
        let blob = raw
            .call(request(
                modern,
                4,
                "resources/read",
                json!({"uri": "test://static-binary"}),
            ))
            .await;
        assert_eq!(blob["result"]["contents"][0]["blob"], "AAEC/w==");
        let item = raw
            .call(request(
                modern,
                5,
                "resources/read",
                json!({"uri": "test://items/42"}),
            ))
            .await;
        assert_eq!(item["result"]["contents"][0]["text"], "item 42");
        assert_eq!(item["result"]["contents"][0]["uri"], "test://items/42");

        let missing = raw
            .call(request(
                modern,
                6,
                "resources/read",
                json!({"uri": "test://nope"}),
            ))
            .await;
        assert_eq!(code(&missing), if modern { -32602 } else { -32002 });
        let bad_id = raw
            .call(request(
                modern,
                7,
                "resources/read",
                json!({"uri": "test://items/abc"}),
            ))
            .await;
        assert_eq!(code(&bad_id), -32602);
        if modern {
            assert_eq!(text["result"]["resultType"], "complete");
            assert_eq!(text["result"]["ttlMs"], 60_000);
            assert_eq!(text["result"]["cacheScope"], "public");
            assert_eq!(list["result"]["ttlMs"], 60_000);
        } else {
            assert!(text["result"].get("ttlMs").is_none());
        }
    }
}

#[tokio::test]
async fn resources_and_templates_in_both_eras() {
    both_eras(ResourceChecks).await;
}

struct PromptChecks;

impl AsyncFnLike for PromptChecks {
    async fn run(&self, raw: &mut Raw, modern: bool) {
        let list = raw
            .call(request(modern, 1, "prompts/list", json!({})))
            .await;
        let greet = &list["result"]["prompts"][0];
        assert_eq!(greet["name"], "greet");
        assert_eq!(greet["description"], "Greet someone");
        assert_eq!(
            greet["arguments"],
            json!([
                {"name": "name", "description": "Who to greet.", "required": true},
                {"name": "tone", "description": "How formal to be.", "required": false}
            ])
        );
        let got = raw
            .call(request(
                modern,
                2,
                "prompts/get",
                json!({"name": "greet", "arguments": {"name": "Ada"}}),
            ))
            .await;
        assert_eq!(
            got["result"]["messages"],
            json!([{"role": "user", "content": {"type": "text", "text": "Say hello to Ada in a friendly tone."}}])
        );
        let missing_arg = raw
            .call(request(
                modern,
                3,
                "prompts/get",
                json!({"name": "greet", "arguments": {}}),
            ))
            .await;
        assert_eq!(code(&missing_arg), -32602);
        assert!(missing_arg["error"]["message"]
            .as_str()
            .unwrap()
            .contains("name"));
        let unknown = raw
            .call(request(modern, 4, "prompts/get", json!({"name": "nope"})))
            .await;
        assert_eq!(code(&unknown), -32602);

        let tone = raw
            .call(request(
                modern,
                5,
                "completion/complete",
                json!({
                    "ref": {"type": "ref/prompt", "name": "greet"},
                    "argument": {"name": "tone", "value": "f"}
                }),
            ))
            .await;
        assert_eq!(
            tone["result"]["completion"]["values"],
            json!(["friendly", "formal", "funny"])
        );
        let ids = raw
            .call(request(
                modern,
                6,
                "completion/complete",
                json!({
                    "ref": {"type": "ref/resource", "uri": "test://items/{id}"},
                    "argument": {"name": "id", "value": "12"},
                    "context": {"arguments": {"prefix": "#"}}
                }),
            ))
            .await;
        assert_eq!(
            ids["result"]["completion"]["values"],
            json!(["#12", "#123"])
        );
        let nothing = raw
            .call(request(
                modern,
                7,
                "completion/complete",
                json!({
                    "ref": {"type": "ref/prompt", "name": "greet"},
                    "argument": {"name": "name", "value": "A"}
                }),
            ))
            .await;
        assert_eq!(nothing["result"]["completion"]["values"], json!([]));
    }
}

#[tokio::test]
async fn prompts_and_completions_in_both_eras() {
    both_eras(PromptChecks).await;
}

async fn noop() -> &'static str {
    "ok"
}

#[tokio::test]
async fn lists_paginate_with_opaque_cursors() {
    let mut router = Router::new().page_size(2);
    for i in 0..5 {
        router = router.tool(&format!("t{i}"), noop);
    }
    let mut raw = Raw::start(router);
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = raw.call(modern_request(pages, "tools/list", params)).await;
        pages += 1;
        names.extend(
            page["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        match page["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);
    let bad = raw
        .call(modern_request(
            9,
            "tools/list",
            json!({"cursor": "not-a-cursor"}),
        ))
        .await;
    assert_eq!(code(&bad), -32602);
    raw.finish().await;
}

#[tokio::test]
async fn runtime_changes_reach_legacy_sessions_and_listeners() {
    let router: Router = Router::new().tool("first", noop);
    let handle = router.handle();
    let mut raw = Raw::start(router);
    raw.initialize("2025-06-18").await;
    // A modern listener on the same connection, asking for tool changes only.
    raw.send(modern_request(
        7,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
    ))
    .await;
    let ack = raw.recv().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        7
    );

    handle.add_tool("second", noop).unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(raw.recv().await);
    }
    assert!(seen
        .iter()
        .all(|n| n["method"] == "notifications/tools/list_changed"));
    assert_eq!(
        seen.iter()
            .filter(|n| n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7)
            .count(),
        1
    );
    let list = raw.call(legacy_request(2, "tools/list", json!({}))).await;
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 2);

    // Prompts changed: the listener did not ask, so only the legacy session hears it.
    handle.add_prompt("p", || async { "hi" }).unwrap();
    assert_eq!(
        raw.recv().await["method"],
        "notifications/prompts/list_changed"
    );
    raw.expect_silence(Duration::from_millis(100)).await;

    assert!(handle.remove_tool("first"));
    assert!(!handle.remove_tool("first"));
    for _ in 0..2 {
        assert_eq!(
            raw.recv().await["method"],
            "notifications/tools/list_changed"
        );
    }
    let call = raw
        .call(legacy_request(3, "tools/call", json!({"name": "first"})))
        .await;
    assert_eq!(code(&call), -32602);
    raw.finish().await;
}

#[tokio::test]
async fn resource_subscriptions_in_both_eras() {
    let router = router();
    let handle = router.handle();
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let r = raw
        .call(legacy_request(
            1,
            "resources/subscribe",
            json!({"uri": "test://static-text"}),
        ))
        .await;
    assert_eq!(r["result"], json!({}));
    raw.send(modern_request(
        2,
        "subscriptions/listen",
        json!({"notifications": {"resourceSubscriptions": ["test://static-text"]}}),
    ))
    .await;
    assert_eq!(
        raw.recv().await["method"],
        "notifications/subscriptions/acknowledged"
    );

    handle.notify_resource_updated("test://static-text");
    let mut updates = [raw.recv().await, raw.recv().await];
    updates.sort_by_key(|u| u["params"]["_meta"].is_object());
    assert_eq!(
        updates[0],
        json!({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "test://static-text"}})
    );
    assert_eq!(
        updates[1]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        2
    );
    assert_eq!(updates[1]["params"]["uri"], "test://static-text");

    handle.notify_resource_updated("test://other");
    raw.expect_silence(Duration::from_millis(100)).await;

    // Unsubscribed and cancelled: nobody hears the next update.
    raw.call(legacy_request(
        3,
        "resources/unsubscribe",
        json!({"uri": "test://static-text"}),
    ))
    .await;
    raw.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    handle.notify_resource_updated("test://static-text");
    raw.expect_silence(Duration::from_millis(150)).await;
    raw.finish().await;
}

#[tokio::test]
async fn listen_streams_close_with_a_result_when_input_ends() {
    let mut raw = Raw::start(router());
    raw.send(modern_request(
        5,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
    ))
    .await;
    assert_eq!(
        raw.recv().await["method"],
        "notifications/subscriptions/acknowledged"
    );
    let Raw {
        mut writer,
        mut lines,
        tap,
        server,
    } = raw;
    tokio::io::AsyncWriteExt::shutdown(&mut writer)
        .await
        .unwrap();
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tap.see(oxmcp::testing::Direction::ServerToClient, &line);
    let closed: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(closed["id"], 5);
    assert_eq!(closed["result"]["resultType"], "complete");
    assert_eq!(
        closed["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );
    server.await.unwrap().unwrap();
    tap.assert_clean();
}

#[tokio::test]
async fn files_stay_under_their_root() {
    let dir = std::env::temp_dir().join(format!("oxmcp-it-files-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("root/docs")).unwrap();
    std::fs::write(dir.join("root/docs/a.md"), "# A").unwrap();
    std::fs::write(dir.join("root/logo.png"), [0x89u8, b'P', b'N', b'G', 0xff]).unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    let router: Router =
        Router::new().resource_template("files://{+path}", files(dir.join("root")));
    let mut raw = Raw::start(router);
    let text = raw
        .call(modern_request(
            1,
            "resources/read",
            json!({"uri": "files://docs/a.md"}),
        ))
        .await;
    assert_eq!(text["result"]["contents"][0]["text"], "# A");
    assert_eq!(text["result"]["contents"][0]["mimeType"], "text/markdown");
    let png = raw
        .call(modern_request(
            2,
            "resources/read",
            json!({"uri": "files://logo.png"}),
        ))
        .await;
    assert_eq!(png["result"]["contents"][0]["mimeType"], "image/png");
    assert!(png["result"]["contents"][0]["blob"].is_string());
    for (id, evil) in [
        (3, "files://../secret.txt"),
        (4, "files://docs/../../secret.txt"),
        (5, "files:///etc/passwd"),
    ] {
        let r = raw
            .call(modern_request(id, "resources/read", json!({"uri": evil})))
            .await;
        assert_eq!(code(&r), -32602, "{evil}: {r}");
    }
    let missing = raw
        .call(modern_request(
            6,
            "resources/read",
            json!({"uri": "files://nope.txt"}),
        ))
        .await;
    assert_eq!(code(&missing), -32602);
    raw.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}

mod lifespan {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use oxmcp::server::{Lifespan, Router, State};
    use serde_json::json;

    use crate::support::Raw;

    #[derive(Clone)]
    struct Db {
        name: String,
        log: Arc<Mutex<Vec<&'static str>>>,
    }

    async fn query(State(db): State<Db>) -> String {
        tokio::time::sleep(Duration::from_millis(100)).await;
        db.log.lock().unwrap().push("query finished");
        format!("rows from {}", db.name)
    }

    #[tokio::test]
    async fn startup_state_reaches_handlers_and_shutdown_waits_for_requests() {
        let log: Arc<Mutex<Vec<&'static str>>> = Arc::default();
        let events = log.clone();
        let router: Router = Router::new()
            .tool("query", query)
            .with_lifespan(move || async move {
                events.lock().unwrap().push("started");
                let db = Db {
                    name: "app-db".into(),
                    log: events.clone(),
                };
                Ok::<_, std::io::Error>(Lifespan::new(db).on_shutdown(|db| async move {
                    db.log.lock().unwrap().push("shut down");
                }))
            });
        let mut raw = Raw::start(router);
        raw.send(super::modern_request(
            1,
            "tools/call",
            json!({"name": "query"}),
        ))
        .await;
        // Input ends while the call is in flight: it is answered, then shutdown runs.
        let Raw {
            mut writer,
            mut lines,
            tap,
            server,
        } = raw;
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .unwrap();
        let line = lines.next_line().await.unwrap().unwrap();
        tap.see(oxmcp::testing::Direction::ServerToClient, &line);
        assert!(line.contains("rows from app-db"), "{line}");
        server.await.unwrap().unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            ["started", "query finished", "shut down"]
        );
        tap.assert_clean();
    }

    #[tokio::test]
    async fn a_failed_startup_fails_serving() {
        let stopped = Arc::new(AtomicBool::new(false));
        let router: Router = Router::new().tool("query", query).with_lifespan(|| async {
            Err::<Lifespan<Db>, _>(std::io::Error::other("database unreachable"))
        });
        let (a, _b) = tokio::io::duplex(64);
        let (r, w) = tokio::io::split(a);
        let err = router.serve_io(r, w).await.unwrap_err();
        assert!(err.is_startup(), "{err}");
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "database unreachable"
        );
        assert!(!stopped.load(Ordering::SeqCst));
    }
}

mod log_layer {
    use oxmcp::server::{ClientLogLayer, Router};
    use serde_json::json;
    use tracing_subscriber::prelude::*;

    use crate::support::Raw;

    async fn noisy() -> &'static str {
        tracing::info!(rows = 3, "loaded rows");
        tracing::debug!("a detail");
        "done"
    }

    #[tokio::test]
    async fn handler_events_reach_the_client_at_its_level() {
        let _guard = tracing_subscriber::registry()
            .with(ClientLogLayer::new())
            .set_default();
        let mut raw = Raw::start(Router::new().tool("noisy", noisy));
        let mut meta = crate::support::modern_meta();
        meta["io.modelcontextprotocol/logLevel"] = json!("info");
        raw.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "noisy"}})).await;
        let log = raw.recv().await;
        assert_eq!(log["method"], "notifications/message");
        assert_eq!(log["params"]["level"], "info");
        assert_eq!(
            log["params"]["data"],
            json!({"message": "loaded rows", "rows": 3})
        );
        assert_eq!(log["params"]["logger"], "integration::features::log_layer");
        let result = raw.recv().await;
        assert_eq!(
            result["id"], 1,
            "the debug event stays below the asked level: {result}"
        );
        // Without a level, nothing is forwarded.
        let r = raw
            .call(super::modern_request(
                2,
                "tools/call",
                json!({"name": "noisy"}),
            ))
            .await;
        assert_eq!(r["id"], 2);
        raw.finish().await;
    }
}
