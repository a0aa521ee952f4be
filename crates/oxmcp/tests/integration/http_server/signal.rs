//! Graceful shutdown on SIGTERM, with a real process: this test binary runs itself as the
//! server (the `child` test below, which does nothing unless told to serve).

use std::time::Duration;

use serde_json::json;

use super::wire::{call, text_of, Client};
use crate::support::SchemaTap;

const CHILD_ENV: &str = "OXMCP_TEST_SIGTERM_CHILD";
const CHILD_TEST: &str = "http_server::signal::child";

/// The server of `sigterm_lets_the_reply_in_flight_finish_and_exits_0`: serves with the
/// defaults (signal handlers on) and writes its address to the file named by `CHILD_ENV`.
#[tokio::test]
async fn child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, addr.to_string()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    super::router().http_on(listener).await.unwrap();
}

#[tokio::test]
async fn sigterm_lets_the_reply_in_flight_finish_and_exits_0() {
    let path = std::env::temp_dir().join(format!("oxmcp-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return text.parse().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the child serves within 10 s");
    let _ = std::fs::remove_file(&path);
    let mut client = Client {
        addr,
        tap: SchemaTap::new(),
        session: None,
        version: None,
    };
    client.initialize(json!({})).await;
    let mut message = call(1, "dawdle", json!({}));
    message["params"]["_meta"] = json!({"progressToken": "p"});
    let mut reply = client.post(&message, &[]).await;
    assert!(reply.content_type().starts_with("text/event-stream"));
    let (_, progress) = client.sse_message(&mut reply).await.unwrap();
    assert_eq!(progress["method"], "notifications/progress");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());

    let (_, result) = client.sse_message(&mut reply).await.unwrap();
    assert_eq!(result["id"], 1);
    assert_eq!(text_of(&result), "dawdled");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    client.tap.assert_clean();
}
