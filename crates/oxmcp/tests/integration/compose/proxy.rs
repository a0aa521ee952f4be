//! `Proxy`: a server reached by a client, served as a router, in every pairing of eras.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::{CallOptions, Client, EraChoice};
use oxmcp::protocol::{ElicitRequestParams, ElicitResult};
use oxmcp::server::ask::Elicitation;
use oxmcp::server::compose::Proxy;
use oxmcp::server::{prompt, resource, Args, Context, Router, ToolError, Uri};
use oxmcp::testing::TestClient;
use oxmcp::Progress;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{text, tool_names};
use crate::support::{legacy, modern};

#[derive(Deserialize, JsonSchema)]
struct Echo {
    text: String,
}

async fn echo(Args(e): Args<Echo>) -> String {
    format!("echo: {}", e.text)
}

async fn greet(Args(e): Args<Echo>) -> String {
    format!("hello {}", e.text)
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

async fn item(Uri(id): Uri<Id>) -> String {
    format!("item {}", id.id)
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

async fn ask_name(ctx: Context) -> Result<String, ToolError> {
    match ctx.elicit::<Name>("Your name?").await? {
        Elicitation::Accept(n) => Ok(format!("hi {}", n.name)),
        _ => Ok("declined".into()),
    }
}

/// How many back-end `slow` calls saw their cancellation.
static BACK_END_CANCELLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Waits (5 s at most) for a back-end call to be cancelled after `before` were.
async fn back_end_cancelled_since(before: usize) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while BACK_END_CANCELLED.load(std::sync::atomic::Ordering::SeqCst) == before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the back-end call is cancelled within 5 s");
}

/// Counts a back-end call that ends before it finished (dropped: cancelled).
struct Unfinished(bool);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.0 {
            BACK_END_CANCELLED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

async fn slow(ctx: Context) -> String {
    let mut guard = Unfinished(false);
    ctx.progress(Progress::new(1.0).total(2.0).message("half"))
        .await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    guard.0 = true;
    "done".into()
}

fn back_end() -> Router {
    Router::new()
        .name("back")
        .instructions("use echo")
        .tool("echo", echo)
        .tool("ask_name", ask_name)
        .tool("slow", slow)
        .prompt("greet", prompt(greet).complete("text", ["world", "wide"]))
        .resource(
            "mem://readme",
            resource(|| async { "read me" }).mime_type("text/plain"),
        )
        .resource_template("mem://items/{id}", item)
}

/// The back end served on one end of a pipe, the proxy's client on the other.
pub(super) async fn proxied(back: Router, back_era: EraChoice) -> Router {
    proxied_with(Proxy::new(), back, back_era).await
}

async fn proxied_with(proxy: Proxy, back: Router, back_era: EraChoice) -> Router {
    let (a, b) = tokio::io::duplex(1 << 16);
    let (ar, aw) = tokio::io::split(a);
    tokio::spawn(back.serve_io(ar, aw));
    let (br, bw) = tokio::io::split(b);
    let client = proxy
        .client(Client::builder().era(back_era))
        .connect_io(br, bw)
        .await
        .expect("connect to the back end");
    proxy.router(client).await.expect("list the back end")
}

/// A legacy client of `router`, and the notifications it receives.
async fn listening(
    router: Router,
) -> (
    TestClient,
    tokio::sync::mpsc::UnboundedReceiver<oxmcp::protocol::message::ServerNotification>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = TestClient::builder(router)
        .era(legacy())
        .client(|b| {
            b.on_notification(move |n| {
                let _ = tx.send(n);
            })
        })
        .connect()
        .await
        .expect("connect to the proxy");
    (client, rx)
}

pub(super) fn pairs() -> [(EraChoice, EraChoice); 4] {
    [
        (legacy(), legacy()),
        (legacy(), modern()),
        (modern(), legacy()),
        (modern(), modern()),
    ]
}

pub(super) async fn front(router: Router, era: EraChoice) -> TestClient {
    TestClient::builder(router)
        .era(era)
        .client(|b| {
            b.on_elicitation(|request| async move {
                let ElicitRequestParams::Form(form) = request else {
                    return Ok(ElicitResult::new(oxmcp::protocol::ElicitAction::Decline));
                };
                assert_eq!(form.message, "Your name?");
                let mut answer = serde_json::Map::new();
                answer.insert("name".into(), "Ada".into());
                Ok(ElicitResult::accept(answer))
            })
        })
        .connect()
        .await
        .expect("connect to the proxy")
}

#[tokio::test]
async fn everything_listed_passes_through_in_every_pairing_of_eras() {
    for (front_era, back_era) in pairs() {
        let client = front(proxied(back_end(), back_era).await, front_era).await;
        let what = format!("{front_era:?} front, {back_era:?} back");
        let details = client.client().server();
        assert_eq!(details.instructions.as_deref(), Some("use echo"), "{what}");
        assert_eq!(
            tool_names(&client).await,
            ["echo", "ask_name", "slow"],
            "{what}"
        );
        let r = client
            .call_tool("echo", json!({"text": "x"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "echo: x", "{what}");
        let e = client.call_tool("nope", json!({})).await.unwrap_err();
        assert_eq!(e.rpc_code(), Some(-32602), "{what}: {e}");

        let p = client
            .get_prompt("greet", json!({"text": "you"}))
            .await
            .unwrap();
        assert!(
            serde_json::to_string(&p).unwrap().contains("hello you"),
            "{what}"
        );
        let c = client
            .complete(
                oxmcp::protocol::completion::PromptReference::new("greet"),
                "text",
                "w",
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(c.completion.values, ["world", "wide"], "{what}");

        let read = client.read_resource("mem://readme").await.unwrap();
        let read = serde_json::to_value(&read.contents[0]).unwrap();
        assert_eq!(read["text"], "read me", "{what}");
        assert_eq!(read["mimeType"], "text/plain", "{what}");
        let read = client.read_resource("mem://items/7").await.unwrap();
        assert_eq!(
            serde_json::to_value(&read.contents[0]).unwrap()["text"],
            "item 7",
            "{what}"
        );
        let templates = client.list_all_resource_templates().await.unwrap();
        assert_eq!(templates[0].uri_template, "mem://items/{id}", "{what}");
    }
}

/// The back end's question reaches the proxy's client in its own era, and the answer
/// goes back: real requests, `InputRequiredResult` rounds, and both translations.
#[tokio::test]
async fn questions_are_relayed_in_every_pairing_of_eras() {
    for (front_era, back_era) in pairs() {
        let client = front(proxied(back_end(), back_era).await, front_era).await;
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            client.call_tool("ask_name", json!({})),
        )
        .await
        .expect("answered within 5 s")
        .unwrap();
        assert_eq!(text(&r), "hi Ada", "{front_era:?} front, {back_era:?} back");
    }
}

/// Progress of the back-end call reaches the front request; cancelling the front request
/// cancels the back-end call.
#[tokio::test]
async fn progress_and_cancellation_pass_through() {
    for (front_era, back_era) in [(legacy(), legacy()), (modern(), modern())] {
        let client = front(proxied(back_end(), back_era).await, front_era).await;
        let cancelled_count = BACK_END_CANCELLED.load(std::sync::atomic::Ordering::SeqCst);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (progressed, got) = (tokio::sync::mpsc::unbounded_channel::<()>(), seen.clone());
        let (tx, mut rx) = progressed;
        let token = tokio_util::sync::CancellationToken::new();
        let options = CallOptions::new()
            .on_progress(move |p| {
                got.lock().unwrap().push((p.progress, p.total, p.message));
                let _ = tx.send(());
            })
            .cancel_on(token.clone());
        let call = client.call_tool_with("slow", json!({}), options);
        let cancel = async {
            rx.recv().await;
            token.cancel();
        };
        let (outcome, ()) =
            tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(call, cancel) })
                .await
                .expect("cancelled within 5 s");
        assert!(
            outcome.is_err(),
            "a cancelled call fails on the client's side"
        );
        let before = cancelled_count;
        back_end_cancelled_since(before).await;
        assert_eq!(
            *seen.lock().unwrap(),
            [(1.0, Some(2.0), Some("half".to_owned()))]
        );
    }
}

/// The back end's list changes reach the proxy's clients, with the new list.
#[tokio::test]
async fn list_changes_pass_through() {
    for back_era in [legacy(), modern()] {
        let back = back_end();
        let handle = back.handle();
        let router = proxied(back, back_era).await;
        let (client, mut rx) = listening(router).await;
        handle.add_tool("late", || async { "late" }).unwrap();
        let note = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("notified within 5 s")
            .unwrap();
        assert!(
            matches!(
                note,
                oxmcp::protocol::message::ServerNotification::ToolListChanged(_)
            ),
            "{note:?}"
        );
        assert!(tool_names(&client).await.contains(&"late".to_owned()));
        let r = client.call_tool("late", json!({})).await.unwrap();
        assert_eq!(text(&r), "late");
    }
}

/// An update of a back-end resource reaches the proxy's subscribers.
#[tokio::test]
async fn resource_updates_pass_through() {
    for back_era in [legacy(), modern()] {
        let back = back_end();
        let handle = back.handle();
        let router = proxied(back, back_era).await;
        let (client, mut rx) = listening(router).await;
        client.subscribe_resource("mem://readme").await.unwrap();
        handle.notify_resource_updated("mem://readme");
        let note = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("notified within 5 s")
            .unwrap();
        let oxmcp::protocol::message::ServerNotification::ResourceUpdated(updated) = note else {
            panic!("expected a resource update, got {note:?}");
        };
        assert_eq!(updated.uri, "mem://readme", "{back_era:?} back");
    }
}

/// A proxy mounts like any router: namespaced, and the back end's later changes reach
/// the mounting router's clients.
#[tokio::test]
async fn a_mounted_proxy_follows_its_back_end() {
    let back = back_end();
    let handle = back.handle();
    let router: Router = Router::new().mount("back", proxied(back, modern()).await);
    let (client, mut rx) = listening(router).await;
    let r = client
        .call_tool("back_echo", json!({"text": "via mount"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "echo: via mount");
    handle.add_tool("late", || async { "late" }).unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("notified within 5 s");
    let r = client.call_tool("back_late", json!({})).await.unwrap();
    assert_eq!(text(&r), "late");
}

/// A back-end call past the proxy's timeout fails at the front, and is cancelled at the
/// back end.
#[tokio::test]
async fn a_back_end_call_past_the_proxy_timeout_fails() {
    let proxy = Proxy::new().timeout(Duration::from_millis(200));
    let router = proxied_with(proxy, back_end(), modern()).await;
    let client = front(router, legacy()).await;
    let before = BACK_END_CANCELLED.load(std::sync::atomic::Ordering::SeqCst);
    let outcome = tokio::time::timeout(Duration::from_secs(5), client.call_tool("slow", json!({})))
        .await
        .expect("answered within 5 s");
    let message = match outcome {
        Ok(result) => text(&result),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("time"), "{message}");
    back_end_cancelled_since(before).await;
}
