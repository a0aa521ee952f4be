//! The OAuth client against a small protected MCP server and authorization server in
//! the test (axum on 127.0.0.1): refresh with requests in flight, the loopback redirect,
//! step-up, re-authorization when refresh fails, and DPoP proofs checked by the rules of
//! RFC 9449 §4.3.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oxmcp::client::oauth::{AgentFuture, LoopbackAgent, OAuth, UserAgent};
use oxmcp::client::{Client, HttpClientConfig};
use oxmcp::server::http::{HttpConfig, McpService};
use oxmcp::server::Router;
use serde_json::{json, Value};

mod dpop;

/// A token the authorization server issued.
#[derive(Clone)]
struct Issued {
    scopes: Vec<String>,
    /// The JWK thumbprint a DPoP-bound token is bound to.
    jkt: Option<String>,
}

/// One request to the token endpoint.
#[derive(Clone, Debug)]
struct TokenCall {
    form: HashMap<String, String>,
    dpop: Option<String>,
}

#[derive(Default)]
struct Settings {
    /// `scopes_supported` of the resource.
    scopes: Vec<&'static str>,
    /// Tools that need this scope (403 `insufficient_scope` otherwise).
    write_tool_scope: Option<&'static str>,
    /// Refresh requests are refused with `invalid_grant`.
    refresh_fails: bool,
    /// The authorization server advertises DPoP and binds tokens to the proof's key.
    dpop: bool,
    /// The MCP server wants this DPoP nonce in every proof.
    rs_nonce: Option<&'static str>,
}

struct Server {
    base: String,
    settings: Settings,
    counter: AtomicUsize,
    codes: Mutex<HashMap<String, Vec<String>>>,
    tokens: Mutex<HashMap<String, Issued>>,
    refresh_tokens: Mutex<HashSet<String>>,
    token_calls: Mutex<Vec<TokenCall>>,
    /// The query of every authorization request.
    authorizations: Mutex<Vec<HashMap<String, String>>>,
    /// What the MCP server found wrong with DPoP proofs.
    proof_errors: Mutex<Vec<String>>,
    jtis: Mutex<HashSet<String>>,
    /// MCP requests that carried a valid proof.
    proofs_checked: AtomicUsize,
    nonce_challenged: AtomicBool,
    mcp: McpService,
}

impl Server {
    fn next(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    fn issue(&self, scopes: Vec<String>, jkt: Option<String>) -> Value {
        let access = self.next("at");
        let refresh = self.next("rt");
        let dpop = jkt.is_some();
        self.tokens.lock().unwrap().insert(
            access.clone(),
            Issued {
                scopes: scopes.clone(),
                jkt,
            },
        );
        self.refresh_tokens.lock().unwrap().insert(refresh.clone());
        json!({
            "access_token": access,
            "token_type": if dpop { "DPoP" } else { "Bearer" },
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": scopes.join(" "),
        })
    }

    /// Forgets every access token (as if they had all expired server-side).
    fn revoke_access_tokens(&self) {
        self.tokens.lock().unwrap().clear();
    }

    fn grants(&self, grant: &str) -> usize {
        self.token_calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.form.get("grant_type").map(String::as_str) == Some(grant))
            .count()
    }

    fn challenge(&self, extra: &str) -> String {
        let scheme = if self.settings.dpop { "DPoP" } else { "Bearer" };
        format!(
            "{scheme} resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"{extra}",
            self.base
        )
    }
}

/// A JSON response.
fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The pairs of a query string or form body.
fn pairs(text: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(text).into_owned().collect()
}

fn error(status: StatusCode, www: Option<String>, body: Value) -> Response {
    let mut response = json_response(status, &body);
    if let Some(www) = www {
        response
            .headers_mut()
            .insert("www-authenticate", www.parse().unwrap());
    }
    response
}

async fn prm(State(s): State<Arc<Server>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "resource": format!("{}/mcp", s.base),
            "authorization_servers": [s.base],
            "scopes_supported": s.settings.scopes,
        }),
    )
}

async fn as_metadata(State(s): State<Arc<Server>>) -> Response {
    let mut m = json!({
        "issuer": s.base,
        "authorization_endpoint": format!("{}/authorize", s.base),
        "token_endpoint": format!("{}/token", s.base),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": true,
    });
    if s.settings.dpop {
        m["dpop_signing_alg_values_supported"] = json!(["ES256"]);
    }
    json_response(StatusCode::OK, &m)
}

async fn authorize(State(s): State<Arc<Server>>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.unwrap_or_default().as_bytes());
    let code = s.next("code");
    let scopes = q
        .get("scope")
        .map(|s| s.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    s.codes.lock().unwrap().insert(code.clone(), scopes);
    s.authorizations.lock().unwrap().push(q.clone());
    let mut to = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"])
        .append_pair("iss", &s.base);
    (StatusCode::FOUND, [("location", to.to_string())]).into_response()
}

async fn token(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(&body);
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.token_calls.lock().unwrap().push(TokenCall {
        form: form.clone(),
        dpop: proof.clone(),
    });
    let jkt = match (&proof, s.settings.dpop) {
        (Some(proof), true) => {
            let url = format!("{}/token", s.base);
            match dpop::check(proof, "POST", &url, None) {
                Ok(checked) => Some(checked.jkt),
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        None,
                        json!({"error": "invalid_dpop_proof", "error_description": e}),
                    )
                }
            }
        }
        _ => None,
    };
    let refused = |error: &str| {
        self::error(
            StatusCode::BAD_REQUEST,
            None,
            json!({ "error": error, "error_description": "refused by the test" }),
        )
    };
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(scopes) = s.codes.lock().unwrap().remove(&form["code"]) else {
                return refused("invalid_grant");
            };
            json_response(StatusCode::OK, &s.issue(scopes, jkt))
        }
        Some("refresh_token") => {
            let known = s
                .refresh_tokens
                .lock()
                .unwrap()
                .remove(form.get("refresh_token").map(String::as_str).unwrap_or(""));
            if s.settings.refresh_fails || !known {
                return refused("invalid_grant");
            }
            json_response(StatusCode::OK, &s.issue(vec!["read".into()], jkt))
        }
        _ => refused("unsupported_grant_type"),
    }
}

/// The protected MCP endpoint: checks the token (and its DPoP proof), the scope of
/// `tools/call` on the write tool, then hands the request to the oxmcp service.
async fn mcp(State(s): State<Arc<Server>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let header = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, token) = header.split_once(' ').unwrap_or(("", ""));
    let issued = s.tokens.lock().unwrap().get(token).cloned();
    let Some(issued) = issued else {
        return error(
            StatusCode::UNAUTHORIZED,
            Some(s.challenge("")),
            json!({"error": "invalid_token"}),
        );
    };
    if let Some(jkt) = &issued.jkt {
        let proof = parts.headers.get("dpop").and_then(|v| v.to_str().ok());
        let url = format!("{}{}", s.base, parts.uri);
        let checked = match (scheme, proof) {
            ("DPoP", Some(proof)) => dpop::check(proof, parts.method.as_str(), &url, Some(token)),
            _ => Err(format!("scheme {scheme:?} without a DPoP proof")),
        };
        let checked = match checked {
            Ok(c) if &c.jkt == jkt => c,
            Ok(_) => {
                let e = "the proof's key is not the one the token is bound to".to_owned();
                s.proof_errors.lock().unwrap().push(e);
                dpop::Checked::default()
            }
            Err(e) => {
                s.proof_errors.lock().unwrap().push(e);
                dpop::Checked::default()
            }
        };
        if !checked.jti.is_empty() && !s.jtis.lock().unwrap().insert(checked.jti.clone()) {
            s.proof_errors
                .lock()
                .unwrap()
                .push(format!("jti {} used twice", checked.jti));
        }
        if let Some(nonce) = s.settings.rs_nonce {
            if checked.nonce.as_deref() != Some(nonce) {
                s.nonce_challenged.store(true, Ordering::Relaxed);
                let mut r = error(
                    StatusCode::UNAUTHORIZED,
                    Some(s.challenge(", error=\"use_dpop_nonce\"")),
                    json!({"error": "use_dpop_nonce"}),
                );
                r.headers_mut().insert("dpop-nonce", nonce.parse().unwrap());
                return r;
            }
        }
        s.proofs_checked.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(scope) = s.settings.write_tool_scope {
        let message: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if message["method"] == "tools/call"
            && message["params"]["name"] == "write"
            && !issued.scopes.iter().any(|x| x == scope)
        {
            let needed = format!("{} {scope}", issued.scopes.join(" "));
            return error(
                StatusCode::FORBIDDEN,
                Some(s.challenge(&format!(
                    ", error=\"insufficient_scope\", scope=\"{}\"",
                    needed.trim()
                ))),
                json!({"error": "insufficient_scope"}),
            );
        }
    }
    s.mcp
        .handle(Request::from_parts(parts, Body::from(bytes)))
        .await
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "slow done"
}

async fn start(settings: Settings) -> Arc<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .tool("echo", || async { "echo" })
        .tool("write", || async { "written" })
        .tool("slow", slow);
    let server = Arc::new(Server {
        base,
        settings,
        counter: AtomicUsize::new(0),
        codes: Mutex::default(),
        tokens: Mutex::default(),
        refresh_tokens: Mutex::default(),
        token_calls: Mutex::default(),
        authorizations: Mutex::default(),
        proof_errors: Mutex::default(),
        jtis: Mutex::default(),
        proofs_checked: AtomicUsize::new(0),
        nonce_challenged: AtomicBool::new(false),
        mcp: router.into_http_service(HttpConfig::new().disable_host_check()),
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            axum::routing::get(prm),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            axum::routing::get(as_metadata),
        )
        .route("/authorize", axum::routing::get(authorize))
        .route("/token", axum::routing::post(token))
        .route("/mcp", axum::routing::any(mcp))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    server
}

/// A browser whose user approves at once: it opens the URL and returns the redirect.
struct Browser;

impl UserAgent for Browser {
    fn redirect_uri(&self) -> String {
        "http://127.0.0.1:1/callback".to_owned()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        Box::pin(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let response = http.get(url).send().await.unwrap();
            Ok(response.headers()["location"].to_str().unwrap().to_owned())
        })
    }
}

async fn connect(server: &Server, oauth: OAuth) -> Client {
    let config = HttpClientConfig::new(format!("{}/mcp", server.base)).oauth(oauth);
    tokio::time::timeout(
        Duration::from_secs(10),
        Client::builder().connect_http_with(config),
    )
    .await
    .expect("connected within 10 s")
    .expect("connected")
}

fn text(result: &oxmcp::protocol::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn client_id() -> OAuth {
    OAuth::authorization_code(Browser).client_id("test-client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_mid_session_refreshes_once_and_retries_every_request_in_flight() {
    let server = start(Settings::default()).await;
    let client = Arc::new(connect(&server, client_id()).await);
    assert_eq!(
        text(&client.call_tool("echo", json!({})).await.unwrap()),
        "echo"
    );
    assert_eq!(server.authorizations.lock().unwrap().len(), 1);

    // A request already past the check, then the tokens die and five more start at once.
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.call_tool("slow", json!({})).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.revoke_access_tokens();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call_tool("echo", json!({})).await })
        })
        .collect();
    for call in calls {
        let result = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("answered within 5 s")
            .unwrap()
            .expect("retried after the refresh");
        assert_eq!(text(&result), "echo");
    }
    assert_eq!(text(&slow.await.unwrap().unwrap()), "slow done");
    assert_eq!(server.grants("refresh_token"), 1, "one refresh for all");
    assert_eq!(
        server.authorizations.lock().unwrap().len(),
        1,
        "no new consent"
    );
}

/// The loopback agent, with a "browser" that follows the authorization server's redirect
/// to it.
struct FollowingBrowser(LoopbackAgent);

impl UserAgent for FollowingBrowser {
    fn redirect_uri(&self) -> String {
        self.0.redirect_uri()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        let url_owned = url.to_owned();
        tokio::spawn(async move {
            let page = reqwest::get(url_owned).await.unwrap();
            assert_eq!(page.status(), 200, "the loopback page answers");
        });
        self.0.authorize(url)
    }
}

#[tokio::test]
async fn the_loopback_agent_receives_the_redirect() {
    let server = start(Settings::default()).await;
    let agent = LoopbackAgent::bind(0).await.unwrap().open_browser(false);
    let redirect = agent.redirect_uri();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let oauth = OAuth::authorization_code(FollowingBrowser(agent)).client_id("test-client");
    let client = connect(&server, oauth).await;
    assert_eq!(
        text(&client.call_tool("echo", json!({})).await.unwrap()),
        "echo"
    );
    let authorizations = server.authorizations.lock().unwrap().clone();
    assert_eq!(authorizations.len(), 1);
    assert_eq!(authorizations[0]["redirect_uri"], redirect);
    assert_eq!(server.grants("authorization_code"), 1);
}

#[tokio::test]
async fn step_up_asks_for_the_scopes_held_and_those_challenged() {
    let server = start(Settings {
        scopes: vec!["read"],
        write_tool_scope: Some("write"),
        ..Settings::default()
    })
    .await;
    let client = connect(&server, client_id()).await;
    assert_eq!(
        text(&client.call_tool("echo", json!({})).await.unwrap()),
        "echo"
    );
    assert_eq!(
        text(&client.call_tool("write", json!({})).await.unwrap()),
        "written"
    );
    let authorizations = server.authorizations.lock().unwrap().clone();
    assert_eq!(authorizations.len(), 2, "one step-up");
    assert_eq!(authorizations[0]["scope"], "read");
    let stepped: HashSet<&str> = authorizations[1]["scope"].split(' ').collect();
    assert_eq!(stepped, HashSet::from(["read", "write"]));
}

#[tokio::test]
async fn a_refused_refresh_authorizes_again() {
    let server = start(Settings {
        refresh_fails: true,
        ..Settings::default()
    })
    .await;
    let client = connect(&server, client_id()).await;
    server.revoke_access_tokens();
    assert_eq!(
        text(&client.call_tool("echo", json!({})).await.unwrap()),
        "echo"
    );
    assert_eq!(server.grants("refresh_token"), 1, "refresh was tried first");
    assert_eq!(
        server.authorizations.lock().unwrap().len(),
        2,
        "then consent again"
    );
    assert_eq!(server.grants("authorization_code"), 2);
}

#[tokio::test]
async fn dpop_proofs_follow_rfc_9449_on_token_and_mcp_requests() {
    let server = start(Settings {
        dpop: true,
        rs_nonce: Some("rs-nonce-1"),
        ..Settings::default()
    })
    .await;
    let client = connect(&server, client_id().dpop(true)).await;
    for _ in 0..3 {
        assert_eq!(
            text(&client.call_tool("echo", json!({})).await.unwrap()),
            "echo"
        );
    }
    // Refresh: the new token is bound to the same key, proven again at the token endpoint.
    server.revoke_access_tokens();
    assert_eq!(
        text(&client.call_tool("echo", json!({})).await.unwrap()),
        "echo"
    );

    let errors = server.proof_errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(server.nonce_challenged.load(Ordering::Relaxed));
    assert!(server.proofs_checked.load(Ordering::Relaxed) >= 4);
    let calls = server.token_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let keys: HashSet<String> = calls
        .iter()
        .map(|c| {
            let proof = c.dpop.as_deref().expect("a proof on every token request");
            dpop::check(proof, "POST", &format!("{}/token", server.base), None)
                .unwrap()
                .jkt
        })
        .collect();
    assert_eq!(keys.len(), 1, "one key for the connection");
}

/// Client OAuth failures are typed: the step, the URL and the RFC 6749 error code.
#[tokio::test]
async fn a_refused_token_request_is_a_typed_token_endpoint_error() {
    let server = start(Settings::default()).await;
    let config = HttpClientConfig::new(format!("{}/mcp", server.base))
        .oauth(OAuth::client_credentials("svc", "s3cret"));
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        Client::builder().connect_http_with(config),
    )
    .await
    .expect("answered within 10 s")
    .expect_err("the test's token endpoint refuses client_credentials");
    match error.oauth_error() {
        Some(oxmcp::OAuthError::TokenEndpoint {
            url,
            error: Some(code),
            message,
        }) => {
            assert_eq!(url, &format!("{}/token", server.base));
            assert_eq!(code, "unsupported_grant_type");
            assert!(message.contains("refused with HTTP 400"), "{message}");
        }
        other => panic!("expected a token endpoint error, got {other:?} ({error})"),
    }
}
