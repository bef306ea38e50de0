//! ID tokens from `/authorize`: `response_type=id_token` (implicit) and
//! `code id_token` (hybrid), by fragment and form_post; `nonce` and `openid`
//! required, the `implicit` grant type per client, no access token ever in the
//! front channel, and the refusals of everything else.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use serde_json::{Value, json};

use crate::common::*;
use crate::refresh::{
    App, CALLBACK, EMAIL, app, browser, enc, fill_in_login, input_value, location, pkce, user,
};

/// The `/authorize` URL for `app` with `params` (and nothing else).
pub(crate) fn authorize_url(s: &TestServer, app: &App, params: &[(&str, &str)]) -> String {
    let mut all = vec![("client_id", app.id.as_str()), ("redirect_uri", CALLBACK)];
    all.extend_from_slice(params);
    let query: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("{}?{}", s.url("authorize"), query.join("&"))
}

/// Opens `url` in browser `b`, logging in on the hosted page when asked to:
/// the response that finally answers the client (a redirect to the callback,
/// or a form_post / web_message page).
pub(crate) async fn through_login(
    s: &TestServer,
    b: &reqwest::Client,
    url: &str,
) -> reqwest::Response {
    let res = b.get(url).send().await.unwrap();
    if res.status() == 302 && location(&res).starts_with(&s.url("u/login")) {
        return fill_in_login(s, b, &location(&res)).await;
    }
    res
}

/// The parameters of a redirect to the callback that carries them in its
/// fragment (and nothing in its query).
#[track_caller]
pub(crate) fn fragment_of(to: &str) -> BTreeMap<String, String> {
    let url = url::Url::parse(to).unwrap();
    assert!(to.starts_with(CALLBACK), "{to}");
    assert_eq!(url.query(), None, "nothing in the query: {to}");
    url::form_urlencoded::parse(url.fragment().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A JWT's header and claims, verified with another JOSE library against the
/// JWKS: signature, `iss`, `aud` includes `audience`, `exp`.
pub(crate) async fn verified_jwt(s: &TestServer, token: &str, audience: &str) -> (Value, Value) {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let jwks: JwkSet = http()
        .get(s.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[s.base.as_str()]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap_or_else(|e| panic!("the token does not verify: {e}"))
            .claims;
    (header, claims)
}

/// The ID token's claims, verified ([`verified_jwt`], `aud` = the client), and
/// its `nonce`.
pub(crate) async fn verified_id_token(
    s: &TestServer,
    token: &str,
    client: &str,
    nonce: &str,
) -> Value {
    let (header, claims) = verified_jwt(s, token, client).await;
    assert_eq!(header["typ"], "JWT", "{header}");
    assert_eq!(claims["nonce"], nonce, "{claims}");
    claims
}

/// The left half of the SHA-256 of `value`, base64url (`c_hash`, `at_hash`).
fn half_sha256(value: &str) -> String {
    let digest = tessera_core::ids::sha256(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Every inline script of `html` is allowed by a hash in the CSP's
/// `script-src`, and no element has an inline event handler or a
/// `javascript:` URL.
#[track_caller]
pub(crate) fn scripts_are_hashed(html: &str, csp: &str) {
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("no script-src: {csp}"));
    assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
    let mut rest = html;
    let mut seen = 0;
    while let Some(start) = rest.find("<script>") {
        let body_start = start + "<script>".len();
        let end = rest[body_start..].find("</script>").unwrap() + body_start;
        let hash = STANDARD.encode(tessera_core::ids::sha256(&rest.as_bytes()[body_start..end]));
        assert!(script_src.contains(&format!("'sha256-{hash}'")), "{csp}");
        seen += 1;
        rest = &rest[end..];
    }
    assert!(seen > 0, "the page has its script: {html}");
    assert!(
        !html.contains("<script "),
        "no other script elements: {html}"
    );
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("javascript:"), "{html}");
    for handler in [
        " onload=",
        " onclick=",
        " onerror=",
        " onsubmit=",
        " onfocus=",
    ] {
        assert!(!lower.contains(handler), "{handler} in {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_id_token_by_fragment_then_by_form_post() {
    let s = start().await;
    let user_id = user(&s).await;
    // An SPA with Auth0's defaults: `implicit` among its grant types.
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let b = browser();
    let url = authorize_url(
        &s,
        &spa,
        &[
            ("response_type", "id_token"),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ],
    );
    let res = through_login(&s, &b, &url).await;
    assert_eq!(res.status(), 303);
    // The default for an ID token is the fragment (OIDC Core §3.2.2.5).
    let got = fragment_of(&location(&res));
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["id_token", "iss", "state"],
        "an ID token, never an access token or a code: {got:?}"
    );
    assert_eq!(got["state"], "st-1");
    assert_eq!(got["iss"], s.base);
    let claims = verified_id_token(&s, &got["id_token"], &spa.id, "n-1").await;
    assert_eq!(claims["sub"], user_id.as_str());
    // No UserInfo call follows an implicit login: the profile is in the token.
    assert_eq!(claims["email"], EMAIL);
    assert_eq!(claims["name"], "Ada Lovelace");
    assert!(
        claims["auth_time"].is_i64() && claims["sid"].is_string(),
        "{claims}"
    );
    assert!(claims.get("c_hash").is_none() && claims.get("at_hash").is_none());

    // The ID token is not an access token anywhere.
    let r = crate::refresh::userinfo(&s, &got["id_token"]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::TokenIsIdToken), "{r:?}");

    // Again with the session, by form_post: an auto-submitting form whose only
    // script the CSP allows by its hash; never framed.
    let url = authorize_url(
        &s,
        &spa,
        &[
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("scope", "openid"),
            ("state", "st-2"),
            ("nonce", "n-2"),
        ],
    );
    let res = b.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(res.headers()[X_FRAME_OPTIONS], "DENY");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    let html = res.text().await.unwrap();
    scripts_are_hashed(&html, &csp);
    assert!(html.contains(&format!("action=\"{CALLBACK}\"")), "{html}");
    assert_eq!(input_value(&html, "state"), "st-2");
    let token = input_value(&html, "id_token");
    let claims = verified_id_token(&s, &token, &spa.id, "n-2").await;
    assert_eq!(claims["sub"], user_id.as_str());
    assert!(claims.get("email").is_none(), "scope openid only: {claims}");
    assert!(
        !html.contains("name=\"code\"") && !html.contains("access_token"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_code_id_token_binds_the_code_with_c_hash() {
    let s = start().await;
    let user_id = user(&s).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let b = browser();
    let (verifier, challenge) = pkce();
    // The order of the values does not matter.
    for response_type in ["code id_token", "id_token code"] {
        let url = authorize_url(
            &s,
            &spa,
            &[
                ("response_type", response_type),
                ("scope", "openid email"),
                ("state", "st"),
                ("nonce", "n-h"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let res = through_login(&s, &b, &url).await;
        assert!(
            matches!(res.status().as_u16(), 302 | 303),
            "{response_type}"
        );
        let got = fragment_of(&location(&res));
        assert_eq!(
            got.keys().map(String::as_str).collect::<Vec<_>>(),
            ["code", "id_token", "iss", "state"],
            "{got:?}"
        );
        let claims = verified_id_token(&s, &got["id_token"], &spa.id, "n-h").await;
        assert_eq!(claims["c_hash"], half_sha256(&got["code"]), "{claims}");
        assert_eq!(claims["sub"], user_id.as_str());

        // The code is an ordinary code: PKCE, once.
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", spa.id.as_str()),
            ("code", got["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier.as_str()),
        ];
        let r = s.token_request(&form).await;
        assert_eq!(r.status, 200, "{r:?}");
        let id_token = r.body["id_token"].as_str().unwrap();
        let back = verified_id_token(&s, id_token, &spa.id, "n-h").await;
        assert_eq!(back["sid"], claims["sid"]);
        let again = s.token_request(&form).await;
        assert_eq!(again.reason(), Some(Reason::CodeReplayed), "{again:?}");
    }
}

/// The error a refused `/authorize` request sends to the callback, in the
/// query or the fragment, with its reason header.
async fn refusal(
    s: &TestServer,
    app: &App,
    params: &[(&str, &str)],
) -> (BTreeMap<String, String>, bool, Option<Reason>) {
    let res = http_no_redirect()
        .get(authorize_url(s, app, params))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{params:?}");
    let to = location(&res);
    let url = url::Url::parse(&to).unwrap();
    let in_fragment = url.fragment().is_some();
    let pairs = if in_fragment {
        fragment_of(&to)
    } else {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    (pairs, in_fragment, reason_of(res.headers()))
}

fn http_no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_channel_refusals() {
    let s = start().await;
    user(&s).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let (_, challenge) = pkce();
    let pkce_params = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // Access tokens never travel in the front channel; unknown and repeated
    // values are refused too (by query: no ID token was asked for).
    for response_type in [
        "token",
        "id_token token",
        "code token",
        "code id_token token",
        "id_token id_token",
        "code  id_token",
        "none",
    ] {
        let mut params = vec![
            ("response_type", response_type),
            ("scope", "openid"),
            ("nonce", "n"),
            ("state", "st"),
        ];
        params.extend_from_slice(&pkce_params);
        let (got, in_fragment, reason) = refusal(&s, &spa, &params).await;
        assert_eq!(
            got["error"], "unsupported_response_type",
            "{response_type}: {got:?}"
        );
        assert_eq!(reason, Some(Reason::ResponseTypeUnsupported));
        assert!(!in_fragment && got["state"] == "st");
    }

    // An ID token needs a nonce and the openid scope; the error goes by
    // fragment, as the response would have.
    for (response_type, params, code, want) in [
        (
            "id_token",
            vec![("scope", "openid")],
            "invalid_request",
            Reason::NonceRequired,
        ),
        (
            "code id_token",
            vec![("scope", "openid")],
            "invalid_request",
            Reason::NonceRequired,
        ),
        (
            "id_token",
            vec![("scope", "profile"), ("nonce", "n")],
            "invalid_scope",
            Reason::OpenidScopeRequired,
        ),
        (
            "code id_token",
            vec![("nonce", "n")],
            "invalid_scope",
            Reason::OpenidScopeRequired,
        ),
        // Never in a query string.
        (
            "id_token",
            vec![
                ("scope", "openid"),
                ("nonce", "n"),
                ("response_mode", "query"),
            ],
            "invalid_request",
            Reason::ResponseModeNotAllowed,
        ),
        (
            "code id_token",
            vec![
                ("scope", "openid"),
                ("nonce", "n"),
                ("response_mode", "query"),
            ],
            "invalid_request",
            Reason::ResponseModeNotAllowed,
        ),
    ] {
        let mut all = vec![("response_type", response_type), ("state", "st")];
        all.extend(params);
        all.extend_from_slice(&pkce_params);
        let (got, in_fragment, reason) = refusal(&s, &spa, &all).await;
        assert_eq!(got["error"], code, "{all:?}: {got:?}");
        assert_eq!(reason, Some(want), "{all:?}");
        assert!(in_fragment, "{all:?}");
        assert!(!got.contains_key("id_token") && !got.contains_key("code"));
    }

    // The hybrid response still needs PKCE from a public client.
    let (got, _, reason) = refusal(
        &s,
        &spa,
        &[
            ("response_type", "code id_token"),
            ("scope", "openid"),
            ("nonce", "n"),
        ],
    )
    .await;
    assert_eq!(got["error"], "invalid_request");
    assert_eq!(reason, Some(Reason::PkceRequired));

    // Per client: without `implicit`, no ID token from /authorize (hybrid
    // included); without `authorization_code`, no code.
    let code_only = app(
        &s,
        json!({"app_type": "spa", "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let implicit_only = app(&s, json!({"app_type": "spa", "grant_types": ["implicit"]})).await;
    for (client, response_type) in [
        (&code_only, "id_token"),
        (&code_only, "code id_token"),
        (&implicit_only, "code"),
        (&implicit_only, "code id_token"),
    ] {
        let mut params = vec![
            ("response_type", response_type),
            ("scope", "openid"),
            ("nonce", "n"),
        ];
        params.extend_from_slice(&pkce_params);
        let (got, _, reason) = refusal(&s, client, &params).await;
        assert_eq!(
            got["error"], "unauthorized_client",
            "{response_type}: {got:?}"
        );
        assert_eq!(reason, Some(Reason::GrantTypeNotAllowed));
    }
    // What the client does have still works (up to the login page).
    let res = http_no_redirect()
        .get(authorize_url(
            &s,
            &implicit_only,
            &[
                ("response_type", "id_token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(
        location(&res).starts_with(&s.url("u/login")),
        "{}",
        location(&res)
    );
}
