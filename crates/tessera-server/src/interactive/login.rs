//! `GET/POST u/login`: the hosted login page of a database connection.
//!
//! Unknown emails and wrong passwords get the same answer after the same work
//! (an argon2id check against a fixed dummy hash when there is no user).
//! Failed logins are counted per account and client address (Auth0's
//! brute-force protection). Each attempt is reserved in the database, atomically,
//! before its password check (never read-then-write around argon2): at most
//! `brute_force_threshold` checks run per pair until `brute_force_block` seconds
//! pass without one; later attempts are refused without a check. A successful
//! login clears the count. Every check runs through the password gate
//! ([`super::gate`]), which sheds load with 503 + `Retry-After`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use tessera_core::flow::{AuthorizeTx, Session};
use tessera_core::model::{Connection, User};
use tessera_core::store::LoginAttempt;
use tessera_core::token::opaque::new_secret_value;
use tessera_core::{Secret, password};

use super::credentials::Credentials;
use super::gate::Busy;
use super::html::{self, escape};
use super::limits::PeerIp;
use super::{
    browser_secret, busy_page, connection_for, cookies, csrf_ok, flow, forbidden, form_pairs,
    page_url, param, pending, query_pairs, signup_disabled, unavailable, with_cookie,
};
use crate::state::AppState;

/// What unknown emails are checked against: an argon2id hash with the parameters
/// of real ones (of a throwaway password: without a user the answer is no
/// whatever it says), so that checking it costs what a real check costs.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$/2Zl2mOBOEEK3XXem+LcAA$vRT8XkSmrYiDYJdFGD7KkB1/XTQKtSbIb2Xezm2n6to";

pub const WRONG_CREDENTIALS: &str = "Wrong email or password.";
pub const BLOCKED: &str = "Your account is blocked.";
pub const TOO_MANY_ATTEMPTS: &str = "Too many failed attempts; try again later.";

/// What the login form shows.
struct Form<'a> {
    tx: &'a AuthorizeTx,
    csrf: &'a str,
    email: Option<&'a str>,
    error: Option<&'a str>,
    signup: bool,
    client_name: &'a str,
}

fn render(state: &AppState, status: StatusCode, f: &Form<'_>) -> Response {
    let error = f
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let value = f
        .email
        .map(|e| format!(" value=\"{}\"", escape(e)))
        .unwrap_or_default();
    let signup = if f.signup {
        format!(
            "<p class=\"small\">Don&#x27;t have an account? <a href=\"{}\">Sign up</a></p>",
            escape(&page_url(state, "u/signup", f.tx))
        )
    } else {
        String::new()
    };
    let content = format!(
        "<p>Log in to {tenant} to continue to {client}.</p>{error}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"state\" value=\"{state_id}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"email\">Email address</label><input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" required{value}>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Continue</button></form>{signup}",
        tenant = escape(&state.config.branding.tenant_name),
        client = escape(f.client_name),
        action = escape(&state.config.issuer.join("u/login")),
        state_id = escape(&f.tx.id),
        csrf = escape(f.csrf),
    );
    let body = html::page(&state.config.branding, "Log in", &content);
    html::respond(status, body, &html::form_csp(&f.tx.redirect_uri))
}

async fn name_of_client(state: &AppState, tx: &AuthorizeTx) -> Result<String, Response> {
    super::client_name(state, &tx.client_id)
        .await
        .map_err(|e| unavailable(state, &e))
}

/// `GET u/login?state=ID`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let tx = match pending(&state, param(&query, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    let Some(csrf) = browser_secret(&state, &headers, &tx) else {
        return forbidden(&state);
    };
    let connection = match connection_for(&state, &tx).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let client_name = match name_of_client(&state, &tx).await {
        Ok(n) => n,
        Err(res) => return res,
    };
    render(
        &state,
        StatusCode::OK,
        &Form {
            tx: &tx,
            csrf: &csrf,
            email: tx.login_hint.as_deref(),
            error: None,
            signup: !signup_disabled(&connection),
            client_name: &client_name,
        },
    )
}

/// The brute-force counter's key: connection, email and address, hashed (the
/// table holds no email in clear). Unknown emails are counted the same way, so
/// the counter reveals nothing either.
fn failure_key(connection: &str, email: &str, ip: &PeerIp) -> String {
    let digest =
        tessera_core::ids::sha256(format!("{connection}\n{email}\n{}", ip.label()).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("login:{hex}")
}

/// `POST u/login`.
pub async fn submit(
    State(state): State<AppState>,
    ip: PeerIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(mut form) = form_pairs(&headers, &body) else {
        return html::error_page(
            &state.config.branding,
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form could not be read. Go back and try again.",
        );
    };
    // First: the password leaves the form's pairs before anything borrows them.
    let Credentials { email, password } = Credentials::take(&mut form);
    let tx = match pending(&state, param(&form, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    let csrf = param(&form, "csrf");
    if !csrf_ok(&state, &headers, &tx, csrf) {
        return forbidden(&state);
    }
    let csrf = csrf.unwrap_or_default();
    let connection = match connection_for(&state, &tx).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let client_name = match name_of_client(&state, &tx).await {
        Ok(n) => n,
        Err(res) => return res,
    };
    let again = |status: StatusCode, error: &str| {
        render(
            &state,
            status,
            &Form {
                tx: &tx,
                csrf,
                email: Some(email.as_str()).filter(|e| !e.is_empty()),
                error: Some(error),
                signup: !signup_disabled(&connection),
                client_name: &client_name,
            },
        )
    };
    let Some(password) = password.filter(|_| !email.is_empty()) else {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your email address and password.",
        );
    };
    match authenticate(&state, &connection, &ip, &email, password).await {
        Ok(Outcome::LoggedIn(user, hash)) => {
            let (session, cookie) = match new_session(&state, &user).await {
                Ok(s) => s,
                Err(res) => return res,
            };
            // A password change or a block ends the user's sessions, but the
            // one made here may have come just after that purge, from a
            // password checked just before the change. Read the credentials
            // again now that the session exists: either the purge saw this
            // session, or this read sees the change. Only then does the new
            // session replace the browser's previous one.
            match credentials_unchanged(&state, &connection, &user, &hash).await {
                Ok(true) => {
                    if let Err(res) = replace_previous(&state, &headers, &session).await {
                        return res;
                    }
                    resume_logged_in(&state, &tx, session, cookie, *user).await
                }
                Ok(false) => match state.store.delete_session(&session.sid).await {
                    Ok(()) => again(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS),
                    Err(e) => unavailable(&state, &e),
                },
                Err(res) => res,
            }
        }
        Ok(Outcome::Wrong) => again(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS),
        Ok(Outcome::Blocked) => again(StatusCode::FORBIDDEN, BLOCKED),
        Ok(Outcome::TooMany) => again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS),
        Ok(Outcome::Busy(busy)) => busy_page(&state, busy),
        Err(res) => res,
    }
}

enum Outcome {
    /// The user, and the password hash the password was checked against.
    LoggedIn(Box<User>, String),
    Wrong,
    Blocked,
    TooMany,
    /// The password gate is full: 503 with `Retry-After`, nothing counted.
    Busy(Busy),
}

async fn authenticate(
    state: &AppState,
    connection: &Connection,
    ip: &PeerIp,
    email: &str,
    password_given: Secret<String>,
) -> Result<Outcome, Response> {
    let config = &state.config;
    // A place in the password gate first: a request shed under load costs
    // nothing, and consumes no attempt.
    let admission = match config.password_gate.admit() {
        Ok(a) => a,
        Err(busy) => {
            state.metrics.password_gate_shed();
            return Ok(Outcome::Busy(busy));
        }
    };
    let email = email.to_lowercase();
    let key = failure_key(&connection.name, &email, ip);
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
        .await
        .map_err(|e| unavailable(state, &e))?
    {
        LoginAttempt::Reserved { failures } => failures,
        LoginAttempt::Refused => return Ok(Outcome::TooMany),
    };
    let found = state
        .store
        .find_user_for_login(&connection.name, &email)
        .await
        .map_err(|e| unavailable(state, &e))?;
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        // No such user, or one without a password: the same work, then no.
        _ => (None, DUMMY_HASH.to_owned()),
    };
    state.metrics.password_checked();
    let checked = hash.clone();
    let matches = admission
        .run(move || password::verify(&password_given, &checked))
        .await
        .map_err(|e| unavailable(state, &e))?;
    let user = match user {
        Some(user) if matches => user,
        _ => {
            if failures >= config.brute_force_threshold {
                tracing::warn!(connection = %connection.name, address = %ip.label(), "failed logins reached the threshold; this account is blocked from this address for a while");
                return Ok(Outcome::TooMany);
            }
            return Ok(Outcome::Wrong);
        }
    };
    if user.blocked {
        return Ok(Outcome::Blocked);
    }
    state
        .store
        .clear_login_failures(&key)
        .await
        .map_err(|e| unavailable(state, &e))?;
    Ok(Outcome::LoggedIn(Box::new(user), hash))
}

/// Whether `user` still has the password hash `hash` was checked against, and
/// is not blocked.
async fn credentials_unchanged(
    state: &AppState,
    connection: &Connection,
    user: &User,
    hash: &str,
) -> Result<bool, Response> {
    let Some(email) = user.email.as_deref() else {
        return Ok(false);
    };
    let found = state
        .store
        .find_user_for_login(&connection.name, &email.to_lowercase())
        .await
        .map_err(|e| unavailable(state, &e))?;
    Ok(matches!(found, Some((now, Some(current)))
        if now.user_id == user.user_id && !now.blocked && current == hash))
}

/// A new session for `user`, with its cookie (the browser's previous session
/// is ended by [`replace_previous`]).
async fn new_session(
    state: &AppState,
    user: &User,
) -> Result<(Session, Vec<HeaderValue>), Response> {
    let now = state.clock.now();
    let (Ok(secret), Ok(sid)) = (new_secret_value(), tessera_core::ids::alphanumeric(32)) else {
        return Err(unavailable(state, &"the random number generator failed"));
    };
    let lifetime = state.config.session_lifetime;
    let session = Session {
        secret_hash: cookies::sha256(&secret),
        sid,
        user_id: user.user_id.clone(),
        auth_time: now,
        created_at: now,
        last_seen: now,
        expires_at: now + lifetime,
    };
    state
        .store
        .create_session(&session)
        .await
        .map_err(|e| unavailable(state, &e))?;
    let cookie = cookies::set_session(&state.config.issuer, &secret, lifetime);
    Ok((session, cookie))
}

/// The login is kept: it ends the browser's previous session and is counted.
async fn replace_previous(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
) -> Result<(), Response> {
    let now = state.clock.now();
    if let Some(old) = cookies::read_session(&state.config.issuer, headers) {
        match state.store.get_session(&cookies::sha256(&old), now).await {
            Ok(Some(previous)) if previous.sid != session.sid => {
                if let Err(e) = state.store.delete_session(&previous.sid).await {
                    return Err(unavailable(state, &e));
                }
            }
            Ok(_) => {}
            Err(e) => return Err(unavailable(state, &e)),
        }
    }
    state
        .store
        .record_login(&session.user_id, now)
        .await
        .map_err(|e| unavailable(state, &e))
}

/// After a successful authentication: the session, then the rest of the flow.
pub(crate) async fn log_in(
    state: &AppState,
    headers: &HeaderMap,
    tx: &AuthorizeTx,
    user: User,
) -> Response {
    let (session, cookie) = match new_session(state, &user).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(res) = replace_previous(state, headers, &session).await {
        return res;
    }
    resume_logged_in(state, tx, session, cookie, user).await
}

/// With the session made: the rest of the flow, and the session cookie.
async fn resume_logged_in(
    state: &AppState,
    tx: &AuthorizeTx,
    session: Session,
    cookie: Vec<HeaderValue>,
    user: User,
) -> Response {
    tracing::info!(user_id = %user.user_id, client_id = %tx.client_id, "user logged in");
    let pair = (session, user);
    let res = match flow::resume(state, tx, Some(&pair), true).await {
        Ok(r) | Err(r) => r,
    };
    with_cookie(res, cookie)
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
        let a = failure_key("c", "ann@example.com", &PeerIp(Some([192, 0, 2, 1].into())));
        let b = failure_key("c", "ann@example.com", &PeerIp(Some([192, 0, 2, 2].into())));
        assert_ne!(a, b);
        assert!(!a.contains("ann"));
    }
}
