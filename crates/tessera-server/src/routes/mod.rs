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
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};

use crate::cors::{self, Origins, PerClient};
use crate::interactive::limits::{self, RateLimiter};
use crate::interactive::userinfo;
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
    // CORS (see `cors`): the token, revocation and userinfo endpoints are open
    // to their clients' origins, answering preflights outside the rate limits
    // from one snapshot of every client's origins per node; the JWKS and
    // discovery to every origin; nothing else.
    let origins = Arc::new(Origins::new(
        state.store.clone(),
        state.config.cors_origins_refresh,
    ));
    let per_client = |methods: &'static [Method], authorization: bool| {
        from_fn_with_state(
            PerClient {
                origins: origins.clone(),
                store: state.store.clone(),
                methods,
                authorization,
            },
            cors::per_client,
        )
    };
    // Every Management API write is recorded in the tenant's log.
    let management = management.layer(from_fn_with_state(
        state.clone(),
        crate::audit::management_operations,
    ));
    Router::new()
        .merge(management)
        .merge(
            crate::interactive::routes(&state.config)
                .layer(from_fn(crate::actions::capture_request)),
        )
        .merge(crate::authentication::routes(&state.config))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration).layer(from_fn(cors::public)),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server).layer(from_fn(cors::public)),
        )
        .route(
            "/.well-known/jwks.json",
            get(jwks::jwks).layer(from_fn(cors::public)),
        )
        .route(
            crate::jobs::download::ROUTE,
            get(crate::jobs::download::download),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/oauth/token",
            post(token::token)
                .layer(from_fn_with_state(token_limit, limits::limit_json))
                .layer(per_client(&[Method::POST], false)),
        )
        .route(
            "/oauth/revoke",
            post(revoke::revoke)
                .layer(from_fn_with_state(revoke_limit, limits::limit_json))
                .layer(per_client(&[Method::POST], false)),
        )
        .route(
            "/userinfo",
            get(userinfo::userinfo_get)
                .post(userinfo::userinfo_post)
                .layer(per_client(&[Method::GET, Method::POST], true)),
        )
        .route(
            "/oauth/introspect",
            post(introspect::introspect)
                .layer(from_fn_with_state(introspect_limit, limits::limit_json)),
        )
}
