//! Shared helpers of the login, refresh and revocation tests: applications,
//! users and APIs through the Management API, a cookie-keeping browser that
//! logs in through the hosted page, the code exchange, refresh, introspection,
//! and the PostgreSQL variant of the test server.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tessera_store::testing;

use crate::common::*;
pub(crate) const CALLBACK: &str = "https://app.example/callback";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const EMAIL: &str = "ada@example.com";
/// An API that allows offline access.
pub(crate) const API: &str = "https://orders.example/";
/// An API that does not.
pub(crate) const ONLINE_API: &str = "https://payments.example/";

pub(crate) struct App {
    pub id: String,
    pub secret: Option<String>,
}

/// An application created through the Management API: `settings` over a name
/// and the callback.
pub(crate) async fn app(s: &TestServer, settings: Value) -> App {
    let admin = s.admin_token().await;
    let mut body = json!({"name": "Refreshing app", "callbacks": [CALLBACK]});
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = s
        .api(Method::POST, "api/v2/clients", &admin, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    App {
        id: r.body["client_id"].as_str().unwrap().to_owned(),
        secret: r.body["client_secret"].as_str().map(str::to_owned),
    }
}

/// A database user with `EMAIL`; its id.
pub(crate) async fn user(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({
                "connection": "Username-Password-Authentication",
                "email": EMAIL,
                "password": PASSWORD,
                "name": "Ada Lovelace",
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["user_id"].as_str().unwrap().to_owned()
}

/// `API` (offline access allowed) and `ONLINE_API` (not).
pub(crate) async fn apis(s: &TestServer) {
    let admin = s.admin_token().await;
    for (identifier, offline) in [(API, true), (ONLINE_API, false)] {
        let r = s
            .api(
                Method::POST,
                "api/v2/resource-servers",
                &admin,
                Some(json!({
                    "identifier": identifier,
                    "name": identifier,
                    "scopes": [{"value": "read:orders", "description": "Read orders"}],
                    "allow_offline_access": offline,
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
    }
}

/// A browser: keeps cookies, follows no redirect by itself.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location: {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}: {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(tessera_core::ids::random_bytes::<32>().unwrap());
    let challenge = URL_SAFE_NO_PAD.encode(tessera_core::ids::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// Where `/authorize` leads the browser `b`: the login page is filled in when
/// there is no session. Returns the callback's query.
pub(crate) async fn browse_to_callback(
    s: &TestServer,
    b: &reqwest::Client,
    authorize_url: &str,
) -> BTreeMap<String, String> {
    let res = b.get(authorize_url).send().await.unwrap();
    assert_eq!(res.status(), 302, "{authorize_url}");
    let mut to = location(&res);
    if to.starts_with(&s.url("u/login")) {
        let res = fill_in_login(s, b, &to).await;
        assert_eq!(res.status(), 303, "login refused");
        to = location(&res);
    }
    assert!(to.starts_with(CALLBACK), "expected the callback: {to}");
    query_of(&to)
}

/// Opens the hosted login page at `login_url` in browser `b` and submits it
/// with `EMAIL` and `PASSWORD`: the answer to the form post.
pub(crate) async fn fill_in_login(
    s: &TestServer,
    b: &reqwest::Client,
    login_url: &str,
) -> reqwest::Response {
    fill_in_login_as(s, b, login_url, EMAIL, PASSWORD).await
}

/// [`fill_in_login`] with another `email` and `password`.
pub(crate) async fn fill_in_login_as(
    s: &TestServer,
    b: &reqwest::Client,
    login_url: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let html = b.get(login_url).send().await.unwrap().text().await.unwrap();
    b.post(s.url("u/login"))
        .form(&[
            ("state", input_value(&html, "state").as_str()),
            ("csrf", &input_value(&html, "csrf")),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// `/authorize` for `app` with PKCE: the callback's query and the verifier.
pub(crate) async fn authorize(
    s: &TestServer,
    b: &reqwest::Client,
    app: &App,
    scope: &str,
    extra: &[(&str, &str)],
) -> (std::collections::BTreeMap<String, String>, String) {
    let (verifier, challenge) = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", "st"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let url = format!("{}?{}", s.url("authorize"), query.join("&"));
    (browse_to_callback(s, b, &url).await, verifier)
}

/// `/authorize` (with PKCE) in browser `b`, then the code exchange: the token
/// response.
pub(crate) async fn login_in(
    s: &TestServer,
    b: &reqwest::Client,
    app: &App,
    scope: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let (callback, verifier) = authorize(s, b, app, scope, extra).await;
    let code = callback
        .get("code")
        .unwrap_or_else(|| panic!("no code: {callback:?}"));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", &verifier),
    ];
    form.extend(credentials(app));
    let r = s.token_request(&form).await;
    assert_eq!(r.status, 200, "code exchange: {r:?}");
    r
}

/// A login in a fresh browser.
pub(crate) async fn login(s: &TestServer, app: &App, scope: &str, extra: &[(&str, &str)]) -> Reply {
    login_in(s, &browser(), app, scope, extra).await
}

/// The client's credentials as form parameters (a public client: its id).
pub(crate) fn credentials(app: &App) -> Vec<(&'static str, &str)> {
    let mut form = vec![("client_id", app.id.as_str())];
    if let Some(secret) = &app.secret {
        form.push(("client_secret", secret.as_str()));
    }
    form
}

/// `grant_type=refresh_token`, optionally with a `scope`.
pub(crate) async fn refresh(s: &TestServer, app: &App, token: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    form.extend(credentials(app));
    s.token_request(&form).await
}

pub(crate) fn field(r: &Reply, name: &str) -> String {
    r.body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name}: {r:?}"))
        .to_owned()
}

/// The claims of a JWT (unverified: the login tests verify signatures).
pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An `invalid_grant` answer with its typed reason.
#[track_caller]
pub(crate) fn assert_invalid_grant(r: &Reply, reason: Reason) {
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_grant", "{r:?}");
    assert_eq!(r.reason(), Some(reason), "{r:?}");
}

pub(crate) async fn userinfo(s: &TestServer, access_token: &str) -> Reply {
    reply(
        http()
            .get(s.url("userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn introspect(s: &TestServer, app: &App, token: &str) -> Reply {
    let mut form = vec![("token", token)];
    form.extend(credentials(app));
    reply(
        http()
            .post(s.url("oauth/introspect"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn on_postgres() -> Option<TestServer> {
    let url = testing::fresh_postgres_database().await?;
    Some(
        start_opts(Options {
            database_url: Some(url),
            ..Options::default()
        })
        .await,
    )
}
