//! The fixtures: every tool, resource and prompt of the `everything` server.

use std::time::Duration;

use oxmcp::protocol::content::{
    ContentBlock, EmbeddedResource, ResourceContents, Role, TextResourceContents,
};
use oxmcp::protocol::elicitation::ElicitRequestParams;
use oxmcp::protocol::logging::LoggingLevel;
use oxmcp::protocol::prompts::PromptMessage;
use oxmcp::protocol::sampling::{CreateMessageRequestParams, SamplingMessage};
use oxmcp::protocol::JsonObject;
use oxmcp::server::{prompt, resource, tool, Args, Blob, Context, Router, ServerHandle, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

/// A 1×1 red PNG.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file.
pub const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

fn text(s: impl Into<String>) -> ContentBlock {
    ContentBlock::text(s.into())
}

fn embedded(uri: &str, mime: &str, body: &str) -> ContentBlock {
    let mut contents = TextResourceContents::new(uri, body);
    contents.mime_type = Some(mime.to_owned());
    ContentBlock::Resource(EmbeddedResource::new(ResourceContents::Text(contents)))
}

async fn simple_text() -> &'static str {
    "This is a simple text response for testing."
}

async fn image() -> ContentBlock {
    ContentBlock::image(PNG, "image/png")
}

async fn audio() -> ContentBlock {
    ContentBlock::audio(WAV, "audio/wav")
}

async fn embedded_resource() -> ContentBlock {
    embedded(
        "test://embedded-resource",
        "text/plain",
        "This is an embedded resource content.",
    )
}

async fn multiple_content_types() -> Vec<ContentBlock> {
    vec![
        text("Multiple content types test:"),
        ContentBlock::image(PNG, "image/png"),
        embedded(
            "test://mixed-content-resource",
            "application/json",
            r#"{"test":"data","value":123}"#,
        ),
    ]
}

async fn with_logging(ctx: Context) -> &'static str {
    for (i, message) in [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ctx.log(LoggingLevel::Info, Some("everything"), message)
            .await;
    }
    "Tool with logging executed successfully"
}

async fn with_progress(ctx: Context) -> &'static str {
    for (i, done) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ctx.progress(oxmcp::Progress::new(done).total(100.0)).await;
    }
    "Progress test completed"
}

async fn error_handling() -> Result<String, ToolError> {
    Err(ToolError::execution(
        "This tool intentionally returns an error for testing",
    ))
}

#[derive(Deserialize, JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the client's model.
    prompt: String,
}

async fn sampling(ctx: Context, Args(args): Args<SamplingArgs>) -> Result<String, ToolError> {
    let params =
        CreateMessageRequestParams::new(vec![SamplingMessage::user_text(args.prompt)], 100);
    let answer = match ctx.sample(params).await {
        Ok(answer) => answer,
        Err(e) if e.is_missing_capability() => return Err(e.into()),
        Err(e) => return Ok(format!("Sampling failed: {e}")),
    };
    let answer = serde_json::to_value(&answer.content).unwrap_or_default();
    let text = answer["text"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.to_string());
    Ok(format!("LLM response: {text}"))
}

/// Sends a form elicitation with a hand-written schema; reports what the user did.
async fn elicit_form(ctx: &Context, message: &str, schema: Value) -> String {
    let params: ElicitRequestParams = serde_json::from_value(
        json!({ "mode": "form", "message": message, "requestedSchema": schema }),
    )
    .expect("a valid form elicitation");
    match ctx.elicit_with(params).await {
        Ok(result) => {
            let result = serde_json::to_value(&result).unwrap_or_default();
            format!(
                "User response: action={}, content={}",
                result["action"].as_str().unwrap_or(""),
                result["content"]
            )
        }
        Err(e) => format!("Elicitation failed: {e}"),
    }
}

#[derive(Deserialize, JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user.
    message: String,
}

async fn elicitation(ctx: Context, Args(args): Args<ElicitationArgs>) -> String {
    let schema = json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"}
        },
        "required": ["username", "email"]
    });
    elicit_form(&ctx, &args.message, schema).await
}

async fn elicitation_defaults(ctx: Context) -> String {
    let schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "description": "Verification status", "default": true}
        },
        "required": []
    });
    elicit_form(
        &ctx,
        "Please review and update the form fields with defaults",
        schema,
    )
    .await
}

async fn elicitation_enums(ctx: Context) -> String {
    let schema = json!({
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "description": "Pick one", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "description": "Pick one", "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"}
            ]},
            "legacyEnum": {"type": "string", "description": "Pick one", "enum": ["opt1", "opt2", "opt3"],
                           "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "description": "Pick several", "minItems": 1, "maxItems": 3,
                              "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "description": "Pick several", "minItems": 1, "maxItems": 3,
                            "items": {"anyOf": [
                                {"const": "value1", "title": "First Choice"},
                                {"const": "value2", "title": "Second Choice"},
                                {"const": "value3", "title": "Third Choice"}
                            ]}}
        },
        "required": []
    });
    elicit_form(&ctx, "Please choose from the enum fields", schema).await
}

/// The JSON Schema 2020-12 superset the conformance suite checks, served unmodified.
fn json_schema_2020_12() -> JsonObject {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                  "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    });
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("a literal object"),
    }
}

async fn json_schema_tool(Args(args): Args<JsonObject>) -> String {
    format!("Received: {}", Value::Object(args))
}

/// SEP-1699 polling: closes the POST's SSE stream before answering, so the client resumes
/// with `GET` and `Last-Event-ID` (Streamable HTTP, legacy sessions; elsewhere it just
/// answers).
/// A tool whose `region` argument is mirrored in the `Mcp-Param-Region` HTTP header
/// (SEP-2243); the server checks that the two agree.
fn header_param_schema() -> JsonObject {
    match json!({
        "type": "object",
        "properties": {"region": {"type": "string", "description": "Where to run", "x-mcp-header": "Region"}},
        "required": ["region"]
    }) {
        Value::Object(map) => map,
        _ => unreachable!("a literal object"),
    }
}

async fn header_param(Args(args): Args<JsonObject>) -> String {
    format!(
        "Region: {}",
        args.get("region").and_then(Value::as_str).unwrap_or("-")
    )
}

async fn reconnection(ctx: Context) -> &'static str {
    if ctx.close_stream() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    "Reconnection test completed"
}

async fn missing_capability(ctx: Context) -> Result<String, ToolError> {
    let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text("ping")], 10);
    let answer = ctx.sample(params).await?;
    Ok(format!("sampled with {}", answer.model))
}

async fn streaming_elicitation(ctx: Context) -> String {
    elicit_form(
        &ctx,
        "What is your name?",
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
    )
    .await
}

async fn logging_tool(ctx: Context) -> &'static str {
    ctx.log(LoggingLevel::Info, Some("everything"), &"logging tool ran")
        .await;
    "Logging tool completed"
}

fn trigger_tool_change(
    handle: ServerHandle,
) -> impl Fn() -> std::future::Ready<&'static str> + Clone + Send + Sync + 'static {
    move || {
        handle.notify_tools_changed();
        std::future::ready("Triggered tools/list_changed")
    }
}

fn trigger_prompt_change(
    handle: ServerHandle,
) -> impl Fn() -> std::future::Ready<&'static str> + Clone + Send + Sync + 'static {
    move || {
        handle.notify_prompts_changed();
        std::future::ready("Triggered prompts/list_changed")
    }
}

async fn template_data(oxmcp::server::Uri(t): oxmcp::server::Uri<TemplateId>) -> String {
    json!({"id": t.id, "templateTest": true, "data": format!("Data for ID: {}", t.id)}).to_string()
}

#[derive(Deserialize)]
struct TemplateId {
    id: String,
}

#[derive(Deserialize, JsonSchema)]
struct PromptArgs {
    /// First test argument.
    arg1: String,
    /// Second test argument.
    arg2: String,
}

async fn prompt_with_arguments(Args(a): Args<PromptArgs>) -> String {
    format!(
        "Prompt with arguments: arg1='{}', arg2='{}'",
        a.arg1, a.arg2
    )
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EmbeddedArgs {
    /// URI of the resource to embed.
    resource_uri: String,
}

async fn prompt_with_embedded_resource(Args(a): Args<EmbeddedArgs>) -> Vec<PromptMessage> {
    vec![
        PromptMessage::new(
            Role::User,
            embedded(
                &a.resource_uri,
                "text/plain",
                "Embedded resource content for testing.",
            ),
        ),
        PromptMessage::new(
            Role::User,
            text("Please process the embedded resource above."),
        ),
    ]
}

async fn prompt_with_image() -> Vec<PromptMessage> {
    vec![
        PromptMessage::new(Role::User, ContentBlock::image(PNG, "image/png")),
        PromptMessage::new(Role::User, text("Please analyze the image above.")),
    ]
}

/// The `everything` router.
pub fn router() -> Router {
    let router = crate::apps::install(crate::tasks::install(
        Router::new()
            .name("oxmcp-everything")
            .version(env!("CARGO_PKG_VERSION"))
            // SEP-2640: the fixture skill the suite's skills scenarios read.
            .skills_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/skills")),
    ));
    let handle = router.handle();
    router
        .instructions("A test server exposing every MCP feature, for conformance testing.")
        .tool(
            "test_simple_text",
            tool(simple_text).description("Returns a simple text response"),
        )
        .tool(
            "test_image_content",
            tool(image).description("Returns an image"),
        )
        .tool(
            "test_audio_content",
            tool(audio).description("Returns an audio clip"),
        )
        .tool(
            "test_embedded_resource",
            tool(embedded_resource).description("Returns an embedded resource"),
        )
        .tool(
            "test_multiple_content_types",
            tool(multiple_content_types).description("Returns text, an image and a resource"),
        )
        .tool(
            "test_tool_with_logging",
            tool(with_logging).description("Sends three log messages while it runs"),
        )
        .tool(
            "test_tool_with_progress",
            tool(with_progress).description("Reports progress three times"),
        )
        .tool(
            "test_error_handling",
            tool(error_handling).description("Always fails with a tool error"),
        )
        .tool(
            "test_sampling",
            tool(sampling).description("Asks the client's model to answer a prompt"),
        )
        .tool(
            "test_elicitation",
            tool(elicitation).description("Asks the user for a username and an email"),
        )
        .tool(
            "test_elicitation_sep1034_defaults",
            tool(elicitation_defaults)
                .description("Asks for a form whose fields have default values (SEP-1034)"),
        )
        .tool(
            "test_elicitation_sep1330_enums",
            tool(elicitation_enums)
                .description("Asks for a form with every kind of enum (SEP-1330)"),
        )
        .tool(
            "test_header_param",
            tool(header_param)
                .description("Takes an argument mirrored in an HTTP header (SEP-2243)")
                .input_schema(header_param_schema()),
        )
        .tool(
            "json_schema_2020_12_tool",
            tool(json_schema_tool)
                .description("Tool with JSON Schema 2020-12 features")
                .input_schema(json_schema_2020_12()),
        )
        .tool(
            "test_reconnection",
            tool(reconnection).description("Tests resuming a closed SSE stream"),
        )
        .tool(
            "test_missing_capability",
            tool(missing_capability).description("Needs the sampling capability"),
        )
        .tool(
            "test_streaming_elicitation",
            tool(streaming_elicitation).description("Asks the user a question"),
        )
        .tool(
            "test_logging_tool",
            tool(logging_tool).description("Logs one message when asked to"),
        )
        .tool(
            "test_trigger_tool_change",
            tool(trigger_tool_change(handle.clone())).description("Announces a tool list change"),
        )
        .tool(
            "test_trigger_prompt_change",
            tool(trigger_prompt_change(handle)).description("Announces a prompt list change"),
        )
        .resource(
            "test://static-text",
            resource(|| async { "This is the content of the static text resource." })
                .name("static-text")
                .description("A static text resource")
                .mime_type("text/plain"),
        )
        .resource(
            "test://static-binary",
            resource(|| async { Blob::new(decode_base64(PNG)) })
                .name("static-binary")
                .description("A static binary resource (a PNG image)")
                .mime_type("image/png"),
        )
        .resource(
            "test://watched-resource",
            resource(|| async { "Watched resource content" })
                .name("watched-resource")
                .description("A resource clients can subscribe to")
                .mime_type("text/plain"),
        )
        .resource_template(
            "test://template/{id}/data",
            resource(template_data)
                .name("template-data")
                .description("Data for any id")
                .mime_type("application/json")
                .complete("id", ["1", "2", "3", "123"]),
        )
        .prompt(
            "test_simple_prompt",
            prompt(|| async { "This is a simple prompt for testing." })
                .description("A prompt without arguments"),
        )
        .prompt(
            "test_prompt_with_arguments",
            prompt(prompt_with_arguments)
                .description("A prompt with two required arguments")
                .complete("arg1", ["test", "testValue1", "other"])
                .complete("arg2", ["testValue2"]),
        )
        .prompt(
            "test_prompt_with_embedded_resource",
            prompt(prompt_with_embedded_resource).description("A prompt that embeds a resource"),
        )
        .prompt(
            "test_prompt_with_image",
            prompt(prompt_with_image).description("A prompt with an image"),
        )
        .prompt(
            "test_input_required_result_prompt",
            prompt(crate::mrtr::prompt)
                .description("Asks the client for context before answering (2026-07-28)"),
        )
        .tool(
            "test_input_required_result_elicitation",
            tool(crate::mrtr::elicitation).description("Asks the user's name (multi round-trip)"),
        )
        .tool(
            "test_input_required_result_sampling",
            tool(crate::mrtr::sampling)
                .description("Asks the client's model a question (multi round-trip)"),
        )
        .tool(
            "test_input_required_result_list_roots",
            tool(crate::mrtr::list_roots).description("Asks the client's roots (multi round-trip)"),
        )
        .tool(
            "test_input_required_result_request_state",
            tool(crate::mrtr::confirm).description("Asks for a confirmation, carrying state"),
        )
        .tool(
            "test_input_required_result_multiple_inputs",
            tool(crate::mrtr::multiple_inputs).description("Asks three questions at once"),
        )
        .tool(
            "test_input_required_result_multi_round",
            tool(crate::mrtr::multi_round).description("Asks two questions, one round each"),
        )
        .tool(
            "test_input_required_result_tampered_state",
            tool(crate::mrtr::confirm)
                .description("Asks for a confirmation; refuses altered state"),
        )
        .tool(
            "test_input_required_result_capabilities",
            tool(crate::mrtr::capabilities).description("Asks only what the client can answer"),
        )
}

fn decode_base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("a valid base64 constant")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_decodes() {
        let png = decode_base64(PNG);
        assert_eq!(&png[1..4], b"PNG");
    }
}
