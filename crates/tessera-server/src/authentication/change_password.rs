//! `POST dbconnections/change_password`: Auth0's password reset request
//! (auth0-python's `Database.change_password`, node-auth0's
//! `database.changePassword`). The body names the client, the database
//! connection and the email; the answer is always the same text, whether or
//! not the connection has a user with that email, and it is sent before the
//! user is even looked up: the lookup, the ticket and the email happen after
//! the answer, so neither its body nor its timing tells whether the account
//! exists. For an existing, unblocked user a single-use ticket (1 hour, bound
//! to the password it replaces) is emailed as a link to `u/reset-password`.
//!
//! Limits: the endpoint's per-address rate limit (429), and at most
//! [`PER_EMAIL`] reset emails per hour for one email of one connection (more
//! requests get the same answer and no email), so the endpoint cannot flood a
//! mailbox.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tessera_core::log_event::LogType;
use tessera_core::manage::users::DATABASE_STRATEGY;
use tessera_core::model::{Connection, User};
use tessera_core::store::LoginAttempt;
use tessera_core::ticket::TicketKind;

use super::error::{AuthApiError, Failure, Shape};
use super::{Body, client_and_connection};
use crate::email::{Content, Email};
use crate::interactive::html::Branding;
use crate::state::AppState;
use crate::tickets::{self, TicketOptions};

const SHAPE: Shape = Shape::Database;

/// Auth0's answer, whatever happens after it.
pub const SENT: &str = "We've just sent you an email to reset your password.";

/// Reset emails per hour for one email address of one connection.
pub const PER_EMAIL: i64 = 5;
const PER_EMAIL_WINDOW: i64 = 3600;

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, &headers, &body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Response, AuthApiError> {
    let body = Body::read(SHAPE, headers, bytes)?;
    let ((client, _), connection) = client_and_connection(
        state,
        SHAPE,
        body.text("client_id")?.as_deref(),
        body.text("connection")?.as_deref(),
        DATABASE_STRATEGY,
    )
    .await?;
    if connection
        .options
        .get("disable_self_service_change_password")
        .and_then(|v| v.as_bool())
        == Some(true)
    {
        return Err(AuthApiError::new(
            SHAPE,
            Failure::ChangePasswordDisabled,
            "Self-service password change is disabled for this connection.",
        ));
    }
    let email = body
        .text("email")?
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@') && e.len() <= 320)
        .ok_or_else(|| {
            AuthApiError::new(
                SHAPE,
                Failure::EmailInvalid,
                "email is required and must be an email address",
            )
        })?;
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&state, &connection, &client.client_id, &email).await {
            tracing::error!(error = %e, connection = %connection.name, "password reset email not sent");
        }
    });
    let mut res = SENT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// After the answer: counts the request against the email's hourly quota,
/// and for an existing, unblocked user of the connection issues a ticket and
/// queues the email.
async fn send_reset(
    state: &AppState,
    connection: &Connection,
    client_id: &str,
    email: &str,
) -> Result<(), tickets::IssueError> {
    let now = state.clock.now();
    let key = format!("change_password:{}:{email}", connection.id);
    let quota = state
        .store
        .reserve_login_attempt(&key, now, PER_EMAIL_WINDOW, PER_EMAIL)
        .await?;
    if quota == LoginAttempt::Refused {
        tracing::warn!(connection = %connection.name, "password reset email not sent: hourly limit for this email reached");
        return Ok(());
    }
    let Some((user, Some(hash))) = state
        .store
        .find_user_for_login(&connection.name, email)
        .await?
    else {
        return Ok(());
    };
    if user.blocked {
        return Ok(());
    }
    // A linked identity is no user of its own: its ticket could never be
    // completed, so none is issued (the same answer as an unknown email).
    if state
        .store
        .find_login_identity(&user.user_id)
        .await?
        .is_none_or(|l| l.primary.is_some())
    {
        return Ok(());
    }
    let link = tickets::issue(
        state,
        TicketKind::PasswordChange,
        &user,
        Some(&hash),
        TicketOptions {
            client_id: Some(client_id.to_owned()),
            ..TicketOptions::default()
        },
        now,
    )
    .await?;
    state
        .mailer
        .send(reset_email(&state.branding(), &user, email, &link));
    tracing::info!(user_id = %user.user_id, "password reset ticket emailed");
    let mut event = state.logs.event(LogType::SuccessChangePasswordRequest);
    event.user_id = Some(user.user_id.clone());
    event.user_name = Some(email.to_owned());
    event.client_id = Some(client_id.to_owned());
    event.connection = Some(connection.name.clone());
    event.connection_id = Some(connection.id.clone());
    event.strategy = Some(connection.strategy.clone());
    event.strategy_type = Some("database".into());
    state.logs.record(event);
    Ok(())
}

/// The reset email: the link and how long it works.
fn reset_email(branding: &Branding, user: &User, to: &str, link: &str) -> Email {
    let minutes = TicketKind::PasswordChange.default_lifetime() / 60;
    Content {
        heading: "Reset your password".into(),
        paragraphs: vec![format!(
            "Someone asked to reset the password of the {} account of {}. Follow the link to choose a new password.",
            branding.tenant_name,
            user.email.as_deref().unwrap_or(to)
        )],
        button: Some(("Choose a new password".into(), link.to_owned())),
        code: None,
        footer: vec![format!(
            "The link works once, for {minutes} minutes. If you did not ask for it, ignore this email: your password stays as it is."
        )],
    }
    .into_email(branding, to, "Reset your password", "password reset")
}
