//! The quickstart binary over a real stdio pipe: every line it writes to stdout must be a
//! JSON-RPC message valid under the official schema (logs go to stderr, even at debug), in
//! both eras, and carry no colour codes, since stderr is a pipe; and oxmcp's own client
//! drives it as a child process.

use std::process::Stdio;
use std::time::Duration;

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};
use oxmcp_schema::{Direction, MessageChecker};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_quickstart");

/// Sends each message, reads one answer per request, validates everything.
async fn converse(messages: &[Value]) -> Vec<Value> {
    let mut child = tokio::process::Command::new(BIN)
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut logs = Vec::new();
        stderr.read_to_end(&mut logs).await.map(|_| logs)
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut checker = MessageChecker::new();
    let mut answers = Vec::new();
    for message in messages {
        let frame = message.to_string();
        checker
            .check_str(Direction::ClientToServer, &frame)
            .unwrap_or_else(|e| panic!("{e}"));
        stdin
            .write_all(format!("{frame}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        if message.get("id").is_none() {
            continue;
        }
        let line = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
            .await
            .expect("an answer within 10 s")
            .unwrap()
            .expect("stdout open");
        checker
            .check_str(Direction::ServerToClient, &line)
            .unwrap_or_else(|e| panic!("{e}\nline: {line}"));
        answers.push(serde_json::from_str(&line).unwrap());
    }
    drop(stdin);
    // Nothing else may appear on stdout before it closes.
    let rest = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest, None, "unexpected output on stdout");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the server exits cleanly when stdin closes: {status}"
    );
    // Hosts write server stderr to log files: colour only for a terminal.
    let logs = logs.await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&logs);
    if messages.iter().any(|m| m["method"] == "initialize") {
        assert!(text.contains("DEBUG"), "debug logs on stderr: {text}");
    }
    assert!(!logs.contains(&0x1b), "colour codes on stderr: {text:?}");
    answers
}

#[tokio::test]
async fn legacy_session_over_stdio() {
    let answers = converse(&[
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "weather", "arguments": {"city": "Oslo"}}}),
    ])
    .await;
    assert_eq!(answers[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(answers[1]["result"]["tools"].as_array().unwrap().len(), 3);
    assert_eq!(answers[2]["result"]["content"][0]["text"], "5");
    assert_eq!(answers[3]["result"]["structuredContent"]["city"], "Oslo");
}

#[tokio::test]
async fn modern_requests_over_stdio() {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let answers = converse(&[
        json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": {"_meta": meta, "name": "add", "arguments": {"a": 2, "b": "3"}}}),
        json!({"jsonrpc": "2.0", "id": "e", "method": "tools/call", "params": {"_meta": meta, "name": "echo", "arguments": {"text": "ünïcødé ✓"}}}),
    ])
    .await;
    assert!(answers[0]["result"]["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    assert_eq!(answers[1]["result"]["isError"], true);
    assert!(answers[1]["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("b: invalid type"));
    assert_eq!(answers[2]["result"]["content"][0]["text"], "ünïcødé ✓");
}

#[tokio::test]
async fn oxmcp_client_spawns_and_drives_the_server() {
    for (era, expected) in [
        (EraChoice::Auto, ProtocolVersion::V2026_07_28),
        (
            EraChoice::Legacy(ProtocolVersion::V2024_11_05),
            ProtocolVersion::V2024_11_05,
        ),
    ] {
        let client = Client::builder()
            .era(era)
            .connect_stdio(
                ChildCommand::new(BIN)
                    .env("RUST_LOG", "debug")
                    .stderr(StderrMode::Capture),
            )
            .await
            .unwrap();
        assert_eq!(client.protocol_version(), expected);
        let tools = client.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 3);
        let sum = client
            .call_tool("add", json!({"a": -4, "b": 10}))
            .await
            .unwrap();
        assert_eq!(serde_json::to_value(&sum.content).unwrap()[0]["text"], "6");
        let child = client.child_process().unwrap().clone();
        client.close().await.unwrap();
        // The server's debug logs went to its stderr, which the client captured.
        let stderr = child.stderr_output();
        if expected.is_legacy() {
            assert!(
                stderr.contains("legacy session initialized"),
                "stderr: {stderr}"
            );
        } else {
            assert!(
                !stderr.contains("legacy session initialized"),
                "stderr: {stderr}"
            );
        }
    }
}
