//! The reference servers beside the floor (`floor-async-stdio`, plain and `--typed`): the
//! load generator gets every echo back from each, in both eras and pipelined, and the
//! typed one answers what a minimal SDK must (errors as tool errors, a duplicate id
//! refused while its first request is in flight).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use oxmcp_bench::{loadgen, Config, Era};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_floor-async-stdio");

fn run(command: String, era: Era, inflight: usize, requests: usize) {
    let report = loadgen::run(&Config {
        era,
        inflight,
        requests,
        warmup: 50,
        timeout: Duration::from_secs(20),
        ..Config::new(command)
    })
    .expect("the load generator runs");
    assert_eq!(report.errors, 0, "{:?}", report.first_error);
    assert_eq!(report.responses, requests);
    assert!(!report.killed, "the server must exit when stdin closes");
}

#[test]
fn every_echo_comes_back_from_both_servers_in_both_eras() {
    for typed in ["", " --typed"] {
        for era in [Era::Legacy, Era::Modern] {
            for inflight in [1, 32] {
                run(format!("'{BIN}'{typed}"), era, inflight, 1_000);
            }
        }
    }
}

/// The answers to `input` (one JSON-RPC message per line), in order.
fn answers(args: &[&str], input: &str) -> Vec<Value> {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("written");
    drop(stdin);
    let output = child.wait_with_output().expect("the server ends");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn the_typed_server_answers_as_a_minimal_sdk_would() {
    let call = |id: Value, arguments: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "echo", "arguments": arguments}})
        .to_string()
    };
    let input = [
        call(json!(1), json!({"text": "a \"quoted\" line"})),
        // The same id while the first is still in flight (one read, one hand-over).
        call(json!(1), json!({"text": "again"})),
        call(json!("s"), json!({})),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "nope", "arguments": {}}})
        .to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"text": "m"},
                          "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}})
        .to_string(),
    ]
    .join("\n")
        + "\n";
    let mut answers = answers(&["--typed"], &input);
    // The reader's own answers come before the runner's.
    answers.sort_by_key(|a| a["id"].to_string());
    assert_eq!(
        answers,
        vec![
            json!({"jsonrpc": "2.0", "id": "s", "result": {"content": [{"type": "text",
                   "text": "missing field `text` at line 1 column 2"}], "isError": true}}),
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32600,
                   "message": "Duplicate request id"}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text",
                   "text": "a \"quoted\" line"}]}}),
            json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602,
                   "message": "Unknown tool"}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text",
                   "text": "m"}], "resultType": "complete"}}),
        ]
    );
}
