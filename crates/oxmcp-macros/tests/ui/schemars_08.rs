// The argument type derives the JsonSchema of schemars 0.8, not the schemars 1 oxmcp uses.
use oxmcp::server::{Args, Router};
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

async fn add(Args(args): Args<AddArgs>) -> String {
    (args.a + args.b).to_string()
}

#[tokio::main]
async fn main() -> oxmcp::Result<()> {
    Router::new().tool("add", add).serve_stdio().await
}
