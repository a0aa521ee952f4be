//! An in-process transport: the frames one peer queues are read directly by the other.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{FrameSource, ReadFrame};
use crate::rpc::OutFrame;

/// Sees every frame that crosses an in-memory connection (tests validate them).
pub(crate) type Tap = Arc<dyn Fn(&str) + Send + Sync>;

/// Reads the frames the other peer queued, showing each to an optional tap first.
pub(crate) struct MemorySource {
    pub(crate) rx: mpsc::Receiver<OutFrame>,
    pub(crate) tap: Option<Tap>,
}

impl FrameSource for MemorySource {
    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        let frame = self.rx.recv().await;
        if let (Some(tap), Some(frame)) = (&self.tap, &frame) {
            tap(&frame.text);
        }
        Ok(frame.map(|f| ReadFrame::Frame(f.text)))
    }
}
