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

/// A tool that asks the client a question and waits for the answer.
async fn ask(ctx: Context) -> String {
    #[derive(Deserialize, JsonSchema)]
    struct Answer {
        #[allow(dead_code)]
        yes: bool,
    }
    match ctx.elicit::<Answer>("Proceed?").await {
        Ok(_) => "answered".to_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

/// The server's task ends within `within` of the client closing its input.
async fn ends_within(raw: Raw, within: Duration) {
    let Raw {
        mut writer,
        lines,
        server,
        ..
    } = raw;
    tokio::io::AsyncWriteExt::shutdown(&mut writer)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(within, server).await;
    drop(lines);
    outcome
        .unwrap_or_else(|_| panic!("the server did not end within {within:?} of end of input"))
        .unwrap()
        .unwrap();
}

/// Issue 11, item 4: with every slot taken by requests that wait for a long time, the
/// reader still reads. Cancellations get through (and free a slot), the SDK answers what
/// it answers itself, a request over the bounds is refused at once as busy, and the end of
/// input is seen.
#[tokio::test]
async fn the_reader_reads_on_when_every_slot_is_taken() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()).max_in_flight(2));
    // Two run, two wait for their turn.
    for id in 0..4 {
        raw.send(call(json!(id), "block", json!({}))).await;
    }
    // One more is over the bounds: refused at once, and says why.
    let busy = raw.call(call(json!(4), "block", json!({}))).await;
    assert_eq!(busy["id"], 4);
    assert_eq!(code(&busy), -32000);
    assert!(
        busy["error"]["message"].as_str().unwrap().contains("busy"),
        "{busy}"
    );
    // The SDK's own answers are not held up.
    let listed = raw
        .call(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list",
                     "params": {"_meta": modern_meta()}}))
        .await;
    assert_eq!(listed["id"], 5);
    assert!(listed["result"]["tools"].is_array());
    assert_eq!(probe.started.load(Ordering::SeqCst), 2);
    // A cancellation is read and frees a slot: a waiting request starts.
    raw.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 0}}),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while probe.started.load(Ordering::SeqCst) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "a waiting request started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A cancelled request that was still waiting for its turn never runs.
    raw.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 3}}),
    )
    .await;
    for _ in 0..2 {
        probe.release.notify_one();
    }
    let mut answered = vec![
        raw.recv().await["id"].as_i64().unwrap(),
        raw.recv().await["id"].as_i64().unwrap(),
    ];
    answered.sort_unstable();
    assert_eq!(answered, [1, 2]);
    raw.expect_silence(Duration::from_millis(100)).await;
    assert_eq!(probe.started.load(Ordering::SeqCst), 3);
    ends_within(raw, Duration::from_secs(3)).await;
}

/// Issue 11, item 3: a batch (2025-03-26) of more requests that wait than the engine's
/// queues hold used to deadlock the connection for good. Now every request of a batch up
/// to the size limit is answered in the one array (those over the in-flight bounds refused
/// as busy), a larger batch is refused whole, and the connection goes on and ends at EOF.
#[tokio::test]
async fn batches_of_waiting_requests_never_deadlock() {
    let probe = Probe::default();
    let mut raw = Raw::start(router(probe.clone()).max_in_flight(8));
    raw.initialize("2025-03-26").await;
    let batch = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| {
                json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                       "params": {"name": "block", "arguments": {}}})
                .to_string()
            })
            .collect();
        format!("[{}]", items.join(","))
    };
    raw.send_raw(&batch(1024)).await;
    // Release the requests that run, again and again, until the batch is answered.
    let release = tokio::spawn({
        let probe = probe.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                probe.release.notify_waiters();
            }
        }
    });
    let answer = raw.recv().await;
    release.abort();
    let items = answer.as_array().expect("a batch answer is an array");
    assert_eq!(items.len(), 1024);
    let slept = items
        .iter()
        .filter(|i| i["result"]["content"][0]["text"] == "released")
        .count();
    let busy = items
        .iter()
        .filter(|i| i["error"]["code"] == -32000)
        .count();
    // 8 run and 8 wait their turn; the rest are refused as busy, unless a release came
    // while the reader was still taking the batch in (then a few more got a slot).
    assert!(slept >= 16, "{slept} ran");
    assert!(busy >= 1024 - 64, "{busy} refused");
    assert_eq!(slept + busy, 1024, "each is answered");
    assert_eq!(probe.started.load(Ordering::SeqCst), slept);

    raw.send_raw(&batch(2000)).await;
    let refused = raw.recv().await;
    assert_eq!(code(&refused), -32600);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("batch too large: 2000 items"),
        "{refused}"
    );
    let pong = raw
        .call(json!({"jsonrpc": "2.0", "id": "after", "method": "ping"}))
        .await;
    assert_eq!(pong["result"], json!({}));
    ends_within(raw, Duration::from_secs(3)).await;
}

/// Issue 11, item 5: when the input ends while a handler waits for the client's answer,
/// that wait fails at once (no answer can come) and the server ends; a handler that runs
/// past the grace period is cancelled and the server ends too.
#[tokio::test]
async fn at_end_of_input_the_server_ends_even_with_handlers_waiting() {
    let router = Router::new()
        .tool("ask", ask)
        .tool("block", block)
        .with_state(Probe::default())
        .shutdown_grace(Duration::from_millis(300));
    let mut raw = Raw::start(router);
    raw.send(
        json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "raw-test", "version": "1.0.0"}
        }}),
    )
    .await;
    raw.recv().await;
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    raw.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "ask", "arguments": {}}}))
        .await;
    let question = raw.recv().await;
    assert_eq!(question["method"], "elicitation/create");
    // Never answered; and a handler that would run for ever.
    raw.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "block", "arguments": {}}}))
        .await;
    ends_within(raw, Duration::from_secs(3)).await;
}

/// Issue 11, item 13: an invalid request whose id can be read is answered with that id.
#[tokio::test]
async fn an_invalid_request_is_answered_with_its_id_when_readable() {
    let mut raw = Raw::start(router(Probe::default()));
    for (frame, id) in [
        (r#"{"jsonrpc":"2.0","id":"mn","method":5}"#, json!("mn")),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"ping","method":"ping"}"#,
            json!(7),
        ),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"ping","params":[1"#,
            Value::Null,
        ),
        (r#"{"jsonrpc":"2.0","id":{"x":1},"method":5}"#, Value::Null),
    ] {
        raw.send_raw(frame).await;
        let answer = raw.recv().await;
        let code = code(&answer);
        assert!(code == -32600 || code == -32700, "{answer}");
        assert_eq!(
            answer.get("id").cloned().unwrap_or(Value::Null),
            id,
            "{frame}"
        );
    }
    raw.finish().await;
}

/// Issue 11, item 14: a legacy `ping` before `initialize` is answered (the lifecycle
/// allows pings before initialization).
#[tokio::test]
async fn ping_before_initialize_is_answered() {
    let mut raw = Raw::start(router(Probe::default()));
    let pong = raw
        .call(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(pong["result"], json!({}), "{pong}");
    // Anything else still needs the handshake.
    let refused = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert_eq!(code(&refused), -32600);
    raw.finish().await;
}
