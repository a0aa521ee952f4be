//! oxmcp's OAuth client against an OAuth-protected server written with the official Python
//! SDK (`interop/python/oauth_server.py`: `mcp.server.auth`, a token verifier and the SDK's
//! authorization-server routes): discovery from the 401, dynamic registration, the
//! authorization code flow with PKCE, a call, and a refresh once the server ended the
//! access token (a 401 mid-session).

use std::time::Duration;

use oxmcp::client::oauth::{AutoApproveAgent, MemoryStore, OAuth};
use oxmcp::client::{Client, HttpClientConfig};
use serde_json::json;

use super::{python_script_http, python_server, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxmcp_oauth_client_against_python_sdk_protected_server() {
    if python_server().is_none() {
        return;
    }
    let (_server, url) = python_script_http("oauth_server.py", &[])
        .await
        .expect("start oauth_server.py --http");
    // The Python provider approves at once.
    let browser = AutoApproveAgent::new("http://127.0.0.1:1/callback");
    let oauth = OAuth::authorization_code(browser.clone())
        .client_name("oxmcp-interop-oauth")
        .store(MemoryStore::new());
    let client = tokio::time::timeout(
        Duration::from_secs(30),
        Client::builder()
            .request_timeout(Some(Duration::from_secs(30)))
            .connect_http_with(HttpClientConfig::new(&url).oauth(oauth)),
    )
    .await
    .expect("connected within 30 s")
    .unwrap_or_else(|e| panic!("authorize against the Python SDK server: {e} ({e:?})"));
    assert_eq!(browser.visits(), 1, "one authorization");

    let who = text(&client.call_tool("whoami", json!({})).await.unwrap());
    assert!(who.starts_with("client "), "{who}");
    // The scope the Protected Resource Metadata names was asked for and granted.
    assert!(who.ends_with("scopes mcp:use"), "{who}");
    assert_eq!(
        text(&client.call_tool("token_count", json!({})).await.unwrap()),
        "1"
    );

    // The server ends the access token: the next call meets a 401, and the client
    // refreshes with its refresh token (no new consent) and sends the call again.
    assert_eq!(
        text(
            &client
                .call_tool("expire_access_tokens", json!({}))
                .await
                .unwrap()
        ),
        "ended 1"
    );
    assert_eq!(
        text(&client.call_tool("token_count", json!({})).await.unwrap()),
        "2",
        "a second access token, from the refresh token"
    );
    assert_eq!(browser.visits(), 1, "refreshed, not re-authorized");
    client.close().await.unwrap();
}
