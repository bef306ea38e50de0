//! The hosted login flow driven as a browser would (a cookie jar, redirects
//! inspected one by one): the login page, sessions and SSO, UserInfo, and the
//! errors of `/authorize` and the code exchange. The helpers here are shared
//! with `login_credentials` (wrong passwords, CSRF, brute force, rate limits,
//! sign-up) and `consent_logout` (consent, logouts, form_post, discovery).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::bootstrap;
use tessera_core::clock::SystemClock;
use tessera_core::model::{
    AppType, Client, GrantType, JwtConfiguration, RefreshTokenConfig, TokenEndpointAuthMethod,
};
use tessera_core::store::TenantStore;

use crate::common::*;

pub(crate) const CALLBACK: &str = "https://app.example/callback";
pub(crate) const LOGGED_OUT: &str = "https://app.example/logged-out";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const API: &str = "https://orders.example/";

/// A browser: keeps cookies, follows no redirect by itself.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
}

pub(crate) fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The query parameters of a URL (each at most once).
pub(crate) fn query_of(url: &str) -> BTreeMap<String, String> {
    let url = url::Url::parse(url).unwrap();
    let mut out = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        assert!(
            out.insert(k.to_string(), v.to_string()).is_none(),
            "{k} twice in {url}"
        );
    }
    out
}

pub(crate) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the input named `name`.
pub(crate) fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}: {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap();
    unescape(&html[start..start + end])
}

pub(crate) fn claims_of(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut part = || {
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap())
            .unwrap()
    };
    let header = part();
    let claims = part();
    (header, claims)
}

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(tessera_core::ids::random_bytes::<32>().unwrap());
    let challenge = URL_SAFE_NO_PAD.encode(tessera_core::ids::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Public (`none`), PKCE required.
    Spa,
    /// Confidential, first party.
    Web,
    /// Confidential, third party: asks for consent.
    ThirdParty,
}

pub(crate) struct App {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

pub(crate) async fn app(s: &TestServer, kind: Kind) -> App {
    let id = tessera_core::ids::client_id().unwrap();
    let (method, app_type) = match kind {
        Kind::Spa => (TokenEndpointAuthMethod::None, AppType::Spa),
        _ => (
            TokenEndpointAuthMethod::ClientSecretPost,
            AppType::RegularWeb,
        ),
    };
    let client = Client {
        client_id: id.clone(),
        name: format!("App {id}"),
        app_type,
        token_endpoint_auth_method: method,
        grant_types: vec![GrantType::AuthorizationCode],
        callbacks: vec![CALLBACK.into()],
        allowed_logout_urls: vec![LOGGED_OUT.into()],
        web_origins: vec![],
        allowed_origins: vec![],
        is_first_party: kind != Kind::ThirdParty,
        refresh_token: RefreshTokenConfig::defaults(app_type),
        jwt_configuration: JwtConfiguration::default(),
        settings: Default::default(),
        description: String::new(),
        is_token_endpoint_ip_header_trusted: false,
        client_authentication_methods: None,
    };
    let secret = (kind != Kind::Spa).then(|| tessera_core::ids::client_secret().unwrap());
    let sealed = secret
        .as_ref()
        .map(|sec| bootstrap::seal_client_secret(&s.master, &id, sec).unwrap());
    s.store
        .create_client(&client, sealed.as_ref(), SystemClock.now())
        .await
        .unwrap();
    App { id, secret }
}

/// A database user; returns its id.
pub(crate) async fn user(s: &TestServer, email: &str) -> String {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": PASSWORD,
                "name": "Ada Lovelace",
                "given_name": "Ada",
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["user_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn orders_api(s: &TestServer) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({
                "identifier": API,
                "name": "Orders",
                "scopes": [{"value": "read:orders", "description": "Read your orders"}],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

/// The authorization URL for `client_id`; `extra` adds or overrides parameters
/// (an empty value removes one).
pub(crate) fn authorize_url(s: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id.into()),
        ("redirect_uri".into(), CALLBACK.into()),
        ("scope".into(), "openid profile email".into()),
        ("state".into(), "st-123".into()),
        ("nonce".into(), "n-456".into()),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("{}?{}", s.url("authorize"), query.join("&"))
}

/// The hosted login form.
pub(crate) struct LoginForm {
    pub(crate) url: String,
    pub(crate) html: String,
    pub(crate) state: String,
    pub(crate) csrf: String,
}

pub(crate) async fn login_form(b: &reqwest::Client, url: &str) -> LoginForm {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {url}");
    let html = res.text().await.unwrap();
    LoginForm {
        url: url.to_owned(),
        state: input_value(&html, "state"),
        csrf: input_value(&html, "csrf"),
        html,
    }
}

/// `/authorize` that must answer with the login page; its form.
pub(crate) async fn start_login(b: &reqwest::Client, s: &TestServer, auth_url: &str) -> LoginForm {
    let res = b.get(auth_url).send().await.unwrap();
    assert_eq!(res.status(), 302, "{auth_url}");
    let to = location(&res).unwrap();
    assert!(
        to.starts_with(&format!("{}u/login?state=", s.base)),
        "expected the login page: {to}"
    );
    login_form(b, &to).await
}

pub(crate) async fn post_form(
    b: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.post(url).form(form).send().await.unwrap()
}

pub(crate) async fn submit_login(
    b: &reqwest::Client,
    s: &TestServer,
    f: &LoginForm,
    email: &str,
    password: &str,
) -> reqwest::Response {
    post_form(
        b,
        &s.url("u/login"),
        &[
            ("state", &f.state),
            ("csrf", &f.csrf),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

/// The whole browser part for a user without a session: the callback's
/// parameters.
pub(crate) async fn log_in(
    b: &reqwest::Client,
    s: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
    email: &str,
) -> BTreeMap<String, String> {
    let f = start_login(b, s, &authorize_url(s, client_id, extra)).await;
    let res = submit_login(b, s, &f, email, PASSWORD).await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    let cookies = set_cookies(&res);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("tessera_session="))
        .unwrap_or_else(|| panic!("no session cookie: {cookies:?}"));
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    // Plain http: Lax and alone (browsers refuse None without Secure).
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("tessera_session_legacy")),
        "{cookies:?}"
    );
    callback(&location(&res).unwrap())
}

/// The parameters of a redirect to the callback.
pub(crate) fn callback(to: &str) -> BTreeMap<String, String> {
    assert!(to.starts_with(&format!("{CALLBACK}?")), "{to}");
    query_of(to)
}

/// `/authorize` for a browser with a session: straight to the callback.
pub(crate) async fn sso(
    b: &reqwest::Client,
    s: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let res = b
        .get(authorize_url(s, client_id, extra))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    callback(&location(&res).unwrap())
}

pub(crate) async fn exchange(
    s: &TestServer,
    app: &App,
    code: &str,
    verifier: Option<&str>,
) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", app.id.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    if let Some(secret) = &app.secret {
        form.push(("client_secret", secret));
    }
    s.token_request(&form).await
}

pub(crate) async fn userinfo(s: &TestServer, token: &str) -> Reply {
    reply(
        http()
            .get(s.url("userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) fn www_authenticate(r: &Reply) -> String {
    r.headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_is_a_plain_accessible_form() {
    let s = start().await;
    let spa = app(&s, Kind::Spa).await;
    let (_, challenge) = pkce();
    let b = browser();
    let res = b
        .get(authorize_url(
            &s,
            &spa.id,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("login_hint", "ada@example.com"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("tessera_tx_") && c.contains("HttpOnly")),
        "{:?}",
        set_cookies(&res)
    );
    let to = location(&res).unwrap();
    let page = b.get(&to).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    let state_id = query_of(&to)["state"].clone();
    for needle in [
        format!("<form method=\"post\" action=\"{}u/login\">", s.base),
        "<label for=\"email\">Email address</label><input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" required".into(),
        "<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>".into(),
        "<button type=\"submit\">Continue</button>".into(),
        format!("<input type=\"hidden\" name=\"state\" value=\"{state_id}\">"),
        "value=\"ada@example.com\"".into(),
        format!("href=\"{}u/signup?state={state_id}\">Sign up</a>", s.base),
        "Tessera".into(),
    ] {
        assert!(html.contains(&needle), "{needle} missing from {html}");
    }
    assert!(!input_value(&html, "csrf").is_empty());
    assert!(
        !html.contains("<script"),
        "works without JavaScript: {html}"
    );

    // An unknown or made-up state: an error page, never a redirect.
    for url in [
        s.url("u/login?state=nope"),
        s.url("u/login"),
        s.url("u/consent?state=nope"),
        s.url("u/signup?state=nope"),
    ] {
        let res = b.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{url}");
        assert!(location(&res).is_none());
        assert!(res.text().await.unwrap().contains("expired"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spa_logs_in_with_pkce_and_reads_userinfo() {
    let s = start().await;
    let spa = app(&s, Kind::Spa).await;
    let user_id = user(&s, "ada@example.com").await;
    let (verifier, challenge) = pkce();
    let b = browser();
    let params = log_in(
        &b,
        &s,
        &spa.id,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "Ada@Example.com",
    )
    .await;
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], s.base);
    let code = &params["code"];

    // The exchange: the code and the verifier.
    let r = exchange(&s, &spa, code, Some(&verifier)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let id_token = r.body["id_token"].as_str().unwrap();
    let access_token = r.body["access_token"].as_str().unwrap();
    assert_eq!(access_token.split('.').count(), 1, "opaque without an API");
    let (header, claims) = claims_of(id_token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["aud"], spa.id.as_str());
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["email"], "ada@example.com");
    assert!(claims["sid"].is_string() && claims["auth_time"].is_i64());

    // UserInfo with the opaque token: the claims its scopes allow.
    let info = userinfo(&s, access_token).await;
    assert_eq!(info.status, 200, "{info:?}");
    assert_eq!(info.headers["cache-control"], "no-store");
    assert_eq!(info.body["sub"], user_id.as_str());
    assert_eq!(info.body["email"], "ada@example.com");
    assert_eq!(info.body["name"], "Ada Lovelace");
    // And as a form body (RFC 6750 §2.2).
    let r = reply(
        http()
            .post(s.url("userinfo"))
            .form(&[("access_token", access_token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["sub"], user_id.as_str());

    // The ID token is not an access token.
    let r = userinfo(&s, id_token).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        www_authenticate(&r).contains("error=\"invalid_token\""),
        "{r:?}"
    );
    // No token at all: a bare challenge.
    let r = reply(http().get(s.url("userinfo")).send().await.unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(www_authenticate(&r), "Bearer realm=\"tessera\"");
    // A made-up token.
    let r = userinfo(&s, "not-a-token").await;
    assert_eq!(r.status, 401);
    assert!(www_authenticate(&r).contains("invalid_token"));

    // The login was counted.
    let admin = s.admin_token().await;
    let u = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(u.body["logins_count"], 1, "{u:?}");
    assert!(u.body["last_login"].is_string(), "{u:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_audience_gets_a_jwt_that_userinfo_accepts_and_a_scope_without_openid_is_refused() {
    let s = start().await;
    orders_api(&s).await;
    let web = app(&s, Kind::Web).await;
    let user_id = user(&s, "ada@example.com").await;
    let b = browser();
    let params = log_in(
        &b,
        &s,
        &web.id,
        &[("audience", API), ("scope", "openid email read:orders")],
        "ada@example.com",
    )
    .await;
    let r = exchange(&s, &web, &params["code"], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = r.body["access_token"].as_str().unwrap();
    let (header, claims) = claims_of(at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["aud"], json!([API, format!("{}userinfo", s.base)]));
    let info = userinfo(&s, at).await;
    assert_eq!(info.status, 200, "{info:?}");
    assert_eq!(info.body["sub"], user_id.as_str());
    assert_eq!(info.body["email"], "ada@example.com");
    assert!(
        info.body.get("name").is_none(),
        "no profile scope: {info:?}"
    );

    // A token without openid (opaque, scope profile): insufficient_scope.
    let params = sso(&b, &s, &web.id, &[("scope", "profile")]).await;
    let r = exchange(&s, &web, &params["code"], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.get("id_token").is_none());
    let info = userinfo(&s, r.body["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, 403, "{info:?}");
    assert!(www_authenticate(&info).contains("error=\"insufficient_scope\""));

    // A JWT without the userinfo audience (no openid): invalid_token.
    let params = sso(
        &b,
        &s,
        &web.id,
        &[("audience", API), ("scope", "read:orders")],
    )
    .await;
    let r = exchange(&s, &web, &params["code"], None).await;
    let info = userinfo(&s, r.body["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, 401, "{info:?}");

    // A blocked user's tokens stop working.
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{}", enc(&user_id)),
            &admin,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let info = userinfo(&s, at).await;
    assert_eq!(info.status, 401, "{info:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_errors_go_to_the_page_or_to_the_client() {
    let s = start().await;
    let spa = app(&s, Kind::Spa).await;
    let b = browser();
    // An unregistered redirect_uri: an error page, no redirect.
    let res = b
        .get(authorize_url(
            &s,
            &spa.id,
            &[("redirect_uri", "https://evil.example/cb")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(location(&res).is_none());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // A public client without PKCE: back to the client.
    let res = b.get(authorize_url(&s, &spa.id, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(reason_of(res.headers()), Some(Reason::PkceRequired));
    let p = callback(&location(&res).unwrap());
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], s.base);
    // prompt=none without a session: login_required.
    let (_, challenge) = pkce();
    let res = b
        .get(authorize_url(
            &s,
            &spa.id,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reason_of(res.headers()), Some(Reason::LoginRequired));
    let p = callback(&location(&res).unwrap());
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "st-123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_verifier_and_a_replayed_code_fail_and_replay_revokes() {
    let s = start().await;
    orders_api(&s).await;
    let spa = app(&s, Kind::Spa).await;
    user(&s, "ada@example.com").await;
    let b = browser();
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let params = log_in(&b, &s, &spa.id, &pk, "ada@example.com").await;
    let (other_verifier, _) = pkce();
    let r = exchange(&s, &spa, &params["code"], Some(&other_verifier)).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_grant");
    assert_eq!(r.reason(), Some(Reason::PkceMismatch), "{r:?}");

    // Replays, with an opaque and with a JWT access token.
    for extra in [vec![], vec![("audience", API)]] {
        let mut asked = pk.to_vec();
        asked.extend(extra);
        let params = sso(&b, &s, &spa.id, &asked).await;
        let first = exchange(&s, &spa, &params["code"], Some(&verifier)).await;
        assert_eq!(first.status, 200, "{first:?}");
        let at = first.body["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&s, at).await.status, 200);
        let again = exchange(&s, &spa, &params["code"], Some(&verifier)).await;
        assert_eq!(again.status, 400, "{again:?}");
        assert_eq!(again.body["error"], "invalid_grant");
        assert_eq!(again.reason(), Some(Reason::CodeReplayed), "{again:?}");
        let r = userinfo(&s, at).await;
        assert_eq!(r.status, 401, "revoked by the replay: {r:?}");
        assert!(www_authenticate(&r).contains("invalid_token"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_signs_in_to_a_second_app_and_prompt_login_or_max_age_ask_again() {
    let s = start().await;
    let first = app(&s, Kind::Web).await;
    let second = app(&s, Kind::Web).await;
    user(&s, "ada@example.com").await;
    let b = browser();
    let p1 = log_in(&b, &s, &first.id, &[], "ada@example.com").await;
    let t1 = exchange(&s, &first, &p1["code"], None).await;
    // The second application: no password prompt.
    let p2 = sso(&b, &s, &second.id, &[]).await;
    let t2 = exchange(&s, &second, &p2["code"], None).await;
    assert_eq!(t2.status, 200, "{t2:?}");
    let (_, c1) = claims_of(t1.body["id_token"].as_str().unwrap());
    let (_, c2) = claims_of(t2.body["id_token"].as_str().unwrap());
    assert_eq!(c1["sid"], c2["sid"], "one session");
    assert_eq!(c1["auth_time"], c2["auth_time"]);
    assert_eq!(c2["aud"], second.id.as_str());
    // prompt=none with the session: a code.
    let p = sso(&b, &s, &second.id, &[("prompt", "none")]).await;
    assert!(p.contains_key("code"), "{p:?}");
    // prompt=login forces the page.
    start_login(
        &b,
        &s,
        &authorize_url(&s, &second.id, &[("prompt", "login")]),
    )
    .await;
    // max_age older than the login forces it too.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    start_login(&b, &s, &authorize_url(&s, &second.id, &[("max_age", "0")])).await;
    let p = sso(&b, &s, &second.id, &[("max_age", "3600")]).await;
    assert!(p.contains_key("code"), "{p:?}");
    // prompt=none with max_age past: login_required.
    let p = sso(&b, &s, &second.id, &[("prompt", "none"), ("max_age", "0")]).await;
    assert_eq!(p["error"], "login_required");
}
