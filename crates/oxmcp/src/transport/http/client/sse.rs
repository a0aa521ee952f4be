//! A Server-Sent Events parser over a byte stream.

/// One dispatched SSE event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The `id:` field, if the event had one.
    pub(crate) id: Option<String>,
    /// The `event:` field (`message` when absent).
    pub(crate) event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub(crate) data: String,
    /// The `retry:` field in milliseconds, if valid.
    pub(crate) retry: Option<u64>,
}

/// What reading the stream produced next.
#[derive(Debug)]
pub(crate) enum SseItem {
    /// A complete event.
    Event(Event),
    /// An event over the size limit was skipped.
    TooLarge,
}

/// Incremental SSE parsing: feed bytes, take events.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    current: Event,
    has_field: bool,
    data_seen: bool,
    /// The last byte fed was `\r` (a following `\n` belongs to the same line break).
    after_cr: bool,
    oversized: bool,
    /// The line being read went over the limit: its rest is dropped, and it is neither a
    /// field nor the blank line that ends an event.
    skipping: bool,
    max: usize,
}

impl SseParser {
    /// A parser whose events (their data) may not exceed `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        SseParser {
            max,
            ..Default::default()
        }
    }

    /// Feeds bytes, appending the events they complete to `out`.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseItem>) {
        while !chunk.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    self.push(&chunk[..i]);
                    self.after_cr = chunk[i] == b'\r';
                    chunk = &chunk[i + 1..];
                    let line = std::mem::take(&mut self.buf);
                    if !std::mem::take(&mut self.skipping) {
                        self.line(&line, out);
                    }
                }
                None => {
                    self.push(chunk);
                    chunk = &[];
                }
            }
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.buf.len() + bytes.len() + self.current.data.len() > self.max {
            self.oversized = true;
            self.skipping = true;
            self.buf.clear();
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseItem>) {
        if line.is_empty() {
            if self.oversized {
                out.push(SseItem::TooLarge);
            } else if self.has_field {
                out.push(SseItem::Event(std::mem::take(&mut self.current)));
            }
            self.current = Event::default();
            self.has_field = false;
            self.data_seen = false;
            self.oversized = false;
            return;
        }
        if line[0] == b':' {
            return; // a comment (keep-alive)
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match field {
            "data" => {
                if self.data_seen {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_field = true;
                self.data_seen = true;
            }
            "id" if !value.contains('\0') => {
                self.current.id = Some(value.to_owned());
                self.has_field = true;
            }
            "event" => {
                self.current.event = Some(value.to_owned());
                self.has_field = true;
            }
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.current.retry = Some(ms);
                    self.has_field = true;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> Vec<Event> {
        let mut parser = SseParser::new(1024);
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk.as_bytes(), &mut out);
        }
        out.into_iter()
            .map(|item| match item {
                SseItem::Event(e) => e,
                SseItem::TooLarge => panic!("too large"),
            })
            .collect()
    }

    #[test]
    fn events_split_anywhere() {
        let events = parse(&[
            "id: e-1\r",
            "\nretry: 500\ndata: \n\n: keep\n",
            "data: {\"a\":1}\r\n\r\n",
        ]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id.as_deref(), Some("e-1"));
        assert_eq!(events[0].retry, Some(500));
        assert_eq!(events[0].data, "");
        assert_eq!(events[1].data, "{\"a\":1}");
    }

    #[test]
    fn multi_line_data_and_limit() {
        let events = parse(&["event: message\ndata: a\ndata: b\n\n"]);
        assert_eq!(events[0].data, "a\nb");
        assert_eq!(events[0].event.as_deref(), Some("message"));
        let mut parser = SseParser::new(10);
        let mut out = Vec::new();
        parser.feed(b"data: 123456\n\ndata: ok\n\n", &mut out);
        assert!(matches!(out[0], SseItem::TooLarge));
        assert!(matches!(&out[1], SseItem::Event(e) if e.data == "ok"));
    }

    /// Found by fuzzing (`fuzz/` target `sse`): a line over the limit was read as the
    /// blank line that ends an event when it came in one piece, and its tail as a field
    /// of its own when it came in several.
    #[test]
    fn a_line_over_the_limit_is_dropped_whole_however_it_is_cut() {
        let long = format!("data: {}data: injected\n", "x".repeat(20));
        let parse = |chunk: usize| {
            let mut parser = SseParser::new(16);
            let mut out = Vec::new();
            for piece in long.as_bytes().chunks(chunk) {
                parser.feed(piece, &mut out);
            }
            // No blank line yet: no event, and not a fake "too large" one.
            assert!(out.is_empty(), "chunk {chunk}: {out:?}");
            parser.feed(b"\ndata: ok\n\n", &mut out);
            out
        };
        for chunk in [long.len(), 10, 3, 1] {
            let out = parse(chunk);
            assert_eq!(out.len(), 2, "chunk {chunk}: {out:?}");
            assert!(
                matches!(out[0], SseItem::TooLarge),
                "chunk {chunk}: {out:?}"
            );
            assert!(
                matches!(&out[1], SseItem::Event(e) if e.data == "ok"),
                "chunk {chunk}"
            );
        }
    }
}
