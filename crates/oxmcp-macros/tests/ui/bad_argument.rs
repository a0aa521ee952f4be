// A tool takes an argument that is not an extractor (the bare struct instead of `Args<T>`).
use oxmcp::schemars::{self, JsonSchema};
use oxmcp::server::Router;
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
    let _router: Router = Router::new().tool("add", add);
}
