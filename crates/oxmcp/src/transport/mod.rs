//! Transports: how frames travel between client and server.
//!
//! - newline-delimited JSON over any byte streams: [`Router::serve_io`] and
//!   [`ClientBuilder::connect_io`] (sockets, pipes, in-memory duplexes);
//! - [`stdio`]: the same over stdin/stdout (server) or a child process (client);
//! - an in-process pair, used by `testing::TestClient`.
//!
//! [`Router::serve_io`]: crate::server::Router::serve_io
//! [`ClientBuilder::connect_io`]: crate::client::ClientBuilder::connect_io

#[cfg(any(
    feature = "sse-server",
    feature = "sse-client",
    feature = "ws-server",
    feature = "ws-client"
))]
pub(crate) mod channel;
#[cfg(feature = "http-client")]
pub(crate) mod http;
pub(crate) mod lines;
#[cfg(any(test, all(feature = "server", feature = "client")))]
pub(crate) mod memory;
#[cfg(feature = "stdio")]
pub mod stdio;
#[cfg(feature = "ws-client")]
pub(crate) mod ws;

use std::sync::Arc;

/// Installs rustls' default crypto provider unless one is: reqwest, and the WebSocket
/// client's `wss://`, need one before a TLS client is built.
#[cfg(any(feature = "http-client", feature = "ws-client"))]
pub(crate) fn crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

use crate::rpc::{Joined, Outbound, Peer, Responder};

/// What ends a client's session with its server when the client closes (an HTTP session's
/// `DELETE`).
#[cfg(feature = "client")]
#[cfg_attr(not(feature = "http-client"), allow(dead_code))]
pub(crate) type CloseHook = Box<dyn FnOnce() -> crate::rpc::BoxFuture<()> + Send + Sync + 'static>;

/// The default largest frame a transport accepts: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// One frame read from a transport.
#[derive(Debug)]
pub(crate) enum ReadFrame {
    /// A complete frame.
    Frame(String),
    /// A frame over the size limit was skipped; its size so far.
    TooLarge(usize),
    /// A frame that is not UTF-8 was skipped.
    NotUtf8,
}

/// Something frames are read from.
pub(crate) trait FrameSource: Send {
    /// The next frame; `None` at end of input.
    fn next_frame(
        &mut self,
    ) -> impl std::future::Future<Output = std::io::Result<Option<ReadFrame>>> + Send;

    /// A frame already read, if there is one: taken without waiting.
    fn try_next_frame(&mut self) -> Option<ReadFrame> {
        None
    }

    /// Whether the frames sent back on this connection are newline-delimited, so that
    /// replies may be joined with newlines and sent as one frame.
    fn joins_replies(&self) -> bool {
        false
    }

    /// Takes back a frame that has been handled, to reuse its buffer.
    fn recycle(&mut self, frame: String) {
        let _ = frame;
    }
}

/// Answers a frame that could not be read with `error`, waiting (boxed) only while the
/// queue is full: the connection's future, which every idle connection holds, does not
/// carry a send.
async fn refuse(outbound: &Outbound, null_unknown_ids: bool, error: &oxmcp_protocol::ErrorObject) {
    if let Some(wait) = outbound.send_error_soon(None, null_unknown_ids, error) {
        let _ = wait.await;
    }
}

/// Reads frames and hands them to the peer until the input ends (or `stop` completes:
/// then no more is read, as at the end of input), then waits for the handlers still
/// running and closes the peer.
pub(crate) async fn drive<H: Responder, R: FrameSource>(
    peer: Peer,
    handler: Arc<H>,
    mut source: R,
    outbound: Outbound,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut stop = std::pin::pin!(stop);
    handler.attach(&outbound);
    // One wait for the close, registered once: frames that are ready are taken first,
    // and a close is noticed before each frame and whenever the input is idle.
    let mut closed = std::pin::pin!(peer.closed().clone().cancelled_owned());
    // The replies known at once to frames read together leave together, when the input
    // runs dry (or the joined text grows large).
    // On a current-thread runtime, the requests whose answer needs user code run in the
    // joined replies' runner (see `rpc::runner`).
    let mut joined = source
        .joins_replies()
        .then(|| Joined::new(&peer, &outbound));
    let result = loop {
        if peer.is_closed() {
            break Ok(());
        }
        let frame = match source.try_next_frame() {
            Some(frame) => Ok(Some(frame)),
            None => {
                if let Some(joined) = &mut joined {
                    joined.flush(&outbound).await;
                }
                tokio::select! {
                    biased;
                    frame = source.next_frame() => frame,
                    _ = &mut closed => break Ok(()),
                    () = &mut stop => {
                        tracing::debug!("asked to stop: no more input is read");
                        break Ok(());
                    }
                }
            }
        };
        match frame {
            Ok(Some(ReadFrame::Frame(text))) => {
                if text.trim().is_empty() {
                    continue;
                }
                peer.handle_frame_joined(&text, &handler, &outbound, joined.as_mut(), None)
                    .await;
                source.recycle(text);
                if let Some(joined) = joined.as_mut().filter(|j| j.is_full()) {
                    joined.flush(&outbound).await;
                }
            }
            Ok(Some(ReadFrame::TooLarge(size))) => {
                tracing::warn!(size, "skipped a frame over the size limit");
                let error = oxmcp_protocol::ErrorObject::invalid_request(format!(
                    "message too large: more than {size} bytes"
                ));
                refuse(&outbound, handler.null_unknown_ids(), &error).await;
            }
            Ok(Some(ReadFrame::NotUtf8)) => {
                let error = oxmcp_protocol::ErrorObject::parse_error("invalid JSON: not UTF-8");
                refuse(&outbound, handler.null_unknown_ids(), &error).await;
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if let Some(joined) = &mut joined {
        joined.flush(&outbound).await;
    }
    // The runner ends once it has run what it was handed.
    drop(joined);
    handler.on_input_end();
    peer.input_ended();
    peer.finish().await;
    result
}
