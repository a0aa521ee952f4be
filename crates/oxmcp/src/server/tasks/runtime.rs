//! The live side of tasks: turning a call that waits into a task, running it in the
//! background, its questions and answers, `tasks/get`, `tasks/update`, `tasks/cancel`.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::FutureExt as _;
use oxmcp_protocol::error::echo;
use oxmcp_protocol::mrtr::{InputRequest, InputRequests};
use oxmcp_protocol::tasks::TaskStatus;
use oxmcp_protocol::ErrorObject;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::store::{TaskRecord, TaskStore};
use super::time::iso8601;
use super::{missing_extension, negotiated, owner_of};
use crate::rpc::Reply;
use crate::server::ask::AskError;
use crate::server::extension::{MethodRequest, MethodResult};
use crate::server::Context;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the server keeps of a task while its handler runs.
struct Live {
    abort: tokio::task::AbortHandle,
    input: Arc<TaskInput>,
}

/// The tasks of one router.
pub(crate) struct Runtime {
    store: Arc<dyn TaskStore>,
    ttl: Duration,
    poll_interval: Duration,
    live: Arc<Mutex<HashMap<String, Live>>>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Runtime {
    pub(crate) fn new(store: Arc<dyn TaskStore>, ttl: Duration, poll_interval: Duration) -> Self {
        Runtime {
            store,
            ttl,
            poll_interval,
            live: Arc::default(),
        }
    }

    fn live(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a `tools/call` of a tool that may become a task: polled once, a call that is
    /// done (or asks for input) answers as usual; one that waits becomes a task.
    pub(crate) fn escalate(
        self: &Arc<Self>,
        context: Context,
        mut call: BoxFuture<Reply>,
    ) -> BoxFuture<Reply> {
        let runtime = self.clone();
        Box::pin(async move {
            if let std::task::Poll::Ready(reply) = futures_util::poll!(call.as_mut()) {
                return reply;
            }
            let now = SystemTime::now();
            let record = TaskRecord {
                task_id: format!("{:032x}", crate::server::random_u128()),
                owner: owner_of(&context),
                status: TaskStatus::Working,
                status_message: None,
                created_at: now,
                last_updated_at: now,
                ttl: Some(runtime.ttl),
                poll_interval: Some(runtime.poll_interval),
                result: None,
                error: None,
                input_requests: InputRequests::new(),
            };
            let task_id = record.task_id.clone();
            let created = envelope(&record, "task");
            runtime.store.create(record)?;
            let input = Arc::new(TaskInput {
                task_id: task_id.clone(),
                store: runtime.store.clone(),
                pending: Mutex::default(),
                next: AtomicU64::new(0),
            });
            context.set_task_input(input.clone());
            // The live entry is in place before the task can finish and remove it.
            let mut live = runtime.live();
            let finisher = runtime.clone();
            let id = task_id.clone();
            let ttl = runtime.ttl;
            let handle = tokio::spawn(async move {
                // Past its ttl nobody can read the task: its handler stops then too.
                let run = AssertUnwindSafe(call).catch_unwind();
                let outcome = tokio::time::timeout(ttl, run).await.unwrap_or_else(|_| {
                    Ok(Err(ErrorObject::internal(
                        "the task outlived its ttl and was stopped",
                    )))
                });
                finisher.finish(&id, outcome);
            });
            live.insert(
                task_id,
                Live {
                    abort: handle.abort_handle(),
                    input,
                },
            );
            drop(live);
            let meta = context
                .shared()
                .map(|shared| shared.config().server_info_meta.clone());
            let mut created = created;
            if let Some(meta) = meta {
                created.insert("_meta".into(), Value::Object(meta));
            }
            crate::server::reply::encode(&created)
        })
    }

    /// Records the handler's outcome, unless the task was cancelled meanwhile.
    fn finish(&self, task_id: &str, outcome: Result<Reply, Box<dyn std::any::Any + Send>>) {
        self.live().remove(task_id);
        self.store.update(task_id, &mut |task| {
            if task.status.is_terminal() {
                return;
            }
            task.input_requests.clear();
            task.last_updated_at = SystemTime::now();
            match &outcome {
                Ok(Ok(json)) => match RawValue::from_string(json.clone()) {
                    Ok(raw) => {
                        task.status = TaskStatus::Completed;
                        task.result = Some(raw);
                    }
                    Err(e) => {
                        task.status = TaskStatus::Failed;
                        task.error = Some(ErrorObject::internal(format!(
                            "the tool's result is not JSON: {e}"
                        )));
                    }
                },
                Ok(Err(error)) => {
                    task.status = TaskStatus::Failed;
                    task.error = Some(error.clone());
                }
                Err(_) => {
                    task.status = TaskStatus::Failed;
                    task.error = Some(ErrorObject::internal("the tool panicked"));
                }
            }
        });
    }

    /// The task a request names, if it is the requester's.
    fn find(&self, request: &MethodRequest) -> Result<(TaskRef, TaskRecord), ErrorObject> {
        if !negotiated(request.context()) {
            return Err(missing_extension(request.method()));
        }
        let target: TaskRef = request.decode()?;
        let owner = owner_of(request.context());
        match self.store.get(&target.task_id) {
            Some(task) if task.owner == owner => Ok((target, task)),
            _ => Err(unknown(&target.task_id)),
        }
    }

    /// `tasks/get`: the task, its result or error once final, its questions while it
    /// waits for input.
    pub(crate) fn get(&self, request: &MethodRequest) -> MethodResult {
        let (_, task) = self.find(request)?;
        let mut detailed = envelope(&task, "complete");
        match task.status {
            TaskStatus::Completed => {
                if let Some(result) = &task.result {
                    let result: Value = serde_json::from_str(result.get())
                        .map_err(|e| ErrorObject::internal(format!("stored result: {e}")))?;
                    detailed.insert("result".into(), result);
                }
            }
            TaskStatus::Failed => {
                if let Some(error) = &task.error {
                    detailed.insert(
                        "error".into(),
                        serde_json::to_value(error).unwrap_or_default(),
                    );
                }
            }
            TaskStatus::InputRequired => {
                detailed.insert(
                    "inputRequests".into(),
                    serde_json::to_value(&task.input_requests).unwrap_or_default(),
                );
            }
            TaskStatus::Working | TaskStatus::Cancelled => {}
        }
        Ok(Value::Object(detailed))
    }

    /// `tasks/update`: answers to the task's questions; keys it is not waiting on are
    /// ignored.
    pub(crate) fn update(&self, request: &MethodRequest) -> MethodResult {
        let (target, _) = self.find(request)?;
        let responses = target.input_responses.unwrap_or_default();
        let input = self
            .live()
            .get(&target.task_id)
            .map(|live| live.input.clone());
        if let Some(input) = input {
            input.deliver(responses);
        }
        Ok(ack())
    }

    /// `tasks/cancel`: stops the handler of a task still running; a final task stays as
    /// it is. Either way the answer is the same empty acknowledgement.
    pub(crate) fn cancel(&self, request: &MethodRequest) -> MethodResult {
        let (target, _) = self.find(request)?;
        self.store.update(&target.task_id, &mut |task| {
            if !task.status.is_terminal() {
                task.status = TaskStatus::Cancelled;
                task.status_message = Some("cancelled by the client".to_owned());
                task.input_requests.clear();
                task.last_updated_at = SystemTime::now();
            }
        });
        if let Some(live) = self.live().remove(&target.task_id) {
            live.abort.abort();
        }
        Ok(ack())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for (_, live) in self.live().drain() {
            live.abort.abort();
        }
    }
}

/// The params of `tasks/get`, `tasks/update` and `tasks/cancel`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskRef {
    task_id: String,
    #[serde(default)]
    input_responses: Option<Map<String, Value>>,
}

fn unknown(task_id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("unknown task: {}", echo(task_id)))
}

/// `{"resultType": "complete"}`: what `tasks/update` and `tasks/cancel` answer.
fn ack() -> Value {
    serde_json::json!({ "resultType": "complete" })
}

/// The members every task result has, with `resultType`.
fn envelope(task: &TaskRecord, result_type: &str) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("resultType".into(), Value::from(result_type));
    object.insert("taskId".into(), Value::from(task.task_id.clone()));
    object.insert(
        "status".into(),
        serde_json::to_value(task.status).unwrap_or_default(),
    );
    if let Some(message) = &task.status_message {
        object.insert("statusMessage".into(), Value::from(message.clone()));
    }
    object.insert("createdAt".into(), Value::from(iso8601(task.created_at)));
    object.insert(
        "lastUpdatedAt".into(),
        Value::from(iso8601(task.last_updated_at)),
    );
    object.insert(
        "ttlMs".into(),
        task.ttl.map_or(Value::Null, |ttl| Value::from(millis(ttl))),
    );
    if let Some(interval) = task.poll_interval {
        object.insert("pollIntervalMs".into(), Value::from(millis(interval)));
    }
    object
}

/// The questions of a task's handler: parked in the store as `inputRequests` until
/// `tasks/update` answers them.
#[derive(Debug)]
pub(crate) struct TaskInput {
    task_id: String,
    store: Arc<dyn TaskStore>,
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    next: AtomicU64,
}

impl std::fmt::Debug for dyn TaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskStore")
    }
}

impl TaskInput {
    /// Asks `request` (a `kind` of question, for its key) and waits for the answer.
    pub(crate) async fn ask(
        &self,
        kind: &str,
        method: &'static str,
        request: InputRequest,
        key: Option<&str>,
    ) -> Result<Value, AskError> {
        let key = match key {
            Some(key) => key.to_owned(),
            None => format!("{kind}-{}", self.next.fetch_add(1, Ordering::Relaxed)),
        };
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), tx);
        let parked = self.store.update(&self.task_id, &mut |task| {
            if !task.status.is_terminal() {
                task.status = TaskStatus::InputRequired;
                task.input_requests.insert(key.clone(), request.clone());
                task.last_updated_at = SystemTime::now();
            }
        });
        if parked.is_none() {
            return Err(AskError::ended(method));
        }
        rx.await.map_err(|_| AskError::ended(method))
    }

    /// Hands answers to the questions waiting under their keys; the task works again once
    /// none is left.
    fn deliver(&self, responses: Map<String, Value>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut answered = Vec::new();
        for (key, answer) in responses {
            if let Some(tx) = pending.remove(&key) {
                answered.push((key, tx, answer));
            }
        }
        drop(pending);
        if answered.is_empty() {
            return;
        }
        self.store.update(&self.task_id, &mut |task| {
            for (key, ..) in &answered {
                task.input_requests.remove(key);
            }
            if task.status == TaskStatus::InputRequired && task.input_requests.is_empty() {
                task.status = TaskStatus::Working;
            }
            task.last_updated_at = SystemTime::now();
        });
        for (_, tx, answer) in answered {
            let _ = tx.send(answer);
        }
    }
}
