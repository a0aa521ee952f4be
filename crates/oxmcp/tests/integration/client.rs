//! The client: era detection and fallback, timeouts, progress, cancellation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::{CallOptions, Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::{Args, Context, Router};
use oxmcp::Progress;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{checked, legacy, modern};

#[derive(Deserialize, JsonSchema)]
struct Work {
    steps: u32,
    step_ms: u64,
}

async fn work(Args(w): Args<Work>, ctx: Context) -> String {
    for i in 0..w.steps {
        tokio::time::sleep(Duration::from_millis(w.step_ms)).await;
        ctx.progress(
            oxmcp::Progress::new(f64::from(i + 1))
                .total(f64::from(w.steps))
                .message("working"),
        )
        .await;
    }
    "done".into()
}

fn router() -> Router {
    Router::new().tool("work", work)
}

#[tokio::test]
async fn auto_detection_picks_modern_with_a_dual_era_server() {
    let (client, tap) = checked(router(), EraChoice::Auto).await;
    assert_eq!(client.protocol_version(), ProtocolVersion::V2026_07_28);
    assert_eq!(client.server_info().unwrap().name, "oxmcp-server");
    client.ping().await.unwrap();
    tap.assert_clean();
    let (client, tap) = checked(router(), legacy()).await;
    assert_eq!(client.protocol_version(), ProtocolVersion::V2025_11_25);
    client.ping().await.unwrap();
    tap.assert_clean();
}

#[tokio::test]
async fn progress_reaches_the_callback_and_resets_the_timeout() {
    for era in [legacy(), modern()] {
        let (client, tap) = checked(router(), era).await;
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let sink = seen.clone();
        // Each step takes 100 ms: longer than the idle timeout would allow in total,
        // shorter than it between two progress notifications.
        let options = CallOptions::new()
            .timeout(Duration::from_millis(300))
            .on_progress(move |p| sink.lock().unwrap().push(p));
        let r = client
            .call_tool_with("work", json!({"steps": 6, "step_ms": 100}), options)
            .await
            .unwrap();
        assert_eq!(r.is_error, None);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[5].progress, 6.0);
        assert_eq!(seen[5].total, Some(6.0));
        assert_eq!(seen[0].message.as_deref(), Some("working"));
        tap.assert_clean();
    }
}

#[tokio::test]
async fn timeouts_fire_and_the_server_is_told() {
    let (client, tap) = checked(router(), modern()).await;
    let err = client
        .call_tool_with(
            "work",
            json!({"steps": 1, "step_ms": 2000}),
            CallOptions::new().timeout(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The hard cap wins over progress.
    let err = client
        .call_tool_with(
            "work",
            json!({"steps": 50, "step_ms": 20}),
            CallOptions::new()
                .timeout(Duration::from_millis(500))
                .max_timeout(Duration::from_millis(200))
                .on_progress(|_| {}),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // The connection is still good.
    let r = client
        .call_tool("work", json!({"steps": 1, "step_ms": 1}))
        .await
        .unwrap();
    assert_eq!(r.is_error, None);
    tap.assert_clean();
}

/// What a scripted server does with one message.
pub(crate) enum Script {
    /// Sends this reply.
    Reply(Value),
    /// Sends nothing.
    Ignore,
    /// Hangs up.
    HangUp,
}

/// Runs a scripted server on the far end of an in-memory pipe; returns the client's ends.
pub(crate) fn scripted_server<F, Fut>(
    mut answer: F,
) -> (
    tokio::io::ReadHalf<tokio::io::DuplexStream>,
    tokio::io::WriteHalf<tokio::io::DuplexStream>,
)
where
    F: FnMut(Value) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Script> + Send,
{
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let (read, mut write) = tokio::io::split(theirs);
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = match answer(serde_json::from_str(&line).unwrap()).await {
                Script::Reply(reply) => reply,
                Script::Ignore => continue,
                Script::HangUp => break,
            };
            write
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .unwrap();
        }
    });
    tokio::io::split(ours)
}

/// A scripted legacy-only server on an in-memory pipe: answers `server/discover` with
/// method-not-found, then speaks 2025-06-18. Records every method it saw.
async fn scripted_legacy_server(
    discover_reply: Option<Value>,
) -> (Client, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let (read, write) = scripted_server(move |msg| {
        let method = msg["method"].as_str().unwrap_or("").to_owned();
        log.lock().unwrap().push(method.clone());
        let reply = match method.as_str() {
            "server/discover" => match &discover_reply {
                Some(error) => json!({"jsonrpc": "2.0", "id": msg["id"], "error": error}),
                // Stays silent: the client must time out and fall back.
                None => return std::future::ready(Script::Ignore),
            },
            "initialize" => json!({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted", "version": "0.1"}}}),
            "tools/list" => json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"tools": []}}),
            "test/hang_up" => return std::future::ready(Script::HangUp),
            _ => return std::future::ready(Script::Ignore),
        };
        std::future::ready(Script::Reply(reply))
    });
    let client = Client::builder()
        .probe_timeout(Duration::from_millis(200))
        .connect_io(read, write)
        .await
        .expect("falls back to legacy");
    (client, seen)
}

#[tokio::test]
async fn falls_back_to_initialize_when_discover_is_unknown() {
    let (client, seen) =
        scripted_legacy_server(Some(json!({"code": -32601, "message": "Method not found"}))).await;
    assert_eq!(client.protocol_version(), ProtocolVersion::V2025_06_18);
    assert_eq!(client.server_info().unwrap().name, "scripted");
    assert!(client.list_all_tools().await.unwrap().is_empty());
    let methods = seen.lock().unwrap().clone();
    assert_eq!(
        methods[..3],
        ["server/discover", "initialize", "notifications/initialized"]
    );
}

#[tokio::test]
async fn falls_back_to_initialize_when_discover_goes_unanswered() {
    let (client, seen) = scripted_legacy_server(None).await;
    assert_eq!(client.protocol_version(), ProtocolVersion::V2025_06_18);
    let methods = seen.lock().unwrap().clone();
    assert!(
        methods.contains(&"notifications/cancelled".to_owned()),
        "{methods:?}"
    );
}

#[tokio::test]
async fn a_modern_only_client_refuses_a_legacy_server() {
    let (read, write) = scripted_server(|msg| {
        std::future::ready(match msg["id"].is_null() {
            true => Script::Ignore,
            false => Script::Reply(
                json!({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "nope"}}),
            ),
        })
    });
    let err = Client::builder()
        .era(EraChoice::Modern)
        .connect_io(read, write)
        .await
        .unwrap_err();
    assert!(err.is_version(), "{err}");
}

#[tokio::test]
async fn dropping_a_call_cancels_it_on_the_server() {
    let cancelled = Arc::new(AtomicUsize::new(0));
    let seen = cancelled.clone();
    // The engine drops a cancelled handler's future: the guard counts that drop.
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let slow = move || {
        let guard = Guard(seen.clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            String::new()
        }
    };
    let (client, tap) = checked(Router::new().tool("slow", slow), modern()).await;
    let call = client.call_tool("slow", ());
    let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    for _ in 0..100 {
        if cancelled.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        1,
        "the handler saw the cancellation"
    );
    tap.assert_clean();
}

#[tokio::test]
async fn closed_resolves_when_the_server_goes_away() {
    let (client, _) =
        scripted_legacy_server(Some(json!({"code": -32601, "message": "Method not found"}))).await;
    assert!(!client.is_closed());
    // The scripted server hangs up instead of answering this.
    let err = client
        .request::<Value>("test/hang_up", serde_json::Map::new(), CallOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_closed(), "{err}");
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("closed() resolves once the server has hung up");
    assert!(client.is_closed());
    // A second wait returns at once.
    client.closed().await;
}

/// A modern server slow to answer its first `server/discover` (slower than the probe
/// timeout), which then serves 2026-07-28 on the connection and refuses `initialize`, as
/// the Python SDK's stdio server does when it starts slowly.
#[tokio::test]
async fn a_probe_answered_late_is_asked_again_when_initialize_is_refused() {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (read, write) = scripted_server(move |msg| {
        let first = first.clone();
        async move {
            Script::Reply(match msg["method"].as_str().unwrap_or("") {
                "server/discover" => {
                    if first.swap(false, Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    json!({"jsonrpc": "2.0", "id": msg["id"], "result": {
                        "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}},
                        "_meta": {"io.modelcontextprotocol/serverInfo":
                            {"name": "slow-start", "version": "1"}}}})
                }
                "initialize" => json!({"jsonrpc": "2.0", "id": msg["id"], "error": {
                    "code": -32022,
                    "message": "connection is serving the 2026-07-28 protocol",
                    "data": {"requested": "2025-11-25", "supported": ["2026-07-28"]}}}),
                _ => return Script::Ignore,
            })
        }
    });
    let client = Client::builder()
        .probe_timeout(Duration::from_millis(100))
        .connect_io(read, write)
        .await
        .expect("connects in the modern era after all");
    assert_eq!(client.protocol_version(), ProtocolVersion::V2026_07_28);
    assert_eq!(client.server_info().unwrap().name, "slow-start");
}
