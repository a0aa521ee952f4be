//! A server WebSocket that holds no buffer while it is idle.
//!
//! tungstenite speaks the protocol (frames, fragmented messages, control frames, the close
//! handshake, limits, UTF-8), through its [`WebSocketContext`]. A context keeps its read
//! buffer (`read_buffer_size` bytes, allocated when it is made) and its write buffer for
//! life, which every idle socket would pay for. So the context here exists only while it
//! has something to do: a message partly read, a frame partly written, a reply (pong,
//! close) not yet sent. At every frame boundary where nothing is left to do, it is let go;
//! the next bytes that arrive make a fresh one (a context holds no other state while the
//! connection is open: it is `Active`, with nothing partial).
//!
//! To know where frames end, bytes read from the socket reach tungstenite through a feed
//! that hands over one frame at a time (its header read with tungstenite's
//! [`FrameHeader::parse`]): so tungstenite never holds the start of the next frame when it
//! finishes one. The feed holds the bytes read but not yet handed over; it is emptied, and
//! let go, as tungstenite reads them. An idle socket waits with a buffer on the stack of
//! the poll only.

use std::io::{self, Cursor, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::WebSocketContext;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};

/// Bytes read from the socket at once, into a buffer on the stack of the poll.
const CHUNK: usize = 4 * 1024;

/// tungstenite's read buffer, while a context exists: how much it reads at once from the
/// feed (a larger frame grows it to its size). Small: it is made for every burst of
/// messages, and a large buffer freed under the connection's longer-lived allocations
/// leaves a hole in the heap that only smaller ones fit (idle sockets cost more RSS).
const READ_BUFFER: usize = 256;

/// One upgraded server socket.
pub(super) struct Socket<S> {
    io: S,
    /// tungstenite's state, while it has something to do (see the module).
    context: Option<Box<WebSocketContext>>,
    feed: Feed,
    /// The largest message and frame accepted, in bytes.
    limit: usize,
}

/// Bytes read from the socket and not yet handed to tungstenite, and where its frames end.
#[derive(Default)]
struct Feed {
    bytes: Vec<u8>,
    /// How much of `bytes` was handed over.
    at: usize,
    /// Bytes of the current frame not yet handed over: 0 at a frame boundary.
    left: u64,
    /// Whether the last data frame handed over was not the last of its message.
    fragmented: bool,
    /// The socket's input has ended.
    ended: bool,
}

impl Feed {
    /// Copies into `out` what tungstenite may read now: the rest of the current frame, or
    /// the next frame once its header is whole. `None` when more bytes are needed.
    fn give(&mut self, out: &mut [u8]) -> Option<usize> {
        let rest = &self.bytes[self.at..];
        if rest.is_empty() {
            return None;
        }
        if self.left == 0 {
            let mut cursor = Cursor::new(rest);
            match FrameHeader::parse(&mut cursor) {
                Ok(Some((header, length))) => {
                    if let OpCode::Data(_) = header.opcode {
                        self.fragmented = !header.is_final;
                    }
                    self.left = cursor.position().saturating_add(length);
                }
                Ok(None) => return None,
                // tungstenite finds the same error in what it is handed.
                Err(_) => self.left = rest.len() as u64,
            }
        }
        let n = out
            .len()
            .min(rest.len())
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        self.left -= n as u64;
        if self.at == self.bytes.len() {
            // Let go of the bytes once they are all handed over.
            self.bytes = Vec::new();
            self.at = 0;
        }
        Some(n)
    }

    /// Reads what the socket has, into a buffer on the stack, then keeps it.
    fn fill<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; CHUNK];
        let mut read = ReadBuf::new(&mut chunk);
        ready!(Pin::new(io).poll_read(cx, &mut read))?;
        let got = read.filled();
        if got.is_empty() {
            self.ended = true;
        } else if self.at == self.bytes.len() {
            self.bytes = got.to_vec();
            self.at = 0;
        } else {
            self.bytes.drain(..self.at);
            self.at = 0;
            self.bytes.extend_from_slice(got);
        }
        Poll::Ready(Ok(()))
    }

    /// Whether tungstenite holds nothing of a frame or message read in part.
    fn at_boundary(&self) -> bool {
        self.left == 0 && !self.fragmented
    }
}

/// The socket as tungstenite sees it: reads come from the feed, `WouldBlock` when the
/// socket has nothing yet (the task is woken when it has).
struct Stream<'a, 'b, S> {
    io: &'a mut S,
    feed: &'a mut Feed,
    cx: &'a mut Context<'b>,
}

fn would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl<S: AsyncRead + Unpin> Read for Stream<'_, '_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = self.feed.give(out) {
                return Ok(n);
            }
            if self.feed.ended {
                return Ok(0);
            }
            would_block(self.feed.fill(self.io, self.cx))?;
        }
    }
}

impl<S: AsyncWrite + Unpin> Write for Stream<'_, '_, S> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        would_block(Pin::new(&mut *self.io).poll_write(self.cx, bytes))
    }

    fn flush(&mut self) -> io::Result<()> {
        would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
    }
}

/// Whether a tungstenite error is only "not yet".
fn is_would_block(error: &Error) -> bool {
    matches!(error, Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    /// A socket past its handshake, accepting messages and frames of up to `limit` bytes.
    pub(super) fn new(io: S, limit: usize) -> Self {
        Socket {
            io,
            context: None,
            feed: Feed::default(),
            limit,
        }
    }

    /// The context, made if there is none, and the stream it reads and writes.
    fn parts<'a, 'b>(
        &'a mut self,
        cx: &'a mut Context<'b>,
    ) -> (&'a mut WebSocketContext, Stream<'a, 'b, S>) {
        let limit = self.limit;
        let context = self.context.get_or_insert_with(|| {
            let config = WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER)
                .max_message_size(Some(limit))
                .max_frame_size(Some(limit));
            Box::new(WebSocketContext::new(Role::Server, Some(config)))
        });
        let stream = Stream {
            io: &mut self.io,
            feed: &mut self.feed,
            cx,
        };
        (context, stream)
    }

    /// Lets go of the context if it has nothing left to do (its replies sent).
    fn release(&mut self, cx: &mut Context<'_>) {
        if self.context.is_none() || !self.feed.at_boundary() {
            return;
        }
        let (context, mut stream) = self.parts(cx);
        if context.flush(&mut stream).is_ok() {
            self.context = None;
        }
    }

    /// The next message (pings are answered, and returned); `None` once the peer has
    /// closed the connection or gone away.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        if self.context.is_none() && self.feed.at == self.feed.bytes.len() && !self.feed.ended {
            // Idle: wait for bytes before making a context.
            if let Err(e) = ready!(self.feed.fill(&mut self.io, cx)) {
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
        }
        let (context, mut stream) = self.parts(cx);
        match context.read(&mut stream) {
            Ok(message) => {
                self.release(cx);
                Poll::Ready(Some(Ok(message)))
            }
            Err(e) if is_would_block(&e) => {
                self.release(cx);
                Poll::Pending
            }
            Err(
                Error::ConnectionClosed
                | Error::AlreadyClosed
                | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            ) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    /// The next message, as [`Socket::poll_next`].
    pub(super) async fn next(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Sends `message` and waits until it is written.
    pub(super) async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.write(message, true).await
    }

    /// Starts the closing handshake with `frame` and waits until it is written (the
    /// context, now closing, is kept).
    pub(super) async fn close(&mut self, frame: CloseFrame) -> Result<(), Error> {
        self.write(Message::Close(Some(frame)), false).await
    }

    /// Writes `message` and waits until it is flushed; then lets go of the context if
    /// `release` and it has nothing left to do.
    async fn write(&mut self, message: Message, release: bool) -> Result<(), Error> {
        let mut message = Some(message);
        std::future::poll_fn(|cx| {
            let (context, mut stream) = self.parts(cx);
            let written = match message.take() {
                Some(message) => context
                    .write(&mut stream, message)
                    .and_then(|()| context.flush(&mut stream)),
                None => context.flush(&mut stream),
            };
            match written {
                Ok(()) => {
                    if release && self.feed.at_boundary() {
                        self.context = None;
                    }
                    Poll::Ready(Ok(()))
                }
                // Queued in the context's buffer: flushed on the next polls.
                Err(e) if is_would_block(&e) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::Data;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::WebSocket;

    use super::*;

    /// The bytes a client sends for `messages` (masked, as a client must).
    fn client_bytes(messages: Vec<Message>) -> Vec<u8> {
        let mut client = WebSocket::from_raw_socket(Cursor::new(Vec::new()), Role::Client, None);
        for message in messages {
            client.write(message).unwrap();
        }
        client.flush().unwrap();
        client.into_inner().into_inner()
    }

    fn fragment(text: &str, opcode: Data, last: bool) -> Message {
        Message::Frame(Frame::message(text.to_owned(), OpCode::Data(opcode), last))
    }

    async fn next(socket: &mut Socket<tokio::io::DuplexStream>) -> Message {
        tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .expect("a valid message")
    }

    /// Frames are read whether they arrive together or a byte at a time, a fragmented
    /// message with a ping inside it included; pings are answered; between messages the
    /// socket holds no tungstenite context (nor its buffers).
    #[tokio::test]
    async fn frames_are_read_however_they_arrive_and_nothing_is_held_between_them() {
        let (mut peer, io) = tokio::io::duplex(64 * 1024);
        let mut socket = Socket::new(io, 1024);
        let bytes = client_bytes(vec![
            Message::text("one"),
            fragment("tw", Data::Text, false),
            Message::Ping(b"p".to_vec().into()),
            fragment("o", Data::Continue, true),
            Message::text("three"),
        ]);
        for one_by_one in [false, true] {
            let writer = {
                let bytes = bytes.clone();
                async move {
                    if one_by_one {
                        for byte in bytes {
                            peer.write_all(&[byte]).await.unwrap();
                            tokio::task::yield_now().await;
                        }
                    } else {
                        peer.write_all(&bytes).await.unwrap();
                    }
                    peer
                }
            };
            let reader = async {
                let mut got = Vec::new();
                while got.len() < 4 {
                    got.push(next(&mut socket).await);
                }
                got
            };
            let (back, got) = tokio::join!(writer, reader);
            peer = back;
            assert_eq!(
                got,
                [
                    Message::text("one"),
                    Message::Ping(b"p".to_vec().into()),
                    Message::text("two"),
                    Message::text("three"),
                ]
            );
            assert!(socket.context.is_none(), "an idle socket holds a context");
            assert!(
                socket.feed.bytes.capacity() == 0,
                "an idle socket holds bytes"
            );
        }
        // The pings were answered, and a message goes out.
        socket.send(Message::text("out")).await.unwrap();
        assert!(socket.context.is_none());
        let mut answered = vec![0u8; 64];
        let n = peer.read(&mut answered).await.unwrap();
        let mut client =
            WebSocket::from_raw_socket(Cursor::new(answered[..n].to_vec()), Role::Client, None);
        let pong = Message::Pong(b"p".to_vec().into());
        assert_eq!(client.read().unwrap(), pong);
        assert_eq!(client.read().unwrap(), pong);
        assert_eq!(client.read().unwrap(), Message::text("out"));
    }

    /// A message over the limit is refused with a capacity error, even in fragments.
    #[tokio::test]
    async fn a_message_over_the_limit_is_refused() {
        let (mut peer, io) = tokio::io::duplex(64 * 1024);
        let mut socket = Socket::new(io, 8);
        let bytes = client_bytes(vec![
            fragment("12345", Data::Text, false),
            fragment("67890", Data::Continue, true),
        ]);
        peer.write_all(&bytes).await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
        assert!(
            matches!(read, Ok(Some(Err(Error::Capacity(_))))),
            "{read:?}"
        );
    }
}
