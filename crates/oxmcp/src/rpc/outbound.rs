//! The sending half of a connection: where encoded frames go.

use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use tokio::sync::mpsc;

use super::{frame, Reply};
use crate::error::Error;

/// How many encoded frames may wait for the writer before senders wait too.
pub(crate) const OUTBOUND_CAPACITY: usize = 1024;

/// A cheap-to-clone handle that queues encoded frames for one writer.
///
/// On stdio every request shares the connection's writer; on HTTP each POST gets its own,
/// so a request's notifications and its response travel on that POST's stream.
///
/// Cloning costs one reference count (every request's context holds a clone).
#[derive(Clone, Debug)]
pub(crate) struct Outbound {
    inner: std::sync::Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: Tx,
    /// Set by transports whose streams a handler may ask to end early (Streamable HTTP).
    close: Option<tokio_util::sync::CancellationToken>,
    /// Whether requests to the peer may travel here (not on an HTTP answer that can only
    /// be JSON: a request sent there could never be answered).
    carries_requests: bool,
}

/// Where the frames go: tokio's channel, or (for connections that are idle most of their
/// life) a queue that holds no slots while it is empty.
#[derive(Debug, Clone)]
enum Tx {
    Tokio(mpsc::Sender<OutFrame>),
    #[cfg(any(feature = "sse-server", feature = "ws-server"))]
    Lazy(super::queue::Sender<OutFrame>),
}

impl Tx {
    async fn send(&self, frame: OutFrame) -> Result<(), Error> {
        let sent = match self {
            Tx::Tokio(tx) => tx.send(frame).await.is_ok(),
            #[cfg(any(feature = "sse-server", feature = "ws-server"))]
            Tx::Lazy(tx) => tx.send(frame).await.is_ok(),
        };
        sent.then_some(()).ok_or_else(Error::closed)
    }

    fn try_send(&self, frame: OutFrame) -> Result<(), mpsc::error::TrySendError<OutFrame>> {
        match self {
            Tx::Tokio(tx) => tx.try_send(frame),
            #[cfg(any(feature = "sse-server", feature = "ws-server"))]
            Tx::Lazy(tx) => tx.try_send(frame),
        }
    }
}

impl Outbound {
    fn new(
        tx: Tx,
        close: Option<tokio_util::sync::CancellationToken>,
        carries_requests: bool,
    ) -> Self {
        Outbound {
            inner: std::sync::Arc::new(Inner {
                tx,
                close,
                carries_requests,
            }),
        }
    }

    /// Whether requests to the peer may be sent here.
    pub(crate) fn carries_requests(&self) -> bool {
        self.inner.carries_requests
    }
}

/// One encoded message on its way out.
#[derive(Debug)]
pub(crate) struct OutFrame {
    /// The JSON text, without a line terminator.
    pub(crate) text: String,
    /// Whether this answers a request (a transport may end a stream after the last one).
    pub(crate) is_response: bool,
    /// The code of the error this response reports, when it is one response that reports
    /// an error (never set for a result, a batch's array, or joined replies): what an HTTP
    /// transport derives its status from, without reading the text back.
    #[cfg_attr(not(feature = "http-server"), allow(dead_code))]
    pub(crate) error: Option<i64>,
}

impl Outbound {
    /// A handle and the receiver its writer drains.
    pub(crate) fn channel() -> (Outbound, mpsc::Receiver<OutFrame>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        (Outbound::new(Tx::Tokio(tx), None, true), rx)
    }

    /// [`Outbound::channel`] for a connection that is idle most of its life (a WebSocket,
    /// an HTTP+SSE session): its queue holds no slots while it is empty.
    #[cfg(any(feature = "sse-server", feature = "ws-server"))]
    pub(crate) fn lazy_channel() -> (Outbound, super::queue::Receiver<OutFrame>) {
        let (tx, rx) = super::queue::channel(OUTBOUND_CAPACITY);
        (Outbound::new(Tx::Lazy(tx), None, true), rx)
    }

    /// A handle whose stream a handler may ask to end early: `close` fires then. Requests
    /// to the peer are refused when they cannot travel on it (`carries_requests` unset).
    #[cfg(feature = "http-server")]
    pub(crate) fn closable(
        close: tokio_util::sync::CancellationToken,
        carries_requests: bool,
    ) -> (Outbound, mpsc::Receiver<OutFrame>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        (
            Outbound::new(Tx::Tokio(tx), Some(close), carries_requests),
            rx,
        )
    }

    /// Asks the transport to end the stream these frames travel on; frames still to come
    /// are kept for the client to fetch when it resumes. Whether the transport supports it.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn request_close(&self) -> bool {
        match &self.inner.close {
            Some(close) => {
                close.cancel();
                true
            }
            None => false,
        }
    }

    /// Queues a request or notification, waiting while the writer is behind (this is the
    /// backpressure).
    pub(crate) async fn send(&self, text: String) -> Result<(), Error> {
        self.inner
            .tx
            .send(OutFrame {
                text,
                is_response: false,
                error: None,
            })
            .await
    }

    /// Queues a response that reports no error of its own (a result, a batch's array,
    /// joined replies), waiting while the writer is behind.
    pub(crate) async fn send_response(&self, text: String) -> Result<(), Error> {
        self.send_reply_frame(text, None).await
    }

    /// Queues an error response, with its code: to request `id`, or to a message whose id
    /// could not be read (said as `"id": null` when `null_unknown_ids` is set, left out
    /// otherwise).
    pub(crate) async fn send_error(
        &self,
        id: Option<&RequestId>,
        null_unknown_ids: bool,
        error: &ErrorObject,
    ) -> Result<(), Error> {
        let text = frame::encode_error(id, null_unknown_ids, error);
        self.send_reply_frame(text, Some(error.code)).await
    }

    async fn send_reply_frame(&self, text: String, error: Option<i64>) -> Result<(), Error> {
        self.inner
            .tx
            .send(OutFrame {
                text,
                is_response: true,
                error,
            })
            .await
    }

    /// Queues the response carrying `reply` to request `id`, with its error code, from a
    /// task that should stay small: only when the writer is
    /// behind does it wait, in a boxed future (so the futures of the many requests that
    /// never wait do not carry a send future).
    pub(crate) fn send_reply_soon(
        &self,
        id: &RequestId,
        reply: Reply,
    ) -> Option<super::BoxFuture<Result<(), Error>>> {
        let error = reply.as_ref().err().map(|e| e.code);
        self.queue_soon(OutFrame {
            text: super::encode_reply(id, reply),
            is_response: true,
            error,
        })
    }

    /// [`Outbound::send_response`] for a future that should stay small, as
    /// [`Outbound::send_reply_soon`].
    pub(crate) fn send_response_soon(
        &self,
        text: String,
    ) -> Option<super::BoxFuture<Result<(), Error>>> {
        self.queue_soon(OutFrame {
            text,
            is_response: true,
            error: None,
        })
    }

    /// [`Outbound::send_error`] for a future that should stay small, as
    /// [`Outbound::send_reply_soon`].
    pub(crate) fn send_error_soon(
        &self,
        id: Option<&RequestId>,
        null_unknown_ids: bool,
        error: &ErrorObject,
    ) -> Option<super::BoxFuture<Result<(), Error>>> {
        self.queue_soon(OutFrame {
            text: frame::encode_error(id, null_unknown_ids, error),
            is_response: true,
            error: Some(error.code),
        })
    }

    /// Queues `frame` at once if there is room; otherwise, the boxed wait for room.
    fn queue_soon(&self, frame: OutFrame) -> Option<super::BoxFuture<Result<(), Error>>> {
        match self.inner.tx.try_send(frame) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => None,
            Err(mpsc::error::TrySendError::Full(frame)) => {
                let tx = self.inner.tx.clone();
                Some(Box::pin(async move { tx.send(frame).await }))
            }
        }
    }

    /// Queues a frame from a context that cannot wait (a destructor): if the queue is full,
    /// a task sends it once there is room.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn send_detached(&self, text: String) {
        match self.inner.tx.try_send(OutFrame {
            text,
            is_response: false,
            error: None,
        }) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(frame)) => {
                let tx = self.inner.tx.clone();
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        let _ = tx.send(frame).await;
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply carries the code of the error it reports, so a transport need not read it.
    #[tokio::test]
    async fn replies_carry_their_error_code() {
        let (out, mut rx) = Outbound::channel();
        let id = RequestId::Number(1);
        assert!(out.send_reply_soon(&id, Ok("{}".to_owned())).is_none());
        assert!(out
            .send_reply_soon(&id, Err(ErrorObject::method_not_found("x")))
            .is_none());
        out.send_error(None, true, &ErrorObject::parse_error("bad"))
            .await
            .unwrap();
        out.send_response("[]".to_owned()).await.unwrap();
        out.send("{}".to_owned()).await.unwrap();
        let mut got = Vec::new();
        while let Ok(frame) = rx.try_recv() {
            got.push((frame.is_response, frame.error));
        }
        assert_eq!(
            got,
            [
                (true, None),
                (true, Some(-32601)),
                (true, Some(-32700)),
                (true, None),
                (false, None)
            ]
        );
    }
}
