//! Frames handed over by another task: what a transport whose messages arrive elsewhere
//! (an HTTP+SSE session's `POST`s, a WebSocket's reader) feeds to [`drive`](super::drive).

use tokio::sync::mpsc;

use super::{FrameSource, ReadFrame};

/// Reads the frames another task sends on a bounded channel; the input ends when every
/// sender is gone.
pub(crate) struct ChannelSource(pub(crate) mpsc::Receiver<ReadFrame>);

impl FrameSource for ChannelSource {
    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        Ok(self.0.recv().await)
    }

    fn try_next_frame(&mut self) -> Option<ReadFrame> {
        self.0.try_recv().ok()
    }
}
