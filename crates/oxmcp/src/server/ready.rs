//! What serving needs, said at compile time: a router with no state left to supply, and
//! the feature of the transport.
//!
//! The serving methods are bounded by traits that only the right routers implement, and
//! those traits say what is missing when they are not (`.with_state(...)`, a feature of
//! this crate), where a plain "no method found" would leave a new user guessing.

use super::Router;

/// A router that can serve: one with no state left to supply, a `Router<()>`.
///
/// A `Router<S>` whose handlers take [`State<S>`](super::State) becomes a `Router<()>`
/// once it is given that state with [`with_state`](Router::with_state) (or a startup hook
/// with [`with_lifespan`](Router::with_lifespan)). Implemented for `Router<()>` only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve: its handlers need state it was never given",
    label = "this router still needs its state",
    note = "call `.with_state(value)` (or `.with_lifespan(startup)`) before serving: it turns a `Router<S>` into a `Router<()>`, the router that serves",
    note = "`S` is the type a handler extracts with `State<S>`"
)]
pub trait ReadyToServe: sealed::Sealed {}

impl ReadyToServe for Router<()> {}

/// The `Router<()>` a router that can serve is.
pub(crate) fn into_ready<R: ReadyToServe>(router: R) -> Router<()> {
    router.into_ready()
}

mod sealed {
    use super::Router;

    /// Keeps [`ReadyToServe`](super::ReadyToServe) to `Router<()>`, and turns the router
    /// that implements it into one.
    pub trait Sealed: Sized {
        /// This router, as the `Router<()>` it is.
        fn into_ready(self) -> Router<()>;
    }

    impl Sealed for Router<()> {
        fn into_ready(self) -> Router<()> {
            self
        }
    }
}

/// Transports whose feature is off: never implemented, named in the bound of a stand-in
/// method, so calling it says which feature to enable.
#[cfg(not(all(feature = "http-server", feature = "stdio")))]
mod missing {
    use std::convert::Infallible;

    #[cfg(not(feature = "http-server"))]
    #[diagnostic::on_unimplemented(
        message = "serving over HTTP needs the `http-server` feature of oxmcp",
        label = "needs the `http-server` feature",
        note = "enable it in Cargo.toml: `oxmcp = {{ version = \"0.1\", features = [\"http-server\"] }}`",
        note = "without it, `serve_stdio` serves on stdin/stdout and `serve_io` on any pair of byte streams"
    )]
    pub trait HttpServerFeature {
        fn missing(self) -> Infallible;
    }

    #[cfg(not(feature = "stdio"))]
    #[diagnostic::on_unimplemented(
        message = "serving on stdin/stdout needs the `stdio` feature of oxmcp",
        label = "needs the `stdio` feature",
        note = "enable it in Cargo.toml: `oxmcp = {{ version = \"0.1\", features = [\"stdio\"] }}` (a default feature)",
        note = "without it, `serve_io` serves on any pair of byte streams"
    )]
    pub trait StdioFeature {
        fn missing(self) -> Infallible;
    }
}

/// Stand-ins for the HTTP serving methods, so that calling one without the feature says
/// to enable it (rather than suggesting `serve_io`). Each takes as many arguments as the
/// real one, of any type. (Written out rather than made by a macro: an error in a macro's
/// expansion drags the macro into the message.)
#[cfg(not(feature = "http-server"))]
impl<S> Router<S> {
    /// Serves over Streamable HTTP: needs the `http-server` feature. Without it, this
    /// stand-in cannot be called; calling it is a compile error that says so.
    pub async fn serve_http<A>(self, _addr: A) -> crate::Result<()>
    where
        Self: missing::HttpServerFeature,
    {
        match missing::HttpServerFeature::missing(self) {}
    }

    /// Serves over Streamable HTTP with settings: needs the `http-server` feature. Without
    /// it, this stand-in cannot be called; calling it is a compile error that says so.
    pub fn http<A>(self, _addr: A) -> std::convert::Infallible
    where
        Self: missing::HttpServerFeature,
    {
        missing::HttpServerFeature::missing(self)
    }

    /// Serves over Streamable HTTP on a bound listener: needs the `http-server` feature.
    /// Without it, this stand-in cannot be called; calling it is a compile error that says
    /// so.
    pub fn http_on<L>(self, _listener: L) -> std::convert::Infallible
    where
        Self: missing::HttpServerFeature,
    {
        missing::HttpServerFeature::missing(self)
    }

    /// The Streamable HTTP endpoint as a `tower::Service`: needs the `http-server` feature.
    /// Without it, this stand-in cannot be called; calling it is a compile error that says
    /// so.
    pub fn into_http_service<C>(self, _config: C) -> std::convert::Infallible
    where
        Self: missing::HttpServerFeature,
    {
        missing::HttpServerFeature::missing(self)
    }
}

/// A stand-in for `serve_stdio`, so that calling it without the feature says to enable it.
#[cfg(not(feature = "stdio"))]
impl<S> Router<S> {
    /// Serves on stdin/stdout: needs the `stdio` feature. Without it, this stand-in cannot
    /// be called; calling it is a compile error that says so.
    pub async fn serve_stdio(self) -> crate::Result<()>
    where
        Self: missing::StdioFeature,
    {
        match missing::StdioFeature::missing(self) {}
    }
}

/// A router whose handlers still need their state cannot serve over HTTP, and the error is
/// the one that says to call `.with_state(...)` (E0277, `ReadyToServe`), not "no method
/// found" (E0599); the unit tests below check the bound itself. (The compile-fail tests of
/// oxmcp-macros build without `http-server`.)
///
/// ```compile_fail,E0277
/// use oxmcp::server::{Router, State};
/// #[derive(Clone)]
/// struct Db;
/// async fn query(State(_db): State<Db>) -> &'static str { "rows" }
/// # async fn run() {
/// let router: Router<Db> = Router::new().tool("query", query);
/// let _ = router.serve_http("127.0.0.1:0").await;
/// # }
/// ```
///
/// ```compile_fail,E0277
/// use oxmcp::server::{Router, State};
/// #[derive(Clone)]
/// struct Db;
/// async fn query(State(_db): State<Db>) -> &'static str { "rows" }
/// let router: Router<Db> = Router::new().tool("query", query);
/// let _ = router.http("127.0.0.1:0");
/// ```
///
/// ```compile_fail,E0277
/// use oxmcp::server::{Router, State};
/// #[derive(Clone)]
/// struct Db;
/// async fn query(State(_db): State<Db>) -> &'static str { "rows" }
/// # async fn run() {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let router: Router<Db> = Router::new().tool("query", query);
/// let _ = router.http_on(listener);
/// # }
/// ```
///
/// ```compile_fail,E0277
/// use oxmcp::server::http::HttpConfig;
/// use oxmcp::server::{Router, State};
/// #[derive(Clone)]
/// struct Db;
/// async fn query(State(_db): State<Db>) -> &'static str { "rows" }
/// let router: Router<Db> = Router::new().tool("query", query);
/// let _ = router.into_http_service(HttpConfig::new());
/// ```
///
/// Given its state, the same router serves:
///
/// ```no_run
/// use oxmcp::server::http::HttpConfig;
/// use oxmcp::server::{Router, State};
/// #[derive(Clone)]
/// struct Db;
/// async fn query(State(_db): State<Db>) -> &'static str { "rows" }
/// let _ = Router::new().tool("query", query).with_state(Db).into_http_service(HttpConfig::new());
/// ```
#[cfg(all(doctest, feature = "http-server"))]
struct HttpServingNeedsState;

#[cfg(all(test, feature = "http-server"))]
mod tests {
    use tokio::net::TcpListener;

    use super::{ReadyToServe, Router};
    use crate::server::http::{HttpConfig, HttpServe, McpService};

    // Each HTTP serving method on any `Router<S>` bounded by `ReadyToServe`: these compile
    // only if the methods are defined so (on `Router<()>` alone, they would not be found),
    // which is what makes a missing `.with_state(...)` say so.

    fn service<S>(router: Router<S>) -> McpService
    where
        Router<S>: ReadyToServe,
    {
        router.into_http_service(HttpConfig::new())
    }

    fn builder<S>(router: Router<S>) -> HttpServe
    where
        Router<S>: ReadyToServe,
    {
        router.http("127.0.0.1:0")
    }

    fn on_listener<S>(router: Router<S>, listener: TcpListener) -> HttpServe
    where
        Router<S>: ReadyToServe,
    {
        router.http_on(listener)
    }

    async fn serve<S>(router: Router<S>) -> crate::Result<()>
    where
        Router<S>: ReadyToServe,
    {
        router.serve_http("127.0.0.1:0").await
    }

    #[tokio::test]
    async fn http_serving_is_bounded_by_ready_to_serve() {
        let _ = service(Router::<u8>::new().with_state(7));
        let _ = builder(Router::<u8>::new().with_state(7));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _ = on_listener(Router::<u8>::new().with_state(7), listener);
        // Built, never run.
        drop(serve(Router::<u8>::new().with_state(7)));
    }
}
