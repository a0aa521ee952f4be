//! In-process dispatch cost: an oxmcp router against the no-SDK floor, on the same
//! in-memory newline-delimited pipe, one thread, so wall time is CPU time.
//!
//! `dispatch [--requests N] [--reps R]` prints, for depth 1 and 32, the median ns per call
//! of: the floor's handler, oxmcp's `Router::serve_io`, and a full oxmcp `TestClient`
//! round trip (client and server), each with its ratio to the floor. Then the cost of
//! output validation: a tool with structured output and a custom `outputSchema`, its
//! result checked against it (the default) or not (`unchecked_output()`), as the ratio of
//! the two (`"bench": "output-validation"`).

use std::time::Instant;

use oxmcp::server::{tool, Args, Json, Router};
use oxmcp::testing::TestClient;
use oxmcp_bench::{cli, floor, stats};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

/// A structured result, with a few fields for the schema to check.
#[derive(Serialize, JsonSchema)]
struct Echoed {
    text: String,
    length: usize,
    words: Vec<String>,
}

async fn echo_structured(Args(args): Args<EchoArgs>) -> Json<Echoed> {
    Json(Echoed {
        length: args.text.len(),
        words: args.text.split(' ').map(str::to_owned).collect(),
        text: args.text,
    })
}

fn router() -> Router {
    let schema = match schemars::schema_for!(Echoed).to_value() {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an object schema"),
    };
    let mut wrong = schema.clone();
    wrong["properties"]["length"] = serde_json::json!({"type": "string"});
    Router::new()
        .tool("echo", echo)
        // The schema given by hand, its check turned off: the baseline, the same in any
        // build (a derived schema would be checked in debug builds).
        .tool(
            "structured",
            tool(echo_structured)
                .output_schema(schema.clone())
                .unchecked_output(),
        )
        // The same schema, checked on every call (the default for a custom schema).
        .tool("validated", tool(echo_structured).output_schema(schema))
        // A schema the result does not match, checked and not: that the check runs.
        .tool(
            "mismatch",
            tool(echo_structured).output_schema(wrong.clone()),
        )
        .tool(
            "mismatch_unchecked",
            tool(echo_structured)
                .output_schema(wrong)
                .unchecked_output(),
        )
}

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn call_frame(tool: &str, id: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{{META},"name":"{tool}","arguments":{{"text":"hello"}}}}}}"#
    )
}

/// The floor's server on a pipe: read a line, answer it, as `floor-stdio` does.
async fn floor_server(pipe: DuplexStream) {
    let (read, mut write) = tokio::io::split(pipe);
    let mut lines = BufReader::new(read);
    let mut line = Vec::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
            return;
        }
        out.clear();
        floor::handle_line(&line, &mut out).expect("writes to a Vec");
        if write.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Sends `requests` calls keeping `depth` in flight; returns ns per call.
async fn pump(pipe: DuplexStream, tool: &str, requests: usize, depth: usize) -> f64 {
    let (read, mut write) = tokio::io::split(pipe);
    let mut lines = BufReader::new(read).lines();
    let frames: Vec<String> = (0..requests)
        .map(|i| call_frame(tool, i + 1) + "\n")
        .collect();
    let start = Instant::now();
    let mut sent = 0;
    let mut received = 0;
    while received < requests {
        while sent < requests && sent - received < depth {
            write.write_all(frames[sent].as_bytes()).await.unwrap();
            sent += 1;
        }
        let line = lines.next_line().await.unwrap().expect("an answer");
        assert!(
            line.contains("hello") && !line.contains("\"error\""),
            "unexpected answer {line}"
        );
        received += 1;
    }
    start.elapsed().as_nanos() as f64 / requests as f64
}

fn measure(kind: &str, requests: usize, depth: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match kind {
            "floor" => {
                let (ours, theirs) = tokio::io::duplex(1 << 20);
                let server = tokio::spawn(floor_server(theirs));
                let ns = pump(ours, "echo", requests, depth).await;
                server.abort();
                ns
            }
            "oxmcp" | "structured" | "validated" => {
                let tool = if kind == "oxmcp" { "echo" } else { kind };
                let (ours, theirs) = tokio::io::duplex(1 << 20);
                let (r, w) = tokio::io::split(theirs);
                let server = tokio::spawn(router().serve_io(r, w));
                let ns = pump(ours, tool, requests, depth).await;
                server.abort();
                ns
            }
            _ => {
                let client = TestClient::modern(router()).await.unwrap();
                let args = serde_json::json!({"text": "hello"});
                let start = Instant::now();
                let mut done = 0;
                while done < requests {
                    let batch = depth.min(requests - done);
                    let calls = (0..batch).map(|_| client.call_tool("echo", &args));
                    for result in futures_join(calls).await {
                        result.unwrap();
                    }
                    done += batch;
                }
                start.elapsed().as_nanos() as f64 / requests as f64
            }
        }
    })
}

/// Awaits all futures, in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll them together: each yields while waiting for its answer.
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.expect("every call finished")));
    out
}

fn main() {
    let args = match cli::Args::parse(std::env::args().skip(1), &["requests", "reps"], &["json"]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("dispatch: {e}\nusage: dispatch [--requests N] [--reps R] [--json]");
            std::process::exit(2);
        }
    };
    let requests: usize = args.get("requests", 20_000).unwrap_or(20_000);
    let reps: usize = args.get("reps", 5).unwrap_or(5);
    let kinds = ["floor", "oxmcp", "testclient"];
    output_validation(requests, reps, args.switch("json"));
    for depth in [1usize, 32] {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        // Warm up, then alternate the kinds so drift on a shared machine hits all alike.
        for kind in kinds {
            measure(kind, requests / 10, depth);
        }
        for _ in 0..reps {
            for (i, kind) in kinds.iter().enumerate() {
                samples[i].push(measure(kind, requests, depth));
            }
        }
        let medians: Vec<f64> = samples
            .iter()
            .map(|s| stats::median(s).unwrap_or(f64::NAN))
            .collect();
        eprintln!(
            "in-process dispatch, depth {depth}, {requests} calls x {reps} reps (median ns/call):"
        );
        for (i, kind) in kinds.iter().enumerate() {
            eprintln!(
                "  {kind:<11} {:>9.0} ns  x{:.2}",
                medians[i],
                medians[i] / medians[0]
            );
            if args.switch("json") {
                println!(
                    "{}",
                    serde_json::json!({"bench": "dispatch", "depth": depth, "server": kind,
                                       "ns_per_call": medians[i], "ratio_to_floor": medians[i] / medians[0]})
                );
            }
        }
    }
}

/// The one answer of the router to a call of `tool`.
fn answer(tool: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (r, w) = tokio::io::split(theirs);
        let server = tokio::spawn(router().serve_io(r, w));
        let (read, mut write) = tokio::io::split(ours);
        write
            .write_all((call_frame(tool, 1) + "\n").as_bytes())
            .await
            .unwrap();
        let line = BufReader::new(read).lines().next_line().await.unwrap();
        server.abort();
        line.expect("an answer")
    })
}

/// The cost of output validation per call: the same structured tool with its result
/// checked against a custom schema, and not checked.
fn output_validation(requests: usize, reps: usize, json: bool) {
    // The figure means something only if the check runs on one side and not the other.
    let checked = answer("mismatch");
    let unchecked = answer("mismatch_unchecked");
    assert!(
        checked.contains("\"error\"") || checked.contains("\"isError\":true"),
        "a result that does not match its custom schema must be refused: {checked}"
    );
    assert!(
        unchecked.contains("hello") && !unchecked.contains("\"error\""),
        "unchecked_output() must let any result through: {unchecked}"
    );
    let kinds = ["structured", "validated"];
    for kind in kinds {
        measure(kind, requests / 10, 1);
    }
    let mut samples = [Vec::new(), Vec::new()];
    for _ in 0..reps {
        for (i, kind) in kinds.iter().enumerate() {
            samples[i].push(measure(kind, requests, 1));
        }
    }
    let without = stats::median(&samples[0]).unwrap_or(f64::NAN);
    let with = stats::median(&samples[1]).unwrap_or(f64::NAN);
    eprintln!(
        "output validation, depth 1, {requests} calls x {reps} reps (median ns/call): \
         without {without:.0} ns, with {with:.0} ns, x{:.3}",
        with / without
    );
    if json {
        println!(
            "{}",
            serde_json::json!({"bench": "output-validation", "ns_per_call_without": without,
                               "ns_per_call_with": with, "ratio": with / without})
        );
    }
}
