//! The same client features against oxmcp's own server, in both eras.

use std::sync::Arc;
use std::time::Duration;

use oxmcp::client::{ClientBuilder, EraChoice};
use oxmcp::protocol::{
    LoggingLevel, PromptReference, ResourceContents, ServerNotification, SubscriptionFilter,
};
use oxmcp::server::{prompt, resource, Args, Router};
use oxmcp::testing::TestClient;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::next;
use crate::support::{legacy, modern, SchemaTap};

#[derive(Deserialize, JsonSchema)]
struct Greeting {
    /// Who to greet.
    name: String,
}

async fn greet(Args(g): Args<Greeting>) -> String {
    format!("Say hello to {}.", g.name)
}

async fn noop() -> String {
    String::new()
}

fn router() -> Router {
    Router::new()
        .tool("noop", noop)
        .resource(
            "test://notes",
            resource(|| async { "remember the milk" })
                .name("notes")
                .mime_type("text/plain"),
        )
        .prompt(
            "greet",
            prompt(greet)
                .description("Greet someone")
                .complete("name", ["Ada", "Alan", "Grace"]),
        )
}

async fn connect(
    router: Router,
    era: EraChoice,
    client: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (TestClient, Arc<SchemaTap>) {
    let tap = SchemaTap::new();
    let seen = Arc::clone(&tap);
    let client = TestClient::builder(router)
        .era(era)
        .client(client)
        .on_frame(move |d, f| seen.see(d, f))
        .connect()
        .await
        .expect("connect");
    (client, tap)
}

#[tokio::test]
async fn typed_methods_in_both_eras() {
    for era in [legacy(), modern()] {
        let (client, tap) = connect(router(), era, |b| b).await;
        let resources = client.list_all_resources().await.unwrap();
        assert_eq!(resources[0].uri, "test://notes");
        let read = client.read_resource("test://notes").await.unwrap();
        match &read.contents[0] {
            ResourceContents::Text(t) => assert_eq!(t.text, "remember the milk"),
            other => panic!("{other:?}"),
        }
        let missing = client.read_resource("test://nope").await.unwrap_err();
        let expected = client.protocol_version().resource_not_found_code();
        assert_eq!(missing.rpc_error().unwrap().code, expected, "{era:?}");
        let prompts = client.list_all_prompts().await.unwrap();
        assert_eq!(prompts[0].name, "greet");
        let got = client
            .get_prompt("greet", json!({"name": "Ada"}))
            .await
            .unwrap();
        assert_eq!(got.messages[0].content.as_text(), Some("Say hello to Ada."));
        let done = client
            .complete(PromptReference::new("greet"), "name", "A", ())
            .await
            .unwrap();
        assert_eq!(done.completion.values, ["Ada", "Alan"]);
        client.set_log_level(LoggingLevel::Debug).await.unwrap();
        client.ping().await.unwrap();
        tap.assert_clean();
    }
}

#[tokio::test]
async fn change_notifications_in_both_eras() {
    // Legacy: resources/subscribe, then updates reach the notification callback.
    let server = router();
    let handle = server.handle();
    let (tx, mut notifications) = mpsc::unbounded_channel();
    let (client, tap) = connect(server, legacy(), move |b| {
        b.on_notification(move |n| {
            let _ = tx.send(n);
        })
    })
    .await;
    client.subscribe_resource("test://notes").await.unwrap();
    handle.notify_resource_updated("test://notes");
    match next(&mut notifications).await {
        ServerNotification::ResourceUpdated(p) => assert_eq!(p.uri, "test://notes"),
        other => panic!("{other:?}"),
    }
    handle.add_tool("second", noop).unwrap();
    assert!(matches!(
        next(&mut notifications).await,
        ServerNotification::ToolListChanged(_)
    ));
    client.unsubscribe_resource("test://notes").await.unwrap();
    tap.assert_clean();

    // Modern: a listen stream.
    let server = router();
    let handle = server.handle();
    let (tx, mut general) = mpsc::unbounded_channel();
    let (client, tap) = connect(server, modern(), move |b| {
        b.on_notification(move |n| {
            let _ = tx.send(n);
        })
    })
    .await;
    let filter = SubscriptionFilter::new()
        .with_tools_list_changed(true)
        .with_resource_subscriptions(vec!["test://notes".into()]);
    let mut subscription = client.listen(filter).await.unwrap();
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));
    handle.add_tool("second", noop).unwrap();
    assert!(matches!(
        subscription.next().await,
        Some(Ok(ServerNotification::ToolListChanged(_)))
    ));
    handle.notify_resource_updated("test://notes");
    match subscription.next().await {
        Some(Ok(ServerNotification::ResourceUpdated(p))) => assert_eq!(p.uri, "test://notes"),
        other => panic!("{other:?}"),
    }
    subscription.close().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    handle.add_tool("third", noop).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(general.try_recv().is_err(), "nothing reaches the callback");
    assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
    tap.assert_clean();
}
