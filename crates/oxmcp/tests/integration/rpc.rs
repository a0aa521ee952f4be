//! The JSON-RPC engine: bad input, concurrency, cancellation, backpressure, batches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::{Args, Context, Router, State};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::support::{code, modern_meta, Raw};

#[derive(Deserialize, JsonSchema)]
struct Sleep {
    ms: u64,
}

async fn sleep(Args(s): Args<Sleep>) -> String {
    tokio::time::sleep(Duration::from_millis(s.ms)).await;
    format!("slept {}", s.ms)
}

#[derive(Clone, Default)]
struct Probe {
    started: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

/// Waits until released (or cancelled), counting what happened.
async fn block(State(p): State<Probe>, ctx: Context) -> String {
    p.started.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = p.release.notified() => {
            p.finished.fetch_add(1, Ordering::SeqCst);
            "released".to_owned()
        }
        _ = ctx.cancellation().cancelled() => {
            p.cancelled.fetch_add(1, Ordering::SeqCst);
            "cancelled".to_owned()
        }
    }
}

fn router(probe: Probe) -> Router {
    Router::new()
        .tool("sleep", sleep)
        .tool("block", block)
        .with_state(probe)
}

fn call(id: Value, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"_meta": modern_meta(), "name": tool, "arguments": args}})
}

#[tokio::test]
async fn bad_input_gets_the_right_error_and_the_connection_stays_up() {
    let mut raw = Raw::start(router(Probe::default()));
    raw.send_raw("{this is not json").await;
    let r = raw.recv().await;
    assert_eq!(code(&r), -32700);
    assert!(r["id"].is_null());

    raw.send_raw(r#"{"jsonrpc":"2.0","id":7}"#).await;
    let r = raw.recv().await;
    assert_eq!((code(&r), r["id"].clone()), (-32600, json!(7)));

    raw.send_raw(r#"{"jsonrpc":"1.0","id":8,"method":"tools/list"}"#)
        .await;
    assert_eq!(code(&raw.recv().await), -32600);

    raw.send_raw("[1, 2").await;
    assert_eq!(code(&raw.recv().await), -32700);

    raw.send_raw("42").await;
    assert_eq!(code(&raw.recv().await), -32600);

    let r = raw.call(json!({"jsonrpc": "2.0", "id": 9, "method": "no/such/method", "params": {"_meta": modern_meta()}})).await;
    assert_eq!((code(&r), r["id"].clone()), (-32601, json!(9)));

    let r = raw.call_invalid(json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"_meta": modern_meta(), "name": 5}})).await;
    assert_eq!(code(&r), -32602);
    assert!(
        !r["error"]["message"].as_str().unwrap().contains("line 1"),
        "{r}"
    );

    // After all that, a good request still works.
    let r = raw.call(call(json!(11), "sleep", json!({"ms": 1}))).await;
    assert_eq!(r["result"]["content"][0]["text"], "slept 1");
    raw.finish().await;
}

#[tokio::test]
async fn a_slow_handler_does_not_delay_others() {
    let mut raw = Raw::start(router(Probe::default()));
    raw.send(call(json!("slow"), "sleep", json!({"ms": 2000})))
        .await;
    raw.send(call(json!("fast"), "sleep", json!({"ms": 1})))
        .await;
    let first = raw.recv().await;
    assert_eq!(
        first["id"], "fast",
        "the fast call must not wait for the slow one"
    );
    let second = raw.recv().await;
    assert_eq!(second["id"], "slow");
    raw.finish().await;
}

#[tokio::test]
async fn cancellation_stops_the_handler_and_no_response_is_sent() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()));
    raw.send(call(json!(1), "block", json!({}))).await;
    while probe.started.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "test"}})).await;
    raw.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(probe.finished.load(Ordering::SeqCst), 0);
    // The id is free again once the cancelled request is gone.
    let r = raw.call(call(json!(1), "sleep", json!({"ms": 1}))).await;
    assert_eq!(r["result"]["content"][0]["text"], "slept 1");
    raw.finish().await;
}

#[tokio::test]
async fn reusing_an_id_in_flight_is_rejected_and_the_first_still_completes() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()));
    raw.send(call(json!("dup"), "block", json!({}))).await;
    while probe.started.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let r = raw
        .call(call(json!("dup"), "sleep", json!({"ms": 1})))
        .await;
    assert_eq!((code(&r), r["id"].clone()), (-32600, json!("dup")));
    probe.release.notify_one();
    let r = raw.recv().await;
    assert_eq!(
        (r["id"].clone(), r["result"]["content"][0]["text"].clone()),
        (json!("dup"), json!("released"))
    );
    raw.finish().await;
}

#[tokio::test]
async fn in_flight_requests_are_bounded() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()).max_in_flight(2));
    for id in 0..4 {
        raw.send(call(json!(id), "block", json!({}))).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        probe.started.load(Ordering::SeqCst),
        2,
        "only two handlers may run at once"
    );
    // Each release lets one more in; every request is answered in the end.
    let mut answered = Vec::new();
    for _ in 0..4 {
        probe.release.notify_one();
        let r = raw.recv().await;
        answered.push(r["id"].as_i64().unwrap());
    }
    answered.sort_unstable();
    assert_eq!(answered, [0, 1, 2, 3]);
    assert_eq!(probe.started.load(Ordering::SeqCst), 4);
    raw.finish().await;
}

#[tokio::test]
async fn batches_work_only_in_2025_03_26() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"nope"}]"#;

    let mut raw = Raw::start(router(Probe::default()));
    raw.initialize("2025-03-26").await;
    raw.send_raw(batch).await;
    let r = raw.recv().await;
    let items = r.as_array().expect("a batch answer is an array");
    assert_eq!(items.len(), 3);
    let by_id = |id: i64| items.iter().find(|i| i["id"] == id).unwrap().clone();
    assert_eq!(by_id(1)["result"], json!({}));
    assert_eq!(by_id(2)["result"]["tools"].as_array().unwrap().len(), 2);
    assert_eq!(code(&by_id(3)), -32601);
    raw.finish().await;

    // Elsewhere each request of the batch is refused with its own id, so nothing hangs.
    let mut raw = Raw::start(router(Probe::default()));
    raw.initialize("2025-06-18").await;
    raw.send_raw(batch).await;
    let mut refused = Vec::new();
    for _ in 0..3 {
        let r = raw.recv().await;
        assert_eq!(code(&r), -32600);
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2025-03-26"));
        refused.push(r["id"].as_i64().unwrap());
    }
    assert_eq!(refused, [1, 2, 3]);
    raw.finish().await;
}

#[tokio::test]
async fn garbage_between_requests_is_rejected_without_harm() {
    let mut raw = Raw::start(router(Probe::default()));
    raw.send_raw("\u{FFFD}").await; // valid UTF-8, invalid JSON
    assert_eq!(code(&raw.recv().await), -32700);
    let r = raw.call(call(json!(1), "sleep", json!({"ms": 1}))).await;
    assert!(r["result"].is_object());
    raw.finish().await;
}

#[tokio::test]
async fn requests_still_running_are_answered_when_input_ends() {
    let mut raw = Raw::start(router(Probe::default()));
    raw.send(call(json!(1), "sleep", json!({"ms": 200}))).await;
    // Close our writing side: the server must still answer what it started.
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
    let r: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(r["result"]["content"][0]["text"], "slept 200");
    server.await.unwrap().unwrap();
}

/// Requests written at once are read together and their answers leave joined: every
/// request still gets exactly one response, on a line of its own, and a bad line among
/// them gets its error; a request that waits is answered later, on its own.
#[tokio::test]
async fn a_burst_of_requests_gets_one_answer_each() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()));
    let mut burst = Vec::new();
    for i in 0..300 {
        let frame = if i == 150 {
            call(json!(i), "block", json!({}))
        } else {
            call(json!(i), "sleep", json!({"ms": 0}))
        };
        burst.push(frame.to_string());
        if i == 100 {
            burst.push("{not json".to_owned());
        }
    }
    raw.send_raw(&burst.join("\n")).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut parse_errors = 0;
    for _ in 0..300 {
        let frame = raw.recv().await;
        match frame["id"].as_i64() {
            Some(id) => {
                assert_eq!(frame["result"]["content"][0]["text"], "slept 0", "{frame}");
                assert!(seen.insert(id), "answered twice: {frame}");
            }
            None => {
                assert_eq!(code(&frame), -32700, "{frame}");
                parse_errors += 1;
            }
        }
    }
    assert_eq!(parse_errors, 1);
    assert_eq!(seen.len(), 299);
    assert!(!seen.contains(&150));
    // The waiting request is answered once it is released.
    probe.release.notify_one();
    let last = raw.recv().await;
    assert_eq!(last["id"], 150);
    assert_eq!(last["result"]["content"][0]["text"], "released");
}
