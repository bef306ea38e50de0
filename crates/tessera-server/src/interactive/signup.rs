//! `GET/POST u/signup`: a new user of the database connection, logged in at
//! once. A connection with `options.disable_signup: true` has no sign-up page
//! (404). An email already registered gets Auth0's generic "Something went
//! wrong" after the same work as a success (the password is hashed first).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use tessera_core::flow::AuthorizeTx;
use tessera_core::manage::users::{self, CreateError, CreateUser, NewDatabaseUser};
use tessera_core::model::Connection;
use tessera_core::password::PasswordPolicy;
use tessera_core::store::StoreError;

use super::credentials::Credentials;
use super::gate;
use super::html::{self, escape};
use super::{
    browser_secret, busy_page, connection_for, csrf_ok, forbidden, form_pairs, login, page_url,
    param, pending, query_pairs, signup_disabled, unavailable,
};
use crate::audit::{RequestFacts, login_event};
use crate::state::AppState;
use tessera_core::log_event::LogType;

/// Auth0's answer to a sign-up with an email already registered.
pub const DUPLICATE: &str = "Something went wrong, please try again later.";

struct Form<'a> {
    tx: &'a AuthorizeTx,
    csrf: &'a str,
    email: Option<&'a str>,
    error: Option<&'a str>,
    policy: PasswordPolicy,
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
    let min = f.policy.min_length;
    let content = format!(
        "<p>Sign up to {tenant} to continue to {client}.</p>{error}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"state\" value=\"{state_id}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"email\">Email address</label><input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" required{value}>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" aria-describedby=\"password-rules\">\
<p class=\"small\" id=\"password-rules\">At least {min} characters.</p>\
<button type=\"submit\">Continue</button></form>\
<p class=\"small\">Already have an account? <a href=\"{login}\">Log in</a></p>",
        tenant = escape(&state.branding().tenant_name),
        client = escape(f.client_name),
        action = escape(&state.config.issuer.join("u/signup")),
        state_id = escape(&f.tx.id),
        csrf = escape(f.csrf),
        login = escape(&page_url(state, "u/login", f.tx)),
    );
    let body = html::page(&state.branding(), "Sign up", &content);
    html::respond(status, body, &html::form_csp(&f.tx.redirect_uri))
}

fn no_signup(state: &AppState) -> Response {
    html::error_page(
        &state.branding(),
        StatusCode::NOT_FOUND,
        "Sign-up is not available",
        "New accounts cannot be created here. Go back and log in with an existing account.",
    )
}

/// The pending request, the browser's CSRF secret and the connection, for a
/// page that exists only when sign-ups are allowed.
async fn context(
    state: &AppState,
    headers: &HeaderMap,
    tx: &AuthorizeTx,
) -> Result<(String, Connection, String), Response> {
    let csrf = browser_secret(state, headers, tx).ok_or_else(|| forbidden(state))?;
    let connection = connection_for(state, tx).await?;
    if signup_disabled(&connection) {
        return Err(no_signup(state));
    }
    let client_name = super::client_name(state, &tx.client_id)
        .await
        .map_err(|e| unavailable(state, &e))?;
    Ok((csrf, connection, client_name))
}

/// `GET u/signup?state=ID`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let tx = match pending(&state, param(&query, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    let (csrf, connection, client_name) = match context(&state, &headers, &tx).await {
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
            policy: PasswordPolicy::from_options(&connection.options),
            client_name: &client_name,
        },
    )
}

/// The message for a refused input.
fn problem(e: &tessera_core::manage::Invalid) -> String {
    match e.property.as_str() {
        "email" => "Enter a valid email address.".into(),
        _ => e
            .problem
            .trim_start_matches("PasswordStrengthError: ")
            .to_owned(),
    }
}

/// `POST u/signup`.
pub async fn submit(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let (_, connection, client_name) = match context(&state, &headers, &tx).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let failed = |description: &str| {
        let mut event = login_event(
            &state,
            LogType::FailedSignup,
            &facts,
            &tx.client_id,
            &connection,
        );
        event.user_name = Some(email.chars().take(256).collect());
        event.description = description.to_owned();
        state.logs.record(event);
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
                policy: PasswordPolicy::from_options(&connection.options),
                client_name: &client_name,
            },
        )
    };
    let Some(password) = password.filter(|_| !email.is_empty()) else {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your email address and a password.",
        );
    };
    let input = CreateUser {
        connection: Some(connection.name.clone()),
        email: Some(email.clone()),
        password: Some(password),
        ..CreateUser::default()
    };
    let NewDatabaseUser {
        user,
        password: to_hash,
    } = match users::create(input, Some(&connection), state.clock.now()) {
        Ok(u) => u,
        Err(CreateError::Invalid(e)) => {
            failed(&problem(&e));
            return again(StatusCode::BAD_REQUEST, &problem(&e));
        }
        // The page asks for no username.
        Err(CreateError::Username(e)) => {
            failed(&e.to_string());
            return again(StatusCode::BAD_REQUEST, &e.to_string());
        }
        Err(CreateError::Rng(e)) => return unavailable(&state, &e),
    };
    // argon2 runs through the password gate; past it, 503 with Retry-After.
    let hash = match gate::hash_password(&state, to_hash).await {
        Ok(h) => h,
        Err(gate::HashFailure::Busy(busy)) => return busy_page(&state, busy),
        Err(e) => return unavailable(&state, &e),
    };
    match state.store.create_user(&user, Some(&hash)).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            failed(DUPLICATE);
            return again(StatusCode::BAD_REQUEST, DUPLICATE);
        }
        Err(e) => return unavailable(&state, &e),
    }
    tracing::info!(user_id = %user.user_id, connection = %connection.name, "user signed up");
    let mut event = login_event(
        &state,
        LogType::SuccessSignup,
        &facts,
        &tx.client_id,
        &connection,
    );
    event.user_id = Some(user.user_id.clone());
    event.user_name = user.email.clone();
    state.logs.record(event);
    if super::verify_email::wanted(&connection)
        && let Err(e) =
            super::verify_email::send_verification(&state, &user, Some(&tx.client_id)).await
    {
        // The sign-up stands; the user can ask for another email.
        tracing::error!(error = %e, user_id = %user.user_id, "verification email not sent");
    }
    login::log_in(&state, &headers, &facts, &tx, &connection, user, None).await
}
