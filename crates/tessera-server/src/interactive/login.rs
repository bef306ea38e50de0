//! `GET/POST u/login`: the hosted login page of a database connection.
//!
//! The password is checked by [`super::password_check`], the one check the
//! password grants use too: the same work for unknown emails, the brute-force
//! lockout reserved before the check, the password gate.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use tessera_core::flow::{AuthorizeTx, Session};
use tessera_core::grant::resource_owner::{PasswordVerdict, credentials_unchanged};
use tessera_core::model::User;
use tessera_core::token::opaque::new_secret_value;

use super::credentials::Credentials;
use super::gate::Busy;
use super::html::{self, escape};
use super::limits::PeerIp;
use super::password_check::check_password;
use super::{
    browser_secret, busy_page, connection_for, cookies, csrf_ok, flow, forbidden, form_pairs,
    page_url, param, pending, query_pairs, signup_disabled, unavailable, with_cookie,
};
use crate::audit::{RequestFacts, login_event};
use crate::state::AppState;
use tessera_core::log_event::LogType;
use tessera_core::model::Connection;

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
    /// Upstream connections enabled for the client: (name, label).
    upstream: &'a [(String, String)],
    /// The email and password form (false: the client may use no database
    /// connection, only the buttons).
    password_form: bool,
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
    let buttons: String = f
        .upstream
        .iter()
        .map(|(name, label)| {
            format!(
                "<p><a class=\"button\" href=\"{}\">Continue with {}</a></p>",
                escape(&crate::upstream::start_url(state, f.tx, name)),
                escape(label)
            )
        })
        .collect();
    let intro = format!(
        "<p>Log in to {} to continue to {}.</p>{error}{buttons}",
        escape(&state.branding().tenant_name),
        escape(f.client_name)
    );
    if !f.password_form {
        let body = html::page(&state.branding(), "Log in", &intro);
        return html::respond(status, body, &html::form_csp(&f.tx.redirect_uri));
    }
    let content = format!(
        "{intro}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"state\" value=\"{state_id}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"email\">Email address</label><input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" required{value}>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Continue</button></form>{signup}",
        action = escape(&state.config.issuer.join("u/login")),
        state_id = escape(&f.tx.id),
        csrf = escape(f.csrf),
    );
    let body = html::page(&state.branding(), "Log in", &content);
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
    let upstream = match upstream_buttons(&state, &tx).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let client_name = match name_of_client(&state, &tx).await {
        Ok(n) => n,
        Err(res) => return res,
    };
    // A client that may use upstream providers but no database connection
    // gets only their buttons.
    if tx.connection.is_none() && !upstream.is_empty() {
        match state
            .store
            .get_connection_by_name(super::DEFAULT_CONNECTION)
            .await
        {
            Ok(Some(c)) if c.is_database() && c.usable_by(&tx.client_id) => {}
            Ok(_) => {
                return render(
                    &state,
                    StatusCode::OK,
                    &Form {
                        tx: &tx,
                        csrf: &csrf,
                        email: None,
                        error: None,
                        signup: false,
                        client_name: &client_name,
                        upstream: &upstream,
                        password_form: false,
                    },
                );
            }
            Err(e) => return unavailable(&state, &e),
        }
    }
    let connection = match connection_for(&state, &tx).await {
        Ok(c) => c,
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
            upstream: &upstream,
            password_form: true,
        },
    )
}

/// The upstream connections enabled for `tx`'s client (a button each);
/// none when the request names its connection (`connection=`).
async fn upstream_buttons(
    state: &AppState,
    tx: &AuthorizeTx,
) -> Result<Vec<(String, String)>, Response> {
    use tessera_core::manage::upstream_options::{OAUTH2_STRATEGY, OIDC_STRATEGY};
    use tessera_core::store::{ConnectionFilter, Page};
    if tx.connection.is_some() {
        return Ok(Vec::new());
    }
    let filter = ConnectionFilter {
        strategies: vec![OIDC_STRATEGY.into(), OAUTH2_STRATEGY.into()],
        name: None,
    };
    let (found, _) = state
        .store
        .list_connections(
            &filter,
            Page {
                page: 0,
                per_page: 100,
            },
        )
        .await
        .map_err(|e| unavailable(state, &e))?;
    Ok(found
        .into_iter()
        .filter(|c| c.usable_by(&tx.client_id))
        .map(|c| {
            let label = c.display_name.clone().unwrap_or_else(|| c.name.clone());
            (c.name, label)
        })
        .collect())
}

/// `POST u/login`.
pub async fn submit(
    State(state): State<AppState>,
    ip: PeerIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let facts = RequestFacts::new(ip, &headers);
    let Some(mut form) = form_pairs(&headers, &body) else {
        return html::error_page(
            &state.branding(),
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
                upstream: &[],
                password_form: true,
            },
        )
    };
    let Some(password) = password.filter(|_| !email.is_empty()) else {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your email address and password.",
        );
    };
    match check_password(&state, &connection, ip.0, &email, password, &tx.client_id).await {
        Ok(PasswordVerdict::Valid {
            user,
            identity,
            hash,
        }) => {
            let (session, cookie) = match new_session(&state, &user, None).await {
                Ok(s) => s,
                Err(res) => return res,
            };
            // A password change or a block ends the user's sessions, but the
            // one made here may have come just after that purge, from a
            // password checked just before the change. Read the credentials
            // again now that the session exists: either the purge saw this
            // session, or this read sees the change. Only then does the new
            // session replace the browser's previous one.
            match credentials_unchanged(
                state.store.as_ref(),
                &connection.name,
                &identity,
                &hash,
                &user,
            )
            .await
            {
                Ok(true) => {
                    let now = match replace_previous(&state, &headers, &session).await {
                        Ok(now) => now,
                        Err(res) => return res,
                    };
                    record_login(&state, &facts, &tx, &connection, &user);
                    let user = user.with_login_counted(now);
                    resume_logged_in(&state, &tx, session, cookie, user).await
                }
                Ok(false) => match state.store.delete_session(&session.sid).await {
                    Ok(()) => again(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS),
                    Err(e) => unavailable(&state, &e),
                },
                Err(e) => unavailable(&state, &e),
            }
        }
        Ok(PasswordVerdict::Wrong { .. }) => again(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS),
        Ok(PasswordVerdict::Blocked { .. }) => again(StatusCode::FORBIDDEN, BLOCKED),
        Ok(PasswordVerdict::TooMany) => again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS),
        Ok(PasswordVerdict::Busy { retry_after }) => busy_page(&state, Busy { retry_after }),
        Err(e) => unavailable(&state, &e),
    }
}

/// A new session for `user`, with its cookie (the browser's previous session
/// is ended by [`replace_previous`]).
async fn new_session(
    state: &AppState,
    user: &User,
    auth_time: Option<tessera_core::clock::UnixTime>,
) -> Result<(Session, Vec<HeaderValue>), Response> {
    let now = state.clock.now();
    let (Ok(secret), Ok(sid)) = (new_secret_value(), tessera_core::ids::alphanumeric(32)) else {
        return Err(unavailable(state, &"the random number generator failed"));
    };
    let lifetime = state.settings().await.session_lifetime;
    let session = Session {
        secret_hash: cookies::sha256(&secret),
        sid,
        user_id: user.user_id.clone(),
        auth_time: auth_time.unwrap_or(now),
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

/// The login is kept: it ends the browser's previous session and is counted
/// (at the time answered).
async fn replace_previous(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
) -> Result<tessera_core::clock::UnixTime, Response> {
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
        .map_err(|e| unavailable(state, &e))?;
    Ok(now)
}

/// A successful login (`s`) in the tenant's log.
fn record_login(
    state: &AppState,
    facts: &RequestFacts,
    tx: &AuthorizeTx,
    connection: &Connection,
    user: &User,
) {
    let mut event = login_event(
        state,
        LogType::SuccessLogin,
        facts,
        &tx.client_id,
        connection,
    );
    event.user_id = Some(user.user_id.clone());
    event.user_name = user.email.clone();
    state.logs.record(event);
}

/// After a successful authentication at `connection`: the session (its
/// `auth_time` the upstream provider's when given, else now), then the rest
/// of the flow.
pub(crate) async fn log_in(
    state: &AppState,
    headers: &HeaderMap,
    facts: &RequestFacts,
    tx: &AuthorizeTx,
    connection: &Connection,
    user: User,
    auth_time: Option<tessera_core::clock::UnixTime>,
) -> Response {
    let (session, cookie) = match new_session(state, &user, auth_time).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    // A block ends the user's sessions, but the caller checked `blocked`
    // before this session existed: read the user again now that it does, as
    // the password path does. Either the purge saw this session, or this
    // read sees the block.
    match state.store.get_user(&user.user_id).await {
        Ok(Some(now)) if !now.blocked => {}
        Ok(_) => {
            if let Err(e) = state.store.delete_session(&session.sid).await {
                return unavailable(state, &e);
            }
            tracing::warn!(client_id = %tx.client_id, "login refused: the user was blocked or deleted meanwhile");
            let e = tessera_core::error::OAuthError::new(
                tessera_core::error::Reason::UpstreamDenied,
                "the user is blocked",
            );
            return super::fail_to_client(state, tx, e).await;
        }
        Err(e) => return unavailable(state, &e),
    }
    record_login(state, facts, tx, connection, &user);
    let now = match replace_previous(state, headers, &session).await {
        Ok(now) => now,
        Err(res) => return res,
    };
    resume_logged_in(state, tx, session, cookie, user.with_login_counted(now)).await
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
    use tessera_core::flow::{ResponseMode, ResponseType};

    /// Review of issue 14, finding 9: a block that lands between the
    /// caller's `blocked` check and the session (here: the caller's copy of
    /// the user is from before the block) leaves no session behind, and the
    /// client gets `access_denied`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_during_the_login_leaves_no_session() {
        let s = crate::testing::start().await;
        let state = &s.state;
        let now = state.clock.now();
        let connection = Connection {
            id: "con_up".into(),
            name: "Up".into(),
            strategy: "oidc".into(),
            ..Default::default()
        };
        let profile = tessera_core::upstream::UpstreamProfile {
            id: "sub-1".into(),
            ..Default::default()
        };
        let before = tessera_core::upstream::new_user(&connection, &profile, now);
        state.store.create_user(&before, None).await.unwrap();
        let mut blocked = before.clone();
        blocked.blocked = true;
        assert!(state.store.update_user(&blocked, None).await.unwrap());
        let tx = AuthorizeTx {
            id: "tx-block".into(),
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            response_type: ResponseType::Code,
            response_mode: ResponseMode::Query,
            scope: vec!["openid".into()],
            audience: None,
            state: Some("st".into()),
            nonce: None,
            code_challenge: None,
            prompt: Vec::new(),
            max_age: None,
            login_hint: None,
            connection: None,
            browser_binding: Vec::new(),
            created_at: now,
            expires_at: now + 600,
        };
        let facts = RequestFacts::new(
            PeerIp(Some("127.0.0.1".parse().unwrap())),
            &HeaderMap::new(),
        );
        let res = log_in(
            state,
            &HeaderMap::new(),
            &facts,
            &tx,
            &connection,
            before.clone(),
            None,
        )
        .await;
        let location = res
            .headers()
            .get(axum::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            location.starts_with("https://app.example/cb?error=access_denied"),
            "{location}"
        );
        assert_eq!(
            state
                .store
                .delete_user_sessions(&before.user_id)
                .await
                .unwrap(),
            0,
            "no session survives"
        );
    }
}
