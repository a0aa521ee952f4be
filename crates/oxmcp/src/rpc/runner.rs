//! A connection's runner: on a current-thread runtime, the first step of every request's
//! handler runs here rather than in a task of its own.
//!
//! # Why this gives the same guarantees as a task per request
//!
//! The engine runs user code off the reader so that a handler, however long it takes before
//! it first waits, never delays the reading of what comes after it: cancellations, other
//! requests, responses to our own requests. On a runtime with one thread, a spawned task
//! cannot run beside the reader anyway: it runs once the reader waits, and while it runs
//! nothing else does. The runner is a task of its own too (never the reader), and the reader
//! hands it the requests it routed at the same point where the spawned tasks would have
//! started to run (when the input runs dry, or when the bound on requests in flight is
//! reached). So everything happens in the same order as with a task per request:
//!
//! - the reader reads every frame already received before any handler runs, so a
//!   cancellation that follows its request in the input is seen first (the runner skips a
//!   request cancelled before its turn, as its task would have);
//! - a handler that waits is moved into a task of its own at its first wait, and from then
//!   on runs exactly as it would have;
//! - handlers that answer without waiting are polled once each, in order, as the scheduler
//!   would have polled their tasks.
//!
//! What it saves: a task (spawn, schedule, poll, release) per request that answers at once,
//! and one outbound message per reply: the replies of the handlers polled together are
//! joined into one frame, as the reader joins the replies it knows itself.
//!
//! On a multi-threaded runtime a spawned task does run beside the reader, and beside the
//! other requests' handlers: there every request keeps its task, and no runner is made.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use oxmcp_protocol::jsonrpc::RequestId;

use super::{BoxFuture, CancelSource, Joined, Outbound, Peer, Reply};

/// A request routed by the reader whose handler has not run yet.
pub(crate) struct Queued {
    pub(crate) id: RequestId,
    pub(crate) future: BoxFuture<Reply>,
    /// Its cancellation state (the request is in the peer's in-flight map under `id`).
    pub(crate) cancel: Arc<dyn CancelSource>,
}

/// Whether this task runs on a runtime with one thread (tokio's current-thread flavour).
pub(crate) fn one_thread() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
}

/// What the reader and the runner share.
#[derive(Default)]
struct Queue {
    items: Mutex<Vec<Queued>>,
    ready: tokio::sync::Notify,
    /// Set when the reader is done: the runner ends once the queue is empty.
    closed: AtomicBool,
}

/// The reader's end of a runner: it gathers the requests routed while reading and hands
/// them over together.
pub(crate) struct Runner {
    queue: Arc<Queue>,
    gathered: Vec<Queued>,
}

impl Runner {
    /// Starts a runner for `peer`, whose replies go to `outbound`, if the runtime runs
    /// tasks on one thread only (elsewhere each request keeps a task of its own).
    pub(crate) fn start(peer: &Peer, outbound: &Outbound) -> Option<Runner> {
        if !one_thread() {
            return None;
        }
        let queue = Arc::new(Queue::default());
        peer.inner
            .tasks
            .spawn(run(queue.clone(), peer.clone(), outbound.clone()));
        Some(Runner {
            queue,
            gathered: Vec::new(),
        })
    }

    /// Adds a request, to be handed over with the others read in the same burst.
    pub(crate) fn push(&mut self, queued: Queued) {
        self.gathered.push(queued);
    }

    /// Hands the gathered requests to the runner, which runs them once the reader waits.
    pub(crate) fn hand_over(&mut self) {
        if self.gathered.is_empty() {
            return;
        }
        self.queue
            .items
            .lock()
            .expect("runner queue lock")
            .append(&mut self.gathered);
        self.queue.ready.notify_one();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.hand_over();
        self.queue.closed.store(true, Ordering::Release);
        self.queue.ready.notify_one();
    }
}

/// The runner's task: polls each request handed over once, sends the replies of those that
/// answered at once as one frame, and moves the others into tasks of their own.
async fn run(queue: Arc<Queue>, peer: Peer, outbound: Outbound) {
    let mut items = Vec::new();
    let mut replies = Joined::default();
    loop {
        // Read before taking the queue: items handed over before the close are taken.
        let closed = queue.closed.load(Ordering::Acquire);
        std::mem::swap(
            &mut *queue.items.lock().expect("runner queue lock"),
            &mut items,
        );
        if items.is_empty() {
            if closed {
                break;
            }
            queue.ready.notified().await;
            continue;
        }
        for item in items.drain(..) {
            peer.poll_first(item, &mut replies, &outbound);
            if replies.is_full() {
                replies.flush(&outbound).await;
            }
        }
        replies.flush(&outbound).await;
    }
}

impl Peer {
    /// Runs a request's handler up to its first wait; a reply known then is added to
    /// `replies`, and a handler that waits goes on in a task of its own.
    fn poll_first(&self, item: Queued, replies: &mut Joined, outbound: &Outbound) {
        let Queued {
            id,
            mut future,
            cancel,
        } = item;
        if cancel.request_cancel().is_cancelled() {
            self.forget_request(&id);
            return;
        }
        // A slot is taken only by a handler that waits: one that answers at its first poll
        // holds none past it, and on this thread nothing else can take one meanwhile, so
        // looking for room is enough (and saves taking and giving back a slot per request).
        if !self.inner.slots.has_room() {
            return self.spawn_task(Queued { id, future, cancel }, None, outbound);
        }
        // The handler's task, if it needs one, polls the future again at once with its own
        // waker (a future wakes the waker of its latest poll): this poll needs none.
        let mut cx = Context::from_waker(Waker::noop());
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Ready(reply)) => {
                drop(future);
                // Forget the id before answering, so the peer may reuse it at once.
                self.forget_request(&id);
                replies.push_reply(&id, reply);
            }
            Ok(Poll::Pending) => {
                // There was room before the poll; should there be none now, the task waits
                // for a slot before it polls again.
                let slot = self.inner.slots.try_take();
                self.spawn_task(Queued { id, future, cancel }, slot, outbound)
            }
            Err(_) => {
                // As when a task panics: the request gets no answer, the others go on.
                tracing::error!(%id, "a request's handler panicked");
                let _ = catch_unwind(AssertUnwindSafe(move || drop(future)));
                self.forget_request(&id);
            }
        }
    }
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use oxmcp_protocol::jsonrpc::ErrorObject;
    use serde_json::value::RawValue;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;
    use crate::rpc::{Dispatch, NotificationCx, RequestCx, Responder};

    /// `now` answers without waiting, `wait` after a sleep, `panic` panics before it
    /// waits; each counts its runs.
    #[derive(Default)]
    struct Steps {
        runs: Arc<AtomicUsize>,
    }

    impl Responder for Steps {
        type Eager<'a> = serde::de::IgnoredAny;

        fn on_request(&self, method: &str, _: Option<&RawValue>, _: RequestCx) -> Dispatch {
            let runs = self.runs.clone();
            let method = method.to_owned();
            Dispatch::Later(Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                match method.as_str() {
                    "now" => Ok("\"now\"".to_owned()),
                    "wait" => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok("\"waited\"".to_owned())
                    }
                    "panic" => panic!("a handler that fails"),
                    _ => Err(ErrorObject::method_not_found(&method)),
                }
            }))
        }

        fn on_notification(&self, _: &str, _: Option<&RawValue>, _: NotificationCx<'_>) {}
    }

    /// Serves `Steps` over an in-memory pipe on this (current-thread) runtime, writes
    /// `input` in one piece, and returns the lines answered until the output ends.
    async fn exchange(input: &str) -> (Vec<serde_json::Value>, usize) {
        let steps = Steps::default();
        let runs = steps.runs.clone();
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (server_read, server_write) = tokio::io::split(server);
        let serving = tokio::spawn(crate::transport::lines::serve_lines(
            Peer::new(8),
            Arc::new(steps),
            (server_read, server_write),
            crate::transport::DEFAULT_MAX_FRAME,
            std::future::pending(),
        ));
        let (client_read, mut client_write) = tokio::io::split(client);
        client_write.write_all(input.as_bytes()).await.unwrap();
        client_write.shutdown().await.unwrap();
        let mut lines = BufReader::new(client_read).lines();
        let mut answers = Vec::new();
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                answers.push(serde_json::from_str(&line).unwrap());
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the server answers and ends within 5 s");
        serving.await.unwrap().unwrap();
        answers.sort_by_key(|a: &serde_json::Value| a["id"].as_i64());
        (answers, runs.load(Ordering::SeqCst))
    }

    fn request(id: i64, method: &str) -> String {
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\"}}\n")
    }

    #[tokio::test]
    async fn the_runner_answers_handlers_that_wait_and_those_that_do_not() {
        let input = [request(1, "now"), request(2, "wait"), request(3, "now")].concat();
        let (answers, runs) = exchange(&input).await;
        let results: Vec<_> = answers.iter().map(|a| a["result"].clone()).collect();
        assert_eq!(results, ["now", "waited", "now"]);
        assert_eq!(runs, 3);
    }

    #[tokio::test]
    async fn a_request_cancelled_before_its_turn_never_runs() {
        // The cancellation is read in the same burst as its request, before any handler
        // runs (as with a task per request): the handler never starts, and gets no answer.
        let cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}\n";
        let input = [request(1, "now"), cancel.to_owned(), request(2, "now")].concat();
        let (answers, runs) = exchange(&input).await;
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(answers[0]["id"], 2);
        assert_eq!(runs, 1);
    }

    #[tokio::test]
    async fn a_handler_that_panics_on_the_runner_spares_the_others() {
        let input = [
            request(1, "now"),
            request(2, "panic"),
            request(3, "wait"),
            request(4, "now"),
        ]
        .concat();
        let (answers, runs) = exchange(&input).await;
        let ids: Vec<_> = answers.iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [1, 3, 4]);
        assert_eq!(runs, 4);
    }
}
