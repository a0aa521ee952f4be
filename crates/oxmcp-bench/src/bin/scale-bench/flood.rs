//! flood: requests written without waiting; every one answered once, peak RSS bounded.

use super::*;

pub(super) struct FloodResult {
    pub(super) answered: usize,
    pub(super) lost: usize,
    pub(super) duplicates: usize,
    pub(super) bad: usize,
    pub(super) peak_kib: u64,
    pub(super) idle_kib: u64,
    pub(super) wall: Duration,
    pub(super) rate: f64,
    pub(super) first_error: Option<String>,
}

/// Any message from the server, as far as the flood reader cares.
#[derive(Deserialize)]
pub(super) struct Incoming<'a> {
    pub(super) id: Option<u64>,
    pub(super) method: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    pub(super) result: Option<&'a serde_json::value::RawValue>,
    pub(super) error: Option<serde::de::IgnoredAny>,
}

/// Writes `count` echo calls without waiting and checks each id is answered exactly once.
pub(super) fn flood(path: &str, era: Era, count: usize) -> Result<FloodResult, String> {
    let mut pipes = Pipes::spawn(path)?;
    let pid = pipes.pid();
    if era == Era::Legacy {
        pipes.initialize()?;
    } else {
        pipes.send(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"server/discover","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN_VERSION}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        ))?;
        let answer = pipes.response()?;
        if answer.get("result").is_none() {
            return Err(format!("server/discover failed: {answer}"));
        }
    }
    thread::sleep(Duration::from_millis(100));
    let idle_kib = procfs::status_kib(pid, "VmRSS").unwrap_or(0);
    let meta = match era {
        Era::Legacy => String::new(),
        Era::Modern => format!(
            r#","_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN_VERSION}","io.modelcontextprotocol/clientCapabilities":{{}}}}"#
        ),
    };
    let Pipes {
        server,
        mut stdin,
        mut stdout,
    } = pipes;
    let progress = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writer = thread::spawn(move || -> Result<ChildStdin, String> {
        let mut buf = Vec::with_capacity(128 * 1024);
        for id in 1..=count {
            buf.extend_from_slice(
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{ECHO_TEXT}"}}{meta}}}}}"#
                )
                .as_bytes(),
            );
            buf.push(b'\n');
            if buf.len() >= 64 * 1024 || id == count {
                stdin
                    .write_all(&buf)
                    .map_err(|e| format!("writing request {id}: {e}"))?;
                buf.clear();
            }
        }
        Ok(stdin)
    });
    let reader_progress = Arc::clone(&progress);
    let reader = thread::spawn(move || {
        let mut seen = vec![0u8; count];
        let (mut responses, mut bad) = (0usize, 0usize);
        let mut first_error = None;
        let mut line = Vec::with_capacity(1024);
        while responses < count {
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) => {
                    first_error.get_or_insert(format!(
                        "the server closed stdout after {responses} responses"
                    ));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(format!("reading: {e}"));
                    break;
                }
            }
            let message: Incoming<'_> = match serde_json::from_slice(&line) {
                Ok(m) => m,
                Err(e) => {
                    bad += 1;
                    first_error.get_or_insert(format!(
                        "unparseable ({e}): {}",
                        String::from_utf8_lossy(&line)
                    ));
                    continue;
                }
            };
            if message.method.is_some() {
                continue;
            }
            responses += 1;
            reader_progress.fetch_add(1, Ordering::Relaxed);
            let Some(index) = message
                .id
                .and_then(|id| usize::try_from(id).ok())
                .filter(|id| (1..=count).contains(id))
            else {
                bad += 1;
                first_error.get_or_insert(format!(
                    "response with an unknown id: {}",
                    String::from_utf8_lossy(&line)
                ));
                continue;
            };
            seen[index - 1] = seen[index - 1].saturating_add(1);
            let good = message.error.is_none()
                && message.result.is_some_and(|r| {
                    r.get().contains(ECHO_TEXT) && !r.get().contains("\"isError\":true")
                });
            if !good {
                bad += 1;
                first_error.get_or_insert(format!(
                    "not an echo result: {}",
                    String::from_utf8_lossy(&line)
                ));
            }
        }
        (seen, bad, first_error)
    });
    // Watch: give up after 20 s without a response.
    let mut last = 0;
    let mut since = Instant::now();
    let mut server = server;
    while !reader.is_finished() {
        thread::sleep(Duration::from_millis(20));
        let now = progress.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() > Duration::from_secs(20) {
            let _ = server.0.kill();
            break;
        }
    }
    let wall = started.elapsed();
    let peak_kib = procfs::status_kib(pid, "VmHWM").unwrap_or(0);
    let (seen, bad, mut first_error) = reader.join().map_err(|_| "reader panicked")?;
    if seen.contains(&0) {
        // Unanswered requests: the writer may be stuck on a server that stopped reading.
        let _ = server.0.kill();
    }
    match writer.join() {
        Ok(Ok(stdin)) => drop(stdin),
        Ok(Err(e)) => {
            first_error.get_or_insert(e);
        }
        Err(_) => {
            first_error.get_or_insert("writer panicked".into());
        }
    }
    drop(server);
    let answered = seen.iter().filter(|&&n| n >= 1).count();
    let duplicates = seen.iter().map(|&n| usize::from(n.saturating_sub(1))).sum();
    Ok(FloodResult {
        answered,
        lost: count - answered,
        duplicates,
        bad,
        peak_kib,
        idle_kib,
        wall,
        rate: answered as f64 / wall.as_secs_f64(),
        first_error,
    })
}
