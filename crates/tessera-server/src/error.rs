//! The one place where errors become HTTP responses: RFC 6749 §5.2 JSON bodies
//! (`error`, `error_description`). Internal details never reach the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::error::{ErrorCode, OAuthError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// Logged with its detail; the client sees only `server_error`.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database is unreachable: 503, retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

pub fn json_error(code: ErrorCode, description: &str) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        Json(Body {
            error: code.as_str(),
            error_description: description,
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::OAuth(e) => json_error(e.code, &e.description),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                json_error(
                    ErrorCode::ServerError,
                    "the server could not complete the request",
                )
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                json_error(
                    ErrorCode::TemporarilyUnavailable,
                    "the service is temporarily unavailable; try again",
                )
            }
        }
    }
}

pub async fn not_found() -> Response {
    json_error(ErrorCode::NotFound, "no such endpoint")
}
