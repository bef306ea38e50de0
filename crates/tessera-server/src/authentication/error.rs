//! The Authentication API's refusals, in Auth0's shapes: `/dbconnections/*`
//! answers `{name, code, description, statusCode}`, `/passwordless/start`
//! answers `{error, error_description}`. Each refusal is a [`Failure`]: tests
//! assert on its code, never on the wording.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_core::Secret;
use tessera_core::password::PasswordPolicy;

/// Which endpoint family answers, so which body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `/dbconnections/signup`: `{name, code, description, statusCode}`.
    Database,
    /// `/passwordless/start`: `{error, error_description}`.
    Passwordless,
}

/// One variant per refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Not a JSON object or a form; a parameter of the wrong type.
    BodyMalformed,
    /// `client_id` missing or unknown.
    ClientUnknown,
    /// A confidential client did not authenticate (or got its secret wrong).
    ClientAuthFailed,
    /// The client may not use the grant this request leads to.
    GrantTypeNotAllowed,
    /// The connection does not exist, has another strategy, or is not
    /// enabled for the client.
    ConnectionUnusable,
    /// The connection's `disable_signup` is on.
    SignupDisabled,
    /// The connection's `disable_self_service_change_password` is on:
    /// `/dbconnections/change_password` sends nothing.
    ChangePasswordDisabled,
    /// A property of the new user is missing or invalid.
    SignupInvalid,
    /// The password does not meet the connection's policy.
    PasswordWeak,
    /// The email is already registered in the connection.
    UserExists,
    /// `/passwordless/start`: the email is missing or invalid.
    EmailInvalid,
    /// `/passwordless/start`: `send` is neither `code` nor absent.
    SendUnsupported,
    /// The per-address (or per-email) limit: 429 with `Retry-After`.
    TooManyRequests,
    /// The password gate is full: 503 with `Retry-After`.
    Busy,
    /// Storage or another dependency failed: 503, logged.
    Unavailable,
}

impl Failure {
    pub fn status(self) -> StatusCode {
        match self {
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::ClientAuthFailed => StatusCode::UNAUTHORIZED,
            Self::Busy | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The `code` (database shape) or `error` (passwordless shape).
    pub fn code(self, shape: Shape) -> &'static str {
        match (self, shape) {
            (Self::BodyMalformed, Shape::Database) => "invalid_body",
            (Self::BodyMalformed, Shape::Passwordless) => "bad.request",
            (Self::ClientUnknown, Shape::Database) => "invalid_client",
            (Self::ClientUnknown, Shape::Passwordless) => "bad.client_id",
            (Self::ClientAuthFailed, _) => "invalid_client",
            (Self::GrantTypeNotAllowed, _) => "unauthorized_client",
            (Self::ConnectionUnusable, _) => "bad.connection",
            (Self::SignupDisabled, Shape::Database) => "operation_not_supported",
            (Self::SignupDisabled, Shape::Passwordless) => "bad.connection",
            (Self::ChangePasswordDisabled, _) => "operation_not_supported",
            (Self::SignupInvalid, _) => "invalid_signup",
            (Self::PasswordWeak, _) => "invalid_password",
            (Self::UserExists, _) => "user_exists",
            (Self::EmailInvalid, _) => "bad.email",
            (Self::SendUnsupported, _) => "bad.send",
            (Self::TooManyRequests, _) => "too_many_requests",
            (Self::Busy | Self::Unavailable, _) => "temporarily_unavailable",
        }
    }

    /// Auth0's error class name (database shape).
    fn name(self) -> &'static str {
        match self {
            Self::PasswordWeak => "PasswordStrengthError",
            Self::TooManyRequests => "TooManyRequestsError",
            Self::Busy | Self::Unavailable => "ServiceUnavailableError",
            _ => "BadRequestError",
        }
    }
}

/// An answer refusing a request.
#[derive(Debug)]
pub struct AuthApiError {
    pub failure: Failure,
    shape: Shape,
    description: Value,
    /// Further members of the body (the password policy).
    extra: Vec<(&'static str, Value)>,
    retry_after: Option<u64>,
}

impl AuthApiError {
    pub fn new(shape: Shape, failure: Failure, description: impl Into<String>) -> Self {
        Self {
            failure,
            shape,
            description: Value::String(description.into()),
            extra: Vec::new(),
            retry_after: None,
        }
    }

    /// Auth0's `invalid_password`: the rules and which ones the password
    /// fails, and the policy in words.
    pub fn weak_password(shape: Shape, policy: &PasswordPolicy, password: &Secret<String>) -> Self {
        let rules = policy.rules(password);
        Self {
            failure: Failure::PasswordWeak,
            shape,
            description: json!({"rules": rules, "verified": false}),
            extra: vec![
                ("message", Value::String("Password is too weak".into())),
                ("policy", Value::String(policy.describe())),
            ],
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A server fault: logged (never a secret), 503.
    pub fn unavailable(shape: Shape, e: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %e, "authentication API dependency failed");
        Self::new(
            shape,
            Failure::Unavailable,
            "The service is temporarily unavailable; try again.",
        )
    }
}

impl IntoResponse for AuthApiError {
    fn into_response(self) -> Response {
        let status = self.failure.status();
        let code = self.failure.code(self.shape);
        let mut body = match self.shape {
            Shape::Database => json!({
                "name": self.failure.name(),
                "code": code,
                "description": self.description,
                "statusCode": status.as_u16(),
            }),
            Shape::Passwordless => json!({
                "error": code,
                "error_description": self.description,
            }),
        };
        if let Value::Object(map) = &mut body {
            for (k, v) in self.extra {
                map.insert(k.to_owned(), v);
            }
        }
        let mut res = (status, Json(body)).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
