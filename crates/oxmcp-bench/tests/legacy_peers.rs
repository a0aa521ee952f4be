//! The oxmcp client against real servers of the official Rust SDK, rmcp, over stdio, in
//! auto mode: rmcp 2.x exits when its first message is not `initialize`, so the client
//! must start it again for the legacy handshake; rmcp 3.x answers `server/discover`.

use std::path::PathBuf;
use std::time::Duration;

use oxmcp::client::Client;
use oxmcp::protocol::Era;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};

/// The example binary `name` of this package, built when missing (`cargo test` builds
/// examples, but not when one test target is chosen).
fn example(name: &str) -> PathBuf {
    // target/debug/deps/legacy_peers-HASH -> target/debug/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "oxmcp-bench", "--example", name])
            .env("CARGO_TARGET_DIR", dir.parent().unwrap().parent().unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "building {name} failed");
    }
    path
}

async fn echo_through(command: ChildCommand) -> Client {
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        Client::builder().connect_stdio(command),
    )
    .await
    .expect("connected within 10 s")
    .expect("connected");
    let out = client
        .call_tool("echo", serde_json::json!({ "text": "hi" }))
        .await
        .unwrap();
    let content = serde_json::to_value(&out.content).unwrap();
    assert_eq!(content[0]["text"], "hi", "{content}");
    client
}

#[tokio::test]
async fn auto_mode_connects_to_rmcp_2_which_quits_on_discover() {
    let command = ChildCommand::new(example("rmcp2_echo")).stderr(StderrMode::Capture);
    let client = echo_through(command).await;
    assert_eq!(client.era(), Era::Legacy);
    assert_eq!(client.server_info().unwrap().name, "rmcp2-echo");
    client.close().await.unwrap();
}

#[test]
fn rmcp_2_really_exits_on_a_first_discover() {
    use std::io::{Read, Write};
    let mut child = std::process::Command::new(example("rmcp2_echo"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let discover = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}"#;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{discover}").unwrap();
    // stdin stays open: the server leaves of its own accord.
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(!status.success(), "{status}");
    assert_eq!(out, "", "no answer to the probe");
}

#[tokio::test]
async fn auto_mode_speaks_the_modern_era_with_rmcp_3() {
    let client =
        echo_through(ChildCommand::new(example("rmcp_echo")).stderr(StderrMode::Null)).await;
    assert_eq!(client.era(), Era::Modern);
    client.close().await.unwrap();
}
