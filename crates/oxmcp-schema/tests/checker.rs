//! `MessageChecker` on whole conversations, and on broken messages.

use std::fs;
use std::path::Path;

use oxmcp_protocol::ProtocolVersion;
use oxmcp_schema::{validate_def, Direction, MessageChecker, SchemaError};
use serde_json::{json, Value};

use Direction::{ClientToServer as C2S, ServerToClient as S2C};

/// A spec example shipped in `tests/fixtures/2026-07-28/<def>/<file>`.
fn fixture(def: &str, file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/2026-07-28")
        .join(def)
        .join(file);
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}

/// Runs a conversation through a fresh checker, panicking on the first failure.
fn converse(messages: &[(Direction, Value)]) -> MessageChecker {
    let mut checker = MessageChecker::new();
    for (i, (direction, message)) in messages.iter().enumerate() {
        if let Err(e) = checker.check(*direction, message) {
            panic!("message #{i} ({direction:?}) failed: {e}");
        }
    }
    checker
}

fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test-client", "version": "1.0.0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

fn initialize(id: i64, version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "test-client", "version": "1.0.0"}
    }})
}

fn initialize_result(id: i64, version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": true}},
        "serverInfo": {"name": "test-server", "version": "0.1.0"}
    }})
}

fn legacy_conversation(version: &str) -> Vec<(Direction, Value)> {
    vec![
        (C2S, initialize(0, version)),
        (S2C, initialize_result(0, version)),
        (
            C2S,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{
                "name": "add",
                "description": "Adds two integers",
                "inputSchema": {"type": "object", "properties": {
                    "a": {"type": "integer"}, "b": {"type": "integer"}
                }, "required": ["a", "b"]}
            }]}}),
        ),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "add", "arguments": {"a": 2, "b": 3}, "_meta": {"progressToken": "p2"}
            }}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                "progressToken": "p2", "progress": 1, "total": 2
            }}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 2, "result": {
                "content": [{"type": "text", "text": "5"}], "isError": false
            }}),
        ),
        (S2C, json!({"jsonrpc": "2.0", "id": "s1", "method": "ping"})),
        (C2S, json!({"jsonrpc": "2.0", "id": "s1", "result": {}})),
    ]
}

#[test]
fn legacy_conversations_check_clean() {
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let checker = converse(&legacy_conversation(version));
        assert_eq!(
            checker.version(),
            ProtocolVersion::parse(version),
            "{version}"
        );
    }
}

#[test]
fn modern_conversation_checks_clean() {
    let checker = converse(&[
        (
            C2S,
            fixture("DiscoverRequest", "server-discover-request.json"),
        ),
        (
            S2C,
            fixture("DiscoverResultResponse", "discover-result-response.json"),
        ),
        (C2S, fixture("CallToolRequest", "call-tool-request.json")),
        (
            S2C,
            fixture("CallToolResultResponse", "call-tool-result-response.json"),
        ),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": modern_meta()}}),
        ),
        (
            S2C,
            fixture("ListToolsResultResponse", "list-tools-result-response.json").tap_id(7),
        ),
    ]);
    assert_eq!(checker.version(), Some(ProtocolVersion::V2026_07_28));
}

#[test]
fn modern_input_required_round_trip() {
    let mut call = fixture("CallToolRequest", "call-tool-request.json");
    call["id"] = json!(1);
    let mut retry = call.clone();
    retry["id"] = json!(2);
    retry["params"]["requestState"] = json!("opaque");
    retry["params"]["inputResponses"] = json!({});
    converse(&[
        (C2S, call),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 1, "result": fixture(
                "InputRequiredResult",
                "input-required-result-with-elicitation-and-sampling-and-request-state.json"
            )}),
        ),
        (C2S, retry),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 2, "result": {
                "resultType": "complete", "content": [{"type": "text", "text": "done"}]
            }}),
        ),
    ]);
}

#[test]
fn legacy_and_modern_interleave_on_one_connection() {
    let mut modern_call = fixture("CallToolRequest", "call-tool-request.json");
    modern_call["id"] = json!("m1");
    let checker = converse(&[
        (C2S, initialize(1, "2025-06-18")),
        (S2C, initialize_result(1, "2025-06-18")),
        (
            C2S,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ),
        (C2S, modern_call),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo"}}),
        ),
        // The legacy answer, in 2025-06-18: no `resultType`.
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 2, "result": {"content": []}}),
        ),
        // The modern answer needs `resultType`.
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": "m1", "result": {
                "resultType": "complete", "content": [{"type": "text", "text": "x"}]
            }}),
        ),
    ]);
    assert_eq!(checker.version(), Some(ProtocolVersion::V2025_06_18));

    // The same modern answer without `resultType` fails, against the modern schema.
    let mut checker = MessageChecker::new();
    let mut modern_call = fixture("CallToolRequest", "call-tool-request.json");
    modern_call["id"] = json!("m1");
    checker.check(C2S, &initialize(1, "2025-06-18")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2025-06-18"))
        .unwrap();
    checker.check(C2S, &modern_call).unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": "m1", "result": {"content": []}}),
        )
        .unwrap_err();
    assert_eq!(err.version, ProtocolVersion::V2026_07_28);
    assert_eq!(err.def, "CallToolResult");
    assert!(err.to_string().contains("resultType"), "{err}");
}

#[test]
fn initialize_for_an_unknown_version_is_checked_as_latest_legacy() {
    let mut checker = MessageChecker::new();
    // 2025-11-25 requires `clientInfo`, like every legacy revision.
    let mut request = initialize(1, "2099-01-01");
    request["params"]
        .as_object_mut()
        .unwrap()
        .remove("clientInfo");
    let err = checker.check(C2S, &request).unwrap_err();
    assert_eq!(
        (err.def.as_str(), err.version),
        ("InitializeRequest", ProtocolVersion::V2025_11_25)
    );

    // The server settles on an older revision; later messages use it.
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2099-01-01")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2024-11-05"))
        .unwrap();
    assert_eq!(checker.version(), Some(ProtocolVersion::V2024_11_05));
    // `structuredContent` is unknown to 2024-11-05 but extra fields are allowed; a
    // `resource_link` content block is not a 2024-11-05 content type.
    checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t"}}),
        )
        .unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": 2, "result": {"content": [
                {"type": "resource_link", "uri": "file:///a", "name": "a"}
            ]}}),
        )
        .unwrap_err();
    assert_eq!(err.version, ProtocolVersion::V2024_11_05);
}

#[test]
fn task_augmented_call_is_answered_with_create_task_result() {
    converse(&[
        (C2S, initialize(1, "2025-11-25")),
        (S2C, initialize_result(1, "2025-11-25")),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "slow", "task": {"ttl": 60000}
            }}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 2, "result": {"task": {
                "taskId": "t1", "status": "working", "ttl": 60000,
                "createdAt": "2025-11-25T10:00:00Z", "lastUpdatedAt": "2025-11-25T10:00:00Z"
            }}}),
        ),
    ]);
}

#[test]
fn batches_are_checked_element_by_element() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-03-26")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2025-03-26"))
        .unwrap();
    checker
        .check(
            C2S,
            &json!([
                {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                {"jsonrpc": "2.0", "id": 3, "method": "ping"}
            ]),
        )
        .unwrap();
    checker
        .check(
            S2C,
            &json!([
                {"jsonrpc": "2.0", "id": 3, "result": {}},
                {"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "t"}]}}
            ]),
        )
        .map(|()| panic!("a tool without inputSchema must fail"))
        .unwrap_or_else(|e| {
            assert_eq!(e.def, "ListToolsResult");
            assert!(e.errors[0].starts_with("/1/result/tools/0: "), "{e}");
            assert!(e.to_string().contains("inputSchema"), "{e}");
        });

    // 2025-06-18 removed batching.
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-06-18")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2025-06-18"))
        .unwrap();
    let err = checker
        .check(C2S, &json!([{"jsonrpc": "2.0", "id": 2, "method": "ping"}]))
        .unwrap_err();
    assert!(err.to_string().contains("batches are not allowed"), "{err}");
    let err = checker.check(C2S, &json!([])).unwrap_err();
    assert!(err.to_string().contains("empty array"), "{err}");
}

#[test]
fn methods_of_the_other_era_and_unknown_methods_get_the_envelope_only() {
    let mut ping =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": modern_meta()}});
    let mut checker = converse(&[
        // `ping` does not exist in 2026-07-28: the peer answers with an error.
        (C2S, ping.clone()),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}),
        ),
        // `server/discover` does not exist in legacy revisions.
        (C2S, initialize(2, "2025-11-25")),
        (S2C, initialize_result(2, "2025-11-25")),
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 3, "method": "server/discover", "params": {}}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found"}}),
        ),
        // A method no schema knows, and its answer.
        (
            C2S,
            json!({"jsonrpc": "2.0", "id": 4, "method": "x-vendor/thing", "params": {"k": 1}}),
        ),
        (
            S2C,
            json!({"jsonrpc": "2.0", "id": 4, "result": {"anything": true}}),
        ),
        (S2C, json!({"jsonrpc": "2.0", "method": "x-vendor/event"})),
    ]);
    // But the envelope still counts.
    ping["jsonrpc"] = json!("1.0");
    let err = checker.check(C2S, &ping).unwrap_err();
    assert_eq!(err.def, "JSONRPCRequest");
    let err = checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 5, "method": "x-vendor/thing", "params": [1]}),
        )
        .unwrap_err();
    assert!(err.errors[0].starts_with("/params: "), "{err}");
}

#[test]
fn call_tool_result_content_without_type_fails() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-06-18")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2025-06-18"))
        .unwrap();
    checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo"}}),
        )
        .unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": 2, "result": {"content": [{"text": "hi"}]}}),
        )
        .unwrap_err();
    assert_eq!(err.def, "CallToolResult");
    assert_eq!(err.version, ProtocolVersion::V2025_06_18);
    let shown = err.to_string();
    assert!(shown.contains("/result/content/0"), "{shown}");
    assert!(shown.contains("\"type\" is a required property"), "{shown}");
    assert!(shown.contains("\"hi\""), "the instance is shown: {shown}");
}

#[test]
fn response_with_result_and_error_fails() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-11-25")).unwrap();
    checker
        .check(S2C, &initialize_result(1, "2025-11-25"))
        .unwrap();
    checker
        .check(C2S, &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": 2, "result": {},
                    "error": {"code": -32603, "message": "boom"}}),
        )
        .unwrap_err();
    assert_eq!(err.def, "JSONRPCMessage");
    assert!(
        err.to_string()
            .contains("exactly one of `result` and `error`"),
        "{err}"
    );
}

#[test]
fn initialize_result_without_server_info_fails_in_2025_06_18() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-06-18")).unwrap();
    let mut result = initialize_result(1, "2025-06-18");
    result["result"]
        .as_object_mut()
        .unwrap()
        .remove("serverInfo");
    let err = checker.check(S2C, &result).unwrap_err();
    assert_eq!(err.def, "InitializeResult");
    assert_eq!(err.version, ProtocolVersion::V2025_06_18);
    assert!(
        err.errors
            .iter()
            .any(|e| e.starts_with("/result: ") && e.contains("serverInfo")),
        "{err}"
    );
}

#[test]
fn initialize_result_naming_a_modern_version_fails() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(1, "2025-11-25")).unwrap();
    let err = checker
        .check(S2C, &initialize_result(1, "2026-07-28"))
        .unwrap_err();
    assert!(err.to_string().contains("no initialize handshake"), "{err}");
}

#[test]
fn other_broken_messages_fail() {
    let mut checker = MessageChecker::new();
    // Not JSON.
    let err = checker
        .check_str(C2S, "{\"jsonrpc\": \"2.0\",")
        .unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert_eq!(err.instance, json!("{\"jsonrpc\": \"2.0\","));
    // Not an object.
    assert!(checker.check(C2S, &json!("hello")).is_err());
    // Neither request, notification nor response.
    assert!(checker
        .check(C2S, &json!({"jsonrpc": "2.0", "id": 1}))
        .is_err());
    // A request carrying a result.
    assert!(checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "result": {}})
        )
        .is_err());

    // A modern request without the required client capabilities.
    let mut meta = modern_meta();
    meta.as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let err = checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}),
        )
        .unwrap_err();
    assert_eq!(
        (err.def.as_str(), err.version),
        ("ListToolsRequest", ProtocolVersion::V2026_07_28)
    );
    assert!(err.to_string().contains("clientCapabilities"), "{err}");

    // `input_required` answering a method whose response does not allow it.
    checker
        .check(C2S, &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": modern_meta()}}))
        .unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": 2, "result": {"resultType": "input_required", "requestState": "s"}}),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot answer with `input_required`"),
        "{err}"
    );

    // -32022 needs `data.supported` and `data.requested`.
    checker
        .check(C2S, &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": modern_meta()}}))
        .unwrap();
    let err = checker
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32022, "message": "Unsupported protocol version"}}),
        )
        .unwrap_err();
    assert_eq!(err.def, "UnsupportedProtocolVersionError");
    checker
        .check(C2S, &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": modern_meta()}}))
        .unwrap();
    checker
        .check(
            S2C,
            &fixture(
                "UnsupportedProtocolVersionError",
                "unsupported-version.json",
            )
            .tap_id(4),
        )
        .unwrap();

    // A modern request on a connection that has only spoken the modern era but
    // forgot its `_meta`: checked as modern, so it fails.
    let err = checker
        .check(
            C2S,
            &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}),
        )
        .unwrap_err();
    assert_eq!(err.version, ProtocolVersion::V2026_07_28);
}

#[test]
fn notifications_use_the_era_of_their_request() {
    // Progress for a modern request on a legacy connection: 2026-07-28 ProgressNotification.
    let mut modern_call = fixture("CallToolRequest", "call-tool-request.json");
    modern_call["params"]["_meta"]["progressToken"] = json!(42);
    converse(&[
        (C2S, initialize(1, "2025-11-25")),
        (S2C, initialize_result(1, "2025-11-25")),
        (C2S, modern_call.clone()),
        (
            S2C,
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                "progressToken": 42, "progress": 0.5, "message": "half way"
            }}),
        ),
        (
            C2S,
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {
                "requestId": "call-tool-example", "reason": "bored"
            }}),
        ),
    ]);
    // A notification delivered on a subscription stream is modern.
    let err = converse(&[])
        .check(
            S2C,
            &json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {
                "_meta": {"io.modelcontextprotocol/subscriptionId": {"not": "an id"}}
            }}),
        )
        .unwrap_err();
    assert_eq!(
        (err.def.as_str(), err.version),
        ("ToolListChangedNotification", ProtocolVersion::V2026_07_28)
    );
}

#[test]
fn validate_def_reports_paths_and_unknown_defs() {
    validate_def(
        ProtocolVersion::V2026_07_28,
        "CallToolResult",
        &fixture("CallToolResult", "result-with-structured-content.json"),
    )
    .unwrap();
    let err: SchemaError = validate_def(
        ProtocolVersion::V2026_07_28,
        "CallToolResult",
        &json!({"resultType": "complete", "content": [{"type": "image", "data": "AAAA"}]}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/content/0"), "{err}");
    assert!(err.to_string().contains("mimeType"), "{err}");
    let err = validate_def(ProtocolVersion::V2025_03_26, "ElicitRequest", &json!({})).unwrap_err();
    assert!(
        err.to_string().contains("no definition `ElicitRequest`"),
        "{err}"
    );
    // Legacy schemas (draft-07, `definitions`) work the same way.
    validate_def(
        ProtocolVersion::V2024_11_05,
        "Tool",
        &json!({"name": "t", "inputSchema": {"type": "object"}}),
    )
    .unwrap();
}

#[test]
fn thousands_of_messages_are_cheap() {
    let mut checker = MessageChecker::new();
    checker.check(C2S, &initialize(0, "2025-11-25")).unwrap();
    checker
        .check(S2C, &initialize_result(0, "2025-11-25"))
        .unwrap();
    let start = std::time::Instant::now();
    for id in 1..=2000 {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "add", "arguments": {"a": id, "b": 1}
        }});
        let response = json!({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": (id + 1).to_string()}],
            "structuredContent": {"sum": id + 1}
        }});
        checker.check(C2S, &request).unwrap();
        checker.check(S2C, &response).unwrap();
    }
    // Generous: a validator recompiled per message would take minutes.
    assert!(
        start.elapsed().as_secs() < 30,
        "4000 messages took {:?}",
        start.elapsed()
    );
}

trait TapId {
    fn tap_id(self, id: i64) -> Value;
}

impl TapId for Value {
    fn tap_id(mut self, id: i64) -> Value {
        self["id"] = json!(id);
        self
    }
}
