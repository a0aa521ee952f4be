//! Misbehaving servers, scripted in `sh`: their bad answers must count as errors
//! and must never hang the load generator.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use oxmcp_bench::{loadgen, Config, Era};

const INITIALIZE_REPLY: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"fake","version":"0"}}}"#;

/// Writes `body` (run for every `tools/call` line, with `$n` its 1-based
/// number, which is also its id when there is no warm-up) into a script
/// that answers `initialize` properly, and returns the command line to run it.
fn fake_server(name: &str, body: &str) -> (String, PathBuf) {
    let path = std::env::temp_dir().join(format!("oxmcp-bench-{}-{name}.sh", std::process::id()));
    let script = format!(
        r#"n=0
while IFS= read -r line; do
  case "$line" in
    *'"method":"initialize"'*) printf '%s\n' '{INITIALIZE_REPLY}' ;;
    *'"method":"tools/call"'*) n=$((n+1)); {body} ;;
  esac
done
"#
    );
    std::fs::write(&path, script).unwrap();
    (format!("sh '{}'", path.display()), path)
}

fn config(server: String, requests: usize) -> Config {
    Config {
        era: Era::Legacy,
        inflight: 1,
        requests,
        warmup: 0,
        timeout: Duration::from_secs(2),
        ..Config::new(server)
    }
}

#[test]
fn wrong_ids_and_error_responses_are_errors() {
    let (server, path) = fake_server(
        "mixed",
        r#"case $((n % 4)) in
      1) printf '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"hello"}]}}\n' "$n" ;;
      2) printf '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"hello"}]}}\n' $((n + 1000)) ;;
      3) printf '{"jsonrpc":"2.0","id":%d,"error":{"code":-32603,"message":"boom"}}\n' "$n" ;;
      0) printf '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"bye"}]}}\n' "$n" ;;
    esac"#,
    );
    let report = loadgen::run(&config(server, 12));
    let _ = std::fs::remove_file(path);
    let report = report.unwrap();
    assert_eq!(report.responses, 12, "{report:?}");
    assert_eq!(report.errors, 9, "{report:?}");
    assert!(
        report
            .first_error
            .as_deref()
            .unwrap()
            .contains("unexpected id"),
        "{report:?}"
    );
    assert!(report.latency.p50_us > 0.0);
}

#[test]
fn only_error_responses() {
    let (server, path) = fake_server(
        "errors",
        r#"printf '{"jsonrpc":"2.0","id":%d,"error":{"code":-32601,"message":"nope"}}\n' "$n""#,
    );
    let report = loadgen::run(&config(server, 5));
    let _ = std::fs::remove_file(path);
    let report = report.unwrap();
    assert_eq!((report.responses, report.errors), (5, 5), "{report:?}");
    assert!(report
        .first_error
        .as_deref()
        .unwrap()
        .contains("error response"));
}

#[test]
fn server_that_stops_answering_times_out() {
    let (server, path) = fake_server("silent", ":");
    let started = Instant::now();
    let report = loadgen::run(&Config {
        timeout: Duration::from_millis(500),
        ..config(server, 5)
    });
    let _ = std::fs::remove_file(path);
    let report = report.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((report.responses, report.errors), (0, 5), "{report:?}");
    assert!(report.killed);
    assert!(
        report.first_error.as_deref().unwrap().contains("timed out"),
        "{report:?}"
    );
}

#[test]
fn server_that_exits_mid_run() {
    let (server, path) = fake_server(
        "quitter",
        r#"[ "$n" -gt 3 ] && exit 0
    printf '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"hello"}]}}\n' "$n""#,
    );
    let report = loadgen::run(&config(server, 10));
    let _ = std::fs::remove_file(path);
    let report = report.unwrap();
    assert_eq!((report.responses, report.errors), (3, 7), "{report:?}");
    assert!(
        report
            .first_error
            .as_deref()
            .unwrap()
            .contains("closed stdout"),
        "{report:?}"
    );
}

#[test]
fn failed_handshake_is_an_error() {
    assert!(loadgen::run(&config("true".into(), 1)).is_err());
    let (server, path) = fake_server("modern", ":");
    let result = loadgen::run(&Config {
        era: Era::Modern,
        ..config(server, 1)
    });
    let _ = std::fs::remove_file(path);
    // The script answers only `initialize`: `server/discover` times out.
    let error = result.unwrap_err().to_string();
    assert!(error.contains("server/discover"), "{error}");
    assert!(loadgen::run(&config("/nonexistent/server".into(), 1)).is_err());
}

#[test]
fn server_notifications_are_not_answers() {
    let (server, path) = fake_server(
        "chatty",
        r#"printf '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"hello"}]}}\n{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}\n\n' "$n""#,
    );
    let report = loadgen::run(&Config {
        inflight: 2,
        ..config(server, 20)
    });
    let _ = std::fs::remove_file(path);
    let report = report.unwrap();
    assert_eq!((report.responses, report.errors), (20, 0), "{report:?}");
    assert!(!report.killed, "{report:?}");
}

#[test]
fn a_legacy_only_server_refuses_the_modern_era_as_unsupported() {
    // Answers every request with "method not found", as a legacy-only server answers
    // `server/discover`.
    let path =
        std::env::temp_dir().join(format!("oxmcp-bench-{}-legacy-only.sh", std::process::id()));
    let script = r#"while IFS= read -r line; do
  printf '%s\n' '{"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"Method not found"}}'
done
"#;
    std::fs::write(&path, script).unwrap();
    let server = format!("sh '{}'", path.display());
    let modern = loadgen::run(&Config {
        era: Era::Modern,
        ..config(server.clone(), 1)
    });
    let legacy = loadgen::run(&config(server, 1));
    let _ = std::fs::remove_file(path);
    let modern = modern.unwrap_err();
    assert!(modern.is_unsupported(), "{modern}");
    // The same answer to `initialize` is a refusal too: the server cannot be measured.
    assert!(legacy.unwrap_err().is_unsupported());
}
