//! Logins through upstream identity providers (`oidc`, `oauth2` connections):
//! `GET u/login/upstream` sends the browser of a pending authorization
//! request to the provider with a fresh `state`, `nonce` and PKCE S256
//! (stored server side under the state's hash, single use, 10 minutes, and
//! bound to the browser through the request's transaction cookie);
//! `GET login/callback` takes them back, exchanges the code, verifies the ID
//! token (`openidconnect`), maps the profile, stores the provider's tokens
//! sealed in the vault and continues the request as a database login does.
//! Every upstream call shares one deadline ([`crate::ServerConfig::upstream_timeout`]);
//! every failure goes back to the client as an OAuth error, never a 500.

pub mod client;
mod refresh;
mod verify;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::flow::{AuthorizeTx, Prompt};
use tessera_core::idp_vault::IdpTokens;
use tessera_core::log_event::LogType;
use tessera_core::manage::upstream_options::{
    OIDC_STRATEGY, is_upstream, open_client_secret, scope_list,
};
use tessera_core::model::{Connection, User};
use tessera_core::store::StoreError;
use tessera_core::token::opaque::new_secret_value;
use tessera_core::upstream::{self as up, UPSTREAM_LOGIN_LIFETIME, UpstreamLogin, UpstreamProfile};
use tessera_core::{Secret, ids};

pub use client::Upstream;
use client::UpstreamError;

use crate::audit::{RequestFacts, login_event};
use crate::interactive::html;
use crate::interactive::limits::PeerIp;
use crate::interactive::{
    browser_secret, fail_to_client, forbidden, found, param, pending, query_pairs, unavailable,
};
use crate::state::AppState;

/// The longest failure detail logged.
const MAX_DETAIL: usize = 256;

/// The URL of the page that sends `tx`'s browser to `connection`.
pub fn start_url(state: &AppState, tx: &AuthorizeTx, connection: &str) -> String {
    let enc = crate::interactive::url_encode;
    format!(
        "{}?state={}&connection={}",
        state.config.issuer.join("u/login/upstream"),
        enc(&tx.id),
        enc(connection)
    )
}

/// The upstream connection named `name`, if usable by `tx`'s client and
/// the one the request names when it names one (`connection=`).
pub(crate) async fn usable_connection(
    state: &AppState,
    tx: &AuthorizeTx,
    name: &str,
) -> Result<Option<Connection>, StoreError> {
    if tx.connection.as_deref().is_some_and(|named| named != name) {
        return Ok(None);
    }
    Ok(state
        .store
        .get_connection_by_name(name)
        .await?
        .filter(|c| is_upstream(&c.strategy) && c.usable_by(&tx.client_id)))
}

/// The AAD of a sealed PKCE verifier: the state's hash.
fn verifier_aad(state_hash: &[u8]) -> String {
    format!("upstream_pkce:{}", URL_SAFE_NO_PAD.encode(state_hash))
}

/// `GET u/login/upstream?state=TX&connection=NAME`.
pub async fn start(
    State(state): State<AppState>,
    ip: PeerIp,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let facts = RequestFacts::new(ip, &headers);
    let query = query_pairs(uri.query());
    let tx = match pending(&state, param(&query, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    if browser_secret(&state, &headers, &tx).is_none() {
        return forbidden(&state);
    }
    let name = param(&query, "connection").unwrap_or_default();
    let connection = match usable_connection(&state, &tx, name).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let e = OAuthError::new(
                Reason::ConnectionUnusable,
                "the requested connection does not exist or is not enabled for this client",
            );
            return fail_to_client(&state, &tx, e).await;
        }
        Err(e) => return unavailable(&state, &e),
    };
    let timeout = state.config.upstream_timeout;
    let endpoints = match state.upstream.endpoints(&connection, timeout).await {
        Ok(e) => e,
        Err(e) => return upstream_failed(&state, &facts, &tx, &connection, e).await,
    };
    let (Ok(state_value), Ok(nonce), Ok(verifier)) =
        (new_secret_value(), new_secret_value(), new_secret_value())
    else {
        return unavailable(&state, &"the random number generator failed");
    };
    let state_hash = ids::sha256(state_value.as_bytes());
    let Ok(verifier_sealed) = state
        .master
        .seal(&verifier_aad(&state_hash), verifier.as_bytes())
    else {
        return unavailable(&state, &"the random number generator failed");
    };
    let now = state.clock.now();
    let oidc = connection.strategy == OIDC_STRATEGY;
    // Re-authentication asked of us is asked upstream (`oidc`), and its
    // `auth_time` is checked at the callback.
    let prompt_login = oidc && tx.prompts(Prompt::Login);
    let max_age = tx.max_age.filter(|_| oidc);
    let auth_after = match (prompt_login, max_age) {
        (false, None) => None,
        (true, None) => Some(now),
        (login, Some(age)) => Some(if login { now } else { now - age.max(0) }),
    };
    let login = UpstreamLogin {
        tx_id: tx.id.clone(),
        connection: connection.name.clone(),
        nonce: nonce.clone(),
        verifier_sealed,
        expires_at: now + UPSTREAM_LOGIN_LIFETIME.min(tx.expires_at - now).max(1),
        issuer: endpoints.issuer.clone(),
        iss_required: endpoints.iss_parameter_supported,
        auth_after,
    };
    if let Err(e) = state
        .store
        .put_upstream_login(&state_hash, &login, now)
        .await
    {
        return unavailable(&state, &e);
    }
    let challenge = URL_SAFE_NO_PAD.encode(ids::sha256(verifier.as_bytes()));
    let scope = connection
        .options
        .get("scope")
        .and_then(scope_list)
        .map(|s| s.join(" "))
        .unwrap_or_else(|| {
            if connection.strategy == OIDC_STRATEGY {
                "openid profile email".into()
            } else {
                String::new()
            }
        });
    let client_id = connection
        .options
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut url = endpoints.authorization;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &callback_url(&state))
            .append_pair("state", &state_value)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if !scope.is_empty() {
            q.append_pair("scope", &scope);
        }
        if oidc {
            q.append_pair("nonce", &nonce);
        }
        if prompt_login {
            q.append_pair("prompt", "login");
        }
        if let Some(age) = max_age {
            q.append_pair("max_age", &age.max(0).to_string());
        }
    }
    found(url.as_str())
}

fn callback_url(state: &AppState) -> String {
    state.config.issuer.join("login/callback")
}

/// The page of a callback that names no live login (unknown, expired or
/// replayed `state`): nothing to send back to a client.
fn unknown_state(state: &AppState) -> Response {
    html::error_page(
        &state.branding(),
        StatusCode::BAD_REQUEST,
        "This login has expired",
        "The answer of the identity provider does not belong to a login in progress (it is unknown, expired or was already used). Go back to the application and sign in again.",
    )
}

/// A failed upstream login: logged (`f`), answered to the client.
async fn upstream_failed(
    state: &AppState,
    facts: &RequestFacts,
    tx: &AuthorizeTx,
    connection: &Connection,
    e: UpstreamError,
) -> Response {
    let (reason, description) = match &e {
        UpstreamError::Unavailable(_) => (
            Reason::UpstreamUnavailable,
            "the identity provider could not be reached",
        ),
        UpstreamError::Invalid(_) => (
            Reason::UpstreamInvalid,
            "the identity provider's answer was refused",
        ),
    };
    deny(
        state,
        facts,
        tx,
        connection,
        reason,
        description,
        &e.to_string(),
    )
    .await
}

async fn deny(
    state: &AppState,
    facts: &RequestFacts,
    tx: &AuthorizeTx,
    connection: &Connection,
    reason: Reason,
    description: &'static str,
    detail: &str,
) -> Response {
    let detail = bounded_detail(detail);
    tracing::warn!(connection = %connection.name, client_id = %tx.client_id, reason = reason.as_str(), detail, "upstream login failed");
    let mut event = login_event(
        state,
        LogType::FailedLogin,
        facts,
        &tx.client_id,
        connection,
    );
    event.description = description.into();
    state.logs.record(event);
    fail_to_client(state, tx, OAuthError::new(reason, description)).await
}

/// The provider chooses much of a failure's detail (the crate's error texts
/// quote its `iss` and `aud`): no control characters, at most
/// [`MAX_DETAIL`] characters.
fn bounded_detail(detail: &str) -> String {
    detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DETAIL)
        .collect()
}

/// What the token endpoint answered.
struct UpstreamTokens {
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_in: Option<i64>,
}

/// `GET login/callback?state&code` (or `&error`): every answer that leaves
/// this issuer goes through [`break_redirect_chain`].
pub async fn callback(
    State(state): State<AppState>,
    ip: PeerIp,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let res = take_callback(&state, ip, &headers, &uri).await;
    break_redirect_chain(&state, res)
}

async fn take_callback(state: &AppState, ip: PeerIp, headers: &HeaderMap, uri: &Uri) -> Response {
    let facts = RequestFacts::new(ip, headers);
    let query = query_pairs(uri.query());
    let Some(state_value) = param(&query, "state").filter(|s| s.len() <= 256) else {
        return unknown_state(state);
    };
    let now = state.clock.now();
    let state_hash = ids::sha256(state_value.as_bytes());
    let login = match state.store.take_upstream_login(&state_hash, now).await {
        Ok(Some(l)) => l,
        Ok(None) => return unknown_state(state),
        Err(e) => return unavailable(state, &e),
    };
    let tx = match pending(state, Some(&login.tx_id)).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    // Only the browser that started the login may finish it.
    if browser_secret(state, headers, &tx).is_none() {
        return forbidden(state);
    }
    let connection = match usable_connection(state, &tx, &login.connection).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let e = OAuthError::new(
                Reason::ConnectionUnusable,
                "the connection no longer exists or is no longer enabled for this client",
            );
            return fail_to_client(state, &tx, e).await;
        }
        Err(e) => return unavailable(state, &e),
    };
    // RFC 9207: an answer naming another issuer came from another provider
    // (a mix-up); a provider that promised `iss` must send it.
    let iss_ok = match (param(&query, "iss"), login.issuer.as_deref()) {
        (Some(iss), Some(expected)) => iss == expected,
        (Some(_), None) => true,
        (None, _) => !login.iss_required,
    };
    if !iss_ok {
        return upstream_failed(
            state,
            &facts,
            &tx,
            &connection,
            UpstreamError::Invalid("the answer's iss is missing or another issuer's".into()),
        )
        .await;
    }
    if let Some(error) = param(&query, "error") {
        let shown: String = error
            .chars()
            .filter(char::is_ascii_graphic)
            .take(64)
            .collect();
        return deny(
            state,
            &facts,
            &tx,
            &connection,
            Reason::UpstreamDenied,
            "the identity provider refused the login",
            &shown,
        )
        .await;
    }
    let Some(code) = param(&query, "code") else {
        return upstream_failed(
            state,
            &facts,
            &tx,
            &connection,
            UpstreamError::Invalid("no code".into()),
        )
        .await;
    };
    let Ok(verifier) = state
        .master
        .open(&verifier_aad(&state_hash), &login.verifier_sealed)
    else {
        return unavailable(state, &"a stored PKCE verifier does not open");
    };
    let Ok(secret) = open_client_secret(&state.master, &connection.id, &connection.options) else {
        return deny(
            state,
            &facts,
            &tx,
            &connection,
            Reason::UpstreamMisconfigured,
            "the connection's client secret cannot be used",
            "client_secret does not open",
        )
        .await;
    };
    let verifier = String::from_utf8_lossy(&verifier).into_owned();
    let budget = state.config.upstream_timeout;
    let work = authenticate(state, &connection, code, &verifier, &secret, &login);
    let (profile, tokens, auth_time) = match tokio::time::timeout(budget, work).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return upstream_failed(state, &facts, &tx, &connection, e).await,
        Err(_) => {
            let e = UpstreamError::Unavailable("the deadline passed".into());
            return upstream_failed(state, &facts, &tx, &connection, e).await;
        }
    };
    let (identity_id, user) = match upsert_user(state, &connection, &profile).await {
        Ok(Ok(found)) => found,
        Ok(Err((reason, description))) => {
            return deny(state, &facts, &tx, &connection, reason, description, "").await;
        }
        Err(e) => return unavailable(state, &e),
    };
    let vault = IdpTokens {
        access_token: Secret::new(tokens.access_token),
        refresh_token: tokens.refresh_token.map(Secret::new),
        id_token: tokens.id_token.map(Secret::new),
        expires_at: tokens.expires_in.map(|s| now.saturating_add(s)),
    };
    let sealed = match vault.seal(&state.master, &identity_id, &connection.name, now) {
        Ok(s) => s,
        Err(e) => return unavailable(state, &e),
    };
    if let Err(e) = state.store.put_idp_tokens(&sealed).await {
        return unavailable(state, &e);
    }
    // The session's auth_time is the provider's when it says (never later
    // than now).
    let auth_time = auth_time.map(|t| t.min(now));
    crate::interactive::login::log_in(state, headers, &facts, &tx, &connection, user, auth_time)
        .await
}

/// The callback is reached by a redirect that answers the provider's own
/// login form. Browsers apply that page's CSP `form-action` to every redirect
/// of the chain (Chromium does), so a redirect from here to the client's
/// redirect URI — an origin the provider's page never listed — would be
/// blocked. A redirect off this issuer therefore becomes a page that
/// continues by `Refresh` (a new navigation, outside the form's chain), with
/// a link for browsers that do not follow it; cookies are kept.
fn break_redirect_chain(state: &AppState, res: Response) -> Response {
    use axum::http::{HeaderValue, header};
    if !res.status().is_redirection() {
        return res;
    }
    let Some(to) = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return res;
    };
    if to.starts_with(state.config.issuer.as_str()) {
        return res;
    }
    let content = format!(
        "<p>You are signed in.</p><p><a href=\"{}\">Continue to the application</a></p>",
        html::escape(&to)
    );
    let body = html::page(&state.branding(), "Signed in", &content);
    let mut page = html::respond(StatusCode::OK, body, &html::csp(None, None));
    for cookie in res.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    if let Ok(v) = HeaderValue::from_str(&format!("0;url={to}")) {
        page.headers_mut().insert(header::REFRESH, v);
    }
    // The reason header of an error answer travels on.
    if let Some(reason) = res.headers().get(crate::error::REASON_HEADER) {
        page.headers_mut()
            .insert(crate::error::REASON_HEADER, reason.clone());
    }
    page
}

/// The code exchange, the ID token's verification (`oidc`) or the userinfo
/// call (`oauth2`), and the profile.
async fn authenticate(
    state: &AppState,
    connection: &Connection,
    code: &str,
    verifier: &str,
    secret: &str,
    login: &UpstreamLogin,
) -> Result<(UpstreamProfile, UpstreamTokens, Option<i64>), UpstreamError> {
    let nonce = login.nonce.as_str();
    let timeout = state.config.upstream_timeout;
    let endpoints = state.upstream.endpoints(connection, timeout).await?;
    let client_id = connection
        .options
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let redirect_uri = callback_url(state);
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    let body = match state
        .upstream
        .token_grant(&endpoints, client_id, secret, form, timeout)
        .await?
    {
        Ok(body) => body,
        Err((status, error)) => {
            return Err(UpstreamError::Invalid(format!(
                "the token endpoint answered {status} {error}"
            )));
        }
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| UpstreamError::Invalid("no access_token".into()))?;
    let tokens = UpstreamTokens {
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        expires_in: tessera_core::idp_vault::parse_expires_in(body.get("expires_in")),
        access_token,
    };
    let claims = if connection.strategy == OIDC_STRATEGY {
        let raw = tokens
            .id_token
            .as_deref()
            .ok_or_else(|| UpstreamError::Invalid("no id_token".into()))?;
        let jwks_uri = endpoints
            .jwks_uri
            .as_ref()
            .ok_or_else(|| UpstreamError::Invalid("no jwks_uri".into()))?;
        let jwks = state.upstream.get_json(jwks_uri, None, timeout).await?;
        let issuer = endpoints.issuer.as_deref().unwrap_or_default();
        verify::id_token_claims(raw, &jwks, issuer, client_id, nonce)?
    } else {
        let userinfo = endpoints
            .userinfo
            .as_ref()
            .ok_or_else(|| UpstreamError::Invalid("no userinfo_url".into()))?;
        match state
            .upstream
            .get_json(userinfo, Some(&tokens.access_token), timeout)
            .await?
        {
            Value::Object(map) => map,
            _ => return Err(UpstreamError::Invalid("userinfo is not an object".into())),
        }
    };
    let auth_time = claims.get("auth_time").and_then(Value::as_i64);
    if let Some(after) = login.auth_after {
        match auth_time {
            Some(t) if t >= after - up::AUTH_TIME_SKEW => {}
            Some(_) => {
                return Err(UpstreamError::Invalid(
                    "the provider did not authenticate the user again (auth_time too old)".into(),
                ));
            }
            None => {
                return Err(UpstreamError::Invalid(
                    "no auth_time though re-authentication was asked".into(),
                ));
            }
        }
    }
    let profile = up::profile_from_claims(&claims, &connection.strategy, &connection.options)
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    Ok((profile, tokens, auth_time))
}

type Refusal = (Reason, &'static str);

/// The user of this upstream identity: created at the first login, updated
/// (as `set_user_root_attributes` says) at later ones. Never merged with
/// another user by email: the id is the connection's and the provider's.
/// Answers the identity's own record id (its IdP tokens stay under it) and
/// the user who signs in: the primary when the identity is linked (Auth0's
/// account linking), read with the link in one statement.
async fn upsert_user(
    state: &AppState,
    connection: &Connection,
    profile: &UpstreamProfile,
) -> Result<Result<(String, User), Refusal>, StoreError> {
    let now = state.clock.now();
    let user_id = up::user_id(connection, &profile.id);
    match state.store.find_login_identity(&user_id).await? {
        Some(found) if found.identity.blocked || found.user().blocked => {
            Ok(Err((Reason::UpstreamDenied, "the user is blocked")))
        }
        Some(found) => {
            let mut identity = found.identity;
            let id = identity.user_id.clone();
            if !up::update_user(&mut identity, connection, profile, now) {
                return Ok(Ok((id, found.primary.unwrap_or(identity))));
            }
            // Upstream users' emails are not unique (the store gives them no
            // email key); a conflict is still a refusal, never a 503.
            match state.store.update_user(&identity, None).await {
                Ok(true) => Ok(Ok((id, found.primary.unwrap_or(identity)))),
                Ok(false) => Ok(Err((Reason::UpstreamInvalid, "the user is gone"))),
                Err(StoreError::Conflict(_)) => Ok(Err((
                    Reason::UpstreamInvalid,
                    "the user's profile conflicts with another user",
                ))),
                Err(e) => Err(e),
            }
        }
        None => {
            let user = up::new_user(connection, profile, now);
            match state.store.create_user(&user, None).await {
                Ok(()) => Ok(Ok((user.user_id.clone(), user))),
                // The same upstream user's first login, concurrently.
                Err(StoreError::Conflict(_)) => Ok(Err((
                    Reason::UpstreamInvalid,
                    "the user was created by a concurrent login",
                ))),
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn failure_details_are_bounded_and_single_line() {
        let long = format!("iss {}\nforged line", "x".repeat(300 * 1024));
        let d = super::bounded_detail(&long);
        assert_eq!(d.chars().count(), super::MAX_DETAIL);
        assert!(!d.contains('\n'));
        assert_eq!(super::bounded_detail("a\nb"), "a b");
    }
}
