//! `Transform`: a tool renamed, redescribed, with arguments fixed and hidden.

use oxmcp::server::compose::{Mount, Transform};
use oxmcp::server::{Args, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{text, tool_names};
use crate::support::{checked, legacy, modern};

#[derive(Deserialize, JsonSchema)]
struct Query {
    sql: String,
    database: String,
}

async fn query(Args(q): Args<Query>) -> String {
    format!("{} on {}", q.sql, q.database)
}

fn sales() -> Transform {
    Transform::new()
        .rename("query_sales")
        .title("Sales query")
        .description("Run SQL on the sales database")
        .fix("database", "sales")
}

/// A fixed argument leaves the schema, and the client cannot set it: its value wins.
#[tokio::test]
async fn a_transformed_tool_is_renamed_and_its_fixed_arguments_hidden() {
    for era in [legacy(), modern()] {
        let router: Router = Router::new()
            .tool("query", query)
            .transform_tool("query", sales());
        let (client, tap) = checked(router, era).await;
        let tools = client.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 1);
        let tool = &tools[0];
        assert_eq!(tool.name, "query_sales");
        assert_eq!(tool.title.as_deref(), Some("Sales query"));
        assert_eq!(
            tool.description.as_deref(),
            Some("Run SQL on the sales database")
        );
        assert!(tool.input_schema["properties"].get("database").is_none());
        assert_eq!(tool.input_schema["required"], json!(["sql"]));

        let r = client
            .call_tool("query_sales", json!({"sql": "select 1"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "select 1 on sales");
        let r = client
            .call_tool(
                "query_sales",
                json!({"sql": "select 1", "database": "payroll"}),
            )
            .await
            .unwrap();
        assert_eq!(text(&r), "select 1 on sales", "the fixed value wins");
        assert!(client.call_tool("query", json!({})).await.is_err());
        tap.assert_clean();
    }
}

#[tokio::test]
async fn a_mounted_tool_is_transformed_under_its_namespace() {
    let db: Router = Router::new().tool("query", query).tool("other", query);
    let router: Router = Router::new().mount_with(Mount::new("db").transform("query", sales()), db);
    let (client, _) = checked(router, modern()).await;
    assert_eq!(tool_names(&client).await, ["db_query_sales", "db_other"]);
    let r = client
        .call_tool("db_query_sales", json!({"sql": "select 2"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "select 2 on sales");
    let r = client
        .call_tool("db_other", json!({"sql": "select 3", "database": "x"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "select 3 on x");
}

#[test]
#[should_panic(expected = "transform_tool: no tool named \"nope\" is registered")]
fn transforming_an_unknown_tool_panics() {
    let _: Router = Router::new()
        .tool("query", query)
        .transform_tool("nope", Transform::new());
}
