//! The one place where OAuth errors become HTTP: RFC 6749 §5.2 JSON bodies
//! (`error`, `error_description`), RFC 6750 bearer challenges, and the
//! parameters of an error sent back to a redirect URI. Every OAuth error answer
//! carries its typed reason in the `Tessera-Error-Reason` header. Internal
//! details never reach the client: they are logged here, typed until then.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::error::{ErrorCode, OAuthError, Reason};
use tessera_core::grant::GrantError;
use tessera_core::store::StoreError;

/// The header naming an OAuth error's [`Reason`].
pub const REASON_HEADER: HeaderName = HeaderName::from_static("tessera-error-reason");

/// What a JSON endpoint can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's fault, with its reason.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A condition of HTTP itself, where no OAuth code applies.
    #[error("{0:?}")]
    Http(HttpError),
    /// Storage: unavailable is a 503 (retry later), anything else a 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Storage failed where the endpoint answers 503 whatever the cause (not
    /// the client's fault; retry later).
    #[error("unavailable: {0}")]
    Unavailable(#[source] StoreError),
    /// The password gate is full: 503 with `Retry-After` (seconds).
    #[error("busy")]
    Busy { retry_after: u64 },
    /// Any other server fault (a signing key, the RNG): logged, 500.
    #[error(transparent)]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// HTTP conditions, answered in the same JSON shape as OAuth errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    TooManyRequests,
}

impl HttpError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "the request body is too large",
            ),
            Self::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many requests from this address; retry later",
            ),
        }
    }
}

impl From<GrantError> for ApiError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::OAuth(e) => Self::OAuth(e),
            GrantError::Store(e) => Self::Store(e),
            GrantError::Busy { retry_after } => Self::Busy { retry_after },
            other => Self::Internal(Box::new(other)),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// A JSON error body with `status`, not cached.
pub fn json_body(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(Body {
            error,
            error_description: description,
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn status_of(e: &OAuthError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Marks a response with the reason of the OAuth error it answers.
pub fn with_reason(mut res: Response, reason: Reason) -> Response {
    res.headers_mut()
        .insert(REASON_HEADER, HeaderValue::from_static(reason.as_str()));
    res
}

/// An OAuth error as an RFC 6749 §5.2 JSON body.
pub fn oauth_json(e: &OAuthError) -> Response {
    let code = e.code();
    with_reason(
        json_body(status_of(e), code.as_str(), e.description()),
        e.reason(),
    )
}

/// An error at the token, revocation or introspection endpoint:
/// `invalid_client` carries `WWW-Authenticate: Basic` when the client tried
/// Basic (RFC 6749 §5.2).
pub fn token_endpoint_error(e: impl Into<ApiError>, tried_basic: bool) -> Response {
    let e = e.into();
    let basic_challenge =
        matches!(&e, ApiError::OAuth(o) if o.code() == ErrorCode::InvalidClient) && tried_basic;
    let mut res = e.into_response();
    if basic_challenge {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    res
}

/// Keeps a description safe inside a quoted header parameter (RFC 6750 §3:
/// printable ASCII without `"` and `\`).
fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

/// An error at a bearer-token endpoint (RFC 6750 §3): the JSON body and the
/// `WWW-Authenticate` challenge. When no token was sent the challenge names no
/// error (§3.1); `scope` is the scope a valid token lacked.
pub fn bearer_error(e: &OAuthError, realm: &str, scope: Option<&str>) -> Response {
    let mut value = format!("Bearer realm=\"{realm}\"");
    if e.reason() != Reason::BearerMissing {
        value.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            e.code(),
            header_safe(e.description())
        ));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{}\"", header_safe(scope)));
    }
    let mut res = oauth_json(e);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// The parameters of an error sent to a client's redirect URI (RFC 6749
/// §4.1.2.1): `error`, `error_description`, then `state` when the request had
/// one. The caller adds `iss` and marks the response [`with_reason`].
pub fn redirect_params<'a>(e: &'a OAuthError, state: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("error", e.code().as_str()),
        ("error_description", e.description()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::OAuth(e) => oauth_json(&e),
            ApiError::Http(h) => {
                let (status, error, description) = h.parts();
                json_body(status, error, description)
            }
            ApiError::Store(e @ StoreError::Unavailable(_)) | ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, "dependency unavailable");
                json_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TemporarilyUnavailable.as_str(),
                    "the service is temporarily unavailable; try again",
                )
            }
            ApiError::Busy { retry_after } => {
                let mut res = json_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TemporarilyUnavailable.as_str(),
                    "the service is busy; try again",
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            ApiError::Store(e) => internal(&e),
            ApiError::Internal(e) => internal(e.as_ref()),
        }
    }
}

fn internal(e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %e, "internal error");
    json_body(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::ServerError.as_str(),
        "the server could not complete the request",
    )
}

pub async fn not_found() -> Response {
    ApiError::Http(HttpError::NotFound).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parameters_stay_quotable() {
        assert_eq!(header_safe("a\"b\\c\nd"), "abcd");
    }
}
