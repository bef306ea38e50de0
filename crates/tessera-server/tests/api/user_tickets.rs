//! The Management API's tickets and verification-email job
//! (`tickets/password-change`, `tickets/email-verification`: scope
//! `create:user_tickets`; `jobs/verification-email`: `update:users`), the
//! hosted `u/verify-email` page, and the verification email the sign-ups send
//! when the connection asks for it. Who may not call them: a token without
//! the scope, a user's token, an ID token, a token for another API.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::{Clock, jwt};

use crate::common::*;
use crate::flows::{EMAIL, PASSWORD, browser};
use crate::password_reset::{NEW_PASSWORD, Setup, logs_in, open, setup, submit, user_id};
use crate::signup_api::{DB, configure, connection};

const RESULT_URL: &str = "https://app.example/after";

async fn user(t: &Setup, id: &str) -> Value {
    let admin = t.s.admin_token().await;
    let path = format!("api/v2/users/{}", crate::flows::enc(id));
    t.s.api(Method::GET, &path, &admin, None).await.body
}

async fn post(t: &Setup, path: &str, token: &str, body: Value) -> Reply {
    t.s.api(Method::POST, path, token, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ticket_resets_without_mail_and_links_back() {
    let t = setup().await;
    let id = user_id(&t).await;
    let token = t.s.token_with_scopes(&["create:user_tickets"]).await;
    let r = post(
        &t,
        "api/v2/tickets/password-change",
        &token,
        json!({
            "user_id": id, "result_url": RESULT_URL, "mark_email_as_verified": true,
            "includeEmailInRedirect": true, "client_id": t.app.id,
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let link = r.body["ticket"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&t.s.url("u/reset-password?ticket=")),
        "{link}"
    );
    assert!(
        t.sink
            .next_to(EMAIL, Duration::from_millis(300))
            .await
            .is_none(),
        "no mail"
    );
    let b = browser();
    let (_, form) = open(&b, &link).await;
    let (status, html) = submit(&b, &t.s, &form.unwrap(), NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("https://app.example/after?success=true&amp;message=")
            && html.contains("email=ada%40example.com"),
        "{html}"
    );
    assert_eq!(user(&t, &id).await["email_verified"], true);
    assert!(logs_in(&t.s, &t.app, NEW_PASSWORD).await);
    assert_eq!(open(&browser(), &link).await, (400, None), "used once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_by_email_and_connection_lives_its_ttl() {
    let t = setup().await;
    let token = t.s.token_with_scopes(&["create:user_tickets"]).await;
    let conn = connection(&t.s, DB).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        &t,
        "api/v2/tickets/password-change",
        &token,
        json!({"email": "ADA@example.com", "connection_id": conn, "ttl_sec": 60}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let link = r.body["ticket"].as_str().unwrap().to_owned();
    t.clock.advance(59);
    assert_eq!(open(&browser(), &link).await.0, 200);
    t.clock.advance(2);
    assert_eq!(open(&browser(), &link).await, (400, None));
    assert!(logs_in(&t.s, &t.app, PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_bodies_are_checked() {
    let t = setup().await;
    let id = user_id(&t).await;
    let token = t.s.token_with_scopes(&["create:user_tickets"]).await;
    let conn = connection(&t.s, DB).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pc = "api/v2/tickets/password-change";
    let ev = "api/v2/tickets/email-verification";
    let cases = [
        (pc, json!({}), 400, "invalid_body"),
        (
            pc,
            json!({"user_id": id, "email": EMAIL, "connection_id": conn}),
            400,
            "invalid_body",
        ),
        (pc, json!({"email": EMAIL}), 400, "invalid_body"),
        (
            pc,
            json!({"user_id": "auth0|nobody"}),
            404,
            "inexistent_user",
        ),
        (
            pc,
            json!({"email": "nobody@example.com", "connection_id": conn}),
            404,
            "inexistent_user",
        ),
        (
            pc,
            json!({"email": EMAIL, "connection_id": "con_nope"}),
            404,
            "inexistent_connection",
        ),
        (
            pc,
            json!({"user_id": id, "ttl_sec": -1}),
            400,
            "invalid_body",
        ),
        (
            pc,
            json!({"user_id": id, "ttl_sec": 2_592_001}),
            400,
            "invalid_body",
        ),
        (
            pc,
            json!({"user_id": id, "result_url": "javascript:alert(1)"}),
            400,
            "invalid_body",
        ),
        (
            pc,
            json!({"user_id": id, "client_id": "nope"}),
            404,
            "inexistent_client",
        ),
        (
            pc,
            json!({"user_id": id, "surprise": true}),
            400,
            "invalid_body",
        ),
        (ev, json!({}), 400, "invalid_body"),
        (
            ev,
            json!({"user_id": "auth0|nobody"}),
            404,
            "inexistent_user",
        ),
        (
            ev,
            json!({"user_id": id, "result_url": "ftp://x.example/"}),
            400,
            "invalid_body",
        ),
    ];
    for (path, body, status, code) in cases {
        let r = post(&t, path, &token, body.clone()).await;
        assert_mgmt_error(&r, status, code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_create_tickets_or_verification_jobs() {
    let t = setup().await;
    let id = user_id(&t).await;
    let body = json!({"user_id": id});
    let now = t.clock.now();
    let signer = t.s.state.keys.current().signer().clone();
    let all = "create:user_tickets update:users";
    let claims = json!({
        "iss": t.s.base, "sub": format!("{ADMIN_ID}@clients"), "aud": t.s.management_audience(),
        "iat": now, "exp": now + 60, "jti": "j1", "client_id": ADMIN_ID, "azp": ADMIN_ID,
        "scope": all, "gty": "client-credentials",
    });
    let mut user_token = claims.clone();
    user_token["sub"] = json!(id);
    user_token.as_object_mut().unwrap().remove("gty");
    let mut other_api = claims.clone();
    other_api["aud"] = json!("https://orders.example/");
    let id_token = json!({"iss": t.s.base, "sub": id, "aud": t.s.management_audience(), "iat": now, "exp": now + 60, "nonce": "n"});
    let refused = [
        (
            jwt::sign(&signer, jwt::TYP_AT_JWT, &user_token).unwrap(),
            401,
            "invalid_token",
        ),
        (
            jwt::sign(&signer, jwt::TYP_AT_JWT, &other_api).unwrap(),
            401,
            "invalid_token",
        ),
        (
            jwt::sign(&signer, jwt::TYP_JWT, &id_token).unwrap(),
            401,
            "invalid_token",
        ),
        (
            t.s.token_with_scopes(&["read:users", "update:users_app_metadata"])
                .await,
            403,
            "insufficient_scope",
        ),
    ];
    // Control: the same claims as a machine token pass.
    let good = jwt::sign(&signer, jwt::TYP_AT_JWT, &claims).unwrap();
    let paths = [
        "api/v2/tickets/password-change",
        "api/v2/tickets/email-verification",
        "api/v2/jobs/verification-email",
    ];
    for path in paths {
        for (token, status, code) in &refused {
            let r = post(&t, path, token, body.clone()).await;
            assert_mgmt_error(&r, *status, code);
        }
        let r = post(&t, path, &good, body.clone()).await;
        assert_eq!(r.status, 201, "{path}: {r:?}");
    }
    // Each scope opens only its own endpoints.
    let tickets_only = t.s.token_with_scopes(&["create:user_tickets"]).await;
    assert_mgmt_error(
        &post(&t, paths[2], &tickets_only, body.clone()).await,
        403,
        "insufficient_scope",
    );
    let users_only = t.s.token_with_scopes(&["update:users"]).await;
    assert_mgmt_error(
        &post(&t, paths[0], &users_only, body.clone()).await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_link_verifies_once() {
    let t = setup().await;
    let id = user_id(&t).await;
    let token =
        t.s.token_with_scopes(&["create:user_tickets", "update:users"])
            .await;
    let r = post(
        &t,
        "api/v2/tickets/email-verification",
        &token,
        json!({"user_id": id, "result_url": RESULT_URL}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let link = r.body["ticket"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&t.s.url("u/verify-email?ticket=")),
        "{link}"
    );
    assert_eq!(user(&t, &id).await["email_verified"], false);
    // Opening the link (a mail scanner, a preview) changes nothing.
    for _ in 0..2 {
        let res = http().get(&link).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(user(&t, &id).await["email_verified"], false);
    let html = confirm(&t, &link).await;
    assert!(html.contains("https://app.example/after?success=true"));
    assert_eq!(user(&t, &id).await["email_verified"], true);
    let res = http().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 400, "used once");
    let res = post_ticket(&t, &link).await;
    assert_eq!(res.status(), 400, "used once");

    // A ticket made for an email the user has since left verifies nothing.
    let r = post(
        &t,
        "api/v2/tickets/email-verification",
        &token,
        json!({"user_id": id}),
    )
    .await;
    let stale = r.body["ticket"].as_str().unwrap().to_owned();
    let admin = t.s.admin_token().await;
    let r =
        t.s.api(
            Method::PATCH,
            &format!("api/v2/users/{id}"),
            &admin,
            Some(json!({"email": "new-address@example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(user(&t, &id).await["email_verified"], false);
    assert_eq!(post_ticket(&t, &stale).await.status(), 400);
    assert_eq!(user(&t, &id).await["email_verified"], false);
    for bad in ["", "short", &"A".repeat(43)] {
        let res = http()
            .get(t.s.url(&format!("u/verify-email?ticket={bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    // A password-change ticket does not open this page, nor the reverse.
    let r = post(
        &t,
        "api/v2/tickets/password-change",
        &token,
        json!({"user_id": id}),
    )
    .await;
    let pc = r.body["ticket"]
        .as_str()
        .unwrap()
        .replace("u/reset-password", "u/verify-email");
    assert_eq!(http().get(&pc).send().await.unwrap().status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_job_emails_a_link() {
    let t = setup().await;
    let id = user_id(&t).await;
    let token = t.s.token_with_scopes(&["update:users"]).await;
    let r = post(
        &t,
        "api/v2/jobs/verification-email",
        &token,
        json!({"user_id": id, "client_id": t.app.id}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["type"], "verification_email");
    assert_eq!(r.body["status"], "pending");
    assert!(r.body["id"].as_str().unwrap().starts_with("job_"), "{r:?}");
    assert!(r.body["created_at"].is_string());
    let mail = t.sink.wait_for(EMAIL).await;
    assert_eq!(mail.header("Subject").as_deref(), Some("Verify your email"));
    let link = mail.link(&t.s.url("u/verify-email?ticket=")).unwrap();
    confirm(&t, &link).await;
    assert_eq!(user(&t, &id).await["email_verified"], true);
    // Already verified: refused; unknown user and client: 404.
    let r = post(
        &t,
        "api/v2/jobs/verification-email",
        &token,
        json!({"user_id": id}),
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = post(
        &t,
        "api/v2/jobs/verification-email",
        &token,
        json!({"user_id": "auth0|x"}),
    )
    .await;
    assert_mgmt_error(&r, 404, "inexistent_user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_send_the_verification_email_when_the_connection_asks() {
    let t = setup().await;
    // Off by default: no mail.
    let r = crate::signup_api::signup(&t.s, json!({
        "client_id": t.app.id, "connection": DB, "email": "quiet@example.com", "password": PASSWORD,
    })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        t.sink
            .next_to("quiet@example.com", Duration::from_millis(500))
            .await
            .is_none()
    );
    configure(
        &t.s,
        DB,
        &[&t.app.id],
        Some(json!({"send_verification_email": true})),
    )
    .await;
    let r = crate::signup_api::signup(&t.s, json!({
        "client_id": t.app.id, "connection": DB, "email": "new@example.com", "password": PASSWORD,
    })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["email_verified"], false);
    let mail = t.sink.wait_for("new@example.com").await;
    let link = mail.link(&t.s.url("u/verify-email?ticket=")).unwrap();
    confirm(&t, &link).await;
    let admin = t.s.admin_token().await;
    let r =
        t.s.api(
            Method::GET,
            "api/v2/users-by-email?email=new@example.com",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body[0]["email_verified"], true, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_management_api_gains_the_ticket_scope_at_start() {
    use tessera_core::store::TenantStore;
    let s = start().await;
    let aud = s.management_audience();
    let mut api = s
        .store
        .get_resource_server_by_identifier(&aud)
        .await
        .unwrap()
        .unwrap();
    api.scopes
        .retain(|scope| scope.value != "create:user_tickets");
    let kept = api.scopes.len();
    s.store
        .update_resource_server(&api, SystemClock.now())
        .await
        .unwrap();
    let issuer = tessera_core::Issuer::parse(&s.base).unwrap();
    tessera_core::bootstrap::run(
        s.store.as_ref(),
        &s.master,
        &issuer,
        None,
        SystemClock.now(),
    )
    .await
    .unwrap();
    let api = s
        .store
        .get_resource_server_by_identifier(&aud)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(api.scopes.len(), kept + 1);
    assert!(
        api.scopes
            .iter()
            .any(|scope| scope.value == "create:user_tickets")
    );
}

/// Posts the ticket of a verification `link` as its page's button does.
async fn post_ticket(t: &Setup, link: &str) -> reqwest::Response {
    let ticket = link.split("ticket=").nth(1).unwrap();
    http()
        .post(t.s.url("u/verify-email"))
        .form(&[("ticket", ticket)])
        .send()
        .await
        .unwrap()
}

/// Opens a verification link, checks its page posts the ticket back, and
/// presses the button: the answer page.
async fn confirm(t: &Setup, link: &str) -> String {
    let page = http().get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let ticket = link.split("ticket=").nth(1).unwrap();
    assert!(
        html.contains(&format!("name=\"ticket\" value=\"{ticket}\"")),
        "{html}"
    );
    let res = post_ticket(t, link).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}
