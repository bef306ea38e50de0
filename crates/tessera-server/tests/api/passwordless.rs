//! Passwordless email codes: `POST passwordless/start` and the grant
//! `http://auth0.com/oauth/grant-type/passwordless/otp`. The code is read from
//! the SMTP sink; who may not start or redeem, reused, wrong (three tries),
//! expired codes, sign-up disabled, the per-email send limit, and no code or
//! email in any log line.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::store::UserStore;

use crate::common::*;
use crate::signup_api::{DB, assert_refused, signup};

const OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// Every log line of this test binary at debug level, from the first call on.
pub(crate) fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Writer(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Setup {
    s: TestServer,
    sink: SmtpSink,
    app: String,
    clock: Arc<FixedClock>,
}

/// A server mailing to a sink, a native app with the OTP and refresh grants,
/// and the `email` connection enabled for it (`options` when given).
async fn setup(options: Option<Value>) -> Setup {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        smtp_url: Some(sink.url()),
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    let app = client(
        &s,
        json!({"app_type": "native", "grant_types": [OTP, "refresh_token"]}),
    )
    .await;
    let mut body =
        json!({"name": "email", "strategy": "email", "enabled_clients": [app["client_id"]]});
    if let Some(o) = options {
        body["options"] = o;
    }
    let admin = s.admin_token().await;
    let r = s
        .api(Method::POST, "api/v2/connections", &admin, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["strategy"], "email");
    Setup {
        app: app["client_id"].as_str().unwrap().to_owned(),
        s,
        sink,
        clock,
    }
}

async fn client(s: &TestServer, settings: Value) -> Value {
    let admin = s.admin_token().await;
    let mut body = json!({"name": "Passwordless app"});
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = s
        .api(Method::POST, "api/v2/clients", &admin, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

/// PATCHes the `email` connection.
async fn patch_email_connection(s: &TestServer, body: Value) {
    let admin = s.admin_token().await;
    let all = s.api(Method::GET, "api/v2/connections", &admin, None).await;
    let email = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "email");
    let id = email.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("api/v2/connections/{id}");
    let r = s.api(Method::PATCH, &path, &admin, Some(body)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn start_code(s: &TestServer, body: Value) -> Reply {
    s.post_json("passwordless/start", &body).await
}

fn start_body(app: &str, email: &str) -> Value {
    json!({"client_id": app, "connection": "email", "email": email, "send": "code",
        "authParams": {"scope": "openid"}})
}

/// Starts a login and reads the code from the mail.
async fn code_for(t: &Setup, email: &str) -> String {
    let r = start_code(&t.s, start_body(&t.app, email)).await;
    assert_eq!(r.status, 200, "{r:?}");
    t.sink
        .wait_for(email)
        .await
        .code()
        .expect("a code in the mail")
}

async fn redeem(t: &Setup, app: &str, email: &str, otp: &str) -> Reply {
    t.s.token_request(&[
        ("grant_type", OTP),
        ("client_id", app),
        ("realm", "email"),
        ("username", email),
        ("otp", otp),
        ("scope", "openid email profile offline_access"),
    ])
    .await
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn assert_wrong(r: &Reply, reason: Reason) {
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_grant", "{r:?}");
    assert_eq!(
        r.body["error_description"],
        "Wrong email or verification code."
    );
    assert_eq!(r.reason(), Some(reason), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_code_logs_in_once_and_creates_the_user() {
    let logs = captured_logs();
    let t = setup(None).await;
    let email = "otp-grace@example.com";
    let r = start_code(&t.s, start_body(&t.app, "OTP-Grace@Example.com")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_id", "email", "email_verified"], "{r:?}");
    assert_eq!(r.body["email"], email);
    let mail = t.sink.wait_for(email).await;
    let code = mail.code().unwrap();
    assert_eq!(code.len(), 6, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let r = redeem(&t, &t.app, email, &code).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.body["refresh_token"].is_string(), "{r:?}");
    let id = claims(r.body["id_token"].as_str().unwrap());
    assert_eq!(id["email"], email);
    assert_eq!(id["email_verified"], true);
    let sub = id["sub"].as_str().unwrap().to_owned();
    assert!(sub.starts_with("email|"), "{sub}");
    let (user, hash) =
        t.s.store
            .find_user_for_login("email", email)
            .await
            .unwrap()
            .unwrap();
    assert_eq!((user.user_id.as_str(), hash), (sub.as_str(), None));
    assert!(user.email_verified);
    assert_eq!(user.logins_count, 1);

    // The code works once.
    assert_wrong(
        &redeem(&t, &t.app, email, &code).await,
        Reason::OtpUnavailable,
    );
    // The next login is the same user.
    let code2 = code_for(&t, email).await;
    let r = redeem(&t, &t.app, email, &code2).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(claims(r.body["id_token"].as_str().unwrap())["sub"], sub);

    // A passwordless login never gets a Management API token.
    let code3 = code_for(&t, email).await;
    let audience = t.s.management_audience();
    let r =
        t.s.token_request(&[
            ("grant_type", OTP),
            ("client_id", &t.app),
            ("realm", "email"),
            ("username", email),
            ("otp", &code3),
            ("audience", &audience),
        ])
        .await;
    assert_eq!(r.reason(), Some(Reason::ManagementApiForUser), "{r:?}");
    assert!(r.body.get("access_token").is_none());

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logs.contains("passwordless code issued"),
        "the flow was logged"
    );
    for secret in [&code, &code2, &code3] {
        assert!(!logs.contains(&format!("\"{secret}\"")) && !logs.contains(&format!("={secret}")));
        if let Some(at) = logs.find(secret.as_str()) {
            let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
            panic!("a code reached a log line: {}", &logs[line_start..line_end]);
        }
    }
    assert!(
        !logs.to_lowercase().contains("otp-grace@"),
        "an email reached a log line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_codes_use_up_the_code_and_codes_expire() {
    let t = setup(None).await;
    let email = "ada@example.com";
    let code = code_for(&t, email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        assert_wrong(&redeem(&t, &t.app, email, wrong).await, Reason::OtpWrong);
    }
    // The fourth try is refused, the right code included.
    assert_wrong(
        &redeem(&t, &t.app, email, &code).await,
        Reason::OtpUnavailable,
    );

    // A fresh code expires after the connection's 5 minutes.
    let code = code_for(&t, email).await;
    t.clock.advance(301);
    assert_wrong(
        &redeem(&t, &t.app, email, &code).await,
        Reason::OtpUnavailable,
    );
    // A code sent to another email is not this one's.
    let other = code_for(&t, "bob@example.com").await;
    assert_wrong(
        &redeem(&t, &t.app, email, &other).await,
        Reason::OtpUnavailable,
    );
    assert!(
        t.s.store
            .find_user_for_login("email", email)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sign_up_disabled_unknown_emails_get_no_code_and_the_same_answer() {
    let t = setup(None).await;
    // A user who logged in while sign-ups were open.
    let code = code_for(&t, "known@example.com").await;
    assert_eq!(
        redeem(&t, &t.app, "known@example.com", &code).await.status,
        200
    );
    patch_email_connection(&t.s, json!({"options": {"disable_signup": true}})).await;

    let unknown = start_code(&t.s, start_body(&t.app, "stranger@example.com")).await;
    let known = start_code(&t.s, start_body(&t.app, "known@example.com")).await;
    assert_eq!((unknown.status, known.status), (200, 200));
    let shape = |r: &Reply| {
        r.body
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&unknown), shape(&known));
    let code = t.sink.wait_for("known@example.com").await.code().unwrap();
    assert!(
        t.sink
            .next_to("stranger@example.com", Duration::from_millis(500))
            .await
            .is_none(),
        "no code for an email that may not sign up"
    );
    assert_eq!(
        redeem(&t, &t.app, "known@example.com", &code).await.status,
        200
    );
    assert_wrong(
        &redeem(&t, &t.app, "stranger@example.com", "123456").await,
        Reason::OtpWrong,
    );
    assert!(
        t.s.store
            .find_user_for_login("email", "stranger@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_start_or_redeem() {
    let t = setup(None).await;
    let s = &t.s;
    let email = "eve@example.com";
    // A client without the grant type; one the connection is not enabled for.
    let no_grant = client(s, json!({"app_type": "native"})).await;
    let no_grant = no_grant["client_id"].as_str().unwrap();
    patch_email_connection(s, json!({"enabled_clients": [t.app, no_grant]})).await;
    let r = start_code(s, start_body(no_grant, email)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{r:?}"
    );
    let r = redeem(&t, no_grant, email, "123456").await;
    assert_eq!(r.reason(), Some(Reason::GrantTypeNotAllowed), "{r:?}");
    let not_enabled = client(s, json!({"app_type": "native", "grant_types": [OTP]})).await;
    let not_enabled = not_enabled["client_id"].as_str().unwrap();
    // A new client joins every connection (the tenant flag): take it off.
    patch_email_connection(s, json!({"enabled_clients": [t.app, no_grant]})).await;
    let r = start_code(s, start_body(not_enabled, email)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("bad.connection")),
        "{r:?}"
    );
    assert_eq!(
        redeem(&t, not_enabled, email, "123456").await.reason(),
        Some(Reason::ConnectionUnusable)
    );
    // Unknown client; the database connection; a bad email; send=link.
    let r = start_code(s, start_body("nope", email)).await;
    assert_eq!(r.body["error"], "bad.client_id", "{r:?}");
    let mut db = start_body(&t.app, email);
    db["connection"] = json!(DB);
    assert_eq!(start_code(s, db).await.body["error"], "bad.connection");
    let r = start_code(s, start_body(&t.app, "not-an-email")).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("bad.email")),
        "{r:?}"
    );
    let mut link = start_body(&t.app, email);
    link["send"] = json!("link");
    assert_eq!(start_code(s, link).await.body["error"], "bad.send");
    // The grant's realm must be the passwordless connection.
    let r = s
        .token_request(&[
            ("grant_type", OTP),
            ("client_id", &t.app),
            ("realm", DB),
            ("username", email),
            ("otp", "123456"),
        ])
        .await;
    assert_eq!(r.reason(), Some(Reason::ConnectionUnusable), "{r:?}");
    // A confidential client must authenticate.
    let web = client(s, json!({"app_type": "regular_web", "grant_types": [OTP]})).await;
    let (web_id, web_secret) = (
        web["client_id"].as_str().unwrap(),
        web["client_secret"].as_str().unwrap(),
    );
    patch_email_connection(s, json!({"enabled_clients": [t.app, web_id]})).await;
    let r = start_code(s, start_body(web_id, email)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_client")),
        "{r:?}"
    );
    let mut wrong = start_body(web_id, email);
    wrong["client_secret"] = json!("not-the-secret");
    assert_eq!(start_code(s, wrong).await.status, 401);
    let mut right = start_body(web_id, email);
    right["client_secret"] = json!(web_secret);
    assert_eq!(start_code(s, right).await.status, 200);
    // The passwordless connection takes no sign-ups with passwords.
    let r = signup(
        s,
        json!({"client_id": t.app, "connection": "email", "email": email,
        "password": "correct horse battery staple"}),
    )
    .await;
    assert_refused(&r, 400, "bad.connection");
    // Sends per email are limited (5 an hour), whoever asks.
    for _ in 0..4 {
        assert_eq!(start_code(s, start_body(&t.app, email)).await.status, 200);
    }
    let r = start_code(s, start_body(&t.app, email)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (429, Some("too_many_requests")),
        "{r:?}"
    );
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        start_code(s, start_body(&t.app, "other@example.com"))
            .await
            .status,
        200
    );
    let _ = t.clock.now();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_only_for_its_client_and_never_for_a_third_party() {
    let t = setup(None).await;
    let s = &t.s;
    let email = "grace@example.com";
    let other = client(s, json!({"app_type": "native", "grant_types": [OTP]})).await;
    let other = other["client_id"].as_str().unwrap();
    let partner = client(
        s,
        json!({"app_type": "native", "grant_types": [OTP], "is_first_party": false}),
    )
    .await;
    let partner = partner["client_id"].as_str().unwrap();
    patch_email_connection(s, json!({"enabled_clients": [t.app, other, partner]})).await;
    // A code asked for by one app is wrong at another, even enabled ones.
    let code = code_for(&t, email).await;
    assert_wrong(&redeem(&t, other, email, &code).await, Reason::OtpWrong);
    assert_eq!(redeem(&t, &t.app, email, &code).await.status, 200);
    // A third party neither starts nor redeems (it would skip consent).
    let r = start_code(s, start_body(partner, email)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{r:?}"
    );
    let r = redeem(&t, partner, email, "123456").await;
    assert_eq!(r.reason(), Some(Reason::ThirdPartyPasswordGrant), "{r:?}");
    assert_eq!(r.body["error"], "unauthorized_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_across_new_codes_lock_the_email_for_a_day() {
    let t = setup(None).await;
    let email = "mallory-target@example.com";
    // Start, three wrong guesses, start again: 20 wrong codes in all (five
    // sends an hour), then even the right code is refused.
    let mut failures = 0;
    let mut sends = 0;
    while failures < 20 {
        if sends == 5 {
            t.clock.advance(3601);
            sends = 0;
        }
        let code = code_for(&t, email).await;
        sends += 1;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..3 {
            if failures < 20 {
                assert_wrong(&redeem(&t, &t.app, email, wrong).await, Reason::OtpWrong);
                failures += 1;
            }
        }
    }
    t.clock.advance(3601);
    let code = code_for(&t, email).await;
    let r = redeem(&t, &t.app, email, &code).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::LoginAttemptsExceeded), "{r:?}");
    // A day after the last failure, a new code logs in.
    t.clock.advance(86_401);
    let code = code_for(&t, email).await;
    assert_eq!(redeem(&t, &t.app, email, &code).await.status, 200);
}
