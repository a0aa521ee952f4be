//! The command's own diagnostics: `RUST_LOG` turns them on, on stderr only;
//! `--log-format json` (or `OXMCP_LOG=json`) writes each as one JSON object per line.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{finish, HttpServer, Run, OXMCP};

/// `oxmcp list tools --json EXTRA --url URL` against `examples/everything` over
/// Streamable HTTP, with `envs` (at debug, the HTTP client logs its connects).
fn list_tools(extra: &[&str], envs: &[(&str, &str)]) -> Run {
    let server = HttpServer::start();
    let mut command = Command::new(OXMCP);
    command
        .args(["list", "tools", "--json"])
        .args(extra)
        .args(["--url", &server.url])
        .env_remove("RUST_LOG")
        .env_remove("OXMCP_LOG")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    finish(
        command.spawn().expect("oxmcp starts"),
        Duration::from_secs(30),
    )
}

/// Every stderr line is a JSON object with a level, a timestamp and a target.
fn assert_json_lines(run: &Run) {
    let lines: Vec<Value> = run
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "RUST_LOG=debug logs the connects: {run:#?}"
    );
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["target"].is_string(), "{line}");
    }
}

#[test]
fn log_format_json_writes_json_lines_on_stderr_and_leaves_stdout_alone() {
    let run = list_tools(&["--log-format", "json"], &[("RUST_LOG", "debug")]);
    assert!(run.json().is_array(), "stdout is the tool list: {run:#?}");
    assert_json_lines(&run);
}

#[test]
fn oxmcp_log_json_in_the_environment_selects_json() {
    let run = list_tools(&[], &[("RUST_LOG", "debug"), ("OXMCP_LOG", "json")]);
    assert!(run.json().is_array(), "{run:#?}");
    assert_json_lines(&run);
}

#[test]
fn text_logs_off_a_terminal_have_no_colour() {
    let run = list_tools(&[], &[("RUST_LOG", "debug")]);
    assert!(run.json().is_array(), "{run:#?}");
    assert!(run.stderr.contains("DEBUG"), "{run:#?}");
    assert!(!run.stderr.contains('\u{1b}'), "no colour codes: {run:#?}");
}

#[test]
fn without_rust_log_or_a_format_nothing_is_logged() {
    let run = list_tools(&[], &[]);
    assert!(run.json().is_array(), "{run:#?}");
    assert_eq!(run.stderr, "");
}

#[test]
fn a_bad_oxmcp_log_is_a_usage_error_that_names_the_choices() {
    let run = list_tools(&[], &[("OXMCP_LOG", "yaml")]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("OXMCP_LOG=`yaml`") && run.stderr.contains("`text` or `json`"),
        "{run:#?}"
    );
}
