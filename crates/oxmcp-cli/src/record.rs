//! `oxmcp record` (a pass-through between an app and a stdio server that writes every frame
//! to a JSON-lines file) and `oxmcp replay` (sends a recording's client frames to a server
//! again and reports where its answers differ).
//!
//! A recording line: `{"ms": 12.5, "from": "client"|"server", "message": {...}}`, or
//! `"raw": "..."` in place of `message` for a line that is not JSON.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use crate::error::CliError;
use crate::render::Style;

/// The longest frame kept whole in a recording; longer ones are cut (the pass-through is not).
const MAX_RECORDED_FRAME: usize = 16 << 20;

fn spawn(command: &[String], stdin: Stdio) -> Result<tokio::process::Child, CliError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError::usage("no server command after --"))?;
    tokio::process::Command::new(program)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::failure(format!("cannot start {program:?}: {e}")))
}

/// One recorded frame as a JSON line; `cut` when its end was left out.
fn frame_line(started: Instant, from: &str, frame: &[u8], cut: bool) -> String {
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let text = String::from_utf8_lossy(frame);
    let text = text.trim_end_matches(['\r', '\n']);
    let mut line = match serde_json::from_str::<Value>(text) {
        Ok(message) if !cut => json!({"ms": ms, "from": from, "message": message}),
        _ => json!({"ms": ms, "from": from, "raw": text}),
    };
    if cut {
        line["truncated"] = json!(true);
    }
    format!("{line}\n")
}

/// Adds `bytes` to `frame`, up to [`MAX_RECORDED_FRAME`]; sets `cut` if some were left out.
fn keep(frame: &mut Vec<u8>, cut: &mut bool, bytes: &[u8]) {
    let room = MAX_RECORDED_FRAME.saturating_sub(frame.len());
    frame.extend_from_slice(&bytes[..bytes.len().min(room)]);
    *cut |= bytes.len() > room;
}

/// Copies `input` to `output` as it comes, and each newline-ended frame to the recording.
async fn tee(
    mut input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
    from: &'static str,
    started: Instant,
    out: Arc<Mutex<tokio::fs::File>>,
) -> std::io::Result<()> {
    let mut chunk = vec![0u8; 64 << 10];
    let mut frame: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        let n = input.read(&mut chunk).await?;
        if n == 0 {
            if !frame.is_empty() {
                let line = frame_line(started, from, &frame, cut);
                out.lock().await.write_all(line.as_bytes()).await?;
            }
            return output.shutdown().await;
        }
        output.write_all(&chunk[..n]).await?;
        output.flush().await?;
        let mut rest = &chunk[..n];
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            keep(&mut frame, &mut cut, &rest[..end]);
            let line = frame_line(started, from, &frame, cut);
            out.lock().await.write_all(line.as_bytes()).await?;
            frame.clear();
            cut = false;
            rest = &rest[end + 1..];
        }
        keep(&mut frame, &mut cut, rest);
    }
}

/// `oxmcp record`.
pub async fn record(out: &Path, command: &[String]) -> Result<u8, CliError> {
    let file = tokio::fs::File::create(out)
        .await
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", out.display())))?;
    let file = Arc::new(Mutex::new(file));
    let mut child = spawn(command, Stdio::piped())?;
    let started = Instant::now();
    let to_server = tokio::spawn(tee(
        tokio::io::stdin(),
        child.stdin.take().expect("piped stdin"),
        "client",
        started,
        file.clone(),
    ));
    let from_server = tee(
        child.stdout.take().expect("piped stdout"),
        tokio::io::stdout(),
        "server",
        started,
        file.clone(),
    );
    if let Err(e) = from_server.await {
        tracing::debug!(error = %e, "copying the server's output stopped");
    }
    // The server is gone: what the app still sends goes nowhere.
    to_server.abort();
    let status = child
        .wait()
        .await
        .map_err(|e| CliError::failure(format!("waiting for the server: {e}")))?;
    file.lock()
        .await
        .flush()
        .await
        .map_err(|e| CliError::failure(format!("writing {}: {e}", out.display())))?;
    Ok(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}

/// A line of a recording.
struct Frame {
    from_client: bool,
    message: Value,
}

fn read_recording(path: &Path) -> Result<Vec<Frame>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .filter_map(|(i, line)| {
            let bad = |what: &str| {
                CliError::usage(format!(
                    "{} line {}: {what} (expected a line of `oxmcp record`: \
                     {{\"ms\", \"from\": \"client\"|\"server\", \"message\"}})",
                    path.display(),
                    i + 1
                ))
            };
            let value: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => return Some(Err(bad(&format!("not JSON: {e}")))),
            };
            let from_client = match value["from"].as_str() {
                Some("client") => true,
                Some("server") => false,
                _ => return Some(Err(bad("no \"from\""))),
            };
            // Lines that were not JSON are not replayed.
            let message = value.get("message")?.clone();
            Some(Ok(Frame {
                from_client,
                message,
            }))
        })
        .collect()
}

/// A value for a report line, cut short.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(159).collect::<String>())
    } else {
        text
    }
}

/// The places where `now` differs from `then`, as `path: then -> now`.
fn differences(path: &str, then: &Value, now: &Value, out: &mut Vec<String>) {
    match (then, now) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, va) in a {
                let here = format!("{path}/{key}");
                match b.get(key) {
                    Some(vb) => differences(&here, va, vb, out),
                    None => out.push(format!("{here}: {} -> (missing)", short(va))),
                }
            }
            for (key, vb) in b {
                if !a.contains_key(key) {
                    out.push(format!("{path}/{key}: (missing) -> {}", short(vb)));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}/{i}"), va, vb, out);
            }
        }
        _ if then != now => out.push(format!("{path}: {} -> {}", short(then), short(now))),
        _ => {}
    }
}

/// A response without its id, for comparing.
fn without_id(message: &Value) -> Value {
    let mut message = message.clone();
    if let Some(map) = message.as_object_mut() {
        map.remove("id");
    }
    message
}

/// `oxmcp replay`.
pub async fn replay(
    recording: &Path,
    command: &[String],
    timeout: Duration,
    json_out: bool,
) -> Result<u8, CliError> {
    let frames = read_recording(recording)?;
    // The recorded answer to each client request, by id.
    let mut answers: HashMap<String, Value> = HashMap::new();
    for frame in frames.iter().filter(|f| !f.from_client) {
        if frame.message.get("method").is_none() {
            if let Some(id) = frame.message.get("id") {
                answers.insert(id.to_string(), frame.message.clone());
            }
        }
    }
    let mut child = spawn(command, Stdio::piped())?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let style = Style::stdout();
    let mut report = Vec::new();
    let mut differing = 0usize;
    let mut compared = 0usize;
    for frame in frames.iter().filter(|f| f.from_client) {
        let line = format!("{}\n", frame.message);
        if let Err(e) = stdin.write_all(line.as_bytes()).await {
            return Err(CliError::failure(format!(
                "the server stopped reading (it may have exited): {e}"
            )));
        }
        let method = frame.message["method"].as_str().unwrap_or("").to_owned();
        let Some(id) = frame.message.get("id").filter(|_| !method.is_empty()) else {
            continue;
        };
        let Some(then) = answers.get(&id.to_string()) else {
            continue;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let now = loop {
            let next = tokio::time::timeout_at(deadline, lines.next_line()).await;
            match next {
                Err(_) => break None,
                Ok(Ok(Some(text))) => {
                    let Ok(message) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if message.get("id") == Some(id) && message.get("method").is_none() {
                        break Some(message);
                    }
                }
                Ok(_) => break None,
            }
        };
        compared += 1;
        let mut found = Vec::new();
        match &now {
            Some(now) => differences("", &without_id(then), &without_id(now), &mut found),
            None => found.push(format!("no answer within {timeout:?}")),
        }
        if !found.is_empty() {
            differing += 1;
        }
        if json_out {
            report.push(
                json!({"method": method, "id": id, "same": found.is_empty(), "differences": found}),
            );
        } else if found.is_empty() {
            println!("{} {method}", style.dim("same   "));
        } else {
            println!("{} {method}", style.red("differs"));
            for difference in &found {
                println!("    {difference}");
            }
        }
    }
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    let _ = child.kill().await;
    if json_out {
        println!(
            "{}",
            json!({"requests": report, "compared": compared, "differing": differing})
        );
    } else {
        println!(
            "{} requests replayed, {differing} answered differently",
            answers
                .len()
                .min(frames.iter().filter(|f| f.from_client).count())
        );
    }
    Ok(u8::from(differing > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_their_place() {
        let mut found = Vec::new();
        differences(
            "",
            &json!({"result": {"content": [{"text": "a"}], "x": 1}}),
            &json!({"result": {"content": [{"text": "b"}], "y": 2}}),
            &mut found,
        );
        assert_eq!(
            found,
            [
                "/result/content/0/text: \"a\" -> \"b\"",
                "/result/x: 1 -> (missing)",
                "/result/y: (missing) -> 2"
            ]
        );
    }
}
