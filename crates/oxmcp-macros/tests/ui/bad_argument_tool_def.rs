// `bad_argument.rs` registered through `tool(..).description(..)`, as the README does.
use oxmcp::schemars::{self, JsonSchema};
use oxmcp::server::{tool, Router};
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

async fn add(args: AddArgs) -> String {
    (args.a + args.b).to_string()
}

fn main() {
    let _router: Router = Router::new().tool("add", tool(add).description("Add two integers."));
}
