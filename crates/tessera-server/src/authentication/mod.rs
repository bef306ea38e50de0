//! Auth0's Authentication API beyond the OAuth endpoints: `POST
//! dbconnections/signup` (a new user of a database connection), `POST
//! dbconnections/change_password` (a reset link by email) and `POST
//! passwordless/start` (a one-time code by email). Bodies are JSON or forms;
//! refusals use Auth0's shapes for these endpoints ([`error`]). Each endpoint
//! has its own per-address rate limit, as the token endpoint has.

pub mod change_password;
pub mod error;
pub mod passwordless;
pub mod signup;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value};
use tessera_core::Secret;
use tessera_core::model::{Client, ClientSecret, Connection};

/// A client and its stored secret, as the store gives them.
pub type ClientRecord = (Client, Option<ClientSecret>);

use crate::interactive::limits::{RateLimiter, peer_ip};
use crate::state::{AppState, ServerConfig};
use error::{AuthApiError, Failure, Shape};

pub fn routes(config: &ServerConfig) -> Router<AppState> {
    let limited = |shape: Shape| {
        let limiter = Arc::new(RateLimiter::new(config.rate_limit_per_minute));
        from_fn_with_state((limiter, shape), limit)
    };
    Router::new()
        .route(
            "/dbconnections/signup",
            post(signup::signup).layer(limited(Shape::Database)),
        )
        .route(
            "/passwordless/start",
            post(passwordless::start).layer(limited(Shape::Passwordless)),
        )
        .route(
            "/dbconnections/change_password",
            post(change_password::change_password).layer(limited(Shape::Database)),
        )
}

/// The per-address limit: 429 in the endpoint's shape, with `Retry-After`.
async fn limit(
    State((limiter, shape)): State<(Arc<RateLimiter>, Shape)>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(ip) = peer_ip(req.extensions())
        && let Err(seconds) = limiter.check(ip)
    {
        return AuthApiError::new(
            shape,
            Failure::TooManyRequests,
            "Too many requests from this address; try again later.",
        )
        .retry_after(seconds)
        .into_response();
    }
    next.run(req).await
}

/// A request body's members: a JSON object, or a form (each name at most once;
/// its values are strings). `null` and empty strings count as absent.
pub struct Body {
    shape: Shape,
    members: Map<String, Value>,
}

impl Body {
    pub fn read(shape: Shape, headers: &HeaderMap, bytes: &[u8]) -> Result<Self, AuthApiError> {
        let malformed = || {
            AuthApiError::new(
                shape,
                Failure::BodyMalformed,
                "The body must be a JSON object or a form.",
            )
        };
        let members = if crate::interactive::is_form(headers) {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(bytes).map_err(|_| malformed())?;
            let mut members = Map::new();
            for (k, v) in pairs {
                if members.insert(k, Value::String(v)).is_some() {
                    return Err(malformed());
                }
            }
            members
        } else {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(members)) => members,
                _ => return Err(malformed()),
            }
        };
        // No text anywhere holds a NUL (PostgreSQL text cannot: it would be
        // a storage error, not the client's).
        if members
            .iter()
            .any(|(k, v)| k.contains('\0') || holds_nul(v))
        {
            return Err(AuthApiError::new(
                shape,
                Failure::BodyMalformed,
                "The body must not contain NUL characters.",
            ));
        }
        Ok(Self { shape, members })
    }

    /// A string member; `None` when absent, `null` or empty.
    pub fn text(&self, name: &str) -> Result<Option<String>, AuthApiError> {
        match self.members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AuthApiError::new(
                self.shape,
                Failure::BodyMalformed,
                format!("{name} must be a string"),
            )),
        }
    }

    /// An object member; `None` when absent or `null`.
    pub fn object(&self, name: &str) -> Result<Option<Map<String, Value>>, AuthApiError> {
        match self.members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o.clone())),
            Some(_) => Err(AuthApiError::new(
                self.shape,
                Failure::BodyMalformed,
                format!("{name} must be an object"),
            )),
        }
    }

    /// Takes a secret member out of the body, so nothing else can show it.
    pub fn take_secret(&mut self, name: &str) -> Result<Option<Secret<String>>, AuthApiError> {
        match self.members.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s))),
            Some(_) => Err(AuthApiError::new(
                self.shape,
                Failure::BodyMalformed,
                format!("{name} must be a string"),
            )),
        }
    }
}

/// The client named by `client_id` and the connection named by `connection`,
/// when the connection has `strategy` and is enabled for the client.
pub async fn client_and_connection(
    state: &AppState,
    shape: Shape,
    client_id: Option<&str>,
    connection: Option<&str>,
    strategy: &str,
) -> Result<(ClientRecord, Connection), AuthApiError> {
    let unknown_client = || {
        AuthApiError::new(
            shape,
            Failure::ClientUnknown,
            "Unknown or missing client_id.",
        )
    };
    let client_id = client_id.ok_or_else(unknown_client)?;
    let found = match state.store.get_client(client_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(unknown_client()),
        Err(e) => return Err(AuthApiError::unavailable(shape, &e)),
    };
    let unusable = || {
        AuthApiError::new(
            shape,
            Failure::ConnectionUnusable,
            "The connection does not exist or is not enabled for this client.",
        )
    };
    let name = connection.ok_or_else(unusable)?;
    match state.store.get_connection_by_name(name).await {
        Ok(Some(c)) if c.strategy == strategy && c.usable_by(&found.0.client_id) => Ok((found, c)),
        Ok(_) => Err(unusable()),
        Err(e) => Err(AuthApiError::unavailable(shape, &e)),
    }
}

/// Whether a JSON value holds a NUL character in any string or key.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}
