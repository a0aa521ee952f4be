//! Lifespan: an async startup hook that produces the handlers' state, and a shutdown hook
//! that runs once every request in flight has finished.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use super::error::ToolError;
use super::extract::Request;
use super::handler::{ErasedHandler, Finish, Reply};
use crate::rpc::BoxFuture;

type ShutdownFn = Box<dyn FnOnce() -> BoxFuture<()> + Send>;
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a startup hook returns: the state handlers extract with
/// [`State<S>`](crate::server::State), and optionally what to do at shutdown.
///
/// ```no_run
/// use oxmcp::server::{Lifespan, Router, State};
///
/// #[derive(Clone)]
/// struct Db { url: String }
///
/// async fn status(State(db): State<Db>) -> String { format!("connected to {}", db.url) }
///
/// # async fn run() -> oxmcp::Result<()> {
/// Router::new()
///     .tool("status", status)
///     .with_lifespan(|| async {
///         let db = Db { url: "postgres://localhost/app".into() }; // e.g. connect here
///         Ok::<_, std::io::Error>(Lifespan::new(db).on_shutdown(|db| async move {
///             eprintln!("closing {}", db.url); // e.g. flush and close here
///         }))
///     })
///     .serve_stdio()
///     .await
/// # }
/// ```
#[must_use]
pub struct Lifespan<S> {
    pub(crate) state: S,
    pub(crate) shutdown: Option<Box<dyn FnOnce(S) -> BoxFuture<()> + Send>>,
}

impl<S: Clone + Send + 'static> Lifespan<S> {
    /// State with no shutdown work.
    pub fn new(state: S) -> Self {
        Lifespan {
            state,
            shutdown: None,
        }
    }

    /// Work to do once the server has stopped reading and every request has finished; it
    /// gets a clone of the state.
    pub fn on_shutdown<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce(S) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(Box::new(move |state| Box::pin(f(state))));
        self
    }
}

/// The startup hook of a router, erased.
pub(crate) type Startup =
    Box<dyn FnOnce() -> BoxFuture<Result<Option<ShutdownFn>, BoxError>> + Send>;

/// The state a lifespan will produce, shared by every handler of the router.
pub(crate) struct LateState<S> {
    pub(crate) cell: Arc<OnceLock<S>>,
}

/// A handler whose state comes from the lifespan's startup hook.
pub(crate) struct WithLateState<S, O> {
    pub(crate) inner: Arc<dyn ErasedHandler<S, O>>,
    pub(crate) state: Arc<OnceLock<S>>,
}

impl<S: Send + Sync, S2, O> ErasedHandler<S2, O> for WithLateState<S, O> {
    fn call(&self, request: Request, _state: &S2) -> BoxFuture<Result<O, ToolError>> {
        match self.state.get() {
            Some(state) => self.inner.call(request, state),
            None => Box::pin(async { Err(ToolError::internal("the server has not started")) }),
        }
    }

    fn layers(&self) -> Option<&super::middleware::Endpoint> {
        self.inner.layers()
    }

    fn preset(&self) -> Option<&oxmcp_protocol::JsonObject> {
        self.inner.preset()
    }

    fn call_finish(&self, request: Request, _state: &S2, finish: Finish<O>) -> BoxFuture<Reply>
    where
        O: Send + 'static,
    {
        match self.state.get() {
            Some(state) => self.inner.call_finish(request, state, finish),
            None => Box::pin(
                finish.around(async { Err(ToolError::internal("the server has not started")) }),
            ),
        }
    }
    fn scopes(&self) -> Option<&[String]> {
        self.inner.scopes()
    }

    fn task_support(&self) -> Option<crate::server::tasks::TaskSupport> {
        self.inner.task_support()
    }
}

/// Builds the erased startup hook that fills `cell`.
pub(crate) fn startup<S, F, Fut, E>(f: F, cell: Arc<OnceLock<S>>) -> Startup
where
    S: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Lifespan<S>, E>> + Send + 'static,
    E: Into<BoxError>,
{
    Box::new(move || {
        Box::pin(async move {
            let lifespan = f().await.map_err(Into::into)?;
            let state = lifespan.state.clone();
            let _ = cell.set(lifespan.state);
            Ok(lifespan
                .shutdown
                .map(|shutdown| Box::new(move || shutdown(state)) as ShutdownFn))
        })
    })
}

/// The hooks of a running server.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) startup: Mutex<Option<Startup>>,
    shutdown: Mutex<Option<ShutdownFn>>,
    /// The hooks of the routers mounted in this one, started after its own and stopped
    /// before.
    pub(crate) children: Mutex<Vec<Arc<super::shared::Shared>>>,
}

impl Hooks {
    /// Runs the startup hook, if there is one and it has not run.
    pub(crate) async fn start(&self) -> crate::Result<()> {
        let startup = self.startup.lock().expect("hooks lock").take();
        if let Some(startup) = startup {
            let shutdown = startup().await.map_err(crate::Error::startup)?;
            *self.shutdown.lock().expect("hooks lock") = shutdown;
        }
        let children = self.children.lock().expect("hooks lock").clone();
        for child in children {
            start_child(child).await?;
        }
        Ok(())
    }

    /// Runs the shutdown hook, once.
    pub(crate) async fn stop(&self) {
        let children = self.children.lock().expect("hooks lock").clone();
        for child in children {
            stop_child(child).await;
        }
        let shutdown = self.shutdown.lock().expect("hooks lock").take();
        if let Some(shutdown) = shutdown {
            shutdown().await;
        }
    }
}

/// A mounted router's startup (boxed: the hooks nest).
fn start_child(child: Arc<super::shared::Shared>) -> BoxFuture<crate::Result<()>> {
    Box::pin(async move { child.hooks.start().await })
}

/// A mounted router's shutdown (boxed: the hooks nest).
fn stop_child(child: Arc<super::shared::Shared>) -> BoxFuture<()> {
    Box::pin(async move { child.hooks.stop().await })
}

impl<S> Clone for LateState<S> {
    fn clone(&self) -> Self {
        LateState {
            cell: self.cell.clone(),
        }
    }
}
