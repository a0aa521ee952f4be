//! A bounded queue from tasks to one receiver that holds no allocation while it is empty:
//! tokio's channel allocates a block of 32 slots when it is made, which every idle
//! connection would pay for (a WebSocket's or an HTTP+SSE session's inbox and outbound);
//! this one grows with what waits in it and lets go once it is drained.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::Notify;

/// A queue of at most `bound` items: its sending half and its receiver.
pub(crate) fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            senders: 1,
            receiver: true,
        }),
        bound,
        room: Notify::new(),
        arrived: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    queue: Mutex<Queue<T>>,
    bound: usize,
    /// Wakes the senders waiting for room (or for the receiver to be gone).
    room: Notify,
    /// Wakes the receiver (an item arrived, or the last sender is gone).
    arrived: Notify,
}

struct Queue<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The receiver is gone: nothing sent now will be read.
#[derive(Debug)]
pub(crate) struct Closed;

/// Sends to a [`Receiver`], whose input ends when every sender is gone.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.senders -= 1;
        if queue.senders == 0 {
            drop(queue);
            self.shared.arrived.notify_one();
        }
    }
}

impl<T> Sender<T> {
    /// Queues `item`, waiting while the queue is full; gives it back if the receiver is
    /// gone.
    #[cfg_attr(
        not(any(feature = "sse-server", feature = "sse-client", feature = "ws-server")),
        allow(dead_code)
    )]
    pub(crate) async fn send(&self, item: T) -> Result<(), T> {
        if self.ready().await.is_err() {
            return Err(item);
        }
        self.push(item)
    }

    /// Waits until the queue has room (cancel-safe: nothing is taken).
    pub(crate) async fn ready(&self) -> Result<(), Closed> {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let queue = self.shared.lock();
                if !queue.receiver {
                    return Err(Closed);
                }
                if queue.items.len() < self.shared.bound {
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Queues `item` at once: the bound is for [`Sender::ready`] to keep (a sender that
    /// waited for room has it unless another one took it first).
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        {
            let mut queue = self.shared.lock();
            if !queue.receiver {
                return Err(item);
            }
            queue.items.push_back(item);
        }
        self.shared.arrived.notify_one();
        Ok(())
    }

    /// Queues `item` if there is room.
    #[cfg_attr(
        not(any(feature = "sse-server", feature = "ws-server")),
        allow(dead_code)
    )]
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        {
            let mut queue = self.shared.lock();
            if !queue.receiver {
                return Err(TrySendError::Closed(item));
            }
            if queue.items.len() >= self.shared.bound {
                return Err(TrySendError::Full(item));
            }
            queue.items.push_back(item);
        }
        self.shared.arrived.notify_one();
        Ok(())
    }
}

/// Receives what [`Sender`]s send; the input ends when every sender is gone.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next item if one is queued; `Err(true)` once every sender is gone and the queue
    /// is empty.
    fn take(&self) -> Result<T, bool> {
        let mut queue = self.shared.lock();
        match queue.items.pop_front() {
            Some(item) => {
                if queue.items.is_empty() {
                    // Let go of the slots: an idle connection holds none.
                    queue.items = VecDeque::new();
                }
                drop(queue);
                self.shared.room.notify_one();
                Ok(item)
            }
            None => Err(queue.senders == 0),
        }
    }

    /// The next item; `None` once every sender is gone and the queue is empty.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            match self.take() {
                Ok(item) => return Some(item),
                Err(true) => return None,
                Err(false) => arrived.await,
            }
        }
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        self.take().ok()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut queue = self.shared.lock();
            queue.receiver = false;
            std::mem::take(&mut queue.items)
        };
        drop(items);
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn frames_wait_for_room_and_the_input_ends_with_the_last_sender() {
        let (tx, mut source) = channel(2);
        tx.send("a").await.unwrap();
        tx.send("b").await.unwrap();
        assert!(matches!(tx.try_send("x"), Err(TrySendError::Full("x"))));
        let second = tx.clone();
        // Full: the third waits until a frame is read.
        let third = tokio::spawn(async move { second.send("c").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!third.is_finished());
        assert_eq!(source.recv().await, Some("a"));
        third.await.unwrap().unwrap();
        drop(tx);
        assert_eq!(source.try_recv(), Some("b"));
        assert_eq!(source.recv().await, Some("c"));
        // Drained: nothing is held, and the input has ended.
        assert_eq!(source.shared.lock().items.capacity(), 0);
        assert!(source.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_sender_waiting_for_room_learns_the_source_is_gone() {
        let (tx, source) = channel(1);
        tx.send("a").await.unwrap();
        let waiting = tokio::spawn(async move { tx.send("b").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(source);
        let sent = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken within 5 s")
            .unwrap();
        assert!(sent.is_err());
    }
}
