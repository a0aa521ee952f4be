//! The quickstart server: three tools over stdio.
//!
//! Run it with `cargo run -p quickstart`, then speak MCP on its stdin/stdout, or point any
//! MCP client at that command. Logs go to stderr (`RUST_LOG=debug` for more).

use oxmcp::server::{tool, Args, Json, Router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Arguments of `add`.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first term.
    a: i64,
    /// The second term.
    b: i64,
}

/// Adds two integers.
async fn add(Args(args): Args<AddArgs>) -> Result<String, oxmcp::server::ToolError> {
    args.a
        .checked_add(args.b)
        .map(|sum| sum.to_string())
        .ok_or_else(|| oxmcp::server::ToolError::execution("the sum overflows a 64-bit integer"))
}

/// Arguments of `echo`.
#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

/// Sends the text back.
async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

/// Arguments of `weather`.
#[derive(Deserialize, JsonSchema)]
struct WeatherArgs {
    /// The city to report on.
    city: String,
}

/// A weather report (structured output).
#[derive(Serialize, JsonSchema)]
struct Weather {
    /// The city reported on.
    city: String,
    /// Temperature in degrees Celsius.
    temperature_c: f64,
    /// A short description of the sky.
    conditions: String,
}

/// A made-up but stable forecast: the same city always gets the same weather.
async fn weather(Args(args): Args<WeatherArgs>) -> Json<Weather> {
    let seed = args
        .city
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let conditions = ["sunny", "cloudy", "rainy", "windy", "snowy"][(seed % 5) as usize];
    let temperature_c = f64::from(seed % 400) / 10.0 - 10.0;
    Json(Weather {
        city: args.city,
        temperature_c,
        conditions: conditions.to_owned(),
    })
}

/// The quickstart router, also used by this example's tests.
fn router() -> Router {
    Router::new()
        .name("oxmcp-quickstart")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("Arithmetic, echo and a (fictional) weather report.")
        .tool(
            "add",
            tool(add)
                .title("Add")
                .description("Add two integers.")
                .read_only(),
        )
        .tool(
            "echo",
            tool(echo)
                .description("Send the text back unchanged.")
                .read_only(),
        )
        .tool(
            "weather",
            tool(weather)
                .title("Weather")
                .description("Current weather for a city (fictional data)."),
        )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {
    // Colour only for a person at a terminal: hosts write server stderr to log files.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    router().serve_stdio().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmcp::testing::TestClient;
    use serde_json::json;

    #[tokio::test]
    async fn tools_answer_in_both_eras() {
        for client in [
            TestClient::legacy(router()).await.unwrap(),
            TestClient::modern(router()).await.unwrap(),
        ] {
            let names: Vec<String> = client
                .list_all_tools()
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect();
            assert_eq!(names, ["add", "echo", "weather"]);
            let sum = client
                .call_tool("add", json!({"a": 2, "b": 3}))
                .await
                .unwrap();
            assert_eq!(
                serde_json::to_value(&sum.content).unwrap(),
                json!([{"type": "text", "text": "5"}])
            );
            let report = client
                .call_tool("weather", json!({"city": "Oslo"}))
                .await
                .unwrap();
            let structured = report.structured_content.unwrap();
            assert_eq!(structured["city"], "Oslo");
            assert!(structured["temperature_c"].is_number());
        }
    }
}
