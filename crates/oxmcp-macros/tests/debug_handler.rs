//! `#[debug_handler]` on handlers that are right: they compile, and each function is left
//! as it was (callable, registrable) whatever the options.

use oxmcp::schemars::{self, JsonSchema};
use oxmcp::server::{debug_handler, Args, FromRequest, Request, Router, ToolError, Uri};
use serde::Deserialize;

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

/// A custom extractor that needs the state, which no `State<T>` argument names.
struct Greeting(&'static str);

impl FromRequest<AppState> for Greeting {
    async fn from_request(_call: &Request, state: &AppState) -> Result<Self, ToolError> {
        Ok(Greeting(state.greeting))
    }
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

#[debug_handler(state = AppState)]
async fn greet(Greeting(greeting): Greeting, Args(n): Args<Name>) -> String {
    format!("{greeting}, {}", n.name)
}

#[derive(Deserialize)]
struct Page {
    id: u32,
}

#[debug_handler(resource)]
async fn page(Uri(p): Uri<Page>) -> Result<String, ToolError> {
    Ok(format!("page {}", p.id))
}

#[debug_handler(prompt, state = ())]
async fn hello() -> &'static str {
    "Say hello."
}

#[debug_handler]
async fn nothing() {}

#[tokio::test]
async fn the_functions_are_left_as_they_were() {
    assert_eq!(
        greet(Greeting("hi"), Args(Name { name: "Ada".into() })).await,
        "hi, Ada"
    );
    assert_eq!(hello().await, "Say hello.");
    nothing().await;
    let router: Router = Router::new()
        .tool("greet", greet)
        .tool("nothing", nothing)
        .resource_template("pages://{id}", page)
        .prompt("hello", hello)
        .with_state(AppState { greeting: "hello" });
    assert_eq!(
        router.tools().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["greet", "nothing"]
    );
}
