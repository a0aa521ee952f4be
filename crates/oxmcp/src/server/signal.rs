//! The signals that ask a server to stop.

/// Completes when the process is asked to terminate: `SIGTERM` or `SIGINT` (Ctrl-C) on
/// unix, Ctrl-C elsewhere. A signal whose handler cannot be installed is logged and never
/// fires (the other still does).
pub(crate) async fn terminate() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = async {
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = term => tracing::info!("SIGTERM received: shutting down"),
            () = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
        tracing::info!("Ctrl-C received: shutting down");
    }
}
