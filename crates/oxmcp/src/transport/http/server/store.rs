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
}

/// An [`EventStore`] in memory, bounded: at most `max_events` per stream (oldest dropped
/// first) and `max_streams` streams (oldest stream dropped first).
#[derive(Debug)]
pub struct InMemoryEventStore {
    max_events: usize,
    max_streams: usize,
    inner: Mutex<Streams>,
}

#[derive(Debug, Default)]
struct Streams {
    by_name: HashMap<String, Log>,
    order: VecDeque<String>,
}

#[derive(Debug, Default)]
struct Log {
    next: u64,
    events: VecDeque<(u64, String)>,
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
            inner: Mutex::default(),
        }
    }
}

impl EventStore for InMemoryEventStore {
    fn store_event(&self, stream: &str, message: &str) -> String {
        let mut inner = self.inner.lock().expect("event store lock");
        if !inner.by_name.contains_key(stream) {
            while inner.order.len() >= self.max_streams {
                if let Some(old) = inner.order.pop_front() {
                    inner.by_name.remove(&old);
                }
            }
            inner.order.push_back(stream.to_owned());
        }
        let log = inner.by_name.entry(stream.to_owned()).or_default();
        let seq = log.next;
        log.next += 1;
        log.events.push_back((seq, message.to_owned()));
        while log.events.len() > self.max_events {
            log.events.pop_front();
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
        inner.by_name.remove(stream);
        inner.order.retain(|s| s != stream);
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
}
