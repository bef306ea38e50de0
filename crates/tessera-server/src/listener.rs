//! The accept loop and each connection's life: plain HTTP/1.1, or TLS with
//! HTTP/2 or HTTP/1.1 as ALPN decided, under the same limits.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::extract::connect_info::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::{AppState, router};

/// Requests one HTTP/2 connection may have in flight at once (and streams it
/// may reset before the server has accepted them).
pub const HTTP2_MAX_STREAMS: u32 = 16;

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish and closes idle connections.
///
/// The one serving path of the binary and of the test harness: hyper-util's
/// connection builder with a timer, so that
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
    run(listener, state, None, shutdown).await
}

/// [`serve`] over TLS (see [`crate::tls::Certificates::acceptor`]): the same
/// limits, and
/// - the handshake must finish within `header_read_timeout` (it holds a
///   connection place meanwhile, and is abandoned at the cap like an idle
///   connection);
/// - HTTP/2 when ALPN chose `h2`, HTTP/1.1 otherwise. An HTTP/2 connection
///   with no request in flight for `header_read_timeout` is asked to close (the
///   header-read timer is HTTP/1's), and dropped if it is still open, with
///   nothing in flight, `header_read_timeout` after that.
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    tls: TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run(listener, state, Some(tls), shutdown).await
}

/// What every connection task shares.
struct Shared {
    app: Router,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    /// Also the TLS handshake's limit and HTTP/2's idle limit.
    header_read_timeout: Duration,
    closing: watch::Receiver<bool>,
}

async fn run(
    listener: TcpListener,
    state: AppState,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read_timeout = state.config.header_read_timeout;
    let max_connections = state.config.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max_connections));
    // Each builder serves one protocol: no protocol sniffing (which has no
    // timeout of its own); over TLS, ALPN picks the builder.
    let mut http1 = auto::Builder::new(TokioExecutor::new()).http1_only();
    http1
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    // HTTP/2 multiplexes: without a bound, one connection could carry
    // hyper's default of 200 requests at once, and the connection cap would
    // no longer bound the requests in flight. A browser needs a handful.
    let mut http2 = auto::Builder::new(TokioExecutor::new()).http2_only();
    http2
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(HTTP2_MAX_STREAMS)
        .max_pending_accept_reset_streams(HTTP2_MAX_STREAMS as usize);
    let (closing_tx, closing_rx) = watch::channel(false);
    // This node's job worker (user imports and exports), stopped with the server.
    if state.config.jobs.run_worker {
        crate::jobs::worker::spawn(state.clone(), closing_rx.clone());
    }
    let shared = Arc::new(Shared {
        app: router(state),
        http1,
        http2,
        tls,
        header_read_timeout,
        closing: closing_rx,
    });
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
        // Sees only the reclaims that come after this connection was accepted.
        let reclaim = reclaim_tx.subscribe();
        tokio::spawn(connection(shared.clone(), stream, peer, reclaim, permit));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection holds a permit until it ends: having them all back means
    // every in-flight request has been answered.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// One connection, holding its place (`_permit`) until it ends.
async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    mut reclaim: watch::Receiver<u64>,
    _permit: OwnedSemaphorePermit,
) {
    let Some(acceptor) = shared.tls.clone() else {
        drive(&shared, TokioIo::new(stream), peer, false, reclaim).await;
        return;
    };
    let mut closing = shared.closing.clone();
    let handshake = tokio::time::timeout(shared.header_read_timeout, acceptor.accept(stream));
    // A handshake has sent no request yet: at the cap or at shutdown it is
    // abandoned, like a connection between requests.
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake not finished in time");
                return;
            }
        },
        _ = closing.changed() => return,
        _ = reclaim.changed() => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    drive(&shared, TokioIo::new(stream), peer, h2, reclaim).await;
}

/// Serves HTTP on `io` until the client or the server ends it.
async fn drive<I>(
    shared: &Shared,
    io: TokioIo<I>,
    peer: SocketAddr,
    h2: bool,
    mut reclaim: watch::Receiver<u64>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (in_flight, mut idle) = watch::channel(0usize);
    let service = PerConnection {
        app: shared.app.clone(),
        peer,
        in_flight,
    };
    let builder = if h2 { &shared.http2 } else { &shared.http1 };
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut closing = shared.closing.clone();
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
            // At the cap: a connection between requests (or that has sent
            // nothing yet) closes now, a busy one after its response (hyper's
            // graceful shutdown).
            _ = reclaim.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            // HTTP/2 has no header-read timer: idle for the limit, it is asked
            // to close; still open and idle the limit after that (a client that
            // never sent its preface, say), it is dropped.
            () = idle_for(&mut idle, shared.header_read_timeout), if h2 => {
                if draining {
                    break;
                }
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves once no request has been in flight for `limit`.
async fn idle_for(in_flight: &mut watch::Receiver<usize>, limit: Duration) {
    loop {
        if in_flight.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await;
        }
        tokio::select! {
            () = tokio::time::sleep(limit) => return,
            changed = in_flight.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }
}

/// The application as one connection's hyper service: adds the peer address
/// to each request and counts the requests in flight.
#[derive(Clone)]
struct PerConnection {
    app: Router,
    peer: SocketAddr,
    in_flight: watch::Sender<usize>,
}

/// Counts one request in flight while it lives.
struct InFlight(watch::Sender<usize>);

impl InFlight {
    fn enter(counter: &watch::Sender<usize>) -> Self {
        counter.send_modify(|n| *n += 1);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl hyper::service::Service<Request<Incoming>> for PerConnection {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let counted = InFlight::enter(&self.in_flight);
        let answer = self.app.clone().oneshot(req);
        Box::pin(async move {
            let res = answer.await;
            drop(counted);
            res
        })
    }
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
