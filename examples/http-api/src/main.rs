//! `http-api`: the course's API-integration server (chapter 10). Wraps a REST API with a
//! GitHub-style issues shape as MCP tools: retries with backoff, a client-side rate limit,
//! pagination folded into one result, the API key from the environment.
//!
//! ```text
//! http-api [--base-url URL] [--api-key-env NAME] [--api-key-header NAME] [--write]
//!          [--rate N] [--max-retries N] [--max-pages N] [--timeout SECS]
//!          [--max-response-bytes N] [--openapi FILE] [--http ADDR]
//! ```
//!
//! Tools: `list_issues {owner, repo, state?, labels?, max_items?}` (every page, up to
//! `--max-pages`, folded into one structured result), `get_issue {owner, repo, number}`,
//! and with `--write` `create_issue {owner, repo, title, body?}`.
//!
//! The API key is read from the environment variable `HTTP_API_KEY` (or the one
//! `--api-key-env` names), never from a flag, which anyone could read in `ps`; it is sent
//! as `Authorization: Bearer KEY`, or raw in the header `--api-key-header` names, and only
//! to the origin of `--base-url`. A 401 is a tool error that says the key is wrong.
//!
//! Every call to the API first takes a token from one bucket, so the server never sends
//! more than `--rate` requests a second, however many tool calls run at once. A connection
//! failure, a 429 (and a 503 to a GET) is retried with the SDK's [`RetryPolicy`]:
//! `Retry-After` honoured, else exponential backoff with jitter.
//!
//! `--openapi FILE` mounts one tool per operation of an OpenAPI document (JSON or YAML)
//! next to these, under the prefix `api_`, calling the same API with the same key and
//! rate limit.

mod api;
mod bucket;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use oxmcp::client::RetryPolicy;
use oxmcp::server::openapi::OpenApi;
use oxmcp::server::{tool, Args, Json, Router, State, ToolError};
use reqwest::{header, Method};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use api::Api;
use bucket::Bucket;

type St = State<Arc<Api>>;

fn execution(message: String) -> ToolError {
    ToolError::execution(message)
}

/// An issue as the tools return it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Issue {
    /// The issue's number in its repository.
    number: u64,
    title: String,
    /// `open` or `closed`.
    #[serde(default)]
    state: String,
    /// Who opened it.
    #[serde(default, deserialize_with = "login")]
    user: Option<String>,
    /// The names of its labels.
    #[serde(default, deserialize_with = "label_names")]
    labels: Vec<String>,
    /// How many comments it has.
    #[serde(default)]
    comments: u64,
    /// Its page on the web.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    html_url: Option<String>,
    /// Its text (`get_issue` and `create_issue` only; lists leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

/// `{"login": "..."}` (the API's user object) or a plain name.
fn login<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(user) => user.get("login").and_then(Value::as_str).map(str::to_owned),
        Value::String(name) => Some(name),
        _ => None,
    })
}

/// `[{"name": "..."}]` (the API's label objects) or plain names.
fn label_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let Value::Array(labels) = Value::deserialize(d)? else {
        return Ok(Vec::new());
    };
    Ok(labels
        .iter()
        .filter_map(|l| match l {
            Value::Object(label) => label.get("name").and_then(Value::as_str),
            Value::String(name) => Some(name),
            _ => None,
        })
        .map(str::to_owned)
        .collect())
}

fn issue_of(value: Value) -> Result<Issue, ToolError> {
    serde_json::from_value(value).map_err(|e| {
        execution(format!(
            "the API's answer is not an issue ({e}): expected an object with `number` and `title`"
        ))
    })
}

#[derive(Deserialize, JsonSchema)]
struct RepoArgs {
    /// The repository's owner (a user or organization name).
    owner: String,
    /// The repository's name.
    repo: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum StateFilter {
    Open,
    Closed,
    All,
}

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    #[serde(flatten)]
    repo: RepoArgs,
    /// Which issues: `open` (the default), `closed` or `all`.
    state: Option<StateFilter>,
    /// Only issues with all these labels, comma-separated.
    labels: Option<String>,
    /// At most this many issues (default and cap: 1000).
    max_items: Option<u32>,
}

/// Every page of a listing, folded.
#[derive(Serialize, JsonSchema)]
struct IssueList {
    issues: Vec<Issue>,
    /// How many pages were read.
    pages: u32,
    /// Whether more issues were left unread (`max_items` or `--max-pages` reached).
    truncated: bool,
}

/// The most issues one `list_issues` returns.
const MAX_ITEMS: u32 = 1000;

async fn list_issues(
    State(api): St,
    Args(args): Args<ListArgs>,
) -> Result<Json<IssueList>, ToolError> {
    let max_items = args.max_items.unwrap_or(MAX_ITEMS).clamp(1, MAX_ITEMS) as usize;
    let mut url = api
        .url(&["repos", &args.repo.owner, &args.repo.repo, "issues"])
        .map_err(execution)?;
    let state = match args.state {
        None | Some(StateFilter::Open) => "open",
        Some(StateFilter::Closed) => "closed",
        Some(StateFilter::All) => "all",
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("state", state);
        if let Some(labels) = &args.labels {
            query.append_pair("labels", labels);
        }
        query.append_pair("per_page", &max_items.min(100).to_string());
    }
    let mut list = IssueList {
        issues: Vec::new(),
        pages: 0,
        truncated: false,
    };
    let mut next = Some(url);
    while let Some(url) = next.take() {
        if list.pages == api.max_pages {
            list.truncated = true;
            break;
        }
        let page = api.send(Method::GET, url, None).await.map_err(execution)?;
        list.pages += 1;
        let Value::Array(items) = page.value else {
            return Err(execution(format!(
                "the API's answer to page {} is not a list of issues: expected a JSON array",
                list.pages
            )));
        };
        for item in items {
            if list.issues.len() == max_items {
                list.truncated = true;
                return Ok(Json(list));
            }
            let mut issue = issue_of(item)?;
            issue.body = None;
            list.issues.push(issue);
        }
        next = page.next;
    }
    Ok(Json(list))
}

#[derive(Deserialize, JsonSchema)]
struct IssueArgs {
    #[serde(flatten)]
    repo: RepoArgs,
    /// The issue's number.
    number: u64,
}

async fn get_issue(State(api): St, Args(args): Args<IssueArgs>) -> Result<Json<Issue>, ToolError> {
    let number = args.number.to_string();
    let url = api
        .url(&[
            "repos",
            &args.repo.owner,
            &args.repo.repo,
            "issues",
            &number,
        ])
        .map_err(execution)?;
    let page = api.send(Method::GET, url, None).await.map_err(execution)?;
    issue_of(page.value).map(Json)
}

#[derive(Deserialize, JsonSchema)]
struct CreateArgs {
    #[serde(flatten)]
    repo: RepoArgs,
    /// The new issue's title.
    title: String,
    /// Its text (Markdown).
    body: Option<String>,
}

async fn create_issue(
    State(api): St,
    Args(args): Args<CreateArgs>,
) -> Result<Json<Issue>, ToolError> {
    let url = api
        .url(&["repos", &args.repo.owner, &args.repo.repo, "issues"])
        .map_err(execution)?;
    let body = json!({"title": args.title, "body": args.body});
    let page = api
        .send(Method::POST, url, Some(&body))
        .await
        .map_err(execution)?;
    issue_of(page.value).map(Json)
}

/// The command line.
struct Options {
    base_url: String,
    key_env: String,
    key_header: String,
    write: bool,
    rate: f64,
    max_retries: u32,
    max_pages: u32,
    timeout: Duration,
    max_bytes: usize,
    openapi: Option<String>,
    http: Option<String>,
}

const USAGE: &str =
    "usage: http-api [--base-url URL] [--api-key-env NAME] [--api-key-header NAME] \
[--write] [--rate N] [--max-retries N] [--max-pages N] [--timeout SECS] [--max-response-bytes N] \
[--openapi FILE] [--http ADDR]";

fn options() -> Result<Options, String> {
    let mut options = Options {
        base_url: "https://api.github.com".into(),
        key_env: "HTTP_API_KEY".into(),
        key_header: "authorization".into(),
        write: false,
        rate: 10.0,
        max_retries: 3,
        max_pages: 10,
        timeout: Duration::from_secs(30),
        max_bytes: 4 << 20,
        openapi: None,
        http: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--write" => {
                options.write = true;
                continue;
            }
            "--help" | "-h" => return Err(USAGE.into()),
            _ => {}
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {v:?}"))
        };
        match flag.as_str() {
            "--base-url" => options.base_url = value,
            "--api-key-env" => options.key_env = value,
            "--api-key-header" => options.key_header = value,
            "--rate" => {
                options.rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        format!("--rate takes a number of requests a second, not {value:?}")
                    })?;
            }
            "--max-retries" => options.max_retries = number(&value)? as u32,
            "--max-pages" => options.max_pages = number(&value)?.max(1) as u32,
            "--timeout" => options.timeout = Duration::from_secs(number(&value)?.max(1)),
            "--max-response-bytes" => options.max_bytes = number(&value)? as usize,
            "--openapi" => options.openapi = Some(value),
            "--http" => options.http = Some(value),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("http-api: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The API client every tool shares.
fn api(options: &Options) -> Result<Api, String> {
    let base = reqwest::Url::parse(&options.base_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| {
            format!(
                "--base-url {:?}: expected an http:// or https:// URL",
                options.base_url
            )
        })?;
    let key_header =
        header::HeaderName::from_bytes(options.key_header.as_bytes()).map_err(|_| {
            format!(
                "--api-key-header {:?}: not a header name",
                options.key_header
            )
        })?;
    let key = std::env::var(&options.key_env)
        .ok()
        .filter(|k| !k.is_empty());
    if key.is_none() {
        tracing::warn!(
            "no API key: the environment variable {} is not set; calls go out without one",
            options.key_env
        );
    }
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let http = reqwest::Client::builder()
        .connect_timeout(options.timeout)
        // A redirect could take the key elsewhere: the API's answers are read as they are.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(Api {
        http,
        base,
        key,
        key_env: options.key_env.clone(),
        key_header,
        retry: RetryPolicy::new()
            .max_retries(options.max_retries)
            .max_delay(Duration::from_secs(30)),
        bucket: Bucket::per_second(options.rate),
        timeout: options.timeout,
        max_bytes: options.max_bytes,
        max_pages: options.max_pages,
    })
}

/// The tools of the OpenAPI document at `file`, calling the API as `api` does.
async fn openapi_tools(file: &str, api: &Arc<Api>) -> Result<Router, String> {
    let text = tokio::fs::read_to_string(file)
        .await
        .map_err(|e| format!("--openapi {file}: {e}"))?;
    let hook_api = api.clone();
    OpenApi::parse(&text)
        .map_err(|e| format!("--openapi {file}: {e}"))?
        .base_url(api.base.as_str().trim_end_matches('/'))
        .client(api.http.clone())
        .timeout(api.timeout)
        .max_response_bytes(api.max_bytes)
        .auth(move |mut request: reqwest::Request| {
            let api = hook_api.clone();
            async move {
                api.bucket.take().await;
                api.authorize(request.headers_mut());
                Ok(request)
            }
        })
        .router()
        .map_err(|e| format!("--openapi {file}: {e}"))
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let api = Arc::new(api(&options)?);
    let mut router: Router<Arc<Api>> = Router::new()
        .name("http-api")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "Issues of repositories on an issue-tracker API. Name a repository by owner and repo.",
        )
        .tool(
            "list_issues",
            tool(list_issues)
                .description(
                    "Lists a repository's issues, every page folded into one result (at most max_items)",
                )
                .read_only(),
        )
        .tool(
            "get_issue",
            tool(get_issue)
                .description("Reads one issue, with its text")
                .read_only(),
        );
    if options.write {
        router = router.tool(
            "create_issue",
            tool(create_issue).description("Opens a new issue in a repository"),
        );
    }
    let mut router = router.with_state(api.clone());
    if let Some(file) = &options.openapi {
        router = router.mount("api", openapi_tools(file, &api).await?);
    }
    let served = match options.http {
        Some(addr) => {
            let local = ["127.", "localhost:", "[::1]:"]
                .iter()
                .any(|prefix| addr.starts_with(prefix));
            if !local {
                tracing::warn!(
                    "serving {addr} without authentication: whoever reaches it calls the API \
                     with this server's key; bind to 127.0.0.1 or put an authenticating proxy in front"
                );
            }
            router.serve_http(addr).await
        }
        None => router.serve_stdio().await,
    };
    served.map_err(|e| e.to_string())
}
