//! The extension framework: advertising, methods, tools and layers an extension brings,
//! what the client declares and sees, unknown extensions ignored.

use std::sync::{Arc, Mutex};

use oxmcp::protocol::{JsonObject, ProtocolVersion};
use oxmcp::server::middleware::McpRequest;
use oxmcp::server::{tool, Context, MethodRequest, Router, ServerExtension};
use oxmcp::testing::TestClient;
use serde_json::{json, Map, Value};

use crate::support::{checked, code, legacy, modern, modern_meta, Raw};

const AUDIT: &str = "com.example/audit";

/// A third-party extension: advertises a setting, adds a method, a tool and a layer that
/// records every method it sees.
#[derive(Clone, Default)]
struct Audit {
    seen: Arc<Mutex<Vec<String>>>,
}

impl ServerExtension for Audit {
    fn id(&self) -> &str {
        AUDIT
    }

    fn settings(&self) -> JsonObject {
        let mut settings = JsonObject::new();
        settings.insert("level".into(), json!("full"));
        settings
    }

    fn install(self, router: Router) -> Router {
        let seen = self.seen.clone();
        router
            .method("audit/log", |request: MethodRequest| async move {
                #[derive(serde::Deserialize)]
                struct Params {
                    limit: u32,
                }
                let params: Params = request.decode()?;
                let declared = request.context().client_extension(AUDIT).is_some();
                Ok(json!({
                    "limit": params.limit,
                    "method": request.method(),
                    "clientDeclared": declared,
                }))
            })
            .tool(
                "audit_status",
                tool(|ctx: Context| async move {
                    format!("client declared: {}", ctx.client_extension(AUDIT).is_some())
                }),
            )
            .layer(tower::util::MapRequestLayer::new(
                move |request: McpRequest| {
                    seen.lock().unwrap().push(request.method().to_owned());
                    request
                },
            ))
    }
}

fn router(audit: &Audit) -> Router {
    Router::new().name("ext-test").extension(audit.clone())
}

fn limit(n: u32) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("limit".into(), json!(n));
    params
}

#[tokio::test]
async fn an_extension_is_advertised_and_its_method_tool_and_layer_work_in_both_eras() {
    for era in [legacy(), modern()] {
        let audit = Audit::default();
        let tap = crate::support::SchemaTap::new();
        let seen = tap.clone();
        let client = TestClient::builder(router(&audit))
            .era(era)
            .client(|b| b.extension(AUDIT, JsonObject::new()))
            .on_frame(move |d, f| seen.see(d, f))
            .connect()
            .await
            .unwrap();
        let client = client.client();
        assert_eq!(
            client.server_extension(AUDIT),
            Some(&json!({"level": "full"}).as_object().unwrap().clone()),
            "{:?}",
            client.protocol_version()
        );
        let answer: Value = client
            .request("audit/log", limit(3), Default::default())
            .await
            .unwrap();
        assert_eq!(answer["limit"], 3);
        assert_eq!(answer["method"], "audit/log");
        assert_eq!(answer["clientDeclared"], true, "the client declared it");
        let text = client.call_tool("audit_status", json!({})).await.unwrap();
        assert_eq!(
            serde_json::to_value(&text.content).unwrap()[0]["text"],
            "client declared: true"
        );
        let seen = audit.seen.lock().unwrap().clone();
        assert!(
            seen.contains(&"audit/log".to_owned()) && seen.contains(&"tools/call".to_owned()),
            "the extension's layer sees its own method and the core ones: {seen:?}"
        );
        tap.assert_clean();
    }
}

#[tokio::test]
async fn a_modern_extension_result_is_complete_and_carries_the_server_meta() {
    let mut raw = Raw::start(router(&Audit::default()));
    let discover = raw
        .call(
            json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
            "params": {"_meta": modern_meta()}}),
        )
        .await;
    assert_eq!(
        discover["result"]["capabilities"]["extensions"][AUDIT],
        json!({"level": "full"})
    );
    let answer = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "audit/log",
            "params": {"limit": 1, "_meta": modern_meta()}}))
        .await;
    assert_eq!(answer["result"]["resultType"], "complete");
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "ext-test"
    );
    assert_eq!(
        answer["result"]["clientDeclared"], false,
        "this client declared nothing"
    );
    raw.finish().await;
}

#[tokio::test]
async fn bad_params_of_an_extension_method_say_what_was_expected() {
    let mut raw = Raw::start(router(&Audit::default()));
    let answer = raw
        .call(json!({"jsonrpc": "2.0", "id": 1, "method": "audit/log",
            "params": {"limit": "many", "_meta": modern_meta()}}))
        .await;
    assert_eq!(code(&answer), -32602, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("limit") && message.contains("u32"),
        "{message}"
    );
    // An extension method needs the era's _meta or a session like any other.
    let answer = raw
        .call(json!({"jsonrpc": "2.0", "id": 2, "method": "audit/log", "params": {"limit": 1}}))
        .await;
    assert_eq!(code(&answer), -32600, "{answer}");
    raw.finish().await;
}

#[tokio::test]
async fn methods_no_extension_added_are_still_not_found() {
    let mut raw = Raw::start(router(&Audit::default()));
    let answer = raw
        .call(json!({"jsonrpc": "2.0", "id": 1, "method": "audit/other",
            "params": {"_meta": modern_meta()}}))
        .await;
    assert_eq!(code(&answer), -32601, "{answer}");
    raw.finish().await;
}

#[tokio::test]
async fn unknown_extensions_the_client_declares_are_ignored() {
    let mut raw = Raw::start(router(&Audit::default()));
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/clientCapabilities"] =
        json!({"extensions": {"org.unknown/thing": {"x": 1}}});
    let answer = raw
        .call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "audit_status", "arguments": {}, "_meta": meta}}))
        .await;
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "client declared: false"
    );
    let init = raw.initialize("2025-11-25").await;
    assert_eq!(init["capabilities"]["extensions"][AUDIT]["level"], "full");
    raw.finish().await;
}

#[tokio::test]
async fn a_client_keeps_extensions_it_does_not_know_and_a_server_without_any_advertises_none() {
    let (client, tap) = checked(Router::new(), modern()).await;
    assert!(client.client().server_capabilities().extensions.is_none());
    assert_eq!(client.client().server_extension(AUDIT), None);
    tap.assert_clean();
    // The capability of a client that set its capabilities explicitly still names the
    // extensions it declared.
    let client = TestClient::builder(router(&Audit::default()))
        .era(modern())
        .client(|b| {
            b.extension(AUDIT, JsonObject::new())
                .capabilities(Default::default())
        })
        .connect()
        .await
        .unwrap();
    let answer: Value = client
        .client()
        .request("audit/log", limit(0), Default::default())
        .await
        .unwrap();
    assert_eq!(answer["clientDeclared"], true);
    assert_eq!(
        client.client().protocol_version(),
        ProtocolVersion::V2026_07_28
    );
}

#[test]
#[should_panic(expected = "is not a vendor prefix")]
fn an_identifier_without_a_prefix_is_refused() {
    struct Bare;
    impl ServerExtension for Bare {
        fn id(&self) -> &str {
            "bare"
        }
    }
    let _: Router = Router::new().extension(Bare);
}

#[test]
#[should_panic(expected = "is a method of the protocol")]
fn an_extension_cannot_replace_a_core_method() {
    let _: Router = Router::new().method("tools/list", |_request: MethodRequest| async {
        Ok(json!({}))
    });
}
