//! Management API errors in Auth0's shape:
//! `{"statusCode": 403, "error": "Forbidden", "message": "…", "errorCode": "insufficient_scope"}`.
//! Kept apart from the OAuth errors of the protocol endpoints.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtError {
    pub status: StatusCode,
    pub message: String,
    pub error_code: &'static str,
    /// RFC 6750 challenge for 401 and 403.
    pub www_authenticate: Option<String>,
    /// A precise, stable reason name beyond Auth0's `errorCode` (a token's
    /// [`tessera_core::error::Reason`], a refused key rotation), sent in
    /// `Tessera-Error-Reason`.
    pub reason: Option<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status.
    pub status_code: u16,
    /// Its reason phrase.
    pub error: String,
    pub message: String,
    pub error_code: String,
}

impl MgmtError {
    pub fn new(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            error_code,
            www_authenticate: None,
            reason: None,
        }
    }
    /// Names the precise reason (see [`MgmtError::reason`]).
    pub fn with_reason(self, reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }
    pub fn bad_request(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error_code, message)
    }
    /// A payload that fails validation: names the property.
    pub fn invalid_body(property: &str, problem: &str) -> Self {
        Self::bad_request(
            "invalid_body",
            format!("Payload validation error: '{problem}' on property {property}."),
        )
    }
    /// Auth0's answer to a property its schema does not define, in a body
    /// (`what` = `Payload`) or a query string (`Query`): named, with the
    /// object holding it when that is not the top level.
    pub fn additional_property(what: &str, parent: Option<&str>, name: &str) -> Self {
        let message = match parent {
            None => {
                format!("{what} validation error: 'Additional properties not allowed: {name}'.")
            }
            Some(p) => format!(
                "{what} validation error: 'Additional properties not allowed: {name}' on property {p}."
            ),
        };
        Self::bad_request("invalid_body", message).with_reason("additional_property")
    }
    /// The same error under another `errorCode`.
    pub fn with_code(self, error_code: &'static str) -> Self {
        Self { error_code, ..self }
    }
    pub fn not_found(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error_code, message)
    }
    pub fn conflict(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error_code, message)
    }
    pub fn unauthorized(error_code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        let challenge = if error_code == "missing_token" {
            "Bearer realm=\"tessera\"".to_owned()
        } else {
            format!(
                "Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"{}\"",
                message.replace('"', "'")
            )
        };
        Self {
            www_authenticate: Some(challenge),
            ..Self::new(StatusCode::UNAUTHORIZED, error_code, message)
        }
    }
    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            www_authenticate: Some(format!(
                "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("Insufficient scope, expected any of: {scope}"),
            )
        }
    }
}

impl From<StoreError> for MgmtError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => {
                Self::conflict("conflict", "The object conflicts with an existing one.")
            }
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The database is unavailable; try again.",
                )
            }
            other => {
                tracing::error!(error = %other, "management API storage error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "The server could not complete the request.",
                )
            }
        }
    }
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status_code: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.message,
            error_code: self.error_code.to_owned(),
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Temporary by definition (a busy database or password gate).
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(reason) = self.reason {
            res.headers_mut().insert(
                crate::error::REASON_HEADER,
                HeaderValue::from_static(reason),
            );
        }
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        res
    }
}

pub type MgmtResult<T> = Result<T, MgmtError>;

impl From<tessera_core::manage::Invalid> for MgmtError {
    fn from(e: tessera_core::manage::Invalid) -> Self {
        let err = Self::invalid_body(&e.property, &e.problem);
        match e.reason {
            Some(reason) => err.with_reason(reason),
            None => err,
        }
    }
}

impl From<tessera_core::manage::users::UsernameRefused> for MgmtError {
    /// A username for a connection without `requires_username` gets Auth0's
    /// own message; a malformed one names the property like any other.
    fn from(e: tessera_core::manage::users::UsernameRefused) -> Self {
        use tessera_core::manage::users::{USERNAME_NOT_ALLOWED, UsernameRefused};
        match e {
            UsernameRefused::NotRequired => {
                Self::bad_request("invalid_body", e.to_string()).with_reason(USERNAME_NOT_ALLOWED)
            }
            UsernameRefused::Invalid(invalid) => invalid.into(),
        }
    }
}
