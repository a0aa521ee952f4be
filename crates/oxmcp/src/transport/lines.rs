//! Newline-delimited JSON framing over any byte stream.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{FrameSource, ReadFrame};
use crate::rpc::OutFrame;

/// Reads one frame per line, with a size limit that never buffers more than it allows.
pub(crate) struct LineReader<R> {
    reader: BufReader<R>,
    max: usize,
    buf: Vec<u8>,
    /// The buffer of a frame handed out earlier and given back: the next frame's.
    spare: Vec<u8>,
}

impl<R: AsyncRead + Unpin + Send> LineReader<R> {
    pub(crate) fn new(reader: BufReader<R>, max: usize) -> Self {
        LineReader {
            reader,
            max,
            buf: Vec::with_capacity(8 * 1024),
            spare: Vec::new(),
        }
    }
}

impl<R: AsyncRead + Unpin + Send> FrameSource for LineReader<R> {
    fn recycle(&mut self, frame: String) {
        if self.spare.capacity() < frame.capacity() {
            self.spare = frame.into_bytes();
        }
    }

    fn joins_replies(&self) -> bool {
        true
    }

    fn try_next_frame(&mut self) -> Option<ReadFrame> {
        // Only a whole line already read; anything else is left to `next_frame`.
        let available = self.reader.buffer();
        let end = memchr(available)?;
        if end > self.max {
            return None;
        }
        self.buf.clear();
        self.buf.extend_from_slice(&available[..end]);
        std::pin::Pin::new(&mut self.reader).consume(end + 1);
        Some(self.take())
    }

    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        self.buf.clear();
        let mut skipped = 0usize;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                // End of input: a last line without a newline still counts.
                if skipped > 0 {
                    return Ok(Some(ReadFrame::TooLarge(skipped)));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take()));
            }
            let (chunk, found) = match memchr(available) {
                Some(i) => (&available[..i], Some(i)),
                None => (available, None),
            };
            if skipped > 0 || self.buf.len() + chunk.len() > self.max {
                skipped += self.buf.len() + chunk.len();
                self.buf.clear();
            } else {
                self.buf.extend_from_slice(chunk);
            }
            let consumed = found.map_or(available.len(), |i| i + 1);
            self.reader.consume(consumed);
            if found.is_some() {
                if skipped > 0 {
                    return Ok(Some(ReadFrame::TooLarge(skipped)));
                }
                return Ok(Some(self.take()));
            }
        }
    }
}

impl<R> LineReader<R> {
    fn take(&mut self) -> ReadFrame {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        // The frame leaves in this buffer; the next one is read into the spare (two buffers
        // take turns, so reading allocates nothing once they are large enough).
        let spare = std::mem::take(&mut self.spare);
        match String::from_utf8(std::mem::replace(&mut self.buf, spare)) {
            Ok(s) => ReadFrame::Frame(s),
            Err(e) => {
                self.spare = std::mem::replace(&mut self.buf, e.into_bytes());
                self.buf.clear();
                ReadFrame::NotUtf8
            }
        }
    }
}

fn memchr(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

/// How many bytes of queued frames one write carries at most (more are written next).
const BATCH_LIMIT: usize = 64 * 1024;

/// How many queued frames the writer takes from its queue at once.
const RECV_MANY: usize = 256;

/// Writes each frame as one line. Frames queued together are written together and flushed
/// once, so a burst of responses costs one write.
pub(crate) async fn write_lines<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<OutFrame>,
    writer: W,
) -> std::io::Result<()> {
    let mut out = writer;
    // Frames waiting together are taken from the queue at once, copied into one buffer
    // and written with one call.
    let mut frames: Vec<OutFrame> = Vec::with_capacity(RECV_MANY);
    let mut batch: Vec<u8> = Vec::with_capacity(16 * 1024);
    while rx.recv_many(&mut frames, RECV_MANY).await > 0 {
        batch.clear();
        for frame in frames.drain(..) {
            if frame.text.len() >= BATCH_LIMIT {
                // A large frame is written as it is, after what is batched before it.
                if !batch.is_empty() {
                    out.write_all(&batch).await?;
                    batch.clear();
                }
                out.write_all(frame.text.as_bytes()).await?;
                out.write_all(b"\n").await?;
            } else {
                batch.extend_from_slice(frame.text.as_bytes());
                batch.push(b'\n');
                if batch.len() >= BATCH_LIMIT {
                    out.write_all(&batch).await?;
                    batch.clear();
                }
            }
        }
        if !batch.is_empty() {
            out.write_all(&batch).await?;
        }
        out.flush().await?;
        if batch.capacity() > 4 * BATCH_LIMIT {
            batch = Vec::with_capacity(16 * 1024);
        }
    }
    out.shutdown().await.or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })
}

/// Serves one newline-delimited connection over any byte streams, reading lines of at most
/// `max_frame` bytes.
#[cfg(feature = "server")]
pub(crate) async fn serve_lines<H, R, W>(
    peer: crate::rpc::Peer,
    handler: std::sync::Arc<H>,
    (reader, writer): (R, W),
    max_frame: usize,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    H: crate::rpc::Responder,
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (outbound, rx) = crate::rpc::Outbound::channel();
    let writer = tokio::spawn(write_lines(rx, writer));
    let source = LineReader::new(
        tokio::io::BufReader::with_capacity(64 * 1024, reader),
        max_frame,
    );
    let read = super::drive(peer, handler, source, outbound, stop).await;
    // Every outbound handle is gone once the handlers are done: the writer drains and ends.
    let written = writer.await.map_err(std::io::Error::other)?;
    read?;
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = LineReader::new(tokio::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(f) = reader.next_frame().await.unwrap() {
            out.push(match f {
                ReadFrame::Frame(s) => s,
                ReadFrame::TooLarge(n) => format!("<too large {n}>"),
                ReadFrame::NotUtf8 => "<not utf-8>".to_owned(),
            });
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_across_small_reads() {
        assert_eq!(
            frames(b"abc\r\ndefgh\nlast", 100).await,
            vec!["abc", "defgh", "last"]
        );
    }

    #[tokio::test]
    async fn skips_oversized_lines_and_goes_on() {
        let got = frames(b"ok\n0123456789abcdef\nnext\n", 8).await;
        assert_eq!(got, vec!["ok", "<too large 16>", "next"]);
    }

    #[tokio::test]
    async fn reports_invalid_utf8() {
        assert_eq!(
            frames(b"\xff\xfe\nok\n", 100).await,
            vec!["<not utf-8>", "ok"]
        );
    }

    /// Frames given back to the reader keep their buffers for later lines, and what the
    /// reader hands out is never a previous frame's content.
    #[tokio::test]
    async fn recycled_buffers_hold_only_the_new_line() {
        let input: &[u8] = b"a-long-first-line\nb\nccc\n";
        let mut reader = LineReader::new(tokio::io::BufReader::with_capacity(4, input), 100);
        let mut got = Vec::new();
        while let Some(ReadFrame::Frame(frame)) = reader.next_frame().await.unwrap() {
            got.push(frame.clone());
            reader.recycle(frame);
        }
        assert_eq!(got, vec!["a-long-first-line", "b", "ccc"]);
    }

    /// Small frames are batched, large ones written as they are, in the order queued.
    #[tokio::test]
    async fn writes_small_and_large_frames_in_order() {
        let (tx, rx) = mpsc::channel(16);
        let large = "x".repeat(BATCH_LIMIT + 10);
        for text in ["one", large.as_str(), "two", "three"] {
            tx.send(OutFrame {
                text: text.to_owned(),
                is_response: true,
                error: None,
            })
            .await
            .unwrap();
        }
        drop(tx);
        let mut written = Vec::new();
        write_lines(rx, &mut written).await.unwrap();
        let expected = format!("one\n{large}\ntwo\nthree\n");
        assert_eq!(String::from_utf8(written).unwrap(), expected);
    }
}
