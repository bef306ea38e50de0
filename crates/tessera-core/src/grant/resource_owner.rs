//! What the resource-owner password grants share: `password` (RFC 6749 §4.3,
//! against the tenant's default directory) and Auth0's `password-realm` (the
//! `realm` names the database connection).
//!
//! The password itself is checked by the server through [`PasswordCheck`]:
//! the hosted login's one path (the argon2 check with the same work for
//! unknown emails, the password gate, the brute-force lockout reserved in the
//! database before the check). This module decides everything else and maps
//! each verdict to its typed [`Reason`]. The tokens are a code login's
//! ([`issue_login_tokens`]); no browser session exists, so
//! `sid` names this one login: a fresh random id that no session carries.

use std::net::IpAddr;

use async_trait::async_trait;

use super::common::{
    LoginTokens, authenticate_client, issue_login_tokens, login_api, requested_audience,
};
use super::{Ctx, GrantError, Issued};
use crate::error::{OAuthError, Reason};
use crate::model::{Connection, GrantType, User};
use crate::params::{Params, truncate};
use crate::revocation::{revoke_access_token, revoke_family};
use crate::store::{Store, StoreError};
use crate::types::Secret;

/// Auth0's answer for an unknown email or a wrong password (status 403).
pub const WRONG_CREDENTIALS: &str = "Wrong email or password.";
/// Auth0's answer for a blocked user.
pub const USER_BLOCKED: &str = "user is blocked";
/// Auth0's wording for a brute-force lockout, without its claim that an unblock
/// email was sent (Tessera sends none).
pub const TOO_MANY_ATTEMPTS: &str =
    "Your account has been blocked after multiple consecutive login attempts.";

/// The credentials and what they are for, as both grants take them.
#[derive(Debug)]
pub struct Credentials {
    /// The email, trimmed.
    pub username: String,
    pub password: Secret<String>,
    pub scope: Vec<String>,
    /// `audience` (Auth0) or `resource` (RFC 8707).
    pub audience: Option<String>,
}

impl Credentials {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let required = |name: &str| {
            params.get(name).ok_or_else(|| {
                OAuthError::new(Reason::ParameterMissing, format!("{name} is required"))
            })
        };
        let username = required("username")?.trim().to_owned();
        let password = Secret::new(required("password")?.to_owned());
        let scope = params
            .get("scope")
            .map(|s| {
                s.split(' ')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            username,
            password,
            scope,
            audience: requested_audience(params)?,
        })
    }
}

/// One password to check for the grants.
#[derive(Debug)]
pub struct PasswordAttempt<'a> {
    pub connection: &'a Connection,
    pub email: &'a str,
    pub password: Secret<String>,
    /// The end user's address, for the lockout (per account and address).
    pub address: Option<IpAddr>,
    /// The application the user logs in to (for the tenant's log).
    pub client_id: &'a str,
}

/// What the password check found.
#[derive(Debug)]
pub enum PasswordVerdict {
    /// The user who signs in (the primary of a linked identity), the
    /// identity whose password was checked, and the hash it was checked
    /// against.
    Valid {
        user: Box<User>,
        identity: Box<User>,
        hash: String,
    },
    /// An unknown email (no `user_id`) or a wrong password, after the same
    /// work. (The answer is the same for both; the tenant's log tells them
    /// apart.)
    Wrong { user_id: Option<String> },
    /// The right password of a blocked user.
    Blocked { user_id: String },
    /// Too many failures for this account from this address: nothing checked.
    TooMany,
    /// The password gate is full: nothing checked, nothing counted.
    Busy { retry_after: u64 },
}

/// The server's password check (the hosted login's), for the grants.
#[async_trait]
pub trait PasswordCheck: Send + Sync {
    async fn check(&self, attempt: PasswordAttempt<'_>) -> Result<PasswordVerdict, GrantError>;
}

/// For a context that serves no password grant (benchmarks, tools): every
/// check is refused.
pub struct NoPasswordChecks;

#[async_trait]
impl PasswordCheck for NoPasswordChecks {
    async fn check(&self, _: PasswordAttempt<'_>) -> Result<PasswordVerdict, GrantError> {
        Ok(PasswordVerdict::Wrong { user_id: None })
    }
}

/// Whether the identity `user` still has the password hash `hash` was
/// checked against, is not blocked, and still signs in as `signed_in` (its
/// primary when linked, else itself), which is not blocked either: read again
/// after a login's writes, so that a password change, a block of the identity
/// or of its primary, or an unlink racing the login either sees what the
/// login made, or this read sees the change.
pub async fn credentials_unchanged(
    store: &dyn Store,
    connection: &str,
    user: &User,
    hash: &str,
    signed_in: &User,
) -> Result<bool, StoreError> {
    let Some(email) = user.email.as_deref() else {
        return Ok(false);
    };
    let found = store
        .find_user_for_login(connection, &email.to_lowercase())
        .await?;
    if !matches!(found, Some((now, Some(current)))
        if now.user_id == user.user_id && !now.blocked && current == hash)
    {
        return Ok(false);
    }
    // The link and the primary, read in one statement.
    Ok(match store.find_login_identity(&user.user_id).await? {
        Some(login) => {
            !login.identity.blocked
                && login.user().user_id == signed_in.user_id
                && !login.user().blocked
        }
        None => false,
    })
}

fn refused(reason: Reason, description: &str) -> GrantError {
    OAuthError::new(reason, description).into()
}

/// Runs a password grant: `grant` is the grant type the client must list,
/// `realm` the connection (`None`: the default directory).
pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &crate::client_auth::Presented,
    grant: GrantType,
    realm: Option<&str>,
    creds: Credentials,
) -> Result<Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref()).await?;
    if !client.allows(grant) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            format!("Grant type '{grant}' not allowed for the client."),
        )
        .into());
    }
    // Only first-party applications: a third party would get the user's
    // password, and tokens without the consent the code flow asks for.
    if !client.is_first_party {
        return Err(refused(
            Reason::ThirdPartyPasswordGrant,
            "third-party applications may not use password grants",
        ));
    }
    if ctx.origin.forwarded_for_malformed && client.trusts_forwarded_for() {
        return Err(refused(
            Reason::ForwardedForMalformed,
            "auth0-forwarded-for must be one IP address",
        ));
    }
    let name = realm.unwrap_or(ctx.default_directory);
    let connection = match ctx.store.get_connection_by_name(name).await? {
        Some(c) if c.is_database() => c,
        _ => {
            return Err(OAuthError::new(
                Reason::RealmUnknown,
                format!("no database connection is named {:?}", truncate(name)),
            )
            .into());
        }
    };
    if !connection.usable_by(&client.client_id) {
        return Err(refused(
            Reason::RealmNotEnabled,
            "the connection is not enabled for this client",
        ));
    }
    let audience = match (creds.audience.as_deref(), ctx.default_audience) {
        (Some(asked), _) => Some(asked),
        // The tenant's default API, unless it was deleted since (then none).
        (None, Some(default)) => {
            match ctx.store.get_resource_server_by_identifier(default).await? {
                Some(_) => Some(default),
                None => {
                    tracing::warn!("the tenant's default_audience names no API; none used");
                    None
                }
            }
        }
        (None, None) => None,
    };
    let api = login_api(ctx, &client, audience).await?;
    // The address the lockout counts: the TCP peer, or Auth0's
    // `auth0-forwarded-for` from a confidential client the operator trusts
    // (it has authenticated above).
    let address = match ctx.origin.forwarded_for {
        Some(ip) if client.trusts_forwarded_for() => Some(ip),
        _ => ctx.origin.peer,
    };
    let email = creds.username.to_lowercase();
    let verdict = ctx
        .passwords
        .check(PasswordAttempt {
            connection: &connection,
            email: &email,
            password: creds.password,
            address,
            client_id: &client.client_id,
        })
        .await?;
    let (user, identity, hash) = match verdict {
        PasswordVerdict::Valid {
            user,
            identity,
            hash,
        } => (user, identity, hash),
        PasswordVerdict::Wrong { .. } => {
            return Err(refused(Reason::PasswordWrong, WRONG_CREDENTIALS));
        }
        PasswordVerdict::Blocked { .. } => {
            return Err(refused(Reason::LoginUserBlocked, USER_BLOCKED));
        }
        PasswordVerdict::TooMany => {
            return Err(refused(Reason::LoginAttemptsExceeded, TOO_MANY_ATTEMPTS));
        }
        PasswordVerdict::Busy { retry_after } => return Err(GrantError::Busy { retry_after }),
    };
    // Through a linked identity `user` is the primary: its own connection
    // must be enabled for the client too, as the code flow requires.
    super::common::check_user_connection(ctx, &user, &client.client_id).await?;
    let LoginTokens {
        issued,
        access,
        family,
    } = issue_login_tokens(
        ctx,
        &client,
        // The post-login actions see this login counted, as Auth0 shows it
        // (the store counts it below, once the credentials are re-checked).
        &user.clone().with_login_counted(ctx.now),
        &creds.scope,
        api.as_ref(),
        crate::extensibility::Protocol::ResourceOwner,
    )
    .await?;
    // A password change or a block revokes the user's families, but this one
    // may have started just after that, from a password checked just before
    // the change: read the credentials again now that the family exists.
    if !credentials_unchanged(ctx.store, &connection.name, &identity, &hash, &user).await? {
        if let Some(family) = &family {
            revoke_family(ctx.store, ctx.revocations, family, ctx.now).await?;
        }
        revoke_access_token(ctx.store, ctx.revocations, access, ctx.now).await?;
        return Err(refused(Reason::PasswordWrong, WRONG_CREDENTIALS));
    }
    ctx.store.record_login(&user.user_id, ctx.now).await?;
    tracing::info!(user_id = %user.user_id, client_id = %client.client_id, grant = %grant, "user logged in with a password grant");
    Ok(issued)
}
