//! OAuth in the CLI: a server that asks for it gets the authorization code flow through
//! the loopback redirect (here with `--no-browser`: the URL is printed, the test is the
//! browser), and the tokens are cached per server in a file only its owner can read.

mod support;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oxmcp::auth_server::{AuthorizationServer, AutoApprove};
use oxmcp::server::auth::{Jwks, JwtVerifier, ProtectedResource};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;
use support::{finish, http, temp_dir, OXMCP};

/// A protected MCP server at `/mcp` whose authorization server (approving every request as
/// `alice`) shares its listener; returns its base URL and the runtime serving it.
fn protected_server() -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let auth = AuthorizationServer::builder(&base)
        .login(AutoApprove::new("alice"))
        .resources([resource.clone()])
        .build()
        .unwrap();
    let keys = Jwks::from_json(&auth.jwks().to_string()).unwrap();
    let verifier = JwtVerifier::new(keys, &base).audience(&resource);
    let protected = ProtectedResource::new(&resource, verifier).authorization_server(&base);
    let metadata = protected.metadata_router();
    let _guard = runtime.enter();
    let mcp = Router::new().into_http_service(HttpConfig::new().auth(protected));
    let app = auth.router().merge(metadata).nest_service("/mcp", mcp);
    runtime.spawn(async move { axum::serve(listener, app).await });
    (base, runtime)
}

/// A browser's GET: the status code and the `Location` header, if any.
fn get(url: &str) -> (u16, Option<String>) {
    let (status, head, _) = http(url, "GET", "");
    let location = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    (status, location)
}

fn oxmcp_listing(url: &str, store: &std::path::Path) -> Command {
    let mut command = Command::new(OXMCP);
    command
        .args(["list", "tools", "--json", "--no-browser", "--url", url])
        .env("NO_COLOR", "1")
        .env("OXMCP_TOKEN_STORE", store)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_server_that_asks_for_oauth_gets_a_login_and_the_tokens_are_cached_per_server() {
    let (base, _runtime) = protected_server();
    let url = format!("{base}/mcp");
    let dir = temp_dir("login");
    let store = dir.join("cache").join("tokens.json");

    // First run: the URL is printed; the test plays the browser.
    let mut child = oxmcp_listing(&url, &store).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    let authorize = loop {
        assert!(Instant::now() < deadline, "no URL printed: {seen}");
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("oxmcp exited without printing a URL: {seen}");
        }
        seen.push_str(&line);
        if let Some(at) = line.find(&format!("{base}/authorize?")) {
            break line[at..].trim().to_owned();
        }
    };
    assert!(seen.contains("sign in"), "{seen}");
    let (status, redirect) = get(&authorize);
    assert!(status == 302 || status == 303, "{status}");
    let redirect = redirect.expect("the authorization server redirects");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    assert!(redirect.contains("code="), "{redirect}");
    let (status, _) = get(&redirect);
    assert_eq!(status, 200, "the loopback listener answers");
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    let output = child.wait_with_output().unwrap();
    let rest = rest.join().unwrap();
    assert!(output.status.success(), "{seen}{rest}");
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]));

    // The tokens are cached under the server's URL, owner-only.
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    assert!(
        cached[&url]["tokens"]["access_token"].is_string(),
        "{cached}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
    }

    // Second run: no login, the cached token is used.
    let second = finish(
        oxmcp_listing(&url, &store).spawn().unwrap(),
        Duration::from_secs(20),
    );
    assert_eq!(second.json(), serde_json::json!([]), "{second:#?}");
    assert!(!second.stderr.contains("sign in"), "{second:#?}");
}

#[test]
fn an_authorization_header_of_the_users_own_skips_the_login() {
    let (base, _runtime) = protected_server();
    let dir = temp_dir("login-header");
    let run = finish(
        oxmcp_listing(&format!("{base}/mcp"), &dir.join("tokens.json"))
            .args(["--header", "Authorization: Bearer not-a-token"])
            .spawn()
            .unwrap(),
        Duration::from_secs(20),
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(!run.stderr.contains("sign in"), "{run:#?}");
    assert!(!dir.join("tokens.json").exists());
}
