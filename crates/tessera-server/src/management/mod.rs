//! The Auth0-compatible Management API under `/api/v2/`. Routes and the OpenAPI
//! document come from the same annotated handlers, so the document cannot drift.

pub(crate) mod actions;
pub mod auth;
mod blacklists;
mod client_credentials;
mod client_grants;
mod clients;
mod connection_clients;
mod connections;
mod device_credentials;
pub mod error;
pub mod extract;
mod jobs;
mod logs;
mod paging;
mod resource_servers;
mod roles;
mod signing_keys;
mod tenant_settings;
mod tickets;
mod user_identities;
pub mod user_jobs;
mod user_roles;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera Management API", description = "Auth0-compatible Management API (v2).", version = "2"),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ManagementApi;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The Management API routes and their OpenAPI document.
pub fn router(issuer: &tessera_core::Issuer) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(ManagementApi::openapi());
    let api = resource_servers::routes(api);
    let api = users::routes(api);
    let api = user_identities::routes(api);
    let api = clients::routes(api);
    let api = client_credentials::routes(api);
    let api = client_grants::routes(api);
    let api = connections::routes(api);
    let api = connection_clients::routes(api);
    let api = signing_keys::routes(api);
    let api = blacklists::routes(api);
    let api = device_credentials::routes(api);
    let api = tickets::routes(api);
    let api = jobs::routes(api);
    let api = user_jobs::routes(api);
    let api = tenant_settings::routes(api);
    let api = actions::routes(api);
    let api = logs::routes(api);
    let api = roles::routes(api);
    let api = user_roles::routes(api);
    let (router, mut doc) = api.split_for_parts();
    // Paths start with /api/v2; the server is the issuer (which may have a path).
    doc.servers = Some(vec![utoipa::openapi::Server::new(
        issuer.as_str().trim_end_matches('/'),
    )]);
    let json: Arc<str> = Arc::from(doc.to_json().unwrap_or_else(|_| "{}".into()));
    let router = router.route(
        "/api/v2/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                let mut res = json.to_string().into_response();
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                res
            }
        }),
    );
    // Every other path under /api/v2 and every method a path does not offer
    // answer in Auth0's shape, not the OAuth one of the protocol endpoints.
    let router = router
        .route("/api/v2", any(unknown_route))
        .route("/api/v2/", any(unknown_route))
        .route("/api/v2/{*rest}", any(unknown_route))
        .layer(middleware::from_fn(auth0_errors));
    (router, doc)
}

/// A path under `/api/v2` that names no endpoint: Auth0's 404.
async fn unknown_route() -> error::MgmtError {
    unknown_route_error()
}

/// Answers the bodiless 404 and 405 of the routing (a method a path does not
/// offer) in Auth0's shape, keeping `Allow`.
async fn auth0_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let mut out = if status == StatusCode::NOT_FOUND {
        unknown_route_error()
    } else {
        error::MgmtError::new(status, "method_not_allowed", "Method Not Allowed")
    }
    .into_response();
    if let Some(allow) = res.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

fn unknown_route_error() -> error::MgmtError {
    error::MgmtError::not_found("not_found", "Not Found")
}
