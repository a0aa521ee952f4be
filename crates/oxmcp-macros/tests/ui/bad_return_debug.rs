// `bad_return.rs` with `#[debug_handler]`: the error points at the return type.
use oxmcp::server::{debug_handler, Router};

struct Report {
    lines: usize,
}

#[debug_handler]
async fn report() -> Report {
    Report { lines: 3 }
}

fn main() {
    let _router: Router = Router::new().tool("report", report);
}
