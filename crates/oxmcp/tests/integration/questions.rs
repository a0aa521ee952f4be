//! Server-to-client questions end to end through `TestClient`: the handler asks through
//! its `Context`, the client's handlers answer; legacy sessions carry real requests,
//! modern ones multi round-trips with sealed state. Same handler code, both eras.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use oxmcp::protocol::content::ContentBlock;
use oxmcp::protocol::elicitation::{ElicitAction, ElicitRequestParams, ElicitResult};
use oxmcp::protocol::roots::Root;
use oxmcp::protocol::sampling::{CreateMessageRequestParams, CreateMessageResult, SamplingMessage};
use oxmcp::protocol::ErrorObject;
use oxmcp::server::ask::Elicitation;
use oxmcp::server::{Context, Router, ToolError};
use oxmcp::testing::TestClient;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::support::{legacy, modern, SchemaTap};

#[derive(Debug, Deserialize, JsonSchema)]
struct Booking {
    /// How many guests.
    guests: u32,
    /// Breakfast included?
    #[serde(default)]
    breakfast: bool,
}

/// Asks three kinds of question; counts how many times it ran.
async fn plan(
    ctx: Context,
    runs: oxmcp::server::State<Arc<AtomicUsize>>,
) -> Result<String, ToolError> {
    runs.fetch_add(1, Ordering::SeqCst);
    let booking = match ctx.elicit::<Booking>("Book the room?").await? {
        Elicitation::Accept(b) => b,
        other => return Ok(format!("not booked: {:?}", other.action())),
    };
    let roots = ctx.list_roots().await?;
    let params =
        CreateMessageRequestParams::new(vec![SamplingMessage::user_text("Suggest a dish")], 50);
    let dish = ctx.sample(params).await?;
    let dish = serde_json::to_value(&dish.content).unwrap_or_default()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(format!(
        "{} guests, breakfast {}, root {}, dish {dish}",
        booking.guests,
        booking.breakfast,
        roots.first().map(|r| r.uri.as_str()).unwrap_or("-")
    ))
}

fn router(runs: Arc<AtomicUsize>) -> Router {
    Router::new().tool("plan", plan).with_state(runs)
}

async fn answer_elicitation(params: ElicitRequestParams) -> Result<ElicitResult, ErrorObject> {
    let asked = serde_json::to_value(&params).unwrap();
    assert_eq!(
        asked["requestedSchema"]["properties"]["guests"]["type"],
        "integer"
    );
    let mut result = ElicitResult::new(ElicitAction::Accept);
    result.content = Some(
        json!({"guests": 2, "breakfast": true})
            .as_object()
            .unwrap()
            .clone(),
    );
    Ok(result)
}

async fn answer_sampling(
    _: CreateMessageRequestParams,
) -> Result<CreateMessageResult, ErrorObject> {
    Ok(serde_json::from_value(json!({
        "role": "assistant", "content": {"type": "text", "text": "ramen"}, "model": "test-model", "stopReason": "endTurn"
    }))
    .unwrap())
}

async fn client(router: Router, era: oxmcp::client::EraChoice) -> (TestClient, Arc<SchemaTap>) {
    let tap = SchemaTap::new();
    let seen = tap.clone();
    let client = TestClient::builder(router)
        .era(era)
        .client(|b| {
            b.on_elicitation(answer_elicitation)
                .on_sampling(answer_sampling)
                .roots(vec![Root::new("file:///work/project")])
        })
        .on_frame(move |d, f| seen.see(d, f))
        .connect()
        .await
        .unwrap();
    (client, tap)
}

fn text(result: &oxmcp::protocol::tools::CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_handler_answers_both_eras() {
    let expected = "2 guests, breakfast true, root file:///work/project, dish ramen";

    let runs = Arc::new(AtomicUsize::new(0));
    let (c, tap) = client(router(runs.clone()), legacy()).await;
    assert_eq!(text(&c.call_tool("plan", ()).await.unwrap()), expected);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "legacy: one run, real requests mid-call"
    );
    tap.assert_clean();

    let runs = Arc::new(AtomicUsize::new(0));
    let (c, tap) = client(router(runs.clone()), modern()).await;
    assert_eq!(text(&c.call_tool("plan", ()).await.unwrap()), expected);
    assert!(
        runs.load(Ordering::SeqCst) >= 2,
        "modern: the handler re-runs once answers come back"
    );
    tap.assert_clean();
}

#[tokio::test]
async fn a_client_without_the_capability_gets_a_clear_error() {
    for era in [legacy(), modern()] {
        let runs = Arc::new(AtomicUsize::new(0));
        let c = TestClient::builder(router(runs))
            .era(era)
            .connect()
            .await
            .unwrap();
        let err = c.call_tool("plan", ()).await.unwrap_err();
        let rpc = err.rpc_error().expect("a JSON-RPC error");
        assert!(rpc.message.contains("elicitation"), "{}", rpc.message);
    }
}
