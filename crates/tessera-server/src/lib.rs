//! Tessera's HTTP server: the axum router, the HTTP base every endpoint shares
//! (JSON errors, request ids, security headers, limits, tracing, metrics) and the
//! background tasks.

pub mod cors;
pub mod error;
pub mod http;
pub mod interactive;
pub mod management;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::extract::connect_info::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use tokio::sync::{Semaphore, TryAcquireError, watch};
use tower::ServiceExt;

pub use state::{AppState, ServerConfig};

/// The whole application, nested under the issuer's path.
pub fn router(state: AppState) -> Router {
    let prefix = state.config.issuer.path().trim_end_matches('/').to_owned();
    let routes = routes::routes(state.clone());
    let app = if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    };
    http::layers(app.fallback(error::not_found), state)
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish and closes idle connections.
///
/// The one serving path of the binary and of the test harness: HTTP/1.1 through
/// hyper-util's connection builder with a timer, so that
/// - a client must send a request's headers within `header_read_timeout` of the
///   connection opening or of the previous response (hyper's header-read timer
///   also runs while a kept-alive connection is idle), or the connection is
///   closed: a slow-headers client (slowloris) cannot hold it;
/// - at most `max_connections` connections are served at once; further ones
///   wait in the kernel's listen backlog (they are not accepted until a served
///   connection closes), so a flood cannot exhaust file descriptors or memory.
///
/// Each request carries `ConnectInfo<SocketAddr>` (the TCP peer), which the
/// per-address limits key on.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read_timeout = state.config.header_read_timeout;
    let max_connections = state.config.max_connections.max(1);
    let app = router(state);
    let permits = Arc::new(Semaphore::new(max_connections));
    // HTTP/1 only, as before (no TLS, so no ALPN to offer HTTP/2): the builder
    // then skips its protocol sniffing, which has no timeout of its own.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let (closing_tx, closing_rx) = watch::channel(false);
    // Bumped when the cap is reached: connections between requests close, so
    // clients idling on kept-alive connections cannot hold every place.
    let (reclaim_tx, _) = watch::channel(0u64);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        // A place for it; at the cap, one newcomer waits here (the others in
        // the listen backlog) and the connections between requests are asked
        // to close.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => {
                reclaim_tx.send_modify(|n| *n = n.wrapping_add(1));
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let builder = builder.clone();
        let mut closing = closing_rx.clone();
        // Sees only the reclaims that come after this connection was accepted.
        let mut reclaim = reclaim_tx.subscribe();
        tokio::spawn(async move {
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut conn = std::pin::pin!(conn);
            let mut draining = false;
            loop {
                tokio::select! {
                    done = conn.as_mut() => {
                        if let Err(e) = done {
                            tracing::debug!(error = %e, "connection closed with an error");
                        }
                        break;
                    }
                    _ = closing.changed(), if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    // At the cap: a connection between requests (or that has
                    // sent nothing yet) closes now, a busy one after its
                    // response (hyper's graceful shutdown).
                    _ = reclaim.changed(), if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection holds a permit until it ends: having them all back means
    // every in-flight request has been answered.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// Errors of one connection (reset before it was accepted, ...) are no concern
/// of the listener; others (e.g. out of file descriptors) are logged and the
/// accept loop pauses a second rather than spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
