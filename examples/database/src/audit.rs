//! The audit log: one JSON object a line, with the time, to stderr or appended to a file.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Mutex;

/// Where audit lines go.
pub enum Audit {
    /// The process's stderr.
    Stderr,
    /// A file, appended to.
    File(Mutex<tokio::fs::File>),
}

impl Audit {
    /// The log at `path` (appended to, created if missing), or stderr.
    pub async fn open(path: Option<&str>) -> Result<Audit, String> {
        let Some(path) = path else {
            return Ok(Audit::Stderr);
        };
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|e| format!("cannot open the audit log {path}: {e}"))?;
        Ok(Audit::File(Mutex::new(file)))
    }

    /// Writes one entry, stamped with the time (seconds since the Unix epoch).
    pub async fn write(&self, mut entry: Value) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        entry["time"] = Value::from((time * 1000.0).round() / 1000.0);
        let mut line = entry.to_string();
        line.push('\n');
        let written = match self {
            Audit::Stderr => tokio::io::stderr().write_all(line.as_bytes()).await,
            Audit::File(file) => {
                let mut file = file.lock().await;
                match file.write_all(line.as_bytes()).await {
                    Ok(()) => file.flush().await,
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = written {
            eprintln!("database: cannot write the audit log: {e}");
        }
    }
}
