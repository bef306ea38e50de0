//! Tessera's HTTP server: the axum router, the HTTP base every endpoint shares
//! (JSON errors, request ids, security headers, limits, tracing, metrics) and the
//! background tasks.

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
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

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

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
