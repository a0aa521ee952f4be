//! `Router::mount`: namespaced items that keep their state, layers, lifespan and handle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::server::compose::Mount;
use oxmcp::server::middleware::{Extension, McpRequest};
use oxmcp::server::{resource, Args, Lifespan, ResourceUri, Router, State, Uri};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tower::{Layer, Service};

use super::{text, tool_names};
use crate::support::{checked, legacy, modern, Raw};

#[derive(Deserialize, JsonSchema)]
struct Query {
    q: String,
}

async fn search(State(index): State<&'static str>, Args(query): Args<Query>) -> String {
    format!("{index}: {}", query.q)
}

async fn greet(Args(query): Args<Query>) -> String {
    format!("hello {}", query.q)
}

async fn readme() -> &'static str {
    "# docs"
}

#[derive(Deserialize)]
struct PathVar {
    path: String,
}

async fn file(Uri(var): Uri<PathVar>, ResourceUri(uri): ResourceUri) -> String {
    format!("{} via {uri}", var.path)
}

fn docs() -> Router {
    Router::new()
        .tool("search", search)
        .prompt("greet", greet)
        .resource("docs://readme", resource(readme).mime_type("text/markdown"))
        .resource_template("file:///{+path}", file)
        .with_state("docs-index")
}

fn contents(result: &oxmcp::protocol::resources::ReadResourceResult) -> serde_json::Value {
    serde_json::to_value(&result.contents[0]).unwrap()
}

/// Everything a mounted router registers appears namespaced, in both eras, and answers
/// with the mounted router's state; resource URIs go both ways.
#[tokio::test]
async fn mounted_items_are_namespaced_and_keep_their_state() {
    for era in [legacy(), modern()] {
        let router: Router = Router::new()
            .tool("own", || async { "own" })
            .mount("docs", docs());
        let (client, tap) = checked(router, era).await;

        assert_eq!(tool_names(&client).await, ["own", "docs_search"]);
        let r = client
            .call_tool("docs_search", json!({"q": "mcp"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "docs-index: mcp");
        assert!(client.call_tool("search", json!({"q": "x"})).await.is_err());

        let prompts = client.list_all_prompts().await.unwrap();
        assert_eq!(prompts[0].name, "docs_greet");
        let p = client
            .get_prompt("docs_greet", json!({"q": "you"}))
            .await
            .unwrap();
        assert!(serde_json::to_string(&p).unwrap().contains("hello you"));

        let resources = client.list_all_resources().await.unwrap();
        assert_eq!(resources[0].uri, "docs://docs/readme");
        let read = client.read_resource("docs://docs/readme").await.unwrap();
        assert_eq!(
            contents(&read),
            json!({"uri": "docs://docs/readme", "mimeType": "text/markdown", "text": "# docs"})
        );
        let templates = client.list_all_resource_templates().await.unwrap();
        assert_eq!(templates[0].uri_template, "file://docs//{+path}");
        let read = client.read_resource("file://docs//a/b.md").await.unwrap();
        let read = contents(&read);
        assert_eq!(read["uri"], "file://docs//a/b.md");
        assert_eq!(read["text"], "a/b.md via file://docs//a/b.md");
        assert!(client.read_resource("docs://readme").await.is_err());
        tap.assert_clean();
    }
}

#[tokio::test]
async fn the_separator_is_configurable_and_mounts_nest() {
    let inner: Router = Router::new().mount_with(Mount::new("docs").separator("."), docs());
    let router: Router = Router::new().mount_with(Mount::new("team").separator("-"), inner);
    let (client, _) = checked(router, modern()).await;
    assert_eq!(tool_names(&client).await, ["team-docs.search"]);
    let r = client
        .call_tool("team-docs.search", json!({"q": "nested"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "docs-index: nested");
    let read = client
        .read_resource("docs://team/docs/readme")
        .await
        .unwrap();
    assert_eq!(contents(&read)["text"], "# docs");
}

/// Records the order layers see a request in.
#[derive(Clone)]
struct Mark(&'static str, Arc<Mutex<Vec<&'static str>>>);

impl<S> Layer<S> for Mark {
    type Service = Marked<S>;
    fn layer(&self, inner: S) -> Marked<S> {
        Marked(self.clone(), inner)
    }
}

#[derive(Clone)]
struct Marked<S>(Mark, S);

impl<S: Service<McpRequest>> Service<McpRequest> for Marked<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.1.poll_ready(cx)
    }

    fn call(&mut self, mut request: McpRequest) -> S::Future {
        self.0 .1.lock().unwrap().push(self.0 .0);
        request.extensions_mut().insert(self.0 .0);
        self.1.call(request)
    }
}

async fn who(Extension(last): Extension<&'static str>) -> &'static str {
    last
}

fn layered(seen: &Arc<Mutex<Vec<&'static str>>>) -> Router {
    let inner: Router = Router::new()
        .tool(
            "who",
            oxmcp::server::tool(who).layer(Mark("item", seen.clone())),
        )
        .tool("plain", || async { "plain" })
        .layer(Mark("mounted", seen.clone()));
    Router::new()
        .tool("own", || async { "own" })
        .mount("m", inner)
        .layer(Mark("outer", seen.clone()))
}

/// The mounted router's layers run around its items (inside the mounting router's, outside
/// the item's own), and what they put in the extensions reaches the handler.
#[tokio::test]
async fn a_mounted_routers_layers_are_kept() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    for era in [legacy(), modern()] {
        let (client, _) = checked(layered(&seen), era).await;
        let calls = [
            ("m_who", &["outer", "mounted", "item"][..]),
            ("m_plain", &["outer", "mounted"]),
            ("own", &["outer"]),
        ];
        for (tool, layers) in calls {
            seen.lock().unwrap().clear();
            let r = client.call_tool(tool, json!({})).await.unwrap();
            assert_eq!(*seen.lock().unwrap(), layers, "{tool}");
            if tool == "m_who" {
                assert_eq!(text(&r), "item");
            }
        }
    }
}

#[derive(Clone)]
struct Db(&'static str);

/// A mounted router's lifespan starts with the router it is mounted in.
#[tokio::test]
async fn a_mounted_routers_lifespan_runs() {
    async fn db(State(db): State<Db>) -> &'static str {
        db.0
    }
    let stopped = Arc::new(Mutex::new(false));
    let flag = stopped.clone();
    let inner: Router = Router::new()
        .tool("db", db)
        .with_lifespan(move || async move {
            Ok::<_, std::io::Error>(Lifespan::new(Db("connected")).on_shutdown(
                move |_| async move {
                    *flag.lock().unwrap() = true;
                },
            ))
        });
    let router: Router = Router::new().mount("store", inner);
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "store_db", "arguments": {}}}))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "connected");
    raw.finish().await;
    assert!(
        *stopped.lock().unwrap(),
        "the mounted router's shutdown hook ran"
    );
}

/// What the mounted router's handle changes later appears namespaced, and the mounting
/// router's clients hear of it: list changes and resource updates (URI namespaced).
#[tokio::test]
async fn a_mounted_routers_changes_are_forwarded() {
    let inner: Router = Router::new().resource("docs://readme", readme);
    let handle = inner.handle();
    let router: Router = Router::new().mount("docs", inner);
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let r = raw
        .call(
            json!({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
                     "params": {"uri": "docs://docs/readme"}}),
        )
        .await;
    assert_eq!(r["result"], json!({}));

    handle.add_tool("late", || async { "late" }).unwrap();
    assert_eq!(
        raw.recv().await["method"],
        "notifications/tools/list_changed"
    );
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                     "params": {"name": "docs_late", "arguments": {}}}))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "late");

    handle.notify_resource_updated("docs://readme");
    assert_eq!(
        raw.recv().await,
        json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
               "params": {"uri": "docs://docs/readme"}})
    );

    assert!(handle.remove_tool("late"));
    assert_eq!(
        raw.recv().await["method"],
        "notifications/tools/list_changed"
    );
    let r = raw
        .call(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}))
        .await;
    assert_eq!(r["result"]["tools"], json!([]));
    raw.expect_silence(Duration::from_millis(50)).await;
    raw.finish().await;
}

#[test]
#[should_panic(expected = "mounting: a tool named \"docs_search\" is registered here already")]
fn a_name_taken_by_the_mounting_router_panics() {
    let _: Router = Router::new()
        .tool("docs_search", || async { "mine" })
        .mount("docs", docs());
}

#[test]
#[should_panic(expected = "is not valid")]
fn a_separator_that_makes_bad_tool_names_panics() {
    let _: Router = Router::new().mount_with(Mount::new("docs").separator("/"), docs());
}
