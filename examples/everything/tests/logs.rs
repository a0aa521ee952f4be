//! Log output: `--log-format json` (or `OXMCP_LOG=json`) writes every stderr line as one
//! JSON object, and nothing but MCP messages reaches stdout.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_everything");

/// Runs the server on stdio with `configure`, sends one `initialize` and a `tools/list`,
/// closes stdin and returns (exit status, stdout, stderr).
fn run(configure: impl FnOnce(&mut Command)) -> (std::process::ExitStatus, String, String) {
    let mut command = Command::new(BIN);
    command
        .env_remove("OXMCP_LOG")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    configure(&mut command);
    let mut child = command.spawn().expect("the everything example starts");
    let input = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        "\n",
    );
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(input.as_bytes())
        .expect("the server reads stdin");
    drop(stdin);
    let output = child
        .wait_with_output()
        .expect("the server exits at end of input");
    (
        output.status,
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// Every stderr line parses as a JSON object with a level and a timestamp; returns them.
fn json_lines(stderr: &str) -> Vec<Value> {
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(!lines.is_empty(), "RUST_LOG=debug logs something on stderr");
    for line in &lines {
        assert!(line["level"].is_string(), "a level in {line}");
        assert!(line["timestamp"].is_string(), "a timestamp in {line}");
        assert!(line["target"].is_string(), "a target in {line}");
    }
    lines
}

/// Stdout holds the two responses and nothing else.
fn assert_protocol_only(stdout: &str) {
    let ids: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("stdout is JSON-RPC")["id"].clone())
        .collect();
    assert_eq!(ids, [Value::from(1), Value::from(2)], "stdout: {stdout}");
}

#[test]
fn log_format_json_writes_one_json_object_per_stderr_line() {
    let (status, stdout, stderr) = run(|c| {
        c.arg("--log-format").arg("json");
    });
    assert!(status.success(), "exit {status}; stderr: {stderr}");
    assert_protocol_only(&stdout);
    let lines = json_lines(&stderr);
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "RUST_LOG=debug reaches the JSON logs: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no colour codes off a terminal");
}

#[test]
fn oxmcp_log_json_in_the_environment_selects_json_too() {
    let (status, stdout, stderr) = run(|c| {
        c.env("OXMCP_LOG", "json");
    });
    assert!(status.success(), "exit {status}; stderr: {stderr}");
    assert_protocol_only(&stdout);
    json_lines(&stderr);
}

#[test]
fn rust_log_filters_the_json_logs() {
    let (status, _, stderr) = run(|c| {
        c.env("OXMCP_LOG", "json").env("RUST_LOG", "error");
    });
    assert!(status.success(), "exit {status}; stderr: {stderr}");
    assert_eq!(stderr, "", "RUST_LOG=error: nothing at debug or info");
}

#[test]
fn text_logs_off_a_terminal_have_no_colour() {
    let (status, stdout, stderr) = run(|_| {});
    assert!(status.success(), "exit {status}; stderr: {stderr}");
    assert_protocol_only(&stdout);
    assert!(stderr.contains("DEBUG"), "text logs at debug: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes off a terminal: {stderr}"
    );
}

#[test]
fn an_unknown_log_format_is_a_usage_error_that_names_the_choices() {
    let output = Command::new(BIN)
        .args(["--log-format", "yaml"])
        .stdin(Stdio::null())
        .output()
        .expect("the everything example starts");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`yaml`") && stderr.contains("`text` or `json`"),
        "{stderr}"
    );
}
