// `#[debug_handler]` on what is not an async fn, and with an option it does not know.
use oxmcp::server::debug_handler;

#[debug_handler]
fn not_async() -> String {
    String::new()
}

#[debug_handler(tools)]
async fn unknown_option() -> String {
    String::new()
}

#[debug_handler]
async fn generic<T: Send>(_t: T) -> String {
    String::new()
}

fn main() {}
