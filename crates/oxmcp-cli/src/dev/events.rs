//! What the console's page is told: every frame of the connection (both directions, with
//! its time), the server's questions waiting for an answer, the connection's state.
//!
//! Events are numbered from 0; the latest [`LIMIT`] are kept. The page reads them from
//! an event stream (or polls), and exports the frames in the `record` format.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::watch;

/// How many events are kept (older ones are dropped first).
pub const LIMIT: usize = 5_000;

/// The longest frame kept whole; longer ones are kept cut, as text.
const MAX_FRAME: usize = 256 * 1024;

/// The console's events.
#[derive(Debug)]
pub struct Events {
    started: Instant,
    inner: Mutex<Inner>,
    /// The number the next event will get: what waiting readers watch.
    next: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The number of the first event in `events`.
    first: u64,
    events: VecDeque<Value>,
}

impl Events {
    /// No events yet; times count from now.
    pub fn new() -> Events {
        Events {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
            next: watch::channel(0).0,
        }
    }

    /// Adds an event of this `kind` with these fields (an object); returns its number.
    pub fn push(&self, kind: &str, fields: Value) -> u64 {
        let mut event = match fields {
            Value::Object(map) => map,
            other => [("value".to_owned(), other)].into_iter().collect(),
        };
        let mut inner = self.inner.lock().expect("events lock");
        let n = inner.first + inner.events.len() as u64;
        event.insert("n".into(), n.into());
        event.insert(
            "t".into(),
            json!(self.started.elapsed().as_secs_f64() * 1000.0),
        );
        event.insert("kind".into(), kind.into());
        inner.events.push_back(Value::Object(event));
        if inner.events.len() > LIMIT {
            inner.events.pop_front();
            inner.first += 1;
        }
        drop(inner);
        self.next.send_replace(n + 1);
        n
    }

    /// Adds one frame; `from` is `client` (sent to the server) or `server`.
    pub fn frame(&self, from: &str, text: &str) {
        let mut fields = json!({"from": from});
        if text.len() > MAX_FRAME {
            let mut end = MAX_FRAME;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            fields["raw"] = text[..end].into();
            fields["truncated"] = true.into();
        } else {
            match serde_json::from_str::<Value>(text) {
                Ok(message) => fields["message"] = message,
                Err(_) => fields["raw"] = text.into(),
            }
        }
        self.push("frame", fields);
    }

    /// The events numbered `since` and later that are still kept.
    pub fn since(&self, since: u64) -> Vec<Value> {
        let inner = self.inner.lock().expect("events lock");
        let skip = since.saturating_sub(inner.first) as usize;
        inner.events.iter().skip(skip).cloned().collect()
    }

    /// Waits until there is an event numbered `since` or later.
    pub async fn wait_beyond(&self, since: u64) {
        let mut next = self.next.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = next.wait_for(|next| *next > since).await;
    }

    /// The frames kept, as a recording of `oxmcp record` (JSON lines:
    /// `{"ms", "from", "message"}`, or `"raw"` for a frame that is not JSON).
    pub fn recording(&self) -> String {
        let inner = self.inner.lock().expect("events lock");
        let mut out = String::new();
        for event in inner.events.iter().filter(|e| e["kind"] == "frame") {
            let mut line = json!({"ms": event["t"], "from": event["from"]});
            for field in ["message", "raw", "truncated"] {
                if let Some(value) = event.get(field) {
                    line[field] = value.clone();
                }
            }
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_numbered_bounded_and_exported_as_a_recording() {
        let events = Events::new();
        events.frame("client", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        events.push("status", json!({"connected": true}));
        events.frame("server", "not json");
        let all = events.since(0);
        assert_eq!(all.len(), 3);
        assert_eq!(all[1]["kind"], "status");
        assert_eq!(events.since(2)[0]["raw"], "not json");
        let recording = events.recording();
        let lines: Vec<Value> = recording
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["from"], "client");
        assert_eq!(lines[0]["message"]["method"], "ping");
        assert!(lines[0]["ms"].is_number());
        assert_eq!(lines[1]["raw"], "not json");

        for i in 0..LIMIT + 10 {
            events.push("status", json!({"i": i}));
        }
        let kept = events.since(0);
        assert_eq!(kept.len(), LIMIT);
        assert_eq!(kept[0]["n"], 13);

        let huge = format!("\"{}\"", "é".repeat(MAX_FRAME));
        events.frame("server", &huge);
        let last = events.since(0).pop().unwrap();
        assert_eq!(last["truncated"], true);
        assert!(last["raw"].as_str().unwrap().len() <= MAX_FRAME);
    }
}
