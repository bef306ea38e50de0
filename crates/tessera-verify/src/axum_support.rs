//! axum integration: [`VerifyLayer`] puts the verifier in the request
//! extensions, [`Authenticated`] checks the bearer token, [`require_scope`]
//! checks a scope, and every failure is an RFC 6750 answer ([`Rejection`]).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tessera_verify::AccessTokenVerifier;
//! use tessera_verify::axum_support::{Authenticated, Rejection, VerifyLayer, require_scope};
//!
//! async fn list(Authenticated(claims): Authenticated) -> Result<String, Rejection> {
//!     require_scope(&claims, "read:appointments")?;
//!     Ok(format!("appointments of {}", claims.sub))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = AccessTokenVerifier::from_issuer(
//!     "https://tessera.example.com/",
//!     vec!["https://appointments.example.com".into()],
//! )
//! .await?;
//! let app: Router = Router::new().route("/appointments", get(list)).layer(VerifyLayer::new(verifier));
//! # Ok(()) }
//! ```

use std::fmt;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{AccessTokenVerifier, Claims, VerifyError};

/// The claims of a request's valid bearer token. Needs [`VerifyLayer`].
#[derive(Clone, Debug)]
pub struct Authenticated(pub Claims);

/// Inserts the verifier into every request's extensions.
#[derive(Clone, Debug)]
pub struct VerifyLayer {
    verifier: AccessTokenVerifier,
}

impl VerifyLayer {
    pub fn new(v: AccessTokenVerifier) -> Self {
        Self { verifier: v }
    }
}

impl<S> tower::Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`VerifyLayer`] wraps around.
#[derive(Clone, Debug)]
pub struct VerifyService<S> {
    inner: S,
    verifier: AccessTokenVerifier,
}

impl<S, B> tower::Service<Request<B>> for VerifyService<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.verifier.clone());
        self.inner.call(req)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(verifier) = parts.extensions.get::<AccessTokenVerifier>().cloned() else {
            tracing::error!("Authenticated used on a route without VerifyLayer");
            return Err(Rejection::misconfigured());
        };
        let token = bearer(parts)?;
        match verifier.verify(token).await {
            Ok(claims) => Ok(Authenticated(claims)),
            Err(e) => {
                tracing::debug!(error = %e, "bearer token refused");
                Err(Rejection::from(e))
            }
        }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(parts: &Parts) -> Result<&str, Rejection> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(Rejection::missing());
    };
    let value = value
        .to_str()
        .map_err(|_| Rejection::invalid_token("the Authorization header is not visible ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::missing());
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(Rejection::invalid_token("the bearer token is empty"));
    }
    Ok(token)
}

/// `Ok` when the token was granted `scope`; else 403 `insufficient_scope`.
pub fn require_scope(claims: &Claims, scope: &str) -> Result<(), Rejection> {
    if claims.has_scope(scope) {
        Ok(())
    } else {
        Err(Rejection::insufficient_scope(scope))
    }
}

/// `Ok` when the token carries the RBAC permission `permission`; else 403
/// `insufficient_scope` naming it.
pub fn require_permission(claims: &Claims, permission: &str) -> Result<(), Rejection> {
    if claims.has_permission(permission) {
        Ok(())
    } else {
        Err(Rejection::insufficient_scope(permission))
    }
}

/// An RFC 6750 error answer: status, `WWW-Authenticate`, JSON body
/// `{"error", "error_description"}`.
#[derive(Clone)]
pub struct Rejection {
    status: StatusCode,
    www_authenticate: Option<String>,
    error: &'static str,
    description: String,
    cause: Option<Box<VerifyError>>,
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error, self.description)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

/// A quoted-string for an auth-param: no `"` or `\`, visible ASCII only.
fn quoted(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect()
}

impl Rejection {
    /// No bearer token: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    pub fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            www_authenticate: Some(r#"Bearer realm="api""#.into()),
            error: "unauthorized",
            description: "no bearer token: send Authorization: Bearer <access token>".into(),
            cause: None,
        }
    }

    /// 401 `invalid_token` with `description`.
    pub fn invalid_token(description: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            www_authenticate: Some(format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                quoted(description)
            )),
            error: "invalid_token",
            description: description.to_owned(),
            cause: None,
        }
    }

    /// 403 `insufficient_scope` naming the scope needed.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            www_authenticate: Some(format!(
                r#"Bearer error="insufficient_scope", scope="{}""#,
                quoted(scope)
            )),
            error: "insufficient_scope",
            description: format!("the token does not grant the scope {scope}"),
            cause: None,
        }
    }

    fn misconfigured() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            www_authenticate: None,
            error: "server_error",
            description: "token verification is not set up on this route".into(),
            cause: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The verification failure behind a 401, if any.
    pub fn cause(&self) -> Option<&VerifyError> {
        self.cause.as_deref()
    }
}

impl From<VerifyError> for Rejection {
    /// 401 `invalid_token`, except when the issuer's keys cannot be had: 503
    /// (the token may be fine; the client should retry later).
    fn from(e: VerifyError) -> Self {
        let mut r = if let VerifyError::JwksUnavailable(_) = &e {
            Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                www_authenticate: None,
                error: "temporarily_unavailable",
                description:
                    "the token cannot be checked right now: the issuer's keys are unavailable"
                        .into(),
                cause: None,
            }
        } else {
            Self::invalid_token(&e.to_string())
        };
        r.cause = Some(Box::new(e));
        r
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(v) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}
