//! `/api/v2/tickets/password-change` and `/api/v2/tickets/email-verification`
//! (scope `create:user_tickets`): a single-use ticket link in Auth0's shape,
//! `{"ticket": URL}`, without sending any email. The tickets are those the
//! emails carry (see `crate::tickets`): a password-change ticket is bound to
//! the password it replaces; lifetimes default to 1 hour (password change)
//! and 5 days (email verification), `ttl_sec` at most 30 days.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::manage::users::is_database_user;
use tessera_core::model::User;
use tessera_core::ticket::{MAX_TICKET_LIFETIME, TicketKind};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::Payload;
use crate::state::AppState;
use crate::tickets::{self, TicketOptions};

const SCOPE: &str = "create:user_tickets";

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(password_change))
        .routes(routes!(email_verification))
}

/// A password-change ticket: for `user_id`, or for `email` in `connection_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeTicket {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub connection_id: Option<String>,
    /// Where the success page links to (http or https).
    pub result_url: Option<String>,
    /// Lifetime in seconds; 0 or absent: 3600.
    pub ttl_sec: Option<i64>,
    /// The reset also marks the email verified.
    pub mark_email_as_verified: Option<bool>,
    pub client_id: Option<String>,
    #[serde(rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: Option<bool>,
    /// Accepted for Auth0 compatibility; Tessera has no organizations.
    #[allow(dead_code)]
    pub organization_id: Option<String>,
}

/// An email-verification ticket for `user_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerificationTicket {
    pub user_id: String,
    pub result_url: Option<String>,
    /// Lifetime in seconds; 0 or absent: 432000 (5 days).
    pub ttl_sec: Option<i64>,
    pub client_id: Option<String>,
    #[serde(rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: Option<bool>,
    /// Accepted for Auth0 compatibility (`{user_id, provider}`); the user's
    /// own identity is the one verified.
    #[allow(dead_code)]
    pub identity: Option<serde_json::Value>,
    #[allow(dead_code)]
    pub organization_id: Option<String>,
}

/// `{"ticket": URL}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    pub ticket: String,
}

fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_user", "The user does not exist.")
}

/// `ttl_sec`: 0 or absent means the default; otherwise 1 to 30 days.
fn ttl(ttl_sec: Option<i64>) -> MgmtResult<Option<i64>> {
    match ttl_sec {
        None | Some(0) => Ok(None),
        Some(t) if (1..=MAX_TICKET_LIFETIME).contains(&t) => Ok(Some(t)),
        Some(_) => Err(MgmtError::invalid_body(
            "ttl_sec",
            &format!("must be between 0 and {MAX_TICKET_LIFETIME}"),
        )),
    }
}

/// An absolute http(s) URL, when given.
fn result_url(url: Option<String>) -> MgmtResult<Option<String>> {
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() && url.len() <= 2048 => {
            Ok(Some(url))
        }
        _ => Err(MgmtError::invalid_body(
            "result_url",
            "must be an absolute http or https URL",
        )),
    }
}

/// The client, when named, must exist.
async fn client(state: &AppState, client_id: Option<String>) -> MgmtResult<Option<String>> {
    let Some(id) = client_id.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    match state.store.get_client(&id).await? {
        Some(_) => Ok(Some(id)),
        None => Err(MgmtError::not_found(
            "inexistent_client",
            "The client does not exist.",
        )),
    }
}

impl From<tickets::IssueError> for MgmtError {
    fn from(e: tickets::IssueError) -> Self {
        match e {
            tickets::IssueError::Store(s) => s.into(),
            tickets::IssueError::Rng(e) => internal(&e),
        }
    }
}

/// A server fault: logged, answered 500 without detail.
pub(super) fn internal(e: &dyn std::fmt::Display) -> MgmtError {
    tracing::error!(error = %e, "ticket issuance");
    MgmtError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "The server could not complete the request.",
    )
}

/// The user a password-change ticket is for, with the hash it replaces.
async fn password_user(
    state: &AppState,
    body: &PasswordChangeTicket,
) -> MgmtResult<(User, String)> {
    let user = match (&body.user_id, &body.email, &body.connection_id) {
        (Some(id), None, None) => state.store.get_user(id).await?.ok_or_else(not_found)?,
        (None, Some(email), Some(connection_id)) => {
            let connection = state
                .store
                .get_connection(connection_id)
                .await?
                .ok_or_else(|| {
                    MgmtError::not_found("inexistent_connection", "The connection does not exist.")
                })?;
            let user = state
                .store
                .find_user_for_login(&connection.name, &email.to_lowercase())
                .await?
                .ok_or_else(not_found)?
                .0;
            // A linked identity is no user of its own (as for `user_id`).
            match state.store.find_login_identity(&user.user_id).await? {
                Some(l) if l.primary.is_none() => user,
                _ => return Err(not_found()),
            }
        }
        _ => {
            return Err(MgmtError::invalid_body(
                "user_id",
                "give either user_id, or email and connection_id",
            ));
        }
    };
    if !is_database_user(&user) {
        return Err(MgmtError::invalid_body(
            "user_id",
            "only users of a database connection have a password",
        ));
    }
    let hash = match user.email.as_deref() {
        Some(email) => state
            .store
            .find_user_for_login(&user.connection, email)
            .await?
            .and_then(|(_, h)| h),
        None => None,
    };
    let hash =
        hash.ok_or_else(|| MgmtError::invalid_body("user_id", "the user has no password"))?;
    Ok((user, hash))
}

/// Create a password-change ticket.
#[utoipa::path(post, path = "/api/v2/tickets/password-change", tag = "tickets", request_body = PasswordChangeTicket,
    description = "A single-use link to the hosted reset page, bound to the user's current password; no email is sent.",
    security(("bearer" = ["create:user_tickets"])),
    responses((status = 201, body = TicketDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn password_change(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<PasswordChangeTicket>,
) -> MgmtResult<(StatusCode, Json<TicketDto>)> {
    caller.require(SCOPE)?;
    let ttl = ttl(body.ttl_sec)?;
    let (user, hash) = password_user(&state, &body).await?;
    let options = TicketOptions {
        client_id: client(&state, body.client_id).await?,
        result_url: result_url(body.result_url)?,
        ttl,
        mark_email_verified: body.mark_email_as_verified.unwrap_or(false),
        include_email_in_redirect: body.include_email_in_redirect.unwrap_or(false),
    };
    let ticket = tickets::issue(
        &state,
        TicketKind::PasswordChange,
        &user,
        Some(&hash),
        options,
        state.clock.now(),
    )
    .await?;
    tracing::info!(user_id = %user.user_id, by = %caller.claims.client_id, "password-change ticket created");
    Ok((StatusCode::CREATED, Json(TicketDto { ticket })))
}

/// Create an email-verification ticket.
#[utoipa::path(post, path = "/api/v2/tickets/email-verification", tag = "tickets", request_body = EmailVerificationTicket,
    description = "A single-use link that marks the user's email verified; no email is sent.",
    security(("bearer" = ["create:user_tickets"])),
    responses((status = 201, body = TicketDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn email_verification(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<EmailVerificationTicket>,
) -> MgmtResult<(StatusCode, Json<TicketDto>)> {
    caller.require(SCOPE)?;
    let ttl = ttl(body.ttl_sec)?;
    let user = state
        .store
        .get_user(&body.user_id)
        .await?
        .ok_or_else(not_found)?;
    if user.email.is_none() {
        return Err(MgmtError::invalid_body("user_id", "the user has no email"));
    }
    let options = TicketOptions {
        client_id: client(&state, body.client_id).await?,
        result_url: result_url(body.result_url)?,
        ttl,
        include_email_in_redirect: body.include_email_in_redirect.unwrap_or(false),
        ..TicketOptions::default()
    };
    let ticket = tickets::issue(
        &state,
        TicketKind::EmailVerification,
        &user,
        None,
        options,
        state.clock.now(),
    )
    .await?;
    tracing::info!(user_id = %user.user_id, by = %caller.claims.client_id, "email-verification ticket created");
    Ok((StatusCode::CREATED, Json(TicketDto { ticket })))
}
