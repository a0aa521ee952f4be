// The handlers take `State<Log>`, but the router is never given a `Log`.
use std::sync::{Arc, Mutex};

use oxmcp::server::{Router, State};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

async fn count(State(log): State<Log>) -> String {
    log.0.lock().unwrap().len().to_string()
}

#[tokio::main]
async fn main() -> oxmcp::Result<()> {
    Router::new().tool("count", count).serve_stdio().await
}
