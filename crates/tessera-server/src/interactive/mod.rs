//! The interactive flow: `/authorize`, the hosted pages, sessions, logout and
//! UserInfo (whose route, open to clients' origins, `routes` registers with
//! the token endpoint's).

pub mod consent;
pub mod cookies;
mod credentials;
pub mod flow;
pub mod gate;
pub mod html;
pub mod limits;
pub mod login;
pub mod logout;
mod password_check;
pub mod reset_password;
pub mod signup;
pub mod userinfo;
pub mod verify_email;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tessera_core::authorize::RedirectError;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::flow::AuthorizeTx;
use tessera_core::model::Connection;
use tessera_core::store::StoreError;

use crate::state::{AppState, ServerConfig};

/// The database connection used when the request names none.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// The interactive routes. The hosted pages' form posts share one per-address
/// rate limiter, created here (each router has its own).
pub fn routes(config: &ServerConfig) -> Router<AppState> {
    let limiter = Arc::new(limits::RateLimiter::new(config.rate_limit_per_minute));
    let branding = Arc::new(config.branding.clone());
    let pages = Router::new()
        .route("/u/login", get(login::page).post(login::submit))
        .route("/u/signup", get(signup::page).post(signup::submit))
        .route("/u/login/upstream", get(crate::upstream::start))
        .route("/login/callback", get(crate::upstream::callback))
        .route(
            "/u/reset-password",
            get(reset_password::page).post(reset_password::submit),
        )
        .route_layer(from_fn_with_state((limiter, branding), limits::limit_pages));
    Router::new()
        .merge(pages)
        .route("/authorize", get(flow::authorize))
        .route("/u/consent", get(consent::page).post(consent::submit))
        .route(
            "/u/verify-email",
            get(verify_email::page).post(verify_email::submit),
        )
        .route("/v2/logout", get(logout::auth0_logout))
        .route(
            "/oidc/logout",
            get(logout::oidc_logout).post(logout::oidc_logout_post),
        )
        .route_layer(axum::middleware::from_fn(see_other_after_post))
}

/// RFC 9700 §4.12: a redirect answering a form post (credentials, consent,
/// logout) is a 303, so the browser follows it with a GET and never re-sends the
/// body (a 307 would re-post the password to wherever the redirect points). The
/// handlers share their redirects with the GET paths (302); this turns any 302 or
/// 307 answering a POST of these routes into a 303.
pub(crate) async fn see_other_after_post(req: axum::extract::Request, next: Next) -> Response {
    let post = req.method() == Method::POST;
    let mut res = next.run(req).await;
    if post
        && matches!(
            res.status(),
            StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT
        )
    {
        *res.status_mut() = StatusCode::SEE_OTHER;
    }
    res
}

/// Query-string pairs; anything malformed is dropped.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

/// The first value of `name`, if not empty.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Is the body `application/x-www-form-urlencoded`?
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A form body's pairs; `None` when it is not a well-formed form.
pub(crate) fn form_pairs(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    if !is_form(headers) {
        return None;
    }
    serde_urlencoded::from_bytes(body).ok()
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A 302 to `location`, not cached.
pub(crate) fn found(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The password gate is full: a 503 page with `Retry-After`.
pub(crate) fn busy_page(state: &AppState, busy: gate::Busy) -> Response {
    let mut res = html::error_page(
        &state.branding(),
        StatusCode::SERVICE_UNAVAILABLE,
        "Too busy",
        "The service is busy right now. Wait a moment and try again.",
    );
    if let Ok(v) = HeaderValue::from_str(&busy.retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A storage failure on a page: logged, shown as a 503 page.
pub(crate) fn unavailable(state: &AppState, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "interactive flow failure");
    html::error_page(
        &state.branding(),
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        "The service could not complete your request. Please try again.",
    )
}

/// The URL of a hosted page for a pending request.
pub(crate) fn page_url(state: &AppState, page: &str, tx: &AuthorizeTx) -> String {
    let mut url = state.config.issuer.join(page);
    url.push_str("?state=");
    url.push_str(&url_encode(&tx.id));
    url
}

pub(crate) fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The pending request named by a hosted page's `state`, or the 400 page (an
/// unknown or expired request never redirects anywhere).
pub(crate) async fn pending(state: &AppState, id: Option<&str>) -> Result<AuthorizeTx, Response> {
    let expired = || {
        html::error_page(
            &state.branding(),
            StatusCode::BAD_REQUEST,
            "This link has expired",
            "The login request is unknown or has expired. Go back to the application and sign in again.",
        )
    };
    let Some(id) = id.filter(|id| id.len() <= 128) else {
        return Err(expired());
    };
    match state.store.get_authorize_tx(id, state.clock.now()).await {
        Ok(Some(tx)) => Ok(tx),
        Ok(None) => Err(expired()),
        Err(e) => Err(unavailable(state, &e)),
    }
}

/// The 403 page of a failed CSRF check.
pub(crate) fn forbidden(state: &AppState) -> Response {
    html::error_page(
        &state.branding(),
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was not submitted from the browser that started the login (missing or mismatched security cookie). Go back to the application and sign in again.",
    )
}

/// The form token of this browser for `tx`, when this browser started `tx`: a
/// keyed hash of `tx`'s own (HttpOnly) transaction cookie and the request id, so
/// the page never carries the cookie's value itself. The cookie is the one named
/// for `tx` ([`cookies::transaction`]); it counts only when its value hashes to
/// the binding stored with `tx` (constant-time; every value of that name the
/// browser sent is tried, so a cookie shadowing it cannot lock the user out).
pub(crate) fn browser_secret(
    state: &AppState,
    headers: &HeaderMap,
    tx: &AuthorizeTx,
) -> Option<String> {
    use base64::Engine;
    let secret = cookies::read_all(&state.config.issuer, headers, &cookies::transaction(&tx.id))
        .into_iter()
        .find(|secret| constant_time_eq(&cookies::sha256(secret), &tx.browser_binding))?;
    let mac = state
        .master
        .keyed_hash("csrf", format!("{secret}\0{}", tx.id).as_bytes());
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac))
}

/// The CSRF check of every hosted form: `tx`'s transaction cookie is present,
/// is the cookie of the browser that started the request (it hashes to the value
/// stored with the request), and the form's `csrf` field is the keyed hash of it
/// and the request id. On failure, answer [`forbidden`].
pub(crate) fn csrf_ok(
    state: &AppState,
    headers: &HeaderMap,
    tx: &AuthorizeTx,
    csrf: Option<&str>,
) -> bool {
    match (browser_secret(state, headers, tx), csrf) {
        (Some(secret), Some(field)) => constant_time_eq(field.as_bytes(), secret.as_bytes()),
        _ => false,
    }
}

/// The `Set-Cookie` binding the new request `tx` to this browser, living as long
/// as the request.
pub(crate) fn bind_transaction(
    state: &AppState,
    tx: &AuthorizeTx,
    value: &str,
) -> Option<HeaderValue> {
    cookies::set(
        &state.config.issuer,
        &cookies::transaction(&tx.id),
        value,
        tessera_core::authorize::AUTHORIZE_TX_LIFETIME,
    )
}

/// The `Set-Cookie` clearing `tx`'s transaction cookie, once `tx` is finished.
pub(crate) fn clear_transaction(state: &AppState, tx: &AuthorizeTx) -> Option<HeaderValue> {
    cookies::clear(&state.config.issuer, &cookies::transaction(&tx.id))
}

/// Sends an error back to the client of `tx`, forgets the request and clears
/// its transaction cookie.
pub(crate) async fn fail_to_client(
    state: &AppState,
    tx: &AuthorizeTx,
    error: OAuthError,
) -> Response {
    if let Err(e) = state.store.delete_authorize_tx(&tx.id).await {
        tracing::warn!(error = %e, "could not delete a finished login request");
    }
    let res = flow::error_to_client(state, &RedirectError::for_tx(tx, error));
    with_cookie(res, clear_transaction(state, tx))
}

/// The database connection users of `tx` log in to: the one it names, or
/// [`DEFAULT_CONNECTION`]. Anything else goes back to the client.
pub(crate) async fn connection_for(
    state: &AppState,
    tx: &AuthorizeTx,
) -> Result<Connection, Response> {
    let name = tx.connection.as_deref().unwrap_or(DEFAULT_CONNECTION);
    match state.store.get_connection_by_name(name).await {
        Ok(Some(c))
            if c.strategy == tessera_core::manage::connections::DATABASE_STRATEGY
                && c.usable_by(&tx.client_id) =>
        {
            Ok(c)
        }
        Ok(_) => Err(fail_to_client(
            state,
            tx,
            OAuthError::new(
                Reason::ConnectionUnusable,
                "the requested connection does not exist, does not accept passwords or is not enabled for this client",
            ),
        )
        .await),
        Err(e) => Err(unavailable(state, &e)),
    }
}

/// Does the connection refuse sign-ups (`options.disable_signup`)?
pub(crate) fn signup_disabled(connection: &Connection) -> bool {
    connection.signup_disabled()
}

/// Adds `Set-Cookie`s to a response.
pub(crate) fn with_cookie(
    mut res: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The name of a client, for pages (its id when it is gone).
pub(crate) async fn client_name(state: &AppState, client_id: &str) -> Result<String, StoreError> {
    Ok(state
        .store
        .get_client(client_id)
        .await?
        .map(|(c, _)| c.name)
        .unwrap_or_else(|| client_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn params_and_queries() {
        let pairs = query_pairs(Some("state=a%2Bb&x=&state=second"));
        assert_eq!(param(&pairs, "state"), Some("a+b"));
        assert_eq!(param(&pairs, "x"), None);
        assert!(query_pairs(Some("%zz=%")).len() <= 1);
        assert!(query_pairs(None).is_empty());
    }
}
