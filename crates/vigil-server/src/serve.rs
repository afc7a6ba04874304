//! Running the server: bind, optional TLS (rustls), the scan workers, and a graceful
//! shutdown on SIGTERM or SIGINT (stop accepting, let requests in flight finish, finish or
//! release claimed scans).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::worker::WorkerOptions;

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls: Option<Tls>,
    pub workers: WorkerOptions,
    /// How long requests in flight may take to finish after shutdown begins.
    pub drain: Duration,
}

/// What can stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS certificate {cert} or key {key} does not load: {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until SIGTERM or SIGINT. `on_listen` is told the bound address (port 0 picks a
/// free one) and whether it is TLS, once the socket accepts connections.
pub async fn serve(
    mut state: AppState,
    opts: ServeOptions,
    on_listen: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let listener = std::net::TcpListener::bind(opts.listen).map_err(|source| ServeError::Bind {
        addr: opts.listen,
        source,
    })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;

    state.secure_cookies = opts.tls.is_some();
    let handle = axum_server::Handle::new();
    let app = crate::router(state.clone()).into_make_service();

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = std::sync::Arc::new(stop_tx);
    let workers = tokio::spawn(crate::worker::run(
        state.clone(),
        opts.workers.clone(),
        stop_rx.clone(),
    ));
    // Installs of integrations whose replica stopped mid-way are taken over here.
    let supervisor = tokio::spawn(crate::integrations::supervise(
        state.clone(),
        state.replica.to_string(),
        stop_rx.clone(),
    ));
    let notifier = tokio::spawn(deliver(state.clone(), stop_rx));

    let signals = {
        let handle = handle.clone();
        let state = state.clone();
        let drain = opts.drain;
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: no new requests or scans");
            state.ready.store(false, Ordering::Relaxed);
            handle.graceful_shutdown(Some(drain));
            let _ = stop_tx.send(true);
        })
    };

    let served = match &opts.tls {
        Some(tls) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: tls.cert.display().to_string(),
                    key: tls.key.display().to_string(),
                    source,
                })?;
            on_listen(addr, true);
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            on_listen(addr, false);
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    signals.abort();
    // The listener stopped (a signal, or an error): the workers stop too.
    state.ready.store(false, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    if let Err(e) = workers.await {
        tracing::error!(error = %e, "scan workers stopped abnormally");
    }
    supervisor.abort();
    // A try in flight is cut short; its lease runs out and it is sent again (at least once).
    notifier.abort();
    served?;
    Ok(())
}

/// How often due notifications are looked for.
const DELIVER_EVERY: Duration = Duration::from_secs(1);

/// Delivers due notifications until told to stop (SPEC 7.7). Events wait in the outbox
/// while nothing is configured or the store does not answer.
async fn deliver(state: AppState, mut stop: watch::Receiver<bool>) {
    let agent = vigil_service::notify::agent(&state.notify);
    loop {
        if let Err(e) = vigil_service::deliver_due(&*state.db, &state.notify, &agent).await {
            tracing::warn!(error = %e, "cannot deliver notifications now");
        }
        tokio::select! {
            _ = tokio::time::sleep(DELIVER_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
