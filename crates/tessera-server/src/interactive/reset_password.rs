//! `GET/POST u/reset-password?ticket=…`: the page an emailed (or Management
//! API) password-change ticket opens. It sets a new password under the
//! connection's policy (the shared `check_password`), takes the ticket (single
//! use), replaces the password only while it is still the one the ticket was
//! issued against, ends the user's sessions and refresh-token families, and
//! shows success with a link to the ticket's `result_url`, when it has one.
//!
//! CSRF: the page sets a cookie of random value named for the ticket; the form
//! carries a keyed hash of it and the ticket, checked in constant time on
//! submission (as `u/login` binds its form to the browser that started the
//! login). A refused password leaves the ticket usable.

use crate::audit::{RequestFacts, password_event};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use tessera_core::Secret;
use tessera_core::log_event::LogType;
use tessera_core::manage::users::check_password;
use tessera_core::model::User;
use tessera_core::password::PasswordPolicy;
use tessera_core::ticket::{
    Ticket, TicketKind, password_fingerprint, plausible_ticket, ticket_hash,
};

use super::gate::{self, HashFailure};
use super::html::{self, escape};
use super::{
    busy_page, constant_time_eq, cookies, form_pairs, param, query_pairs, unavailable, with_cookie,
};
use crate::state::AppState;

/// The ticket is unknown, used, expired or no longer matches the password.
fn invalid(state: &AppState) -> Response {
    html::error_page(
        &state.config.branding,
        StatusCode::BAD_REQUEST,
        "This link is invalid or has expired",
        "Password reset links work once and expire. Ask for a new one from the application's login page.",
    )
}

/// The CSRF cookie's base name for a ticket.
fn cookie_name(ticket: &str) -> String {
    cookies::transaction(&format!("reset-password\0{ticket}"))
}

fn form_token(state: &AppState, cookie: &str, ticket: &str) -> String {
    let mac = state.master.keyed_hash(
        "reset-password-csrf",
        format!("{cookie}\0{ticket}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(mac)
}

/// A live ticket whose user still exists, still has the password it replaces,
/// and is not blocked; with the user. `Ok(None)`: the ticket is not usable.
async fn usable(state: &AppState, value: Option<&str>) -> Result<Option<(Ticket, User)>, Response> {
    let Some(value) = value.filter(|v| plausible_ticket(v)) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let hash = ticket_hash(value);
    let store = &state.store;
    let ticket = match store
        .get_ticket(&hash, TicketKind::PasswordChange, now)
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(None),
        Err(e) => return Err(unavailable(state, &e)),
    };
    let user = match store.get_user(&ticket.user_id).await {
        Ok(Some(u)) if !u.blocked && ticket.still_for(&u) => u,
        Ok(_) => return Ok(None),
        Err(e) => return Err(unavailable(state, &e)),
    };
    let Some(email) = user.email.as_deref() else {
        return Ok(None);
    };
    let current = match store.find_user_for_login(&user.connection, email).await {
        Ok(Some((_, Some(h)))) => h,
        Ok(_) => return Ok(None),
        Err(e) => return Err(unavailable(state, &e)),
    };
    if ticket.replaces.as_deref() != Some(password_fingerprint(&current).as_str()) {
        return Ok(None);
    }
    Ok(Some((ticket, user)))
}

async fn policy(state: &AppState, user: &User) -> Result<PasswordPolicy, Response> {
    match state.store.get_connection_by_name(&user.connection).await {
        Ok(Some(c)) => Ok(PasswordPolicy::from_options(&c.options)),
        Ok(None) => Err(invalid(state)),
        Err(e) => Err(unavailable(state, &e)),
    }
}

fn render(
    state: &AppState,
    status: StatusCode,
    ticket: &str,
    csrf: &str,
    user: &User,
    min: usize,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let content = format!(
        "<p>Choose a new password for {email}.</p>{error}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"password\">New password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" aria-describedby=\"password-rules\">\
<label for=\"password_confirm\">Confirm the new password</label><input type=\"password\" id=\"password_confirm\" name=\"password_confirm\" autocomplete=\"new-password\" required minlength=\"{min}\">\
<p class=\"small\" id=\"password-rules\">At least {min} characters.</p>\
<button type=\"submit\">Reset password</button></form>",
        email = escape(user.email.as_deref().unwrap_or("your account")),
        action = escape(&state.config.issuer.join("u/reset-password")),
        ticket = escape(ticket),
        csrf = escape(csrf),
    );
    let body = html::page(&state.config.branding, "Reset your password", &content);
    html::respond(status, body, &html::csp(None, None))
}

/// `GET u/reset-password?ticket=…`.
pub async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let value = param(&query, "ticket");
    let (ticket, user) = match usable(&state, value).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(&state),
        Err(res) => return res,
    };
    let value = value.unwrap_or_default();
    let policy = match policy(&state, &user).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let cookie = match tessera_core::token::opaque::new_secret_value() {
        Ok(v) => v,
        Err(e) => return unavailable(&state, &e),
    };
    let csrf = form_token(&state, &cookie, value);
    let lifetime = (ticket.expires_at - state.clock.now()).clamp(1, 3600);
    let res = render(
        &state,
        StatusCode::OK,
        value,
        &csrf,
        &user,
        policy.min_length,
        None,
    );
    with_cookie(
        res,
        cookies::set(&state.config.issuer, &cookie_name(value), &cookie, lifetime),
    )
}

/// Does the form's `csrf` match one of this browser's cookies for the ticket?
fn csrf_ok(state: &AppState, headers: &HeaderMap, ticket: &str, field: Option<&str>) -> bool {
    let Some(field) = field else {
        return false;
    };
    cookies::read_all(&state.config.issuer, headers, &cookie_name(ticket))
        .iter()
        .any(|c| constant_time_eq(form_token(state, c, ticket).as_bytes(), field.as_bytes()))
}

/// Takes a password field out of the form's pairs.
fn take(pairs: &mut [(String, String)], name: &str) -> Option<Secret<String>> {
    pairs
        .iter_mut()
        .find(|(k, _)| k == name)
        .map(|(_, v)| std::mem::take(v))
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

/// `POST u/reset-password`.
pub async fn submit(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(mut form) = form_pairs(&headers, &body) else {
        return invalid(&state);
    };
    // First: the passwords leave the form's pairs.
    let password = take(&mut form, "password");
    let confirm = take(&mut form, "password_confirm");
    let value = param(&form, "ticket").unwrap_or_default().to_owned();
    let (ticket, user) = match usable(&state, Some(&value)).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(&state),
        Err(res) => return res,
    };
    let csrf = param(&form, "csrf");
    if !csrf_ok(&state, &headers, &value, csrf) {
        return super::forbidden(&state);
    }
    let csrf = csrf.unwrap_or_default();
    let policy = match policy(&state, &user).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    // A refused new password is a failed change (`fcp`) in the tenant's log.
    let again = |error: &str| {
        let mut event = password_event(&state, LogType::FailedChangePassword, &facts, &user);
        event.description = error.to_owned();
        state.logs.record(event);
        render(
            &state,
            StatusCode::BAD_REQUEST,
            &value,
            csrf,
            &user,
            policy.min_length,
            Some(error),
        )
    };
    let Some(password) = password else {
        return again("Enter a new password.");
    };
    if confirm
        .is_none_or(|c| !constant_time_eq(c.expose().as_bytes(), password.expose().as_bytes()))
    {
        return again("The two passwords do not match.");
    }
    if let Err(e) = check_password(&policy, &password) {
        return again(e.problem.trim_start_matches("PasswordStrengthError: "));
    }
    let new_hash = match gate::hash_password(&state, password).await {
        Ok(h) => h,
        Err(HashFailure::Busy(busy)) => return busy_page(&state, busy),
        Err(e) => return unavailable(&state, &e),
    };
    finish(&state, &facts, &value, ticket, user, &new_hash).await
}

/// Takes the ticket, sets the password, ends the user's sessions; the success
/// page.
async fn finish(
    state: &AppState,
    facts: &RequestFacts,
    value: &str,
    ticket: Ticket,
    mut user: User,
    new_hash: &str,
) -> Response {
    let now = state.clock.now();
    let store = &state.store;
    match store
        .consume_ticket(&ticket_hash(value), TicketKind::PasswordChange, now)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return invalid(state),
        Err(e) => return unavailable(state, &e),
    }
    let replaces = ticket.replaces.as_deref().unwrap_or_default();
    match store
        .replace_password(&user.user_id, replaces, new_hash, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return invalid(state),
        Err(e) => return unavailable(state, &e),
    }
    if ticket.mark_email_verified && !user.email_verified {
        user.email_verified = true;
        user.updated_at = now;
        if let Err(e) = store.update_user(&user, None).await {
            return unavailable(state, &e);
        }
    }
    let (sessions, families) = match state.end_user_sessions(&user.user_id).await {
        Ok(n) => n,
        Err(e) => return unavailable(state, &e),
    };
    tracing::info!(user_id = %user.user_id, sessions, families, "password reset through a ticket; sessions ended");
    let mut event = password_event(state, LogType::SuccessChangePassword, facts, &user);
    event.client_id = ticket.client_id.clone();
    state.logs.record(event);
    let link = ticket
        .result_url
        .as_deref()
        .map(|url| super::verify_email::result_link(url, &ticket, &user))
        .unwrap_or_default();
    let content = format!(
        "<p role=\"status\">Your password has been changed. You can now log in with the new password.</p>{link}"
    );
    let body = html::page(&state.config.branding, "Password changed", &content);
    let res = html::respond(StatusCode::OK, body, &html::csp(None, None));
    with_cookie(
        res,
        cookies::clear(&state.config.issuer, &cookie_name(value)),
    )
}
