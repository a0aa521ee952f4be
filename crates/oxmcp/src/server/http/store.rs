//! Where SSE events are kept so a client can resume a stream (`Last-Event-ID`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// One stored SSE event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event id sent on the wire (`id:`), unique across streams.
    pub id: String,
    /// The JSON-RPC message (empty for a priming event).
    pub message: String,
}

/// Keeps the events sent on SSE streams, so a client that lost a stream (or whose stream
/// the server closed) can fetch what it missed with `GET` and `Last-Event-ID`.
///
/// Event ids are minted by the store and must be visible ASCII; the store must be able to
/// tell, from an event id alone, which stream it belongs to.
pub trait EventStore: Send + Sync + 'static {
    /// Stores a message sent on `stream` and returns the event id to send with it.
    fn store_event(&self, stream: &str, message: &str) -> String;

    /// The stream `last_event_id` belongs to, and the events stored on it after that one,
    /// oldest first; `None` when the id is unknown (or its events were evicted).
    fn events_after(&self, last_event_id: &str) -> Option<(String, Vec<StoredEvent>)>;

    /// Forgets a stream (its session ended).
    fn remove_stream(&self, stream: &str) {
        let _ = stream;
    }

    /// The client resumed after `last_event_id`: it received every event of that stream up
    /// to it, which need not be kept any longer.
    fn acknowledge(&self, last_event_id: &str) {
        let _ = last_event_id;
    }
}

/// The default bound of [`InMemoryEventStore`] on the bytes kept per stream: 8 MiB.
pub const DEFAULT_STREAM_BYTES: usize = 8 * 1024 * 1024;
/// The default bound of [`InMemoryEventStore`] on the bytes kept in all: 64 MiB.
pub const DEFAULT_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// An [`EventStore`] in memory, bounded: at most `max_events` events and
/// [`DEFAULT_STREAM_BYTES`] per stream (oldest dropped first, the newest always kept),
/// `max_streams` streams and [`DEFAULT_TOTAL_BYTES`] in all (oldest stream dropped first);
/// see [`byte_limits`](InMemoryEventStore::byte_limits). Events a client acknowledged (by
/// resuming after them) are dropped.
#[derive(Debug)]
pub struct InMemoryEventStore {
    max_events: usize,
    max_streams: usize,
    max_stream_bytes: usize,
    max_total_bytes: usize,
    inner: Mutex<Streams>,
}

#[derive(Debug, Default)]
struct Streams {
    by_name: HashMap<String, Log>,
    order: VecDeque<String>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Log {
    next: u64,
    events: VecDeque<(u64, String)>,
    bytes: usize,
}

impl Streams {
    /// Drops the oldest event of `stream`.
    fn pop_event(&mut self, stream: &str) {
        if let Some(log) = self.by_name.get_mut(stream) {
            if let Some((_, message)) = log.events.pop_front() {
                log.bytes -= message.len();
                self.bytes -= message.len();
            }
        }
    }

    fn remove(&mut self, stream: &str) {
        if let Some(log) = self.by_name.remove(stream) {
            self.bytes -= log.bytes;
        }
    }
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new(1024, 10_000)
    }
}

impl InMemoryEventStore {
    /// A store keeping up to `max_events` events per stream and `max_streams` streams.
    pub fn new(max_events: usize, max_streams: usize) -> Self {
        InMemoryEventStore {
            max_events: max_events.max(1),
            max_streams: max_streams.max(1),
            max_stream_bytes: DEFAULT_STREAM_BYTES,
            max_total_bytes: DEFAULT_TOTAL_BYTES,
            inner: Mutex::default(),
        }
    }

    /// Bounds the bytes of messages kept per stream and in all (the newest event of a
    /// stream is kept whatever its size, so it reaches the client following the stream).
    pub fn byte_limits(mut self, per_stream: usize, total: usize) -> Self {
        self.max_stream_bytes = per_stream;
        self.max_total_bytes = total;
        self
    }

    /// How many bytes of messages are kept.
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("event store lock").bytes
    }
}

impl EventStore for InMemoryEventStore {
    fn store_event(&self, stream: &str, message: &str) -> String {
        let mut inner = self.inner.lock().expect("event store lock");
        if !inner.by_name.contains_key(stream) {
            while inner.order.len() >= self.max_streams {
                if let Some(old) = inner.order.pop_front() {
                    inner.remove(&old);
                }
            }
            inner.order.push_back(stream.to_owned());
        }
        let log = inner.by_name.entry(stream.to_owned()).or_default();
        let seq = log.next;
        log.next += 1;
        log.events.push_back((seq, message.to_owned()));
        log.bytes += message.len();
        inner.bytes += message.len();
        loop {
            let log = &inner.by_name[stream];
            let over = log.events.len() > self.max_events
                || (log.bytes > self.max_stream_bytes && log.events.len() > 1);
            if !over {
                break;
            }
            inner.pop_event(stream);
        }
        // Over the total: the oldest other streams go first, then this one's oldest events.
        while inner.bytes > self.max_total_bytes {
            match inner.order.iter().position(|s| s != stream) {
                Some(at) => {
                    let old = inner.order.remove(at).expect("a position in the list");
                    inner.remove(&old);
                }
                None if inner.by_name[stream].events.len() > 1 => inner.pop_event(stream),
                None => break,
            }
        }
        format!("{stream}#{seq}")
    }

    fn events_after(&self, last_event_id: &str) -> Option<(String, Vec<StoredEvent>)> {
        let (stream, seq) = last_event_id.rsplit_once('#')?;
        let seq: u64 = seq.parse().ok()?;
        let inner = self.inner.lock().expect("event store lock");
        let log = inner.by_name.get(stream)?;
        // Evicted past the point asked for: the client would miss events silently.
        if log
            .events
            .front()
            .is_some_and(|(first, _)| *first > seq + 1)
            || seq >= log.next
        {
            return None;
        }
        let events = log
            .events
            .iter()
            .filter(|(s, _)| *s > seq)
            .map(|(s, m)| StoredEvent {
                id: format!("{stream}#{s}"),
                message: m.clone(),
            })
            .collect();
        Some((stream.to_owned(), events))
    }

    fn remove_stream(&self, stream: &str) {
        let mut inner = self.inner.lock().expect("event store lock");
        inner.remove(stream);
        inner.order.retain(|s| s != stream);
    }

    fn acknowledge(&self, last_event_id: &str) {
        let Some((stream, seq)) = last_event_id.rsplit_once('#') else {
            return;
        };
        let Ok(seq) = seq.parse::<u64>() else { return };
        let mut inner = self.inner.lock().expect("event store lock");
        while inner
            .by_name
            .get(stream)
            .and_then(|log| log.events.front())
            .is_some_and(|(first, _)| *first <= seq)
        {
            inner.pop_event(stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_after_an_id_and_bounds_the_log() {
        let store = InMemoryEventStore::new(2, 1);
        let a = store.store_event("s", "");
        let b = store.store_event("s", "one");
        let _ = store.store_event("s", "two");
        let _ = store.store_event("s", "three");
        assert!(store.events_after(&a).is_none(), "evicted");
        let (stream, events) = store.events_after(&b).unwrap();
        assert_eq!(stream, "s");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].message, "two");
        store.store_event("t", "x");
        assert!(store.events_after(&b).is_none(), "stream evicted");
        assert!(store.events_after("garbage").is_none());
    }

    #[test]
    fn bytes_are_bounded_per_stream_and_in_all_and_acknowledged_events_dropped() {
        let store = InMemoryEventStore::new(1000, 1000).byte_limits(10, 25);
        let first = store.store_event("a", "0123456789");
        store.store_event("a", "abcdefghij");
        assert_eq!(store.bytes(), 10, "one stream keeps 10 bytes");
        assert!(
            store.events_after(&first).is_some(),
            "the newest is still there"
        );
        let huge = "x".repeat(100);
        store.store_event("b", &huge);
        assert_eq!(
            store.bytes(),
            100,
            "the newest event is kept whatever its size"
        );
        store.store_event("c", "12345");
        assert!(
            store.bytes() <= 25,
            "the total is bounded: {}",
            store.bytes()
        );
        let store = InMemoryEventStore::new(1000, 1000);
        let one = store.store_event("s", "one");
        store.store_event("s", "two");
        store.acknowledge(&one);
        assert_eq!(store.bytes(), 3, "what was acknowledged is dropped");
        let (_, events) = store.events_after(&one).unwrap();
        assert_eq!(events.len(), 1);
        store.remove_stream("s");
        assert_eq!(store.bytes(), 0);
    }
}
