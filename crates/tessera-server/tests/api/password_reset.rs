//! Password reset by email: `POST dbconnections/change_password` (always the
//! same text, mail only for an existing user), the emailed single-use ticket
//! and the hosted `u/reset-password` page: the link works once, dies when it
//! expires or when the password changes otherwise, keeps working after a
//! refused password, needs the page's CSRF binding, and ends the user's
//! sessions and refresh-token families.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::{FixedClock, SystemClock};

use crate::common::*;
use crate::flows::{self, App, EMAIL, PASSWORD, browser, enc, field, input_value, location};
use crate::signup_api::{DB, configure};

pub(crate) const NEW_PASSWORD: &str = "a brand new passphrase 42";

pub(crate) struct Setup {
    pub s: TestServer,
    pub sink: SmtpSink,
    pub clock: Arc<FixedClock>,
    pub app: App,
}

/// A server mailing to a sink, on a clock the test moves, with `EMAIL`'s
/// user and an application the database connection is enabled for.
pub(crate) async fn setup() -> Setup {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        clock: clock.clone(),
        smtp_url: Some(sink.url()),
        ..Options::default()
    })
    .await;
    flows::user(&s).await;
    let app = flows::app(&s, json!({})).await;
    configure(&s, DB, &[&app.id], None).await;
    Setup {
        s,
        sink,
        clock,
        app,
    }
}

pub(crate) async fn change_password(s: &TestServer, body: Value) -> (u16, String, String) {
    let res = http()
        .post(s.url("dbconnections/change_password"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

/// Asks for a reset of `email` and returns the emailed link.
pub(crate) async fn reset_link(t: &Setup, email: &str) -> String {
    let (status, kind, text) = change_password(
        &t.s,
        json!({"client_id": t.app.id, "email": email, "connection": DB}),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, SENT), "{kind}");
    let mail = t.sink.wait_for(email).await;
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Reset your password")
    );
    mail.link(&t.s.url("u/reset-password?ticket="))
        .unwrap_or_else(|| panic!("no link in {}", mail.text()))
}

/// The id of `EMAIL`'s user.
pub(crate) async fn user_id(t: &Setup) -> String {
    let admin = t.s.admin_token().await;
    let r =
        t.s.api(
            Method::GET,
            &format!("api/v2/users-by-email?email={EMAIL}"),
            &admin,
            None,
        )
        .await;
    r.body[0]["user_id"].as_str().unwrap().to_owned()
}

const SENT: &str = "We've just sent you an email to reset your password.";

/// Opens the page in browser `b`: its status and, when it shows the form, the
/// ticket and CSRF fields.
pub(crate) async fn open(b: &reqwest::Client, link: &str) -> (u16, Option<(String, String)>) {
    let res = b.get(link).send().await.unwrap();
    let status = res.status().as_u16();
    let html = res.text().await.unwrap();
    let form = html
        .contains("name=\"ticket\"")
        .then(|| (input_value(&html, "ticket"), input_value(&html, "csrf")));
    (status, form)
}

pub(crate) async fn submit(
    b: &reqwest::Client,
    s: &TestServer,
    form: &(String, String),
    password: &str,
    confirm: &str,
) -> (u16, String) {
    let res = b
        .post(s.url("u/reset-password"))
        .form(&[
            ("ticket", form.0.as_str()),
            ("csrf", &form.1),
            ("password", password),
            ("password_confirm", confirm),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Does the hosted login accept `password` for `EMAIL`?
pub(crate) async fn logs_in(s: &TestServer, app: &App, password: &str) -> bool {
    let b = browser();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        s.url("authorize"),
        app.id,
        enc(flows::CALLBACK),
        flows::pkce().1
    );
    let res = b.get(&url).send().await.unwrap();
    let html = b
        .get(location(&res))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = b
        .post(s.url("u/login"))
        .form(&[
            ("state", input_value(&html, "state").as_str()),
            ("csrf", &input_value(&html, "csrf")),
            ("email", EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    res.status() == 303
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emailed_link_sets_a_new_password_once() {
    let t = setup().await;
    let link = reset_link(&t, EMAIL).await;
    let b = browser();
    let res = b.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (_, form) = open(&b, &link).await;
    let form = form.expect("the form");
    let (status, html) = submit(&b, &t.s, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Your password has been changed"), "{html}");
    assert!(
        logs_in(&t.s, &t.app, NEW_PASSWORD).await,
        "the new password logs in"
    );
    assert!(
        !logs_in(&t.s, &t.app, PASSWORD).await,
        "the old one does not"
    );
    // Used: the link and the form are refused.
    assert_eq!(open(&b, &link).await, (400, None));
    let (status, _) = submit(
        &b,
        &t.s,
        &form,
        "yet another passphrase",
        "yet another passphrase",
    )
    .await;
    assert_eq!(status, 400);
    assert!(logs_in(&t.s, &t.app, NEW_PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_get_the_same_answer_and_no_mail() {
    let t = setup().await;
    let known = change_password(
        &t.s,
        json!({"client_id": t.app.id, "email": EMAIL, "connection": DB}),
    )
    .await;
    assert_eq!(known.0, 200);
    assert!(known.1.starts_with("text/plain"), "{known:?}");
    t.sink.wait_for(EMAIL).await;
    // An unknown email; a blocked user; the body as a form: same answer.
    let unknown = change_password(
        &t.s,
        json!({"client_id": t.app.id, "email": "nobody@example.com", "connection": DB}),
    )
    .await;
    assert_eq!(unknown, known);
    let admin = t.s.admin_token().await;
    let blocked = t.s.api(Method::POST, "api/v2/users", &admin, Some(json!({
        "connection": DB, "email": "blocked@example.com", "password": PASSWORD, "blocked": true,
    }))).await;
    assert_eq!(blocked.status, 201, "{blocked:?}");
    let r = http()
        .post(t.s.url("dbconnections/change_password"))
        .form(&[
            ("client_id", t.app.id.as_str()),
            ("email", "blocked@example.com"),
            ("connection", DB),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), SENT);
    for to in ["nobody@example.com", "blocked@example.com"] {
        assert!(
            t.sink.next_to(to, Duration::from_secs(1)).await.is_none(),
            "mail to {to}"
        );
    }
    assert_eq!(t.sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_client_connection_or_email() {
    let t = setup().await;
    let other = flows::app(&t.s, json!({})).await;
    // A new client joins every connection (the tenant flag): take it off.
    configure(&t.s, DB, &[&t.app.id], None).await;
    let admin = t.s.admin_token().await;
    let social = t.s.api(Method::POST, "api/v2/connections", &admin, Some(json!({
        "name": "corp-oidc", "strategy": "oidc", "enabled_clients": [t.app.id],
        "options": {"issuer": "https://idp.example/", "client_id": "x", "client_secret": "y"},
    }))).await;
    let cases = [
        (
            json!({"client_id": "nope", "email": EMAIL, "connection": DB}),
            "invalid_client",
        ),
        (json!({"email": EMAIL, "connection": DB}), "invalid_client"),
        (
            json!({"client_id": t.app.id, "email": EMAIL, "connection": "Nope"}),
            "bad.connection",
        ),
        (
            json!({"client_id": t.app.id, "email": EMAIL}),
            "bad.connection",
        ),
        // The connection is not enabled for this client.
        (
            json!({"client_id": other.id, "email": EMAIL, "connection": DB}),
            "bad.connection",
        ),
        (
            json!({"client_id": t.app.id, "connection": DB}),
            "bad.email",
        ),
        (
            json!({"client_id": t.app.id, "email": "not-an-email", "connection": DB}),
            "bad.email",
        ),
        (
            json!({"client_id": t.app.id, "email": 42, "connection": DB}),
            "invalid_body",
        ),
    ];
    for (body, code) in cases {
        let (status, _, text) = change_password(&t.s, body.clone()).await;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{body}: {text}"
        );
    }
    if social.status == 201 {
        let (status, _, _) = change_password(
            &t.s,
            json!({"client_id": t.app.id, "email": EMAIL, "connection": "corp-oidc"}),
        )
        .await;
        assert_eq!(status, 400, "not a database connection");
    }
    let (status, _, _) = change_password(&t.s, json!("just a string")).await;
    assert_eq!(status, 400);
    assert!(
        t.sink
            .next_to(EMAIL, Duration::from_millis(500))
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_is_refused() {
    let t = setup().await;
    let link = reset_link(&t, EMAIL).await;
    let b = browser();
    let (_, form) = open(&b, &link).await;
    t.clock.advance(3601);
    assert_eq!(open(&browser(), &link).await, (400, None));
    let (status, _) = submit(&b, &t.s, &form.unwrap(), NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 400);
    assert!(logs_in(&t.s, &t.app, PASSWORD).await);
}

/// A reset link is mailed, then the admin PATCHes the user with `change`:
/// the link no longer opens.
async fn link_after_admin_change(change: Value) -> Setup {
    let t = setup().await;
    let link = reset_link(&t, EMAIL).await;
    let id = user_id(&t).await;
    let admin = t.s.admin_token().await;
    let r =
        t.s.api(
            Method::PATCH,
            &format!("api/v2/users/{}", enc(&id)),
            &admin,
            Some(change),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(open(&browser(), &link).await, (400, None));
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dies_when_the_password_changes_otherwise() {
    let t = link_after_admin_change(json!({"password": "changed by the admin 1"})).await;
    assert!(logs_in(&t.s, &t.app, "changed by the admin 1").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dies_when_the_email_changes() {
    // Mailed to an address the user has since left (a mailbox that may be
    // someone else's now): it resets nothing.
    link_after_admin_change(json!({"email": "moved-on@example.com"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_keeps_the_ticket() {
    let t = setup().await;
    let link = reset_link(&t, EMAIL).await;
    let b = browser();
    let (_, form) = open(&b, &link).await;
    let form = form.unwrap();
    for (password, confirm) in [
        ("short", "short"),
        (NEW_PASSWORD, "something else entirely"),
        ("", ""),
    ] {
        let (status, html) = submit(&b, &t.s, &form, password, confirm).await;
        assert_eq!(status, 400, "{password:?}");
        assert!(html.contains("name=\"ticket\""), "the form again: {html}");
    }
    // Without the page's CSRF binding (another browser, or no field): 403.
    let (status, _) = submit(&browser(), &t.s, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 403);
    let (status, _) = submit(
        &b,
        &t.s,
        &(form.0.clone(), "forged".into()),
        NEW_PASSWORD,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, 403);
    assert!(logs_in(&t.s, &t.app, PASSWORD).await, "nothing changed yet");
    let (status, _) = submit(&b, &t.s, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(logs_in(&t.s, &t.app, NEW_PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_ends_sessions_and_refresh_families() {
    let t = setup().await;
    let b = browser();
    let r = flows::login_in(&t.s, &b, &t.app, "openid offline_access", &[]).await;
    let rt = field(&r, "refresh_token");
    let link = reset_link(&t, EMAIL).await;
    let (_, form) = open(&b, &link).await;
    let (status, _) = submit(&b, &t.s, &form.unwrap(), NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200);
    let r = flows::refresh(&t.s, &t.app, &rt, None).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_grant");
    // The browser's session is gone: /authorize asks for the login again.
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        t.s.url("authorize"),
        t.app.id,
        enc(flows::CALLBACK),
        flows::pkce().1
    );
    let res = b.get(&url).send().await.unwrap();
    assert!(
        location(&res).starts_with(&t.s.url("u/login")),
        "{}",
        location(&res)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_gets_at_most_five_reset_mails_an_hour() {
    let t = setup().await;
    for _ in 0..7 {
        let (status, _, text) = change_password(
            &t.s,
            json!({"client_id": t.app.id, "email": EMAIL, "connection": DB}),
        )
        .await;
        assert_eq!((status, text.as_str()), (200, SENT));
    }
    for _ in 0..5 {
        t.sink.wait_for(EMAIL).await;
    }
    assert!(
        t.sink
            .next_to(EMAIL, Duration::from_secs(1))
            .await
            .is_none()
    );
    t.clock.advance(3601);
    reset_link(&t, EMAIL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_is_down_never_delays_the_answer() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let s = start_opts(Options {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await;
    flows::user(&s).await;
    let app = flows::app(&s, json!({})).await;
    configure(&s, DB, &[&app.id], None).await;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let (status, _, text) = change_password(
            &s,
            json!({"client_id": app.id, "email": EMAIL, "connection": DB}),
        )
        .await;
        assert_eq!((status, text.as_str()), (200, SENT));
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// A linked database identity (review of issue 14, L5): its ticket could
/// never complete, so none is issued; the answer is the one an unknown email
/// gets, and a Management API ticket by email answers 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_identity_gets_no_reset_ticket_and_the_unknown_emails_answer() {
    let t = setup().await;
    let admin = t.s.admin_token().await;
    const STAFF: &str = "Staff";
    let staff =
        t.s.api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({
                "name": STAFF, "strategy": "auth0", "enabled_clients": [t.app.id],
            })),
        )
        .await;
    assert_eq!(staff.status, 201, "{staff:?}");
    let mut ids = Vec::new();
    for (connection, email) in [(DB, "owner@example.com"), (STAFF, "linked@example.com")] {
        let r =
            t.s.api(
                Method::POST,
                "api/v2/users",
                &admin,
                Some(json!({
                    "connection": connection, "email": email, "password": PASSWORD,
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        ids.push(r.body["user_id"].as_str().unwrap_or_default().to_owned());
    }
    let secondary = ids[1].trim_start_matches("auth0|").to_owned();
    let linked =
        t.s.api(
            Method::POST,
            &format!("api/v2/users/{}/identities", enc(&ids[0])),
            &admin,
            Some(json!({"provider": "auth0", "user_id": secondary})),
        )
        .await;
    assert_eq!(linked.status, 201, "{linked:?}");
    let unknown = change_password(
        &t.s,
        json!({"client_id": t.app.id, "email": "nobody@example.com", "connection": STAFF}),
    )
    .await;
    let for_linked = change_password(
        &t.s,
        json!({"client_id": t.app.id, "email": "linked@example.com", "connection": STAFF}),
    )
    .await;
    assert_eq!(for_linked, unknown);
    assert!(
        t.sink
            .next_to("linked@example.com", Duration::from_secs(1))
            .await
            .is_none(),
        "a reset mail for a linked identity"
    );
    let connection_id = staff.body["id"].as_str().unwrap_or_default();
    let ticket =
        t.s.api(
            Method::POST,
            "api/v2/tickets/password-change",
            &admin,
            Some(json!({"email": "linked@example.com", "connection_id": connection_id})),
        )
        .await;
    assert_eq!(ticket.status, 404, "{ticket:?}");
}
