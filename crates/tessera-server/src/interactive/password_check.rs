//! The one password check of every login with a password: the hosted login
//! (`POST u/login`) and the password grants (`password`, `password-realm`, via
//! core's [`PasswordCheck`]).
//!
//! Unknown emails and wrong passwords get the same answer after the same work
//! (an argon2id check against a fixed dummy hash when there is no user).
//! Failed logins are counted per connection, account and client address
//! (Auth0's brute-force protection). Each attempt is reserved in the database,
//! atomically, before its password check (never read-then-write around
//! argon2): at most `brute_force_threshold` checks run per key until
//! `brute_force_block` seconds pass without one; later attempts are refused
//! without a check. A successful login clears the count. Every check runs
//! through the password gate ([`super::gate`]), which sheds load (503 +
//! `Retry-After`) before anything is counted.

use std::net::IpAddr;

use async_trait::async_trait;
use tessera_core::grant::GrantError;
use tessera_core::grant::resource_owner::{PasswordAttempt, PasswordCheck, PasswordVerdict};
use tessera_core::log_event::LogType;
use tessera_core::model::Connection;
use tessera_core::store::{LoginAttempt, StoreError};
use tessera_core::{Secret, password};

use super::gate::GateError;
use crate::audit::{RequestFacts, login_event};
use crate::state::AppState;

/// What unknown emails are checked against: an argon2id hash with the parameters
/// of real ones (of a throwaway password: without a user the answer is no
/// whatever it says), so that checking it costs what a real check costs.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$/2Zl2mOBOEEK3XXem+LcAA$vRT8XkSmrYiDYJdFGD7KkB1/XTQKtSbIb2Xezm2n6to";

/// Why a check produced no verdict: server faults, never the client's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gate(#[from] GateError),
}

/// The brute-force counter's key: connection, email and address, hashed (the
/// table holds no email in clear). Unknown emails are counted the same way, so
/// the counter reveals nothing either.
fn failure_key(connection: &str, email: &str, address: Option<IpAddr>) -> String {
    let address = address
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let digest = tessera_core::ids::sha256(format!("{connection}\n{email}\n{address}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("login:{hex}")
}

/// Checks `password` for `email` (any case) in `connection`, from `address`
/// (already reduced by `limits::limit_key`), logging in to `client_id`; the
/// tenant's log records every refusal (`fp`, `fu`, `limit_wc`, `f` for a
/// blocked user).
pub(crate) async fn check_password(
    state: &AppState,
    connection: &Connection,
    address: Option<IpAddr>,
    email: &str,
    password_given: Secret<String>,
    client_id: &str,
) -> Result<PasswordVerdict, CheckError> {
    let email = email.to_lowercase();
    let verdict = check(state, connection, address, &email, password_given).await?;
    let refusal = match &verdict {
        PasswordVerdict::Wrong { user_id: Some(_) } => Some(LogType::FailedLoginPassword),
        PasswordVerdict::Wrong { user_id: None } => Some(LogType::FailedLoginUser),
        PasswordVerdict::TooMany => Some(LogType::BlockedAccount),
        PasswordVerdict::Blocked { .. } => Some(LogType::FailedLogin),
        PasswordVerdict::Valid { .. } | PasswordVerdict::Busy { .. } => None,
    };
    if let Some(kind) = refusal {
        let facts = RequestFacts {
            ip: address.map(|ip| ip.to_string()),
            user_agent: None,
        };
        let mut event = login_event(state, kind, &facts, client_id, connection);
        event.user_name = Some(email.chars().take(256).collect());
        match &verdict {
            PasswordVerdict::Wrong { user_id } => event.user_id = user_id.clone(),
            PasswordVerdict::Blocked { user_id } => {
                event.user_id = Some(user_id.clone());
                event.description = "user is blocked".into();
            }
            _ => {}
        }
        state.logs.record(event);
    }
    Ok(verdict)
}

async fn check(
    state: &AppState,
    connection: &Connection,
    address: Option<IpAddr>,
    email: &str,
    password_given: Secret<String>,
) -> Result<PasswordVerdict, CheckError> {
    let config = &state.config;
    // A place in the password gate first: a request shed under load costs
    // nothing, and consumes no attempt.
    let admission = match config.password_gate.admit() {
        Ok(a) => a,
        Err(busy) => {
            state.metrics.password_gate_shed();
            return Ok(PasswordVerdict::Busy {
                retry_after: busy.retry_after,
            });
        }
    };
    let key = failure_key(&connection.name, email, address);
    let now = state.clock.now();
    // The attempt is reserved (counted as a failure) before the password is
    // checked, in one atomic write: however many requests run at once, on however
    // many nodes, at most `brute_force_threshold` checks run per window.
    let failures = match state
        .store
        .reserve_login_attempt(
            &key,
            now,
            config.brute_force_block,
            config.brute_force_threshold,
        )
        .await?
    {
        LoginAttempt::Reserved { failures } => failures,
        LoginAttempt::Refused => return Ok(PasswordVerdict::TooMany),
    };
    let found = state
        .store
        .find_user_for_login(&connection.name, email)
        .await?;
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        // No such user, or one without a password: the same work, then no.
        _ => (None, DUMMY_HASH.to_owned()),
    };
    state.metrics.password_checked();
    // Kept for a rehash of an imported hash (below) only.
    let rehash_with =
        (user.is_some() && password::needs_rehash(&hash)).then(|| password_given.clone());
    let checked = hash.clone();
    let matches = admission
        .run(move || password::verify(&password_given, &checked))
        .await?;
    let user = match user {
        Some(user) if matches => user,
        user => {
            if failures >= config.brute_force_threshold {
                let address = address.map(|ip| ip.to_string()).unwrap_or_default();
                tracing::warn!(connection = %connection.name, %address, "failed logins reached the threshold; this account is blocked from this address for a while");
                return Ok(PasswordVerdict::TooMany);
            }
            return Ok(PasswordVerdict::Wrong {
                user_id: user.map(|u| u.user_id),
            });
        }
    };
    // A linked identity signs in as its primary (Auth0's account linking):
    // the link and the primary are read in one statement, so an unlink
    // racing this login is seen whole or not at all.
    let Some(found) = state.store.find_login_identity(&user.user_id).await? else {
        return Ok(PasswordVerdict::Wrong {
            user_id: Some(user.user_id),
        });
    };
    if user.blocked || found.user().blocked {
        return Ok(PasswordVerdict::Blocked {
            user_id: user.user_id,
        });
    }
    state.store.clear_login_failures(&key).await?;
    let hash = match rehash_with {
        Some(password) => rehash(state, &user.user_id, hash, password).await?,
        None => hash,
    };
    Ok(PasswordVerdict::Valid {
        user: Box::new(found.into_user()),
        identity: Box::new(user),
        hash,
    })
}

/// After a successful login with an imported hash (bcrypt, PBKDF2, …, see
/// `tessera_core::password_import`): Tessera's argon2id hash replaces it, only
/// while the stored hash is still the one checked (a password changed
/// meanwhile wins). Returns the hash now stored, which the login compares
/// again once its session or tokens exist. A full gate or a failed hash
/// leaves the imported hash for a later login.
async fn rehash(
    state: &AppState,
    user_id: &str,
    old: String,
    password: Secret<String>,
) -> Result<String, CheckError> {
    let new = match super::gate::hash_password(state, password).await {
        Ok(new) => new,
        Err(e) => {
            tracing::warn!(error = %e, "an imported password hash was not replaced; the next login tries again");
            return Ok(old);
        }
    };
    let fingerprint = tessera_core::ticket::password_fingerprint(&old);
    let now = state.clock.now();
    if state
        .store
        .replace_password(user_id, &fingerprint, &new, now)
        .await?
    {
        tracing::info!(%user_id, "an imported password hash was replaced by argon2id");
        Ok(new)
    } else {
        Ok(old)
    }
}

#[async_trait]
impl PasswordCheck for AppState {
    async fn check(&self, attempt: PasswordAttempt<'_>) -> Result<PasswordVerdict, GrantError> {
        check_password(
            self,
            attempt.connection,
            attempt.address,
            attempt.email,
            attempt.password,
            attempt.client_id,
        )
        .await
        .map_err(|e| match e {
            CheckError::Store(e) => GrantError::Store(e),
            CheckError::Gate(_) => GrantError::PasswordTask,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_of_the_same_cost() {
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let secret = |s: &str| Secret::new(s.to_owned());
        let real = password::hash(&secret("x")).unwrap();
        assert_eq!(
            real.split('$').nth(3),
            DUMMY_HASH.split('$').nth(3),
            "same parameters as real hashes"
        );
        assert!(!password::verify(&secret(""), DUMMY_HASH));
        // It parses and verifies (so checking it costs what a real check costs).
        assert!(password::verify(
            &secret("tessera-dummy-password-never-valid"),
            DUMMY_HASH
        ));
    }

    #[test]
    fn failure_keys_differ_per_address_and_hide_the_email() {
        let a = failure_key("c", "ann@example.com", Some([192, 0, 2, 1].into()));
        let b = failure_key("c", "ann@example.com", Some([192, 0, 2, 2].into()));
        assert_ne!(a, b);
        assert!(!a.contains("ann"));
    }
}
