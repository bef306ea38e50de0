//! `POST passwordless/start` (node-auth0 `passwordless.sendEmail`): emails a
//! one-time code for the passwordless connection `email`, which the grant
//! `http://auth0.com/oauth/grant-type/passwordless/otp` redeems.
//!
//! The answer is the same whether or not the email belongs to a user: with
//! `disable_signup` on, an unknown email gets no message, but a (never sent)
//! code is still stored, so the per-email send limit answers alike too. Sends
//! are limited per address (the endpoint's rate limit) and per email
//! ([`MAX_SENDS`] per [`SEND_WINDOW`], in the database, across nodes). The code
//! is stored only as a keyed hash; no log line holds the code or the email.

use crate::audit::{RequestFacts, login_event};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tessera_core::client_auth;
use tessera_core::ids;
use tessera_core::log_event::LogType;
use tessera_core::manage::users::normalize_email;
use tessera_core::model::GrantType;
use tessera_core::passwordless::{
    CodeFor, CodeSettings, EMAIL_STRATEGY, MAX_SENDS, NewOtp, SEND_WINDOW, code_hash,
};

use super::error::{AuthApiError, Failure, Shape};
use super::{Body, client_and_connection};
use crate::email::{Content, Email};
use crate::state::AppState;

const SHAPE: Shape = Shape::Passwordless;

pub async fn start(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AuthApiError> {
    let state = &state;
    let headers = &headers;
    let mut body = Body::read(SHAPE, headers, &bytes)?;
    let secret = body.take_secret("client_secret")?;
    let client_id = body.text("client_id")?;
    let (found, connection) = client_and_connection(
        state,
        SHAPE,
        client_id.as_deref(),
        body.text("connection")?.as_deref(),
        EMAIL_STRATEGY,
    )
    .await?;
    // A confidential client authenticates (Basic or its secret in the body),
    // as at the token endpoint; a public one sends none.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let refused = || {
        AuthApiError::new(
            SHAPE,
            Failure::ClientAuthFailed,
            "Client authentication failed.",
        )
    };
    let presented = client_auth::presented(
        authorization,
        client_id.as_deref(),
        secret.as_ref().map(|s| s.expose().as_str()),
    )
    .map_err(|_| refused())?;
    client_auth::authenticate(&state.master, &presented, Some(&found)).map_err(|_| refused())?;
    let client = found.0;
    // As the password grants: a third party would log users in without the
    // consent the code flow asks for.
    if !client.is_first_party {
        return Err(AuthApiError::new(
            SHAPE,
            Failure::GrantTypeNotAllowed,
            "Third-party applications may not use passwordless login.",
        ));
    }
    if !client.allows(GrantType::PasswordlessOtp) {
        return Err(AuthApiError::new(
            SHAPE,
            Failure::GrantTypeNotAllowed,
            "The client may not use the passwordless OTP grant.",
        ));
    }
    match body.text("send")?.as_deref() {
        None | Some("code") => {}
        Some(_) => {
            return Err(AuthApiError::new(
                SHAPE,
                Failure::SendUnsupported,
                "send must be code",
            ));
        }
    }
    // `authParams` is accepted (an object) and not used by codes.
    body.object("authParams")?;
    let email = body
        .text("email")?
        .and_then(|e| normalize_email(e.trim()).ok())
        .ok_or_else(|| AuthApiError::new(SHAPE, Failure::EmailInvalid, "Invalid email address."))?;
    let settings = CodeSettings::from_options(&connection.options);
    let code = settings
        .new_code()
        .map_err(|e| AuthApiError::unavailable(SHAPE, &e))?;
    let now = state.clock.now();
    let otp = NewOtp {
        connection: connection.name.clone(),
        email: email.clone(),
        code_hash: code_hash(
            &state.master,
            CodeFor {
                connection: &connection.name,
                email: &email,
                client_id: &client.client_id,
            },
            &code,
        )
        .to_vec(),
        client_id: client.client_id.clone(),
        expires_at: now + settings.lifetime,
    };
    match state.store.put_otp(&otp, now, SEND_WINDOW, MAX_SENDS).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(AuthApiError::new(
                SHAPE,
                Failure::TooManyRequests,
                "Too many codes were sent to this email; try again later.",
            )
            .retry_after(60));
        }
        Err(e) => return Err(AuthApiError::unavailable(SHAPE, &e)),
    }
    let send = if connection.signup_disabled() {
        match state
            .store
            .find_user_for_login(&connection.name, &email)
            .await
        {
            Ok(found) => found.is_some(),
            Err(e) => return Err(AuthApiError::unavailable(SHAPE, &e)),
        }
    } else {
        true
    };
    if send {
        state.mailer.send(code_email(
            state,
            &connection.options,
            &email,
            &code,
            settings.lifetime,
        ));
        // Auth0's `cs` (the code itself is never logged).
        let mut event = login_event(
            state,
            LogType::CodeSent,
            &facts,
            &client.client_id,
            &connection,
        );
        event.user_name = Some(email.clone());
        state.logs.record(event);
    }
    tracing::info!(
        client_id = %client.client_id,
        connection = %connection.name,
        sent = send,
        "passwordless code issued"
    );
    let id = ids::hex_id().map_err(|e| AuthApiError::unavailable(SHAPE, &e))?;
    let mut res = Json(json!({"_id": id, "email": email, "email_verified": false})).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The message holding the code; the subject is the connection's
/// `options.email.subject` when set.
fn code_email(
    state: &AppState,
    options: &serde_json::Value,
    to: &str,
    code: &str,
    lifetime: i64,
) -> Email {
    let branding = &state.config.branding;
    let subject = options
        .get("email")
        .and_then(|e| e.get("subject"))
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Your verification code for {}", branding.tenant_name));
    let minutes = (lifetime / 60).max(1);
    Content {
        heading: "Your verification code".into(),
        paragraphs: vec![format!(
            "Enter this code to log in to {}:",
            branding.tenant_name
        )],
        button: None,
        code: Some(code.to_owned()),
        footer: vec![format!(
            "The code expires in {minutes} minutes and works once. If you did not ask for it, ignore this email."
        )],
    }
    .into_email(branding, to, &subject, "passwordless code")
}
