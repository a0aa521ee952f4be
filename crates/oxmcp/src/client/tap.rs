//! Watching every frame a client sends and receives ([`ClientBuilder::on_frame`]), on
//! any transport: what a console or a recorder shows.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::ClientBuilder;
use crate::rpc::{OutFrame, Outbound};
use crate::transport::{FrameSource, ReadFrame};

/// Which way a frame travels, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameDirection {
    /// Sent by the client to the server.
    Sent,
    /// Received by the client from the server.
    Received,
}

/// A callback that sees frames.
type TapFn = dyn Fn(FrameDirection, &str) + Send + Sync;

/// The callback of [`ClientBuilder::on_frame`].
#[derive(Clone)]
pub(crate) struct FrameTap(Arc<TapFn>);

impl std::fmt::Debug for FrameTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameTap")
    }
}

impl ClientBuilder {
    /// Calls `f` with every JSON-RPC frame the client sends (as written, before its
    /// transport frames it: a line, an HTTP body) and every frame it receives (as read,
    /// whatever the transport: a line, an HTTP answer, an SSE event), including those of
    /// the era probe and the handshake. Frames too large or not UTF-8, which are never
    /// handled, are not shown.
    ///
    /// The callback runs on the connection's reader and writer: keep it quick. Setting
    /// it adds one hop (a task relaying the frames sent) to the connection.
    ///
    /// ```no_run
    /// use oxmcp::client::{Client, FrameDirection};
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let client = Client::builder()
    ///     .on_frame(|direction, frame| {
    ///         let arrow = if direction == FrameDirection::Sent { "->" } else { "<-" };
    ///         eprintln!("{arrow} {frame}");
    ///     })
    ///     .connect_http("http://127.0.0.1:3000/mcp")
    ///     .await?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn on_frame(mut self, f: impl Fn(FrameDirection, &str) + Send + Sync + 'static) -> Self {
        self.tap = Some(FrameTap(Arc::new(f)));
        self
    }

    /// The outbound handle and the receiver the transport drains; with a tap, the frames
    /// pass through a relay that shows them first.
    pub(crate) fn outbound_channel(&self) -> (Outbound, mpsc::Receiver<OutFrame>) {
        let (outbound, mut rx) = Outbound::channel();
        let Some(tap) = self.tap.clone() else {
            return (outbound, rx);
        };
        let (tx, relayed) = mpsc::channel(1);
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                (tap.0)(FrameDirection::Sent, &frame.text);
                if tx.send(frame).await.is_err() {
                    break;
                }
            }
        });
        (outbound, relayed)
    }
}

/// A frame source whose frames are shown to the tap, if there is one, as they are read.
pub(crate) struct Tapped<R> {
    pub(crate) inner: R,
    pub(crate) tap: Option<FrameTap>,
}

impl<R> Tapped<R> {
    fn show(&self, frame: &Option<ReadFrame>) {
        if let (Some(tap), Some(ReadFrame::Frame(text))) = (&self.tap, frame) {
            (tap.0)(FrameDirection::Received, text);
        }
    }
}

impl<R: FrameSource> FrameSource for Tapped<R> {
    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        let frame = self.inner.next_frame().await?;
        self.show(&frame);
        Ok(frame)
    }

    fn try_next_frame(&mut self) -> Option<ReadFrame> {
        let frame = self.inner.try_next_frame();
        self.show(&frame);
        frame
    }

    fn joins_replies(&self) -> bool {
        self.inner.joins_replies()
    }

    fn recycle(&mut self, frame: String) {
        self.inner.recycle(frame);
    }
}
