//! Third-party consent, both logouts, form_post, and discovery of the
//! interactive endpoints, over HTTP.

use serde_json::json;

use crate::common::*;
use crate::login::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_apps_ask_for_consent_which_is_remembered() {
    let s = start().await;
    orders_api(&s).await;
    let third = app(&s, Kind::ThirdParty).await;
    user(&s, "ada@example.com").await;
    let b = browser();
    let asked = [("audience", API), ("scope", "openid email read:orders")];
    let f = start_login(&b, &s, &authorize_url(&s, &third.id, &asked)).await;
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let consent_url = location(&res).unwrap();
    assert!(
        consent_url.starts_with(&format!("{}u/consent?state=", s.base)),
        "{consent_url}"
    );
    let page = b.get(&consent_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    for needle in [
        format!("App {}", third.id),
        "Read your orders".into(),
        "read:orders".into(),
        "Your email address".into(),
        "<button type=\"submit\" name=\"decision\" value=\"accept\">Allow</button>".into(),
        "name=\"decision\" value=\"deny\"".into(),
        ">Deny</button>".into(),
    ] {
        assert!(html.contains(&needle), "{needle} missing: {html}");
    }
    let state = input_value(&html, "state");
    let csrf = input_value(&html, "csrf");
    // CSRF applies here too.
    let res = post_form(
        &b,
        &s.url("u/consent"),
        &[
            ("state", &state),
            ("csrf", "forged"),
            ("decision", "accept"),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    // Deny: access_denied back to the client, nothing remembered.
    let res = post_form(
        &b,
        &s.url("u/consent"),
        &[("state", &state), ("csrf", &csrf), ("decision", "deny")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(reason_of(res.headers()), Some(Reason::ConsentDenied));
    let p = callback(&location(&res).unwrap());
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], s.base);

    // Asked again (the session is kept): the consent page again; accept.
    let res = b
        .get(authorize_url(&s, &third.id, &asked))
        .send()
        .await
        .unwrap();
    let consent_url = location(&res).unwrap();
    assert!(consent_url.contains("u/consent?state="), "{consent_url}");
    let html = b
        .get(&consent_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = post_form(
        &b,
        &s.url("u/consent"),
        &[
            ("state", &input_value(&html, "state")),
            ("csrf", &input_value(&html, "csrf")),
            ("decision", "accept"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let p = callback(&location(&res).unwrap());
    let r = exchange(&s, &third, &p["code"], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], "openid email read:orders");

    // Remembered: straight to the code; a smaller request is covered too.
    let p = sso(&b, &s, &third.id, &asked).await;
    assert!(p.contains_key("code"), "{p:?}");
    let p = sso(&b, &s, &third.id, &[("audience", API), ("scope", "openid")]).await;
    assert!(p.contains_key("code"), "{p:?}");
    // prompt=none with a scope never approved: consent_required.
    let p = sso(
        &b,
        &s,
        &third.id,
        &[("scope", "openid phone"), ("prompt", "none")],
    )
    .await;
    assert_eq!(p["error"], "consent_required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_logouts_end_the_session_and_redirect_only_to_allowed_urls() {
    let s = start().await;
    orders_api(&s).await;
    let web = app(&s, Kind::Web).await;
    let other = app(&s, Kind::Web).await;
    user(&s, "ada@example.com").await;
    let b = browser();

    // Auth0's v2/logout with an allowed returnTo.
    log_in(&b, &s, &web.id, &[], "ada@example.com").await;
    let res = b
        .get(s.url(&format!(
            "v2/logout?client_id={}&returnTo={}",
            web.id,
            enc(LOGGED_OUT)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res).unwrap(), LOGGED_OUT);
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("tessera_session=") && c.contains("Max-Age=0"))
    );
    start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;

    // An unlisted returnTo: the logged-out page, no redirect.
    log_in(&b, &s, &web.id, &[], "ada@example.com").await;
    let res = b
        .get(s.url(&format!(
            "v2/logout?client_id={}&returnTo={}",
            web.id,
            enc("https://evil.example/")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(location(&res).is_none());
    assert!(res.text().await.unwrap().contains("logged out"));
    start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;

    // OIDC RP-initiated logout with an ID token hint.
    let p = log_in(&b, &s, &web.id, &[], "ada@example.com").await;
    let tokens = exchange(&s, &web, &p["code"], None).await;
    let id_token = tokens.body["id_token"].as_str().unwrap().to_owned();
    // A JWT access token (at+jwt) is not an ID token.
    let at_other = {
        let p = sso(&b, &s, &other.id, &[("audience", API)]).await;
        exchange(&s, &other, &p["code"], None).await
    };
    assert_eq!(at_other.status, 200);
    assert_eq!(
        at_other.body["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    // Refused: an unlisted URL, a URL without a client, a hint that is not an
    // ID token, a client_id that contradicts the hint. The session stays.
    for query in [
        format!(
            "id_token_hint={id_token}&post_logout_redirect_uri={}",
            enc("https://evil.example/")
        ),
        format!("post_logout_redirect_uri={}", enc(LOGGED_OUT)),
        format!(
            "id_token_hint={}&post_logout_redirect_uri={}",
            at_other.body["access_token"].as_str().unwrap(),
            enc(LOGGED_OUT)
        ),
        format!("id_token_hint={id_token}x"),
        format!("id_token_hint={id_token}&client_id={}", other.id),
    ] {
        let res = b
            .get(s.url(&format!("oidc/logout?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert!(location(&res).is_none(), "{query}");
    }
    sso(&b, &s, &web.id, &[]).await;
    let res = b
        .get(s.url(&format!(
            "oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
            enc(LOGGED_OUT)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res).unwrap(), format!("{LOGGED_OUT}?state=bye"));
    start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
    // prompt=none now: login_required.
    let p = sso(&b, &s, &web.id, &[("prompt", "none")]).await;
    assert_eq!(p["error"], "login_required");

    // With client_id instead of a hint, and without a redirect: the page.
    log_in(&b, &s, &web.id, &[], "ada@example.com").await;
    let res = b
        .get(s.url(&format!("oidc/logout?client_id={}", web.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_answers_with_an_auto_submitting_form() {
    let s = start().await;
    let web = app(&s, Kind::Web).await;
    user(&s, "ada@example.com").await;
    let b = browser();
    let f = start_login(
        &b,
        &s,
        &authorize_url(&s, &web.id, &[("response_mode", "form_post")]),
    )
    .await;
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(location(&res).is_none());
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{CALLBACK}\">")),
        "{html}"
    );
    assert!(html.contains("<script>document.forms[0].submit()</script>"));
    let code = input_value(&html, "code");
    assert_eq!(input_value(&html, "state"), "st-123");
    assert_eq!(input_value(&html, "iss"), s.base);
    let r = exchange(&s, &web, &code, None).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_interactive_endpoints() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url(".well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let d = &r.body;
    assert_eq!(d["authorization_endpoint"], format!("{}authorize", s.base));
    assert_eq!(d["userinfo_endpoint"], format!("{}userinfo", s.base));
    assert_eq!(d["end_session_endpoint"], format!("{}oidc/logout", s.base));
    assert_eq!(
        d["response_types_supported"],
        json!(["code", "id_token", "code id_token"])
    );
    assert_eq!(
        d["response_modes_supported"],
        json!(["query", "fragment", "form_post", "web_message"])
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], false);
    for (field, value) in [
        ("grant_types_supported", "authorization_code"),
        ("grant_types_supported", "implicit"),
        ("claims_supported", "c_hash"),
        ("token_endpoint_auth_methods_supported", "none"),
        ("scopes_supported", "openid"),
        ("claims_supported", "email"),
    ] {
        assert!(
            d[field].as_array().unwrap().contains(&json!(value)),
            "{field}: {d}"
        );
    }
}
