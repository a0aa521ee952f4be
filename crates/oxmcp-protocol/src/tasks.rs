//! Tasks of 2025-11-25: requests run asynchronously and polled with `tasks/*`.
//!
//! 2026-07-28 moved tasks to the `io.modelcontextprotocol/tasks` extension; these types
//! cover the 2025-11-25 wire format.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;
use crate::method;
use crate::pagination::{Cursor, PaginatedRequestParams};
use crate::result::ResultType;
use crate::JsonObject;

/// The state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for input from the requester.
    InputRequired,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task has finished (completed, failed or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// A task's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// The task's id.
    pub task_id: String,
    /// The current state.
    pub status: TaskStatus,
    /// A human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// ISO 8601 creation time.
    pub created_at: String,
    /// ISO 8601 time of the last update.
    pub last_updated_at: String,
    /// How long the task is kept after creation, in milliseconds; `null` for unlimited.
    /// Always written, as `null` when `None`.
    #[serde(default)]
    pub ttl: Option<u64>,
    /// Suggested polling interval in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
}

impl Task {
    /// A task.
    pub fn new(
        task_id: impl Into<String>,
        status: TaskStatus,
        created_at: impl Into<String>,
        last_updated_at: impl Into<String>,
        ttl: Option<u64>,
    ) -> Self {
        Task {
            task_id: task_id.into(),
            status,
            status_message: None,
            created_at: created_at.into(),
            last_updated_at: last_updated_at.into(),
            ttl,
            poll_interval: None,
        }
    }

    /// Sets `statusMessage`.
    pub fn with_status_message(mut self, message: impl Into<String>) -> Self {
        self.status_message = Some(message.into());
        self
    }

    /// Sets `pollInterval`.
    pub fn with_poll_interval(mut self, poll_interval_ms: u64) -> Self {
        self.poll_interval = Some(poll_interval_ms);
        self
    }
}

/// The `task` member of a request's params: run it as a task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskMetadata {
    /// How long to keep the task after creation, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

impl TaskMetadata {
    /// Run as a task with the receiver's default retention.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `ttl`.
    pub fn with_ttl(mut self, ttl_ms: u64) -> Self {
        self.ttl = Some(ttl_ms);
        self
    }
}

/// Ties a message to a task; sent in `_meta` under
/// [`meta::RELATED_TASK`](crate::meta::RELATED_TASK).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RelatedTaskMetadata {
    /// The task's id.
    pub task_id: String,
}

impl RelatedTaskMetadata {
    /// Related to task `task_id`.
    pub fn new(task_id: impl Into<String>) -> Self {
        RelatedTaskMetadata {
            task_id: task_id.into(),
        }
    }
}

/// Task support declared in client or server capabilities (2025-11-25).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TasksCapability {
    /// Present when `tasks/list` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<JsonObject>,
    /// Present when `tasks/cancel` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<JsonObject>,
    /// The requests that may be task-augmented, by feature and method, e.g.
    /// `{"tools": {"call": {}}}` for a server or
    /// `{"sampling": {"createMessage": {}}, "elicitation": {"create": {}}}` for a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<JsonObject>,
}

impl TasksCapability {
    /// `{}`.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The immediate answer to a task-augmented request: the task that was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateTaskResult {
    /// The task.
    pub task: Task,
    /// The result type (never sent by 2025-11-25; kept for uniformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl CreateTaskResult {
    /// The created task.
    pub fn new(task: Task) -> Self {
        CreateTaskResult {
            task,
            result_type: None,
            meta: None,
        }
    }
}

/// Params naming one task: `{"taskId": ...}` (`tasks/get`, `tasks/result`, `tasks/cancel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskIdParams {
    /// The task's id.
    pub task_id: String,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TaskIdParams {
    /// Names task `task_id`.
    pub fn new(task_id: impl Into<String>) -> Self {
        TaskIdParams {
            task_id: task_id.into(),
            meta: None,
        }
    }
}

/// Params of `tasks/get`.
pub type GetTaskRequestParams = TaskIdParams;
/// Params of `tasks/result`.
pub type GetTaskPayloadRequestParams = TaskIdParams;
/// Params of `tasks/cancel`.
pub type CancelTaskRequestParams = TaskIdParams;

/// A result that is a task's state (`tasks/get`, `tasks/cancel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskResult {
    /// The task's state.
    #[serde(flatten)]
    pub task: Task,
    /// The result type (never sent by 2025-11-25; kept for uniformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TaskResult {
    /// A result of this task state.
    pub fn new(task: Task) -> Self {
        TaskResult {
            task,
            result_type: None,
            meta: None,
        }
    }
}

/// The result of `tasks/get`.
pub type GetTaskResult = TaskResult;
/// The result of `tasks/cancel`.
pub type CancelTaskResult = TaskResult;

/// The result of `tasks/result`: the result of the original request, whatever its type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GetTaskPayloadResult {
    /// The result type (never sent by 2025-11-25; kept for uniformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The other members: the original request's result.
    #[serde(flatten)]
    pub payload: JsonObject,
}

impl GetTaskPayloadResult {
    /// A payload.
    pub fn new(payload: JsonObject) -> Self {
        GetTaskPayloadResult {
            result_type: None,
            meta: None,
            payload,
        }
    }
}

/// The result of `tasks/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListTasksResult {
    /// The tasks of this page.
    pub tasks: Vec<Task>,
    /// The cursor of the next page, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Cursor>,
    /// The result type (never sent by 2025-11-25; kept for uniformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ListTasksResult {
    /// A page of tasks.
    pub fn new(tasks: Vec<Task>) -> Self {
        ListTasksResult {
            tasks,
            next_cursor: None,
            result_type: None,
            meta: None,
        }
    }

    /// Sets `nextCursor`.
    pub fn with_next_cursor(mut self, cursor: impl Into<Cursor>) -> Self {
        self.next_cursor = Some(cursor.into());
        self
    }
}

/// Params of `notifications/tasks/status`: a task's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStatusNotificationParams {
    /// The task's state.
    #[serde(flatten)]
    pub task: Task,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TaskStatusNotificationParams {
    /// The new state of a task.
    pub fn new(task: Task) -> Self {
        TaskStatusNotificationParams { task, meta: None }
    }
}

request_message! {
    /// `tasks/get`: polls a task's state (2025-11-25).
    GetTaskRequest = method::TASKS_GET, required GetTaskRequestParams
}

request_message! {
    /// `tasks/result`: gets a finished task's result (2025-11-25).
    GetTaskPayloadRequest = method::TASKS_RESULT, required GetTaskPayloadRequestParams
}

request_message! {
    /// `tasks/cancel`: cancels a task (2025-11-25).
    CancelTaskRequest = method::TASKS_CANCEL, required CancelTaskRequestParams
}

request_message! {
    /// `tasks/list`: lists tasks (2025-11-25).
    ListTasksRequest = method::TASKS_LIST, optional PaginatedRequestParams
}

notification_message! {
    /// `notifications/tasks/status`: a task's state changed (2025-11-25).
    TaskStatusNotification = method::NOTIFICATION_TASKS_STATUS, required TaskStatusNotificationParams
}
