//! `notes --builtin-as` end to end with oxmcp's own OAuth client: the authorization code
//! flow against the built-in authorization server, a call, a refresh once the access token
//! expired, and a step-up from `notes:read` to `notes:write`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::oauth::{AutoApproveAgent, OAuth, StoredAuth, TokenStore};
use oxmcp::client::{Client, HttpClientConfig};
use serde_json::json;

/// `notes --http 127.0.0.1:PORT --builtin-as ...`, killed on drop.
struct Notes {
    child: tokio::process::Child,
    addr: String,
}

impl Drop for Notes {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start(args: &[&str], ttl: u64) -> Notes {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_notes"))
        .args(["--http", &addr, "--builtin-as"])
        .args(args)
        .env("NOTES_ACCESS_TOKEN_TTL", ttl.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("notes starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Notes { child, addr };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("notes did not listen on {addr} within 5 s");
}

/// Keeps the last entry saved, for the test to look at.
#[derive(Clone, Default)]
struct Store(Arc<Mutex<Option<StoredAuth>>>);

impl TokenStore for Store {
    fn load(&self, _: &str) -> oxmcp::Result<Option<StoredAuth>> {
        Ok(self.0.lock().unwrap().clone())
    }

    fn save(&self, _: &str, entry: &StoredAuth) -> oxmcp::Result<()> {
        *self.0.lock().unwrap() = Some(entry.clone());
        Ok(())
    }
}

impl Store {
    fn tokens(&self) -> (String, Option<String>) {
        let tokens = self.0.lock().unwrap().clone().unwrap().tokens.unwrap();
        (tokens.access_token, tokens.scope)
    }
}

fn text(result: &oxmcp::protocol::CallToolResult) -> String {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxmcp_client_authorizes_refreshes_and_steps_up() {
    // Access tokens live 2 s: the client refreshes them before each use once expired.
    let notes = start(
        &[
            "--auto-approve",
            "alice",
            "--client",
            "notes-test=http://127.0.0.1/callback",
        ],
        2,
    )
    .await;
    // The user is approved at once (`--auto-approve`).
    let browser = AutoApproveAgent::new("http://127.0.0.1:1/callback");
    let store = Store::default();
    let oauth = OAuth::authorization_code(browser.clone())
        .client_id("notes-test")
        .scopes(["notes:read"])
        .store(store.clone());
    let config = HttpClientConfig::new(format!("http://{}/mcp", notes.addr)).oauth(oauth);
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        Client::builder().connect_http_with(config),
    )
    .await
    .expect("connected within 10 s")
    .expect("connected");
    assert_eq!(browser.visits(), 1, "one authorization");
    let (first, scope) = store.tokens();
    assert_eq!(scope.as_deref(), Some("notes:read"));
    assert_eq!(
        text(&client.call_tool("list_notes", json!({})).await.unwrap()),
        "no notes"
    );

    // Past the access token's expiry: the refresh token gets a new one, no new consent.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        text(&client.call_tool("list_notes", json!({})).await.unwrap()),
        "no notes"
    );
    let (second, _) = store.tokens();
    assert_ne!(first, second, "a new access token");
    assert_eq!(browser.visits(), 1, "refreshed, not re-authorized");

    // `add_note` needs notes:write: the 403 challenge re-authorizes with it.
    assert_eq!(
        text(
            &client
                .call_tool("add_note", json!({"text": "buy milk"}))
                .await
                .unwrap()
        ),
        "added note 1"
    );
    assert_eq!(browser.visits(), 2, "one step-up");
    let (_, scope) = store.tokens();
    let scope = scope.unwrap_or_default();
    assert!(scope.contains("notes:write"), "{scope}");
    assert_eq!(
        text(&client.call_tool("list_notes", json!({})).await.unwrap()),
        "1: buy milk (alice)"
    );
}

/// The authorization server's routes are served by the SDK's HTTP server, so they keep its
/// rules: a token request in flight when `SIGTERM` arrives is answered, then the process
/// exits 0 (it used to be killed by the signal, mid-request).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_as_drains_and_exits_0_on_sigterm() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut notes = start(&["--auto-approve", "alice"], 60).await;
    // A token request whose body is still on its way when the signal comes.
    let mut stream = tokio::net::TcpStream::connect(&notes.addr).await.unwrap();
    let body = "grant_type=client_credentials&client_id=nobody";
    let head = format!(
        "POST /token HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        notes.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = notes.child.id().expect("notes runs").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("answered within 5 s")
        .unwrap();
    // An unknown client: the token endpoint's own error, not a dropped connection.
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");
    let status = tokio::time::timeout(Duration::from_secs(5), notes.child.wait())
        .await
        .expect("notes stopped within 5 s")
        .unwrap();
    assert!(status.success(), "notes exited with {status}");
}
