//! `Handler`: any async function whose arguments are extractors.
//!
//! Tools, prompts and resources share this machinery; what differs is how the output
//! converts ([`IntoToolResult`](super::IntoToolResult), [`IntoPromptResult`](super::IntoPromptResult),
//! [`IntoResourceContents`](super::IntoResourceContents)).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};

use super::error::ToolError;
use super::extract::{FromRequest, Request};
use super::sealed::HandlerFn;
use crate::rpc::BoxFuture;

/// An async function that can answer a request.
///
/// Implemented for every `async fn` (or closure returning a future) of up to 12 arguments
/// that all implement [`FromRequest<S>`], whose future is `Send`. `T` is the tuple of
/// argument types and only keeps the impls apart; you never name it. What the function
/// returns is its `Output`, which a tool, prompt or resource converts with
/// [`IntoToolResult`](super::IntoToolResult), [`IntoPromptResult`](super::IntoPromptResult)
/// or [`IntoResourceContents`](super::IntoResourceContents).
///
/// The trait is sealed: the crate implements it, for functions, and runs it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler",
    label = "not a handler",
    note = "a handler is an `async fn` (or a closure returning a future) whose arguments are all extractors (`Args<T>`, `Uri<T>`, `Context`, `State<S>`, ...) and whose future is `Send`",
    note = "a future is not `Send` when it holds a `std::sync::MutexGuard`, an `Rc` or a `RefCell` borrow across an `.await`: drop it before the `.await`, or use `tokio::sync::Mutex`",
    note = "`Args<T>` needs `T: serde::Deserialize + JsonSchema` of schemars 1, re-exported as `oxmcp::schemars` (a schemars 0.8 `JsonSchema` does not count); `State<X>` needs a `Router<X>`",
    note = "to see which argument or return type is at fault, put `#[oxmcp::server::debug_handler]` on the function (feature `macros`)"
)]
pub trait Handler<T, S>: HandlerFn<T, S> {}

/// The schema generator every handler schema comes from: JSON Schema 2020-12.
pub(crate) fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

macro_rules! impl_handler {
    ($($ty:ident $var:ident),*) => {
        impl<F, Fut, R, S, $($ty,)*> Handler<($($ty,)*), S> for F
        where
            F: FnOnce($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send,
            R: Send + 'static,
            S: Send + Sync + 'static,
            $($ty: FromRequest<S> + 'static,)*
        {
        }

        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<F, Fut, R, S, $($ty,)*> HandlerFn<($($ty,)*), S> for F
        where
            F: FnOnce($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send,
            R: Send + 'static,
            S: Send + Sync + 'static,
            $($ty: FromRequest<S> + 'static,)*
        {
            type Output = R;

            fn call_unboxed<O, C>(
                self,
                request: Request,
                state: S,
                then: C,
            ) -> impl Future<Output = Result<O, ToolError>> + Send + 'static
            where
                O: 'static,
                C: FnOnce(R) -> Result<O, ToolError> + Send + 'static,
            {
                #[cfg(feature = "tracing-layer")]
                let context = request.context.clone();
                let future = async move {
                    $(
                        let $var = $ty::from_request(&request, &state).await?;
                    )*
                    Ok(self($($var),*).await)
                };
                #[cfg(feature = "tracing-layer")]
                let future = super::log_layer::scope(context, future);
                AssertUnwindSafe(future).catch_unwind().map(move |outcome| match outcome {
                    Ok(result) => result.and_then(then),
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        tracing::error!(panic = %what, "handler panicked");
                        Err(ToolError::internal("the handler failed unexpectedly"))
                    }
                })
            }

            fn input_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
                let mut input: Option<Schema> = None;
                $(
                    if let Some(schema) = $ty::input_schema(generator) {
                        assert!(
                            input.is_none(),
                            "a handler may have only one argument that decodes its arguments (such as `Args<T>`), but `{}` is a second one",
                            std::any::type_name::<$ty>(),
                        );
                        input = Some(schema);
                    }
                )*
                input
            }
        }
    };
}

impl_handler!();
impl_handler!(T1 a1);
impl_handler!(T1 a1, T2 a2);
impl_handler!(T1 a1, T2 a2, T3 a3);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11);
impl_handler!(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11, T12 a12);

/// A handler with its types erased and its state supplied or still awaited.
pub trait ErasedHandler<S, O>: Send + Sync {
    /// Runs the handler with `state`.
    fn call(&self, request: Request, state: &S) -> BoxFuture<Result<O, ToolError>>;

    /// The layers around this one item's calls, if it has any.
    fn layers(&self) -> Option<&super::middleware::Endpoint> {
        None
    }

    /// The scopes a caller's token must grant to use this item, if it names any
    /// (feature `auth`).
    fn scopes(&self) -> Option<&[String]> {
        None
    }

    /// Whether this tool may run as a task (tools only).
    fn task_support(&self) -> Option<super::tasks::TaskSupport> {
        None
    }

    /// Argument values a transform fixed (and hid from the schema): put over the client's
    /// arguments before the call.
    fn preset(&self) -> Option<&oxmcp_protocol::JsonObject> {
        None
    }

    /// [`ErasedHandler::call`], then `finish` on the outcome, in one boxed future.
    fn call_finish(&self, request: Request, state: &S, finish: Finish<O>) -> BoxFuture<Reply>
    where
        O: Send + 'static,
    {
        let future = self.call(request, state);
        Box::pin(finish.around(future))
    }
}

/// The reply to a request: its result as JSON text, or a JSON-RPC error.
pub type Reply = Result<String, oxmcp_protocol::ErrorObject>;

/// How a handler's outcome becomes its request's reply, at the end of the handler's own
/// future. A modern request's handler is driven (it may leave questions open: the reply is
/// then an `InputRequiredResult`).
pub struct Finish<O> {
    pub(crate) run: fn(Result<O, ToolError>, &FinishCx) -> Reply,
    /// The reply to a handler that returned a `String`, made from it directly (tools: no
    /// `CallToolResult` built only to be written out); `None` where `run` is the only way.
    pub(crate) text: Option<fn(String, &FinishCx) -> Reply>,
    pub(crate) cx: FinishCx,
}

/// What [`Finish`] needs besides the outcome.
pub struct FinishCx {
    pub(crate) version: oxmcp_protocol::ProtocolVersion,
    /// The context of a modern request, whose handler may ask questions (and whose reply
    /// takes the server's `_meta`, from the shared state the context holds).
    pub(crate) drive: Option<super::Context>,
}

impl FinishCx {
    /// The server's shared state, for a modern reply.
    pub(crate) fn shared(&self) -> Option<&super::shared::Shared> {
        self.drive.as_ref().and_then(|c| c.shared()).map(|s| &**s)
    }
}

impl<O> Finish<O> {
    /// Runs `handler` (driven, for a modern request) and finishes its outcome.
    pub(crate) async fn around<F>(self, handler: F) -> Reply
    where
        F: Future<Output = Result<O, ToolError>>,
    {
        self.around_with(handler, |outcome, finish| (finish.run)(outcome, &finish.cx))
            .await
    }

    /// [`Finish::around`] for a handler whose outcome is not an `O`: `finish` makes the
    /// reply of it (and may hand an `O` to this finish's own `run`).
    pub(crate) async fn around_with<P, F>(
        self,
        handler: F,
        finish: impl FnOnce(Result<P, ToolError>, &Self) -> Reply,
    ) -> Reply
    where
        F: Future<Output = Result<P, ToolError>>,
    {
        match &self.cx.drive {
            None => finish(handler.await, &self),
            Some(context) => match super::reply::drive(context, handler).await {
                super::ask::Driven::Done(outcome) => finish(outcome, &self),
                super::ask::Driven::InputRequired(result) => match self.cx.shared() {
                    Some(shared) => super::reply::encode_with_meta(&result, shared),
                    None => super::reply::encode(&result),
                },
            },
        }
    }
}

/// A concrete handler behind [`ErasedHandler`], with the conversion of its output.
pub(crate) struct Typed<H, T, C> {
    pub(crate) handler: H,
    pub(crate) convert: C,
    pub(crate) _marker: std::marker::PhantomData<fn() -> T>,
}

impl<H, T, C> Typed<H, T, C> {
    pub(crate) fn new(handler: H, convert: C) -> Self {
        Typed {
            handler,
            convert,
            _marker: std::marker::PhantomData,
        }
    }
}

impl<H, T, S, C, O> ErasedHandler<S, O> for Typed<H, T, C>
where
    H: HandlerFn<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
    C: Fn(H::Output) -> Result<O, ToolError> + Copy + Send + Sync + 'static,
    O: 'static,
{
    fn call(&self, request: Request, state: &S) -> BoxFuture<Result<O, ToolError>> {
        self.handler
            .clone()
            .call_then(request, state.clone(), self.convert)
    }

    fn call_finish(&self, request: Request, state: &S, finish: Finish<O>) -> BoxFuture<Reply>
    where
        O: Send + 'static,
    {
        if let (Some(text), true) = (finish.text, is_string::<H::Output>()) {
            let handler = self
                .handler
                .clone()
                .call_unboxed(request, state.clone(), |output| Ok(into_string(output)));
            return Box::pin(
                finish.around_with(handler, move |outcome, finish| match outcome {
                    Ok(output) => text(output, &finish.cx),
                    Err(error) => (finish.run)(Err(error), &finish.cx),
                }),
            );
        }
        let handler = self
            .handler
            .clone()
            .call_unboxed(request, state.clone(), self.convert);
        Box::pin(finish.around(handler))
    }
}

/// Whether `T` is `String` (decided when the handler's code is generated: no cost per call).
fn is_string<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<String>()
}

/// `output` as the `String` it is (only called where [`is_string`] said so).
fn into_string<T: 'static>(output: T) -> String {
    let mut slot = Some(output);
    (&mut slot as &mut dyn std::any::Any)
        .downcast_mut::<Option<String>>()
        .and_then(Option::take)
        .unwrap_or_default()
}

/// A state value handed to every handler (`with_state`).
pub(crate) struct StateValue<S>(pub(crate) S);

/// A handler whose state was supplied by `with_state`.
pub(crate) struct WithState<S, O> {
    pub(crate) inner: std::sync::Arc<dyn ErasedHandler<S, O>>,
    pub(crate) state: S,
}

impl<S: Send + Sync, S2, O> ErasedHandler<S2, O> for WithState<S, O> {
    fn call(&self, request: Request, _state: &S2) -> BoxFuture<Result<O, ToolError>> {
        self.inner.call(request, &self.state)
    }

    fn layers(&self) -> Option<&super::middleware::Endpoint> {
        self.inner.layers()
    }

    fn scopes(&self) -> Option<&[String]> {
        self.inner.scopes()
    }

    fn preset(&self) -> Option<&oxmcp_protocol::JsonObject> {
        self.inner.preset()
    }

    fn call_finish(&self, request: Request, _state: &S2, finish: Finish<O>) -> BoxFuture<Reply>
    where
        O: Send + 'static,
    {
        self.inner.call_finish(request, &self.state, finish)
    }
    fn task_support(&self) -> Option<crate::server::tasks::TaskSupport> {
        self.inner.task_support()
    }
}

/// A handler with layers of its own around its calls (which the connection applies), or
/// scopes a caller needs (which the connection checks).
pub(crate) struct Layered<S, O> {
    pub(crate) inner: std::sync::Arc<dyn ErasedHandler<S, O>>,
    pub(crate) layers: Option<super::middleware::Endpoint>,
    pub(crate) scopes: Option<std::sync::Arc<[String]>>,
}

impl<S, O> Layered<S, O> {
    /// `inner`, with `layers` and `scopes` if there are any.
    pub(crate) fn around(
        inner: std::sync::Arc<dyn ErasedHandler<S, O>>,
        layers: Option<super::middleware::Endpoint>,
        scopes: Option<std::sync::Arc<[String]>>,
    ) -> std::sync::Arc<dyn ErasedHandler<S, O>>
    where
        S: 'static,
        O: 'static,
    {
        if layers.is_none() && scopes.is_none() {
            return inner;
        }
        std::sync::Arc::new(Layered {
            inner,
            layers,
            scopes,
        })
    }
}

impl<S, O> ErasedHandler<S, O> for Layered<S, O> {
    fn call(&self, request: Request, state: &S) -> BoxFuture<Result<O, ToolError>> {
        self.inner.call(request, state)
    }

    fn call_finish(&self, request: Request, state: &S, finish: Finish<O>) -> BoxFuture<Reply>
    where
        O: Send + 'static,
    {
        self.inner.call_finish(request, state, finish)
    }

    fn layers(&self) -> Option<&super::middleware::Endpoint> {
        self.layers.as_ref()
    }

    fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    fn preset(&self) -> Option<&oxmcp_protocol::JsonObject> {
        self.inner.preset()
    }
    fn task_support(&self) -> Option<crate::server::tasks::TaskSupport> {
        self.inner.task_support()
    }
}
