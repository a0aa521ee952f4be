//! Round trips with the real client answering the questions, in both eras.

use std::sync::Arc;

use oxmcp::client::{ClientBuilder, EraChoice};
use oxmcp::protocol::{
    CreateMessageResult, ElicitAction, ElicitRequestParams, ElicitResult, Role, Root,
    SamplingMessageContent,
};
use oxmcp::testing::TestClient;
use serde_json::json;

use super::{router, Runs};
use crate::support::{legacy, modern, SchemaTap};

/// A client that books for two, declines URLs, samples "Paris" and has one root.
fn answering(builder: ClientBuilder) -> ClientBuilder {
    builder
        .on_elicitation(|request| async move {
            Ok(match request {
                ElicitRequestParams::Form(_) => {
                    let content = json!({"guests": 2, "size": "single"});
                    ElicitResult::accept(content.as_object().cloned().unwrap_or_default())
                }
                ElicitRequestParams::Url(_) => ElicitResult::new(ElicitAction::Decline),
            })
        })
        .on_sampling(|_| async {
            Ok(CreateMessageResult::new(
                Role::Assistant,
                SamplingMessageContent::text("Paris"),
                "client-model",
            ))
        })
        .roots(vec![Root::new("file:///home/project")])
}

async fn connect(era: EraChoice, runs: Runs) -> (TestClient, Arc<SchemaTap>) {
    let tap = SchemaTap::new();
    let seen = tap.clone();
    let client = TestClient::builder(router(runs))
        .era(era)
        .client(answering)
        .on_frame(move |d, f| seen.see(d, f))
        .connect()
        .await
        .expect("connect");
    (client, tap)
}

fn text(result: &oxmcp::protocol::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_same_handlers_serve_both_eras() {
    for (era, runs_per_call) in [(legacy(), 1), (modern(), 2)] {
        let runs = Runs::default();
        let (client, tap) = connect(era, runs.clone()).await;
        let booked = client.call_tool("book", json!({})).await.unwrap();
        assert_eq!(
            text(&booked),
            "booked for 2 (breakfast: false, size: Some(Single))"
        );
        assert_eq!(runs.get(), runs_per_call);

        let planned = client.call_tool("plan", json!({})).await.unwrap();
        assert_eq!(text(&planned), "client-model: Paris");

        let surveyed = client.call_tool("survey", json!({})).await.unwrap();
        assert_eq!(text(&surveyed), "Paris | file:///home/project | Decline");

        let prompt = client.get_prompt("greeting", json!({})).await.unwrap();
        assert_eq!(
            serde_json::to_value(&prompt.messages).unwrap()[0]["content"]["text"],
            "Hello from 1 roots"
        );
        tap.assert_clean();
    }
}
