//! Small helpers to drive the hosted pages as a browser would, for the test
//! modules of issue 9 (lockout, cookies, hosted_posts).

use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use tessera_core::Clock;
use tessera_core::bootstrap;
use tessera_core::clock::SystemClock;
use tessera_core::model::{
    AppType, Client, GrantType, JwtConfiguration, RefreshTokenConfig, TokenEndpointAuthMethod,
};
use tessera_core::store::TenantStore;

use crate::common::*;
pub(crate) use crate::refresh::{enc, input_value};

pub const CALLBACK: &str = "https://app.example/callback";
pub const LOGGED_OUT: &str = "https://app.example/logged-out";
pub const PASSWORD: &str = "correct horse battery staple";

/// A browser: keeps cookies, follows no redirect by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A client without a cookie store (cookies are sent by hand).
pub fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` of cookie `name`, if any.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value in a `Set-Cookie` line.
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

/// A confidential web application (first or third party); its id and secret.
pub async fn web_app(s: &TestServer, first_party: bool) -> (String, String) {
    let id = tessera_core::ids::client_id().unwrap();
    let client = Client {
        client_id: id.clone(),
        name: format!("App {id}"),
        app_type: AppType::RegularWeb,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        grant_types: vec![GrantType::AuthorizationCode],
        callbacks: vec![CALLBACK.into()],
        allowed_logout_urls: vec![LOGGED_OUT.into()],
        web_origins: vec![],
        allowed_origins: vec![],
        is_first_party: first_party,
        refresh_token: RefreshTokenConfig::defaults(AppType::RegularWeb),
        jwt_configuration: JwtConfiguration::default(),
        settings: Default::default(),
        description: String::new(),
        is_token_endpoint_ip_header_trusted: false,
        client_authentication_methods: None,
    };
    let secret = tessera_core::ids::client_secret().unwrap();
    let sealed = bootstrap::seal_client_secret(&s.master, &id, &secret).unwrap();
    s.store
        .create_client(&client, Some(&sealed), SystemClock.now())
        .await
        .unwrap();
    (id, secret)
}

/// A user of the database connection with [`PASSWORD`], made directly in the
/// store (works whatever the issuer); returns its id.
pub async fn db_user(s: &TestServer, email: &str) -> String {
    use tessera_core::manage::users::{self, CreateUser, NewDatabaseUser};
    use tessera_core::store::UserStore;
    let connection = s
        .store
        .get_connection_by_name("Username-Password-Authentication")
        .await
        .unwrap();
    let input = CreateUser {
        connection: Some("Username-Password-Authentication".into()),
        email: Some(email.to_owned()),
        password: Some(tessera_core::Secret::new(PASSWORD.to_owned())),
        ..CreateUser::default()
    };
    let NewDatabaseUser { user, password } =
        users::create(input, connection.as_ref(), SystemClock.now()).unwrap();
    let hash = tessera_core::password::hash(&password).unwrap();
    s.store.create_user(&user, Some(&hash)).await.unwrap();
    user.user_id
}

/// The authorization URL of `client_id` (on the server's own base URL).
pub fn authorize_url(s: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ];
    params.extend_from_slice(extra);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("{}?{}", s.url("authorize"), query.join("&"))
}

/// A hosted page URL from a Location (which names the issuer) on the server's
/// own base URL (they differ when a test sets another issuer).
pub fn on_server(s: &TestServer, issuer: &str, to: &str) -> String {
    let relative = to
        .strip_prefix(issuer)
        .unwrap_or_else(|| panic!("{to} is not under {issuer}"));
    s.url(relative)
}

/// The login form: the request id and the CSRF field.
pub struct LoginForm {
    pub url: String,
    pub state: String,
    pub csrf: String,
}

pub async fn login_form(b: &reqwest::Client, url: &str) -> LoginForm {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {url}");
    let html = res.text().await.unwrap();
    LoginForm {
        url: url.to_owned(),
        state: input_value(&html, "state"),
        csrf: input_value(&html, "csrf"),
    }
}

/// `/authorize` that must answer with the login page (browser `b` keeps the
/// cookies); the form.
pub async fn start_login(b: &reqwest::Client, s: &TestServer, auth_url: &str) -> LoginForm {
    let res = b.get(auth_url).send().await.unwrap();
    assert_eq!(res.status(), 302, "{auth_url}");
    let to = location(&res);
    assert!(to.starts_with(&s.url("u/login?state=")), "{to}");
    login_form(b, &to).await
}

pub async fn submit_login(
    b: &reqwest::Client,
    s: &TestServer,
    f: &LoginForm,
    email: &str,
    password: &str,
) -> reqwest::Response {
    b.post(s.url("u/login"))
        .form(&[
            ("state", f.state.as_str()),
            ("csrf", &f.csrf),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The value of an unlabelled counter on `/metrics`.
pub async fn counter(s: &TestServer, name: &str) -> u64 {
    let text = http()
        .get(s.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no {name} in /metrics: {text}"))
}

/// A Management API user create (for the gate test); the reply.
pub async fn create_user_via_api(s: &TestServer, email: &str) -> Reply {
    let admin = s.admin_token().await;
    s.api(
        reqwest::Method::POST,
        "api/v2/users",
        &admin,
        Some(json!({
            "connection": "Username-Password-Authentication",
            "email": email,
            "password": PASSWORD,
        })),
    )
    .await
}

/// The `state` (request id) of a hosted page URL.
pub fn state_of(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no state in {url}"))
}

/// The name of the transaction cookie of request `state` on a plain-http issuer
/// (docs/login.md): `tessera_tx_` and the first 8 bytes of the SHA-256 of the
/// request id, in hex.
pub fn tx_cookie_name(state: &str) -> String {
    let digest = tessera_core::ids::sha256(state.as_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("tessera_tx_{tag}")
}
