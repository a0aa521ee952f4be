//! The `everything` binary over a real stdio pipe, in both eras: every feature, and every
//! line on stdout validated against the official schema of its revision, and debug logs on
//! stderr without colour codes (stderr is a pipe).

use std::process::Stdio;
use std::time::Duration;

use oxmcp_schema::{Direction, MessageChecker};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const BIN: &str = env!("CARGO_BIN_EXE_everything");

/// A raw JSON-RPC conversation with the server process.
struct Pipe {
    child: Child,
    /// Everything the server writes to stderr, read until it closes.
    logs: tokio::task::JoinHandle<std::io::Result<Vec<u8>>>,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    checker: MessageChecker,
    modern: bool,
}

impl Pipe {
    async fn start(modern: bool) -> Pipe {
        let mut child = tokio::process::Command::new(BIN)
            .env("RUST_LOG", "debug")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let logs = tokio::spawn(async move {
            let mut logs = Vec::new();
            stderr.read_to_end(&mut logs).await.map(|_| logs)
        });
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut pipe = Pipe {
            child,
            logs,
            stdin,
            stdout,
            checker: MessageChecker::new(),
            modern,
        };
        if !modern {
            let init = pipe
                .call(
                    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {"sampling": {}, "elicitation": {}, "roots": {}},
                    "clientInfo": {"name": "stdio-test", "version": "1"}}}),
                )
                .await;
            assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
            pipe.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
        }
        pipe
    }

    /// A request in this pipe's era.
    fn request(&self, id: i64, method: &str, mut params: Value) -> Value {
        if self.modern {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"sampling": {}, "elicitation": {}, "roots": {}},
                "io.modelcontextprotocol/clientInfo": {"name": "stdio-test", "version": "1"}
            });
        }
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    async fn send(&mut self, message: Value) {
        let frame = message.to_string();
        self.checker
            .check_str(Direction::ClientToServer, &frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{frame}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// Sends a deliberately invalid message (not validated) and reads the answer.
    async fn call_unchecked(&mut self, message: Value) -> Value {
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        self.recv().await
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line())
            .await
            .expect("an answer within 10 s")
            .unwrap()
            .expect("stdout open");
        self.checker
            .check_str(Direction::ServerToClient, &line)
            .unwrap_or_else(|e| panic!("{e}\nline: {line}"));
        serde_json::from_str(&line).unwrap()
    }

    async fn call(&mut self, message: Value) -> Value {
        self.send(message).await;
        self.recv().await
    }

    /// Reads until the response with `id`, collecting the notifications on the way.
    async fn until_response(&mut self, id: i64) -> (Vec<Value>, Value) {
        let mut notifications = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["id"] == id && frame.get("method").is_none() {
                return (notifications, frame);
            }
            notifications.push(frame);
        }
    }

    async fn close(mut self) {
        drop(self.stdin.take());
        let rest = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rest, None, "nothing more on stdout");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success());
        // Hosts write server stderr to log files: colour only for a terminal.
        let logs = self.logs.await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&logs);
        if !self.modern {
            assert!(text.contains("DEBUG"), "debug logs on stderr: {text}");
        }
        assert!(!logs.contains(&0x1b), "colour codes on stderr: {text:?}");
    }
}

fn content(response: &Value) -> &Value {
    &response["result"]["content"]
}

async fn tools_and_content(modern: bool) {
    let mut p = Pipe::start(modern).await;
    let list = p.call(p.request(1, "tools/list", json!({}))).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    assert!(tools.len() >= 19);
    assert!(tools
        .iter()
        .all(|t| t["description"].is_string() && t["inputSchema"]["type"] == "object"));
    let schema_tool = tools
        .iter()
        .find(|t| t["name"] == "json_schema_2020_12_tool")
        .unwrap();
    assert_eq!(
        schema_tool["inputSchema"]["$defs"]["address"]["$anchor"],
        "addressDef"
    );
    assert_eq!(schema_tool["inputSchema"]["additionalProperties"], false);

    let r = p
        .call(p.request(2, "tools/call", json!({"name": "test_simple_text"})))
        .await;
    assert_eq!(
        content(&r)[0]["text"],
        "This is a simple text response for testing."
    );
    let r = p
        .call(p.request(
            3,
            "tools/call",
            json!({"name": "test_audio_content", "arguments": {}}),
        ))
        .await;
    assert_eq!(content(&r)[0]["mimeType"], "audio/wav");
    let r = p
        .call(p.request(
            4,
            "tools/call",
            json!({"name": "test_multiple_content_types", "arguments": {}}),
        ))
        .await;
    let kinds: Vec<&str> = content(&r)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "image", "resource"]);
    let r = p
        .call(p.request(
            5,
            "tools/call",
            json!({"name": "test_error_handling", "arguments": {}}),
        ))
        .await;
    assert_eq!(r["result"]["isError"], true);

    let mut progress = p.request(
        6,
        "tools/call",
        json!({"name": "test_tool_with_progress", "arguments": {}}),
    );
    if modern {
        progress["params"]["_meta"]["progressToken"] = json!("progress-test-1");
    } else {
        progress["params"]["_meta"] = json!({"progressToken": "progress-test-1"});
    }
    p.send(progress).await;
    let (notes, done) = p.until_response(6).await;
    let values: Vec<f64> = notes
        .iter()
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [0.0, 50.0, 100.0]);
    assert!(notes
        .iter()
        .all(|n| n["params"]["progressToken"] == "progress-test-1"));
    assert!(content(&done)[0]["text"].is_string());

    let mut logging = p.request(
        7,
        "tools/call",
        json!({"name": "test_tool_with_logging", "arguments": {}}),
    );
    if modern {
        logging["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("info");
    } else {
        assert_eq!(
            p.call(p.request(70, "logging/setLevel", json!({"level": "debug"})))
                .await["result"],
            json!({})
        );
    }
    p.send(logging).await;
    let (logs, _) = p.until_response(7).await;
    assert_eq!(logs.len(), 3, "{logs:?}");
    assert!(logs
        .iter()
        .all(|l| l["method"] == "notifications/message" && l["params"]["level"] == "info"));
    if modern {
        // Without a log level, a modern request gets no log messages.
        p.send(p.request(
            8,
            "tools/call",
            json!({"name": "test_logging_tool", "arguments": {}}),
        ))
        .await;
        let (logs, _) = p.until_response(8).await;
        assert!(logs.is_empty());
    }
    p.close().await;
}

#[tokio::test]
async fn tools_and_content_legacy() {
    tools_and_content(false).await;
}

#[tokio::test]
async fn tools_and_content_modern() {
    tools_and_content(true).await;
}

async fn resources_prompts_completions(modern: bool) {
    let mut p = Pipe::start(modern).await;
    let list = p.call(p.request(1, "resources/list", json!({}))).await;
    let uris: Vec<_> = list["result"]["resources"]
        .as_array()
        .expect("a list of resources")
        .iter()
        .map(|r| r["uri"].clone())
        .collect();
    assert!(uris.contains(&json!("test://static-text")), "{uris:?}");
    let text = p
        .call(p.request(2, "resources/read", json!({"uri": "test://static-text"})))
        .await;
    assert_eq!(
        text["result"]["contents"][0]["text"],
        "This is the content of the static text resource."
    );
    let binary = p
        .call(p.request(3, "resources/read", json!({"uri": "test://static-binary"})))
        .await;
    assert_eq!(binary["result"]["contents"][0]["mimeType"], "image/png");
    let templated = p
        .call(p.request(
            4,
            "resources/read",
            json!({"uri": "test://template/123/data"}),
        ))
        .await;
    assert!(templated["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Data for ID: 123"));
    let missing = p
        .call(p.request(
            5,
            "resources/read",
            json!({"uri": "test://nonexistent-resource-for-conformance-testing"}),
        ))
        .await;
    assert_eq!(
        missing["error"]["code"],
        if modern { -32602 } else { -32002 }
    );
    assert_eq!(
        missing["error"]["data"]["uri"],
        "test://nonexistent-resource-for-conformance-testing"
    );

    let prompts = p.call(p.request(6, "prompts/list", json!({}))).await;
    assert_eq!(prompts["result"]["prompts"].as_array().unwrap().len(), 5);
    let args = p
        .call(p.request(7, "prompts/get", json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": "testValue1", "arg2": "testValue2"}})))
        .await;
    assert_eq!(
        args["result"]["messages"][0]["content"]["text"],
        "Prompt with arguments: arg1='testValue1', arg2='testValue2'"
    );
    let embedded = p
        .call(p.request(8, "prompts/get", json!({"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://example-resource"}})))
        .await;
    assert_eq!(
        embedded["result"]["messages"][0]["content"]["resource"]["uri"],
        "test://example-resource"
    );
    let completion = p
        .call(p.request(
            9,
            "completion/complete",
            json!({
                "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                "argument": {"name": "arg1", "value": "test"}
            }),
        ))
        .await;
    assert_eq!(
        completion["result"]["completion"]["values"],
        json!(["test", "testValue1"])
    );
    if modern {
        for result in [&list, &text, &prompts] {
            assert!(
                result["result"]["ttlMs"].is_u64() && result["result"]["cacheScope"].is_string()
            );
        }
    } else {
        let sub = p
            .call(p.request(
                10,
                "resources/subscribe",
                json!({"uri": "test://watched-resource"}),
            ))
            .await;
        assert_eq!(sub["result"], json!({}));
        let unsub = p
            .call(p.request(
                11,
                "resources/unsubscribe",
                json!({"uri": "test://watched-resource"}),
            ))
            .await;
        assert_eq!(unsub["result"], json!({}));
    }
    p.close().await;
}

#[tokio::test]
async fn resources_prompts_completions_legacy() {
    resources_prompts_completions(false).await;
}

#[tokio::test]
async fn resources_prompts_completions_modern() {
    resources_prompts_completions(true).await;
}

#[tokio::test]
async fn legacy_elicitation_and_sampling_are_real_requests() {
    let mut p = Pipe::start(false).await;
    p.send(p.request(1, "tools/call", json!({"name": "test_elicitation", "arguments": {"message": "Please provide your information"}}))).await;
    let ask = p.recv().await;
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(
        ask["params"]["requestedSchema"]["required"],
        json!(["username", "email"])
    );
    p.send(json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {"username": "testuser", "email": "test@example.com"}}})).await;
    let done = p.recv().await;
    let text = content(&done)[0]["text"].as_str().unwrap();
    assert!(
        text.contains("action=accept") && text.contains("testuser"),
        "{text}"
    );

    p.send(p.request(
        2,
        "tools/call",
        json!({"name": "test_sampling", "arguments": {"prompt": "Test prompt for sampling"}}),
    ))
    .await;
    let ask = p.recv().await;
    assert_eq!(ask["method"], "sampling/createMessage");
    assert_eq!(
        ask["params"]["messages"][0]["content"]["text"],
        "Test prompt for sampling"
    );
    p.send(json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"role": "assistant",
        "content": {"type": "text", "text": "This is a test response from the client"}, "model": "test-model", "stopReason": "endTurn"}}))
        .await;
    let done = p.recv().await;
    assert_eq!(
        content(&done)[0]["text"],
        "LLM response: This is a test response from the client"
    );
    p.close().await;
}

#[tokio::test]
async fn modern_elicitation_is_a_multi_round_trip() {
    let mut p = Pipe::start(true).await;
    let first = p
        .call(p.request(
            1,
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}}),
        ))
        .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required");
    let (key, question) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(question["method"], "elicitation/create");
    let mut retry = p.request(
        2,
        "tools/call",
        json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}}),
    );
    retry["params"]["inputResponses"] = json!({ key.clone(): {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}} });
    if let Some(state) = result.get("requestState") {
        retry["params"]["requestState"] = state.clone();
    }
    let done = p.call(retry).await;
    assert_eq!(done["result"]["resultType"], "complete");
    let text = content(&done)[0]["text"].as_str().unwrap();
    assert!(
        text.contains("action=accept") && text.contains("ada"),
        "{text}"
    );

    // A tampered state is refused.
    if let Some(state) = result["requestState"].as_str() {
        let mut tampered = p.request(
            3,
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}}),
        );
        tampered["params"]["requestState"] = json!(format!("{state}-TAMPERED"));
        tampered["params"]["inputResponses"] = json!({ key.clone(): {"action": "accept", "content": {"username": "x", "email": "y"}} });
        let refused = p.call(tampered).await;
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
    }
    // Without the capability, the tool says so instead of asking.
    let mut bare = p.request(
        4,
        "tools/call",
        json!({"name": "test_missing_capability", "arguments": {}}),
    );
    bare["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let refused = p.call(bare).await;
    assert_eq!(refused["error"]["code"], -32021, "{refused}");
    assert!(refused["error"]["data"]["requiredCapabilities"]["sampling"].is_object());
    p.close().await;
}

/// A modern `tools/call` of `name` with extra params merged in.
fn modern_call(p: &Pipe, id: i64, name: &str, extra: Value) -> Value {
    let mut request = p.request(id, "tools/call", json!({"name": name, "arguments": {}}));
    for (k, v) in extra.as_object().unwrap() {
        request["params"][k] = v.clone();
    }
    request
}

#[tokio::test]
async fn named_multi_round_trips_follow_the_documented_keys() {
    let mut p = Pipe::start(true).await;
    // Answers under the documented key complete the call, even without requestState, and
    // keys nobody asked are ignored.
    let done = p
        .call(modern_call(
            &p,
            1,
            "test_input_required_result_elicitation",
            json!({"inputResponses": {
                "user_name": {"action": "accept", "content": {"name": "Alice"}},
                "unknown_extra_key": {"action": "accept", "content": {"foo": "bar"}}
            }}),
        ))
        .await;
    assert_eq!(content(&done)[0]["text"], "Hello, Alice!");
    // A malformed answer does not complete the call.
    let bad = p
        .call_unchecked(modern_call(
            &p,
            2,
            "test_input_required_result_elicitation",
            json!({"inputResponses": {"user_name": 12345}}),
        ))
        .await;
    assert!(
        bad.get("error").is_some() || bad["result"]["resultType"] == "input_required",
        "{bad}"
    );

    // Three questions asked at once come in one round.
    let first = p
        .call(modern_call(
            &p,
            3,
            "test_input_required_result_multiple_inputs",
            json!({}),
        ))
        .await;
    let requests = first["result"]["inputRequests"].as_object().unwrap();
    let mut keys: Vec<&str> = requests.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["client_roots", "greeting", "user_name"]);
    assert_eq!(requests["greeting"]["method"], "sampling/createMessage");
    let state = first["result"]["requestState"].clone();
    let done = p
        .call(modern_call(&p, 4, "test_input_required_result_multiple_inputs", json!({"requestState": state, "inputResponses": {
            "user_name": {"action": "accept", "content": {"name": "Alice"}},
            "greeting": {"role": "assistant", "content": {"type": "text", "text": "Hello there!"}, "model": "m", "stopReason": "endTurn"},
            "client_roots": {"roots": [{"uri": "file:///test/root", "name": "Test Root"}]}
        }})))
        .await;
    assert_eq!(content(&done)[0]["text"], "Hello there! Alice! (1 roots)");

    // Two rounds, each with its own state.
    let r1 = p
        .call(modern_call(
            &p,
            5,
            "test_input_required_result_multi_round",
            json!({}),
        ))
        .await;
    assert!(r1["result"]["inputRequests"]["step1"].is_object());
    let r2 = p
        .call(modern_call(
            &p,
            6,
            "test_input_required_result_multi_round",
            json!({
                "requestState": r1["result"]["requestState"],
                "inputResponses": {"step1": {"action": "accept", "content": {"name": "Alice"}}}
            }),
        ))
        .await;
    assert!(r2["result"]["inputRequests"]["step2"].is_object());
    assert_ne!(r1["result"]["requestState"], r2["result"]["requestState"]);
    let r3 = p
        .call(modern_call(
            &p,
            7,
            "test_input_required_result_multi_round",
            json!({
                "requestState": r2["result"]["requestState"],
                "inputResponses": {"step2": {"action": "accept", "content": {"color": "blue"}}}
            }),
        ))
        .await;
    assert_eq!(content(&r3)[0]["text"], "Alice likes blue");

    // A client that declared only sampling is asked nothing else.
    let mut sampling_only =
        modern_call(&p, 8, "test_input_required_result_capabilities", json!({}));
    sampling_only["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
        json!({"sampling": {}});
    let asked = p.call(sampling_only).await;
    let requests = asked["result"]["inputRequests"].as_object().unwrap();
    assert!(!requests.is_empty());
    assert!(requests
        .values()
        .all(|r| r["method"] != "elicitation/create"));
    p.close().await;
}

/// SIGTERM while a tool call is in flight: no more input is read, the call is answered,
/// and the server exits with status 0 (it died by the signal before, the answer lost).
#[cfg(unix)]
#[tokio::test]
async fn sigterm_answers_the_call_in_flight_and_exits_0() {
    for modern in [false, true] {
        let mut pipe = Pipe::start(modern).await;
        let mut call = pipe.request(
            7,
            "tools/call",
            json!({"name": "test_tool_with_progress", "arguments": {}}),
        );
        call["params"]["_meta"]["progressToken"] = json!("p");
        pipe.send(call).await;
        let first = pipe.recv().await;
        assert_eq!(first["method"], "notifications/progress", "{first}");
        let pid = pipe.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let (_, answer) = pipe.until_response(7).await;
        assert_eq!(
            answer["result"]["content"][0]["text"], "Progress test completed",
            "{answer}"
        );
        let status = tokio::time::timeout(Duration::from_secs(10), pipe.child.wait())
            .await
            .expect("the server exits within 10 s")
            .unwrap();
        assert!(status.success(), "exit status {status:?}");
    }
}
