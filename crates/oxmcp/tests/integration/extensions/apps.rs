//! MCP Apps (`io.modelcontextprotocol/ui`): a tool linked to a `ui://` HTML resource, the
//! resource's metadata, and the plain view of clients without the extension.

use std::sync::Arc;

use oxmcp::client::EraChoice;
use oxmcp::server::apps::{
    AppResource, Apps, Csp, Permission, Visibility, EXTENSION_ID, MIME_TYPE,
};
use oxmcp::server::{tool, Router};
use oxmcp::testing::TestClient;
use serde_json::{json, Map, Value};

use crate::support::{legacy, modern, SchemaTap};

const HTML: &str = "<!DOCTYPE html><html><body><div id=app></div></body></html>";

async fn weather() -> String {
    "Sunny, 22 °C".into()
}

fn router() -> Router {
    let dashboard = AppResource::new("ui://weather/dashboard", "Weather dashboard", HTML)
        .description("Today's weather")
        .csp(
            Csp::new()
                .connect("https://api.weather.example")
                .resource("https://cdn.example"),
        )
        .permission(Permission::Geolocation)
        .permission(Permission::ClipboardWrite)
        .prefers_border(true);
    Router::new()
        .extension(Apps::new().resource(dashboard))
        .tool("weather", tool(weather).ui("ui://weather/dashboard"))
        .tool(
            "refresh",
            tool(weather).ui_with("ui://weather/dashboard", &[Visibility::App]),
        )
        .tool("plain", weather)
}

fn apps_settings() -> Map<String, Value> {
    match json!({ "mimeTypes": [MIME_TYPE] }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

async fn connect(
    era: EraChoice,
    with_apps: Option<Map<String, Value>>,
) -> (TestClient, Arc<SchemaTap>) {
    let tap = SchemaTap::new();
    let seen = tap.clone();
    let client = TestClient::builder(router())
        .era(era)
        .on_frame(move |d, f| seen.see(d, f))
        .client(move |b| match with_apps {
            Some(settings) => b.extension(EXTENSION_ID, settings),
            None => b,
        })
        .connect()
        .await
        .unwrap();
    (client, tap)
}

async fn tools(client: &TestClient) -> Value {
    let tools = client.list_all_tools().await.unwrap();
    let mut by_name = Map::new();
    for tool in tools {
        by_name.insert(tool.name.clone(), serde_json::to_value(&tool).unwrap());
    }
    Value::Object(by_name)
}

#[tokio::test]
async fn a_ui_tool_and_its_app_follow_the_wire_format() {
    for era in [modern(), legacy()] {
        let (client, tap) = connect(era, Some(apps_settings())).await;
        assert_eq!(
            client.server_extension(EXTENSION_ID),
            Some(&apps_settings()),
            "advertised with its MIME type"
        );
        let tools = tools(&client).await;
        assert_eq!(
            tools["weather"]["_meta"]["ui"],
            json!({ "resourceUri": "ui://weather/dashboard" })
        );
        assert_eq!(
            tools["refresh"]["_meta"]["ui"],
            json!({ "resourceUri": "ui://weather/dashboard", "visibility": ["app"] })
        );
        assert!(tools["plain"].get("_meta").is_none());

        let ui_meta = json!({
            "csp": {
                "connectDomains": ["https://api.weather.example"],
                "resourceDomains": ["https://cdn.example"]
            },
            "permissions": { "geolocation": {}, "clipboardWrite": {} },
            "prefersBorder": true
        });
        let listed = client.list_all_resources().await.unwrap();
        let listed = serde_json::to_value(&listed[0]).unwrap();
        assert_eq!(listed["uri"], "ui://weather/dashboard");
        assert_eq!(listed["mimeType"], MIME_TYPE);
        assert_eq!(listed["description"], "Today's weather");
        assert_eq!(listed["_meta"]["ui"], ui_meta);

        let read = client
            .read_resource("ui://weather/dashboard")
            .await
            .unwrap();
        let contents = serde_json::to_value(&read.contents[0]).unwrap();
        assert_eq!(contents["mimeType"], MIME_TYPE);
        assert_eq!(contents["text"], HTML);
        assert_eq!(contents["_meta"]["ui"], ui_meta);

        // The result is the tool's plain content, which the host hands to the view.
        let result = client.call_tool("weather", ()).await.unwrap();
        assert_eq!(
            serde_json::to_value(&result.content).unwrap()[0]["text"],
            "Sunny, 22 °C"
        );
        tap.assert_clean();
    }
}

#[tokio::test]
async fn clients_without_the_extension_see_plain_tools() {
    let other_types = match json!({ "mimeTypes": ["text/uri-list"] }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    for (era, settings) in [
        (modern(), None),
        (legacy(), None),
        (modern(), Some(other_types.clone())),
        (legacy(), Some(other_types)),
    ] {
        let (client, tap) = connect(era, settings).await;
        let tools = tools(&client).await;
        let names: Vec<&String> = tools.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), 2, "the app-only tool is left out: {names:?}");
        assert!(
            tools["weather"].get("_meta").is_none(),
            "{}",
            tools["weather"]
        );
        assert!(tools["plain"].get("_meta").is_none());
        let result = client.call_tool("weather", ()).await.unwrap();
        assert_eq!(
            serde_json::to_value(&result.content).unwrap()[0]["text"],
            "Sunny, 22 °C"
        );
        tap.assert_clean();
    }
}

#[test]
#[should_panic(expected = "a tool's app is a ui:// resource")]
fn a_tool_links_only_to_ui_resources() {
    let _: Router = Router::new().tool("w", tool(weather).ui("https://example.com/app.html"));
}

#[tokio::test]
async fn app_only_tools_are_refused_to_clients_without_the_extension() {
    for era in [modern(), legacy()] {
        let (client, tap) = connect(era, None).await;
        let refused = client.call_tool("refresh", ()).await.unwrap_err();
        assert_eq!(refused.rpc_code(), Some(-32602), "{refused}");
        let text = refused.to_string();
        assert!(text.contains("only an MCP App may call it"), "{text}");
        assert!(text.contains(EXTENSION_ID), "{text}");
        // A tool for the model and the app stays callable.
        client.call_tool("weather", ()).await.unwrap();
        tap.assert_clean();
        // The host that declared the extension calls it for its app.
        let (client, _tap) = connect(era, Some(apps_settings())).await;
        client.call_tool("refresh", ()).await.unwrap();
    }
}

#[cfg(feature = "auth")]
mod scoped {
    use super::*;
    use oxmcp::server::auth::{Auth, INSUFFICIENT_SCOPE};
    use oxmcp::server::middleware::McpRequest;

    /// Two apps: the dashboard needs what its tools need; the panel needs `admin` of its
    /// own, though its tools need only `weather`.
    fn router(scopes: &'static [&'static str]) -> Router {
        let dashboard = AppResource::new("ui://weather/dashboard", "Dashboard", HTML);
        let panel = AppResource::new("ui://admin/panel", "Panel", HTML).scopes(["admin"]);
        let app = |uri: &str, only_app: bool| {
            let def = tool(weather).scopes(["weather"]);
            match only_app {
                true => def.ui_with(uri, &[Visibility::App]),
                false => def.ui(uri),
            }
        };
        Router::new()
            .extension(Apps::new().resource(dashboard).resource(panel))
            .tool("weather", app("ui://weather/dashboard", false))
            .tool("refresh", app("ui://weather/dashboard", true))
            .tool("panel", app("ui://admin/panel", false))
            .tool("panel_refresh", app("ui://admin/panel", true))
            // An app served by a template, with scopes of its own.
            .resource_template(
                "ui://reports/{name}",
                oxmcp::server::resource(|| async { HTML }).scopes(["admin"]),
            )
            .tool("report", app("ui://reports/daily", false))
            .layer(tower::util::MapRequestLayer::new(
                move |mut request: McpRequest| {
                    request
                        .extensions_mut()
                        .insert(Auth::new("caller").with_scopes(scopes.iter().copied()));
                    request
                },
            ))
    }

    async fn connect(
        scopes: &'static [&'static str],
        era: EraChoice,
        apps: bool,
    ) -> (TestClient, Value) {
        let client = TestClient::builder(router(scopes))
            .era(era)
            .client(move |b| match apps {
                true => b.extension(EXTENSION_ID, apps_settings()),
                false => b,
            })
            .connect()
            .await
            .unwrap();
        let tools = tools(&client).await;
        (client, tools)
    }

    async fn resources(client: &TestClient) -> Vec<String> {
        let listed = client.list_all_resources().await.unwrap();
        listed.into_iter().map(|r| r.uri).collect()
    }

    #[tokio::test]
    async fn a_tool_never_points_at_an_app_the_caller_cannot_read() {
        for era in [modern(), legacy()] {
            let (client, tools) = connect(&["weather"], era, true).await;
            assert_eq!(
                tools["weather"]["_meta"]["ui"]["resourceUri"],
                "ui://weather/dashboard"
            );
            assert_eq!(
                tools["refresh"]["_meta"]["ui"]["visibility"],
                json!(["app"])
            );
            assert!(
                tools["panel"].get("_meta").is_none(),
                "degraded to a plain tool: {}",
                tools["panel"]
            );
            assert!(tools.get("panel_refresh").is_none(), "{tools}");
            assert!(
                tools["report"].get("_meta").is_none(),
                "{}",
                tools["report"]
            );
            assert_eq!(resources(&client).await, ["ui://weather/dashboard"]);
            client
                .read_resource("ui://weather/dashboard")
                .await
                .unwrap();
            let refused = client.read_resource("ui://admin/panel").await.unwrap_err();
            assert_eq!(refused.rpc_code(), Some(INSUFFICIENT_SCOPE), "{refused}");

            // With the app's own scope too, everything links to its app.
            let (client, tools) = connect(&["weather", "admin"], era, true).await;
            assert_eq!(
                tools["panel"]["_meta"]["ui"]["resourceUri"],
                "ui://admin/panel"
            );
            assert!(tools.get("panel_refresh").is_some());
            assert_eq!(
                tools["report"]["_meta"]["ui"]["resourceUri"],
                "ui://reports/daily"
            );
            client.read_resource("ui://admin/panel").await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_app_needs_the_scopes_of_its_tools_unless_it_names_its_own() {
        for era in [modern(), legacy()] {
            let (client, tools) = connect(&[], era, true).await;
            assert_eq!(tools, json!({}));
            assert!(resources(&client).await.is_empty());
            let refused = client
                .read_resource("ui://weather/dashboard")
                .await
                .unwrap_err();
            assert_eq!(refused.rpc_code(), Some(INSUFFICIENT_SCOPE), "{refused}");
            assert!(refused.to_string().contains("weather"), "{refused}");
            // Its own scope is enough for the panel, whatever its tools need.
            let (client, _) = connect(&["admin"], era, true).await;
            client.read_resource("ui://admin/panel").await.unwrap();
        }
    }

    #[tokio::test]
    async fn filtered_listings_still_hide_app_only_tools_from_clients_without_apps() {
        for era in [modern(), legacy()] {
            let (client, tools) = connect(&["weather", "admin"], era, false).await;
            let mut names: Vec<&String> = tools.as_object().unwrap().keys().collect();
            names.sort();
            assert_eq!(names, ["panel", "report", "weather"]);
            assert!(tools["weather"].get("_meta").is_none(), "{tools}");
            let refused = client.call_tool("refresh", ()).await.unwrap_err();
            assert_eq!(refused.rpc_code(), Some(-32602), "{refused}");
        }
    }
}
