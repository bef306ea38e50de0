//! Endpoints, one module each.

mod discovery;
mod health;
mod introspect;
mod jwks;
mod metrics;
mod revoke;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::interactive::limits::{self, RateLimiter};
use crate::state::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    let (management, _doc) = crate::management::router(&state.config.issuer);
    // Per-address limit on the token endpoint (its own counter: the hosted
    // pages have theirs).
    let token_limit = Arc::new(RateLimiter::new(state.config.rate_limit_per_minute));
    // Revocation and introspection authenticate the client too (a secret check
    // per request): each endpoint its own counter, as the token endpoint.
    let revoke_limit = Arc::new(RateLimiter::new(state.config.rate_limit_per_minute));
    let introspect_limit = Arc::new(RateLimiter::new(state.config.rate_limit_per_minute));
    Router::new()
        .merge(management)
        .merge(crate::interactive::routes(&state.config))
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
        .route(
            "/oauth/token",
            post(token::token).layer(from_fn_with_state(token_limit, limits::limit_json)),
        )
        .route(
            "/oauth/revoke",
            post(revoke::revoke).layer(from_fn_with_state(revoke_limit, limits::limit_json)),
        )
        .route(
            "/oauth/introspect",
            post(introspect::introspect)
                .layer(from_fn_with_state(introspect_limit, limits::limit_json)),
        )
}
