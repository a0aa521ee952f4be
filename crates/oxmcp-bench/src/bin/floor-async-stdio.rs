//! `floor-async-stdio`: the no-SDK floor (`floor-stdio`'s exact parsing and answers) with
//! the least structure an SDK's stdio server must have, for `compare` (`cargo xtask bench`).
//!
//! `floor-stdio` is one blocking loop: read, answer, write, on one thread. An SDK cannot be
//! built that way: it reads on an event loop (here tokio's current-thread runtime, the
//! cheapest it has, with non-blocking pipes), and the user's handler must not run on the
//! reader (issue 10: a handler that spends its time before it first waits must not delay
//! what is read after it), so each `tools/call` crosses from the reader to another task
//! and its answer crosses to a writer. This server does just that and nothing more:
//!
//! - the reader task reads what is there, answers what the SDK would answer itself
//!   (`initialize`, `ping`, lists, errors) at once, and hands each `tools/call` (its id and
//!   params, copied out of the read buffer) to a runner task, all of a read together;
//! - the runner answers them into the output buffer (no task per request, no boxing, no
//!   cancellation state, no router, no typed arguments);
//! - the writer task writes what the output buffer holds whenever it is woken.
//!
//! Set beside `floor-stdio` and `oxmcp`, it shows what that structure itself costs before any
//! SDK work: no SDK that keeps handlers off the reader can be much cheaper than this.
//!
//! With `--typed`, a `tools/call` also goes through what a minimal typed SDK does for each
//! request, and nothing else: its params are read in the envelope's pass, the tool is
//! found in a registry of erased tools, the arguments are decoded into the handler's own
//! owned type (`EchoArgs { text: String }`, as in `examples/echo`) and the `async fn` is
//! called into a boxed future, the request is put in an in-flight map (which refuses a
//! duplicate id, and where a cancellation would find it), and the runner polls the future
//! once and writes its text as the result. No per-request context, no layers, no limits:
//! the least an SDK with typed handlers can do per request.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::io::{self, Write as _};
use std::mem;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use foldhash::HashMap;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::Notify;

use oxmcp_bench::floor::write_error;

/// A `tools/call` handed from the reader to the runner.
enum Call {
    /// Answered by the floor's own code, from the raw params.
    Raw {
        id: Box<RawValue>,
        params: Option<Box<RawValue>>,
    },
    /// `--typed`: a registered tool's handler, with its arguments still raw.
    Typed {
        id: Id,
        future: ToolFuture,
        modern: bool,
    },
}

/// What a tool's handler returns once erased: a boxed future of its text or error.
type ToolFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// A registered tool, erased (a registry holds many, added at run time).
trait Tool: Send + Sync {
    /// Reads the arguments into the handler's type and makes its future (not polled yet).
    fn call(&self, arguments: &RawValue) -> ToolFuture;
}

/// A request id, as the in-flight map keys it: numbers without an allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Id {
    Number(i64),
    /// Any other id, as its JSON text.
    Other(Box<str>),
}

impl Id {
    fn new(raw: &RawValue) -> Id {
        match raw.get().parse() {
            Ok(n) => Id::Number(n),
            Err(_) => Id::Other(raw.get().into()),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Id::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Id::Other(text) => out.extend_from_slice(text.as_bytes()),
        }
    }
}

/// The `echo` tool's arguments, owned, as a user's handler takes them.
#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

/// The handler, exactly as in `examples/echo`.
async fn echo(args: EchoArgs) -> String {
    args.text
}

/// A handler `async fn(T) -> String` with `T` read from the arguments.
struct Typed<F, T>(F, std::marker::PhantomData<fn(T)>);

impl<F, T, Fut> Tool for Typed<F, T>
where
    F: Fn(T) -> Fut + Send + Sync,
    T: serde::de::DeserializeOwned,
    Fut: Future<Output = String> + Send + 'static,
{
    fn call(&self, arguments: &RawValue) -> ToolFuture {
        match serde_json::from_str::<T>(arguments.get()) {
            Ok(args) => {
                let future = (self.0)(args);
                Box::pin(async move { Ok(future.await) })
            }
            Err(err) => {
                let message = err.to_string();
                Box::pin(async move { Err(message) })
            }
        }
    }
}

/// `tools/call` params as `--typed` reads them: the name, the raw arguments, the era.
#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta")]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<IgnoredAny>,
}

/// The requests in flight, by id, each with its cancelled flag: a duplicate id is refused,
/// a cancellation finds its request here.
type InFlight = Mutex<HashMap<Id, bool>>;

/// `--typed`: the envelope, with `tools/call` params read in the same pass (the fields of
/// other methods' params are skipped; those requests go to the floor's own code).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<CallParams<'a>>,
}

/// What the three tasks share: each list is taken whole by its consumer.
struct Shared {
    calls: Mutex<Vec<Call>>,
    calls_ready: Notify,
    output: Mutex<Vec<u8>>,
    output_ready: Notify,
    /// The input has ended: the runner stops once it has taken every call.
    done: AtomicBool,
    in_flight: InFlight,
    /// `--typed`: the registered tools.
    tools: Option<HashMap<Box<str>, Arc<dyn Tool>>>,
    /// The runner has stopped: the writer stops once it has written everything.
    finished: AtomicBool,
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("floor-async-stdio: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("floor-async-stdio: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> io::Result<()> {
    let input = pipe::Receiver::from_file(std::fs::File::from(io::stdin().lock().as_fd_owned()?))?;
    let output = pipe::Sender::from_file(std::fs::File::from(io::stdout().lock().as_fd_owned()?))?;
    let typed = std::env::args().any(|a| a == "--typed");
    let shared = Arc::new(Shared {
        calls: Mutex::default(),
        calls_ready: Notify::new(),
        output: Mutex::default(),
        output_ready: Notify::new(),
        done: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        in_flight: Mutex::default(),
        tools: typed.then(|| {
            let echo: Arc<dyn Tool> = Arc::new(Typed(echo, std::marker::PhantomData));
            HashMap::from_iter([(Box::<str>::from("echo"), echo)])
        }),
    });
    let runner = tokio::spawn(run(shared.clone()));
    let writer = tokio::spawn(write(shared.clone(), output));
    let read = read(&shared, input).await;
    shared.done.store(true, Ordering::Release);
    shared.calls_ready.notify_one();
    let _ = runner.await;
    shared.finished.store(true, Ordering::Release);
    shared.output_ready.notify_one();
    let written = writer.await.unwrap_or_else(|e| Err(io::Error::other(e)));
    read.and(written)
}

impl Shared {
    /// Hands `answers` to the writer (if there are any).
    fn send(&self, answers: &mut Vec<u8>) {
        if !answers.is_empty() {
            self.output.lock().expect("output lock").append(answers);
            self.output_ready.notify_one();
        }
    }
}

/// Duplicates a standard stream's descriptor (std's own handles buffer, and closing ours
/// must not close theirs).
trait OwnedFd {
    fn as_fd_owned(&self) -> io::Result<std::os::fd::OwnedFd>;
}

impl<T: std::os::fd::AsFd> OwnedFd for T {
    fn as_fd_owned(&self) -> io::Result<std::os::fd::OwnedFd> {
        self.as_fd().try_clone_to_owned()
    }
}

/// The reader: answers inline what needs no handler, hands `tools/call` to the runner.
async fn read(shared: &Shared, mut input: pipe::Receiver) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut calls = Vec::new();
    let mut answers = Vec::new();
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = input.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &buf[start..filled]) {
            let line = &buf[start..start + end + 1];
            start += end + 1;
            if let Some(tools) = &shared.tools {
                if let Ok(Envelope {
                    id: Some(id),
                    method: Some(method),
                    params: Some(params),
                }) = serde_json::from_slice(line)
                {
                    if method == "tools/call" {
                        route(shared, tools, &mut answers, id, params, &mut calls)?;
                        continue;
                    }
                }
            }
            oxmcp_bench::floor::handle_line_with(line, &mut answers, |_, id, params| {
                calls.push(Call::Raw {
                    id: id.to_owned(),
                    params: params.map(RawValue::to_owned),
                });
                Ok(())
            })?;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if !calls.is_empty() {
            shared.calls.lock().expect("calls lock").append(&mut calls);
            shared.calls_ready.notify_one();
        }
        shared.send(&mut answers);
    }
}

/// `--typed`: finds the tool, puts the request in flight and queues it for the runner, or
/// answers an error at once.
fn route(
    shared: &Shared,
    tools: &HashMap<Box<str>, Arc<dyn Tool>>,
    out: &mut Vec<u8>,
    id: &RawValue,
    params: CallParams<'_>,
    calls: &mut Vec<Call>,
) -> io::Result<()> {
    let Some(tool) = params.name.and_then(|name| tools.get(name.as_ref())) else {
        return write_error(out, Some(id), -32602, "Unknown tool");
    };
    let mut in_flight = shared.in_flight.lock().expect("in-flight lock");
    match in_flight.entry(Id::new(id)) {
        Entry::Occupied(_) => write_error(out, Some(id), -32600, "Duplicate request id"),
        Entry::Vacant(entry) => {
            calls.push(Call::Typed {
                id: entry.key().clone(),
                future: tool.call(params.arguments.unwrap_or(RawValue::NULL)),
                modern: params.meta.is_some_and(|m| m.protocol_version.is_some()),
            });
            entry.insert(false);
            Ok(())
        }
    }
}

/// Writes a tool's outcome as the answer to request `id`.
fn answer(out: &mut Vec<u8>, id: &Id, modern: bool, outcome: Result<String, String>) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    id.write(out);
    out.extend_from_slice(br#","result":{"content":[{"type":"text","text":"#);
    let (text, is_error) = match &outcome {
        Ok(text) => (text, false),
        Err(message) => (message, true),
    };
    let _ = serde_json::to_writer(&mut *out, text);
    out.extend_from_slice(b"}]");
    if is_error {
        out.extend_from_slice(br#","isError":true"#);
    }
    if modern {
        out.extend_from_slice(br#","resultType":"complete""#);
    }
    out.extend_from_slice(b"}}\n");
}

/// The runner: answers each call handed over, into the output buffer.
async fn run(shared: Arc<Shared>) {
    let mut calls = Vec::new();
    let mut answers = Vec::new();
    loop {
        shared.calls_ready.notified().await;
        mem::swap(&mut calls, &mut *shared.calls.lock().expect("calls lock"));
        for call in calls.drain(..) {
            match call {
                Call::Raw { id, params } => {
                    // Writing to a Vec cannot fail.
                    let _ = oxmcp_bench::floor::call_tool(&mut answers, &id, params.as_deref());
                }
                Call::Typed {
                    id,
                    mut future,
                    modern,
                } => {
                    let cancelled =
                        shared.in_flight.lock().expect("in-flight lock").get(&id) == Some(&true);
                    if !cancelled {
                        let polled = future
                            .as_mut()
                            .poll(&mut Context::from_waker(Waker::noop()));
                        let outcome = match polled {
                            Poll::Ready(outcome) => outcome,
                            // An SDK would move a handler that waits into a task of its
                            // own; the echo tool never waits, so the model just finishes
                            // it here (correct, at the cost of holding up the runner).
                            Poll::Pending => future.await,
                        };
                        answer(&mut answers, &id, modern, outcome);
                    }
                    shared.in_flight.lock().expect("in-flight lock").remove(&id);
                }
            }
        }
        shared.send(&mut answers);
        if shared.done.load(Ordering::Acquire)
            && shared.calls.lock().expect("calls lock").is_empty()
        {
            return;
        }
    }
}

/// The writer: writes what the output buffer holds, in one write when it can.
async fn write(shared: Arc<Shared>, mut output: pipe::Sender) -> io::Result<()> {
    let mut pending = Vec::with_capacity(64 * 1024);
    loop {
        let done = shared.finished.load(Ordering::Acquire);
        if !done {
            shared.output_ready.notified().await;
        }
        mem::swap(
            &mut pending,
            &mut *shared.output.lock().expect("output lock"),
        );
        if pending.is_empty() {
            if done {
                return Ok(());
            }
            continue;
        }
        output.write_all(&pending).await?;
        pending.clear();
    }
}
