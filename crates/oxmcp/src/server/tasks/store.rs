//! Where task state lives: the [`TaskStore`] trait and its in-memory implementation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use oxmcp_protocol::mrtr::InputRequests;
use oxmcp_protocol::tasks::TaskStatus;
use oxmcp_protocol::ErrorObject;
use serde_json::value::RawValue;

/// The state of one task, as a [`TaskStore`] keeps it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id: 128 random bits, hex.
    pub task_id: String,
    /// Who may see and change the task: the [`Requester`](super::Requester) a layer
    /// attached, or else the connection (the legacy session) it was created on.
    pub owner: String,
    /// The current status.
    pub status: TaskStatus,
    /// A human-readable note on the status.
    pub status_message: Option<String>,
    /// When the task was created.
    pub created_at: SystemTime,
    /// When the status last changed.
    pub last_updated_at: SystemTime,
    /// How long the task is kept after its creation (`None`: until the store drops it).
    pub ttl: Option<Duration>,
    /// How often a client should poll.
    pub poll_interval: Option<Duration>,
    /// The tool's result once `completed` (a `CallToolResult`, possibly `isError`).
    pub result: Option<Box<RawValue>>,
    /// The protocol error once `failed`.
    pub error: Option<ErrorObject>,
    /// The questions waiting for the client's answers while `input_required`.
    pub input_requests: InputRequests,
}

impl TaskRecord {
    /// Whether the task outlived its ttl at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.ttl
            .and_then(|ttl| self.created_at.checked_add(ttl))
            .is_some_and(|end| end < now)
    }
}

/// Keeps the state of tasks. The in-memory [`MemoryTaskStore`] is the default; a store
/// shared by several server processes lets a task be polled through any of them.
///
/// A store drops expired tasks (see [`TaskRecord::expired`]) by itself and bounds what it
/// holds: [`create`](TaskStore::create) fails when it is full.
pub trait TaskStore: Send + Sync + 'static {
    /// Adds a new task.
    ///
    /// # Errors
    /// When the store cannot take it (full, unreachable): the error the `tools/call` gets.
    fn create(&self, record: TaskRecord) -> Result<(), ErrorObject>;

    /// The task `task_id`, unless it is unknown or expired.
    fn get(&self, task_id: &str) -> Option<TaskRecord>;

    /// Changes the task `task_id` with `change` in one step; returns it as changed, or
    /// `None` when it is unknown or expired.
    fn update(&self, task_id: &str, change: &mut dyn FnMut(&mut TaskRecord)) -> Option<TaskRecord>;
}

/// Tasks in the server's memory, at most `capacity` of them (default 10,000); expired ones
/// are dropped as new ones come.
#[derive(Debug)]
pub struct MemoryTaskStore {
    tasks: Mutex<HashMap<String, TaskRecord>>,
    capacity: usize,
}

impl Default for MemoryTaskStore {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl MemoryTaskStore {
    /// A store holding at most `capacity` tasks at a time.
    pub fn new(capacity: usize) -> Self {
        MemoryTaskStore {
            tasks: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TaskRecord>> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TaskStore for MemoryTaskStore {
    fn create(&self, record: TaskRecord) -> Result<(), ErrorObject> {
        let mut tasks = self.lock();
        if tasks.len() >= self.capacity {
            let now = SystemTime::now();
            tasks.retain(|_, task| !task.expired(now));
        }
        if tasks.len() >= self.capacity {
            return Err(ErrorObject::new(
                -32000,
                format!(
                    "the server holds {} tasks, as many as it keeps; try again when some have expired",
                    tasks.len()
                ),
            ));
        }
        tasks.insert(record.task_id.clone(), record);
        Ok(())
    }

    fn get(&self, task_id: &str) -> Option<TaskRecord> {
        let mut tasks = self.lock();
        let task = tasks.get(task_id)?;
        if task.expired(SystemTime::now()) {
            tasks.remove(task_id);
            return None;
        }
        Some(task.clone())
    }

    fn update(&self, task_id: &str, change: &mut dyn FnMut(&mut TaskRecord)) -> Option<TaskRecord> {
        let mut tasks = self.lock();
        let task = tasks.get_mut(task_id)?;
        if task.expired(SystemTime::now()) {
            tasks.remove(task_id);
            return None;
        }
        change(task);
        Some(task.clone())
    }
}
