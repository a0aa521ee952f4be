//! `oxmcp connect URL`: the oxmcp client over stdio to the bridge, the bridge over HTTP to
//! a remote server: `examples/everything --http` in both eras, and `examples/notes` behind
//! its built-in OAuth authorization server (the login once, then the cached token).

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::{ElicitResult, ProtocolVersion};
use oxmcp::transport::stdio::ChildCommand;
use serde_json::json;
use support::{http, target_dir, temp_dir, HttpServer, OXMCP};
use tokio::io::AsyncBufReadExt as _;

/// The text of a tool result's first content block.
fn text(result: &impl serde::Serialize) -> String {
    let value = serde_json::to_value(result).unwrap();
    value["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {value}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_http_server_is_served_on_stdio_in_both_eras() {
    let server = HttpServer::start();
    let dir = temp_dir("connect-plain");
    for (label, era) in [
        ("modern", EraChoice::Modern),
        ("legacy", EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY)),
    ] {
        let command = ChildCommand::new(OXMCP)
            .args(["connect", &server.url, "--no-browser"])
            .env("OXMCP_TOKEN_STORE", dir.join("tokens.json"));
        let client = Client::builder()
            .era(era)
            .request_timeout(Some(Duration::from_secs(20)))
            .on_elicitation(|_| async move {
                let mut answers = serde_json::Map::new();
                answers.insert("username".into(), "octocat".into());
                answers.insert("email".into(), "o@example.com".into());
                Ok(ElicitResult::accept(answers))
            })
            .connect_stdio(command)
            .await
            .unwrap();
        assert_eq!(client.protocol_version().is_modern(), label == "modern");
        assert_eq!(
            client.server_info().map(|i| i.name.as_str()),
            Some("oxmcp-everything"),
            "{label}: named as the remote"
        );
        let tools = client.list_all_tools().await.unwrap();
        assert!(
            tools.iter().any(|t| t.name == "test_simple_text"),
            "{label}"
        );
        let result = client.call_tool("test_simple_text", json!({})).await;
        assert!(text(&result.unwrap()).contains("simple text"), "{label}");
        let result = client
            .call_tool("test_elicitation", json!({"message": "who?"}))
            .await
            .unwrap();
        assert!(
            text(&result).contains("octocat"),
            "{label}: {}",
            text(&result)
        );
        client.close().await.unwrap();
    }
    assert!(
        !dir.join("tokens.json").exists(),
        "no login, nothing cached"
    );
}

/// `examples/notes`, built once.
fn notes() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let target = target_dir();
        let mut cargo = std::process::Command::new(env!("CARGO"));
        // Without the variables cargo sets for a test (`CARGO_PKG_*`...): build scripts
        // that watch them (ring's) would run again, and rebuild what depends on them,
        // at every test run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_") && key != "CARGO_HOME" {
                cargo.env_remove(&*key);
            }
        }
        let status = cargo
            .args(["build", "-q", "-p", "notes"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building examples/notes failed");
        target
            .join("debug")
            .join(format!("notes{}", std::env::consts::EXE_SUFFIX))
    })
}

/// `notes --http ADDR --builtin-as --auto-approve alice`; killed on drop.
struct Notes {
    child: std::process::Child,
    url: String,
}

impl Notes {
    fn start() -> Notes {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = std::process::Command::new(notes())
            .args(["--http", &addr, "--builtin-as", "--auto-approve", "alice"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("notes starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "notes did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Notes {
            child,
            url: format!("http://{addr}/mcp"),
        }
    }
}

impl Drop for Notes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `oxmcp connect URL --no-browser`, its pipes ours.
fn spawn_connect(url: &str, store: &Path) -> tokio::process::Child {
    tokio::process::Command::new(OXMCP)
        .args(["connect", url, "--no-browser"])
        .env("OXMCP_TOKEN_STORE", store)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// A browser's GET: the `Location` it is sent to.
fn follow(url: &str) -> String {
    let (status, head, _) = http(url, "GET", "");
    assert!(status == 302 || status == 303, "{status}: {head}");
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        })
        .expect("a Location")
}

/// The oxmcp client over the bridge's stdin and stdout.
async fn over_pipes(child: &mut tokio::process::Child) -> Client {
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    Client::builder()
        .request_timeout(Some(Duration::from_secs(20)))
        .connect_io(stdout, stdin)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_server_gets_a_login_once_and_the_token_is_cached() {
    let notes = Notes::start();
    let base = notes.url.trim_end_matches("/mcp").to_owned();
    let dir = temp_dir("connect-oauth");
    let store = dir.join("tokens.json");

    // First run: the authorization URL on stderr; the test plays the browser.
    let mut bridge = spawn_connect(&notes.url, &store);
    let mut stderr = tokio::io::BufReader::new(bridge.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let authorize = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Some(line) = stderr.next_line().await.unwrap() else {
                panic!("connect exited without a URL: {seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(at) = line.find(&format!("{base}/authorize?")) {
                break line[at..].trim().to_owned();
            }
        }
    })
    .await
    .expect("the URL is printed");
    let redirect = tokio::task::spawn_blocking(move || follow(&authorize))
        .await
        .unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let (status, _, _) = tokio::task::spawn_blocking(move || http(&redirect, "GET", ""))
        .await
        .unwrap();
    assert_eq!(status, 200, "the loopback listener answers");
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

    let client = over_pipes(&mut bridge).await;
    let result = client
        .call_tool("add_note", json!({"text": "bridged"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "added note 1");
    let listed = client.call_tool("list_notes", json!({})).await.unwrap();
    assert!(
        text(&listed).contains("bridged (alice)"),
        "{}",
        text(&listed)
    );
    client.close().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(15), bridge.wait())
        .await
        .expect("connect exits when its stdin ends")
        .unwrap();
    assert!(status.success(), "{status}: {seen}");
    let _ = drain.await;
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    assert!(
        cached[&notes.url]["tokens"]["access_token"].is_string(),
        "{cached}"
    );

    // Second run: the cached token, no login.
    let mut bridge = spawn_connect(&notes.url, &store);
    let client = over_pipes(&mut bridge).await;
    let listed = client.call_tool("list_notes", json!({})).await.unwrap();
    assert!(
        text(&listed).contains("bridged (alice)"),
        "{}",
        text(&listed)
    );
    client.close().await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(15), bridge.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("sign in"), "no second login: {stderr}");
}

#[test]
fn an_unreachable_remote_fails_with_status_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir("connect-down");
    let child = std::process::Command::new(OXMCP)
        .args([
            "connect",
            &format!("http://127.0.0.1:{port}/mcp"),
            "--no-browser",
        ])
        .env("OXMCP_TOKEN_STORE", dir.join("tokens.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = support::finish(child, Duration::from_secs(30));
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("connecting to http://127.0.0.1"),
        "{run:#?}"
    );
    assert!(run.stdout.is_empty(), "{run:#?}");
}
