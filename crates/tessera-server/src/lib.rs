//! Tessera's HTTP server: the axum router, the HTTP base every endpoint shares
//! (JSON errors, request ids, security headers, limits, tracing, metrics) and the
//! background tasks.

pub mod actions;
pub mod audit;
pub mod authentication;
pub mod cors;
pub mod email;
pub mod error;
pub mod http;
pub mod interactive;
pub mod jobs;
mod listener;
pub mod log_writer;
pub mod management;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod tasks;
pub mod tenant_settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tickets;
pub mod tls;
pub mod upstream;

use axum::Router;

pub use listener::{serve, serve_tls};
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
