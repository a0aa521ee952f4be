// `serve_http` needs the `http-server` feature, which this build does not enable.
use oxmcp::server::Router;

async fn ping() -> &'static str {
    "pong"
}

#[tokio::main]
async fn main() -> oxmcp::Result<()> {
    Router::new().tool("ping", ping).serve_http("127.0.0.1:8000").await
}
