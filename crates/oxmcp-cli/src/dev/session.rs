//! The console's connection to the target: (re)connecting in the era asked for, with
//! every frame shown to the page, and the server's questions (elicitation, sampling,
//! roots) answered from the page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oxmcp::client::{Client, EraChoice, FrameDirection};
use oxmcp::protocol::jsonrpc::ErrorObject;
use oxmcp::protocol::roots::Root;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::events::Events;
use crate::target::{Endpoint, Target};

/// The server's requests waiting for the page's answer.
#[derive(Debug)]
pub struct Asks {
    events: Arc<Events>,
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
}

impl Asks {
    fn new(events: Arc<Events>) -> Arc<Asks> {
        Arc::new(Asks {
            events,
            next: AtomicU64::new(1),
            waiting: Mutex::default(),
        })
    }

    /// Shows the page a request of the server (`what`: `elicitation` or `sampling`) and
    /// waits for its answer, decoded as `T`.
    async fn ask<T: DeserializeOwned>(&self, what: &str, params: Value) -> Result<T, ErrorObject> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("asks lock").insert(id, tx);
        self.events
            .push("ask", json!({"id": id, "what": what, "params": params}));
        // Answered, or given up (the server cancelled, the connection closed): the page
        // takes the question down either way.
        let _done = Done { asks: self, id };
        match rx.await {
            Ok(Ok(result)) => serde_json::from_value(result).map_err(|e| {
                ErrorObject::internal(format!("the console's answer to {what} is not valid: {e}"))
            }),
            Ok(Err(refusal)) => Err(ErrorObject::internal(refusal)),
            Err(_) => Err(ErrorObject::internal(
                "the console stopped before answering",
            )),
        }
    }

    /// Answers the question `id` with a result or an error message; whether it was
    /// still waiting.
    pub fn answer(&self, id: u64, answer: Result<Value, String>) -> bool {
        let waiting = self.waiting.lock().expect("asks lock").remove(&id);
        waiting.is_some_and(|tx| tx.send(answer).is_ok())
    }
}

/// Forgets a question when its wait ends, however it ends.
struct Done<'a> {
    asks: &'a Asks,
    id: u64,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.asks
            .waiting
            .lock()
            .expect("asks lock")
            .remove(&self.id);
        self.asks.events.push("answered", json!({"id": self.id}));
    }
}

/// The connection, and what it is made with.
pub struct Session {
    target: Target,
    events: Arc<Events>,
    /// The server's questions waiting for the page.
    pub asks: Arc<Asks>,
    roots: Arc<Mutex<Vec<Root>>>,
    client: Mutex<Option<Client>>,
    /// The era asked for last.
    era: Mutex<EraChoice>,
    /// Counts connections: a closed connection that is no longer the current one is
    /// not reported.
    generation: AtomicU64,
}

impl Session {
    /// Not connected yet; the roots start as the current directory.
    pub fn new(target: Target, events: Arc<Events>) -> Session {
        let roots = std::env::current_dir()
            .ok()
            .and_then(|dir| dir.to_str().map(|d| Root::new(format!("file://{d}"))))
            .into_iter()
            .collect();
        Session {
            era: Mutex::new(target.era),
            target,
            asks: Asks::new(events.clone()),
            events,
            roots: Arc::new(Mutex::new(roots)),
            client: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// Whether the target is a stdio server (one the console starts).
    pub fn is_stdio(&self) -> bool {
        matches!(self.target.resolve(), Ok(Endpoint::Stdio { .. }))
    }

    /// The current connection, if there is one.
    pub fn client(&self) -> Option<Client> {
        self.client.lock().expect("client lock").clone()
    }

    /// The roots given to the server.
    pub fn roots(&self) -> Vec<Root> {
        self.roots.lock().expect("roots lock").clone()
    }

    /// Sets the roots, and tells the server they changed.
    pub async fn set_roots(&self, roots: Vec<Root>) -> Result<(), String> {
        *self.roots.lock().expect("roots lock") = roots.clone();
        self.events.push("roots", json!({"roots": roots}));
        match self.client() {
            Some(client) => client
                .notify_roots_changed()
                .await
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Connects (again: the previous connection is closed first, and a stdio server
    /// restarted) in `era`, or the target's era; returns what the page shows of the
    /// connection, also sent as a `status` event.
    pub async fn connect(self: &Arc<Self>, era: Option<EraChoice>) -> Result<Value, String> {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let old = self.client.lock().expect("client lock").take();
        if let Some(old) = old {
            if let Err(e) = old.close().await {
                tracing::debug!(error = %e, "closing the previous connection failed");
            }
        }
        self.events.push("status", json!({"state": "connecting"}));
        let era = {
            let mut last = self.era.lock().expect("era lock");
            *last = era.unwrap_or(*last);
            *last
        };
        let connected = self.open(era).await;
        let status = match connected {
            Ok(client) => {
                let status = describe(&client, self.is_stdio());
                *self.client.lock().expect("client lock") = Some(client.clone());
                let this = self.clone();
                tokio::spawn(async move {
                    client.closed().await;
                    if this.generation.load(Ordering::SeqCst) == generation {
                        this.events.push("status", json!({"state": "closed"}));
                    }
                });
                status
            }
            Err(e) => {
                let e = e.to_string();
                self.events
                    .push("status", json!({"state": "failed", "error": e}));
                return Err(e);
            }
        };
        self.events.push("status", status.clone());
        Ok(status)
    }

    async fn open(&self, era: EraChoice) -> Result<Client, crate::error::CliError> {
        let endpoint = self.target.resolve()?;
        let events = self.events.clone();
        let elicit = self.asks.clone();
        let sample = self.asks.clone();
        let roots = self.roots.clone();
        let builder = self
            .target
            .builder()
            .era(era)
            .on_frame(move |direction, frame| {
                let from = match direction {
                    FrameDirection::Sent => "client",
                    _ => "server",
                };
                events.frame(from, frame);
            })
            .on_elicitation(move |params| {
                let asks = elicit.clone();
                async move { asks.ask("elicitation", to_value(&params)).await }
            })
            .on_sampling(move |params| {
                let asks = sample.clone();
                async move { asks.ask("sampling", to_value(&params)).await }
            })
            .on_roots(move || {
                let roots = roots.lock().expect("roots lock").clone();
                async move { Ok(roots) }
            });
        endpoint.connect(builder, self.target.login()).await
    }
}

fn to_value(params: &impl serde::Serialize) -> Value {
    serde_json::to_value(params).unwrap_or(Value::Null)
}

/// What the page shows of a connection.
fn describe(client: &Client, stdio: bool) -> Value {
    json!({
        "state": "connected",
        "transport": if stdio { "stdio" } else { "http" },
        "era": if client.protocol_version().is_modern() { "modern" } else { "legacy" },
        "version": client.protocol_version().as_str(),
        "server": client.server_info(),
        "capabilities": client.server_capabilities(),
        "instructions": client.server().instructions,
    })
}
