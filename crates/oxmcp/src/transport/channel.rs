//! Frames handed over by another task: what a transport whose messages arrive elsewhere
//! (an HTTP+SSE session's `POST`s, a WebSocket's reader) feeds to [`drive`](super::drive),
//! through a queue that holds nothing while it is empty (`rpc::queue`).

use super::{FrameSource, ReadFrame};
use crate::rpc::queue;

/// Sends frames to a [`ChannelSource`].
pub(crate) type FrameSender = queue::Sender<ReadFrame>;

/// A queue of at most `bound` frames: its sending half and the source that reads it.
pub(crate) fn channel(bound: usize) -> (FrameSender, ChannelSource) {
    let (tx, rx) = queue::channel(bound);
    (tx, ChannelSource(rx))
}

/// Reads the frames other tasks send; the input ends when every sender is gone.
pub(crate) struct ChannelSource(queue::Receiver<ReadFrame>);

impl FrameSource for ChannelSource {
    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        Ok(self.0.recv().await)
    }

    fn try_next_frame(&mut self) -> Option<ReadFrame> {
        self.0.try_recv()
    }
}
