//! `subscriptions/listen` (2026-07-28): acknowledgement, tagged notifications routed to
//! their subscription, cancellation when the subscription is dropped.

use std::time::Duration;

use oxmcp::client::Client;
use oxmcp::protocol::{ServerNotification, SubscriptionFilter};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{legacy, modern, next, Fake};

/// `_meta` tagging a notification with subscription `id`.
fn tagged(id: &Value, mut params: Value) -> Value {
    params["_meta"] = json!({"io.modelcontextprotocol/subscriptionId": id});
    params
}

async fn acknowledge(fake: &mut Fake, listen: &Value, agreed: Value) {
    fake.notify(
        "notifications/subscriptions/acknowledged",
        tagged(&listen["id"], json!({"notifications": agreed})),
    )
    .await;
}

#[tokio::test]
async fn notifications_of_a_subscription_reach_it_and_dropping_cancels() {
    let (tx, mut general) = mpsc::unbounded_channel();
    let builder = Client::builder().on_notification(move |n| tx.send(n).unwrap());
    let (client, mut fake, _) = modern(builder).await;
    let filter = SubscriptionFilter::new()
        .with_tools_list_changed(true)
        .with_prompts_list_changed(true)
        .with_resource_subscriptions(vec!["file:///notes.txt".into()]);

    let listening = client.listen(filter);
    let serve = async {
        let listen = fake.recv_request("subscriptions/listen").await;
        assert_eq!(
            listen["params"]["notifications"],
            json!({"toolsListChanged": true, "promptsListChanged": true,
                   "resourceSubscriptions": ["file:///notes.txt"]})
        );
        assert_eq!(
            listen["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        // The server has no prompts: it leaves them out of what it agrees to.
        acknowledge(
            &mut fake,
            &listen,
            json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///notes.txt"]}),
        )
        .await;
        listen
    };
    let (subscription, listen) = tokio::join!(listening, serve);
    let mut subscription = subscription.expect("the server acknowledged");
    assert_eq!(json!(subscription.id()), listen["id"]);
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));
    assert_eq!(subscription.acknowledged().prompts_list_changed, None);

    // Tagged: the subscription's. Untagged (a log of some request): the general callback.
    fake.notify(
        "notifications/tools/list_changed",
        tagged(&listen["id"], json!({})),
    )
    .await;
    fake.notify(
        "notifications/message",
        json!({"level": "info", "data": "untagged"}),
    )
    .await;
    fake.notify(
        "notifications/resources/updated",
        tagged(&listen["id"], json!({"uri": "file:///notes.txt"})),
    )
    .await;

    let first = subscription.next().await.unwrap().unwrap();
    assert!(
        matches!(first, ServerNotification::ToolListChanged(_)),
        "{first:?}"
    );
    match subscription.next().await.unwrap().unwrap() {
        ServerNotification::ResourceUpdated(p) => assert_eq!(p.uri, "file:///notes.txt"),
        other => panic!("expected resources/updated, got {other:?}"),
    }
    assert!(matches!(
        next(&mut general).await,
        ServerNotification::LoggingMessage(_)
    ));
    assert!(general.try_recv().is_err(), "tagged notifications stay out");

    // Dropping the subscription cancels the listen request.
    drop(subscription);
    let cancelled = fake.recv_notification("notifications/cancelled").await;
    assert_eq!(cancelled["params"]["requestId"], listen["id"]);
    // Stragglers tagged with the closed subscription go nowhere.
    fake.notify(
        "notifications/tools/list_changed",
        tagged(&listen["id"], json!({})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(general.try_recv().is_err());
    fake.assert_clean();
}

#[tokio::test]
async fn two_subscriptions_are_kept_apart_and_can_end() {
    let (client, mut fake, _) = modern(Client::builder()).await;
    let open = |filter| {
        let client = client.clone();
        async move { client.listen(filter).await }
    };
    let tools = SubscriptionFilter::new().with_tools_list_changed(true);
    let resources = SubscriptionFilter::new().with_resources_list_changed(true);

    let (a, listen_a) = tokio::join!(open(tools.clone()), async {
        let listen = fake.recv_request("subscriptions/listen").await;
        acknowledge(&mut fake, &listen, json!({"toolsListChanged": true})).await;
        listen
    });
    let (b, listen_b) = tokio::join!(open(resources), async {
        let listen = fake.recv_request("subscriptions/listen").await;
        acknowledge(&mut fake, &listen, json!({"resourcesListChanged": true})).await;
        listen
    });
    let (mut a, mut b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.id(), b.id());

    fake.notify(
        "notifications/resources/list_changed",
        tagged(&listen_b["id"], json!({})),
    )
    .await;
    fake.notify(
        "notifications/tools/list_changed",
        tagged(&listen_a["id"], json!({})),
    )
    .await;
    assert!(matches!(
        a.next().await,
        Some(Ok(ServerNotification::ToolListChanged(_)))
    ));
    assert!(matches!(
        b.next().await,
        Some(Ok(ServerNotification::ResourceListChanged(_)))
    ));

    // The server ends subscription b gracefully: its stream ends.
    fake.reply(
        &listen_b,
        json!({"resultType": "complete",
               "_meta": {"io.modelcontextprotocol/subscriptionId": listen_b["id"]}}),
    )
    .await;
    assert!(b.next().await.is_none());
    assert!(b.next().await.is_none());

    // Closing a: the server is told before close returns.
    a.close().await;
    let cancelled = fake.recv_notification("notifications/cancelled").await;
    assert_eq!(cancelled["params"]["requestId"], listen_a["id"]);
    fake.assert_clean();
}

#[tokio::test]
async fn a_refused_listen_is_an_error_and_legacy_servers_have_none() {
    let (client, mut fake, _) = modern(Client::builder()).await;
    let listening = client.listen(SubscriptionFilter::new().with_tools_list_changed(true));
    let serve = async {
        let listen = fake.recv_request("subscriptions/listen").await;
        fake.reply_error(&listen, -32601, "Method not found").await;
    };
    let (result, ()) = tokio::join!(listening, serve);
    assert_eq!(result.unwrap_err().rpc_error().unwrap().code, -32601);

    // A connection that closes mid-stream ends the subscription with an error.
    let listening = client.listen(SubscriptionFilter::new().with_tools_list_changed(true));
    let serve = async {
        let listen = fake.recv_request("subscriptions/listen").await;
        acknowledge(&mut fake, &listen, json!({"toolsListChanged": true})).await;
    };
    let (subscription, ()) = tokio::join!(listening, serve);
    let mut subscription = subscription.unwrap();
    fake.assert_clean();
    drop(fake);
    let end = tokio::time::timeout(Duration::from_secs(2), subscription.next())
        .await
        .expect("the stream ends when the connection does");
    assert!(end.unwrap().unwrap_err().is_closed());
    assert!(subscription.next().await.is_none());

    let (client, fake, _) = legacy(Client::builder()).await;
    let err = client.listen(SubscriptionFilter::new()).await.unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    assert!(err.to_string().contains("subscribe_resource"), "{err}");
    fake.assert_clean();
}

#[tokio::test]
async fn listen_gives_up_when_no_acknowledgement_comes() {
    let builder = Client::builder().request_timeout(Some(Duration::from_millis(150)));
    let (client, mut fake, _) = modern(builder).await;
    let listening = client.listen(SubscriptionFilter::new().with_tools_list_changed(true));
    let serve = async {
        let listen = fake.recv_request("subscriptions/listen").await;
        let cancelled = fake.recv_notification("notifications/cancelled").await;
        assert_eq!(cancelled["params"]["requestId"], listen["id"]);
    };
    let (result, ()) = tokio::join!(listening, serve);
    assert!(result.unwrap_err().is_timeout());
    fake.assert_clean();
}
