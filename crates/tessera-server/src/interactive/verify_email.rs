//! Email verification: `GET u/verify-email?ticket=…` shows a confirmation
//! button (it changes nothing: mail scanners open links), whose `POST
//! u/verify-email` takes the email-verification ticket (single use, and only
//! while it is for the user's current email) and sets the user's
//! `email_verified`. The ticket comes from the verification email
//! ([`send_verification`]: the sign-ups, hosted and API, when the connection's
//! `options.send_verification_email` is true, and the Management API's
//! `jobs/verification-email`) or from the Management API's
//! `tickets/email-verification`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use tessera_core::model::{Connection, User};
use tessera_core::ticket::{Ticket, TicketKind, plausible_ticket, ticket_hash};

use super::html::{self, escape};
use super::{form_pairs, param, query_pairs, unavailable};
use crate::email::{Content, Email};
use crate::state::AppState;
use crate::tickets::{self, IssueError, TicketOptions};

/// The connection option that turns the verification email on at sign-up.
pub const OPTION: &str = "send_verification_email";

/// Does a sign-up in `connection` send the verification email?
pub fn wanted(connection: &Connection) -> bool {
    connection
        .options
        .get(OPTION)
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Issues an email-verification ticket for `user` and queues the email with
/// its link. Nothing for a user without an email or already verified.
pub async fn send_verification(
    state: &AppState,
    user: &User,
    client_id: Option<&str>,
) -> Result<(), IssueError> {
    let Some(to) = user.email.as_deref().filter(|_| !user.email_verified) else {
        return Ok(());
    };
    let link = tickets::issue(
        state,
        TicketKind::EmailVerification,
        user,
        None,
        TicketOptions {
            client_id: client_id.map(str::to_owned),
            ..TicketOptions::default()
        },
        state.clock.now(),
    )
    .await?;
    state.mailer.send(verification_email(state, to, &link));
    tracing::info!(user_id = %user.user_id, "verification email queued");
    Ok(())
}

fn verification_email(state: &AppState, to: &str, link: &str) -> Email {
    let branding = &state.branding();
    let days = TicketKind::EmailVerification.default_lifetime() / 86400;
    Content {
        heading: "Verify your email".into(),
        paragraphs: vec![format!(
            "Confirm that {to} is the address of your {} account.",
            branding.tenant_name
        )],
        button: Some(("Verify my email".into(), link.to_owned())),
        code: None,
        footer: vec![format!(
            "The link works once, for {days} days. If you did not sign up, ignore this email."
        )],
    }
    .into_email(branding, to, "Verify your email", "email verification")
}

fn invalid(state: &AppState) -> Response {
    html::error_page(
        &state.branding(),
        StatusCode::BAD_REQUEST,
        "This link is invalid or has expired",
        "Verification links work once and expire. Ask the application for a new one.",
    )
}

/// `GET u/verify-email?ticket=…`: a page asking the user to confirm, which
/// changes nothing (mail scanners and link previews open links; only the
/// person who presses the button verifies the address).
pub async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let Some(value) = param(&query, "ticket").filter(|v| plausible_ticket(v)) else {
        return invalid(&state);
    };
    let now = state.clock.now();
    match state
        .store
        .get_ticket(&ticket_hash(value), TicketKind::EmailVerification, now)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return invalid(&state),
        Err(e) => return unavailable(&state, &e),
    }
    let content = format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"ticket\" value=\"{}\"><p>Confirm that this email address is yours.</p><button type=\"submit\">Verify my email</button></form>",
        escape(&state.config.issuer.join("u/verify-email")),
        escape(value)
    );
    let body = html::page(&state.branding(), "Verify your email", &content);
    html::respond(StatusCode::OK, body, &html::csp(None, None))
}

/// `POST u/verify-email` (`ticket`): uses the ticket and sets the user's
/// `email_verified`, if the ticket is still for the user's email.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_pairs(&headers, &body).unwrap_or_default();
    let Some(value) = param(&form, "ticket").filter(|v| plausible_ticket(v)) else {
        return invalid(&state);
    };
    let now = state.clock.now();
    let ticket = match state
        .store
        .consume_ticket(&ticket_hash(value), TicketKind::EmailVerification, now)
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return invalid(&state),
        Err(e) => return unavailable(&state, &e),
    };
    let mut user = match state.store.get_user(&ticket.user_id).await {
        Ok(Some(u)) if ticket.still_for(&u) => u,
        Ok(_) => return invalid(&state),
        Err(e) => return unavailable(&state, &e),
    };
    if !user.email_verified {
        user.email_verified = true;
        user.updated_at = now;
        match state.store.update_user(&user, None).await {
            Ok(true) => {}
            Ok(false) => return invalid(&state),
            Err(e) => return unavailable(&state, &e),
        }
    }
    tracing::info!(user_id = %user.user_id, "email verified through a ticket");
    let link = ticket
        .result_url
        .as_deref()
        .map(|url| result_link(url, &ticket, &user))
        .unwrap_or_default();
    let content = format!("<p role=\"status\">Your email address has been verified.</p>{link}");
    let body = html::page(&state.branding(), "Email verified", &content);
    html::respond(StatusCode::OK, body, &html::csp(None, None))
}

/// `result_url` with Auth0's `success`, `message` (and `email` when asked).
pub(crate) fn result_link(url: &str, ticket: &Ticket, user: &User) -> String {
    let message = match ticket.kind {
        TicketKind::PasswordChange => "You can now login to the application with the new password.",
        TicketKind::EmailVerification => {
            "Your email was verified. You can continue using the application."
        }
    };
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    params.append_pair("success", "true");
    params.append_pair("message", message);
    if ticket.include_email_in_redirect
        && let Some(email) = &user.email
    {
        params.append_pair("email", email);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "<p><a href=\"{}\">Back to the application</a></p>",
        escape(&format!("{url}{sep}{}", params.finish()))
    )
}
