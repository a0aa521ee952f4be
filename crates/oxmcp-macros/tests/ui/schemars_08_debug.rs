// `schemars_08.rs` with `#[debug_handler]`: the error points at the argument type and
// names schemars.
use oxmcp::server::{debug_handler, Args, Router};
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[debug_handler]
async fn add(Args(args): Args<AddArgs>) -> String {
    (args.a + args.b).to_string()
}

#[tokio::main]
async fn main() -> oxmcp::Result<()> {
    Router::new().tool("add", add).serve_stdio().await
}
