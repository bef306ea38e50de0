//! Logout: Auth0's `GET v2/logout` and OpenID Connect RP-Initiated Logout 1.0
//! (`GET/POST oidc/logout`). Both end this browser's session (the server-side
//! session is deleted and the cookie cleared). Neither ever redirects to a URL
//! that is not exactly one of the application's `allowed_logout_urls`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::Deserialize;
use tessera_core::keys::KeySet;
use tessera_core::model::Client;
use tessera_core::token::access::Audience;
use tessera_core::token::verify::MAX_TOKEN_BYTES;

use super::html::{self, escape};
use super::{cookies, form_pairs, found, param, query_pairs, unavailable, with_cookie};
use crate::state::AppState;

/// Deletes this browser's session, if it has one; the cookies that clear it.
async fn end_session(state: &AppState, headers: &HeaderMap) -> Result<Vec<HeaderValue>, Response> {
    // The Lax cookie only: no cross-site request logs a user out.
    if let Some(secret) = cookies::read_session_lax(&state.config.issuer, headers) {
        let now = state.clock.now();
        match state
            .store
            .get_session(&cookies::sha256(&secret), now)
            .await
        {
            Ok(Some(session)) => {
                state
                    .store
                    .delete_session(&session.sid)
                    .await
                    .map_err(|e| unavailable(state, &e))?;
                tracing::info!(user_id = %session.user_id, "session ended by logout");
            }
            Ok(None) => {}
            Err(e) => return Err(unavailable(state, &e)),
        }
    }
    Ok(cookies::clear_session(&state.config.issuer))
}

fn logged_out_page(state: &AppState, note: Option<&str>) -> Response {
    let note = note
        .map(|n| format!("<p class=\"small\">{}</p>", escape(n)))
        .unwrap_or_default();
    let content = format!("<p>You have been logged out.</p>{note}");
    let body = html::page(&state.branding(), "Logged out", &content);
    html::respond(StatusCode::OK, body, &html::csp(None, None))
}

async fn find_client(state: &AppState, client_id: &str) -> Result<Option<Client>, Response> {
    match state.store.get_client(client_id).await {
        Ok(found) => Ok(found.map(|(c, _)| c)),
        Err(e) => Err(unavailable(state, &e)),
    }
}

fn allowed(client: &Client, url: &str) -> bool {
    client.allowed_logout_urls.iter().any(|u| u == url)
}

/// `GET v2/logout?client_id=…&returnTo=…` (Auth0). `returnTo` is followed only
/// when it is exactly one of that client's `allowed_logout_urls`; otherwise the
/// "logged out" page is shown.
pub async fn auth0_logout(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let cookie = match end_session(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let res = match param(&query, "returnTo") {
        None => logged_out_page(&state, None),
        Some(return_to) => {
            let client = match param(&query, "client_id") {
                Some(id) => match find_client(&state, id).await {
                    Ok(c) => c,
                    Err(res) => return res,
                },
                None => None,
            };
            match client {
                Some(c) if allowed(&c, return_to) => found(return_to),
                Some(_) => logged_out_page(
                    &state,
                    Some(
                        "You were not sent back: the return address is not one of the application's allowed logout URLs.",
                    ),
                ),
                None => logged_out_page(
                    &state,
                    Some(
                        "You were not sent back: returnTo needs the client_id of an application that allows it.",
                    ),
                ),
            }
        }
    };
    with_cookie(res, cookie)
}

#[derive(Deserialize)]
struct HintHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
}

/// The audience of an ID token this server signed, expired or not: the
/// signature must verify with a published key of the key's own algorithm, the
/// `typ` must not be an access token's, and `iss` must be this issuer. `None`
/// for anything else.
fn id_token_hint_audience(
    keys: &KeySet,
    token: &str,
    issuer: &str,
) -> Option<(Vec<String>, Option<String>)> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header: HintHeader = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    if header.crit.is_some() {
        return None;
    }
    match header.typ.as_deref() {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return None,
    }
    let key = keys.verifier(header.kid.as_deref()?)?;
    if header.alg != key.alg().as_str() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
    let signed = &token[..h.len() + 1 + p.len()];
    if !key.verify(signed.as_bytes(), &signature) {
        return None;
    }
    let claims: HintClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    if claims.iss != issuer {
        return None;
    }
    Some((claims.aud.to_vec(), claims.azp))
}

fn bad_logout(state: &AppState, detail: &str) -> Response {
    html::error_page(
        &state.branding(),
        StatusCode::BAD_REQUEST,
        "Logout request refused",
        detail,
    )
}

/// RP-Initiated Logout: `id_token_hint`, `client_id`, `post_logout_redirect_uri`,
/// `state`. A request that cannot be honoured shows an error page and keeps the
/// session.
async fn oidc_logout_with(
    state: &AppState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Response {
    let hint_client = match param(params, "id_token_hint") {
        None => None,
        Some(hint) => {
            let keys = state.keys.current();
            match id_token_hint_audience(&keys, hint, state.config.issuer.as_str()) {
                Some(aud) => Some(aud),
                None => {
                    return bad_logout(
                        state,
                        "The id_token_hint is not an ID token issued by this server.",
                    );
                }
            }
        }
    };
    let client_id = match (param(params, "client_id"), &hint_client) {
        (Some(id), Some((aud, _))) if !aud.iter().any(|a| a == id) => {
            return bad_logout(
                state,
                "The client_id is not the audience of the id_token_hint.",
            );
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some((aud, azp))) => match (aud.as_slice(), azp) {
            (_, Some(azp)) => Some(azp.clone()),
            ([one], None) => Some(one.clone()),
            _ => None,
        },
        (None, None) => None,
    };
    let redirect = match param(params, "post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(client_id) = client_id.as_deref() else {
                return bad_logout(
                    state,
                    "A post_logout_redirect_uri needs an id_token_hint or a client_id naming the application.",
                );
            };
            let client = match find_client(state, client_id).await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    return bad_logout(
                        state,
                        "The application of this logout request does not exist.",
                    );
                }
                Err(res) => return res,
            };
            if !allowed(&client, uri) {
                return bad_logout(
                    state,
                    "The post_logout_redirect_uri is not one of the application's allowed logout URLs.",
                );
            }
            Some(uri.to_owned())
        }
    };
    let cookie = match end_session(state, headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let res = match redirect {
        Some(uri) => match (param(params, "state"), url::Url::parse(&uri)) {
            (Some(s), Ok(mut url)) => {
                url.query_pairs_mut().append_pair("state", s);
                found(url.as_str())
            }
            _ => found(&uri),
        },
        None => logged_out_page(state, None),
    };
    with_cookie(res, cookie)
}

/// `GET oidc/logout`.
pub async fn oidc_logout(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let params = query_pairs(uri.query());
    oidc_logout_with(&state, &headers, &params).await
}

/// `POST oidc/logout` (form body).
pub async fn oidc_logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form_pairs(&headers, &body).unwrap_or_default();
    oidc_logout_with(&state, &headers, &params).await
}
