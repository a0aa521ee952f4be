//! The tasks extension fixtures (SEP-2663): tools the suite's `tasks-*` scenarios call.

use std::time::Duration;

use oxmcp::protocol::elicitation::ElicitRequestParams;
use oxmcp::server::tasks::{TaskSupport, Tasks};
use oxmcp::server::{tool, Args, Context, Router, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// Who to greet.
    name: String,
}

async fn greet(Args(args): Args<Greet>) -> String {
    format!("Hello, {}!", args.name)
}

#[derive(Deserialize, JsonSchema)]
struct Compute {
    /// How long to work, in seconds.
    seconds: f64,
    /// A label echoed in the result.
    #[serde(default)]
    label: String,
}

async fn slow_compute(Args(args): Args<Compute>) -> String {
    let seconds = args.seconds.clamp(0.0, 3600.0);
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    format!("computed {} after {seconds}s", args.label)
}

async fn failing_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    Err(ToolError::execution("the job failed"))
}

async fn protocol_error_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Err(ToolError::internal("the job's worker crashed"))
}

/// A form with optional `confirm` and `name` fields.
fn form(message: &str) -> ElicitRequestParams {
    serde_json::from_value(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {"type": "object", "properties": {
            "confirm": {"type": "boolean"},
            "name": {"type": "string"}
        }}
    }))
    .expect("a valid form elicitation")
}

fn accepted(answer: &impl serde::Serialize) -> Value {
    let answer = serde_json::to_value(answer).unwrap_or_default();
    if answer["action"] == "accept" {
        answer["content"].clone()
    } else {
        Value::Null
    }
}

#[derive(Deserialize, JsonSchema)]
struct Delete {
    /// The file to delete.
    filename: String,
}

/// Locates the file (a wait, so the call becomes a task), then asks for confirmation.
async fn confirm_delete(ctx: Context, Args(args): Args<Delete>) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    let answer = ctx
        .elicit_with(form(&format!("Delete {}?", args.filename)))
        .await?;
    Ok(match accepted(&answer)["confirm"].as_bool() {
        Some(true) => format!("deleted {}", args.filename),
        _ => format!("kept {}", args.filename),
    })
}

/// Asks two questions at once, once it is a task.
async fn multi_input(ctx: Context) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (first, second) = tokio::join!(
        ctx.elicit_with(form("First input")),
        ctx.elicit_with(form("Second input"))
    );
    let (first, second) = (accepted(&first?), accepted(&second?));
    Ok(format!("got {} and {}", first["name"], second["name"]))
}

/// Asks the user's name first (multi round-trip), then works as a task.
async fn tool_with_task(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .question("user_name")
        .elicit_with(form("What is your name?"))
        .await?;
    let name = accepted(&answer)["name"]
        .as_str()
        .unwrap_or("stranger")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(format!("Hello, {name}! Your task is done."))
}

/// Adds the tasks extension and its fixtures.
pub fn install(router: Router) -> Router {
    router
        .extension(Tasks::new().poll_interval(Duration::from_millis(100)))
        .tool(
            "greet",
            tool(greet).description("Greets by name (never a task)"),
        )
        .tool(
            "slow_compute",
            tool(slow_compute)
                .description("Works for `seconds`, as a task when the client supports tasks")
                .task(TaskSupport::Optional),
        )
        .tool(
            "failing_job",
            tool(failing_job)
                .description("Fails with a tool error after a while; runs only as a task")
                .task(TaskSupport::Required),
        )
        .tool(
            "protocol_error_job",
            tool(protocol_error_job)
                .description("Fails with a protocol error after a while")
                .task(TaskSupport::Optional),
        )
        .tool(
            "confirm_delete",
            tool(confirm_delete)
                .description("Asks for confirmation from within its task")
                .task(TaskSupport::Optional),
        )
        .tool(
            "multi_input",
            tool(multi_input)
                .description("Asks two questions at once from within its task")
                .task(TaskSupport::Optional),
        )
        .tool(
            "test_tool_with_task",
            tool(tool_with_task)
                .description("Asks the user's name, then goes on as a task")
                .task(TaskSupport::Required),
        )
}
