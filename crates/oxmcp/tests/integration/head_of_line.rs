//! Nothing a handler does holds up its connection: a tool that spends CPU before it ever
//! awaits, or blocks its thread, does not delay the requests sent after it, and a
//! cancellation is read and acted on meanwhile. Both eras, over a byte stream (as stdio)
//! and over Streamable HTTP (the same session).
//!
//! These tests run on a multi-threaded runtime, as `#[tokio::main]` builds by default: a
//! handler that blocks a thread can only be kept from the others where there are others.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxmcp::client::{CallOptions, ClientBuilder, EraChoice};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{Args, Context, Router, State};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::support::{modern_meta, Raw};

/// How long the CPU-bound tool spins.
const SPIN: Duration = Duration::from_millis(300);

/// What counts as "not delayed": well under the spin, with room for a loaded machine.
const PROMPT: Duration = Duration::from_millis(150);

#[derive(Clone, Default)]
struct Probe {
    /// Set when the `wait` tool saw its cancellation.
    cancelled: Arc<AtomicBool>,
    /// When `wait` saw its cancellation, measured from the test's start.
    cancelled_at: Arc<Mutex<Option<Instant>>>,
    /// Releases the thread that `stuck` blocks.
    unstick: Arc<Mutex<Option<std::sync::mpsc::Sender<()>>>>,
    stuck_started: Arc<AtomicUsize>,
}

/// Spins the CPU for [`SPIN`] without awaiting anything.
async fn spin() -> String {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < SPIN {
        n = n.wrapping_add(std::hint::black_box(1));
    }
    format!("spun {}", n > 0)
}

#[derive(Deserialize, JsonSchema)]
struct Text {
    text: String,
}

async fn echo(Args(t): Args<Text>) -> String {
    t.text
}

/// Waits for its cancellation (a minute at most) and notes when it came: the engine stops
/// a cancelled handler by dropping it, or the handler sees its token first.
async fn wait(State(p): State<Probe>, ctx: Context) -> String {
    struct Stopped(Probe);
    impl Drop for Stopped {
        fn drop(&mut self) {
            *self.0.cancelled_at.lock().unwrap() = Some(Instant::now());
            self.0.cancelled.store(true, Ordering::SeqCst);
        }
    }
    let stopped = Stopped(p);
    tokio::select! {
        _ = ctx.cancellation().cancelled() => "cancelled".to_owned(),
        _ = tokio::time::sleep(Duration::from_secs(60)) => {
            std::mem::forget(stopped);
            "not cancelled".to_owned()
        }
    }
}

/// Blocks its thread until the test lets it go (a handler that forgot `spawn_blocking`).
async fn stuck(State(p): State<Probe>) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    *p.unstick.lock().unwrap() = Some(tx);
    p.stuck_started.fetch_add(1, Ordering::SeqCst);
    let _ = rx.recv_timeout(Duration::from_secs(20));
    "unstuck".to_owned()
}

fn router(probe: Probe) -> Router {
    Router::new()
        .name("head-of-line")
        .tool("spin", spin)
        .tool("echo", echo)
        .tool("wait", wait)
        .tool("stuck", stuck)
        .with_state(probe)
}

fn call(id: i64, tool: &str, args: Value, modern: bool) -> Value {
    let mut params = json!({"name": tool, "arguments": args});
    if modern {
        params["_meta"] = modern_meta();
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

/// A request the SDK answers itself, in each era.
fn sdk_request(id: i64, modern: bool) -> Value {
    if modern {
        json!({"jsonrpc": "2.0", "id": id, "method": "server/discover",
               "params": {"_meta": modern_meta()}})
    } else {
        json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
    }
}

async fn raw(probe: &Probe, modern: bool) -> Raw {
    let mut raw = Raw::start(router(probe.clone()));
    if !modern {
        raw.initialize("2025-11-25").await;
    }
    raw
}

/// Receives frames until the one with `id`; returns it and when it came.
async fn recv_id(raw: &mut Raw, id: i64) -> (Value, Instant) {
    loop {
        let frame = raw.recv().await;
        if frame["id"] == id {
            return (frame, Instant::now());
        }
    }
}

async fn a_cpu_bound_tool_delays_nothing_sent_after_it(modern: bool) {
    let probe = Probe::default();
    let mut raw = raw(&probe, modern).await;
    raw.send(call(1, "spin", json!({}), modern)).await;
    let sent = Instant::now();
    raw.send(sdk_request(2, modern)).await;
    raw.send(call(3, "echo", json!({"text": "quick"}), modern))
        .await;
    let mut answered = Vec::new();
    for _ in 0..3 {
        let frame = raw.recv().await;
        answered.push((frame["id"].as_i64().unwrap(), sent.elapsed(), frame));
    }
    let order: Vec<i64> = answered.iter().map(|(id, ..)| *id).collect();
    assert_eq!(
        order.last(),
        Some(&1),
        "the spinning tool answers last: {order:?}"
    );
    for (id, after, frame) in &answered[..2] {
        assert!(
            *after < PROMPT,
            "request {id} waited {after:?} behind a CPU-bound tool: {frame}"
        );
    }
    let quick = answered.iter().find(|(id, ..)| *id == 3).unwrap();
    assert_eq!(quick.2["result"]["content"][0]["text"], "quick");
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_legacy_a_cpu_bound_tool_delays_nothing_sent_after_it() {
    a_cpu_bound_tool_delays_nothing_sent_after_it(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_modern_a_cpu_bound_tool_delays_nothing_sent_after_it() {
    a_cpu_bound_tool_delays_nothing_sent_after_it(true).await;
}

async fn a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(modern: bool) {
    let probe = Probe::default();
    let mut raw = raw(&probe, modern).await;
    raw.send(call(1, "wait", json!({}), modern)).await;
    // Let `wait` start before the CPU-bound sibling.
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send(call(2, "spin", json!({}), modern)).await;
    let sent = Instant::now();
    raw.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 1, "reason": "changed my mind"}}),
    )
    .await;
    let (spun, spun_at) = recv_id(&mut raw, 2).await;
    assert_eq!(spun["result"]["content"][0]["text"], "spun true");
    assert!(probe.cancelled.load(Ordering::SeqCst), "wait was cancelled");
    let cancelled_at = probe.cancelled_at.lock().unwrap().unwrap();
    assert!(
        cancelled_at.duration_since(sent) < PROMPT,
        "the cancellation took {:?} to reach its handler",
        cancelled_at.duration_since(sent)
    );
    assert!(cancelled_at < spun_at);
    // No response for the cancelled request.
    raw.expect_silence(Duration::from_millis(100)).await;
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_legacy_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs() {
    a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_modern_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs() {
    a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(true).await;
}

async fn a_tool_blocking_its_thread_does_not_stop_the_server(modern: bool) {
    let probe = Probe::default();
    let mut raw = raw(&probe, modern).await;
    raw.send(call(1, "stuck", json!({}), modern)).await;
    let started = Instant::now();
    while probe.stuck_started.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "stuck started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for id in 2..6 {
        let request = if id % 2 == 0 {
            sdk_request(id, modern)
        } else {
            call(id, "echo", json!({"text": "still here"}), modern)
        };
        raw.send(request).await;
        let (frame, _) = recv_id(&mut raw, id).await;
        assert!(
            frame.get("result").is_some() || frame.get("error").is_some(),
            "{frame}"
        );
        if id % 2 == 1 {
            assert_eq!(frame["result"]["content"][0]["text"], "still here");
        }
    }
    let _ = probe.unstick.lock().unwrap().take().unwrap().send(());
    let (frame, _) = recv_id(&mut raw, 1).await;
    assert_eq!(frame["result"]["content"][0]["text"], "unstuck");
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_legacy_a_tool_blocking_its_thread_does_not_stop_the_server() {
    a_tool_blocking_its_thread_does_not_stop_the_server(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_modern_a_tool_blocking_its_thread_does_not_stop_the_server() {
    a_tool_blocking_its_thread_does_not_stop_the_server(true).await;
}

// ---------------------------------------------------------------- Streamable HTTP

/// Serves `router` over HTTP on a free loopback port; returns its URL.
async fn serve_http(router: Router) -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = router.into_http_service(HttpConfig::new());
    let app = axum::Router::new().route_service("/mcp", service);
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped.cancelled_owned())
            .await
    });
    (format!("http://{addr}/mcp"), stop)
}

async fn http_client(url: &str, modern: bool) -> oxmcp::client::Client {
    let era = if modern {
        EraChoice::Modern
    } else {
        EraChoice::Legacy(oxmcp::protocol::ProtocolVersion::V2025_11_25)
    };
    ClientBuilder::new()
        .era(era)
        .connect_http(url)
        .await
        .unwrap()
}

async fn http_a_cpu_bound_tool_delays_nothing_sent_after_it(modern: bool) {
    let (url, stop) = serve_http(router(Probe::default())).await;
    let client = http_client(&url, modern).await;
    let spinning = {
        let client = client.clone();
        tokio::spawn(async move { client.call_tool("spin", json!({})).await })
    };
    // The spin is under way before the others are sent.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let sent = Instant::now();
    client.ping().await.unwrap();
    let pinged = sent.elapsed();
    let sent = Instant::now();
    let quick = client
        .call_tool("echo", json!({"text": "quick"}))
        .await
        .unwrap();
    let echoed = sent.elapsed();
    assert!(pinged < PROMPT, "a ping waited {pinged:?}");
    assert!(echoed < PROMPT, "a tool call waited {echoed:?}");
    assert_eq!(quick.content[0].as_text(), Some("quick"));
    assert!(!spinning.is_finished(), "the spin is still running");
    spinning.await.unwrap().unwrap();
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_legacy_a_cpu_bound_tool_delays_nothing_sent_after_it() {
    http_a_cpu_bound_tool_delays_nothing_sent_after_it(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_modern_a_cpu_bound_tool_delays_nothing_sent_after_it() {
    http_a_cpu_bound_tool_delays_nothing_sent_after_it(true).await;
}

async fn http_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(modern: bool) {
    let probe = Probe::default();
    let (url, stop) = serve_http(router(probe.clone())).await;
    let client = http_client(&url, modern).await;
    let cancel = CancellationToken::new();
    let waiting = {
        let client = client.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            client
                .call_tool_with("wait", json!({}), CallOptions::default().cancel_on(cancel))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let spinning = {
        let client = client.clone();
        tokio::spawn(async move { client.call_tool("spin", json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let sent = Instant::now();
    cancel.cancel();
    assert!(waiting.await.unwrap().is_err(), "the cancelled call fails");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !probe.cancelled.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the handler saw its cancellation"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = probe.cancelled_at.lock().unwrap().unwrap() - sent;
    assert!(took < PROMPT, "the cancellation took {took:?}");
    assert!(!spinning.is_finished(), "the spin is still running");
    spinning.await.unwrap().unwrap();
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_legacy_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs() {
    http_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_modern_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs() {
    http_a_cancellation_is_acted_on_while_a_cpu_bound_tool_runs(true).await;
}
