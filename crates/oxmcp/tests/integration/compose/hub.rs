//! `Hub`: many back ends in one router, namespaced, filtered, timed out, restarted.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use oxmcp::client::ClientBuilder;
use oxmcp::server::compose::{Backend, Hub, HubConfig, Mount, Transform};
use oxmcp::server::{tool, Args, Router};
use oxmcp::testing::TestClient;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};

use super::{text, tool_names};

#[derive(Deserialize, JsonSchema)]
struct Text {
    text: String,
}

async fn echo(Args(t): Args<Text>) -> String {
    format!("echo: {}", t.text)
}

async fn greet(Args(t): Args<Text>) -> String {
    format!("hello {}", t.text)
}

async fn slow() -> String {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late".into()
}

/// Makes a [`Tap`] end its input: the server behind it sees end of input and stops, as a
/// child process whose stdin closes.
#[derive(Default)]
struct Dead {
    yes: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Dead {
    fn kill(&self) {
        self.yes.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// Reads through to `inner`, counting the `tools/list` requests that pass, until killed.
struct Tap<R> {
    inner: R,
    lists: Arc<AtomicUsize>,
    dead: Arc<Dead>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Tap<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        *self.dead.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.dead.yes.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = String::from_utf8_lossy(&buf.filled()[before..]).into_owned();
        self.lists
            .fetch_add(read.matches("\"tools/list\"").count(), Ordering::SeqCst);
        poll
    }
}

/// A back end made by `make` for each (re)start, served on a pipe; the latest start can be
/// stopped (the back end dies), and starts and `tools/list` requests are counted.
#[derive(Clone, Default)]
struct Spawner {
    running: Arc<Mutex<Option<Arc<Dead>>>>,
    starts: Arc<AtomicUsize>,
    lists: Arc<AtomicUsize>,
}

impl Spawner {
    fn backend(&self, name: &str, make: fn() -> Router) -> Backend {
        let this = self.clone();
        Backend::new(name, move |builder: ClientBuilder| {
            let this = this.clone();
            async move {
                let (a, b) = tokio::io::duplex(1 << 16);
                let (ar, aw) = tokio::io::split(a);
                let dead = Arc::new(Dead::default());
                let tap = Tap {
                    inner: ar,
                    lists: this.lists.clone(),
                    dead: dead.clone(),
                };
                tokio::spawn(make().serve_io(tap, aw));
                *this.running.lock().unwrap() = Some(dead);
                this.starts.fetch_add(1, Ordering::SeqCst);
                let (br, bw) = tokio::io::split(b);
                builder.connect_io(br, bw).await
            }
        })
    }

    fn kill(&self) {
        if let Some(dead) = self.running.lock().unwrap().take() {
            dead.kill();
        }
    }
}

fn alpha() -> Router {
    Router::new()
        .tool("echo", echo)
        .tool("greet", greet)
        .tool("slow", slow)
}

fn beta() -> Router {
    Router::new().tool("echo", echo)
}

/// The tools a client lists, sorted.
async fn sorted_names(client: &TestClient) -> Vec<String> {
    let mut names = tool_names(client).await;
    names.sort();
    names
}

/// Waits (5 s at most) until the client lists exactly `names` (sorted), in any order.
async fn lists(client: &TestClient, names: &[&str]) {
    let listed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let now = sorted_names(client).await;
            if now == names {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        listed.is_ok(),
        "the hub lists {names:?} within 5 s; it lists {:?}",
        sorted_names(client).await
    );
}

#[tokio::test]
async fn several_back_ends_are_namespaced_filtered_and_renamed() {
    let (a, b) = (Spawner::default(), Spawner::default());
    let hub = Hub::new()
        .backend(a.backend("alpha", alpha).deny(["slow"]))
        .backend(b.backend("beta", beta).transform(
            "echo",
            Transform::new().rename("shout").description("Shout it"),
        ))
        .backend(a.backend("gamma", alpha).allow(["greet"]))
        .router_backend(Mount::new("local"), Router::new().tool("greet", greet));
    let client = TestClient::new(hub.router().await.unwrap()).await.unwrap();
    assert_eq!(
        sorted_names(&client).await,
        [
            "alpha_echo",
            "alpha_greet",
            "beta_shout",
            "gamma_greet",
            "local_greet"
        ]
    );
    let tools = client.list_all_tools().await.unwrap();
    let shout = tools.iter().find(|t| t.name == "beta_shout").unwrap();
    assert_eq!(shout.description.as_deref(), Some("Shout it"));

    let result = client
        .call_tool("beta_shout", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "echo: hi");
    let result = client
        .call_tool("gamma_greet", json!({"text": "you"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "hello you");
    let denied = client.call_tool("alpha_slow", json!({})).await;
    assert!(denied.is_err(), "a denied tool cannot be called");
}

#[tokio::test]
async fn a_dead_back_end_is_hidden_then_restarted_and_shown() {
    let (steady, flaky) = (Spawner::default(), Spawner::default());
    let hub = Hub::new().backend(steady.backend("steady", beta)).backend(
        flaky
            .backend("flaky", beta)
            .backoff(Duration::from_millis(300), Duration::from_secs(1)),
    );
    let (client, mut notes) = super::noted_client(hub.router().await.unwrap()).await;
    lists(&client, &["flaky_echo", "steady_echo"]).await;
    assert_eq!(flaky.starts.load(Ordering::SeqCst), 1);

    flaky.kill();
    // Hidden while it is down (the first restart waits 300 ms)...
    lists(&client, &["steady_echo"]).await;
    let note = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .expect("the hub tells its client the list changed");
    assert!(matches!(
        note,
        Some(oxmcp::protocol::message::ServerNotification::ToolListChanged(_))
    ));
    // ...and back, restarted, with its tools callable again.
    lists(&client, &["flaky_echo", "steady_echo"]).await;
    assert_eq!(flaky.starts.load(Ordering::SeqCst), 2);
    let result = client
        .call_tool("flaky_echo", json!({"text": "again"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "echo: again");
    assert_eq!(steady.starts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_back_end_that_cannot_be_reached_is_retried() {
    let tries = Arc::new(AtomicUsize::new(0));
    let counted = tries.clone();
    let down = Backend::new("down", move |builder: ClientBuilder| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                // Refused: the pipe's far end is gone at once.
                let (a, b) = tokio::io::duplex(64);
                drop(a);
                let (br, bw) = tokio::io::split(b);
                return builder.connect_io(br, bw).await;
            }
            let (a, b) = tokio::io::duplex(1 << 16);
            let (ar, aw) = tokio::io::split(a);
            tokio::spawn(beta().serve_io(ar, aw));
            let (br, bw) = tokio::io::split(b);
            builder.connect_io(br, bw).await
        }
    })
    .backoff(Duration::from_millis(20), Duration::from_millis(50));
    let client = TestClient::new(Hub::new().backend(down).router().await.unwrap())
        .await
        .unwrap();
    lists(&client, &["down_echo"]).await;
    assert_eq!(tries.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn each_back_end_has_its_own_timeout() {
    let (a, b) = (Spawner::default(), Spawner::default());
    let hub = Hub::new()
        .backend(
            a.backend("quick", alpha)
                .timeout(Duration::from_millis(200)),
        )
        .backend(b.backend("patient", alpha));
    let client = TestClient::new(hub.router().await.unwrap()).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        client.call_tool("quick_slow", json!({})),
    )
    .await
    .expect("the hub answers within 5 s");
    let message = match outcome {
        Ok(result) => {
            assert_eq!(result.is_error, Some(true));
            text(&result)
        }
        Err(e) => e.to_string(),
    };
    assert!(message.contains("time"), "says it timed out: {message}");
    // The other back end's calls are not bounded by it.
    let patient = tokio::time::timeout(
        Duration::from_millis(500),
        client.call_tool("patient_slow", json!({})),
    )
    .await;
    assert!(patient.is_err(), "the patient back end's call still runs");
}

#[tokio::test]
async fn listings_are_cached_and_refreshed_on_list_changed() {
    let spawner = Spawner::default();
    let back = Router::new().tool("echo", echo);
    let handle = back.handle();
    let slot = Arc::new(Mutex::new(Some(back)));
    let lists_seen = spawner.lists.clone();
    let backend = Backend::new("live", move |builder: ClientBuilder| {
        let back = slot.lock().unwrap().take();
        let lists = lists_seen.clone();
        async move {
            let back = back.expect("started once");
            let (a, b) = tokio::io::duplex(1 << 16);
            let (ar, aw) = tokio::io::split(a);
            let dead = Arc::default();
            tokio::spawn(back.serve_io(
                Tap {
                    inner: ar,
                    lists,
                    dead,
                },
                aw,
            ));
            let (br, bw) = tokio::io::split(b);
            builder.connect_io(br, bw).await
        }
    });
    let client = TestClient::new(Hub::new().backend(backend).router().await.unwrap())
        .await
        .unwrap();
    lists(&client, &["live_echo"]).await;
    let listed = spawner.lists.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(tool_names(&client).await, ["live_echo"]);
    }
    assert_eq!(
        spawner.lists.load(Ordering::SeqCst),
        listed,
        "the hub answers tools/list without asking the back end"
    );

    handle.add_tool("greet", tool(greet)).unwrap();
    lists(&client, &["live_echo", "live_greet"]).await;
    assert!(spawner.lists.load(Ordering::SeqCst) > listed);
}

#[test]
fn a_config_says_what_is_wrong() {
    let e = HubConfig::from_json(r#"{"mcpServers": {"x": {"command": 3}}}"#).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("mcpServers.x.command"),
        "names the place: {message}"
    );
    let config = HubConfig::from_json(r#"{"mcpServers": {"x": {"args": []}}}"#).unwrap();
    let e = Hub::from_config(&config).unwrap_err().to_string();
    assert!(e.contains("\"command\"") && e.contains("\"url\""), "{e}");
    let config =
        HubConfig::from_json(r#"{"mcpServers": {"x": {"command": "c", "timeout": -1}}}"#).unwrap();
    let e = Hub::from_config(&config).unwrap_err().to_string();
    assert!(e.contains("positive number of seconds"), "{e}");
}
