//! `oxmcp dev`: the console's API against `examples/everything` over stdio and Streamable
//! HTTP, and its guard (token, Host, Origin). The page itself is driven in a real
//! browser by `tests/browser/console.mjs` (see `dev_browser`).

mod support;

use std::io::Read as _;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{answer, dev_console, everything, http, send, HttpServer};

/// A running console; stopped on drop.
struct Console {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    token: String,
    /// Keeps an HTTP target alive.
    _server: Option<HttpServer>,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Console {
    fn stdio() -> Console {
        Console::start(&["--".into(), everything().display().to_string()], None)
    }

    fn http() -> Console {
        let server = HttpServer::start();
        Console::start(&["--url".into(), server.url.clone()], Some(server))
    }

    fn start(target: &[String], server: Option<HttpServer>) -> Console {
        let (child, url) = dev_console(target);
        let (base, token) = url.split_once("/?token=").unwrap();
        Console {
            child,
            base: base.to_owned(),
            token: token.to_owned(),
            _server: server,
        }
    }

    /// `path` with the token.
    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}token={}", self.base, self.token)
    }

    fn get(&self, path: &str) -> Value {
        let (status, _, body) = http(&self.url(path), "GET", "");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let (status, _, answer) = http(&self.url(path), "POST", &body.to_string());
        assert_eq!(status, 200, "{path}: {answer}");
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"))
    }

    fn events(&self) -> Vec<Value> {
        self.get("/api/log").as_array().unwrap().clone()
    }

    /// Waits (5 s at most) for an event that `pick` accepts.
    fn wait_for(&self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(event) = self.events().into_iter().find(&pick) {
                return event;
            }
            assert!(Instant::now() < deadline, "no {what}: {:?}", self.events());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Calls a tool through the console; the result.
    fn call(&self, tool: &str, arguments: Value) -> Value {
        let answer = self.post(
            "/api/request",
            json!({"method": "tools/call", "params": {"name": tool, "arguments": arguments}}),
        );
        assert!(answer["result"].is_object(), "{answer}");
        answer["result"].clone()
    }
}

/// One raw GET with this `Host` and these extra header lines; the status and the body.
fn raw(console: &Console, path: &str, host: &str, extra: &str) -> (u16, String) {
    let addr = console.base.strip_prefix("http://").unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    let (status, head, body) = answer(send(addr, &request));
    (status, head + &body)
}

/// The text of a tool result's first content block.
fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// Whether the log holds the client's `method` request and the server's answer to it.
fn paired(events: &[Value], method: &str) -> bool {
    events
        .iter()
        .filter(|f| f["from"] == "client" && f["message"]["method"] == method)
        .any(|asked| {
            events.iter().any(|f| {
                f["from"] == "server"
                    && f["message"]["id"] == asked["message"]["id"]
                    && f["message"].get("method").is_none()
            })
        })
}

#[test]
fn the_console_serves_its_page_only_with_the_token_and_logs_every_frame() {
    let console = Console::stdio();
    assert_eq!(console.token.len(), 32);
    let base = &console.base;

    let (status, _, page) = http(&console.url("/"), "GET", "");
    assert_eq!(status, 200);
    assert!(page.contains("oxmcp dev console"));
    for url in [
        format!("{base}/"),
        format!("{base}/?token=0123"),
        format!("{base}/api/log"),
        format!("{base}/api/events"),
        format!("{base}/api/export"),
    ] {
        assert_eq!(http(&url, "GET", "").0, 403, "{url}");
    }
    let (status, _, _) = http(
        &format!("{base}/api/request"),
        "POST",
        r#"{"method":"tools/list"}"#,
    );
    assert_eq!(status, 403);

    let result = console.call("test_simple_text", json!({}));
    assert!(result["content"].is_array(), "{result}");
    let events = console.events();
    assert!(paired(&events, "tools/call"), "{events:?}");
    let status = events
        .iter()
        .find(|e| e["kind"] == "status" && e["state"] == "connected")
        .unwrap_or_else(|| panic!("no connected status: {events:?}"));
    assert_eq!(status["transport"], "stdio");

    let n = events.last().unwrap()["n"].as_u64().unwrap();
    let later = console.get(&format!("/api/log?since={}", n + 1));
    assert_eq!(later, json!([]));

    let (_, _, bad) = http(&console.url("/api/request"), "POST", "not json");
    assert!(bad.contains("expected a JSON object"), "{bad}");
}

#[test]
fn the_console_refuses_other_hosts_and_other_pages() {
    let console = Console::stdio();
    let path = format!("/api/log?token={}", console.token);
    let own = console.base.strip_prefix("http://").unwrap().to_owned();
    let port = own.rsplit(':').next().unwrap();
    assert_eq!(raw(&console, &path, &own, "").0, 200);
    assert_eq!(
        raw(&console, &path, &format!("localhost:{port}"), "").0,
        200
    );
    let origin = format!("Origin: http://{own}\r\n");
    assert_eq!(raw(&console, &path, &own, &origin).0, 200);

    // DNS rebinding: another site's name pointed at 127.0.0.1.
    let (status, body) = raw(&console, &path, &format!("evil.example:{port}"), "");
    assert_eq!(status, 403);
    assert!(body.contains("expected the Host"), "{body}");
    // Another page of the browser, even with the token.
    let (status, body) = raw(&console, &path, &own, "Origin: http://evil.example\r\n");
    assert_eq!(status, 403);
    assert!(body.contains("Origin http://evil.example"), "{body}");
}

#[test]
fn the_event_stream_needs_the_token_and_sends_every_event_numbered() {
    let console = Console::stdio();
    console.call("test_simple_text", json!({}));
    let addr = console.base.strip_prefix("http://").unwrap();
    let request = format!(
        "GET /api/events?token={} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        console.token
    );
    let mut stream = send(addr, &request);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("tools/call") {
        let n = stream.read(&mut buf).expect("the stream sends within 5 s");
        assert!(n > 0, "the stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("id: 0\ndata: {"), "{seen}");
}

#[test]
fn the_console_logs_the_frames_of_a_streamable_http_target() {
    let console = Console::http();
    let result = console.call("test_simple_text", json!({}));
    assert!(!text(&result).is_empty(), "{result}");
    let events = console.events();
    assert!(paired(&events, "tools/call"), "{events:?}");
    assert!(paired(&events, "server/discover"), "{events:?}");
    let status = events.iter().find(|e| e["state"] == "connected").unwrap();
    assert_eq!(status["transport"], "http");
}

#[test]
fn elicitation_and_sampling_wait_for_the_page_to_answer() {
    for console in [Console::stdio(), Console::http()] {
        let console = std::sync::Arc::new(console);
        let calling = console.clone();
        let call = std::thread::spawn(move || {
            calling.call("test_elicitation", json!({"message": "Who are you?"}))
        });
        let ask = console.wait_for("elicitation", |e| e["kind"] == "ask");
        assert_eq!(ask["what"], "elicitation");
        assert_eq!(ask["params"]["message"], "Who are you?");
        let answered = console.post(
            "/api/answer",
            json!({"id": ask["id"], "result": {"action": "accept",
                "content": {"username": "octocat", "email": "o@example.com"}}}),
        );
        assert_eq!(answered, json!({"ok": true}));
        let result = call.join().unwrap();
        assert!(text(&result).contains("action=accept"), "{result}");
        assert!(text(&result).contains("octocat"), "{result}");
        let again = console.post("/api/answer", json!({"id": ask["id"], "result": {}}));
        assert!(again["error"]
            .as_str()
            .unwrap()
            .contains("no longer waiting"));

        let calling = console.clone();
        let call =
            std::thread::spawn(move || calling.call("test_sampling", json!({"prompt": "2+2?"})));
        let ask = console.wait_for("sampling", |e| e["what"] == "sampling");
        console.post(
            "/api/answer",
            json!({"id": ask["id"], "result": {"role": "assistant",
                "content": {"type": "text", "text": "4"}, "model": "human"}}),
        );
        let result = call.join().unwrap();
        assert_eq!(text(&result), "LLM response: 4", "{result}");
    }
}

#[test]
fn reconnecting_switches_the_era_and_restarts_a_stdio_server() {
    let console = Console::stdio();
    let status = console.post("/api/connect", json!({"era": "legacy"}));
    assert_eq!(status["era"], "legacy", "{status}");
    console.call("test_simple_text", json!({}));
    assert!(paired(&console.events(), "initialize"));

    // Roots are editable; a legacy server is told, and asks again.
    let roots = json!([{"uri": "file:///tmp/elsewhere", "name": "elsewhere"}]);
    let saved = console.post("/api/roots", json!({"roots": roots}));
    assert_eq!(saved["roots"], roots);
    assert_eq!(console.get("/api/roots")["roots"], roots);
    console.wait_for("roots/list_changed", |e| {
        e["message"]["method"] == "notifications/roots/list_changed"
    });
    let result = console.call("test_input_required_result_list_roots", json!({}));
    assert!(text(&result).contains("file:///tmp/elsewhere"), "{result}");

    let status = console.post("/api/connect", json!({"era": "modern"}));
    assert_eq!(status["era"], "modern", "{status}");
    let result = console.call("test_input_required_result_list_roots", json!({}));
    assert!(text(&result).contains("file:///tmp/elsewhere"), "{result}");

    let refused = console.post("/api/connect", json!({"era": "medieval"}));
    assert!(refused["error"].as_str().unwrap().contains("expected auto"));
}

#[test]
fn the_log_exports_as_a_recording() {
    let console = Console::stdio();
    console.call("test_simple_text", json!({}));
    let (status, head, body) = http(&console.url("/api/export"), "GET", "");
    assert_eq!(status, 200);
    assert!(head.contains("application/x-ndjson"), "{head}");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["ms"].is_number()), "{body}");
    assert!(
        lines
            .iter()
            .any(|l| l["from"] == "client" && l["message"]["method"] == "tools/call"),
        "{body}"
    );
    assert!(lines.iter().any(|l| l["from"] == "server"), "{body}");
}

#[test]
fn a_question_left_when_the_connection_closes_is_taken_down() {
    for era in ["modern", "legacy"] {
        let console = std::sync::Arc::new(Console::stdio());
        console.post("/api/connect", json!({"era": era}));
        let calling = console.clone();
        let call = std::thread::spawn(move || {
            calling.post(
                "/api/request",
                json!({"method": "tools/call", "params": {"name": "test_elicitation",
                    "arguments": {"message": "Still there?"}}}),
            )
        });
        let ask = console.wait_for("elicitation", |e| e["kind"] == "ask");
        console.post("/api/connect", json!({}));
        console.wait_for("the question taken down", |e| {
            e["kind"] == "answered" && e["id"] == ask["id"]
        });
        let late = console.post("/api/answer", json!({"id": ask["id"], "result": {}}));
        assert!(
            late["error"]
                .as_str()
                .unwrap()
                .contains("no longer waiting"),
            "{era}: {late}"
        );
        let failed = call.join().unwrap();
        assert!(failed["error"].is_string(), "{era}: {failed}");
    }
}
