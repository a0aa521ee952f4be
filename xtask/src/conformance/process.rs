//! Running a command with a deadline, capturing its output.

use super::*;

pub(super) struct Captured {
    pub(super) status: ExitStatus,
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) timed_out: bool,
}

/// Runs a command with stdin closed and its output captured; kills it (and, on Unix, its
/// process group, so the suite's child processes go too) once `timeout` has passed.
pub(super) fn capture(command: &mut Command, timeout: Duration) -> Result<Captured> {
    capture_watching(command, timeout, |_| {})
}

/// [`capture`], calling `watch` with each line of standard output as it arrives (on the
/// thread that drains the pipe).
pub(super) fn capture_watching(
    command: &mut Command,
    timeout: Duration,
    watch: impl Fn(&str) + Send + 'static,
) -> Result<Captured> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure(format!("cannot run `{}`: {e}", shown(command))))?;
    // Each pipe is drained by a thread that sends its text back, so that a grandchild
    // holding a pipe open cannot make us wait forever.
    let pipe = |reader: Box<dyn Read + Send>, watch: Box<dyn Fn(&str) + Send>| {
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = std::io::BufReader::new(reader);
            let mut bytes = Vec::new();
            loop {
                let start = bytes.len();
                match std::io::BufRead::read_until(&mut reader, b'\n', &mut bytes) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => watch(String::from_utf8_lossy(&bytes[start..]).trim_end()),
                }
            }
            let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        receiver
    };
    let stdout = pipe(
        Box::new(child.stdout.take().expect("piped stdout")),
        Box::new(watch),
    );
    let stderr = pipe(
        Box::new(child.stderr.take().expect("piped stderr")),
        Box::new(|_: &str| {}),
    );
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                // The group is killed while its leader is alive, so its id is still ours.
                kill_group(&mut child);
                break child
                    .wait()
                    .map_err(|e| Failure(format!("cannot wait for `{}`: {e}", shown(command))))?;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                kill_group(&mut child);
                return Err(Failure(format!(
                    "cannot wait for `{}`: {e}",
                    shown(command)
                )));
            }
        }
    };
    let grace = Duration::from_secs(10);
    let mut collect = |receiver: &mpsc::Receiver<String>| {
        receiver.recv_timeout(grace).unwrap_or_else(|_| {
            // Leftover processes of the group still hold the pipe (so the group, and its
            // id, still exist): end them, then take what was read.
            kill_group(&mut child);
            receiver.recv_timeout(grace).unwrap_or_default()
        })
    };
    let stdout = collect(&stdout);
    let stderr = collect(&stderr);
    Ok(Captured {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// Kills a child started in its own process group, with everything in the group.
pub(super) fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}
