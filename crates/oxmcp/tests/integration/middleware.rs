//! Tower layers at the message level: around every request (`Router::layer`) and around
//! one tool, prompt or resource (`.layer` on its definition), in both eras.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use oxmcp::protocol::ErrorObject;
use oxmcp::server::middleware::Extension;
use oxmcp::server::middleware::{McpRequest, McpResponse};
use oxmcp::server::{prompt, resource, tool, Context, Router};
use serde_json::json;
use tower::{Layer, Service, ServiceBuilder};

use crate::support::{checked, legacy, modern};

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What a layer does with a request, besides recording it.
#[derive(Clone)]
enum Act {
    PassOn,
    /// Answers `tools/call` of this tool with a protocol error, without calling it.
    Refuse(&'static str),
    /// Answers `tools/call` of this tool with a tool error, without calling it.
    ToolError(&'static str),
    /// Puts a `User` in the extensions.
    Authenticate(&'static str),
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// A layer that records every request and its outcome, and may act on it.
#[derive(Clone)]
struct Recorder {
    tag: &'static str,
    seen: Seen,
    act: Act,
}

impl<S> Layer<S> for Recorder {
    type Service = Recorded<S>;
    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Recorded<S> {
    inner: S,
    layer: Recorder,
}

impl<S> Service<McpRequest> for Recorded<S>
where
    S: Service<McpRequest, Response = McpResponse> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = McpResponse;
    type Error = S::Error;
    type Future = BoxFuture<Result<McpResponse, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: McpRequest) -> Self::Future {
        let what = format!(
            "{} {} {} {}",
            self.layer.tag,
            request.method(),
            request.name().unwrap_or("-"),
            request
                .protocol_version()
                .map_or("?".to_owned(), |v| v.to_string()),
        );
        let seen = self.layer.seen.clone();
        let target = request.name() == Some("secret");
        match self.layer.act {
            Act::Refuse(_) | Act::ToolError(_) if target => {
                seen.0.lock().unwrap().push(format!("{what} stopped"));
                let response = match self.layer.act {
                    Act::Refuse(why) => McpResponse::error(ErrorObject::new(-32001, why)),
                    Act::ToolError(why) => McpResponse::tool_error(why),
                    _ => unreachable!(),
                };
                return Box::pin(async move { Ok(response) });
            }
            Act::Authenticate(user) => {
                request.extensions_mut().insert(User(user.to_owned()));
            }
            _ => {}
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            seen.0
                .lock()
                .unwrap()
                .push(format!("{what} failure={}", response.is_failure()));
            Ok(response)
        })
    }
}

#[derive(Clone, Debug)]
struct User(String);

#[derive(Clone, Debug)]
struct Scope(&'static str);

async fn whoami(Extension(user): Extension<User>, ctx: Context) -> String {
    let scope = ctx.extension::<Scope>().map_or("none", |s| s.0);
    format!("{} ({scope})", user.0)
}

async fn hello() -> String {
    "hello".to_owned()
}

async fn slow() -> String {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late".to_owned()
}

#[derive(Clone, Default)]
struct Running {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

async fn busy(oxmcp::server::State(r): oxmcp::server::State<Running>) -> String {
    let now = r.now.fetch_add(1, Ordering::SeqCst) + 1;
    r.most.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    r.now.fetch_sub(1, Ordering::SeqCst);
    "done".to_owned()
}

fn recorder(tag: &'static str, seen: &Seen, act: Act) -> Recorder {
    Recorder {
        tag,
        seen: seen.clone(),
        act,
    }
}

/// A layer around every request sees each one, with its name and era, and its outcome;
/// tools, prompts and resources keep working through it.
#[tokio::test]
async fn a_router_layer_sees_every_request_and_its_result() {
    for (era, version) in [(legacy(), "2025-11-25"), (modern(), "2026-07-28")] {
        let seen = Seen::default();
        let router = Router::new()
            .tool("hello", hello)
            .prompt("greet", prompt(hello))
            .resource("mem://hello", resource(hello))
            .layer(recorder("r", &seen, Act::PassOn));
        let (client, tap) = checked(router, era).await;
        let client = client.client();
        let before = seen.take();
        let listed = client.list_tools(None).await.unwrap();
        assert_eq!(listed.tools.len(), 1);
        let called = client.call_tool("hello", json!({})).await.unwrap();
        assert_eq!(called.content[0].as_text(), Some("hello"));
        client
            .get_prompt("greet", None::<serde_json::Value>)
            .await
            .unwrap();
        client.read_resource("mem://hello").await.unwrap();
        let missing = client.call_tool("nope", json!({})).await;
        assert!(missing.is_err());
        assert_eq!(
            seen.take(),
            [
                format!("r tools/list - {version} failure=false"),
                format!("r tools/call hello {version} failure=false"),
                format!("r prompts/get greet {version} failure=false"),
                format!("r resources/read mem://hello {version} failure=false"),
                format!("r tools/call nope {version} failure=true"),
            ],
            "before: {before:?}"
        );
        tap.assert_clean();
    }
}

/// A layer may answer by itself: with a protocol error, or with a tool error the model
/// reads; the handler is not run then.
#[tokio::test]
async fn a_layer_can_short_circuit_with_a_protocol_or_a_tool_error() {
    for era in [legacy(), modern()] {
        let seen = Seen::default();
        let router = Router::new()
            .tool("secret", hello)
            .tool("hello", hello)
            .layer(recorder("r", &seen, Act::Refuse("forbidden")));
        let (client, tap) = checked(router, era).await;
        let refused = client
            .client()
            .call_tool("secret", json!({}))
            .await
            .unwrap_err();
        assert_eq!(
            refused.rpc_error().map(|e| e.code),
            Some(-32001),
            "{refused}"
        );
        let fine = client.client().call_tool("hello", json!({})).await.unwrap();
        assert_eq!(fine.content[0].as_text(), Some("hello"));
        tap.assert_clean();

        let router = Router::new().tool(
            "secret",
            tool(hello).layer(recorder("t", &seen, Act::ToolError("not today"))),
        );
        let (client, tap) = checked(router, era).await;
        let result = client
            .client()
            .call_tool("secret", json!({}))
            .await
            .unwrap();
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.content[0].as_text(), Some("not today"));
        tap.assert_clean();
    }
}

/// Stock tower middleware works unchanged: a timeout around one tool turns into a tool
/// error the model reads, and leaves the other tools alone.
#[tokio::test]
async fn a_per_tool_timeout_layer() {
    for era in [legacy(), modern()] {
        let router = Router::new()
            .tool(
                "slow",
                tool(slow).layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(50))),
            )
            .tool("hello", hello);
        let (client, tap) = checked(router, era).await;
        let timed_out = client.client().call_tool("slow", json!({})).await.unwrap();
        assert_eq!(timed_out.is_error, Some(true));
        assert_eq!(timed_out.content[0].as_text(), Some("request timed out"));
        let fine = client.client().call_tool("hello", json!({})).await.unwrap();
        assert_eq!(fine.content[0].as_text(), Some("hello"));
        tap.assert_clean();
    }
}

/// A layer's failure on a method other than a tool call is an internal error carrying
/// the layer's message.
#[tokio::test]
async fn a_layer_failure_outside_tools_is_an_internal_error() {
    let router = Router::new()
        .prompt(
            "slow",
            prompt(slow).layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(50))),
        )
        .tool("hello", hello);
    let (client, tap) = checked(router, legacy()).await;
    let failed = client
        .client()
        .get_prompt("slow", None::<serde_json::Value>)
        .await
        .unwrap_err();
    let rpc = failed.rpc_error().expect("a JSON-RPC error");
    assert_eq!(
        (rpc.code, rpc.message.as_str()),
        (-32603, "request timed out")
    );
    tap.assert_clean();
}

/// What a layer puts in the extensions reaches the layers inside it and the handler's
/// extractors (`Extension<T>`, `Context::extension`).
#[tokio::test]
async fn extensions_flow_from_layers_to_handlers() {
    #[derive(Clone)]
    struct AddScope;
    impl<S> Layer<S> for AddScope {
        type Service = tower::util::MapRequest<S, fn(McpRequest) -> McpRequest>;
        fn layer(&self, inner: S) -> Self::Service {
            fn add(mut request: McpRequest) -> McpRequest {
                assert!(
                    request.extensions().get::<User>().is_some(),
                    "the router's layer ran first"
                );
                request.extensions_mut().insert(Scope("admin"));
                request
            }
            tower::util::MapRequest::new(inner, add as fn(McpRequest) -> McpRequest)
        }
    }
    for era in [legacy(), modern()] {
        let seen = Seen::default();
        let router = Router::new()
            .tool("whoami", tool(whoami).layer(AddScope))
            .tool("plain", whoami)
            .layer(recorder("r", &seen, Act::Authenticate("alice")));
        let (client, tap) = checked(router, era).await;
        let me = client
            .client()
            .call_tool("whoami", json!({}))
            .await
            .unwrap();
        assert_eq!(me.content[0].as_text(), Some("alice (admin)"));
        let plain = client.client().call_tool("plain", json!({})).await.unwrap();
        assert_eq!(plain.content[0].as_text(), Some("alice (none)"));
        tap.assert_clean();
    }
    // Without the layer, the extractor fails the call and says what is missing.
    let router = Router::new().tool("whoami", whoami);
    let (client, _tap) = checked(router, legacy()).await;
    let failed = client.client().call_tool("whoami", json!({})).await;
    let message = match failed {
        Ok(result) => format!("{:?}", result.content),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("User"), "{message}");
}

/// A `ServiceBuilder` stack around the router: a concurrency limit holds calls back, a
/// timeout bounds them.
#[tokio::test]
async fn a_service_builder_stack_limits_concurrency() {
    let running = Running::default();
    let router = Router::new()
        .tool("busy", busy)
        .with_state(running.clone())
        .layer(
            ServiceBuilder::new()
                .timeout(Duration::from_secs(10))
                .concurrency_limit(1),
        );
    let (client, tap) = checked(router, modern()).await;
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = client.client().clone();
            tokio::spawn(async move { client.call_tool("busy", json!({})).await })
        })
        .collect();
    for call in calls {
        let result = call.await.unwrap().unwrap();
        assert_eq!(result.content[0].as_text(), Some("done"));
    }
    assert_eq!(running.most.load(Ordering::SeqCst), 1, "one at a time");
    tap.assert_clean();
}

/// Layers of prompts and resources run for their requests only.
#[tokio::test]
async fn prompt_and_resource_layers_run_for_their_item_only() {
    let seen = Seen::default();
    let router = Router::new()
        .prompt("a", prompt(hello).layer(recorder("p", &seen, Act::PassOn)))
        .prompt("b", prompt(hello))
        .resource(
            "mem://a",
            resource(hello).layer(recorder("res", &seen, Act::PassOn)),
        )
        .resource("mem://b", resource(hello));
    let (client, tap) = checked(router, legacy()).await;
    let client = client.client();
    client
        .get_prompt("a", None::<serde_json::Value>)
        .await
        .unwrap();
    client
        .get_prompt("b", None::<serde_json::Value>)
        .await
        .unwrap();
    client.read_resource("mem://a").await.unwrap();
    client.read_resource("mem://b").await.unwrap();
    assert_eq!(
        seen.take(),
        [
            "p prompts/get a 2025-11-25 failure=false",
            "res resources/read mem://a 2025-11-25 failure=false",
        ]
    );
    tap.assert_clean();
}
