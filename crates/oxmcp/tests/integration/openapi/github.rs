//! GitHub's REST API description (npm `@octokit/openapi`, installed by `cargo xtask ci`
//! into `interop/openapi`): a large real document no one here wrote.

use std::path::PathBuf;

use oxmcp::server::openapi::OpenApi;
use oxmcp::server::Router;
use serde_json::{json, Value};

use super::service;
use crate::support::{checked, modern};

/// The document, from `OXMCP_GITHUB_OPENAPI` (set by `cargo xtask ci`: then it must be
/// there) or where `npm ci` in `interop/openapi` puts it; `None` (the test is skipped,
/// saying so) if neither.
fn github_spec() -> Option<String> {
    let (path, required) = match std::env::var_os("OXMCP_GITHUB_OPENAPI") {
        Some(path) => (PathBuf::from(path), true),
        None => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
                "../../interop/openapi/node_modules/@octokit/openapi/generated/api.github.com.json",
            ),
            false,
        ),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if required => panic!("{}: {e}", path.display()),
        Err(_) => {
            eprintln!(
                "skipped: {} is missing (run `npm ci` in interop/openapi)",
                path.display()
            );
            None
        }
    }
}

/// Every operation of the document becomes a tool whose input (and output) schema is a
/// valid JSON Schema 2020-12 that compiles.
#[test]
fn every_github_operation_is_a_tool_with_a_valid_schema() {
    let Some(text) = github_spec() else { return };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .iter()
            .filter(|m| item.get(**m).is_some())
            .count()
        })
        .sum();
    assert!(operations > 900, "{operations} operations");

    let router = OpenApi::parse(&text)
        .unwrap()
        .base_url("http://127.0.0.1:1")
        .router()
        .unwrap();
    let tools: Vec<_> = router.tools().collect();
    assert_eq!(tools.len(), operations);
    let mut names = std::collections::HashSet::new();
    for tool in &tools {
        assert!(names.insert(tool.name.as_str()), "{} twice", tool.name);
        for (what, schema) in [
            ("input", Some(&tool.input_schema)),
            ("output", tool.output_schema.as_ref()),
        ] {
            let Some(schema) = schema else { continue };
            let schema = Value::Object(schema.clone());
            assert_eq!(schema["type"], "object", "{} {what}", tool.name);
            // Building a validator checks the schema against the 2020-12 meta-schema too.
            if let Err(e) = jsonschema::draft202012::new(&schema) {
                panic!("{} {what} schema is not valid: {e}", tool.name);
            }
        }
    }
    let get = tools.iter().find(|t| t.name == "repos_get").unwrap();
    assert_eq!(get.input_schema["required"], json!(["owner", "repo"]));
}

/// GitHub's own operations, called against the local service: path, query and body
/// arguments land where the document says.
#[tokio::test]
async fn github_operations_reach_a_local_service() {
    let Some(text) = github_spec() else { return };
    let addr = service().await;
    let router: Router = OpenApi::parse(&text)
        .unwrap()
        .base_url(format!("http://{addr}"))
        .include_tags(["issues", "repos"])
        .auth(|mut request: reqwest::Request| async move {
            request
                .headers_mut()
                .insert("authorization", "Bearer good".parse().unwrap());
            Ok(request)
        })
        .router()
        .unwrap();
    let (client, tap) = checked(router, modern()).await;

    let r = client
        .call_tool("repos_get", json!({"owner": "octo", "repo": "hello world"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, None);
    let echo = r.structured_content.unwrap();
    assert_eq!(echo["path"], "/repos/octo/hello%20world");
    assert_eq!(echo["authorization"], "Bearer good");

    let r = client
        .call_tool(
            "issues_list-for-repo",
            json!({"owner": "octo", "repo": "r", "state": "open", "per_page": 5}),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, None);
    let echo = &r.structured_content.unwrap()["result"];
    assert_eq!(echo["path"], "/repos/octo/r/issues");
    assert_eq!(echo["query"], "state=open&per_page=5");

    let r = client
        .call_tool(
            "issues_create",
            json!({"owner": "octo", "repo": "r", "body": {"title": "Found a bug", "labels": ["bug"]}}),
        )
        .await
        .unwrap();
    let echo = r.structured_content.unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        echo["body"],
        json!({"title": "Found a bug", "labels": ["bug"]})
    );
    tap.assert_clean();
}
