//! The tasks extension (SEP-2663) on the server: calls that become tasks, polling,
//! input, cancellation, expiry, and who may see a task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::protocol::elicitation::ElicitRequestParams;
use oxmcp::server::middleware::McpRequest;
use oxmcp::server::tasks::{MemoryTaskStore, Requester, TaskSupport, Tasks, TASKS};
use oxmcp::server::{tool, Context, Router, ToolError};
use serde_json::{json, Value};

use crate::support::{code, modern_meta, Raw};

/// The modern `_meta` of a client that declared the tasks extension.
fn tasks_meta() -> Value {
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/clientCapabilities"] =
        json!({"elicitation": {}, "extensions": {TASKS: {}}});
    meta
}

fn form(message: &str) -> ElicitRequestParams {
    serde_json::from_value(json!({"mode": "form", "message": message,
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}))
    .unwrap()
}

/// Sets to true when dropped: tells whether a handler's future was dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Fails with `error` once it has waited.
async fn fail_later(error: ToolError) -> Result<String, ToolError> {
    tokio::task::yield_now().await;
    Err(error)
}

fn router(tasks: Tasks, dropped: Arc<AtomicBool>) -> Router {
    Router::new()
        .extension(tasks)
        .tool(
            "quick",
            tool(|| async { "at once" }).task(TaskSupport::Optional),
        )
        .tool(
            "wait",
            tool(|| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                "waited"
            })
            .task(TaskSupport::Optional),
        )
        .tool(
            "forever",
            tool(move || {
                let guard = Dropped(dropped.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    "never"
                }
            })
            .task(TaskSupport::Optional),
        )
        .tool(
            "tool_error",
            tool(|| fail_later(ToolError::execution("broken"))).task(TaskSupport::Required),
        )
        .tool(
            "protocol_error",
            tool(|| fail_later(ToolError::internal("crashed"))).task(TaskSupport::Optional),
        )
        .tool(
            "ask_in_task",
            tool(|ctx: Context| async move {
                tokio::task::yield_now().await;
                let (a, b) = tokio::join!(ctx.elicit_with(form("a?")), ctx.elicit_with(form("b?")));
                let name = |r: Result<oxmcp::protocol::elicitation::ElicitResult, _>| {
                    serde_json::to_value(r.unwrap()).unwrap()["content"]["name"].clone()
                };
                format!("{} and {}", name(a), name(b))
            })
            .task(TaskSupport::Optional),
        )
        .tool(
            "ask_then_task",
            tool(|ctx: Context| async move {
                let answer = ctx.question("user_name").elicit_with(form("name?")).await?;
                let name = serde_json::to_value(answer).unwrap()["content"]["name"].clone();
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, ToolError>(format!("hello {name}"))
            })
            .task(TaskSupport::Required),
        )
}

fn start() -> Raw {
    Raw::start(router(Tasks::new(), Arc::default()))
}

async fn request(raw: &mut Raw, method: &str, mut params: Value, meta: Value) -> Value {
    params["_meta"] = meta;
    raw.call(json!({"jsonrpc": "2.0", "id": method, "method": method, "params": params}))
        .await
}

async fn call(raw: &mut Raw, name: &str) -> Value {
    request(
        raw,
        "tools/call",
        json!({"name": name, "arguments": {}}),
        tasks_meta(),
    )
    .await
}

/// Calls tool `name`, which must become a task: the `CreateTaskResult` and the task's id.
async fn create(raw: &mut Raw, name: &str) -> (Value, String) {
    let created = call(raw, name).await["result"].clone();
    assert_eq!(created["resultType"], "task", "{name}: {created}");
    let task_id = created["taskId"].as_str().unwrap().to_owned();
    (created, task_id)
}

/// `method` (`tasks/get`, `tasks/cancel`) of task `task_id`.
async fn on_task(raw: &mut Raw, method: &str, task_id: &str) -> Value {
    request(raw, method, json!({"taskId": task_id}), tasks_meta()).await
}

async fn get(raw: &mut Raw, task_id: &str) -> Value {
    on_task(raw, "tasks/get", task_id).await
}

/// Polls `tasks/get` until the task is final (5 s at most).
async fn settle(raw: &mut Raw, task_id: &str) -> Value {
    for _ in 0..500 {
        let got = get(raw, task_id).await;
        let status = got["result"]["status"].as_str().unwrap_or_default();
        if matches!(status, "completed" | "failed" | "cancelled") {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} did not settle");
}

/// Polls until the task waits for input.
async fn parked(raw: &mut Raw, task_id: &str, questions: usize) -> Value {
    for _ in 0..500 {
        let got = get(raw, task_id).await["result"].clone();
        if got["status"] == "input_required"
            && got["inputRequests"].as_object().map(|o| o.len()) == Some(questions)
        {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} did not ask {questions} questions");
}

#[tokio::test]
async fn a_call_that_waits_becomes_a_task_whose_result_tasks_get_inlines() {
    let mut raw = start();
    let discover = request(&mut raw, "server/discover", json!({}), tasks_meta()).await;
    assert!(discover["result"]["capabilities"]["extensions"][TASKS].is_object());
    assert!(discover["result"]["capabilities"].get("tasks").is_none());

    let quick = call(&mut raw, "quick").await["result"].clone();
    assert_eq!(
        quick["resultType"], "complete",
        "done at once: a plain result"
    );
    assert_eq!(quick["content"][0]["text"], "at once");

    let created = call(&mut raw, "wait").await["result"].clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    assert!(created["ttlMs"].as_u64().unwrap() > 0 && created["pollIntervalMs"].is_u64());
    assert!(created.get("ttl").is_none() && created.get("requestState").is_none());
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    let task_id = created["taskId"].as_str().unwrap().to_owned();
    assert_eq!(task_id.len(), 32, "128 random bits");

    let working = get(&mut raw, &task_id).await["result"].clone();
    assert_eq!(working["taskId"], task_id.as_str(), "readable at once");
    assert_eq!(working["resultType"], "complete");
    let done = settle(&mut raw, &task_id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"]["content"][0]["text"], "waited");
    assert!(done.get("error").is_none());
    raw.finish().await;
}

#[tokio::test]
async fn tool_errors_complete_and_protocol_errors_fail() {
    let mut raw = start();
    let (_, task_id) = create(&mut raw, "tool_error").await;
    let done = settle(&mut raw, &task_id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"]["isError"], true);

    let (_, task_id) = create(&mut raw, "protocol_error").await;
    let done = settle(&mut raw, &task_id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error"]["code"].is_i64() && done["error"]["message"].is_string());
    assert!(done.get("result").is_none());
    raw.finish().await;
}

#[tokio::test]
async fn cancel_drops_the_handler_and_a_final_task_stays_as_it_was() {
    let dropped = Arc::new(AtomicBool::new(false));
    let mut raw = Raw::start(router(Tasks::new(), dropped.clone()));
    let (_, task_id) = create(&mut raw, "forever").await;
    let ack = on_task(&mut raw, "tasks/cancel", &task_id).await;
    assert_eq!(ack["result"]["resultType"], "complete");
    assert!(ack["result"].get("status").is_none(), "an empty ack: {ack}");
    let done = settle(&mut raw, &task_id).await;
    assert_eq!(done["status"], "cancelled");
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler's future was dropped"
    );

    // Cancelling a completed task is acknowledged and changes nothing.
    let (_, task_id) = create(&mut raw, "wait").await;
    settle(&mut raw, &task_id).await;
    let ack = on_task(&mut raw, "tasks/cancel", &task_id).await;
    assert_eq!(ack["result"]["resultType"], "complete");
    assert_eq!(settle(&mut raw, &task_id).await["status"], "completed");
    raw.finish().await;
}

#[tokio::test]
async fn cancel_racing_completion_settles_once() {
    let mut raw = start();
    for _ in 0..20 {
        let (_, task_id) = create(&mut raw, "wait").await;
        tokio::time::sleep(Duration::from_millis(48)).await;
        on_task(&mut raw, "tasks/cancel", &task_id).await;
        let first = settle(&mut raw, &task_id).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let again = settle(&mut raw, &task_id).await;
        assert_eq!(
            first["status"], again["status"],
            "a final status never changes"
        );
        if first["status"] == "cancelled" {
            assert!(again.get("result").is_none());
        }
    }
    raw.finish().await;
}

#[tokio::test]
async fn questions_park_the_task_and_tasks_update_answers_them_one_by_one() {
    let mut raw = start();
    let created = call(&mut raw, "ask_in_task").await["result"].clone();
    assert_eq!(created["resultType"], "task");
    let task_id = created["taskId"].as_str().unwrap().to_owned();
    let waiting = parked(&mut raw, &task_id, 2).await;
    let keys: Vec<String> = waiting["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        waiting["inputRequests"][&keys[0]]["method"],
        "elicitation/create"
    );

    let answer = |name: &str| json!({"action": "accept", "content": {"name": name}});
    let ack = request(
        &mut raw,
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {keys[0].clone(): answer("x"), "nobody-asked": {}}}),
        tasks_meta(),
    )
    .await;
    assert_eq!(ack["result"]["resultType"], "complete");
    let still = parked(&mut raw, &task_id, 1).await;
    assert!(still["inputRequests"].get(&keys[1]).is_some());
    request(
        &mut raw,
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {keys[1].clone(): answer("y")}}),
        tasks_meta(),
    )
    .await;
    let done = settle(&mut raw, &task_id).await;
    assert_eq!(done["result"]["content"][0]["text"], "\"x\" and \"y\"");
    raw.finish().await;
}

#[tokio::test]
async fn input_before_the_wait_is_a_round_and_the_retry_becomes_the_task() {
    let mut raw = start();
    let first = call(&mut raw, "ask_then_task").await["result"].clone();
    assert_eq!(first["resultType"], "input_required");
    assert!(first.get("taskId").is_none());
    let retry = json!({"name": "ask_then_task", "arguments": {},
        "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": first["requestState"]});
    let created = request(&mut raw, "tools/call", retry, tasks_meta()).await["result"].clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert!(created.get("requestState").is_none() && created.get("inputRequests").is_none());
    let done = settle(&mut raw, created["taskId"].as_str().unwrap()).await;
    assert_eq!(done["result"]["content"][0]["text"], "hello \"Alice\"");
    raw.finish().await;
}

#[tokio::test]
async fn without_the_extension_optional_tools_answer_plainly_and_required_ones_refuse() {
    let mut raw = start();
    let plain = request(
        &mut raw,
        "tools/call",
        json!({"name": "wait", "arguments": {}}),
        modern_meta(),
    )
    .await;
    assert_eq!(plain["result"]["resultType"], "complete");
    assert_eq!(plain["result"]["content"][0]["text"], "waited");
    let refused = request(
        &mut raw,
        "tools/call",
        json!({"name": "tool_error", "arguments": {}}),
        modern_meta(),
    )
    .await;
    assert_eq!(code(&refused), -32021, "{refused}");
    assert!(refused["error"]["data"]["requiredCapabilities"]["extensions"][TASKS].is_object());
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let refused = request(&mut raw, method, json!({"taskId": "x"}), modern_meta()).await;
        assert_eq!(code(&refused), -32021, "{method}: {refused}");
    }
    raw.finish().await;
}

#[tokio::test]
async fn forged_and_malformed_task_ids_are_unknown_with_a_clear_error() {
    let mut raw = start();
    for forged in [
        "",
        "tasks-nonexistent",
        &"f".repeat(32),
        &"x".repeat(10_000),
    ] {
        let answer = get(&mut raw, forged).await;
        assert_eq!(code(&answer), -32602, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("unknown task") && message.len() < 400,
            "{message}"
        );
    }
    let answer = request(&mut raw, "tasks/get", json!({"taskId": 7}), tasks_meta()).await;
    assert_eq!(code(&answer), -32602);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("taskId"),
        "{answer}"
    );
    let created = call(&mut raw, "forever").await["result"].clone();
    let task_id = created["taskId"].as_str().unwrap();
    let answer = request(
        &mut raw,
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": ["not", "an", "object"]}),
        tasks_meta(),
    )
    .await;
    assert_eq!(code(&answer), -32602, "{answer}");
    on_task(&mut raw, "tasks/cancel", task_id).await;
    raw.finish().await;
}

/// Names the requester after `_meta["test/user"]`, as an authentication layer would.
fn by_user(mut request: McpRequest) -> McpRequest {
    let user = request
        .params()
        .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
        .and_then(|p| p["_meta"]["test/user"].as_str().map(str::to_owned));
    if let Some(user) = user {
        request.extensions_mut().insert(Requester(user));
    }
    request
}

#[tokio::test]
async fn another_requesters_task_can_be_neither_read_nor_cancelled() {
    let router =
        router(Tasks::new(), Arc::default()).layer(tower::util::MapRequestLayer::new(by_user));
    let mut raw = Raw::start(router);
    let as_user = |user: &str| {
        let mut meta = tasks_meta();
        meta["test/user"] = json!(user);
        meta
    };
    let created = request(
        &mut raw,
        "tools/call",
        json!({"name": "forever", "arguments": {}}),
        as_user("alice"),
    )
    .await;
    let task_id = created["result"]["taskId"].as_str().unwrap().to_owned();
    for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
        let answer = request(
            &mut raw,
            method,
            json!({"taskId": task_id, "inputResponses": {}}),
            as_user("mallory"),
        )
        .await;
        assert_eq!(
            code(&answer),
            -32602,
            "{method} of another's task: {answer}"
        );
        let anonymous = request(
            &mut raw,
            method,
            json!({"taskId": task_id, "inputResponses": {}}),
            tasks_meta(),
        )
        .await;
        assert_eq!(
            code(&anonymous),
            -32602,
            "{method} without a requester: {anonymous}"
        );
    }
    let own = request(
        &mut raw,
        "tasks/get",
        json!({"taskId": task_id}),
        as_user("alice"),
    )
    .await;
    assert_eq!(
        own["result"]["status"], "working",
        "mallory's cancel changed nothing"
    );
    request(
        &mut raw,
        "tasks/cancel",
        json!({"taskId": task_id}),
        as_user("alice"),
    )
    .await;
    raw.finish().await;
}

#[tokio::test]
async fn tasks_expire_after_their_ttl_and_a_full_store_refuses_new_ones() {
    let tasks = Tasks::new()
        .ttl(Duration::from_millis(150))
        .store(MemoryTaskStore::new(1));
    let mut raw = Raw::start(router(tasks, Arc::default()));
    let created = call(&mut raw, "wait").await["result"].clone();
    assert_eq!(created["ttlMs"], 150);
    let task_id = created["taskId"].as_str().unwrap().to_owned();
    let refused = call(&mut raw, "wait").await;
    assert_eq!(
        code(&refused),
        -32000,
        "the store holds one task: {refused}"
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("as many as it keeps"));
    assert_eq!(settle(&mut raw, &task_id).await["status"], "completed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(code(&get(&mut raw, &task_id).await), -32602, "expired");
    let again = call(&mut raw, "wait").await;
    assert_eq!(
        again["result"]["resultType"], "task",
        "room again once expired: {again}"
    );
    raw.finish().await;
}

/// A client that declared the extension and answers forms with a counter.
async fn task_client(declare: bool) -> oxmcp::testing::TestClient {
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    oxmcp::testing::TestClient::builder(router(Tasks::new(), Arc::default()))
        .era(crate::support::modern())
        .client(move |builder| {
            let builder = builder.on_elicitation(move |_| {
                let n = answered.fetch_add(1, Ordering::SeqCst);
                async move {
                    let mut content = serde_json::Map::new();
                    content.insert("name".into(), json!(format!("n{n}")));
                    Ok(oxmcp::protocol::elicitation::ElicitResult::accept(content))
                }
            });
            if declare {
                builder.extension(TASKS, Default::default())
            } else {
                builder
            }
        })
        .connect()
        .await
        .unwrap()
}

fn text(result: &oxmcp::protocol::tools::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_client_follows_a_task_to_its_result_answering_its_questions() {
    let client = task_client(true).await;
    let client = client.client();
    assert_eq!(
        text(&client.call_tool("wait", json!({})).await.unwrap()),
        "waited"
    );
    let asked = client.call_tool("ask_in_task", json!({})).await.unwrap();
    let mut names: Vec<String> = text(&asked).split(" and ").map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        ["\"n0\"", "\"n1\""],
        "both questions answered by the handler"
    );
    let failed = client
        .call_tool("protocol_error", json!({}))
        .await
        .unwrap_err();
    assert!(failed.rpc_error().is_some(), "{failed}");
    let tool_error = client.call_tool("tool_error", json!({})).await.unwrap();
    assert_eq!(tool_error.is_error, Some(true));
}

#[tokio::test]
async fn the_client_can_hold_a_task_poll_it_and_cancel_it() {
    use oxmcp::client::tasks::ToolCall;
    let client = task_client(true).await;
    let client = client.client();
    let ToolCall::Task(task) = client
        .call_tool_as_task("forever", json!({}))
        .await
        .unwrap()
    else {
        panic!("forever runs as a task");
    };
    assert_eq!(task.id().len(), 32);
    let state = task.state().await.unwrap();
    assert_eq!(state.status, oxmcp::protocol::tasks::TaskStatus::Working);
    assert!(state.ttl_ms.is_some() && state.poll_interval_ms.is_some());
    task.cancel().await.unwrap();
    let ended = task.wait().await.unwrap_err();
    assert!(ended.is_cancelled(), "{ended}");
    let ToolCall::Done(quick) = client.call_tool_as_task("quick", json!({})).await.unwrap() else {
        panic!("quick answers at once");
    };
    assert_eq!(text(&quick), "at once");
}

#[tokio::test]
async fn a_client_without_the_extension_gets_plain_results() {
    use oxmcp::client::tasks::ToolCall;
    let client = task_client(false).await;
    let client = client.client();
    let ToolCall::Done(result) = client.call_tool_as_task("wait", json!({})).await.unwrap() else {
        panic!("no task for a client without the extension");
    };
    assert_eq!(text(&result), "waited");
    let refused = client.call_tool("tool_error", json!({})).await.unwrap_err();
    assert_eq!(refused.rpc_code(), Some(-32021));
}

#[tokio::test]
async fn a_handler_that_outlives_its_tasks_ttl_is_stopped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let tasks = Tasks::new().ttl(Duration::from_millis(100));
    let mut raw = Raw::start(router(tasks, dropped.clone()));
    let (_, task_id) = create(&mut raw, "forever").await;
    for _ in 0..300 {
        if dropped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler was dropped at the ttl"
    );
    assert_eq!(
        code(&get(&mut raw, &task_id).await),
        -32602,
        "and the task is gone"
    );
    raw.finish().await;
}

#[tokio::test]
async fn results_of_calls_as_tasks_are_checked_against_the_listed_output_schema() {
    use oxmcp::client::tasks::ToolCall;
    let schema = match json!({
        "type": "object",
        "properties": { "count": { "type": "integer" } },
        "required": ["count"]
    }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let lie = || {
        let mut result = oxmcp::protocol::tools::CallToolResult::new(Vec::new());
        result.structured_content = Some(json!({ "count": "three" }));
        result
    };
    // The server lets the lies through, as a relay of another's answers would.
    let router = Router::new()
        .extension(Tasks::new())
        .tool(
            "lie_later",
            tool(move || async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                lie()
            })
            .output_schema(schema.clone())
            .unchecked_output()
            .task(TaskSupport::Required),
        )
        .tool(
            "lie_at_once",
            tool(move || async move { lie() })
                .output_schema(schema)
                .unchecked_output()
                .task(TaskSupport::Optional),
        );
    let client = oxmcp::testing::TestClient::builder(router)
        .era(crate::support::modern())
        .client(|b| b.extension(TASKS, Default::default()))
        .connect()
        .await
        .unwrap();
    client.list_all_tools().await.unwrap();
    let ToolCall::Task(task) = client
        .call_tool_as_task("lie_later", json!({}))
        .await
        .unwrap()
    else {
        panic!("lie_later runs as a task");
    };
    let err = task.wait().await.unwrap_err();
    assert!(err.to_string().contains("tool `lie_later`"), "{err}");
    assert!(err.to_string().contains("at `/count`"), "{err}");
    let err = client
        .call_tool_as_task("lie_at_once", json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at `/count`"), "{err}");
    let err = client.call_tool("lie_later", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("at `/count`"), "{err}");
}
