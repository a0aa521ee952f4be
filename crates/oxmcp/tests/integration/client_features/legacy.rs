//! Legacy servers ask with real JSON-RPC requests; the client's handlers answer them.

use std::sync::{Arc, Mutex};

use oxmcp::client::Client;
use oxmcp::protocol::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitRequestParams, ElicitResult, ErrorObject, LoggingLevel, Role, Root,
    SamplingMessageContent, ServerNotification,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{legacy, next};

fn sampling_params() -> Value {
    json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}],
        "systemPrompt": "Be brief.",
        "maxTokens": 50
    })
}

fn form_params() -> Value {
    json!({
        "message": "Your GitHub login?",
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}},
                            "required": ["name"]}
    })
}

fn url_params() -> Value {
    json!({"mode": "url", "message": "Sign in", "url": "https://example.test/login",
           "elicitationId": "e-1"})
}

/// A builder with every handler; the sampling and elicitation handlers record what they got.
fn answering_builder(
    seen_sampling: Arc<Mutex<Vec<CreateMessageRequestParams>>>,
    seen_elicitation: Arc<Mutex<Vec<ElicitRequestParams>>>,
) -> oxmcp::client::ClientBuilder {
    Client::builder()
        .on_sampling(move |params| {
            seen_sampling.lock().unwrap().push(params);
            async {
                Ok(CreateMessageResult::new(
                    Role::Assistant,
                    SamplingMessageContent::text("Paris."),
                    "test-model",
                )
                .with_stop_reason("endTurn"))
            }
        })
        .on_elicitation(move |params| {
            seen_elicitation.lock().unwrap().push(params.clone());
            async move {
                Ok(match params {
                    ElicitRequestParams::Form(_) => {
                        let mut content = serde_json::Map::new();
                        content.insert("name".into(), json!("octocat"));
                        ElicitResult::accept(content)
                    }
                    ElicitRequestParams::Url(_) => ElicitResult::new(ElicitAction::Decline),
                })
            }
        })
        .roots(vec![
            Root::new("file:///work/repo").with_name("repo"),
            Root::new("file:///tmp"),
        ])
}

#[tokio::test]
async fn server_requests_reach_the_handlers() {
    let seen_sampling = Arc::default();
    let seen_elicitation = Arc::default();
    let builder = answering_builder(Arc::clone(&seen_sampling), Arc::clone(&seen_elicitation));
    let (client, mut fake, initialize) = legacy(builder).await;
    // Setting the handlers declared the capabilities.
    assert_eq!(
        initialize["params"]["capabilities"],
        json!({"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {}})
    );

    let response = fake
        .ask("s-1", "sampling/createMessage", sampling_params())
        .await;
    assert_eq!(
        response["result"],
        json!({"role": "assistant", "content": {"type": "text", "text": "Paris."},
               "model": "test-model", "stopReason": "endTurn"})
    );
    let sampled = seen_sampling
        .lock()
        .unwrap()
        .pop()
        .expect("sampling handler called");
    assert_eq!(sampled.max_tokens, 50);
    assert_eq!(sampled.system_prompt.as_deref(), Some("Be brief."));

    let response = fake.ask("e-1", "elicitation/create", form_params()).await;
    assert_eq!(
        response["result"],
        json!({"action": "accept", "content": {"name": "octocat"}})
    );
    let response = fake.ask("e-2", "elicitation/create", url_params()).await;
    assert_eq!(response["result"], json!({"action": "decline"}));
    let modes: Vec<_> = seen_elicitation
        .lock()
        .unwrap()
        .iter()
        .map(|p| (p.mode(), p.message().to_owned()))
        .collect();
    assert_eq!(
        modes,
        [
            (
                oxmcp::protocol::ElicitationMode::Form,
                "Your GitHub login?".to_owned()
            ),
            (oxmcp::protocol::ElicitationMode::Url, "Sign in".to_owned())
        ]
    );

    let response = fake.ask("r-1", "roots/list", Value::Null).await;
    assert_eq!(
        response["result"],
        json!({"roots": [{"uri": "file:///work/repo", "name": "repo"}, {"uri": "file:///tmp"}]})
    );
    let response = fake.ask("p-1", "ping", Value::Null).await;
    assert_eq!(response["result"], json!({}));
    fake.assert_clean();
    drop(client);
}

#[tokio::test]
async fn questions_without_a_handler_are_method_not_found() {
    let (client, mut fake, initialize) = legacy(Client::builder()).await;
    assert_eq!(initialize["params"]["capabilities"], json!({}));
    for (id, method, params) in [
        ("1", "sampling/createMessage", sampling_params()),
        ("2", "elicitation/create", form_params()),
        ("3", "roots/list", Value::Null),
        ("4", "tasks/list", Value::Null),
    ] {
        let response = fake.ask(id, method, params).await;
        assert_eq!(response["error"]["code"], -32601, "{method}: {response}");
    }
    fake.assert_clean();
    drop(client);
}

#[tokio::test]
async fn bad_params_and_handler_errors_are_json_rpc_errors() {
    let builder = Client::builder()
        .on_sampling(|_| async { Err(ErrorObject::new(-1, "User rejected sampling request")) })
        .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Cancel)) });
    let (client, mut fake, _) = legacy(builder).await;
    let response = fake
        .ask("1", "sampling/createMessage", sampling_params())
        .await;
    assert_eq!(
        response["error"],
        json!({"code": -1, "message": "User rejected sampling request"})
    );
    // Missing maxTokens and messages.
    let response = fake
        .ask("2", "sampling/createMessage", json!({"systemPrompt": "x"}))
        .await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    // Cancel is an answer, not an error.
    let response = fake.ask("3", "elicitation/create", form_params()).await;
    assert_eq!(response["result"], json!({"action": "cancel"}));
    // The second request is deliberately invalid, so the tap is not asserted here.
    drop(client);
}

#[tokio::test]
async fn explicit_capabilities_are_declared_as_given() {
    let only_roots = ClientCapabilities::new().with_roots(Default::default());
    // Handlers set before or after: the explicit capabilities win either way.
    let builder = Client::builder()
        .on_sampling(|_| async { Err(ErrorObject::internal("unused")) })
        .capabilities(only_roots.clone())
        .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Decline)) });
    let (client, fake, initialize) = legacy(builder).await;
    assert_eq!(initialize["params"]["capabilities"], json!({"roots": {}}));
    fake.assert_clean();
    drop(client);
}

#[tokio::test]
async fn notifications_arrive_typed() {
    let (tx, mut notifications) = mpsc::unbounded_channel();
    let (log_tx, mut logs) = mpsc::unbounded_channel();
    let builder = Client::builder()
        .on_notification(move |n| tx.send(n).unwrap())
        .on_log(move |l| log_tx.send(l).unwrap());
    let (client, mut fake, _) = legacy(builder).await;

    fake.notify(
        "notifications/message",
        json!({"level": "warning", "logger": "db", "data": {"slow": true}}),
    )
    .await;
    let log = next(&mut logs).await;
    assert_eq!(log.level, LoggingLevel::Warning);
    assert_eq!(log.logger.as_deref(), Some("db"));
    assert_eq!(log.data, json!({"slow": true}));
    // The log message reaches the general callback too.
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::LoggingMessage(_)
    ));

    fake.notify("notifications/tools/list_changed", json!({}))
        .await;
    fake.notify("notifications/resources/list_changed", json!({}))
        .await;
    fake.notify("notifications/prompts/list_changed", json!({}))
        .await;
    fake.notify(
        "notifications/resources/updated",
        json!({"uri": "file:///notes.txt"}),
    )
    .await;
    fake.notify(
        "notifications/elicitation/complete",
        json!({"elicitationId": "e-1"}),
    )
    .await;
    // Progress for no request in flight is handed over too.
    fake.notify(
        "notifications/progress",
        json!({"progressToken": "stale", "progress": 1}),
    )
    .await;
    // Unknown notifications are dropped.
    fake.notify("notifications/custom/thing", json!({})).await;
    fake.notify("notifications/tools/list_changed", json!({}))
        .await;

    assert_eq!(
        next(&mut notifications).await,
        ServerNotification::ToolListChanged(Some(Default::default()))
    );
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::ResourceListChanged(_)
    ));
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::PromptListChanged(_)
    ));
    match next(&mut notifications).await {
        ServerNotification::ResourceUpdated(p) => assert_eq!(p.uri, "file:///notes.txt"),
        other => panic!("expected resources/updated, got {other:?}"),
    }
    match next(&mut notifications).await {
        ServerNotification::ElicitationComplete(p) => assert_eq!(p.elicitation_id, "e-1"),
        other => panic!("expected elicitation/complete, got {other:?}"),
    }
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::Progress(_)
    ));
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::ToolListChanged(_)
    ));
    assert!(notifications.try_recv().is_err());
    fake.assert_clean();
    drop(client);
}

#[tokio::test]
async fn a_panicking_callback_does_not_break_the_connection() {
    let builder = Client::builder()
        .on_notification(|_| panic!("callback bug"))
        .on_roots(|| async { panic!("handler bug") });
    let (client, mut fake, _) = legacy(builder).await;
    fake.notify("notifications/tools/list_changed", json!({}))
        .await;
    let response = fake.ask("r", "roots/list", Value::Null).await;
    assert_eq!(response["error"]["code"], -32603);
    // The connection still works.
    let call = async { client.list_all_tools().await.unwrap() };
    let serve = async {
        let request = fake.recv_request("tools/list").await;
        fake.reply(&request, json!({"tools": []})).await;
    };
    let (tools, ()) = tokio::join!(call, serve);
    assert!(tools.is_empty());
    fake.assert_clean();
}
