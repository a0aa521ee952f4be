// A tool returns a type that does not convert into a tool result.
use oxmcp::server::Router;

struct Report {
    lines: usize,
}

async fn report() -> Report {
    Report { lines: 3 }
}

fn main() {
    let _router: Router = Router::new().tool("report", report);
}
