//! Issue 12, item 1: the `password` and `password-realm` grants. The same
//! password check as the hosted login (same answer and work for unknown
//! emails, the lockout reserved before the check), tokens as a code login
//! issues them, and who must not get in.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_server::interactive::gate::PasswordGate;

use crate::common::*;
use crate::flows::{API, App, EMAIL, PASSWORD, apis, app, credentials, field, refresh, user};
use crate::front_channel::verified_jwt;

const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";
const REALM: &str = "Username-Password-Authentication";
const CHECKS: &str = "tessera_password_checks_total";
const THRESHOLD: i64 = 5;

fn configure(c: &mut tessera_server::ServerConfig) {
    c.brute_force_threshold = THRESHOLD;
    // Room for every burst: these tests are about the lockout, not the gate.
    c.password_gate = PasswordGate::new(2, 128);
}

async fn server() -> TestServer {
    start_opts(Options {
        configure,
        ..Options::default()
    })
    .await
}

/// A confidential web app allowed both password grants and refresh tokens.
async fn web(s: &TestServer, extra: Value) -> App {
    let mut settings = json!({
        "app_type": "regular_web",
        "grant_types": [REALM_GRANT, "password", "refresh_token"],
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    app(s, settings).await
}

/// A password-realm request as a form, with the app's credentials in the body.
async fn realm_login(s: &TestServer, app: &App, password: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", REALM),
        ("username", EMAIL),
        ("password", password),
    ];
    form.extend(extra.iter().copied());
    form.extend(credentials(app));
    s.token_request(&form).await
}

/// A password-realm request with the right password, from `app`, claiming
/// the end user's address `forwarded_for`.
async fn login_from(s: &TestServer, app: &App, forwarded_for: &str) -> Reply {
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", REALM),
        ("username", EMAIL),
        ("password", PASSWORD),
    ];
    form.extend(credentials(app));
    reply(
        http()
            .post(s.url("oauth/token"))
            .header("auth0-forwarded-for", forwarded_for)
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_json(s: &TestServer, body: Value) -> Reply {
    reply(
        http()
            .post(s.url("oauth/token"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[track_caller]
fn assert_refused(r: &Reply, status: u16, error: &str, reason: Reason) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["error"], error, "{r:?}");
    assert_eq!(r.reason(), Some(reason), "{r:?}");
    assert!(r.body.get("access_token").is_none(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_realm_issues_verified_id_access_and_refresh_tokens_from_form_or_json() {
    let s = server().await;
    apis(&s).await;
    let user_id = user(&s).await;
    let web = web(&s, json!({})).await;
    let scope = "openid profile email offline_access read:orders";
    let form = realm_login(&s, &web, PASSWORD, &[("audience", API), ("scope", scope)]).await;
    let json = post_json(
        &s,
        json!({
            "grant_type": REALM_GRANT, "realm": REALM, "username": EMAIL,
            "password": PASSWORD, "audience": API, "scope": scope,
            "client_id": web.id, "client_secret": web.secret, "connection": null,
        }),
    )
    .await;
    for r in [&form, &json] {
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["scope"], scope);
        let (header, id) = verified_jwt(&s, &field(r, "id_token"), &web.id).await;
        assert_eq!(header["typ"], "JWT");
        assert_eq!(id["sub"], user_id.as_str());
        assert_eq!(id["email"], EMAIL);
        assert_eq!(id["name"], "Ada Lovelace");
        assert!(id["sid"].as_str().is_some_and(|s| s.len() >= 32), "{id}");
        let (header, at) = verified_jwt(&s, &field(r, "access_token"), API).await;
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(at["sub"], user_id.as_str());
        assert_eq!(at["azp"], web.id.as_str());
        assert_eq!(at["scope"], scope);
        // The refresh token works as a code login's does.
        let refreshed = refresh(&s, &web, &field(r, "refresh_token"), None).await;
        assert_eq!(refreshed.status, 200, "{refreshed:?}");
    }
    // Each login is its own: two sids.
    let sid = |r: &Reply| crate::flows::claims(&field(r, "id_token"))["sid"].clone();
    assert_ne!(sid(&form), sid(&json));
    // The user's login was counted.
    let admin = s.admin_token().await;
    let u = s
        .api(
            Method::GET,
            &format!("api/v2/users/{user_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(u.body["logins_count"], 2, "{u:?}");

    // `password`: the default directory; no audience, no openid: an opaque
    // access token, nothing else.
    let plain = s
        .token_request(&[
            ("grant_type", "password"),
            ("username", "  ADA@example.com "),
            ("password", PASSWORD),
            ("client_id", &web.id),
            ("client_secret", web.secret.as_deref().unwrap()),
        ])
        .await;
    assert_eq!(plain.status, 200, "{plain:?}");
    assert!(!field(&plain, "access_token").starts_with("eyJ"));
    assert!(plain.body.get("id_token").is_none(), "{plain:?}");
    assert!(plain.body.get("refresh_token").is_none(), "{plain:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_and_wrong_passwords_get_one_answer_and_blocked_users_none() {
    let s = server().await;
    let user_id = user(&s).await;
    let web = web(&s, json!({})).await;
    let wrong = realm_login(&s, &web, "not the password", &[]).await;
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", REALM),
        ("username", "nobody@example.com"),
        ("password", PASSWORD),
    ];
    form.extend(credentials(&web));
    let unknown = s.token_request(&form).await;
    for r in [&wrong, &unknown] {
        assert_refused(r, 403, "invalid_grant", Reason::PasswordWrong);
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error_description"], "Wrong email or password.");
    // Missing credentials are a malformed request, not a guess.
    let r = s
        .token_request(&[
            ("grant_type", REALM_GRANT),
            ("realm", REALM),
            ("username", EMAIL),
            ("client_id", &web.id),
            ("client_secret", web.secret.as_deref().unwrap()),
        ])
        .await;
    assert_refused(&r, 400, "invalid_request", Reason::ParameterMissing);

    let admin = s.admin_token().await;
    let blocked = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{user_id}"),
            &admin,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(blocked.status, 200, "{blocked:?}");
    let r = realm_login(&s, &web, PASSWORD, &[]).await;
    assert_refused(&r, 401, "unauthorized", Reason::LoginUserBlocked);
    assert_eq!(r.body["error_description"], "user is blocked");
    // A blocked user's wrong password is just wrong (nothing revealed).
    let r = realm_login(&s, &web, "not the password", &[]).await;
    assert_refused(&r, 403, "invalid_grant", Reason::PasswordWrong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_realms_and_audiences_that_may_not_use_the_grant_are_refused() {
    let s = server().await;
    user(&s).await;
    // A client that lists only the code grant, and one with only `password`.
    let code_only = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code"]}),
    )
    .await;
    let r = realm_login(&s, &code_only, PASSWORD, &[]).await;
    assert_refused(&r, 400, "unauthorized_client", Reason::GrantTypeNotAllowed);
    let password_only = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["password"]}),
    )
    .await;
    let r = realm_login(&s, &password_only, PASSWORD, &[]).await;
    assert_refused(&r, 400, "unauthorized_client", Reason::GrantTypeNotAllowed);

    let web = web(&s, json!({})).await;
    // A wrong secret, and no secret at all, before any password is checked.
    let before = crate::hosted::counter(&s, CHECKS).await;
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", REALM),
        ("username", EMAIL),
        ("password", PASSWORD),
        ("client_id", web.id.as_str()),
    ];
    let r = s.token_request(&form).await;
    assert_refused(&r, 401, "invalid_client", Reason::ClientSecretRequired);
    form.push(("client_secret", "not-the-secret-0123456789abcdefghijklmnop"));
    let r = s.token_request(&form).await;
    assert_refused(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    assert_eq!(crate::hosted::counter(&s, CHECKS).await, before);

    // Unknown realm; a realm enabled only for another client.
    let r = s
        .token_request(&[
            ("grant_type", REALM_GRANT),
            ("realm", "No-Such-Connection"),
            ("username", EMAIL),
            ("password", PASSWORD),
            ("client_id", &web.id),
            ("client_secret", web.secret.as_deref().unwrap()),
        ])
        .await;
    assert_refused(&r, 400, "invalid_request", Reason::RealmUnknown);
    let admin = s.admin_token().await;
    let c = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "Staff", "strategy": "auth0", "enabled_clients": [code_only.id]})),
        )
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    let r = s
        .token_request(&[
            ("grant_type", REALM_GRANT),
            ("realm", "Staff"),
            ("username", EMAIL),
            ("password", PASSWORD),
            ("client_id", &web.id),
            ("client_secret", web.secret.as_deref().unwrap()),
        ])
        .await;
    assert_refused(&r, 400, "unauthorized_client", Reason::RealmNotEnabled);

    // The Management API never takes a user's token; an unknown API neither.
    let r = realm_login(
        &s,
        &web,
        PASSWORD,
        &[("audience", &s.management_audience())],
    )
    .await;
    assert_refused(&r, 403, "access_denied", Reason::ManagementApiForUser);
    let r = realm_login(
        &s,
        &web,
        PASSWORD,
        &[("audience", "https://nowhere.example/")],
    )
    .await;
    assert_refused(&r, 403, "access_denied", Reason::ApiUnknown);
    assert_eq!(
        crate::hosted::counter(&s, CHECKS).await,
        before,
        "no password was checked for a request refused before"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_clients_and_basic_authentication() {
    let s = server().await;
    user(&s).await;
    // A native app: no secret (Auth0 allows the grant for native apps).
    let native = app(
        &s,
        json!({"app_type": "native", "grant_types": [REALM_GRANT, "refresh_token"]}),
    )
    .await;
    assert!(native.secret.is_none());
    let r = realm_login(&s, &native, PASSWORD, &[("scope", "openid")]).await;
    assert_eq!(r.status, 200, "{r:?}");
    verified_jwt(&s, &field(&r, "id_token"), &native.id).await;

    // client_secret_basic: Basic works, the secret in the body does not.
    let basic = web(
        &s,
        json!({"token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    let secret = basic.secret.clone().unwrap();
    let form = [
        ("grant_type", REALM_GRANT),
        ("realm", REALM),
        ("username", EMAIL),
        ("password", PASSWORD),
    ];
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .basic_auth(&basic.id, Some(&secret))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = realm_login(&s, &basic, PASSWORD, &[]).await;
    assert_refused(&r, 401, "invalid_client", Reason::SecretMustUseBasic);
}

/// `n` wrong guesses at once from `web`, each with `forwarded_for` if given.
async fn guesses(s: &TestServer, web: &App, n: usize, forwarded_for: Option<&str>) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let url = s.url("oauth/token");
            let mut form = vec![
                ("grant_type", REALM_GRANT.to_owned()),
                ("realm", REALM.to_owned()),
                ("username", EMAIL.to_owned()),
                ("password", "a wrong guess".to_owned()),
                ("client_id", web.id.clone()),
            ];
            if let Some(secret) = &web.secret {
                form.push(("client_secret", secret.clone()));
            }
            let forwarded_for = forwarded_for.map(str::to_owned);
            tokio::spawn(async move {
                let mut req = http().post(url).form(&form);
                if let Some(ip) = forwarded_for {
                    req = req.header("auth0-forwarded-for", ip);
                }
                req.send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_stay_within_the_lockout_and_then_the_right_password_is_refused() {
    let s = server().await;
    user(&s).await;
    let web = web(&s, json!({})).await;
    let before = crate::hosted::counter(&s, CHECKS).await;
    let statuses = guesses(&s, &web, 20, None).await;
    let checks = crate::hosted::counter(&s, CHECKS).await - before;
    assert!(
        checks <= THRESHOLD as u64,
        "{checks} argon2 checks for {THRESHOLD} allowed"
    );
    assert!(
        statuses.iter().all(|c| *c == 403 || *c == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = realm_login(&s, &web, PASSWORD, &[]).await;
    assert_refused(&r, 429, "too_many_attempts", Reason::LoginAttemptsExceeded);
    // The hosted login and the grants share the count (one check, one key).
    assert_eq!(crate::hosted::counter(&s, CHECKS).await - before, checks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_forwarded_for_counts_only_from_a_trusted_confidential_client() {
    let s = server().await;
    user(&s).await;
    // Untrusted: the header is ignored, every guess counts against the peer,
    // so a different claimed address does not get the right password in.
    let untrusted = web(&s, json!({})).await;
    guesses(&s, &untrusted, THRESHOLD as usize, Some("198.51.100.7")).await;
    let r = login_from(&s, &untrusted, "203.0.113.9").await;
    assert_refused(&r, 429, "too_many_attempts", Reason::LoginAttemptsExceeded);

    // Trusted: each end user's address has its own count.
    let s = server().await;
    user(&s).await;
    let trusted = web(&s, json!({"is_token_endpoint_ip_header_trusted": true})).await;
    let admin = s.admin_token().await;
    let shown = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{}", trusted.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        shown.body["is_token_endpoint_ip_header_trusted"], true,
        "{shown:?}"
    );
    guesses(&s, &trusted, THRESHOLD as usize, Some("198.51.100.7")).await;
    let locked = login_from(&s, &trusted, "198.51.100.7").await;
    assert_refused(
        &locked,
        429,
        "too_many_attempts",
        Reason::LoginAttemptsExceeded,
    );
    let other = login_from(&s, &trusted, "203.0.113.9").await;
    assert_eq!(other.status, 200, "{other:?}");
    // A trusted client's header that is not one address is refused, not
    // replaced by the backend's own address (which would lock every user of
    // that backend out together).
    for bad in ["203.0.113.9, 10.0.0.1", "203.0.113.9:443", "nobody", ""] {
        let r = login_from(&s, &trusted, bad).await;
        assert_refused(&r, 400, "invalid_request", Reason::ForwardedForMalformed);
    }
    // A public client cannot be trusted: its header is ignored.
    let native = app(
        &s,
        json!({"app_type": "native", "grant_types": [REALM_GRANT], "is_token_endpoint_ip_header_trusted": true}),
    )
    .await;
    guesses(&s, &native, THRESHOLD as usize, Some("192.0.2.50")).await;
    let r = login_from(&s, &native, "192.0.2.51").await;
    assert_refused(&r, 429, "too_many_attempts", Reason::LoginAttemptsExceeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_clients_and_nul_bytes_are_refused_before_any_password_check() {
    let s = server().await;
    user(&s).await;
    // A third party would get the user's password and tokens without the
    // consent the code flow asks for (Auth0 refuses it too).
    let partner = web(&s, json!({"is_first_party": false})).await;
    let before = crate::hosted::counter(&s, CHECKS).await;
    let r = realm_login(&s, &partner, PASSWORD, &[]).await;
    assert_refused(
        &r,
        400,
        "unauthorized_client",
        Reason::ThirdPartyPasswordGrant,
    );
    // A NUL anywhere is refused as the request is read (PostgreSQL text
    // cannot hold one: never a 500).
    let first = web(&s, json!({})).await;
    for (name, value) in [("username", "ada\0@example.com"), ("realm", "Username\0")] {
        let mut form = vec![
            ("grant_type", REALM_GRANT),
            ("realm", REALM),
            ("username", EMAIL),
            ("password", PASSWORD),
        ];
        form.retain(|(k, _)| *k != name);
        form.push((name, value));
        form.extend(credentials(&first));
        let r = s.token_request(&form).await;
        assert_refused(&r, 400, "invalid_request", Reason::ParameterNulByte);
    }
    assert_eq!(crate::hosted::counter(&s, CHECKS).await, before);
}
