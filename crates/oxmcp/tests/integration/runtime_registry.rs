//! `ServerHandle`: what it adds while the server runs uses the router's state, and a name
//! (URI, template) that is taken or invalid is refused with an error, not a panic.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use oxmcp::client::EraChoice;
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::{Args, Lifespan, Router, ServerHandle, State, Uri};
use oxmcp::testing::TestClient;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Clone, Default)]
struct Counter(Arc<AtomicU32>);

async fn count(State(counter): State<Counter>) -> u32 {
    counter.0.fetch_add(1, Ordering::SeqCst) + 1
}

#[derive(Deserialize, JsonSchema)]
struct Topic {
    topic: String,
}

async fn count_prompt(State(counter): State<Counter>, Args(t): Args<Topic>) -> String {
    format!("{} #{}", t.topic, counter.0.load(Ordering::SeqCst))
}

async fn count_resource(State(counter): State<Counter>) -> String {
    format!("count {}", counter.0.load(Ordering::SeqCst))
}

#[derive(Deserialize)]
struct Id {
    id: u32,
}

async fn count_template(State(counter): State<Counter>, Uri(id): Uri<Id>) -> String {
    format!("{} at {}", id.id, counter.0.load(Ordering::SeqCst))
}

async fn noop() -> &'static str {
    "noop"
}

fn eras() -> [EraChoice; 2] {
    [
        EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY),
        EraChoice::Modern,
    ]
}

fn text_of_tool(result: &oxmcp::protocol::tools::CallToolResult) -> String {
    match &result.content[0] {
        oxmcp::protocol::content::ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn text_of_resource(result: &oxmcp::protocol::resources::ReadResourceResult) -> String {
    serde_json::to_value(&result.contents[0]).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Adds a tool, a prompt, a resource and a template that all extract the router's state.
fn add_stateful(handle: &ServerHandle<Counter>) {
    handle.add_tool("count", count).unwrap();
    handle.add_prompt("count_prompt", count_prompt).unwrap();
    handle.add_resource("count://now", count_resource).unwrap();
    handle
        .add_resource_template("count://items/{id}", count_template)
        .unwrap();
}

async fn assert_stateful_items_answer(client: &TestClient) {
    let r = client.call_tool("count", json!({})).await.unwrap();
    assert_eq!(text_of_tool(&r), "1");
    let r = client.call_tool("count", json!({})).await.unwrap();
    assert_eq!(text_of_tool(&r), "2");
    let r = client.read_resource("count://now").await.unwrap();
    assert_eq!(text_of_resource(&r), "count 2");
    let r = client.read_resource("count://items/7").await.unwrap();
    assert_eq!(text_of_resource(&r), "7 at 2");
    let r = client
        .get_prompt("count_prompt", json!({"topic": "rust"}))
        .await
        .unwrap();
    let message = serde_json::to_value(&r.messages[0]).unwrap();
    assert_eq!(message["content"]["text"], "rust #2");
}

/// In both eras: a `Router<Counter>` given its state by `supply`, serving, and its handle's
/// additions, which extract that state.
async fn added_items_get_the_state(supply: impl Fn(Router<Counter>) -> Router) {
    for era in eras() {
        let router: Router<Counter> = Router::new().tool("noop", noop);
        let handle = router.handle();
        let client = TestClient::builder(supply(router))
            .era(era)
            .connect()
            .await
            .unwrap();
        // Added while the server runs.
        add_stateful(&handle);
        assert_stateful_items_answer(&client).await;
    }
}

#[tokio::test]
async fn handlers_added_at_runtime_extract_the_state_given_by_with_state() {
    added_items_get_the_state(|router| router.with_state(Counter::default())).await;
}

#[tokio::test]
async fn handlers_added_at_runtime_extract_the_state_a_lifespan_gives() {
    added_items_get_the_state(|router| {
        router
            .with_lifespan(|| async { Ok::<_, std::io::Error>(Lifespan::new(Counter::default())) })
    })
    .await;
}

#[tokio::test]
async fn a_stateless_routers_handle_adds_stateless_handlers() {
    let router: Router = Router::new();
    let handle: ServerHandle = router.handle();
    let client = TestClient::new(router).await.unwrap();
    handle.add_tool("noop", noop).unwrap();
    let r = client.call_tool("noop", json!({})).await.unwrap();
    assert_eq!(text_of_tool(&r), "noop");
}

#[tokio::test]
async fn a_taken_name_is_refused_and_the_first_registration_stays() {
    let router: Router<Counter> = Router::new();
    let handle = router.handle();
    let client = TestClient::new(router.with_state(Counter::default()))
        .await
        .unwrap();
    add_stateful(&handle);

    let err = handle.add_tool("count", noop).unwrap_err();
    assert!(err.is_taken());
    assert_eq!(
        err.to_string(),
        "a tool named \"count\" is registered already; remove it first to replace it"
    );
    let err = handle.add_prompt("count_prompt", noop).unwrap_err();
    assert!(err.is_taken());
    assert!(
        err.to_string()
            .starts_with("a prompt named \"count_prompt\" is registered already"),
        "{err}"
    );
    let err = handle.add_resource("count://now", noop).unwrap_err();
    assert!(err.is_taken());
    assert!(
        err.to_string()
            .starts_with("a resource \"count://now\" is registered already"),
        "{err}"
    );
    let err = handle
        .add_resource_template("count://items/{id}", noop)
        .unwrap_err();
    assert!(err.is_taken());
    assert!(
        err.to_string()
            .starts_with("a resource template \"count://items/{id}\" is registered already"),
        "{err}"
    );

    // The first registrations still answer.
    assert_stateful_items_answer(&client).await;
    // Removed, the name is free again.
    assert!(handle.remove_tool("count"));
    handle.add_tool("count", noop).unwrap();
    let r = client.call_tool("count", json!({})).await.unwrap();
    assert_eq!(text_of_tool(&r), "noop");
}

#[tokio::test]
async fn an_invalid_name_or_template_is_an_error_not_a_panic() {
    let router: Router = Router::new();
    let handle = router.handle();
    let err = handle.add_tool("has space", noop).unwrap_err();
    assert!(!err.is_taken());
    assert!(
        err.to_string()
            .starts_with("invalid tool name \"has space\": it contains ' '"),
        "{err}"
    );
    let err = handle
        .add_resource_template("users://{id:0}", noop)
        .unwrap_err();
    assert!(!err.is_taken());
    assert!(
        err.to_string()
            .starts_with("invalid resource template \"users://{id:0}\""),
        "{err}"
    );
    assert_eq!(router.tools().count(), 0);
}

#[test]
fn of_two_racing_additions_of_one_name_one_wins() {
    let router: Router = Router::new();
    let handle = router.handle();
    let added: Vec<bool> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let handle = handle.clone();
                scope.spawn(move || handle.add_tool("once", noop).is_ok())
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(added.iter().filter(|ok| **ok).count(), 1);
}
