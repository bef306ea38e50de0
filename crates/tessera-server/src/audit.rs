//! What the tenant's log records, from the few central places that see every
//! event: the token endpoint's dispatch, the one password check, the hosted
//! login, and the Management API (a middleware around its routes). Details are
//! facts the server chose (reason names, grant types, an operation's method,
//! route and target); no request body, password, code, OTP, secret or token
//! ever goes in.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use tessera_core::grant::{GrantError, Issued, TokenRequest};
use tessera_core::log_event::{LogEvent, LogType};
use tessera_core::model::Connection;

use crate::interactive::limits::{PeerIp, peer_ip};
use crate::state::AppState;

/// The longest `user_agent` kept.
const USER_AGENT_MAX: usize = 256;

/// Where a request came from: the client's address (as the rate limits count
/// it: IPv6 per /64) and its `User-Agent`.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestFacts {
    pub fn new(peer: PeerIp, headers: &HeaderMap) -> Self {
        Self {
            ip: peer.0.map(|ip| ip.to_string()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(USER_AGENT_MAX).collect()),
        }
    }

    /// Sets the event's `ip` and `user_agent`.
    pub fn stamp(&self, mut event: LogEvent) -> LogEvent {
        event.ip = self.ip.clone();
        event.user_agent = self.user_agent.clone();
        event
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestFacts {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::new(
            PeerIp(peer_ip(&parts.extensions)),
            &parts.headers,
        ))
    }
}

/// An event of a login or sign-up at `connection` for `client_id`, from
/// `facts` (the caller adds the user and any description).
pub fn login_event(
    state: &AppState,
    kind: LogType,
    facts: &RequestFacts,
    client_id: &str,
    connection: &Connection,
) -> LogEvent {
    let mut event = facts.stamp(state.logs.event(kind));
    event.client_id = Some(client_id.chars().take(128).collect());
    event.connection = Some(connection.name.clone());
    event.connection_id = Some(connection.id.clone());
    event.strategy = Some(connection.strategy.clone());
    event.strategy_type = Some(strategy_type(&connection.strategy).into());
    event
}

/// Auth0's category of a connection strategy.
fn strategy_type(strategy: &str) -> &'static str {
    match strategy {
        "auth0" => "database",
        "email" | "sms" => "passwordless",
        "oidc" | "samlp" | "waad" | "adfs" | "okta" => "enterprise",
        _ => "social",
    }
}

/// An event about `user`'s password (`scp`, `fcp`): the user and their
/// connection filled in.
pub fn password_event(
    state: &AppState,
    kind: LogType,
    facts: &RequestFacts,
    user: &tessera_core::model::User,
) -> LogEvent {
    let mut event = facts.stamp(state.logs.event(kind));
    event.user_id = Some(user.user_id.clone());
    event.user_name = user.email.clone();
    event.connection = Some(user.connection.clone());
    event
}

/// The log types of a grant's success and failure (Auth0's codes).
pub fn exchange_types(request: &TokenRequest) -> (LogType, LogType) {
    match request {
        TokenRequest::AuthorizationCode(_) => {
            (LogType::SuccessExchangeCode, LogType::FailedExchangeCode)
        }
        TokenRequest::RefreshToken(_) => (
            LogType::SuccessExchangeRefresh,
            LogType::FailedExchangeRefresh,
        ),
        TokenRequest::ClientCredentials(_) => (
            LogType::SuccessExchangeClientCredentials,
            LogType::FailedExchangeClientCredentials,
        ),
        TokenRequest::Password(_) | TokenRequest::PasswordRealm(_) => (
            LogType::SuccessExchangePassword,
            LogType::FailedExchangePassword,
        ),
        // Auth0 logs a passwordless login as a login.
        TokenRequest::PasswordlessOtp(_) => (
            LogType::SuccessLogin,
            LogType::FailedExchangePasswordlessOtp,
        ),
        // Auth0 documents no log type of its own for the Token Vault
        // exchange that we could find; it is a refresh-like exchange.
        TokenRequest::TokenVault(_) => (
            LogType::SuccessExchangeRefresh,
            LogType::FailedExchangeRefresh,
        ),
    }
}

/// Records a token request's outcome. Failures the password check recorded
/// itself (`fp`, `fu`, `limit_wc`, a blocked user) are not recorded twice;
/// server faults are not the client's events.
pub fn record_exchange(
    state: &AppState,
    facts: &RequestFacts,
    client_id: Option<&str>,
    grant_type: &str,
    (success, failure): (LogType, LogType),
    result: Result<&Issued, &GrantError>,
) {
    use tessera_core::error::Reason;
    let mut event = match result {
        Ok(issued) => {
            let mut event = state.logs.event(success);
            event.user_id = issued.user_id.clone();
            event.audience = issued.audience.clone();
            // A Token Vault answer's scope is the upstream provider's word:
            // never copied into the tenant log.
            if grant_type != tessera_core::model::GrantType::TokenVault.as_str() {
                event.scope = issued.response.scope.clone();
            }
            event
        }
        Err(GrantError::OAuth(e)) => {
            let kind = match e.reason() {
                Reason::PasswordWrong
                | Reason::LoginAttemptsExceeded
                | Reason::LoginUserBlocked => {
                    return;
                }
                Reason::RefreshTokenReused => LogType::FailedExchangeRotatingRefresh,
                _ => failure,
            };
            let mut event = state.logs.event(kind);
            if kind == failure {
                event.description = e.description().to_owned();
            }
            event.details = json!({"error": e.code().as_str(), "reason": e.reason().as_str()});
            event
        }
        Err(_) => return,
    };
    // A failure's client id is whatever was sent: kept short.
    event.client_id = client_id.map(|c| c.chars().take(128).collect());
    if let Some(details) = event.details.as_object_mut() {
        details.insert("grant_type".into(), grant_type.into());
    }
    state.logs.record(facts.stamp(event));
}

/// Where the Management API's guard leaves the caller's client id for
/// [`management_operations`] (only once its token verified).
#[derive(Clone, Default)]
pub struct ManagementCaller(Arc<Mutex<Option<String>>>);

impl ManagementCaller {
    /// Called by the guard with a verified token's client.
    pub fn set(&self, client_id: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(client_id.to_owned());
        }
    }

    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// Middleware around the Management API: every write (`POST`, `PUT`,
/// `PATCH`, `DELETE`) by a caller whose token verified is recorded as `sapi`
/// or, refused, `fapi`, naming the
/// method, the path (the target's id is in it) and the status; never the
/// body, nor the query string.
pub async fn management_operations(
    State(state): State<AppState>,
    facts: RequestFacts,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    if matches!(
        method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return next.run(request).await;
    }
    let caller = ManagementCaller::default();
    request.extensions_mut().insert(caller.clone());
    let path: String = request.uri().path().chars().take(512).collect();
    let response = next.run(request).await;
    // Only a verified caller's operations are recorded: an unauthenticated
    // request, an unknown route or method (which never reach the guard)
    // would otherwise let anyone fill the log and its queue.
    let Some(client_id) = caller.get() else {
        return response;
    };
    let status = response.status();
    let kind = if status.is_success() || status.is_redirection() {
        LogType::SuccessApiOperation
    } else {
        LogType::FailedApiOperation
    };
    let mut event = state.logs.event(kind);
    event.description = operation(&method, &path);
    event.client_id = Some(client_id);
    event.details = json!({
        "request": {"method": method.as_str().to_ascii_lowercase(), "path": path},
        "response": {"statusCode": status.as_u16()},
    });
    state.logs.record(facts.stamp(event));
    response
}

/// Auth0-like wording: "Create a client grant", "Update a user", ...
fn operation(method: &Method, path: &str) -> String {
    let verb = match *method {
        Method::POST => "Create",
        Method::PATCH | Method::PUT => "Update",
        Method::DELETE => "Delete",
        _ => "Operate on",
    };
    let resource = path
        .split("/api/v2/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .filter(|r| !r.is_empty())
        .unwrap_or("resource");
    let resource = resource.trim_end_matches('s').replace(['-', '_'], " ");
    format!("{verb} {resource}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_by_verb_and_resource() {
        assert_eq!(operation(&Method::POST, "/api/v2/clients"), "Create client");
        assert_eq!(
            operation(&Method::PATCH, "/t/api/v2/users/auth0|1"),
            "Update user"
        );
        assert_eq!(
            operation(&Method::DELETE, "/api/v2/client-grants/cgr_1"),
            "Delete client grant"
        );
        assert_eq!(operation(&Method::POST, "/elsewhere"), "Create resource");
    }
}
