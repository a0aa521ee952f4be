//! The stdio transport: newline-delimited JSON-RPC.
//!
//! A server reads stdin and writes stdout through one writer task; nothing else in oxmcp
//! ever writes to stdout (logs go through `tracing`, to stderr). A client spawns the server
//! as a child process described by a [`ChildCommand`].

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::error::Error;
#[cfg(feature = "server")]
use crate::rpc::{Peer, Responder};

/// Serves one connection on this process's stdin/stdout until stdin ends or `stop`
/// completes; then waits for the requests still running and flushes their answers.
#[cfg(feature = "server")]
pub(crate) async fn serve_stdio<H: Responder>(
    peer: Peer,
    handler: Arc<H>,
    max_frame: usize,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    super::lines::serve_lines(peer, handler, (stdin(), stdout()), max_frame, stop).await
}

#[cfg(feature = "server")]
type BoxRead = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
#[cfg(feature = "server")]
type BoxWrite = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

#[cfg(feature = "server")]
/// Stdin for the event loop. When it is a pipe (as MCP clients launch servers), it is read
/// directly by the reactor; tokio's portable stdin would hand every read to a blocking
/// thread, which costs a thread hop per message.
fn stdin() -> BoxRead {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let pipe = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(tokio::net::unix::pipe::Receiver::from_owned_fd);
        if let Ok(pipe) = pipe {
            return Box::new(pipe);
        }
    }
    Box::new(tokio::io::stdin())
}

#[cfg(feature = "server")]
/// Stdout for the event loop: a pipe is written directly by the reactor, unless stderr
/// shares it (then non-blocking mode would leak into stderr's writes).
fn stdout() -> BoxWrite {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let identity = |fd: std::os::fd::BorrowedFd<'_>| {
            fd.try_clone_to_owned()
                .and_then(|owned| std::fs::File::from(owned).metadata())
                .map(|m| (m.dev(), m.ino()))
                .ok()
        };
        let out = identity(std::io::stdout().as_fd());
        let err = identity(std::io::stderr().as_fd());
        if out.is_some() && out != err {
            let pipe = std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .and_then(tokio::net::unix::pipe::Sender::from_owned_fd);
            if let Ok(pipe) = pipe {
                return Box::new(pipe);
            }
        }
    }
    Box::new(tokio::io::stdout())
}

/// What happens to a child process's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StderrMode {
    /// Passed through to this process's stderr (the default).
    #[default]
    Inherit,
    /// Kept (the last 64 KiB) and available from [`ChildProcess::stderr_output`]; each line
    /// is also logged at `debug` level.
    Capture,
    /// Discarded.
    Null,
}

/// How to start an MCP server as a child process.
///
/// ```
/// use oxmcp::transport::stdio::{ChildCommand, StderrMode};
/// let cmd = ChildCommand::new("python3")
///     .args(["-m", "my_server"])
///     .env("LOG_LEVEL", "debug")
///     .stderr(StderrMode::Capture);
/// # let _ = cmd;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ChildCommand {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_clear: bool,
    cwd: Option<PathBuf>,
    stderr: StderrMode,
    shutdown_grace: Duration,
}

impl ChildCommand {
    /// A command running `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        ChildCommand {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            cwd: None,
            stderr: StderrMode::Inherit,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Starts the child with only the variables set by [`env`](Self::env).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Chooses what happens to the child's stderr.
    pub fn stderr(mut self, mode: StderrMode) -> Self {
        self.stderr = mode;
        self
    }

    /// How long `Client::close` waits at each step of stopping the child (default 5 s):
    /// after closing its stdin, for it to exit; then after `SIGTERM` (sent to its whole
    /// process group on unix), before `SIGKILL`.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn spawn(&self) -> Result<(ChildProcess, ChildStdin, ChildStdout), Error> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match self.stderr {
                StderrMode::Inherit => Stdio::inherit(),
                StderrMode::Capture => Stdio::piped(),
                StderrMode::Null => Stdio::null(),
            })
            .kill_on_drop(true);
        // Its own process group, so that stopping it stops what it started too (servers
        // launched through `npx`, `uv` or a shell are such grandchildren).
        #[cfg(unix)]
        cmd.process_group(0);
        if self.env_clear {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::transport("spawn the server process", e))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::protocol("child has no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::protocol("child has no stdout"))?;
        let captured = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let captured = captured.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(target: "oxmcp::child_stderr", "{line}");
                    let mut buf = captured.lock().expect("stderr lock");
                    buf.extend(line.bytes().chain(std::iter::once(b'\n')));
                    let excess = buf.len().saturating_sub(STDERR_KEEP);
                    buf.drain(..excess);
                }
            });
        }
        let group = ProcessGroup {
            #[cfg(unix)]
            leader: child
                .id()
                .and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?)),
            done: std::sync::atomic::AtomicBool::new(false),
        };
        let process = ChildProcess {
            child: Arc::new(tokio::sync::Mutex::new(child)),
            group: Arc::new(group),
            captured,
            grace: self.shutdown_grace,
        };
        Ok((process, stdin, stdout))
    }
}

#[cfg_attr(not(feature = "client"), allow(dead_code))]
const STDERR_KEEP: usize = 64 * 1024;

/// A running server child process. Dropping the last handle kills it, with everything it
/// started (its process group, on unix).
#[derive(Debug, Clone)]
pub struct ChildProcess {
    child: Arc<tokio::sync::Mutex<Child>>,
    group: Arc<ProcessGroup>,
    captured: Arc<Mutex<VecDeque<u8>>>,
    grace: Duration,
}

/// The child's process group (unix): the child leads it, what it starts joins it.
#[derive(Debug)]
struct ProcessGroup {
    #[cfg(unix)]
    leader: Option<rustix::process::Pid>,
    /// Stopped for good: no signal goes to the group any more (its id may be reused).
    done: std::sync::atomic::AtomicBool,
}

/// A signal to stop the child.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Term,
    Kill,
}

impl ProcessGroup {
    /// Sends `signal` to the whole group. Returns whether a signal went out (never on other
    /// platforms than unix).
    fn signal(&self, signal: Stop) -> bool {
        if self.done.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        #[cfg(unix)]
        if let Some(leader) = self.leader {
            use rustix::process::{kill_process_group, Signal};
            let signal = match signal {
                Stop::Term => Signal::TERM,
                Stop::Kill => Signal::KILL,
            };
            return match kill_process_group(leader, signal) {
                Ok(()) => true,
                Err(e) => {
                    // ESRCH: nobody left in the group.
                    tracing::trace!(error = %e, "signalling the server's process group");
                    false
                }
            };
        }
        let _ = signal;
        false
    }

    /// Kills what is left of the group, once: its id may be reused afterwards.
    fn finish(&self) {
        self.signal(Stop::Kill);
        self.done.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // The last handle is gone without `shutdown`: leave no orphan (the child itself is
        // killed on drop too; what it started is killed here).
        self.finish();
    }
}

impl ChildProcess {
    /// What the child wrote to stderr (the last 64 KiB), with [`StderrMode::Capture`].
    pub fn stderr_output(&self) -> String {
        let buf = self.captured.lock().expect("stderr lock");
        let (a, b) = buf.as_slices();
        let mut bytes = Vec::with_capacity(buf.len());
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(b);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The operating system's process id, while the child runs.
    pub async fn id(&self) -> Option<u32> {
        self.child.lock().await.id()
    }

    /// The child's exit status, once it has exited (reaping it); `None` while it runs or
    /// when the status cannot be read. A bridge that saw the server's output end reports
    /// with it why.
    pub async fn exit_status(&self) -> Option<std::process::ExitStatus> {
        self.child.lock().await.try_wait().ok().flatten()
    }

    /// Stops the child as the specification orders (its stdin must already be closed):
    /// waits for it to exit, then sends `SIGTERM` and waits again, then `SIGKILL`, each
    /// wait the grace period; signals go to its whole process group, and whatever of the
    /// group outlives the child is killed. Returns the child's exit status.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) async fn shutdown(&self) -> std::io::Result<std::process::ExitStatus> {
        let mut child = self.child.lock().await;
        let status = self.stop(&mut child).await;
        // Grandchildren that outlived the server (or all of them, if waiting failed).
        self.group.finish();
        status
    }

    /// Kills the child and its process group at once, and reaps it.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) async fn kill(&self) -> std::io::Result<()> {
        let mut child = self.child.lock().await;
        self.group.signal(Stop::Kill);
        let killed = child.kill().await;
        self.group.finish();
        killed
    }

    async fn stop(&self, child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
        if let Ok(status) = tokio::time::timeout(self.grace, child.wait()).await {
            return status;
        }
        tracing::debug!("server process did not exit after its stdin closed; sending SIGTERM");
        if self.group.signal(Stop::Term) {
            if let Ok(status) = tokio::time::timeout(self.grace, child.wait()).await {
                return status;
            }
        }
        tracing::warn!("server process did not exit in time; killing it");
        self.group.signal(Stop::Kill);
        child.kill().await?;
        child.wait().await
    }
}
