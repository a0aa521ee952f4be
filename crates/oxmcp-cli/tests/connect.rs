//! `oxmcp connect URL`: the oxmcp client over stdio to the bridge, the bridge over HTTP to
//! a remote server: `examples/everything --http` in both eras, and `examples/notes` behind
//! its built-in OAuth authorization server (the login once, then the cached token,
//! refreshed).

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::{ElicitResult, ProtocolVersion};
use oxmcp::transport::stdio::ChildCommand;
use serde_json::json;
use support::{free_port, http, notes, temp_dir, text, Bridge, HttpServer, OXMCP};
use tokio::io::AsyncBufReadExt as _;

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

/// The access token cached in `store` for the server at `url`.
#[track_caller]
fn access_token(store: &Path, url: &str) -> String {
    let cached: serde_json::Value = serde_json::from_slice(&std::fs::read(store).unwrap()).unwrap();
    match cached[url]["tokens"]["access_token"].as_str() {
        Some(token) => token.to_owned(),
        None => panic!("no access token cached for {url}: {cached}"),
    }
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
    // Access tokens live 2 s: the second run finds its cached one expired.
    let server = HttpServer::start_program(
        notes(),
        &["--builtin-as", "--auto-approve", "alice"],
        &[("NOTES_ACCESS_TOKEN_TTL", "2")],
    );
    let base = server.url.trim_end_matches("/mcp").to_owned();
    let dir = temp_dir("connect-oauth");
    let store = dir.join("tokens.json");

    // First run: the authorization URL on stderr; the test plays the browser.
    let mut bridge = spawn_connect(&server.url, &store);
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
    let signed_in = Instant::now();
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
    let first = access_token(&store, &server.url);

    // Second run, the access token expired: the cached refresh token gets a new one, no
    // login.
    tokio::time::sleep(Duration::from_millis(2500).saturating_sub(signed_in.elapsed())).await;
    let mut bridge = spawn_connect(&server.url, &store);
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
    assert_ne!(
        access_token(&store, &server.url),
        first,
        "the refreshed token is cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_serve_chain_with_an_api_key_in_a_header() {
    let dir = temp_dir("connect-chain");
    let keys = dir.join("keys.json");
    std::fs::write(&keys, r#"{"k1": {"sub": "alice", "scopes": []}}"#).unwrap();
    let everything = support::everything().display().to_string();
    let bridge = Bridge::start(&[
        "--api-keys".into(),
        keys.display().to_string(),
        "--".into(),
        everything,
    ]);
    let url = bridge.url();
    let store = dir.join("tokens.json");
    let command = ChildCommand::new(OXMCP)
        .args(["connect", &url, "--header", "Authorization: Bearer k1"])
        .env("OXMCP_TOKEN_STORE", &store);
    let client = Client::builder().connect_stdio(command).await.unwrap();
    let result = client.call_tool("test_simple_text", json!({})).await;
    assert!(text(&result.unwrap()).contains("simple text"));
    client.close().await.unwrap();

    // Without the key: the OAuth login cannot start (the server names no authorization
    // server), and connect says so and ends.
    let run = support::finish(
        support::oxmcp_command(["connect", &url, "--no-browser"])
            .env("OXMCP_TOKEN_STORE", &store)
            .spawn()
            .unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stderr.contains("authorization"), "{run:#?}");
}

/// On a terminal, `connect --no-browser` must not offer to paste the redirect URL (as the
/// other commands do): stdin is the protocol channel, and a paste prompt left reading it
/// would swallow the first message. `script` gives the bridge a terminal for stdin.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_login_leaves_stdin_to_the_protocol() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` (util-linux) is needed in CI"
        );
        eprintln!("skipped: no `script` command");
        return;
    }
    let server =
        HttpServer::start_program(notes(), &["--builtin-as", "--auto-approve", "alice"], &[]);
    let base = server.url.trim_end_matches("/mcp").to_owned();
    let dir = temp_dir("connect-tty");
    let inner = format!("{OXMCP} connect {} --no-browser", server.url);
    let mut script = tokio::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env("OXMCP_TOKEN_STORE", dir.join("tokens.json"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut output = script.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    // Everything the terminal shows, until `done` finds what it waits for (or 20 s pass).
    async fn read_until(
        output: &mut tokio::process::ChildStdout,
        buf: &mut [u8],
        seen: &mut String,
        done: impl Fn(&str) -> bool,
    ) {
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            while !done(seen) {
                let n = output.read(buf).await.unwrap();
                assert!(n > 0, "the terminal closed: {seen}");
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
        .await;
        assert!(found.is_ok(), "not found on the terminal: {seen}");
    }
    let marker = format!("{base}/authorize?");
    read_until(&mut output, &mut buf, &mut seen, |s| {
        s.find(&marker).is_some_and(|at| s[at..].contains('\n'))
    })
    .await;
    let at = seen.find(&marker).unwrap();
    let authorize = seen[at..].lines().next().unwrap().trim().to_owned();
    let redirect = tokio::task::spawn_blocking(move || follow(&authorize))
        .await
        .unwrap();
    let (status, _, _) = tokio::task::spawn_blocking(move || http(&redirect, "GET", ""))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // Signed in: speak MCP on its terminal.
    let mut input = script.stdin.take().unwrap();
    let initialize = json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "tty", "version": "1"}}});
    input
        .write_all(format!("{initialize}\n").as_bytes())
        .await
        .unwrap();
    let from = seen.len();
    read_until(&mut output, &mut buf, &mut seen, |s| {
        s[from..].contains("\"id\":7,\"result\"") || s[from..].contains("\"result\":{")
    })
    .await;
}

#[test]
fn an_unreachable_remote_fails_with_status_1() {
    let port = free_port();
    let dir = temp_dir("connect-down");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let child = support::oxmcp_command(["connect", &url, "--no-browser"])
        .env("OXMCP_TOKEN_STORE", dir.join("tokens.json"))
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
