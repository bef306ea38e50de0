//! `GET/POST u/consent`: a third-party application (`is_first_party: false`)
//! asks the logged-in user to approve the scopes it requested. The decision is
//! remembered per user, application and API (approvals add up); a denial goes
//! back to the application as `access_denied`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use tessera_core::authorize;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::flow::{AuthorizeTx, Session};
use tessera_core::model::{Client, ResourceServer, User};

use super::html::{self, escape};
use super::{
    browser_secret, clear_transaction, csrf_ok, fail_to_client, flow, forbidden, form_pairs, found,
    page_url, param, pending, query_pairs, unavailable, with_cookie,
};
use crate::state::AppState;

/// What an OIDC scope lets the application see.
fn oidc_description(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Confirm your identity",
        "profile" => "Your profile: name, nickname and picture",
        "email" => "Your email address",
        "phone" => "Your phone number",
        "address" => "Your postal address",
        "offline_access" => "Keep access while you are away",
        _ => return None,
    })
}

/// Everything a consent page or decision needs.
struct Ctx {
    session: Session,
    user: User,
    client: Client,
    api: Option<ResourceServer>,
    scopes: Vec<String>,
}

/// The session (or a redirect to the login page), the client and the API of
/// `tx`, and the scopes it would be granted.
async fn context(state: &AppState, headers: &HeaderMap, tx: &AuthorizeTx) -> Result<Ctx, Response> {
    let (session, user) = match flow::current_session(state, headers).await {
        Ok(Some(pair)) => pair,
        Ok(None) => return Err(found(&page_url(state, "u/login", tx))),
        Err(e) => return Err(unavailable(state, &e)),
    };
    let client = match state.store.get_client(&tx.client_id).await {
        Ok(found) => found.map(|(c, _)| c),
        Err(e) => return Err(unavailable(state, &e)),
    };
    let api = match &tx.audience {
        Some(aud) => match state.store.get_resource_server_by_identifier(aud).await {
            Ok(api) => api,
            Err(e) => return Err(unavailable(state, &e)),
        },
        None => None,
    };
    let (client, scopes) = match authorize::grant_scope(tx, client.as_ref(), api.as_ref()) {
        Ok((client, scopes)) => (client.clone(), scopes),
        Err(e) => return Err(fail_to_client(state, tx, e).await),
    };
    Ok(Ctx {
        session,
        user,
        client,
        api,
        scopes,
    })
}

fn render(state: &AppState, tx: &AuthorizeTx, csrf: &str, c: &Ctx) -> Response {
    let items: String = c
        .scopes
        .iter()
        .map(|s| {
            let described = oidc_description(s).map(str::to_owned).or_else(|| {
                c.api.as_ref().and_then(|api| {
                    api.scopes
                        .iter()
                        .find(|d| &d.value == s)
                        .map(|d| d.description.clone())
                        .filter(|d| !d.is_empty())
                })
            });
            match described {
                Some(d) => format!("<li>{} (<code>{}</code>)</li>", escape(&d), escape(s)),
                None => format!("<li><code>{}</code></li>", escape(s)),
            }
        })
        .collect();
    let api = c
        .api
        .as_ref()
        .map(|a| format!(" and to the API {}", escape(&a.name)))
        .unwrap_or_default();
    let who = c
        .user
        .email
        .as_deref()
        .or(c.user.name.as_deref())
        .unwrap_or(&c.user.user_id);
    let content = format!(
        "<p>Hi {who}, <strong>{client}</strong> is asking for access to your {tenant} account{api}:</p>\
<ul class=\"scopes\">{items}</ul>\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"state\" value=\"{state_id}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" name=\"decision\" value=\"accept\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
</form>",
        who = escape(who),
        client = escape(&c.client.name),
        tenant = escape(&state.branding().tenant_name),
        action = escape(&state.config.issuer.join("u/consent")),
        state_id = escape(&tx.id),
        csrf = escape(csrf),
    );
    let body = html::page(&state.branding(), "Authorize application", &content);
    html::respond(StatusCode::OK, body, &html::form_csp(&tx.redirect_uri))
}

/// `GET u/consent?state=ID`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(uri.query());
    let tx = match pending(&state, param(&query, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    let Some(csrf) = browser_secret(&state, &headers, &tx) else {
        return forbidden(&state);
    };
    match context(&state, &headers, &tx).await {
        Ok(c) => render(&state, &tx, &csrf, &c),
        Err(res) => res,
    }
}

/// `POST u/consent`: `decision=accept` or `decision=deny`.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let bad = |detail: &str| {
        html::error_page(
            &state.branding(),
            StatusCode::BAD_REQUEST,
            "Invalid request",
            detail,
        )
    };
    let Some(form) = form_pairs(&headers, &body) else {
        return bad("The form could not be read. Go back and try again.");
    };
    let tx = match pending(&state, param(&form, "state")).await {
        Ok(tx) => tx,
        Err(res) => return res,
    };
    if !csrf_ok(&state, &headers, &tx, param(&form, "csrf")) {
        return forbidden(&state);
    }
    let c = match context(&state, &headers, &tx).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    match param(&form, "decision") {
        Some("accept") => {
            let audience = tx.audience.clone().unwrap_or_default();
            let mut approved = match state
                .store
                .get_consent(&c.user.user_id, &c.client.client_id, &audience)
                .await
            {
                Ok(given) => given.unwrap_or_default(),
                Err(e) => return unavailable(&state, &e),
            };
            for s in &c.scopes {
                if !approved.contains(s) {
                    approved.push(s.clone());
                }
            }
            if let Err(e) = state
                .store
                .put_consent(
                    &c.user.user_id,
                    &c.client.client_id,
                    &audience,
                    &approved,
                    state.clock.now(),
                )
                .await
            {
                return unavailable(&state, &e);
            }
            match flow::issue(&state, &tx, &c.client, &c.session, &c.user, c.scopes).await {
                // The request is finished: its transaction cookie goes too.
                Ok(r) => with_cookie(r, clear_transaction(&state, &tx)),
                Err(r) => r,
            }
        }
        Some("deny") => {
            fail_to_client(
                &state,
                &tx,
                OAuthError::new(
                    Reason::ConsentDenied,
                    "the user did not authorize the application",
                ),
            )
            .await
        }
        _ => bad("Choose Allow or Deny."),
    }
}
