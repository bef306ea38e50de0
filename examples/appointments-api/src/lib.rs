//! An example API protected by `tessera-verify`: `GET /appointments` answers
//! only to access tokens issued for this API (`aud` = its identifier) that carry
//! the `read:appointments` scope.
//!
//! - no token, a bad one, an ID token or a token for another API:
//!   `401` with `WWW-Authenticate: Bearer error="invalid_token"` (from `VerifyLayer`);
//! - a valid token without the scope: `403` with
//!   `WWW-Authenticate: Bearer error="insufficient_scope", scope="read:appointments"`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tessera_verify::AccessTokenVerifier;
use tessera_verify::axum_support::{Authenticated, Rejection, VerifyLayer, require_scope};

/// The scope `GET /appointments` needs.
pub const READ_APPOINTMENTS: &str = "read:appointments";

/// The API's routes, every one behind the verifier.
pub fn app(verifier: AccessTokenVerifier) -> Router {
    Router::new()
        .route("/appointments", get(appointments))
        .layer(VerifyLayer::new(verifier))
}

async fn appointments(Authenticated(claims): Authenticated) -> Result<Json<Value>, Rejection> {
    require_scope(&claims, READ_APPOINTMENTS)?;
    Ok(Json(json!([
        {"id": "apt_1", "with": "Dr. Ada Lovelace", "at": "2030-01-07T09:30:00Z", "for": claims.sub},
        {"id": "apt_2", "with": "Dr. Alan Turing", "at": "2030-01-09T14:00:00Z", "for": claims.sub},
    ])))
}
