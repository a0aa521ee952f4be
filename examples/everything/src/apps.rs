//! MCP Apps (`io.modelcontextprotocol/ui`): `test_app_greeting` shows its result in the
//! `ui://everything/greeting` view; clients without the extension get its plain text.

use oxmcp::server::apps::{AppResource, Apps, Csp};
use oxmcp::server::{tool, Args, Router};
use schemars::JsonSchema;
use serde::Deserialize;

/// The view: renders the tool's result the host passes in `ui/notifications/tool-result`.
const GREETING_HTML: &str = r#"<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Greeting</title></head>
<body>
<p id="greeting">Waiting for the tool's result...</p>
<script>
window.addEventListener("message", (event) => {
  const message = event.data;
  if (message && message.method === "ui/notifications/tool-result") {
    const text = (message.params.content || []).find((c) => c.type === "text");
    document.getElementById("greeting").textContent = text ? text.text : "";
  }
});
</script>
</body>
</html>
"#;

#[derive(Deserialize, JsonSchema)]
struct Who {
    /// Whom to greet.
    name: String,
}

async fn greeting(Args(who): Args<Who>) -> String {
    format!("Hello, {}!", who.name)
}

/// Adds the extension, its view and the tool shown in it.
pub fn install(router: Router) -> Router {
    let view = AppResource::new("ui://everything/greeting", "Greeting view", GREETING_HTML)
        .description("Shows the greeting of test_app_greeting")
        // Nothing beyond the view itself.
        .csp(Csp::new())
        .prefers_border(true);
    router.extension(Apps::new().resource(view)).tool(
        "test_app_greeting",
        tool(greeting)
            .description("Greets someone; hosts with MCP Apps show it in ui://everything/greeting")
            .ui("ui://everything/greeting"),
    )
}
