// `mutex_guard_across_await.rs` with `#[debug_handler]`: the error names the guard held
// across the `.await`.
use std::sync::{Arc, Mutex};

use oxmcp::schemars::{self, JsonSchema};
use oxmcp::server::{debug_handler, Args, Context, Router, State};
use serde::Deserialize;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

#[derive(Deserialize, JsonSchema)]
struct Text {
    text: String,
}

#[debug_handler]
async fn append(State(log): State<Log>, ctx: Context, Args(t): Args<Text>) -> String {
    let mut lines = log.0.lock().unwrap();
    lines.push(t.text);
    ctx.log(oxmcp::protocol::logging::LoggingLevel::Info, None, &"appended").await;
    lines.len().to_string()
}

#[tokio::main]
async fn main() -> oxmcp::Result<()> {
    Router::new()
        .tool("append", append)
        .with_state(Log::default())
        .serve_stdio()
        .await
}
