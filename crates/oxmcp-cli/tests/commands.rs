//! Each command of `oxmcp` against `examples/everything` over stdio and Streamable HTTP,
//! in both eras, and hostile cases: bad arguments, schema mismatches, a server that dies
//! mid-call, config files with other entries.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{everything, finish, oxmcp, targets, temp_dir, with, OXMCP};

fn names(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

/// The scripted legacy server of `tests/fixtures`, with `extra` arguments.
fn scripted(extra: &[&str]) -> Vec<String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scripted_server.py"
    );
    ["--", "python3", script]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn inspect_reports_the_whole_server_in_both_eras() {
    let (_server, targets) = targets();
    for (label, target) in &targets {
        for (era, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
            let report = oxmcp(with(&["inspect", "--json", "--era", era], target)).json();
            let context = format!("{label} {era}: {report}");
            assert_eq!(report["server"]["name"], "oxmcp-everything", "{context}");
            assert_eq!(report["protocolVersion"], version, "{context}");
            assert!(report["instructions"].as_str().is_some(), "{context}");
            assert!(report["capabilities"]["tools"].is_object(), "{context}");
            let tools = &report["tools"];
            assert!(
                names(tools, "name").contains(&"test_simple_text".into()),
                "{context}"
            );
            assert!(tools[0]["inputSchema"].is_object(), "{context}");
            assert!(names(&report["resources"], "uri").contains(&"test://static-text".into()));
            assert_eq!(
                names(&report["resourceTemplates"], "uriTemplate"),
                ["test://template/{id}/data"]
            );
            assert!(names(&report["prompts"], "name").contains(&"test_simple_prompt".into()));
        }
        let text = oxmcp(with(&["inspect"], target)).ok().to_owned();
        for expected in [
            "server oxmcp-everything",
            "protocol 2026-07-28 (modern)",
            "test_simple_text",
            "(prompt: string)",
            "test://template/{id}/data",
            "test_prompt_with_arguments",
        ] {
            assert!(text.contains(expected), "{label}: {expected:?} in {text}");
        }
    }
}

#[test]
fn list_prints_every_kind() {
    let (_server, targets) = targets();
    for (label, target) in &targets {
        for (kind, key, expected) in [
            ("tools", "name", "test_tool_with_progress"),
            ("resources", "uri", "test://watched-resource"),
            ("templates", "uriTemplate", "test://template/{id}/data"),
            ("prompts", "name", "test_prompt_with_image"),
        ] {
            let items = oxmcp(with(&["list", kind, "--json"], target)).json();
            assert!(
                names(&items, key).contains(&expected.to_owned()),
                "{label} {kind}: {items}"
            );
            let text = oxmcp(with(&["list", kind], target)).ok().to_owned();
            assert!(text.contains(expected), "{label} {kind}: {text}");
        }
    }
}

#[test]
fn call_prints_content_progress_and_logs_and_fails_on_is_error() {
    let (_server, targets) = targets();
    for (label, target) in &targets {
        let run = oxmcp(with(&["call", "test_simple_text"], target));
        assert_eq!(run.ok(), "This is a simple text response for testing.\n");

        let run = oxmcp(with(&["call", "test_tool_with_progress"], target));
        assert!(
            run.ok().contains("Progress test completed"),
            "{label}: {run:?}"
        );
        // Off a terminal, progress is one line per update on stderr.
        assert!(
            run.stderr.contains("[progress 100/100]"),
            "{label}: {run:?}"
        );

        let run = oxmcp(with(&["call", "test_tool_with_logging"], target));
        assert!(
            run.ok().contains("executed successfully"),
            "{label}: {run:?}"
        );
        assert!(
            run.stderr
                .contains("[log info] everything: Tool execution started"),
            "{label}: {run:?}"
        );

        let run = oxmcp(with(&["call", "test_multiple_content_types"], target));
        assert!(run.ok().contains("[image image/png, 70 bytes]"), "{run:?}");
        assert!(run
            .stdout
            .contains("[resource test://mixed-content-resource]"));

        let result = oxmcp(with(&["call", "test_image_content", "--json"], target)).json();
        assert_eq!(result["content"][0]["type"], "image", "{result}");

        let run = oxmcp(with(&["call", "test_error_handling"], target));
        assert_eq!(run.code, Some(3), "{label}: {run:?}");
        assert!(
            run.stdout.contains("intentionally returns an error"),
            "{run:?}"
        );
        assert!(
            run.stderr.contains("reported an error (isError)"),
            "{run:?}"
        );
    }
}

#[test]
fn questions_from_the_server_are_refused_when_not_interactive() {
    let (_server, targets) = targets();
    for (label, target) in &targets {
        for era in ["legacy", "modern"] {
            let run = oxmcp(with(
                &[
                    "call",
                    "test_elicitation",
                    "message=who?",
                    "--non-interactive",
                    "--era",
                    era,
                ],
                target,
            ));
            assert!(
                run.ok().contains("action=decline"),
                "{label} {era}: {run:?}"
            );
            assert!(run.stderr.contains("[elicitation declined"), "{run:?}");

            let run = oxmcp(with(
                &[
                    "call",
                    "test_sampling",
                    "prompt=hi",
                    "--non-interactive",
                    "--era",
                    era,
                ],
                target,
            ));
            assert!(
                run.stderr.contains("[sampling refused"),
                "{label} {era}: {run:?}"
            );
            // The server sees the refusal: a legacy one reports it in its result, a modern
            // one's round fails.
            assert!(
                format!("{}{}", run.stdout, run.stderr).contains("refused the sampling request"),
                "{label} {era}: {run:?}"
            );
        }
    }
}

#[test]
fn read_prompt_complete_and_ping() {
    let (_server, targets) = targets();
    for (label, target) in &targets {
        for era in ["auto", "legacy"] {
            let text = oxmcp(with(&["read", "test://static-text", "--era", era], target));
            assert_eq!(
                text.ok(),
                "This is the content of the static text resource.\n",
                "{label} {era}"
            );
            let blob = oxmcp(with(
                &["read", "test://static-binary", "--json", "--era", era],
                target,
            ))
            .json();
            assert_eq!(blob["contents"][0]["mimeType"], "image/png", "{blob}");
            let templated = oxmcp(with(&["read", "test://template/7/data"], target));
            assert!(templated.ok().contains("Data for ID: 7"), "{templated:?}");

            let prompt = oxmcp(with(
                &[
                    "prompt",
                    "test_prompt_with_arguments",
                    "arg1=x",
                    "arg2=y",
                    "--era",
                    era,
                ],
                target,
            ));
            assert!(
                prompt
                    .ok()
                    .contains("user: Prompt with arguments: arg1='x', arg2='y'"),
                "{label} {era}: {prompt:?}"
            );

            let values = oxmcp(with(
                &[
                    "complete",
                    "--prompt",
                    "test_prompt_with_arguments",
                    "arg1",
                    "te",
                    "--era",
                    era,
                ],
                target,
            ));
            assert_eq!(values.ok(), "test\ntestValue1\n", "{label} {era}");
            let values = oxmcp(with(
                &[
                    "complete",
                    "--template",
                    "test://template/{id}/data",
                    "id",
                    "1",
                    "--json",
                ],
                target,
            ))
            .json();
            assert_eq!(values["completion"]["values"][0], "1", "{values}");

            let times = oxmcp(with(
                &["ping", "--count", "2", "--json", "--era", era],
                target,
            ))
            .json();
            assert_eq!(
                times["roundTripsMs"].as_array().unwrap().len(),
                2,
                "{times}"
            );
        }
        let unknown = oxmcp(with(&["read", "test://nope"], target));
        assert_eq!(unknown.code, Some(1), "{unknown:?}");
        assert!(
            unknown.stderr.contains("reading test://nope"),
            "{unknown:?}"
        );
    }
}

#[test]
fn listen_prints_list_changes_from_a_modern_server() {
    let (server, _) = targets();
    let listen = Command::new(OXMCP)
        .args(["listen", "--json", "--count", "1", "--url", &server.url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = listen.id();
    // Trigger until the listener has seen one (a change before it subscribed is not seen).
    let trigger = std::thread::spawn({
        let url = server.url.clone();
        move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && std::fs::metadata(format!("/proc/{pid}")).is_ok() {
                oxmcp(["call", "test_trigger_tool_change", "--url", &url]).ok();
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    });
    let run = finish(listen, Duration::from_secs(25));
    let _ = trigger.join();
    let line: Value = serde_json::from_str(run.ok().lines().next().unwrap()).unwrap();
    assert_eq!(
        line["method"], "notifications/tools/list_changed",
        "{run:?}"
    );
    assert!(run.stderr.contains("toolsListChanged"), "{run:?}");
}

#[test]
fn a_legacy_listen_ends_when_the_server_goes_away() {
    let run = oxmcp(with(&["listen", "--era", "legacy"], &scripted(&["hangup"])));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("the server closed the connection"),
        "{run:?}"
    );
}

#[test]
fn arguments_are_typed_by_the_schema_and_mismatches_refused() {
    let server = scripted(&[]);
    let run = oxmcp(with(&["call", "add", "a=1", "b=-2"], &server));
    assert_eq!(run.ok(), "{\"a\": 1, \"b\": -2}\n");
    let run = oxmcp(with(
        &["call", "add", "--args", r#"{"a": 5, "b": 1}"#, "b=2"],
        &server,
    ));
    assert_eq!(run.ok(), "{\"a\": 5, \"b\": 2}\n");

    for (args, expected) in [
        (
            vec!["add", "a=1", "b=two"],
            "argument b: expected an integer, got \"two\"",
        ),
        (vec!["add", "a=1"], "missing required argument b"),
        (
            vec!["add", "a=1", "b=2", "c=3"],
            "the tool takes no argument \"c\"; it takes: a, b",
        ),
        (vec!["add", "--args", "[1]"], "--args must be a JSON object"),
        (
            vec!["nope"],
            "the server has no tool \"nope\"; it has: add, crash",
        ),
    ] {
        let mut line = vec!["call"];
        line.extend(args);
        let run = oxmcp(with(&line, &server));
        assert_eq!(run.code, Some(2), "{line:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{line:?}: {run:?}");
    }
    // A malformed pair is refused before any server is started.
    let run = oxmcp(["call", "add", "a1", "--", "/nonexistent/server"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("expected an argument as key=value"),
        "{run:?}"
    );
}

#[test]
fn a_server_that_dies_mid_call_fails_the_call_with_its_stderr() {
    let run = oxmcp(with(&["call", "crash"], &scripted(&[])));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("calling crash"), "{run:?}");
    assert!(run.stderr.contains("crashing now"), "{run:?}");
}

#[test]
fn config_files_name_a_server_among_others() {
    let dir = temp_dir("config");
    let file = dir.join("mcp.json");
    let config = serde_json::json!({
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "other": {"command": "/nonexistent/other", "args": ["x"]},
            "everything": {"command": everything(), "args": [], "env": {"RUST_LOG": "warn"}},
            "remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "k"}}
        }
    });
    std::fs::write(&file, config.to_string()).unwrap();
    let file = file.display().to_string();
    let tools = oxmcp([
        "list",
        "tools",
        "--json",
        "--config",
        &file,
        "--server",
        "everything",
    ])
    .json();
    assert!(names(&tools, "name").contains(&"test_simple_text".into()));

    let run = oxmcp(["ping", "--config", &file, "--server", "missing"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("no server named \"missing\"; the file has: everything, other, remote"),
        "{run:?}"
    );
    std::fs::write(dir.join("bad.json"), "{not json").unwrap();
    let bad = dir.join("bad.json").display().to_string();
    let run = oxmcp(["ping", "--config", &bad, "--server", "x"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("is not JSON"), "{run:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_errors_say_what_was_expected() {
    let run = oxmcp(["list", "tools"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("no server given"), "{run:?}");
    let run = oxmcp([
        "ping",
        "--header",
        "nocolon",
        "--url",
        "http://127.0.0.1:9/mcp",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("expected a header as NAME:VALUE"),
        "{run:?}"
    );
    let run = oxmcp([
        "ping",
        "--timeout",
        "soon",
        "--url",
        "http://127.0.0.1:9/mcp",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("expected a duration"), "{run:?}");
    let run = oxmcp(["ping", "--url", "http://127.0.0.1:9/mcp", "--", "server"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    // A server that is not there is a failure, not a hang.
    let run = oxmcp(["ping", "--url", "http://127.0.0.1:9/mcp"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("connecting to http://127.0.0.1:9/mcp"),
        "{run:?}"
    );
    let help = oxmcp(["call", "--help"]);
    assert!(help.ok().contains("Examples:"), "{help:?}");
}
