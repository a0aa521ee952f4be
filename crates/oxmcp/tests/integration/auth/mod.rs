//! The resource server (feature `auth`): verifiers, challenges, metadata, sessions bound to
//! their subject, and the hostile tokens. Tokens are signed here with keys generated here;
//! a tiny in-test authorization server publishes the key set and answers introspection.

mod keys;
mod tasks;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::server::auth::{
    AnyOf, ApiKeys, Auth, AuthError, BoxFuture, Introspection, Jwks, JwtVerifier,
    ProtectedResource, TokenVerifier,
};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;
use serde_json::{json, Value};

use crate::support::modern_meta;
use keys::{claims, now, TestKey};

// ------------------------------------------------------------ the in-test issuer

/// A stand-in authorization server: metadata, a key set that tests change, introspection.
#[derive(Clone)]
struct Issuer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    introspections: Arc<AtomicUsize>,
    /// Token -> introspection answer.
    tokens: Arc<Mutex<HashMap<String, Value>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Issuer {
    async fn start(keys: Vec<Value>) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Issuer {
            url: url.clone(),
            keys: Arc::new(Mutex::new(keys)),
            fetches: Arc::default(),
            introspections: Arc::default(),
            tokens: Arc::default(),
            delay: Arc::default(),
        };
        let metadata = json!({"issuer": url, "jwks_uri": format!("{url}/jwks"),
            "introspection_endpoint": format!("{url}/introspect")});
        let (jwks, introspect) = (issuer.clone(), issuer.clone());
        let app = axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                axum::routing::get(move || async move { json_answer(metadata) }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || async move {
                    jwks.fetches.fetch_add(1, Ordering::SeqCst);
                    let delay = *jwks.delay.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    let keys = jwks.keys.lock().unwrap().clone();
                    json_answer(json!({ "keys": keys }))
                }),
            )
            .route(
                "/introspect",
                axum::routing::post(move |headers: http::HeaderMap, body: String| async move {
                    introspect.introspections.fetch_add(1, Ordering::SeqCst);
                    // client_secret_basic: "rs:rs-secret"
                    let expected = "Basic cnM6cnMtc2VjcmV0";
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected)
                    {
                        return (
                            http::StatusCode::UNAUTHORIZED,
                            json_answer(json!({"error": "invalid_client"})),
                        );
                    }
                    let token = form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let answer = introspect.tokens.lock().unwrap().get(&token).cloned();
                    (
                        http::StatusCode::OK,
                        json_answer(answer.unwrap_or(json!({"active": false}))),
                    )
                }),
            );
        tokio::spawn(axum::serve(listener, app).into_future());
        issuer
    }
}

/// A JSON answer of the in-test issuer.
fn json_answer(value: Value) -> ([(http::HeaderName, &'static str); 1], String) {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
}

// ------------------------------------------------------------ the server under test

async fn whoami(auth: Auth) -> String {
    format!("{} [{}]", auth.subject(), auth.scopes().join(" "))
}

async fn maybe(auth: Option<Auth>) -> String {
    auth.map_or_else(|| "anonymous".to_owned(), |a| a.subject().to_owned())
}

fn router() -> Router {
    Router::new()
        .name("auth-test")
        .tool("whoami", whoami)
        .tool("maybe", maybe)
}

/// The MCP server at `http://{addr}/mcp`, protected by what `protect` makes of its
/// resource URI.
async fn serve(protect: impl FnOnce(&str) -> ProtectedResource) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resource = protect(&format!("http://{addr}/mcp"));
    spawn_protected(router(), listener, resource)
}

/// A server whose tokens are JWTs of `issuer` (keys by discovery), audience its own URL.
async fn serve_jwt(issuer: &Issuer, jwks: impl FnOnce(Jwks) -> Jwks) -> SocketAddr {
    let iss = issuer.url.clone();
    serve(move |resource| {
        let verifier = JwtVerifier::new(jwks(Jwks::discover(&iss)), &iss).audience(resource);
        ProtectedResource::new(resource, verifier).authorization_server(&iss)
    })
    .await
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A modern `tools/call` of `tool`, with `token` if any.
async fn call_modern(addr: SocketAddr, token: Option<&str>, tool: &str) -> reqwest::Response {
    let params = json!({"name": tool, "arguments": {}});
    post_modern(addr, token, "tools/call", Some(tool), params).await
}

/// Serves `router` on `listener`, guarded by `resource`, in the background.
fn spawn_protected(
    router: Router,
    listener: tokio::net::TcpListener,
    resource: ProtectedResource,
) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    let serve = router
        .http_on(listener)
        .config(HttpConfig::new().auth(resource))
        .no_signal_handlers();
    tokio::spawn(serve.into_future());
    addr
}

/// A modern request: `params` get the `_meta` (unless they have one), the headers name
/// `method` (and `name`).
async fn post_modern(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    name: Option<&str>,
    mut params: Value,
) -> reqwest::Response {
    if params.get("_meta").is_none() {
        params["_meta"] = modern_meta();
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut request = http()
        .post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(name) = name {
        request = request.header("mcp-name", name);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A legacy request; returns the response.
async fn legacy(
    addr: SocketAddr,
    token: Option<&str>,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = http()
        .post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    request.send().await.unwrap()
}

/// Opens a legacy session with `token`; its id.
async fn initialize(addr: SocketAddr, token: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let response = legacy(addr, Some(token), None, init).await;
    assert_eq!(response.status(), 200);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    legacy(addr, Some(token), Some(&session), initialized).await;
    session
}

/// The text of a tool result in a JSON response.
async fn text(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{body}");
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {body}"))
        .to_owned()
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// ------------------------------------------------------------ tests

#[tokio::test]
async fn metadata_is_served_cacheable_and_cors_readable() {
    let issuer = Issuer::start(vec![]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let response = http()
        .get(format!(
            "http://{addr}/.well-known/oauth-protected-resource/mcp"
        ))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let document: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(document["resource"], format!("http://{addr}/mcp"));
    assert_eq!(document["authorization_servers"], json!([issuer.url]));
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
}

#[tokio::test]
async fn no_token_gets_the_challenge_that_names_the_metadata() {
    let issuer = Issuer::start(vec![]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let response = call_modern(addr, None, "whoami").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"http://{addr}/.well-known/oauth-protected-resource/mcp\""
        )
    );
    // GET and DELETE too.
    let get = http()
        .get(format!("http://{addr}/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let token = key.sign(&claims(
        &issuer.url,
        &format!("http://{addr}/mcp"),
        "alice",
        "",
    ));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}, "_meta": modern_meta()}});
    let response = http()
        .post(format!("http://{addr}/mcp?access_token={token}"))
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "whoami")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_valid_jwt_reaches_the_handler_in_both_eras() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let audience = format!("http://{addr}/mcp");
    let token = key.sign(&claims(
        &issuer.url,
        &audience,
        "alice",
        "notes:read notes:write",
    ));
    let modern = call_modern(addr, Some(&token), "whoami").await;
    assert_eq!(text(modern).await, "alice [notes:read notes:write]");

    let session = initialize(addr, &token).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let response = legacy(addr, Some(&token), Some(&session), call.clone()).await;
    assert_eq!(text(response).await, "alice [notes:read notes:write]");
    // The session needs the token on every request.
    let response = legacy(addr, None, Some(&session), call).await;
    assert_eq!(response.status(), 401);
    // One fetch of the key set served every verification.
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_rs256_token_verifies_and_hs256_with_the_public_key_does_not() {
    let key = TestKey::rs256();
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let audience = format!("http://{addr}/mcp");
    let good = key.sign(&claims(&issuer.url, &audience, "alice", "notes:read"));
    assert_eq!(
        text(call_modern(addr, Some(&good), "whoami").await).await,
        "alice [notes:read]"
    );
    // The classic confusion: HS256 with the RSA public key as the shared secret.
    let forged = keys::hs256(
        &key.public_der,
        "rsa",
        &claims(&issuer.url, &audience, "mallory", "notes:admin"),
    );
    let response = call_modern(addr, Some(&forged), "whoami").await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn hostile_tokens_are_refused_with_the_reason() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j.refresh_interval(Duration::from_secs(3600))).await;
    let aud = format!("http://{addr}/mcp");
    let iss = issuer.url.clone();
    let base = claims(&iss, &aud, "alice", "notes:read");
    let with = |patch: Value| {
        let mut c = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // A key of our own with the issuer's kid: the signature does not verify.
    let impostor = TestKey::es256("k1");
    let other_kid = TestKey::es256("k2");
    let cases: Vec<(&str, String, &str)> = vec![
        ("forged signature", impostor.sign(&base), "signature"),
        (
            "expired",
            key.sign(&with(json!({"exp": now() - 3600}))),
            "expired",
        ),
        (
            "not yet valid",
            key.sign(&with(json!({"nbf": now() + 3600}))),
            "not valid yet",
        ),
        (
            "wrong issuer",
            key.sign(&with(json!({"iss": "https://evil.example"}))),
            "issuer",
        ),
        (
            "token for another resource",
            key.sign(&with(json!({"aud": "http://127.0.0.1:1/mcp"}))),
            "another resource",
        ),
        (
            "alg none",
            keys::unsigned(&json!({"alg": "none", "typ": "at+jwt", "kid": "k1"}), &base),
            "header",
        ),
        ("unknown kid", other_kid.sign(&base), "no key \\\"k2\\\""),
        (
            "not an access token",
            {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some("k1".into());
                header.typ = Some("id_token+jwt".into());
                jsonwebtoken::encode(&header, &base, &key.encoding).unwrap()
            },
            "typ",
        ),
        ("garbage", "not-a-token".to_owned(), "not recognized"),
    ];
    for (what, token, reason) in cases {
        let response = call_modern(addr, Some(&token), "whoami").await;
        assert_eq!(response.status(), 401, "{what}");
        let header = challenge(&response);
        assert!(
            header.contains("error=\"invalid_token\""),
            "{what}: {header}"
        );
        assert!(header.contains(reason), "{what}: {header}");
        assert!(header.contains("resource_metadata=\""), "{what}: {header}");
    }
    // The unknown kid made one more fetch at most (then the rate limit holds).
    assert!(issuer.fetches.load(Ordering::SeqCst) <= 2);
}

/// Counts what reaches it; accepts nothing.
struct Counting(Arc<AtomicUsize>);

impl TokenVerifier for Counting {
    fn verify<'a>(&'a self, _token: &'a str) -> BoxFuture<'a, Result<Auth, AuthError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(AuthError::Unrecognized) })
    }
}

#[tokio::test]
async fn an_oversized_token_is_refused_before_any_parsing() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let addr = serve(move |resource| {
        ProtectedResource::new(resource, Counting(counter)).max_token_len(4096)
    })
    .await;
    let huge = "a".repeat(5000);
    let response = call_modern(addr, Some(&huge), "whoami").await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("longer than 4096 bytes"));
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    call_modern(addr, Some("short"), "whoami").await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_session_is_bound_to_the_subject_that_opened_it() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j).await;
    let aud = format!("http://{addr}/mcp");
    let alice = key.sign(&claims(&issuer.url, &aud, "alice", ""));
    let bob = key.sign(&claims(&issuer.url, &aud, "bob", ""));
    let session = initialize(addr, &alice).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let hijack = legacy(addr, Some(&bob), Some(&session), call.clone()).await;
    assert_eq!(hijack.status(), 403);
    assert!(hijack.text().await.unwrap().contains("another subject"));
    let get = http()
        .get(format!("http://{addr}/mcp"))
        .bearer_auth(&bob)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 403);
    // A fresh token of alice's still works.
    let again = key.sign(&claims(&issuer.url, &aud, "alice", "notes:read"));
    let response = legacy(addr, Some(&again), Some(&session), call).await;
    assert_eq!(text(response).await, "alice [notes:read]");
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_key_set_at_most_so_often() {
    let first = TestKey::es256("a");
    let issuer = Issuer::start(vec![first.jwk.clone()]).await;
    let addr = serve_jwt(&issuer, |j| j.refresh_interval(Duration::from_millis(300))).await;
    let aud = format!("http://{addr}/mcp");
    let token = first.sign(&claims(&issuer.url, &aud, "alice", ""));
    assert_eq!(
        text(call_modern(addr, Some(&token), "whoami").await).await,
        "alice []"
    );
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);

    // The issuer rotates in a new key.
    let rotated = TestKey::es256("b");
    issuer.keys.lock().unwrap().push(rotated.jwk.clone());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let token = rotated.sign(&claims(&issuer.url, &aud, "bob", ""));
    assert_eq!(
        text(call_modern(addr, Some(&token), "whoami").await).await,
        "bob []"
    );
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);

    // Another unknown kid right away: no fetch (rate limit), refused.
    let stranger = TestKey::es256("c");
    let token = stranger.sign(&claims(&issuer.url, &aud, "carol", ""));
    for _ in 0..3 {
        let response = call_modern(addr, Some(&token), "whoami").await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_slow_key_set_does_not_hold_requests_past_the_timeout() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    *issuer.delay.lock().unwrap() = Duration::from_secs(5);
    let addr = serve_jwt(&issuer, |j| j.timeout(Duration::from_millis(200))).await;
    let token = key.sign(&claims(
        &issuer.url,
        &format!("http://{addr}/mcp"),
        "alice",
        "",
    ));
    let response = tokio::time::timeout(
        Duration::from_secs(3),
        call_modern(addr, Some(&token), "whoami"),
    )
    .await
    .expect("answered within 3 s");
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn keys_from_a_file_and_from_a_url() {
    let key = TestKey::es256("f1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let path = std::env::temp_dir().join(format!("oxmcp-jwks-{}.json", std::process::id()));
    std::fs::write(&path, json!({"keys": [key.jwk]}).to_string()).unwrap();
    for source in [path.display().to_string(), format!("{}/jwks", issuer.url)] {
        let iss = issuer.url.clone();
        let addr = serve(move |resource| {
            let jwks = Jwks::from_path_or_url(&source).unwrap();
            ProtectedResource::new(resource, JwtVerifier::new(jwks, &iss).audience(resource))
        })
        .await;
        let token = key.sign(&claims(
            &issuer.url,
            &format!("http://{addr}/mcp"),
            "alice",
            "",
        ));
        assert_eq!(
            text(call_modern(addr, Some(&token), "whoami").await).await,
            "alice []"
        );
    }
    let _ = std::fs::remove_file(path);
    assert!(Jwks::from_file("/nonexistent/jwks.json").is_err());
    assert!(Jwks::from_json("{\"nokeys\": 1}").is_err());
}

#[tokio::test]
async fn introspection_with_client_authentication_and_a_cache() {
    let issuer = Issuer::start(vec![]).await;
    let endpoint = format!("{}/introspect", issuer.url);
    let addr = serve({
        let endpoint = endpoint.clone();
        move |resource| {
            let verifier = Introspection::new(&endpoint, "rs", "rs-secret").audience(resource);
            ProtectedResource::new(resource, verifier)
        }
    })
    .await;
    let aud = format!("http://{addr}/mcp");
    issuer.tokens.lock().unwrap().extend([
        (
            "opaque-alice".to_owned(),
            json!({"active": true, "sub": "alice", "scope": "notes:read", "aud": aud,
                "exp": now() + 600, "client_id": "c"}),
        ),
        (
            "opaque-elsewhere".to_owned(),
            json!({"active": true, "sub": "alice", "aud": "https://other.example/mcp"}),
        ),
    ]);
    for _ in 0..3 {
        let response = call_modern(addr, Some("opaque-alice"), "whoami").await;
        assert_eq!(text(response).await, "alice [notes:read]");
    }
    assert_eq!(issuer.introspections.load(Ordering::SeqCst), 1, "cached");
    let inactive = call_modern(addr, Some("opaque-unknown"), "whoami").await;
    assert_eq!(inactive.status(), 401);
    assert!(challenge(&inactive).contains("not active"));
    let elsewhere = call_modern(addr, Some("opaque-elsewhere"), "whoami").await;
    assert_eq!(elsewhere.status(), 401);

    // Wrong client credentials: the verifier cannot decide, 503.
    let addr = serve(move |resource| {
        ProtectedResource::new(resource, Introspection::new(&endpoint, "rs", "wrong"))
    })
    .await;
    let response = call_modern(addr, Some("opaque-alice"), "whoami").await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn api_keys_and_composition() {
    let key = TestKey::es256("k1");
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let iss = issuer.url.clone();
    let addr = serve(move |resource| {
        let keys =
            ApiKeys::from_json(r#"{"k-bot": {"sub": "bot", "scopes": ["notes:read"]}}"#).unwrap();
        let jwt = JwtVerifier::new(Jwks::discover(&iss), &iss).audience(resource);
        ProtectedResource::new(resource, AnyOf::new().or(keys).or(jwt))
    })
    .await;
    let response = call_modern(addr, Some("k-bot"), "whoami").await;
    assert_eq!(text(response).await, "bot [notes:read]");
    let token = key.sign(&claims(
        &issuer.url,
        &format!("http://{addr}/mcp"),
        "alice",
        "",
    ));
    assert_eq!(
        text(call_modern(addr, Some(&token), "whoami").await).await,
        "alice []"
    );
    let response = call_modern(addr, Some("k-bo"), "whoami").await;
    assert_eq!(response.status(), 401);
    assert!(ApiKeys::from_json("[1]").is_err());
}

#[tokio::test]
async fn optional_auth_lets_anonymous_callers_through() {
    let addr = serve(|resource| {
        let keys = ApiKeys::new().key("k", Auth::new("alice"));
        ProtectedResource::new(resource, keys).optional()
    })
    .await;
    assert_eq!(
        text(call_modern(addr, None, "maybe").await).await,
        "anonymous"
    );
    assert_eq!(
        text(call_modern(addr, Some("k"), "maybe").await).await,
        "alice"
    );
    // A token that is sent must be valid.
    assert_eq!(call_modern(addr, Some("nope"), "maybe").await.status(), 401);
    // `Auth` (not optional) without a token: the tool fails, saying why.
    let response = call_modern(addr, None, "whoami").await;
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(body.to_string().contains("authenticated caller"), "{body}");
}

#[tokio::test]
async fn mounted_in_axum_with_the_metadata_route() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resource = ProtectedResource::new(
        format!("http://{addr}/mcp"),
        ApiKeys::new().key("k", Auth::new("alice")),
    );
    let mcp = router().into_http_service(HttpConfig::new().auth(resource.clone()));
    let app = axum::Router::new()
        .nest_service("/mcp", mcp)
        .merge(resource.metadata_router());
    tokio::spawn(axum::serve(listener, app).into_future());
    let metadata = http()
        .get(format!(
            "http://{addr}/.well-known/oauth-protected-resource/mcp"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    assert_eq!(call_modern(addr, None, "whoami").await.status(), 401);
    assert_eq!(
        text(call_modern(addr, Some("k"), "whoami").await).await,
        "alice []"
    );
}

// ------------------------------------------------------------ scopes

async fn add() -> &'static str {
    "added"
}

async fn list() -> &'static str {
    "listed"
}

async fn secret() -> &'static str {
    "classified"
}

/// A notes-like server guarded by scopes, API keys `reader`, `writer`, `admin`.
async fn serve_scoped(optional: bool) -> SocketAddr {
    use oxmcp::server::auth::{ScopePolicy, Target};
    use oxmcp::server::tool;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keys = ApiKeys::new()
        .key("reader", Auth::new("rita").with_scopes(["notes:read"]))
        .key("writer", Auth::new("will").with_scopes(["notes:write"]))
        .key("admin", Auth::new("ada").with_scopes(["notes:admin"]));
    let mut resource = ProtectedResource::new(format!("http://{addr}/mcp"), keys);
    if optional {
        resource = resource.optional();
    }
    let policy = ScopePolicy::new()
        .default_scopes(["notes:read"])
        .implies("notes:admin", ["notes:write"])
        .implies("notes:write", ["notes:read"])
        .check(|auth, target| target != Target::Tool("whoami") || auth.subject() != "will");
    let router = Router::new()
        .scope_policy(policy)
        .tool("add", tool(add).scopes(["notes:write"]))
        .tool("list", list)
        .tool("whoami", whoami)
        .resource_template(
            "secret://{id}",
            oxmcp::server::resource(secret).scopes(["notes:admin"]),
        );
    spawn_protected(router, listener, resource)
}

#[tokio::test]
async fn a_missing_scope_gets_the_step_up_challenge_in_both_eras() {
    let addr = serve_scoped(false).await;
    // No token at all: the challenge names what the target needs.
    let response = call_modern(addr, None, "add").await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).ends_with(", scope=\"notes:write\""));
    let response = call_modern(addr, None, "list").await;
    assert!(challenge(&response).ends_with(", scope=\"notes:read\""));
    // A template's scopes, found from the URI.
    let read = |token| {
        let uri = "secret://7";
        post_modern(
            addr,
            token,
            "resources/read",
            Some(uri),
            json!({"uri": uri}),
        )
    };
    assert!(challenge(&read(None).await).ends_with(", scope=\"notes:admin\""));
    let response = read(Some("writer")).await;
    assert_eq!(response.status(), 403);
    assert!(challenge(&response).ends_with("scope=\"notes:admin\""));
    assert_eq!(read(Some("admin")).await.status(), 200);
    let response = call_modern(addr, Some("reader"), "add").await;
    assert_eq!(response.status(), 403);
    let header = challenge(&response);
    assert!(
        header.contains("error=\"insufficient_scope\", scope=\"notes:write\""),
        "{header}"
    );
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], -32043, "{body}");
    assert_eq!(body["error"]["data"]["scopes"], json!(["notes:write"]));

    // The hierarchy: admin implies write implies read.
    assert_eq!(
        text(call_modern(addr, Some("admin"), "add").await).await,
        "added"
    );
    assert_eq!(
        text(call_modern(addr, Some("writer"), "list").await).await,
        "listed"
    );
    // The router's default scope.
    assert_eq!(
        text(call_modern(addr, Some("reader"), "list").await).await,
        "listed"
    );

    // The legacy era.
    let session = initialize(addr, "reader").await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "add", "arguments": {}}});
    let response = legacy(addr, Some("reader"), Some(&session), call).await;
    assert_eq!(response.status(), 403);
    assert!(challenge(&response).contains("scope=\"notes:write\""));
}

#[tokio::test]
async fn an_anonymous_caller_is_told_the_scope_and_the_check_hook_refuses() {
    let addr = serve_scoped(true).await;
    let response = call_modern(addr, None, "add").await;
    assert_eq!(response.status(), 401);
    let header = challenge(&response);
    assert!(
        header.starts_with("Bearer resource_metadata=\""),
        "{header}"
    );
    assert!(header.contains("scope=\"notes:write\""), "{header}");
    // The per-item check: will may not use whoami, though his scopes suffice.
    let response = call_modern(addr, Some("writer"), "whoami").await;
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], -32044, "{body}");
    assert_eq!(
        text(call_modern(addr, Some("reader"), "whoami").await).await,
        "rita [notes:read]"
    );
}

#[tokio::test]
async fn without_http_the_error_names_the_missing_scope() {
    use oxmcp::server::tool;
    // A layer supplies the caller, as a stdio server reading a key from its environment
    // might.
    #[derive(Clone)]
    struct Caller;
    impl<S> tower::Layer<S> for Caller {
        type Service = tower::util::MapRequest<
            S,
            fn(oxmcp::server::middleware::McpRequest) -> oxmcp::server::middleware::McpRequest,
        >;
        fn layer(&self, inner: S) -> Self::Service {
            tower::util::MapRequest::new(
                inner,
                |mut request: oxmcp::server::middleware::McpRequest| {
                    request
                        .extensions_mut()
                        .insert(Auth::new("rita").with_scopes(["notes:read"]));
                    request
                },
            )
        }
    }
    let router = Router::new()
        .layer(Caller)
        .tool("add", tool(add).scopes(["notes:write"]));
    let (client, _tap) = crate::support::checked(router, crate::support::legacy()).await;
    let error = client
        .call_tool("add", json!({}))
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("notes:write"), "{text}");
}

#[tokio::test]
async fn listings_show_only_what_the_caller_may_use() {
    let addr = serve_scoped(false).await;
    let list = |token: &'static str| async move {
        let response = post_modern(addr, Some(token), "tools/list", None, json!({})).await;
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        let mut names: Vec<String> = body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(list("reader").await, ["list", "whoami"]);
    // will (writer) may not use whoami (the check hook); admin sees everything.
    assert_eq!(list("writer").await, ["add", "list"]);
    assert_eq!(list("admin").await, ["add", "list", "whoami"]);
}

/// A `401` for an invalid token names the scopes the target needs, as one without a token
/// does (MCP authorization: `scope` in the challenge, RFC 6750 §3).
#[tokio::test]
async fn an_invalid_token_challenge_names_the_scopes_needed() {
    let addr = serve_scoped(false).await;
    let response = call_modern(addr, Some("not-a-key"), "add").await;
    assert_eq!(response.status(), 401);
    let header = challenge(&response);
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    assert!(header.ends_with(", scope=\"notes:write\""), "{header}");
    // The router's default scope, for a tool without its own.
    let header = challenge(&call_modern(addr, Some("not-a-key"), "list").await);
    assert!(header.ends_with(", scope=\"notes:read\""), "{header}");

    // A target that needs no scope: no `scope`, so a client falls back to the metadata's
    // scopes_supported or the scopes it was configured with.
    let addr = serve(|resource| {
        ProtectedResource::new(resource, ApiKeys::new().key("k", Auth::new("kim")))
            .scopes_supported(["mcp:use", "mcp:admin"])
    })
    .await;
    for token in [Some("not-a-key"), None] {
        let response = call_modern(addr, token, "whoami").await;
        assert_eq!(response.status(), 401);
        let header = challenge(&response);
        assert!(!header.contains("scope="), "{token:?}: {header}");
    }
}
