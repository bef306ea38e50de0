//! `GET /authorize` and what follows: resuming a pending request once the user
//! has a session (login) and has consented, issuing the code and/or the ID
//! token, and answering the client (`query`, `fragment`, `form_post` or
//! `web_message`, with `iss` per RFC 9207).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::{self, Decision, FrontChannelIdToken, RedirectError, Situation};
use tessera_core::error::OAuthError;
use tessera_core::extensibility::{HookError, PostLogin, Protocol, TokenCustomization};
use tessera_core::flow::{AuthCode, AuthorizeTx, ResponseMode, Session};
use tessera_core::model::TriggerId;
use tessera_core::model::{Client, ResourceServer, User};
use tessera_core::params::Params;
use tessera_core::store::StoreError;
use tessera_core::token::opaque::{new_secret_value, token_hash};

use super::cookies;
use super::html::{self, escape};
use crate::error::{redirect_params, with_reason};
use crate::state::AppState;

/// Codes live 60 s.
pub const CODE_LIFETIME: i64 = 60;

/// Where the browser goes next, or what went wrong.
pub type FlowResult = Result<Response, Response>;

/// The redirect URI with the response parameters: appended to its query
/// (keeping its own parameters), or as its fragment.
fn redirect_url(redirect_uri: &str, pairs: &[(&str, &str)], in_fragment: bool) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) if in_fragment => {
            let mut fragment = url::form_urlencoded::Serializer::new(String::new());
            fragment.extend_pairs(pairs);
            url.set_fragment(Some(&fragment.finish()));
            url.to_string()
        }
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

/// Sends the response parameters to the client's redirect URI, the way
/// `response_mode` says.
pub fn to_client(
    state: &AppState,
    redirect_uri: &str,
    response_mode: ResponseMode,
    pairs: &[(&str, &str)],
) -> Response {
    match response_mode {
        ResponseMode::FormPost => form_post(state, redirect_uri, pairs),
        ResponseMode::WebMessage => web_message(redirect_uri, pairs),
        ResponseMode::Query | ResponseMode::Fragment => {
            let url = redirect_url(redirect_uri, pairs, response_mode == ResponseMode::Fragment);
            let mut res = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    }
}

/// OIDC Form Post Response Mode: an auto-submitting form (its one script
/// allowed by its hash); without JavaScript the button submits it.
fn form_post(state: &AppState, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
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
    let body = html::page(&state.branding(), "Returning to the application", &content);
    html::respond(StatusCode::OK, body, &html::csp(Some(&origin), Some(&hash)))
}

/// Auth0's `web_message` response mode: a page whose one script (allowed by
/// its hash; the data rides in attributes, never in script text) posts
/// `{type: "authorization_response", response: {...}}` to the window that
/// opened it (a popup's opener) or framed it (silent authentication's hidden
/// iframe), with the redirect URI's origin as `targetOrigin`, so no other
/// window ever receives it. `/authorize` only accepts `web_message` for a
/// redirect URI on one of the client's web origins; only that origin may
/// frame this page (`frame-ancestors`), every other page stays unframeable.
fn web_message(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    const SCRIPT: &str = "(function(){var e=document.getElementById(\"r\");var w=window.opener||window.parent;w.postMessage({type:\"authorization_response\",response:JSON.parse(e.getAttribute(\"data-response\"))},e.getAttribute(\"data-origin\"))})()";
    let Some(origin) = authorize::origin_of(redirect_uri) else {
        // Checked at /authorize; a stored request cannot name another.
        return StatusCode::BAD_REQUEST.into_response();
    };
    let response: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><title>Authorization response</title></head><body><div id=\"r\" data-origin=\"{}\" data-response=\"{}\"></div><script>{SCRIPT}</script></body></html>",
        escape(&origin),
        escape(&serde_json::Value::Object(response).to_string()),
    );
    let csp = format!(
        "default-src 'none'; script-src {}; frame-ancestors {origin}; form-action 'none'; base-uri 'none'",
        tessera_core::ids::csp_hash(SCRIPT)
    );
    html::respond_framable(StatusCode::OK, body, &csp)
}

/// An error back to the client: `error`, `error_description`, `state`, `iss`.
pub fn error_to_client(state: &AppState, e: &RedirectError) -> Response {
    let mut pairs = redirect_params(&e.error, e.state.as_deref());
    pairs.push(("iss", state.config.issuer.as_str()));
    let res = to_client(state, &e.redirect_uri, e.response_mode, &pairs);
    with_reason(res, e.error.reason())
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
    let Some(secret) = cookies::read_session(&state.config.issuer, headers) else {
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
    // The tenant's idle session lifetime: a session unused that long is over.
    if let Some(idle) = state.settings().await.idle_session_lifetime
        && session.last_seen.saturating_add(idle) <= now
    {
        state.store.delete_session(&session.sid).await?;
        return Ok(None);
    }
    // One write a minute at most per session; best effort (a failed touch
    // only shortens the idle lifetime, it does not refuse the request).
    if now - session.last_seen >= SESSION_TOUCH_INTERVAL
        && let Err(e) = state.store.touch_session(&session.sid, now).await
    {
        tracing::warn!(error = %e, "could not record a session's use");
    }
    match state.store.get_user(&session.user_id).await? {
        Some(user) if !user.blocked => Ok(Some((session, user))),
        _ => {
            state.store.delete_session(&session.sid).await?;
            Ok(None)
        }
    }
}

/// How stale a session's `last_seen` may be before a use records it.
const SESSION_TOUCH_INTERVAL: i64 = 60;

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut pairs): Query<Vec<(String, String)>>,
) -> Response {
    let branding = &state.branding();
    // Auth0's tenant setting `default_audience`: the API of a request that
    // names none.
    if !pairs
        .iter()
        .any(|(k, _)| k == "audience" || k == "resource")
        && let Some(audience) = state.settings().await.default_audience
    {
        // Unless it was deleted since (then none).
        match state
            .store
            .get_resource_server_by_identifier(&audience)
            .await
        {
            Ok(Some(_)) => pairs.push(("audience".into(), audience)),
            Ok(None) => tracing::warn!("the tenant's default_audience names no API; none used"),
            Err(e) => return super::unavailable(&state, &e),
        }
    }
    let params = match Params::from_pairs(pairs) {
        Ok(p) => p,
        Err(e) => {
            let page = html::error_page(
                branding,
                StatusCode::BAD_REQUEST,
                "Invalid request",
                e.description(),
            );
            return with_reason(page, e.reason());
        }
    };
    let client = match params.get("client_id") {
        Some(id) => match state.store.get_client(id).await {
            Ok(found) => found.map(|(c, _)| c),
            Err(e) => return super::unavailable(&state, &e),
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
            Err(e) => return super::unavailable(&state, &e),
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
        Err(e) => return super::unavailable(&state, &e),
    };
    let browser_value = match new_secret_value() {
        Ok(v) => v,
        Err(e) => return super::unavailable(&state, &e),
    };
    tx.browser_binding = cookies::sha256(&browser_value);
    if let Err(e) = state.store.put_authorize_tx(&tx).await {
        return super::unavailable(&state, &e);
    }
    let session = match current_session(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return super::unavailable(&state, &e),
    };
    // The client and API were just read for the checks: no second read.
    let loaded = Loaded {
        client: Some(client.clone()),
        api,
    };
    match next_step(&state, &tx, session.as_ref(), false, Some(loaded)).await {
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
    match next_step(state, tx, session, fresh_login, None).await {
        Step::Pending(res) => Err(res),
        Step::Finished(res) => Ok(super::with_cookie(res, super::clear_transaction(state, tx))),
    }
}

/// An error for the client of `tx`, which is forgotten.
async fn finish_with_error(state: &AppState, tx: &AuthorizeTx, error: OAuthError) -> Step {
    if let Err(e) = state.store.delete_authorize_tx(&tx.id).await {
        tracing::warn!(error = %e, "could not delete a finished login request");
    }
    Step::Finished(error_to_client(state, &RedirectError::for_tx(tx, error)))
}

/// The request's client and API as stored now (`None`: gone, or no API asked).
struct Loaded {
    client: Option<Client>,
    api: Option<ResourceServer>,
}

async fn load(state: &AppState, tx: &AuthorizeTx) -> Result<Loaded, StoreError> {
    let client = state.store.get_client(&tx.client_id).await?.map(|(c, _)| c);
    let api = match &tx.audience {
        Some(aud) => state.store.get_resource_server_by_identifier(aud).await?,
        None => None,
    };
    Ok(Loaded { client, api })
}

/// Takes what the decision needs (the client and API as stored now — `loaded`
/// when the caller just read them, else read here — and the user's consent
/// when the client asks for it), asks core's
/// [`authorize::decide`], and renders its answer. `fresh_login` is true right
/// after the user authenticated on our page.
async fn next_step(
    state: &AppState,
    tx: &AuthorizeTx,
    session: Option<&(Session, User)>,
    fresh_login: bool,
    loaded: Option<Loaded>,
) -> Step {
    let now = state.clock.now();
    let Loaded { client, api } = match loaded {
        Some(loaded) => loaded,
        None => match load(state, tx).await {
            Ok(loaded) => loaded,
            Err(e) => return Step::Pending(super::unavailable(state, &e)),
        },
    };
    // A session from an earlier login counts only where its user's connection
    // may be used by this client (enabled for it, and the one `connection=`
    // names, if any); otherwise the user logs in again (or `prompt=none`
    // gets `login_required`).
    let session = match session {
        Some(found) if !fresh_login => match session_usable_here(state, tx, &found.1).await {
            Ok(true) => Some(found),
            Ok(false) => None,
            Err(e) => return Step::Pending(super::unavailable(state, &e)),
        },
        other => other,
    };
    let consented = match (session, &client) {
        (Some((_, user)), Some(client)) if authorize::asks_consent(client) => {
            let audience = tx.audience.as_deref().unwrap_or_default();
            match state
                .store
                .get_consent(&user.user_id, &client.client_id, audience)
                .await
            {
                Ok(given) => given.unwrap_or_default(),
                Err(e) => return Step::Pending(super::unavailable(state, &e)),
            }
        }
        _ => Vec::new(),
    };
    let decision = authorize::decide(Situation {
        tx,
        session: session.map(|(s, _)| s),
        fresh_login,
        client: client.as_ref(),
        api: api.as_ref(),
        consented: &consented,
        now,
    });
    let login_page = || {
        Step::Pending(to_page(format!(
            "{}?state={}",
            state.config.issuer.join("u/login"),
            tx.id
        )))
    };
    match decision {
        // `connection=` naming an upstream provider: straight to it.
        Decision::Login => match tx.connection.as_deref() {
            Some(name) => match crate::upstream::usable_connection(state, tx, name).await {
                Ok(Some(c)) => {
                    Step::Pending(to_page(crate::upstream::start_url(state, tx, &c.name)))
                }
                Ok(None) => login_page(),
                Err(e) => Step::Pending(super::unavailable(state, &e)),
            },
            None => login_page(),
        },
        Decision::Consent => Step::Pending(to_page(format!(
            "{}?state={}",
            state.config.issuer.join("u/consent"),
            tx.id
        ))),
        Decision::Deny(error) => finish_with_error(state, tx, error).await,
        Decision::Issue { scope } => match (session, &client) {
            (Some((session, user)), Some(client)) => {
                match issue(state, tx, client, session, user, scope).await {
                    Ok(res) => Step::Finished(res),
                    Err(res) => Step::Pending(res),
                }
            }
            // Never without a client (the decision denies first).
            (_, None) => {
                let gone = OAuthError::new(
                    tessera_core::error::Reason::ClientGone,
                    "the application no longer exists",
                );
                finish_with_error(state, tx, gone).await
            }
            // Never without a session (the decision asks to log in first).
            (None, _) => login_page(),
        },
    }
}

/// May the user of an existing session be signed in to `tx`'s client without
/// logging in again: the user's connection exists and is enabled for the
/// client, and is the one `tx` names (`connection=`), if it names one.
async fn session_usable_here(
    state: &AppState,
    tx: &AuthorizeTx,
    user: &User,
) -> Result<bool, StoreError> {
    if tx
        .connection
        .as_deref()
        .is_some_and(|c| c != user.connection)
    {
        return Ok(false);
    }
    Ok(state
        .store
        .get_connection_by_name(&user.connection)
        .await?
        .is_some_and(|c| c.usable_by(&tx.client_id)))
}

/// The `/authorize` parameters as `event.request.query` shows them.
fn query_of(tx: &AuthorizeTx) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = vec![
        ("client_id".into(), tx.client_id.clone()),
        ("redirect_uri".into(), tx.redirect_uri.clone()),
        ("response_type".into(), tx.response_type.as_str().into()),
        ("scope".into(), tx.scope.join(" ")),
    ];
    let mut opt = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            q.push((k.into(), v.clone()));
        }
    };
    opt("audience", &tx.audience);
    opt("state", &tx.state);
    opt("nonce", &tx.nonce);
    opt("connection", &tx.connection);
    opt("login_hint", &tx.login_hint);
    q
}

/// Runs the post-login actions for the login finishing `tx`.
async fn post_login(
    state: &AppState,
    tx: &AuthorizeTx,
    client: &Client,
    user: &User,
    scope: &[String],
) -> Result<TokenCustomization, HookError> {
    if !crate::actions::any_bound(state, TriggerId::PostLogin).await? {
        return Ok(TokenCustomization::default());
    }
    let api = match &tx.audience {
        Some(aud) => state.store.get_resource_server_by_identifier(aud).await?,
        None => None,
    };
    let protocol = match (tx.response_type.has_code(), tx.response_type.has_id_token()) {
        (true, true) => Protocol::HybridProfile,
        (false, _) => Protocol::ImplicitProfile,
        (true, false) => Protocol::BasicProfile,
    };
    let request = crate::actions::request_facts(query_of(tx));
    crate::actions::post_login(
        state,
        PostLogin {
            client,
            user,
            api: api.as_ref(),
            scope,
            protocol,
            redirect_uri: Some(&tx.redirect_uri),
            request: &request,
        },
    )
    .await
}

/// Answers the request: stores its code and/or signs its ID token (as its
/// response type asks), forgets the request and sends the response to the
/// client (`Ok`). The caller clears the request's transaction cookie.
pub async fn issue(
    state: &AppState,
    tx: &AuthorizeTx,
    client: &Client,
    session: &Session,
    user: &User,
    scope: Vec<String>,
) -> FlowResult {
    // Auth0's post-login trigger, at the end of the login: a denial or a
    // failed action answers the client with access_denied (and its state).
    let custom = match post_login(state, tx, client, user, &scope).await {
        Ok(custom) => custom,
        Err(HookError::Refused(e)) => {
            if let Err(e) = state.store.delete_authorize_tx(&tx.id).await {
                tracing::warn!(error = %e, "could not delete a finished login request");
            }
            return Ok(error_to_client(state, &RedirectError::for_tx(tx, e)));
        }
        Err(e) => return Err(super::unavailable(state, &e)),
    };
    let now = state.clock.now();
    let code = if tx.response_type.has_code() {
        let code = new_secret_value().map_err(|e| super::unavailable(state, &e))?;
        let record = AuthCode {
            client_id: tx.client_id.clone(),
            redirect_uri: tx.redirect_uri.clone(),
            user_id: session.user_id.clone(),
            sid: session.sid.clone(),
            scope: scope.clone(),
            audience: tx.audience.clone(),
            nonce: tx.nonce.clone(),
            code_challenge: tx.code_challenge.clone(),
            auth_time: session.auth_time,
            expires_at: now + CODE_LIFETIME,
            custom: custom.clone(),
        };
        state
            .store
            .put_code(&token_hash(&code), &record)
            .await
            .map_err(|e| super::unavailable(state, &e))?;
        Some(code)
    } else {
        None
    };
    let issuer = state.config.issuer.as_str();
    let id_token = if tx.response_type.has_id_token() {
        let token = FrontChannelIdToken {
            issuer,
            client,
            user,
            scope: &scope,
            sid: &session.sid,
            auth_time: session.auth_time,
            nonce: tx.nonce.as_deref(),
            code: code.as_deref(),
            now,
            custom: &custom.id_token_claims,
        };
        let keys = state.keys.current();
        Some(
            token
                .sign(keys.signer())
                .map_err(|e| super::unavailable(state, &e))?,
        )
    } else {
        None
    };
    state
        .store
        .delete_authorize_tx(&tx.id)
        .await
        .map_err(|e| super::unavailable(state, &e))?;
    let mut pairs = Vec::with_capacity(4);
    if let Some(code) = &code {
        pairs.push(("code", code.as_str()));
    }
    if let Some(id_token) = &id_token {
        pairs.push(("id_token", id_token.as_str()));
    }
    if let Some(s) = &tx.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", issuer));
    Ok(to_client(state, &tx.redirect_uri, tx.response_mode, &pairs))
}
