//! `response_mode=web_message` (Auth0's silent authentication and popups): a
//! page that posts the response to the opener or parent on the redirect URI's
//! origin, only for the client's web origins, framable only by that origin;
//! every other page stays unframeable.

use reqwest::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use serde_json::{Value, json};

use crate::common::*;
use crate::front_channel::{authorize_url, scripts_are_hashed, through_login, verified_id_token};
use crate::refresh::{App, CALLBACK, app, browser, pkce, user};

const APP_ORIGIN: &str = "https://app.example";

/// The origin and the response a web_message page posts (read from its data
/// attributes, HTML-unescaped).
fn posted(html: &str) -> (String, Value) {
    let attr = |name: &str| {
        let marker = format!("{name}=\"");
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name}: {html}"))
            + marker.len();
        let end = html[start..].find('"').unwrap() + start;
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let response = serde_json::from_str(&attr("data-response")).unwrap();
    (attr("data-origin"), response)
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A web_message page: 200, framable by `origin` only (no X-Frame-Options),
/// its one script allowed by hash; what it posts, and to whom.
async fn web_message_page(res: reqwest::Response, origin: &str) -> (String, Value) {
    assert_eq!(res.status(), 200);
    let csp = header(&res, CONTENT_SECURITY_POLICY).unwrap();
    assert!(csp.contains(&format!("frame-ancestors {origin};")), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(
        header(&res, X_FRAME_OPTIONS),
        None,
        "frame-ancestors decides"
    );
    let html = res.text().await.unwrap();
    scripts_are_hashed(&html, &csp);
    assert!(html.contains("authorization_response"), "{html}");
    posted(&html)
}

/// The parameters of auth0-spa-js's silent authentication (code, PKCE,
/// `prompt=none`, `web_message`) plus `extra`.
fn silent(
    challenge: &str,
    state: &str,
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("response_type", "code".to_owned()),
        ("response_mode", "web_message".to_owned()),
        ("prompt", "none".to_owned()),
        ("scope", "openid profile".to_owned()),
        ("state", state.to_owned()),
        ("nonce", "n-wm".to_owned()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    p.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    p
}

fn url_of(s: &TestServer, app: &App, params: &[(&'static str, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    authorize_url(s, app, &borrowed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_authentication_posts_the_code_to_the_web_origin() {
    let s = start().await;
    user(&s).await;
    let spa = app(&s, json!({"app_type": "spa", "web_origins": [APP_ORIGIN]})).await;
    let b = browser();
    let (verifier, challenge) = pkce();

    // No session yet: login_required travels the same way, with the state.
    let res = b
        .get(url_of(&s, &spa, &silent(&challenge, "st-0", &[])))
        .send()
        .await
        .unwrap();
    assert_eq!(reason_of(res.headers()), Some(Reason::LoginRequired));
    let (origin, response) = web_message_page(res, APP_ORIGIN).await;
    assert_eq!(origin, APP_ORIGIN);
    assert_eq!(response["error"], "login_required", "{response}");
    assert_eq!(response["state"], "st-0");
    assert!(response.get("code").is_none());

    // A popup login (web_message without prompt=none): the hosted login page,
    // then the page posting the code to the opener.
    let mut popup = silent(&challenge, "st-1", &[]);
    popup.retain(|(k, _)| *k != "prompt");
    let res = through_login(&s, &b, &url_of(&s, &spa, &popup)).await;
    let (origin, response) = web_message_page(res, APP_ORIGIN).await;
    assert_eq!(origin, APP_ORIGIN);
    assert_eq!(response["state"], "st-1");
    assert_eq!(response["iss"], s.base);
    assert!(response["code"].is_string(), "{response}");

    // With the session, silently: a code that redeems with the verifier.
    let res = b
        .get(url_of(&s, &spa, &silent(&challenge, "st-2", &[])))
        .send()
        .await
        .unwrap();
    let (_, response) = web_message_page(res, APP_ORIGIN).await;
    assert_eq!(response["state"], "st-2");
    let code = response["code"].as_str().unwrap();
    let r = s
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("client_id", spa.id.as_str()),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier.as_str()),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    verified_id_token(&s, r.body["id_token"].as_str().unwrap(), &spa.id, "n-wm").await;

    // An ID token by web_message (implicit) works the same way.
    let res = b
        .get(authorize_url(
            &s,
            &spa,
            &[
                ("response_type", "id_token"),
                ("response_mode", "web_message"),
                ("prompt", "none"),
                ("scope", "openid"),
                ("nonce", "n-3"),
                ("state", "st-3"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let (_, response) = web_message_page(res, APP_ORIGIN).await;
    verified_id_token(&s, response["id_token"].as_str().unwrap(), &spa.id, "n-3").await;
    assert!(response.get("access_token").is_none() && response.get("code").is_none());

    // consent_required too, through the same channel (a third-party app).
    let third = app(
        &s,
        json!({"app_type": "spa", "web_origins": [APP_ORIGIN], "is_first_party": false}),
    )
    .await;
    let res = b
        .get(url_of(&s, &third, &silent(&challenge, "st-4", &[])))
        .send()
        .await
        .unwrap();
    let (_, response) = web_message_page(res, APP_ORIGIN).await;
    assert_eq!(response["error"], "consent_required", "{response}");
    assert_eq!(response["state"], "st-4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_message_only_to_the_clients_web_origins() {
    let s = start().await;
    user(&s).await;
    let (_, challenge) = pkce();
    // The callback's origin is not a web origin of these clients: no message,
    // an error page that cannot be framed, whatever the session.
    let none = app(&s, json!({"app_type": "spa"})).await;
    let other = app(
        &s,
        json!({"app_type": "spa", "web_origins": ["https://other.example", "https://app.example:8443"]}),
    )
    .await;
    for client in [&none, &other] {
        let res = browser()
            .get(url_of(&s, client, &silent(&challenge, "st", &[])))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let csp = header(&res, CONTENT_SECURITY_POLICY).unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header(&res, X_FRAME_OPTIONS).as_deref(), Some("DENY"));
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("postMessage") && !html.contains("data-response"),
            "{html}"
        );
        assert!(!html.contains("st\""), "the state goes nowhere: {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_other_page_can_be_framed() {
    let s = start().await;
    user(&s).await;
    let spa = app(&s, json!({"app_type": "spa", "web_origins": [APP_ORIGIN]})).await;
    let (_, challenge) = pkce();
    let b = browser();
    let code_flow = |extra: &[(&'static str, &'static str)]| {
        let mut p = silent(&challenge, "st", extra);
        p.retain(|(k, _)| *k != "prompt" && *k != "response_mode");
        url_of(&s, &spa, &p)
    };
    // The /authorize redirect, the login page (even when web_message was
    // asked for: a popup shows it top-level), an error page, the form_post
    // page, logout, discovery, the Management API.
    let mut popup = silent(&challenge, "st", &[]);
    popup.retain(|(k, _)| *k != "prompt");
    let to_login = b.get(url_of(&s, &spa, &popup)).send().await.unwrap();
    let login_page = crate::refresh::location(&to_login);
    let mut responses = vec![
        to_login,
        b.get(&login_page).send().await.unwrap(),
        b.get(code_flow(&[])).send().await.unwrap(),
        b.get(s.url("authorize?client_id=nobody"))
            .send()
            .await
            .unwrap(),
        b.get(s.url("v2/logout")).send().await.unwrap(),
        b.get(s.url(".well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
        b.get(s.url("api/v2/clients")).send().await.unwrap(),
    ];
    // A form_post answer, after logging in.
    let res = through_login(&s, &b, &code_flow(&[("response_mode", "form_post")])).await;
    responses.push(res);
    for res in responses {
        let what = format!("{} {}", res.url(), res.status());
        assert_eq!(
            header(&res, X_FRAME_OPTIONS).as_deref(),
            Some("DENY"),
            "{what}"
        );
        if let Some(csp) = header(&res, CONTENT_SECURITY_POLICY) {
            assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        }
        let is_html =
            header(&res, reqwest::header::CONTENT_TYPE).is_some_and(|t| t.starts_with("text/html"));
        if is_html {
            let csp = header(&res, CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{what}"));
            let html = res.text().await.unwrap();
            if html.contains("<script>") {
                scripts_are_hashed(&html, &csp);
            }
        }
    }
}
