//! `oxmcp record` between a client and a stdio server, and `oxmcp replay` of what it wrote.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{everything, finish, oxmcp, temp_dir, OXMCP};

fn recording(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn record_passes_every_byte_through_and_writes_each_frame() {
    let dir = temp_dir("record-bytes");
    let out = dir.join("cat.jsonl");
    // `cat` as the "server": what goes in comes back out.
    let mut child = Command::new(OXMCP)
        .args(["record", "--out", out.to_str().unwrap(), "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = "not json\n{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\r\n  {\"a\": [1, 2]}\nno newline at the end";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let run = finish(child, Duration::from_secs(10));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, input, "the bytes pass through unchanged");
    let lines = recording(&out);
    for from in ["client", "server"] {
        let frames: Vec<&Value> = lines.iter().filter(|l| l["from"] == from).collect();
        assert_eq!(frames.len(), 4, "{from}: {lines:?}");
        assert_eq!(frames[0]["raw"], "not json");
        assert_eq!(frames[1]["message"]["method"], "x");
        assert_eq!(frames[2]["message"]["a"][1], 2);
        assert_eq!(frames[3]["raw"], "no newline at the end");
        assert!(frames.iter().all(|f| f["ms"].as_f64().unwrap() >= 0.0));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_recorded_session_replays_the_same_and_a_changed_server_differs() {
    let dir = temp_dir("record-replay");
    let out = dir.join("session.jsonl");
    let out_arg = out.to_str().unwrap();
    let server = everything().to_str().unwrap();
    // The CLI is the app here; `oxmcp record` stands where the server would.
    let run = oxmcp([
        "call",
        "test_tool_with_progress",
        "--",
        OXMCP,
        "record",
        "--out",
        out_arg,
        "--",
        server,
    ]);
    assert!(run.ok().contains("Progress test completed"), "{run:?}");
    let lines = recording(&out);
    let methods: Vec<&str> = lines
        .iter()
        .filter(|l| l["from"] == "client")
        .filter_map(|l| l["message"]["method"].as_str())
        .collect();
    assert!(methods.contains(&"tools/call"), "{methods:?}");
    assert!(
        lines
            .iter()
            .any(|l| l["from"] == "server" && l["message"]["method"] == "notifications/progress"),
        "{lines:?}"
    );

    let same = oxmcp(["replay", out_arg, "--", server]);
    assert!(same.ok().contains("0 answered differently"), "{same:?}");
    assert!(same.stdout.contains("same    tools/call"), "{same:?}");

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scripted_server.py"
    );
    let other = oxmcp([
        "replay",
        out_arg,
        "--json",
        "--timeout",
        "5s",
        "--",
        "python3",
        script,
    ]);
    assert_eq!(other.code, Some(1), "{other:?}");
    let report: Value = serde_json::from_str(&other.stdout).unwrap();
    assert!(report["differing"].as_u64().unwrap() >= 1, "{report}");
    let call = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "tools/call")
        .unwrap();
    assert_eq!(call["same"], false, "{report}");

    std::fs::write(dir.join("bad.jsonl"), "{\"from\": \"nobody\"}\n").unwrap();
    let bad = oxmcp([
        "replay",
        dir.join("bad.jsonl").to_str().unwrap(),
        "--",
        server,
    ]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("line 1: no \"from\""), "{bad:?}");
    let _ = std::fs::remove_dir_all(dir);
}
