//! Calling tools that run as tasks (the `io.modelcontextprotocol/tasks` extension,
//! SEP-2663): the call's handle, polling, answering a task's questions, cancelling.
//!
//! Declare the extension ([`ClientBuilder::extension`](super::ClientBuilder::extension)
//! with [`TASKS`]) so that servers may answer a call with a task. Then
//! [`Client::call_tool`] follows a task to its end for you, answering its questions with
//! the client's handlers; [`Client::call_tool_as_task`] hands you the task instead.
//!
//! ```no_run
//! use oxmcp::client::tasks::{ToolCall, TASKS};
//! use oxmcp::client::Client;
//!
//! # async fn run(read: tokio::io::DuplexStream, write: tokio::io::DuplexStream) -> oxmcp::Result<()> {
//! let client = Client::builder()
//!     .extension(TASKS, Default::default())
//!     .connect_io(read, write)
//!     .await?;
//! match client.call_tool_as_task("render", serde_json::json!({})).await? {
//!     ToolCall::Done(result) => println!("at once: {:?}", result.content),
//!     ToolCall::Task(task) => {
//!         println!("task {} is {:?}", task.id(), task.state().await?.status);
//!         let result = task.wait().await?;
//!         println!("finally: {:?}", result.content);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use oxmcp_protocol::method::TOOLS_CALL;
use oxmcp_protocol::tasks::TaskStatus;
use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::ErrorObject;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{CallOptions, Client};
use crate::error::{Error, Result};

/// The extension's identifier.
pub const TASKS: &str = "io.modelcontextprotocol/tasks";

/// The shortest and longest wait between two polls, whatever the server suggests.
const POLL_BOUNDS: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(30));

/// What a tool call turned into.
#[derive(Debug)]
pub enum ToolCall {
    /// The server answered at once.
    Done(CallToolResult),
    /// The server runs the call as a task.
    Task(TaskHandle),
}

/// A task's state, as `tasks/get` reports it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskState {
    /// The task's id.
    pub task_id: String,
    /// Its status.
    pub status: TaskStatus,
    /// A note on the status.
    #[serde(default)]
    pub status_message: Option<String>,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// ISO 8601 time of the last change.
    #[serde(default)]
    pub last_updated_at: Option<String>,
    /// How long the server keeps the task after its creation, in ms (`None`: unbounded).
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    /// How often to poll, in ms.
    #[serde(default)]
    pub poll_interval_ms: Option<u64>,
    /// The tool's result, once `completed`.
    #[serde(default)]
    pub result: Option<CallToolResult>,
    /// The protocol error, once `failed`.
    #[serde(default)]
    pub error: Option<ErrorObject>,
    /// The questions the task waits on, while `input_required`, by key.
    #[serde(default)]
    pub input_requests: Option<Box<RawValue>>,
}

/// A tool call the server runs as a task. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    client: Client,
    task_id: String,
    /// The tool called, whose listed `outputSchema` the final result is checked against.
    tool: std::sync::Arc<str>,
    poll_interval: Duration,
}

impl TaskHandle {
    /// The task's id.
    pub fn id(&self) -> &str {
        &self.task_id
    }

    /// Asks the server for the task's state (`tasks/get`).
    ///
    /// # Errors
    /// If the request fails (`-32602` once the task is unknown or expired).
    pub async fn state(&self) -> Result<TaskState> {
        let state: TaskState = self.send("tasks/get", Map::new()).await?;
        if state.task_id != self.task_id {
            return Err(Error::protocol(format!(
                "tasks/get for task {:?} answered about task {:?}",
                self.task_id, state.task_id
            )));
        }
        Ok(state)
    }

    /// Answers questions the task waits on (`tasks/update`), by the keys of its
    /// `inputRequests`.
    ///
    /// # Errors
    /// If the request fails.
    pub async fn answer(&self, input_responses: Map<String, Value>) -> Result<()> {
        let mut params = Map::new();
        params.insert("inputResponses".into(), Value::Object(input_responses));
        self.send::<Value>("tasks/update", params).await.map(drop)
    }

    /// Cancels the task (`tasks/cancel`); a task that has ended stays as it was.
    ///
    /// # Errors
    /// If the request fails.
    pub async fn cancel(&self) -> Result<()> {
        self.send::<Value>("tasks/cancel", Map::new())
            .await
            .map(drop)
    }

    /// Polls the task until it ends, answering its questions with the client's handlers
    /// (at most [`max_input_rounds`](super::ClientBuilder::max_input_rounds) times), and
    /// returns the tool's result, checked against the tool's listed `outputSchema` as
    /// [`Client::call_tool`] checks it.
    ///
    /// # Errors
    /// If a request fails, the task failed (its protocol error) or was cancelled, or it
    /// asks more than the bound allows or what no handler answers; a protocol error naming
    /// the failing path if the result does not match the tool's listed `outputSchema`.
    pub async fn wait(&self) -> Result<CallToolResult> {
        let mut rounds = 0;
        loop {
            let state = self.state().await?;
            match state.status {
                TaskStatus::Completed => {
                    let result = state.result.ok_or_else(|| {
                        Error::protocol("a completed task came without its result")
                    })?;
                    self.client.check_output(&self.tool, &result)?;
                    return Ok(result);
                }
                TaskStatus::Failed => {
                    return Err(Error::rpc(state.error.unwrap_or_else(|| {
                        ErrorObject::internal("the task failed without an error")
                    })))
                }
                TaskStatus::Cancelled => return Err(Error::cancelled()),
                TaskStatus::InputRequired => {
                    if let Some(requests) = &state.input_requests {
                        if rounds == self.client.inner.max_input_rounds {
                            return Err(Error::protocol(format!(
                                "task {} still required input after {rounds} rounds \
                                 (raise the bound with ClientBuilder::max_input_rounds)",
                                self.task_id
                            )));
                        }
                        rounds += 1;
                        let origin = format!("task {}", self.task_id);
                        let answers = self
                            .client
                            .fulfil_raw(&origin, requests, &CallOptions::default())
                            .await?;
                        self.answer(answers).await?;
                        continue;
                    }
                }
                TaskStatus::Working => {}
            }
            let interval = state
                .poll_interval_ms
                .map_or(self.poll_interval, Duration::from_millis);
            tokio::time::sleep(interval.clamp(POLL_BOUNDS.0, POLL_BOUNDS.1)).await;
        }
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        mut params: Map<String, Value>,
    ) -> Result<T> {
        params.insert("taskId".into(), Value::String(self.task_id.clone()));
        self.client
            .request(method, params, CallOptions::default())
            .await
    }
}

/// The members of a `CreateTaskResult` the client needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    task_id: String,
    #[serde(default)]
    poll_interval_ms: Option<u64>,
}

impl Client {
    /// Calls a tool, and hands back the task if the server runs the call as one (see the
    /// [module documentation](self)). A result, at once or at the task's end
    /// ([`TaskHandle::wait`]), is checked against the tool's listed `outputSchema` as
    /// [`call_tool`](Self::call_tool) checks it.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_as_task(
        &self,
        name: &str,
        arguments: impl serde::Serialize,
    ) -> Result<ToolCall> {
        let params = super::methods::tool_params(name, arguments)?;
        let raw = self
            .request_raw(TOOLS_CALL, params, CallOptions::default())
            .await?;
        self.tool_call(name, &raw)
    }

    /// A `tools/call` result of tool `name`: a plain result, checked against the tool's
    /// listed `outputSchema`, or a task.
    pub(super) fn tool_call(&self, name: &str, raw: &RawValue) -> Result<ToolCall> {
        if super::mrtr::result_type(raw)?.as_deref() != Some("task") {
            let result: CallToolResult = serde_json::from_str(raw.get())
                .map_err(|e| Error::serde("decode the result", e))?;
            self.check_output(name, &result)?;
            return Ok(ToolCall::Done(result));
        }
        let created: Created = serde_json::from_str(raw.get())
            .map_err(|e| Error::serde("decode the CreateTaskResult", e))?;
        Ok(ToolCall::Task(TaskHandle {
            client: self.clone(),
            task_id: created.task_id,
            tool: name.into(),
            poll_interval: Duration::from_millis(created.poll_interval_ms.unwrap_or(500)),
        }))
    }
}
