//! `oxmcp dev`: the console's page and API against `examples/everything` over stdio, over
//! plain HTTP (the browser test drives the page itself).

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::{everything, http, OXMCP};

/// A running console; stopped on drop.
struct Console {
    child: Child,
    /// `http://127.0.0.1:PORT/?token=T`.
    url: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Console {
    let mut child = Command::new(OXMCP)
        .args(["dev", "--"])
        .arg(everything())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "printed {line:?}");
    Console {
        child,
        url: line.trim().to_owned(),
    }
}

/// One request to the console: the status code and the body.
fn request(url: &str, method: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http(url, method, body);
    (status, body)
}

#[test]
fn the_console_serves_its_page_only_with_the_token_and_logs_every_frame() {
    let console = start();
    let token = console.url.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(token.len(), 32, "{}", console.url);
    let base = console.url.split("/?").next().unwrap().to_owned();

    let (status, page) = request(&console.url, "GET", "");
    assert_eq!(status, 200);
    assert!(page.contains("oxmcp dev console"));
    for url in [
        format!("{base}/"),
        format!("{base}/?token=0123"),
        format!("{base}/api/log"),
    ] {
        assert_eq!(request(&url, "GET", "").0, 403, "{url}");
    }
    let (status, _) = request(
        &format!("{base}/api/request"),
        "POST",
        r#"{"method":"tools/list"}"#,
    );
    assert_eq!(status, 403);

    let call = r#"{"method":"tools/call","params":{"name":"test_simple_text","arguments":{}}}"#;
    let (status, answer) = request(&format!("{base}/api/request?token={token}"), "POST", call);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["result"]["content"].is_array(), "{answer}");

    let (_, log) = request(&format!("{base}/api/log?token={token}"), "GET", "");
    let log: Vec<Value> = serde_json::from_str(&log).unwrap();
    let call = log
        .iter()
        .find(|f| f["from"] == "client" && f["message"]["method"] == "tools/call")
        .unwrap_or_else(|| panic!("no tools/call frame: {log:?}"));
    let id = &call["message"]["id"];
    assert!(
        log.iter().any(|f| f["from"] == "server"
            && &f["message"]["id"] == id
            && f["message"]["result"].is_object()),
        "no answer to the call in the log: {log:?}"
    );
    let n = log.last().unwrap()["n"].as_u64().unwrap();
    let (_, later) = request(
        &format!("{base}/api/log?token={token}&since={}", n + 1),
        "GET",
        "",
    );
    assert_eq!(later.trim(), "[]");

    let (_, bad) = request(
        &format!("{base}/api/request?token={token}"),
        "POST",
        "not json",
    );
    assert!(bad.contains("expected a JSON object"), "{bad}");
}
