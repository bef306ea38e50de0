//! `GET /authorize` and what follows: resuming a pending request once the user
//! has a session (login) and has consented, issuing the code, and answering the
//! client (`query` or `form_post`, with `iss` per RFC 9207).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::{self, RedirectError, granted_scopes};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::flow::{AuthCode, AuthorizeTx, Session};
use tessera_core::model::User;
use tessera_core::params::Params;
use tessera_core::store::StoreError;
use tessera_core::token::opaque::{new_secret_value, token_hash};

use super::cookies;
use super::html::{self, escape};
use crate::state::AppState;

/// Codes live 60 s.
pub const CODE_LIFETIME: i64 = 60;

/// Where the browser goes next, or what went wrong.
pub type FlowResult = Result<Response, Response>;

fn store_failure(state: &AppState, e: StoreError) -> Response {
    tracing::error!(error = %e, "interactive flow storage error");
    html::error_page(
        &state.config.branding,
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        "The service could not complete your request. Please try again.",
    )
}

/// Appends the response parameters to the redirect URI (keeping its own query).
fn redirect_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

/// Sends the response parameters to the client's redirect URI.
pub fn to_client(
    state: &AppState,
    redirect_uri: &str,
    response_mode: &str,
    pairs: &[(&str, &str)],
) -> Response {
    if response_mode == "form_post" {
        // OIDC Form Post Response Mode: an auto-submitting form; without
        // JavaScript the button submits it.
        const SCRIPT: &str = "document.forms[0].submit()";
        let hash = tessera_core::ids::csp_hash(SCRIPT);
        let inputs: String = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape(k),
                    escape(v)
                )
            })
            .collect();
        let content = format!(
            "<form method=\"post\" action=\"{}\">{inputs}<noscript><p>Continue to the application.</p></noscript><button type=\"submit\">Continue</button></form><script>{SCRIPT}</script>",
            escape(redirect_uri)
        );
        let origin = html::redirect_source(redirect_uri).unwrap_or_default();
        let body = html::page(
            &state.config.branding,
            "Returning to the application",
            &content,
        );
        return html::respond(StatusCode::OK, body, &html::csp(Some(&origin), Some(&hash)));
    }
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&redirect_url(redirect_uri, pairs)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// An error back to the client: `error`, `error_description`, `state`, `iss`.
pub fn error_to_client(state: &AppState, e: &RedirectError) -> Response {
    let issuer = state.config.issuer.as_str();
    let mut pairs = vec![
        ("error", e.error.code.as_str()),
        ("error_description", e.error.description.as_str()),
    ];
    if let Some(s) = &e.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", issuer));
    to_client(state, &e.redirect_uri, &e.response_mode, &pairs)
}

fn tx_error(tx: &AuthorizeTx, code: ErrorCode, description: &str) -> RedirectError {
    RedirectError {
        redirect_uri: tx.redirect_uri.clone(),
        response_mode: tx.response_mode.clone(),
        state: tx.state.clone(),
        error: OAuthError::new(code, description),
    }
}

/// A redirect to a hosted page (302; a 303 after a form post, see
/// [`super::see_other_after_post`]).
fn to_page(location: String) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The live session of this browser, and its user (blocked or deleted users
/// have none).
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, StoreError> {
    let Some(secret) = cookies::read(&state.config.issuer, headers, cookies::SESSION) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let Some(session) = state
        .store
        .get_session(&cookies::sha256(&secret), now)
        .await?
    else {
        return Ok(None);
    };
    match state.store.get_user(&session.user_id).await? {
        Some(user) if !user.blocked => Ok(Some((session, user))),
        _ => {
            state.store.delete_session(&session.sid).await?;
            Ok(None)
        }
    }
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let branding = &state.config.branding;
    let params = match Params::from_pairs(pairs) {
        Ok(p) => p,
        Err(e) => {
            return html::error_page(
                branding,
                StatusCode::BAD_REQUEST,
                "Invalid request",
                &e.description,
            );
        }
    };
    let client = match params.get("client_id") {
        Some(id) => match state.store.get_client(id).await {
            Ok(found) => found.map(|(c, _)| c),
            Err(e) => return store_failure(&state, e),
        },
        None => None,
    };
    let (client, redirect_uri) = match authorize::check_client(&params, client.as_ref()) {
        Ok(ok) => ok,
        Err(e) => return html::error_page(branding, StatusCode::BAD_REQUEST, e.title, &e.detail),
    };
    let audience = params.get("audience").or_else(|| params.get("resource"));
    let api = match audience {
        Some(aud) => match state.store.get_resource_server_by_identifier(aud).await {
            Ok(api) => api,
            Err(e) => return store_failure(&state, e),
        },
        None => None,
    };
    let now = state.clock.now();
    let mut tx = match authorize::check_request(&params, client, redirect_uri, api.as_ref(), now) {
        Ok(tx) => tx,
        Err(e) => return error_to_client(&state, &e),
    };
    // Bind the pending request to this browser with a value of the server's,
    // fresh for every request: whatever transaction cookies the browser sends —
    // planted ones, even values this server once issued to whoever asked — are
    // never adopted or sent back. The cookie's name is specific to the request
    // (several tabs keep their own), and it lives as long as the request.
    tx.id = match new_secret_value() {
        Ok(v) => v,
        Err(_) => return store_failure(&state, StoreError::Backend("rng".into())),
    };
    let Some(browser_value) = cookies::new_value() else {
        return store_failure(&state, StoreError::Backend("rng".into()));
    };
    tx.browser_binding = cookies::sha256(&browser_value);
    if let Err(e) = state.store.put_authorize_tx(&tx).await {
        return store_failure(&state, e);
    }
    let session = match current_session(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return store_failure(&state, e),
    };
    match next_step(&state, &tx, session.as_ref(), false).await {
        // The browser goes on to a hosted page: it needs the binding.
        Step::Pending(res) => {
            super::with_cookie(res, super::bind_transaction(&state, &tx, &browser_value))
        }
        // Answered at once (SSO, or an error): no cookie was ever needed.
        Step::Finished(res) => res,
    }
}

/// Where a pending request stands after [`next_step`].
enum Step {
    /// The request goes on (a hosted page), or could not be decided (a storage
    /// failure page); it stays stored, and so does its cookie.
    Pending(Response),
    /// The client has its answer (the code, or an error); the request is gone.
    Finished(Response),
}

/// Decides the next step of a pending request (see [`next_step`]); a finished
/// request's transaction cookie is cleared. `Ok` is the code.
pub async fn resume(
    state: &AppState,
    tx: &AuthorizeTx,
    session: Option<&(Session, User)>,
    fresh_login: bool,
) -> FlowResult {
    match next_step(state, tx, session, fresh_login).await {
        Step::Pending(res) => Err(res),
        Step::Finished(res) => Ok(super::with_cookie(res, super::clear_transaction(state, tx))),
    }
}

/// An error for the client of `tx`, which is forgotten.
async fn finish_with_error(
    state: &AppState,
    tx: &AuthorizeTx,
    code: ErrorCode,
    description: &str,
) -> Step {
    if let Err(e) = state.store.delete_authorize_tx(&tx.id).await {
        tracing::warn!(error = %e, "could not delete a finished login request");
    }
    Step::Finished(error_to_client(state, &tx_error(tx, code, description)))
}

/// Decides the next step of a pending request: log in, consent, or the code.
/// `fresh_login` is true right after the user authenticated on our page (so
/// `prompt=login` and `max_age` are satisfied).
async fn next_step(
    state: &AppState,
    tx: &AuthorizeTx,
    session: Option<&(Session, User)>,
    fresh_login: bool,
) -> Step {
    let now = state.clock.now();
    let prompt = |p: &str| tx.prompt.iter().any(|x| x == p);
    let login_page = format!("{}?state={}", state.config.issuer.join("u/login"), tx.id);
    let needs_login = match session {
        None => true,
        Some((s, _)) if !fresh_login => {
            prompt("login") || tx.max_age.is_some_and(|max| now - s.auth_time > max)
        }
        Some(_) => false,
    };
    if needs_login {
        if prompt("none") {
            return finish_with_error(
                state,
                tx,
                ErrorCode::LoginRequired,
                "the user is not logged in",
            )
            .await;
        }
        return Step::Pending(to_page(login_page));
    }
    let Some((session, user)) = session else {
        return Step::Pending(to_page(login_page));
    };
    let client = match state.store.get_client(&tx.client_id).await {
        Ok(Some((c, _))) => c,
        Ok(None) => {
            return finish_with_error(
                state,
                tx,
                ErrorCode::UnauthorizedClient,
                "the application no longer exists",
            )
            .await;
        }
        Err(e) => return Step::Pending(store_failure(state, e)),
    };
    let api = match &tx.audience {
        Some(aud) => match state.store.get_resource_server_by_identifier(aud).await {
            Ok(Some(api)) => Some(api),
            Ok(None) => {
                return finish_with_error(state, tx, ErrorCode::AccessDenied, "Service not found")
                    .await;
            }
            Err(e) => return Step::Pending(store_failure(state, e)),
        },
        None => None,
    };
    let scope = granted_scopes(&tx.scope, api.as_ref());
    if !client.is_first_party {
        // Third-party applications need the user's consent to the scopes asked,
        // remembered per user, application and API.
        let audience = tx.audience.clone().unwrap_or_default();
        let given = match state
            .store
            .get_consent(&user.user_id, &client.client_id, &audience)
            .await
        {
            Ok(g) => g.unwrap_or_default(),
            Err(e) => return Step::Pending(store_failure(state, e)),
        };
        let covered = scope.iter().all(|s| given.contains(s));
        if !covered || (prompt("consent") && !fresh_login) {
            if prompt("none") {
                return finish_with_error(
                    state,
                    tx,
                    ErrorCode::ConsentRequired,
                    "the user has not consented",
                )
                .await;
            }
            return Step::Pending(to_page(format!(
                "{}?state={}",
                state.config.issuer.join("u/consent"),
                tx.id
            )));
        }
    }
    match issue_code(state, tx, session, scope).await {
        Ok(res) => Step::Finished(res),
        Err(res) => Step::Pending(res),
    }
}

/// Stores a code for the request, forgets the request and sends the code to the
/// client (`Ok`). The caller clears the request's transaction cookie.
pub async fn issue_code(
    state: &AppState,
    tx: &AuthorizeTx,
    session: &Session,
    scope: Vec<String>,
) -> FlowResult {
    let now = state.clock.now();
    let code =
        new_secret_value().map_err(|_| store_failure(state, StoreError::Backend("rng".into())))?;
    let record = AuthCode {
        client_id: tx.client_id.clone(),
        redirect_uri: tx.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        sid: session.sid.clone(),
        scope,
        audience: tx.audience.clone(),
        nonce: tx.nonce.clone(),
        code_challenge: tx.code_challenge.clone(),
        auth_time: session.auth_time,
        expires_at: now + CODE_LIFETIME,
    };
    state
        .store
        .put_code(&token_hash(&code), &record)
        .await
        .map_err(|e| store_failure(state, e))?;
    state
        .store
        .delete_authorize_tx(&tx.id)
        .await
        .map_err(|e| store_failure(state, e))?;
    let issuer = state.config.issuer.as_str();
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &tx.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", issuer));
    Ok(to_client(
        state,
        &tx.redirect_uri,
        &tx.response_mode,
        &pairs,
    ))
}
