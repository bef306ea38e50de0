//! Endpoints, one module each.

mod discovery;
mod health;
mod jwks;
mod metrics;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    let (management, _doc) = crate::management::router(&state.config.issuer);
    Router::new()
        .merge(management)
        .merge(crate::interactive::routes())
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/oauth/token", post(token::token))
}
