//! The typed methods of the server surface, against both eras.

use std::collections::BTreeMap;

use oxmcp::client::Client;
use oxmcp::protocol::{LoggingLevel, PromptReference, ResourceContents, ResourceTemplateReference};
use serde_json::{json, Value};

use super::{cacheable, complete, legacy, modern, Fake};

/// Answers the next request, which must be for `method`; returns it.
async fn answer(fake: &mut Fake, method: &str, result: Value) -> Value {
    let request = fake.recv_request(method).await;
    fake.reply(&request, result).await;
    request
}

#[tokio::test]
async fn legacy_resources_prompts_completion_and_logging() {
    let (client, mut fake, _) = legacy(Client::builder()).await;

    let call = async {
        let resources = client.list_all_resources().await.unwrap();
        let templates = client.list_all_resource_templates().await.unwrap();
        let read = client.read_resource("file:///a.txt").await.unwrap();
        let missing = client.read_resource("file:///nope").await.unwrap_err();
        (resources, templates, read, missing)
    };
    let serve = async {
        let page1 = answer(
            &mut fake,
            "resources/list",
            json!({"resources": [{"uri": "file:///a.txt", "name": "a", "mimeType": "text/plain"}],
                   "nextCursor": "page-2"}),
        )
        .await;
        assert!(page1["params"].get("cursor").is_none());
        let page2 = answer(
            &mut fake,
            "resources/list",
            json!({"resources": [{"uri": "file:///b.bin", "name": "b", "size": 3}]}),
        )
        .await;
        assert_eq!(page2["params"]["cursor"], "page-2");
        answer(
            &mut fake,
            "resources/templates/list",
            json!({"resourceTemplates": [{"uriTemplate": "file:///{path}", "name": "files"}]}),
        )
        .await;
        let read = answer(
            &mut fake,
            "resources/read",
            json!({"contents": [{"uri": "file:///a.txt", "mimeType": "text/plain", "text": "hi"}]}),
        )
        .await;
        assert_eq!(read["params"], json!({"uri": "file:///a.txt"}));
        let missing = fake.recv_request("resources/read").await;
        fake.send(json!({"jsonrpc": "2.0", "id": missing["id"], "error": {
            "code": -32002, "message": "Resource not found", "data": {"uri": "file:///nope"}}}))
            .await;
    };
    let ((resources, templates, read, missing), ()) = tokio::join!(call, serve);
    assert_eq!(
        resources.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>(),
        ["file:///a.txt", "file:///b.bin"]
    );
    assert_eq!(resources[0].mime_type.as_deref(), Some("text/plain"));
    assert_eq!(resources[1].size, Some(3));
    assert_eq!(templates[0].uri_template, "file:///{path}");
    match &read.contents[0] {
        ResourceContents::Text(t) => assert_eq!(t.text, "hi"),
        other => panic!("expected text, got {other:?}"),
    }
    assert_eq!(missing.rpc_error().unwrap().code, -32002);

    let call = async {
        let prompts = client.list_all_prompts().await.unwrap();
        let mut arguments = BTreeMap::new();
        arguments.insert("code", "fn main() {}");
        let prompt = client.get_prompt("review", &arguments).await.unwrap();
        let bad = client
            .get_prompt("review", json!({"n": 1}))
            .await
            .unwrap_err();
        let completion = client
            .complete(
                PromptReference::new("review"),
                "language",
                "ru",
                [("style", "terse")],
            )
            .await
            .unwrap();
        (prompts, prompt, bad, completion)
    };
    let serve = async {
        answer(
            &mut fake,
            "prompts/list",
            json!({"prompts": [{"name": "review", "arguments": [{"name": "code", "required": true}]}]}),
        )
        .await;
        let get = answer(
            &mut fake,
            "prompts/get",
            json!({"description": "A review", "messages": [
                {"role": "user", "content": {"type": "text", "text": "Review: fn main() {}"}}]}),
        )
        .await;
        assert_eq!(
            get["params"],
            json!({"name": "review", "arguments": {"code": "fn main() {}"}})
        );
        let complete = answer(
            &mut fake,
            "completion/complete",
            json!({"completion": {"values": ["rust", "ruby"], "total": 2, "hasMore": false}}),
        )
        .await;
        assert_eq!(
            complete["params"],
            json!({"ref": {"type": "ref/prompt", "name": "review"},
                   "argument": {"name": "language", "value": "ru"},
                   "context": {"arguments": {"style": "terse"}}})
        );
    };
    let ((prompts, prompt, bad, completion), ()) = tokio::join!(call, serve);
    assert_eq!(prompts[0].name, "review");
    assert_eq!(prompt.description.as_deref(), Some("A review"));
    assert_eq!(
        prompt.messages[0].content.as_text(),
        Some("Review: fn main() {}")
    );
    assert!(bad.to_string().contains("must be a string"), "{bad}");
    assert_eq!(completion.completion.values, ["rust", "ruby"]);
    assert_eq!(completion.completion.has_more, Some(false));

    let call = async {
        client.subscribe_resource("file:///a.txt").await.unwrap();
        client.unsubscribe_resource("file:///a.txt").await.unwrap();
        client.set_log_level(LoggingLevel::Warning).await.unwrap();
        // Legacy requests do not carry the level in _meta.
        client.list_tools(None).await.unwrap();
    };
    let serve = async {
        let sub = answer(&mut fake, "resources/subscribe", json!({})).await;
        assert_eq!(sub["params"], json!({"uri": "file:///a.txt"}));
        let unsub = answer(&mut fake, "resources/unsubscribe", json!({})).await;
        assert_eq!(unsub["params"], json!({"uri": "file:///a.txt"}));
        let level = answer(&mut fake, "logging/setLevel", json!({})).await;
        assert_eq!(level["params"], json!({"level": "warning"}));
        let list = answer(&mut fake, "tools/list", json!({"tools": []})).await;
        assert!(list["params"].get("_meta").is_none(), "{list}");
    };
    tokio::join!(call, serve);
    fake.assert_clean();
}

#[tokio::test]
async fn modern_methods_carry_meta_and_the_log_level() {
    let (client, mut fake, _) = modern(Client::builder()).await;
    // The level is remembered, not sent.
    client.set_log_level(LoggingLevel::Error).await.unwrap();
    assert_eq!(client.log_level(), Some(LoggingLevel::Error));

    let call = async {
        let resources = client.list_resources(None).await.unwrap();
        let templates = client.list_resource_templates(Some("c1")).await.unwrap();
        let missing = client.read_resource("file:///nope").await.unwrap_err();
        let prompts = client.list_prompts(None).await.unwrap();
        let completion = client
            .complete(
                ResourceTemplateReference::new("file:///{path}"),
                "path",
                "sr",
                (),
            )
            .await
            .unwrap();
        (resources, templates, missing, prompts, completion)
    };
    let serve = async {
        let list = answer(
            &mut fake,
            "resources/list",
            cacheable(
                json!({"resources": [{"uri": "file:///a", "name": "a"}], "nextCursor": "c1"}),
            ),
        )
        .await;
        let meta = &list["params"]["_meta"];
        assert_eq!(meta["io.modelcontextprotocol/logLevel"], "error");
        assert_eq!(
            meta["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(
            meta["io.modelcontextprotocol/clientInfo"]["name"],
            "oxmcp-client"
        );
        let templates = answer(
            &mut fake,
            "resources/templates/list",
            cacheable(json!({"resourceTemplates": []})),
        )
        .await;
        assert_eq!(templates["params"]["cursor"], "c1");
        let missing = fake.recv_request("resources/read").await;
        fake.reply_error(&missing, -32602, "Resource not found: file:///nope")
            .await;
        answer(&mut fake, "prompts/list", cacheable(json!({"prompts": []}))).await;
        let completion = answer(
            &mut fake,
            "completion/complete",
            complete(json!({"completion": {"values": ["src"]}})),
        )
        .await;
        assert_eq!(
            completion["params"]["ref"],
            json!({"type": "ref/resource", "uri": "file:///{path}"})
        );
        assert!(completion["params"].get("context").is_none());
        assert_eq!(
            completion["params"]["_meta"]["io.modelcontextprotocol/logLevel"],
            "error"
        );
    };
    let ((resources, templates, missing, prompts, completion), ()) = tokio::join!(call, serve);
    assert_eq!(resources.next_cursor.as_deref(), Some("c1"));
    assert_eq!(resources.resources[0].name, "a");
    assert!(templates.resource_templates.is_empty());
    assert_eq!(missing.rpc_error().unwrap().code, -32602);
    assert!(prompts.prompts.is_empty());
    assert_eq!(completion.completion.values, ["src"]);

    // Legacy subscriptions do not exist here.
    let err = client.subscribe_resource("file:///a").await.unwrap_err();
    assert!(
        err.is_unsupported() && err.to_string().contains("listen"),
        "{err}"
    );
    assert!(client
        .unsubscribe_resource("file:///a")
        .await
        .unwrap_err()
        .is_unsupported());
    fake.assert_clean();
}

#[tokio::test]
async fn a_server_that_repeats_a_cursor_is_caught() {
    let (client, mut fake, _) = legacy(Client::builder()).await;
    let call = client.list_all_prompts();
    let serve = async {
        for _ in 0..2 {
            answer(
                &mut fake,
                "prompts/list",
                json!({"prompts": [], "nextCursor": "same"}),
            )
            .await;
        }
    };
    let (result, ()) = tokio::join!(call, serve);
    let err = result.unwrap_err();
    assert!(
        err.is_protocol() && err.to_string().contains("same"),
        "{err}"
    );
    fake.assert_clean();
}
