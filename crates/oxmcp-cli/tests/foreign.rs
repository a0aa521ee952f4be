//! `inspect`, `list` and `call` against servers oxmcp did not write: the official Python
//! SDK's `MCPServer` (`interop/python/server.py`) and the reference
//! `@modelcontextprotocol/server-everything` from npm, over stdio, and over HTTP behind
//! `oxmcp serve`.
//!
//! `cargo xtask ci` (and `cargo xtask interop`) set them up and point these tests at them:
//! `OXMCP_INTEROP_PYTHON` and `OXMCP_INTEROP_DIR` for the Python SDK, `OXMCP_SERVER_EVERYTHING`
//! for the npm package's `dist/index.js` (run with `node`). Without them a test says so and
//! passes, unless `CI` is set: then it fails.

mod support;

use serde_json::Value;
use support::{oxmcp, with, Bridge};

/// The command line's tail naming a server set up by xtask, or `None` (skipped) outside CI.
fn server(vars: &[&str], command: impl FnOnce(Vec<String>) -> Vec<String>) -> Option<Vec<String>> {
    let values: Option<Vec<String>> = vars
        .iter()
        .map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .collect();
    match values {
        Some(values) => Some(command(values)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{vars:?} must be set in CI (run `cargo xtask interop`)"
            );
            eprintln!("skipped: {vars:?} not set (run `cargo xtask interop`)");
            None
        }
    }
}

fn tool_names(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[test]
fn the_python_sdk_s_server() {
    let Some(target) = server(&["OXMCP_INTEROP_PYTHON", "OXMCP_INTEROP_DIR"], |v| {
        vec!["--".into(), v[0].clone(), format!("{}/server.py", v[1])]
    }) else {
        return;
    };
    // A Python start takes a second or two: few runs, the legacy era once.
    let report = oxmcp(with(&["inspect", "--json"], &target)).json();
    let mut names = tool_names(&report["tools"]);
    names.sort_unstable();
    assert_eq!(names, ["add", "echo", "slow"], "{report}");
    let tools = oxmcp(with(&["list", "tools", "--json"], &target)).json();
    assert_eq!(tool_names(&tools).len(), 3, "{tools}");
    for era in ["auto", "legacy"] {
        // `a=20` is the integer 20: the schema says so.
        let sum = oxmcp(with(
            &["call", "add", "a=20", "b=22", "--json", "--era", era],
            &target,
        ))
        .json();
        assert_eq!(sum["content"][0]["text"], "42", "{era}: {sum}");
    }
    let run = oxmcp(with(&["call", "slow", "seconds=0.1"], &target));
    assert!(run.ok().contains("slept 0.1 seconds"), "{run:?}");
    assert!(run.stderr.contains("[progress 10/10]"), "{run:?}");
}

#[test]
fn the_reference_everything_server() {
    let Some(target) = server(&["OXMCP_SERVER_EVERYTHING"], |v| {
        vec!["--".into(), "node".into(), v[0].clone(), "stdio".into()]
    }) else {
        return;
    };
    let report = oxmcp(with(&["inspect", "--json"], &target)).json();
    assert_eq!(
        report["server"]["name"], "mcp-servers/everything",
        "{report}"
    );
    assert!(
        tool_names(&report["tools"]).contains(&"get-sum"),
        "{report}"
    );
    assert!(
        !report["resources"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(
        !report["prompts"].as_array().unwrap().is_empty(),
        "{report}"
    );
    for kind in ["tools", "resources", "templates", "prompts"] {
        let items = oxmcp(with(&["list", kind, "--json"], &target)).json();
        assert!(items.is_array(), "{kind}: {items}");
    }
    let run = oxmcp(with(&["call", "get-sum", "a=2", "b=3"], &target));
    assert!(run.ok().contains("The sum of 2 and 3 is 5."), "{run:?}");
    let run = oxmcp(with(&["call", "echo", "message=héllo"], &target));
    assert!(run.ok().contains("héllo"), "{run:?}");
    let run = oxmcp(with(&["call", "get-sum", "a=2", "b=x"], &target));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("argument b: expected a number"),
        "{run:?}"
    );
}

/// `oxmcp serve --http` in front of a stdio server we did not write: its tools listed and
/// called over Streamable HTTP, in both eras (`oxmcp` itself is the HTTP client).
fn behind_serve(target: &[String], call: &[&str], expected: &str) {
    let mut bridge = Bridge::start(target);
    let url = bridge.url();
    for era in ["modern", "legacy"] {
        let tools = oxmcp(["list", "tools", "--json", "--era", era, "--url", &url]).json();
        assert!(tool_names(&tools).contains(&call[1]), "{era}: {tools}");
        let mut args = call.to_vec();
        args.extend(["--era", era, "--url", &url]);
        let run = oxmcp(&args);
        assert!(run.ok().contains(expected), "{era}: {run:?}");
    }
    bridge.signal("TERM");
    let status = bridge.wait(std::time::Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{}", bridge.stderr());
}

#[test]
fn the_python_sdk_s_server_behind_serve() {
    let Some(target) = server(&["OXMCP_INTEROP_PYTHON", "OXMCP_INTEROP_DIR"], |v| {
        vec!["--".into(), v[0].clone(), format!("{}/server.py", v[1])]
    }) else {
        return;
    };
    behind_serve(&target, &["call", "add", "a=20", "b=22"], "42");
}

#[test]
fn the_reference_everything_server_behind_serve() {
    let Some(target) = server(&["OXMCP_SERVER_EVERYTHING"], |v| {
        vec!["--".into(), "node".into(), v[0].clone(), "stdio".into()]
    }) else {
        return;
    };
    behind_serve(
        &target,
        &["call", "get-sum", "a=2", "b=3"],
        "The sum of 2 and 3 is 5.",
    );
}
