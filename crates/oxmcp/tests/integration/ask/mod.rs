//! Handlers asking the client questions (elicitation, sampling, roots) through `Context`:
//! the exact wire behaviour of both eras over a raw connection, and round trips with the
//! real client. Every frame is schema-checked.
//!
//! - modern (2026-07-28): `InputRequiredResult`, retries with `inputResponses` and the
//!   sealed `requestState`, which is refused when tampered, expired, foreign or replayed
//!   on another request;
//! - legacy: `elicitation/create`, `sampling/createMessage` and `roots/list` requests sent
//!   to the client while the call runs.

mod client;
mod legacy;
mod modern;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use oxmcp::protocol::{
    CreateMessageRequestParams, CreateMessageResult, SamplingMessage, SamplingMessageContentBlock,
    Tool,
};
use oxmcp::server::ask::Elicitation;
use oxmcp::server::{prompt, resource, Context, Router, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The form the `book` tool asks for.
#[derive(Deserialize, JsonSchema, Debug)]
pub struct Booking {
    /// Number of guests.
    #[schemars(range(min = 1, max = 8))]
    pub guests: u8,
    /// Breakfast included?
    #[serde(default)]
    pub breakfast: bool,
    /// Room size.
    pub size: Option<Size>,
}

/// A room size.
#[derive(Deserialize, Serialize, JsonSchema, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Single,
    Double,
}

/// How often the handlers ran, to show that modern rounds re-run them.
#[derive(Clone, Default)]
pub struct Runs(pub Arc<AtomicUsize>);

impl Runs {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn book(ctx: Context, State(runs): State<Runs>) -> Result<String, ToolError> {
    runs.0.fetch_add(1, Ordering::SeqCst);
    Ok(
        match ctx
            .elicit::<Booking>("How should we book the room?")
            .await?
        {
            Elicitation::Accept(b) => format!(
                "booked for {} (breakfast: {}, size: {:?})",
                b.guests, b.breakfast, b.size
            ),
            Elicitation::Decline => "declined".into(),
            Elicitation::Cancel => "cancelled".into(),
        },
    )
}

fn question(text: &str) -> CreateMessageRequestParams {
    CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], 50)
}

fn first_text(result: &CreateMessageResult) -> String {
    match result.content.blocks().first() {
        Some(SamplingMessageContentBlock::Text(t)) => t.text.clone(),
        Some(SamplingMessageContentBlock::ToolUse(t)) => format!("use {}", t.name),
        _ => String::new(),
    }
}

/// Asks one question after the other: a form, then the model.
async fn plan(ctx: Context) -> Result<String, ToolError> {
    let Some(booking) = ctx.elicit::<Booking>("Book?").await?.accepted() else {
        return Ok("nothing to plan".into());
    };
    let answer = ctx
        .sample(question(&format!("Plan a stay for {}", booking.guests)))
        .await?;
    Ok(format!("{}: {}", answer.model, first_text(&answer)))
}

/// Asks three questions at once.
async fn survey(ctx: Context) -> Result<String, ToolError> {
    let (sampled, roots, url) = tokio::join!(
        ctx.sample(question("Capital of France?")),
        ctx.list_roots(),
        ctx.elicit_url("Sign in to continue", "https://auth.example.com/login"),
    );
    let roots: Vec<String> = roots?.into_iter().map(|r| r.uri).collect();
    Ok(format!(
        "{} | {} | {:?}",
        first_text(&sampled?),
        roots.join(","),
        url?
    ))
}

/// Sends the user to a URL.
async fn sign_in(ctx: Context) -> Result<String, ToolError> {
    let action = ctx
        .elicit_url("Sign in to continue", "https://auth.example.com/login")
        .await?;
    Ok(format!("{action:?}"))
}

/// Offers the model a tool.
async fn with_tools(ctx: Context) -> Result<String, ToolError> {
    let tool = Tool::new(
        "lookup",
        json!({"type": "object"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let answer = ctx
        .sample(question("Look it up").with_tools(vec![tool]))
        .await?;
    Ok(first_text(&answer))
}

/// A form that cannot be one: nested structs are not form fields.
async fn nested(ctx: Context) -> Result<String, ToolError> {
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Outer {
        inner: Booking,
    }
    ctx.elicit::<Outer>("?").await?;
    Ok("unreachable".into())
}

async fn greeting(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.list_roots().await?;
    Ok(format!("Hello from {} roots", roots.len()))
}

async fn root_list(ctx: Context) -> String {
    match ctx.list_roots().await {
        Ok(roots) => roots
            .into_iter()
            .map(|r| r.uri)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("no roots: {e}"),
    }
}

/// The router every test serves, named `ask-test`.
pub fn router(runs: Runs) -> Router {
    Router::new()
        .name("ask-test")
        .tool("book", book)
        .tool("plan", plan)
        .tool("survey", survey)
        .tool("sign_in", sign_in)
        .tool("with_tools", with_tools)
        .tool("nested", nested)
        .prompt("greeting", prompt(greeting))
        .resource("test://roots", resource(root_list))
        .with_state(runs)
}

/// The modern `_meta` of a client with these capabilities.
pub fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1.0.0"}
    })
}

/// Everything a client can answer.
pub fn all_capabilities() -> Value {
    json!({
        "elicitation": {"form": {}, "url": {}},
        "sampling": {"tools": {}},
        "roots": {}
    })
}

/// The text of a tool result.
pub fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a text result, got {response}"))
}

/// A sampling result with this text.
pub fn sampled(text: &str) -> Value {
    json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "test-model"})
}
