//! The 2026-07-28 multi round-trip fixtures: tools (and a prompt) that ask the client for
//! input under the keys the conformance suite documents.

use oxmcp::protocol::elicitation::ElicitRequestParams;
use oxmcp::protocol::prompts::PromptMessage;
use oxmcp::protocol::sampling::{CreateMessageRequestParams, SamplingMessage};
use oxmcp::server::{Context, ToolError};
use serde_json::{json, Value};

/// A form elicitation with a hand-written schema.
fn form(message: &str, schema: Value) -> ElicitRequestParams {
    serde_json::from_value(json!({ "mode": "form", "message": message, "requestedSchema": schema }))
        .expect("a valid form elicitation")
}

fn one_string(name: &str) -> Value {
    json!({"type": "object", "properties": {name: {"type": "string"}}, "required": [name]})
}

/// Asks the form `key` and returns the accepted content's `field`.
async fn ask_field(
    ctx: &Context,
    key: &str,
    message: &str,
    field: &str,
) -> Result<String, ToolError> {
    let result = ctx
        .question(key)
        .elicit_with(form(message, one_string(field)))
        .await?;
    let result = serde_json::to_value(&result).unwrap_or_default();
    if result["action"] != "accept" {
        return Err(ToolError::invalid_arguments(format!(
            "the {key} question was not accepted"
        )));
    }
    result["content"][field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            ToolError::invalid_arguments(format!("the {key} answer has no string {field:?}"))
        })
}

fn sampled_text(answer: &oxmcp::protocol::sampling::CreateMessageResult) -> String {
    let content = serde_json::to_value(&answer.content).unwrap_or_default();
    content["text"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| content.to_string())
}

pub async fn elicitation(ctx: Context) -> Result<String, ToolError> {
    let name = ask_field(&ctx, "user_name", "What is your name?", "name").await?;
    Ok(format!("Hello, {name}!"))
}

pub async fn sampling(ctx: Context) -> Result<String, ToolError> {
    let params = CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text("What is the capital of France?")],
        100,
    );
    let answer = ctx.question("capital_question").sample(params).await?;
    Ok(format!("The model said: {}", sampled_text(&answer)))
}

pub async fn list_roots(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.question("client_roots").list_roots().await?;
    let uris: Vec<&str> = roots.iter().map(|r| r.uri.as_str()).collect();
    Ok(format!("Roots: {}", uris.join(", ")))
}

/// Asks for confirmation under `confirm`; the tool behind both the request-state and the
/// tampered-state scenarios.
pub async fn confirm(ctx: Context) -> Result<String, ToolError> {
    let schema =
        json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let result = ctx
        .question("confirm")
        .elicit_with(form("Please confirm", schema))
        .await?;
    let result = serde_json::to_value(&result).unwrap_or_default();
    match result["content"]["ok"].as_bool() {
        Some(true) if result["action"] == "accept" => Ok("state-ok: confirmed".into()),
        Some(_) | None if result["action"] == "accept" => Ok("state-ok: not confirmed".into()),
        _ => Ok(format!(
            "state-ok: {}",
            result["action"].as_str().unwrap_or("no answer")
        )),
    }
}

pub async fn multiple_inputs(ctx: Context) -> Result<String, ToolError> {
    let greeting = CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text("Generate a greeting")],
        50,
    );
    let (name, greeting, roots) = tokio::join!(
        ask_field(&ctx, "user_name", "What is your name?", "name"),
        ctx.question("greeting").sample(greeting),
        ctx.question("client_roots").list_roots(),
    );
    let (name, greeting, roots) = (name?, greeting?, roots?);
    Ok(format!(
        "{} {name}! ({} roots)",
        sampled_text(&greeting),
        roots.len()
    ))
}

pub async fn multi_round(ctx: Context) -> Result<String, ToolError> {
    let name = ask_field(&ctx, "step1", "Step 1: What is your name?", "name").await?;
    let color = ask_field(
        &ctx,
        "step2",
        "Step 2: What is your favorite color?",
        "color",
    )
    .await?;
    Ok(format!("{name} likes {color}"))
}

/// Asks only what the client can answer: an elicitation if it declared it, a sample if it
/// declared sampling.
pub async fn capabilities(ctx: Context) -> Result<String, ToolError> {
    let declared = ctx.client_capabilities();
    if declared.elicitation.is_some() {
        let name = ask_field(&ctx, "user_name", "What is your name?", "name").await?;
        return Ok(format!("Hello, {name}!"));
    }
    let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text("Say hello")], 50);
    let answer = ctx.question("hello_sample").sample(params).await?;
    Ok(sampled_text(&answer))
}

pub async fn prompt(ctx: Context) -> Result<Vec<PromptMessage>, ToolError> {
    let context = ask_field(
        &ctx,
        "user_context",
        "What context should the prompt use?",
        "context",
    )
    .await?;
    Ok(vec![PromptMessage::new(
        oxmcp::protocol::content::Role::User,
        oxmcp::protocol::content::ContentBlock::text(format!("Use this context: {context}")),
    )])
}
