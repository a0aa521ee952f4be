//! Tasks belong to the authenticated subject that created them: over Streamable HTTP,
//! where each modern request is a connection of its own, the subject is what finds a task
//! again, and another subject can neither read nor cancel it.

use std::net::SocketAddr;

use oxmcp::server::auth::{ApiKeys, Auth, ProtectedResource};
use oxmcp::server::tasks::{Requester, TaskSupport, Tasks, TASKS};
use oxmcp::server::{tool, Router};
use serde_json::{json, Value};

use super::{post_modern, spawn_protected};
use crate::support::modern_meta;

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keys = ApiKeys::new()
        .key("alice-key", Auth::new("alice"))
        .key("alice-other-key", Auth::new("alice"))
        .key("bob-key", Auth::new("bob"));
    let router = Router::new()
        .extension(Tasks::new())
        .tool(
            "forever",
            tool(|| async {
                std::future::pending::<()>().await;
                "never"
            })
            .task(TaskSupport::Optional),
        )
        // A layer that names a requester of its own cannot widen what a subject sees.
        .layer(tower::util::MapRequestLayer::new(
            |mut request: oxmcp::server::middleware::McpRequest| {
                request
                    .extensions_mut()
                    .insert(Requester("everyone".into()));
                request
            },
        ));
    let resource = ProtectedResource::new(format!("http://{addr}/mcp"), keys);
    spawn_protected(router, listener, resource)
}

/// A modern request of a client that declared the tasks extension, with `token`.
async fn post(addr: SocketAddr, token: &str, method: &str, mut params: Value) -> Value {
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/clientCapabilities"] = json!({"extensions": {TASKS: {}}});
    params["_meta"] = meta;
    // `Mcp-Name`: the tool of a call, the task of a `tasks/*` request.
    let name = params["name"].as_str().or(params["taskId"].as_str());
    let name = name.map(str::to_owned);
    let response = post_modern(addr, Some(token), method, name.as_deref(), params).await;
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_task_belongs_to_the_auth_subject_across_requests_and_no_one_else() {
    let addr = serve().await;
    let created = post(
        addr,
        "alice-key",
        "tools/call",
        json!({"name": "forever", "arguments": {}}),
    )
    .await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();

    for method in ["tasks/get", "tasks/cancel"] {
        let answer = post(addr, "bob-key", method, json!({"taskId": id})).await;
        assert_eq!(
            answer["error"]["code"], -32602,
            "bob's {method} of alice's task: {answer}"
        );
    }
    // Alice, on another request (another token even), still finds it, untouched by bob.
    let got = post(addr, "alice-other-key", "tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    let cancelled = post(addr, "alice-key", "tasks/cancel", json!({"taskId": id})).await;
    assert!(cancelled.get("result").is_some(), "{cancelled}");
    let got = post(addr, "alice-key", "tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], "cancelled", "{got}");
}
