// `bad_argument.rs` with `#[debug_handler]`: the error points at the argument.
use oxmcp::schemars::{self, JsonSchema};
use oxmcp::server::{debug_handler, Router};
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[debug_handler]
async fn add(args: AddArgs) -> String {
    (args.a + args.b).to_string()
}

fn main() {
    let _router: Router = Router::new().tool("add", add);
}
