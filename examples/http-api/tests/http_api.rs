//! The `http-api` example, run as a process against an issues API the test serves on a
//! loopback port, and spoken to through the oxmcp client.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oxmcp::client::Client;
use oxmcp::protocol::content::ContentBlock;
use oxmcp::transport::stdio::ChildCommand;
use serde_json::{json, Value};

/// The key the test API accepts.
const KEY: &str = "good-key";

/// What the test API saw: each request's arrival and path with query.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Instant, String)>>>);

impl Seen {
    fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p)| p.clone())
            .collect()
    }
    fn times(&self) -> Vec<Instant> {
        self.0.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

fn issue(number: u64) -> Value {
    json!({
        "number": number,
        "title": format!("issue {number}"),
        "state": "open",
        "user": {"login": "octocat", "id": 1},
        "labels": [{"name": "bug", "color": "f00"}],
        "comments": 2,
        "html_url": format!("https://example.com/issues/{number}"),
        "body": "the text",
    })
}

/// `GET /repos/{owner}/{repo}/issues`: the repository's name picks the behaviour.
async fn list(
    Path((_owner, repo)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let host = headers[header::HOST].to_str().unwrap().to_owned();
    match repo.as_str() {
        "huge" => {
            // 64 MiB, chunked: no Content-Length to refuse it up front.
            let chunk = vec![b' '; 64 << 10];
            let chunks = futures_util::stream::iter(
                (0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            Response::new(Body::from_stream(chunks))
        }
        "garbage" => "<html>an error page</html>".into_response(),
        "evil" => {
            let port = host.rsplit(':').next().unwrap();
            let link =
                format!("<http://localhost:{port}/repos/acme/evil/issues?page=2>; rel=\"next\"");
            ([(header::LINK, link)], axum::Json(json!([issue(1)]))).into_response()
        }
        _ => {
            let per_page: u64 = query
                .get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let page: u64 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let total = 250;
            let first = (page - 1) * per_page + 1;
            let items: Vec<Value> = (first..=(first + per_page - 1).min(total))
                .map(issue)
                .collect();
            let mut headers = HeaderMap::new();
            if first + per_page <= total {
                let state = query.get("state").cloned().unwrap_or_default();
                let link = format!(
                    "<http://{host}/repos/acme/{repo}/issues?state={state}&per_page={per_page}&page={}>; rel=\"next\", <http://{host}/repos/acme/{repo}/issues?page=99>; rel=\"last\"",
                    page + 1
                );
                headers.insert(header::LINK, link.parse().unwrap());
            }
            (headers, axum::Json(Value::Array(items))).into_response()
        }
    }
}

/// `GET /repos/{owner}/{repo}/issues/{number}`.
async fn one(
    State(seen): State<Seen>,
    Path((_owner, repo, number)): Path<(String, String, u64)>,
) -> Response {
    match repo.as_str() {
        // Busy on the first request: come back in a second.
        "flaky" if seen.paths().iter().filter(|p| p.contains("flaky")).count() == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response(),
        "down" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "0")],
            "maintenance",
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            axum::Json(issue(number)).into_response()
        }
        _ => axum::Json(issue(number)).into_response(),
    }
}

/// `POST /repos/{owner}/{repo}/issues`.
async fn create(axum::Json(body): axum::Json<Value>) -> Response {
    let mut created = issue(7);
    created["title"] = body["title"].clone();
    created["body"] = body["body"].clone();
    (StatusCode::CREATED, axum::Json(created)).into_response()
}

/// Records every request, then refuses the ones without the key.
async fn gate(State(seen): State<Seen>, request: Request, next: Next) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    seen.0.lock().unwrap().push((Instant::now(), path));
    let headers = request.headers();
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == format!("Bearer {KEY}").as_str())
        || headers.get("x-api-key").is_some_and(|v| v == KEY);
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    }
    next.run(request).await
}

/// Serves the test API on a free loopback port: its base URL and what it sees.
async fn api() -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/repos/{owner}/{repo}/issues", get(list).post(create))
        .route("/repos/{owner}/{repo}/issues/{number}", get(one))
        .layer(axum::middleware::from_fn_with_state(seen.clone(), gate))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn connect(base: &str, key: &str, extra: &[&str]) -> Client {
    let command = ChildCommand::new(env!("CARGO_BIN_EXE_http-api"))
        .arg("--base-url")
        .arg(base)
        .args(extra)
        .env("HTTP_API_KEY", key);
    Client::builder()
        .connect_stdio(command)
        .await
        .expect("connect to the http-api example")
}

fn text(content: &[ContentBlock]) -> String {
    match &content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Calls a tool, expecting success; returns its structured content.
async fn ok(client: &Client, name: &str, args: Value) -> Value {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        !result.is_error(),
        "{name} {args}: {}",
        text(&result.content)
    );
    result.structured_content.expect("structured content")
}

/// Calls a tool, expecting an `isError` result; returns its text.
async fn refused(client: &Client, name: &str, args: Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        result.is_error(),
        "{name} {args} succeeded: {:?}",
        result.content
    );
    text(&result.content)
}

#[tokio::test(flavor = "multi_thread")]
async fn list_issues_folds_every_page_into_one_structured_result() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &[]).await;
    let tools = client.list_all_tools().await.unwrap();
    let list = tools.iter().find(|t| t.name == "list_issues").unwrap();
    assert!(
        list.output_schema.is_some(),
        "list_issues has an output schema"
    );
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["get_issue", "list_issues"],
        "create_issue needs --write"
    );

    let all = ok(
        &client,
        "list_issues",
        json!({"owner": "acme", "repo": "big"}),
    )
    .await;
    let numbers: Vec<u64> = all["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=250).collect::<Vec<_>>());
    assert_eq!(all["pages"], 3);
    assert_eq!(all["truncated"], false);
    assert_eq!(all["issues"][0]["user"], "octocat");
    assert_eq!(all["issues"][0]["labels"], json!(["bug"]));
    assert!(
        all["issues"][0].get("body").is_none(),
        "lists leave the text out"
    );
    let paths = seen.paths();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[0].contains("state=open") && paths[0].contains("per_page=100"));
    assert!(paths[2].contains("page=3"), "{paths:?}");

    let some = ok(
        &client,
        "list_issues",
        json!({"owner": "acme", "repo": "big", "state": "all", "max_items": 120}),
    )
    .await;
    assert_eq!(some["issues"].as_array().unwrap().len(), 120);
    assert_eq!(some["truncated"], true);
    assert_eq!(some["pages"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_pages_caps_the_pages_read() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &["--max-pages", "2"]).await;
    let two = ok(
        &client,
        "list_issues",
        json!({"owner": "acme", "repo": "big"}),
    )
    .await;
    assert_eq!(two["issues"].as_array().unwrap().len(), 200);
    assert_eq!(
        (two["pages"].clone(), two["truncated"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(seen.paths().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_retried_after_the_wait_retry_after_asks_for() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &[]).await;
    let issue = ok(
        &client,
        "get_issue",
        json!({"owner": "acme", "repo": "flaky", "number": 5}),
    )
    .await;
    assert_eq!(issue["number"], 5);
    assert_eq!(issue["body"], "the text");
    let times = seen.times();
    assert_eq!(times.len(), 2, "one refusal, one retry");
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_that_persists_gives_up_after_max_retries() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &["--max-retries", "2"]).await;
    let why = refused(
        &client,
        "get_issue",
        json!({"owner": "acme", "repo": "down", "number": 1}),
    )
    .await;
    assert!(
        why.contains("503") && why.contains("after 2 retries"),
        "{why}"
    );
    assert_eq!(seen.paths().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_a_tool_error_that_says_so_and_is_not_retried() {
    let (base, seen) = api().await;
    let client = connect(&base, "wrong-key", &[]).await;
    let why = refused(
        &client,
        "list_issues",
        json!({"owner": "acme", "repo": "big"}),
    )
    .await;
    assert!(
        why.contains("refused the API key") && why.contains("HTTP_API_KEY"),
        "{why}"
    );
    assert_eq!(seen.paths().len(), 1, "a 401 is not retried");

    // The key from another variable, named by --api-key-env.
    let command = ChildCommand::new(env!("CARGO_BIN_EXE_http-api"))
        .args(["--base-url", &base, "--api-key-env", "TRACKER_TOKEN"])
        .env("TRACKER_TOKEN", KEY)
        .env("HTTP_API_KEY", "wrong-key");
    let client = Client::builder().connect_stdio(command).await.unwrap();
    ok(
        &client,
        "get_issue",
        json!({"owner": "acme", "repo": "x", "number": 1}),
    )
    .await;

    // The key raw in another header.
    let client = connect(&base, KEY, &["--api-key-header", "x-api-key"]).await;
    ok(
        &client,
        "get_issue",
        json!({"owner": "acme", "repo": "x", "number": 1}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_spaces_concurrent_calls() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &["--rate", "10"]).await;
    let calls = (1..=8).map(|n| {
        let client = client.clone();
        async move {
            ok(
                &client,
                "get_issue",
                json!({"owner": "acme", "repo": "x", "number": n}),
            )
            .await
        }
    });
    futures_util::future::join_all(calls).await;
    let times = seen.times();
    assert_eq!(times.len(), 8);
    // At 10 a second, 8 requests span at least 0.7 s; without the limit, a few ms.
    let span = *times.last().unwrap() - times[0];
    assert!(
        span >= Duration::from_millis(600),
        "8 requests within {span:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_api_times_out_with_a_clear_error() {
    let (base, _seen) = api().await;
    let client = connect(&base, KEY, &["--timeout", "1"]).await;
    let started = Instant::now();
    let why = refused(
        &client,
        "get_issue",
        json!({"owner": "acme", "repo": "slow", "number": 1}),
    )
    .await;
    assert!(
        why.contains("did not answer") && why.contains("within 1 s"),
        "{why}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered at the timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_malformed_and_misdirected_answers_are_refused() {
    let (base, _seen) = api().await;
    let client = connect(&base, KEY, &["--max-response-bytes", "100000"]).await;
    let repo = |name: &str| json!({"owner": "acme", "repo": name});
    let why = refused(&client, "list_issues", repo("huge")).await;
    assert!(why.contains("over the limit of 100000 bytes"), "{why}");
    let why = refused(&client, "list_issues", repo("garbage")).await;
    assert!(why.contains("not JSON") && why.contains("<html>"), "{why}");
    let why = refused(&client, "list_issues", repo("evil")).await;
    assert!(
        why.contains("another server") && why.contains("localhost"),
        "{why}"
    );
    let why = refused(
        &client,
        "get_issue",
        json!({"owner": "..", "repo": "secrets", "number": 1}),
    )
    .await;
    assert!(why.contains("not a valid name"), "{why}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_issue_with_write_posts_the_issue() {
    let (base, seen) = api().await;
    let client = connect(&base, KEY, &["--write"]).await;
    let created = ok(
        &client,
        "create_issue",
        json!({"owner": "acme", "repo": "x", "title": "It broke", "body": "details"}),
    )
    .await;
    assert_eq!(
        (created["number"].clone(), created["title"].clone()),
        (json!(7), json!("It broke"))
    );
    assert_eq!(seen.paths(), ["/repos/acme/x/issues"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_operations_are_mounted_beside_the_hand_written_tools() {
    let (base, seen) = api().await;
    let spec = json!({
        "openapi": "3.1.0",
        "info": {"title": "issues", "version": "1"},
        "paths": {"/repos/{owner}/{repo}/issues/{number}": {"get": {
            "operationId": "getIssue",
            "parameters": [
                {"name": "owner", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "repo", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "number", "in": "path", "required": true, "schema": {"type": "integer"}}
            ],
            "responses": {"200": {"description": "the issue", "content": {"application/json": {"schema": {"type": "object"}}}}}
        }}}
    });
    let file = std::env::temp_dir().join(format!("oxmcp-http-api-{}.json", std::process::id()));
    std::fs::write(&file, spec.to_string()).unwrap();
    let client = connect(&base, KEY, &["--openapi", file.to_str().unwrap()]).await;
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.iter().any(|n| n == "api_getIssue"), "{names:?}");
    assert!(names.iter().any(|n| n == "list_issues"), "{names:?}");
    let result = client
        .call_tool(
            "api_getIssue",
            json!({"owner": "acme", "repo": "x", "number": 3}),
        )
        .await
        .unwrap();
    std::fs::remove_file(&file).ok();
    assert!(!result.is_error(), "{}", text(&result.content));
    assert!(
        text(&result.content).contains("issue 3"),
        "the key was sent"
    );
    assert_eq!(seen.paths(), ["/repos/acme/x/issues/3"]);
}
