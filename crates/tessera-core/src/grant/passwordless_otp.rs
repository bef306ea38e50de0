//! `grant_type=http://auth0.com/oauth/grant-type/passwordless/otp` (Auth0):
//! the code emailed by `/passwordless/start` logs the user in to the
//! passwordless connection named by `realm` (`email`), creating the user on
//! first login unless the connection's `disable_signup` is on.
//!
//! A try is reserved in the code's row before the code is compared (one
//! atomic write), so at most [`MAX_TRIES`] comparisons run per code whatever
//! runs concurrently: the fourth try is refused even with the right code. A
//! matching code is used once, and only by the client that asked for it.
//!
//! A new code restarts its own tries, so failures are also counted per
//! connection and email across codes ([`MAX_FAILURES`] within
//! [`FAILURE_WINDOW`], in the store's login-attempt counter, reserved before
//! the compare and forgotten on success): looping start → three guesses →
//! start gives an attacker at most that many guesses a day at one account.

use super::common::{authenticate_client, issue_login_tokens, login_api};
use super::{Ctx, GrantError, Issued};
use crate::client_auth::Presented;
use crate::error::{OAuthError, Reason};
use crate::ids;
use crate::manage::users::normalize_email;
use crate::model::{Connection, GrantType, Identity, User};
use crate::params::Params;
use crate::passwordless::{CodeFor, EMAIL_STRATEGY, MAX_TRIES, code_matches};
use crate::store::{LoginAttempt, StoreError};

/// Wrong codes one account may take, across codes, while each follows the
/// previous within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: i64 = 20;
/// A day, seconds.
pub const FAILURE_WINDOW: i64 = 86_400;

/// Auth0's answer to a wrong, expired or used code.
pub const WRONG_CODE: &str = "Wrong email or verification code.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The passwordless connection's name (`email`).
    pub realm: String,
    /// The email the code was sent to.
    pub username: String,
    pub otp: String,
    /// Defaults to `openid`.
    pub scope: Vec<String>,
    pub audience: Option<String>,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let required = |name: &str| {
            params.get(name).map(str::to_owned).ok_or_else(|| {
                OAuthError::new(Reason::ParameterMissing, format!("{name} is required"))
            })
        };
        let scope: Vec<String> = params
            .get("scope")
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            realm: required("realm")?,
            username: required("username")?,
            otp: required("otp")?,
            scope,
            audience: params.get("audience").map(str::to_owned),
        })
    }
}

fn wrong(reason: Reason) -> GrantError {
    OAuthError::new(reason, WRONG_CODE).into()
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref()).await?;
    if !client.allows(GrantType::PasswordlessOtp) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "the client may not use the passwordless/otp grant",
        )
        .into());
    }
    if !client.is_first_party {
        return Err(OAuthError::new(
            Reason::ThirdPartyPasswordGrant,
            "third-party applications may not use passwordless login",
        )
        .into());
    }
    let connection = match ctx.store.get_connection_by_name(&req.realm).await? {
        Some(c) if c.strategy == EMAIL_STRATEGY && c.usable_by(&client.client_id) => c,
        _ => {
            return Err(OAuthError::new(
                Reason::ConnectionUnusable,
                "the realm is not a passwordless email connection enabled for this client",
            )
            .into());
        }
    };
    let email = normalize_email(req.username.trim()).map_err(|_| wrong(Reason::OtpUnavailable))?;
    // Failures across codes first, then the code's own try: both counted
    // before the compare.
    let failures_key = format!("otp\0{}\0{email}", connection.name);
    let attempt = ctx
        .store
        .reserve_login_attempt(&failures_key, ctx.now, FAILURE_WINDOW, MAX_FAILURES)
        .await?;
    if attempt == LoginAttempt::Refused {
        return Err(OAuthError::new(
            Reason::LoginAttemptsExceeded,
            "Too many wrong verification codes for this email; try again later.",
        )
        .into());
    }
    let stored = ctx
        .store
        .reserve_otp_try(&connection.name, &email, ctx.now, MAX_TRIES)
        .await?
        .ok_or_else(|| wrong(Reason::OtpUnavailable))?;
    let to = CodeFor {
        connection: &connection.name,
        email: &email,
        client_id: &client.client_id,
    };
    if !code_matches(ctx.master, to, req.otp.trim(), &stored) {
        return Err(wrong(Reason::OtpWrong));
    }
    if !ctx
        .store
        .consume_otp(&connection.name, &email, &stored, ctx.now)
        .await?
    {
        return Err(wrong(Reason::OtpUnavailable));
    }
    ctx.store.clear_login_failures(&failures_key).await?;
    let user = login_user(ctx, &connection, &email).await?;
    // Through a linked identity `user` is the primary: its own connection
    // must be enabled for the client too, as the code flow requires.
    super::common::check_user_connection(ctx, &user, &client.client_id).await?;
    ctx.store.record_login(&user.user_id, ctx.now).await?;
    // The post-login actions see this login counted, as the store now has it.
    let user = user.with_login_counted(ctx.now);
    let api = login_api(ctx, &client, req.audience.as_deref()).await?;
    let tokens = issue_login_tokens(
        ctx,
        &client,
        &user,
        &req.scope,
        api.as_ref(),
        crate::extensibility::Protocol::Passwordless,
    )
    .await?;
    tracing::info!(user_id = %user.user_id, client_id = %client.client_id, "user logged in with a passwordless code");
    Ok(tokens.issued)
}

/// The connection's user with `email`, created (email verified) on first login
/// unless sign-ups are disabled.
async fn login_user(
    ctx: &Ctx<'_>,
    connection: &Connection,
    email: &str,
) -> Result<User, GrantError> {
    if let Some((user, _)) = ctx
        .store
        .find_user_for_login(&connection.name, email)
        .await?
    {
        // A linked identity signs in as its primary (account linking), read
        // with the link in one statement.
        let Some(found) = ctx.store.find_login_identity(&user.user_id).await? else {
            return Err(wrong(Reason::OtpUnavailable));
        };
        if user.blocked || found.user().blocked {
            return Err(OAuthError::new(Reason::UserBlocked, "user is blocked").into());
        }
        return Ok(found.into_user());
    }
    if connection.signup_disabled() {
        // No code is sent to an unknown email then; one sent before the
        // setting changed logs no one in.
        return Err(wrong(Reason::OtpUnavailable));
    }
    let user = new_user(connection, email, ctx.now)?;
    match ctx.store.create_user(&user, None).await {
        Ok(()) => Ok(user),
        // Two first logins at once: the other one created the user.
        Err(StoreError::Conflict(_)) => ctx
            .store
            .find_user_for_login(&connection.name, email)
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| wrong(Reason::OtpUnavailable)),
        Err(e) => Err(e.into()),
    }
}

/// A passwordless user: `email|` and 24 random hex characters, the email
/// verified by the code, Auth0's defaults for name and nickname.
fn new_user(connection: &Connection, email: &str, now: i64) -> Result<User, GrantError> {
    let hex = ids::hex_id()?;
    let local = email.split('@').next().unwrap_or(email).to_owned();
    Ok(User {
        user_id: format!("{EMAIL_STRATEGY}|{hex}"),
        connection: connection.name.clone(),
        email: Some(email.to_owned()),
        email_verified: true,
        name: Some(email.to_owned()),
        given_name: None,
        family_name: None,
        nickname: Some(local),
        picture: None,
        user_metadata: Default::default(),
        app_metadata: Default::default(),
        blocked: false,
        created_at: now,
        updated_at: now,
        last_login: None,
        logins_count: 0,
        username: None,
        phone_number: None,
        phone_verified: None,
        identities: vec![Identity {
            connection: connection.name.clone(),
            user_id: hex,
            provider: EMAIL_STRATEGY.into(),
            is_social: false,
        }],
    })
}
