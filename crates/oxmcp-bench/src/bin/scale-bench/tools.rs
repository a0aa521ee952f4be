//! tools-scale: the cost of a call and of a full `tools/list` with 1 and 1,000 tools.

use super::*;

/// A server on pipes.
pub(super) struct Pipes {
    pub(super) server: Server,
    pub(super) stdin: ChildStdin,
    pub(super) stdout: BufReader<ChildStdout>,
}

impl Pipes {
    pub(super) fn spawn(command_line: &str) -> Result<Pipes, String> {
        let mut command = cmdline::command(command_line)?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {command_line}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("no pipes".into());
        };
        Ok(Pipes {
            server: Server(child),
            stdin,
            stdout: BufReader::with_capacity(256 * 1024, stdout),
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.server.0.id()
    }

    pub(super) fn send(&mut self, message: &str) -> Result<(), String> {
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .map_err(|e| format!("writing to the server: {e}"))
    }

    /// The next response (skipping server requests and notifications).
    pub(super) fn response(&mut self) -> Result<Value, String> {
        let mut line = Vec::new();
        loop {
            line.clear();
            match self.stdout.read_until(b'\n', &mut line) {
                Ok(0) => return Err("the server closed stdout".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("reading from the server: {e}")),
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: Value = serde_json::from_slice(&line).map_err(|e| {
                format!("unparseable line ({e}): {}", String::from_utf8_lossy(&line))
            })?;
            if value.get("method").is_none() {
                return Ok(value);
            }
        }
    }

    /// The legacy handshake.
    pub(super) fn initialize(&mut self) -> Result<(), String> {
        self.send(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LEGACY_VERSION}","capabilities":{{}},"clientInfo":{{"name":"scale-bench","version":"0.1"}}}}}}"#
        ))?;
        let answer = self.response()?;
        if answer.get("result").is_none() {
            return Err(format!("initialize failed: {answer}"));
        }
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
    }

    /// One full `tools/list`, following `nextCursor`: (pages, bytes of results, tools).
    pub(super) fn list_tools(&mut self, id: &mut u64) -> Result<(usize, usize, usize), String> {
        let (mut pages, mut bytes, mut tools) = (0, 0, 0);
        let mut cursor: Option<String> = None;
        loop {
            *id += 1;
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            self.send(
                &json!({"jsonrpc": "2.0", "id": *id, "method": "tools/list", "params": params})
                    .to_string(),
            )?;
            let answer = self.response()?;
            let result = answer
                .get("result")
                .ok_or_else(|| format!("tools/list failed: {answer}"))?;
            pages += 1;
            bytes += result.to_string().len();
            tools += result
                .get("tools")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok((pages, bytes, tools)),
            }
        }
    }
}

pub(super) struct ListFigures {
    pub(super) cpu_us: f64,
    pub(super) bytes: usize,
    pub(super) pages: usize,
}

/// CPU per full `tools/list` of `echo --tools N`.
pub(super) fn list_cost(echo: &str, tools: usize, lists: usize) -> Result<ListFigures, String> {
    let mut pipes = Pipes::spawn(&format!("{echo} --tools {tools}"))?;
    pipes.initialize()?;
    let mut id = 0;
    let (pages, bytes, count) = pipes.list_tools(&mut id)?;
    if count != tools {
        return Err(format!("tools/list listed {count} tools, expected {tools}"));
    }
    for _ in 0..lists / 10 {
        pipes.list_tools(&mut id)?; // warm-up
    }
    let before = procfs::cpu_sample(pipes.pid()).ok_or("no /proc sample")?;
    for _ in 0..lists {
        pipes.list_tools(&mut id)?;
    }
    let after = procfs::cpu_sample(pipes.pid()).ok_or("no /proc sample")?;
    let delta = procfs::cpu_delta(&before, &after, procfs::clk_tck());
    Ok(ListFigures {
        cpu_us: delta.seconds * 1e6 / lists as f64,
        bytes,
        pages,
    })
}

pub(super) struct ToolsResult {
    pub(super) reps: usize,
    /// Median CPU per call, 1 tool then 1000 tools.
    pub(super) call_us: [f64; 2],
    pub(super) list_us: [f64; 2],
    pub(super) list_bytes: [usize; 2],
    pub(super) list_pages: usize,
    pub(super) ratio: f64,
    pub(super) ratio_of_reps: f64,
}

pub(super) fn tools_scale(echo: &str, settings: &Settings) -> Result<ToolsResult, String> {
    let reps = if settings.quick { 5 } else { 9 };
    let counts = [1usize, 1000];
    let mut calls: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut lists: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut list_bytes = [0; 2];
    let mut list_pages = 0;
    for rep in 0..reps {
        // ABBA order, so a drift of the machine's speed hits both alike.
        let order: [usize; 2] = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let mut config = loadgen::Config::new(format!("{echo} --tools {}", counts[i]));
            config.era = Era::Legacy;
            config.inflight = 16;
            config.requests = if settings.quick { 60_000 } else { 200_000 };
            config.warmup = 5_000;
            let report = loadgen::run(&config).map_err(|e| e.to_string())?;
            if report.errors > 0 {
                return Err(format!(
                    "{} errors with {} tools: {:?}",
                    report.errors, counts[i], report.first_error
                ));
            }
            calls[i].push(report.cpu_us_per_call.ok_or("no CPU figure")?);
            let list = list_cost(echo, counts[i], if settings.quick { 300 } else { 1_000 })?;
            lists[i].push(list.cpu_us);
            list_bytes[i] = list.bytes;
            if i == 1 {
                list_pages = list.pages;
            }
        }
    }
    let median = |v: &[f64]| stats::median(v).unwrap_or(f64::NAN);
    let ratios: Vec<f64> = calls[1]
        .iter()
        .zip(&calls[0])
        .map(|(many, one)| many / one)
        .collect();
    let call_us = [median(&calls[0]), median(&calls[1])];
    Ok(ToolsResult {
        reps,
        call_us,
        list_us: [median(&lists[0]), median(&lists[1])],
        list_bytes,
        list_pages,
        ratio: call_us[1] / call_us[0],
        ratio_of_reps: median(&ratios),
    })
}
