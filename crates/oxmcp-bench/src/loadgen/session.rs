//! The pipes to one running server: the handshake and the phases of requests.
//!
//! A phase keeps exactly `inflight` requests outstanding with a permit channel:
//! the writer thread sends one request per permit, all the permits it holds in
//! one write, and the reading thread returns a permit for every response it
//! reads, handing them over whenever it has consumed all the output it has
//! received (before it would block), so a burst of responses wakes the writer
//! once rather than once per response.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{Era, Error, ECHO_TEXT, LEGACY_VERSION, MODERN_VERSION};
use crate::procfs;

/// The pipes to a running server.
pub(super) struct Session {
    pub(super) stdin: ChildStdin,
    pub(super) stdout: BufReader<ChildStdout>,
    pub(super) era: Era,
    /// Responses read so far, watched by the watchdog.
    pub(super) progress: Arc<AtomicU64>,
}

/// What one phase of requests produced.
#[derive(Default)]
pub(super) struct Phase {
    /// Responses read, good or bad.
    pub(super) responses: usize,
    /// Responses that matched a request and echoed the text.
    pub(super) ok: usize,
    /// Send-to-receive time of each good response.
    pub(super) latencies_ns: Vec<u64>,
    /// Start of the phase to its last response.
    pub(super) wall: Duration,
    /// The first problem seen.
    pub(super) first_error: Option<String>,
    /// CPU time of the reader and writer threads, in ns.
    pub(super) client_cpu_ns: Option<u64>,
}

impl Session {
    /// Performs the era's handshake; returns the protocol version agreed on.
    pub(super) fn handshake(&mut self) -> Result<Option<String>, Error> {
        let (method, params) = match self.era {
            Era::Legacy => (
                "initialize",
                json!({
                    "protocolVersion": LEGACY_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "oxmcp-loadgen", "version": env!("CARGO_PKG_VERSION")},
                }),
            ),
            // Every modern request, discover included, carries the version and capabilities.
            Era::Modern => (
                "server/discover",
                json!({"_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": {"name": "oxmcp-loadgen", "version": env!("CARGO_PKG_VERSION")},
                }}),
            ),
        };
        let request = json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params});
        self.send_line(&request)
            .map_err(|e| Error::new(format!("sending {method}: {e}")))?;
        let response = loop {
            let mut line = Vec::new();
            match self.stdout.read_until(b'\n', &mut line) {
                Ok(0) => {
                    return Err(Error::new(format!(
                        "server closed stdout before answering {method}"
                    )))
                }
                Ok(_) => {}
                Err(e) => return Err(Error::new(format!("reading {method} response: {e}"))),
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let message: Value = serde_json::from_slice(&line).map_err(|e| {
                Error::new(format!(
                    "{method}: unparseable line from server ({e}): {}",
                    clip(&line)
                ))
            })?;
            if message.get("method").is_some() {
                continue; // a notification or request from the server: not ours
            }
            if message.get("id") != Some(&json!(0)) {
                return Err(Error::new(format!(
                    "{method}: unexpected response {message}"
                )));
            }
            break message;
        };
        self.progress.fetch_add(1, Ordering::Relaxed);
        if let Some(error) = response.get("error") {
            // Method not found, or invalid params (an unsupported protocol version): the
            // server does not speak this era.
            let code = error.get("code").and_then(Value::as_i64);
            let message = format!("{method} failed: {error}");
            return Err(if matches!(code, Some(-32601 | -32602)) {
                Error::unsupported(message)
            } else {
                Error::new(message)
            });
        }
        let Some(result) = response.get("result") else {
            return Err(Error::new(format!(
                "{method}: response without result: {response}"
            )));
        };
        match self.era {
            Era::Legacy => {
                let version = result.get("protocolVersion").and_then(Value::as_str);
                let notification = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                self.send_line(&notification)
                    .map_err(|e| Error::new(format!("sending notifications/initialized: {e}")))?;
                Ok(version.map(str::to_owned))
            }
            Era::Modern => {
                let versions = result.get("supportedVersions").and_then(Value::as_array);
                if !versions.is_some_and(|v| v.iter().any(|v| v == MODERN_VERSION)) {
                    return Err(Error::unsupported(format!(
                        "server/discover: {MODERN_VERSION} not in supportedVersions: {result}"
                    )));
                }
                Ok(Some(MODERN_VERSION.to_owned()))
            }
        }
    }

    fn send_line(&mut self, message: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.stdin.write_all(&line)
    }

    /// Sends `count` echo calls with ids from `first_id`, `inflight` at a time,
    /// and collects the responses.
    pub(super) fn phase(&mut self, first_id: u64, count: usize, inflight: usize) -> Phase {
        if count == 0 {
            return Phase::default();
        }
        let template = Template::new(self.era);
        let sent_at: Vec<AtomicU64> = (0..count).map(|_| AtomicU64::new(0)).collect();
        let (permits, permit_rx) = mpsc::channel::<usize>();
        let _ = permits.send(inflight.min(count));
        let base = Instant::now();
        let Session {
            stdin,
            stdout,
            progress,
            ..
        } = self;
        let ids = first_id..first_id + count as u64;
        thread::scope(|scope| {
            let writer = scope
                .spawn(|| write_requests(stdin, &template, ids.clone(), &sent_at, base, permit_rx));
            let reader = Reader {
                ids: ids.clone(),
                sent_at: &sent_at,
            };
            let reader_cpu = procfs::current_thread_cpu_ns();
            let mut phase = reader.read(stdout, base, &permits, progress);
            let reader_cpu = reader_cpu.zip(procfs::current_thread_cpu_ns());
            drop(permits);
            let (write_error, writer_cpu) = writer
                .join()
                .unwrap_or_else(|_| (Some("writer panicked".into()), None));
            if phase.first_error.is_none() {
                phase.first_error = write_error;
            }
            phase.client_cpu_ns = reader_cpu
                .zip(writer_cpu)
                .map(|((start, end), writer)| end.saturating_sub(start) + writer);
            phase
        })
    }
}

/// The bytes of an `echo` call around its id.
struct Template {
    prefix: &'static [u8],
    suffix: Vec<u8>,
}

impl Template {
    fn new(era: Era) -> Template {
        let meta = match era {
            Era::Legacy => String::new(),
            Era::Modern => format!(
                r#","_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN_VERSION}","io.modelcontextprotocol/clientCapabilities":{{}}}}"#
            ),
        };
        let suffix = format!(
            r#","method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{ECHO_TEXT}"}}{meta}}}}}"#
        );
        let mut suffix = suffix.into_bytes();
        suffix.push(b'\n');
        Template {
            prefix: br#"{"jsonrpc":"2.0","id":"#,
            suffix,
        }
    }

    fn write(&self, out: &mut Vec<u8>, id: u64) {
        out.extend_from_slice(self.prefix);
        out.extend_from_slice(id.to_string().as_bytes());
        out.extend_from_slice(&self.suffix);
    }
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The writer thread: sends a request per permit, all the permits it holds in
/// one write. Returns a description of a write failure and the thread's CPU time in ns.
fn write_requests(
    stdin: &mut ChildStdin,
    template: &Template,
    ids: std::ops::Range<u64>,
    sent_at: &[AtomicU64],
    base: Instant,
    permits: mpsc::Receiver<usize>,
) -> (Option<String>, Option<u64>) {
    let start = procfs::current_thread_cpu_ns();
    let error = send_requests(stdin, template, ids, sent_at, base, permits);
    let cpu = start
        .zip(procfs::current_thread_cpu_ns())
        .map(|(start, end)| end.saturating_sub(start));
    (error, cpu)
}

/// The writer's loop; returns a description of a write failure.
fn send_requests(
    stdin: &mut ChildStdin,
    template: &Template,
    ids: std::ops::Range<u64>,
    sent_at: &[AtomicU64],
    base: Instant,
    permits: mpsc::Receiver<usize>,
) -> Option<String> {
    let count = sent_at.len();
    let mut buf = Vec::with_capacity(4096);
    let mut next = 0;
    let mut credit = 0;
    while next < count {
        if credit == 0 {
            match permits.recv() {
                Ok(n) => credit += n,
                Err(_) => return None, // the reader is done (server gone or timed out)
            }
        }
        while let Ok(n) = permits.try_recv() {
            credit += n;
        }
        let end = count.min(next + credit);
        credit -= end - next;
        buf.clear();
        for id in ids.start + next as u64..ids.start + end as u64 {
            template.write(&mut buf, id);
        }
        let now = nanos_since(base).max(1);
        for slot in &sent_at[next..end] {
            slot.store(now, Ordering::Release);
        }
        if let Err(e) = stdin.write_all(&buf) {
            return Some(format!("writing to server after {next} requests: {e}"));
        }
        next = end;
    }
    None
}

/// Any message from the server, as far as the reader cares.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    method: Option<IgnoredAny>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// A JSON string that borrows from the input unless it contains escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// The result of a `tools/call`.
#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(borrow)]
    content: Vec<Content<'a>>,
    #[serde(rename = "isError")]
    is_error: Option<bool>,
    #[serde(rename = "resultType", borrow)]
    result_type: Option<Str<'a>>,
}

/// One content block of a tool result.
#[derive(Deserialize)]
struct Content<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

/// How a line from the server counts.
enum Verdict {
    /// A request or notification from the server: not an answer.
    NotAResponse,
    /// An answer: to which request (index into the phase) and whether it is good.
    Response(Option<usize>, Result<(), String>),
}

/// The response-reading side of a phase.
struct Reader<'a> {
    ids: std::ops::Range<u64>,
    sent_at: &'a [AtomicU64],
}

impl Reader<'_> {
    /// Reads until every request has an answer, the server closes stdout or a
    /// read fails, returning a permit to the writer for each answer. Permits
    /// are handed over when all received output is consumed, before a read
    /// that may block.
    fn read(
        &self,
        stdout: &mut BufReader<ChildStdout>,
        base: Instant,
        permits: &mpsc::Sender<usize>,
        progress: &AtomicU64,
    ) -> Phase {
        let count = self.sent_at.len();
        let mut phase = Phase {
            latencies_ns: Vec::with_capacity(count),
            ..Phase::default()
        };
        let mut answered = vec![false; count];
        let mut line = Vec::with_capacity(1024);
        let mut last = 0;
        let mut released = 0;
        while phase.responses < count {
            if released > 0 && stdout.buffer().is_empty() {
                let _ = permits.send(released);
                released = 0;
            }
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) => {
                    let message =
                        format!("server closed stdout after {} responses", phase.responses);
                    phase.first_error.get_or_insert(message);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    phase
                        .first_error
                        .get_or_insert(format!("reading from server: {e}"));
                    break;
                }
            }
            let now = nanos_since(base);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Verdict::Response(index, mut outcome) = self.judge(&line) else {
                continue;
            };
            phase.responses += 1;
            last = now;
            progress.fetch_add(1, Ordering::Relaxed);
            if let Some(i) = index {
                let sent = self.sent_at[i].load(Ordering::Acquire);
                if answered[i] {
                    outcome = Err(format!(
                        "second response for id {}",
                        self.ids.start + i as u64
                    ));
                } else if sent == 0 {
                    outcome = Err(format!("response before request: {}", clip(&line)));
                } else {
                    answered[i] = true;
                    if outcome.is_ok() {
                        phase.ok += 1;
                        phase.latencies_ns.push(now.saturating_sub(sent));
                    }
                }
            }
            if let Err(e) = outcome {
                phase.first_error.get_or_insert(e);
            }
            released += 1;
        }
        phase.wall = Duration::from_nanos(last);
        phase
    }

    /// Classifies one line from the server.
    fn judge(&self, line: &[u8]) -> Verdict {
        let message: Incoming<'_> = match serde_json::from_slice(line) {
            Ok(message) => message,
            Err(e) => {
                return Verdict::Response(None, Err(format!("bad JSON ({e}): {}", clip(line))))
            }
        };
        if message.method.is_some() {
            return Verdict::NotAResponse;
        }
        let index = message
            .id
            .and_then(|id| id.get().parse::<u64>().ok())
            .filter(|id| self.ids.contains(id))
            .map(|id| (id - self.ids.start) as usize);
        let outcome = if index.is_none() {
            Err(format!("response with unexpected id: {}", clip(line)))
        } else if let Some(error) = message.error {
            Err(format!("error response: {}", error.get()))
        } else if let Some(result) = message.result {
            self.check_result(result)
        } else {
            Err(format!("response without result: {}", clip(line)))
        };
        Verdict::Response(index, outcome)
    }

    /// Checks that a result is a successful echo of [`ECHO_TEXT`].
    fn check_result(&self, result: &RawValue) -> Result<(), String> {
        let call: CallResult<'_> = serde_json::from_str(result.get())
            .map_err(|e| format!("result is not a tool result ({e}): {}", result.get()))?;
        if call.is_error == Some(true) {
            return Err(format!("tool error: {}", result.get()));
        }
        if call
            .result_type
            .as_ref()
            .is_some_and(|kind| kind.0 != "complete")
        {
            return Err(format!("resultType is not complete: {}", result.get()));
        }
        let echoed = call
            .content
            .iter()
            .any(|c| c.kind.0 == "text" && c.text.as_ref().is_some_and(|t| t.0 == ECHO_TEXT));
        if echoed {
            Ok(())
        } else {
            Err(format!(
                "result does not echo {ECHO_TEXT:?}: {}",
                result.get()
            ))
        }
    }
}

/// The start of a line from the server, for error messages.
fn clip(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}
