//! The tenant's log: what the flows record (Auth0's type codes, no secret in
//! any event), who may read it, paging and search, a full queue never failing
//! the request it records, the retention sweep.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::log_event::LogType;
use tessera_core::{Clock, jwt};

use crate::common::*;
use crate::flows::*;

const WRONG_PASSWORD: &str = "not-the-password-4711";

/// Every stored event, oldest first (checkpoint paging), as JSON.
async fn all_events(s: &TestServer, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = String::new();
    loop {
        let r = s
            .api(
                Method::GET,
                &format!("api/v2/logs?take=100&from={}", enc(&from)),
                token,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let page = r.body.as_array().unwrap().clone();
        let Some(last) = page.last() else {
            return out;
        };
        from = last["log_id"].as_str().unwrap().to_owned();
        out.extend(page);
    }
}

/// Waits (the log is written in the background) until `done` holds for the
/// stored events; returns them.
pub(crate) async fn events_until(
    s: &TestServer,
    token: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..100 {
        let events = all_events(s, token).await;
        if done(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the log never showed what was expected: {:#?}",
        all_events(s, token).await
    );
}

pub(crate) fn of_type<'a>(events: &'a [Value], code: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == code).collect()
}

/// Submits the hosted login form of a new `/authorize` for `app` with `email`
/// and `password`: the page's status.
async fn hosted_login(s: &TestServer, app: &App, email: &str, password: &str) -> u16 {
    let b = browser();
    let (_, challenge) = pkce();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&code_challenge={challenge}&code_challenge_method=S256",
        s.url("authorize"),
        enc(&app.id),
        enc(CALLBACK)
    );
    let res = b.get(&url).send().await.unwrap();
    fill_in_login_as(s, &b, &location(&res), email, password)
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_failures_refresh_reuse_and_management_changes_are_logged_without_secrets() {
    let s = start().await;
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code", "refresh_token", "password"]}),
    )
    .await;
    let user_id = user(&s).await;
    // A failed login of a known user (wrong password) and of an unknown one.
    assert_eq!(hosted_login(&s, &web, EMAIL, WRONG_PASSWORD).await, 400);
    assert_eq!(
        hosted_login(&s, &web, "nobody@example.com", WRONG_PASSWORD).await,
        400
    );
    // A login, a refresh, then the retired refresh token again (reuse).
    let first = login(&s, &web, "openid offline_access", &[]).await;
    let rt0 = field(&first, "refresh_token");
    let second = refresh(&s, &web, &rt0, None).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_invalid_grant(
        &refresh(&s, &web, &rt0, None).await,
        Reason::RefreshTokenReused,
    );
    // A password grant with a wrong password, a client-credentials failure.
    let mut form = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", WRONG_PASSWORD),
    ];
    form.extend(credentials(&web));
    assert_ne!(s.token_request(&form).await.status, 200);
    let bad_secret = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", "wrong-admin-secret-value"),
            ("audience", &s.management_audience()),
        ])
        .await;
    assert_eq!(bad_secret.status, 401, "{bad_secret:?}");
    // A Management API change, and a refused one.
    let admin = s.admin_token().await;
    let path = format!("api/v2/clients/{}", web.id);
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s
        .api(Method::POST, "api/v2/users", &admin, Some(json!({"connection": "Username-Password-Authentication", "email": "weak@example.com", "password": "x"})))
        .await;
    assert_eq!(r.status, 400, "{r:?}");

    let reader = s.token_with_scopes(&["read:logs"]).await;
    let events = events_until(&s, &reader, |events| {
        [
            "s", "fp", "fu", "seacft", "sertft", "ferrt", "seccft", "feccft", "sapi", "fapi",
        ]
        .iter()
        .all(|code| !of_type(events, code).is_empty())
            && of_type(events, "fp").len() >= 2
    })
    .await;

    let login = of_type(&events, "s")[0];
    assert_eq!(login["user_id"], user_id.as_str());
    assert_eq!(login["user_name"], EMAIL);
    assert_eq!(login["client_id"], web.id.as_str());
    assert_eq!(login["client_name"], "Refreshing app");
    assert_eq!(login["connection"], "Username-Password-Authentication");
    assert_eq!(login["strategy_type"], "database");
    assert_eq!(login["ip"], "127.0.0.1");
    assert!(login["date"].as_str().unwrap().ends_with('Z'), "{login}");
    // The wrong passwords: at the hosted page and at the password grant, the
    // user named; the unknown email without a user id.
    for fp in of_type(&events, "fp") {
        assert_eq!(fp["user_id"], user_id.as_str(), "{fp}");
    }
    let fu = of_type(&events, "fu")[0];
    assert!(fu.get("user_id").is_none(), "{fu}");
    assert_eq!(fu["user_name"], "nobody@example.com");
    // The password grant's refusal is logged once (as fp), not again as fepft.
    assert!(of_type(&events, "fepft").is_empty());
    let exchange = of_type(&events, "seacft")[0];
    assert_eq!(exchange["user_id"], user_id.as_str());
    assert_eq!(exchange["details"]["grant_type"], "authorization_code");
    let reuse = of_type(&events, "ferrt")[0];
    assert_eq!(reuse["client_id"], web.id.as_str());
    assert_eq!(reuse["details"]["reason"], "refresh_token_reused");
    let failed_m2m = of_type(&events, "feccft")[0];
    assert_eq!(failed_m2m["details"]["error"], "invalid_client");
    let change = of_type(&events, "sapi")
        .into_iter()
        .find(|e| e["details"]["request"]["method"] == "patch")
        .unwrap();
    assert_eq!(change["details"]["request"]["path"], format!("/{path}"));
    assert_eq!(change["details"]["response"]["statusCode"], 200);
    assert_eq!(change["client_id"], ADMIN_ID);
    assert_eq!(change["description"], "Update client");
    let refused = of_type(&events, "fapi")[0];
    assert_eq!(refused["details"]["response"]["statusCode"], 400);
    assert_eq!(refused["details"]["request"]["path"], "/api/v2/users");

    // No secret, password, token or code in any event.
    let text = serde_json::to_string(&events).unwrap();
    let mut secrets = vec![
        PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        ADMIN_SECRET.to_owned(),
        "wrong-admin-secret-value".to_owned(),
        web.secret.clone().unwrap(),
        admin.clone(),
        reader.clone(),
    ];
    for r in [&first, &second] {
        for name in ["access_token", "refresh_token", "id_token"] {
            if let Some(t) = r.body[name].as_str() {
                secrets.push(t.to_owned());
                // Nor any of a JWT's parts (its signature is the secret part).
                secrets.extend(t.split('.').filter(|p| p.len() > 20).map(str::to_owned));
            }
        }
    }
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in the log: {secret}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_account_is_logged_as_limit_wc() {
    let s = start_opts(Options {
        configure: |c| c.brute_force_threshold = 2,
        ..Options::default()
    })
    .await;
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["password"]}),
    )
    .await;
    user(&s).await;
    let mut form = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", WRONG_PASSWORD),
    ];
    form.extend(credentials(&web));
    let statuses = [
        s.token_request(&form).await.status,
        s.token_request(&form).await.status,
        s.token_request(&form).await.status,
    ];
    assert_eq!(statuses, [403, 429, 429]);
    let reader = s.token_with_scopes(&["read:logs"]).await;
    let events = events_until(&s, &reader, |e| of_type(e, "limit_wc").len() == 2).await;
    assert_eq!(of_type(&events, "fp").len(), 1);
    let blocked = of_type(&events, "limit_wc")[0];
    assert_eq!(blocked["client_id"], web.id.as_str());
    assert_eq!(blocked["user_name"], EMAIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_log_needs_its_scope_and_a_management_token() {
    let s = start().await;
    let admin = s.admin_token().await;
    let reader = s.token_with_scopes(&["read:logs"]).await;
    let id = events_until(&s, &reader, |e| !e.is_empty()).await[0]["log_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let paths = [
        "api/v2/logs".to_owned(),
        format!("api/v2/logs/{id}"),
        "api/v2/users/auth0%7Cx/logs".to_owned(),
    ];
    // Every other scope: refused.
    let not_logs = s.token_with_scopes(&["read:users", "read:clients"]).await;
    for p in &paths {
        let r = s.api(Method::GET, p, &not_logs, None).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        assert!(
            r.body["message"].as_str().unwrap().contains("read:logs"),
            "{r:?}"
        );
        assert_eq!(
            s.api(Method::GET, p, &reader, None).await.status,
            200,
            "{p}"
        );
        assert_eq!(s.api(Method::GET, p, &admin, None).await.status, 200, "{p}");
    }
    // read:logs_users reads a user's log, not the tenant's.
    let users_only = s.token_with_scopes(&["read:logs_users"]).await;
    assert_eq!(
        s.api(Method::GET, &paths[2], &users_only, None)
            .await
            .status,
        200
    );
    for p in &paths[..2] {
        assert_mgmt_error(
            &s.api(Method::GET, p, &users_only, None).await,
            403,
            "insufficient_scope",
        );
    }
    // A user-bound token, an ID token, another API's token, no token.
    let now = SystemClock.now();
    let signer = s.state.keys.current().signer().clone();
    let user_bound = json!({
        "iss": s.base, "sub": "auth0|1", "aud": s.management_audience(), "iat": now, "exp": now + 60,
        "jti": "j-user", "client_id": ADMIN_ID, "azp": ADMIN_ID, "scope": "read:logs"
    });
    let id_token = json!({"iss": s.base, "sub": "auth0|1", "aud": s.management_audience(), "iat": now, "exp": now + 60, "nonce": "n"});
    let mut other_api = user_bound.clone();
    other_api["aud"] = json!("https://orders.example/");
    other_api["sub"] = json!(format!("{ADMIN_ID}@clients"));
    other_api["gty"] = json!("client-credentials");
    for token in [
        jwt::sign(&signer, jwt::TYP_AT_JWT, &user_bound).unwrap(),
        jwt::sign(&signer, jwt::TYP_JWT, &id_token).unwrap(),
        jwt::sign(&signer, jwt::TYP_AT_JWT, &other_api).unwrap(),
    ] {
        for p in &paths {
            assert_mgmt_error(
                &s.api(Method::GET, p, &token, None).await,
                401,
                "invalid_token",
            );
        }
    }
    let r = reply(http().get(s.url("api/v2/logs")).send().await.unwrap()).await;
    assert_mgmt_error(&r, 401, "missing_token");
    // An unknown id.
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/logs/90000000", &reader, None)
            .await,
        404,
        "inexistent_log",
    );
}

/// Records `n` events for client `client`, one second apart from `t0`, the
/// even ones for user `auth0|even`.
fn record(s: &TestServer, client: &str, t0: i64, n: i64) {
    for i in 0..n {
        let kind = if i % 2 == 0 {
            LogType::SuccessLogin
        } else {
            LogType::FailedLoginPassword
        };
        let mut e = s.state.logs.event(kind);
        e.date = t0 + i;
        e.client_id = Some(client.into());
        e.user_id = (i % 2 == 0).then(|| "auth0|even".into());
        e.details = json!({"i": i});
        s.state.logs.record(e);
    }
}

fn numbers(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["i"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_pages_sorts_and_searches_as_auth0s() {
    let s = start().await;
    let t = s.token_with_scopes(&["read:logs"]).await;
    let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z
    record(&s, "paged", t0, 7);
    let get = |q: String| {
        let (s, t) = (&s, &t);
        async move {
            s.api(Method::GET, &format!("api/v2/logs?{q}"), t, None)
                .await
        }
    };
    let mine = "q=client_id%3Apaged";
    events_until(&s, &t, |e| {
        e.iter().filter(|e| e["client_id"] == "paged").count() == 7
    })
    .await;

    // Offset paging, newest first by default; totals on request.
    assert_eq!(
        numbers(&get(format!("{mine}&per_page=3")).await.body),
        [6, 5, 4]
    );
    assert_eq!(
        numbers(&get(format!("{mine}&per_page=3&page=2")).await.body),
        [0]
    );
    assert_eq!(
        numbers(&get(format!("{mine}&per_page=2&sort=date%3A1")).await.body),
        [0, 1]
    );
    let r = get(format!("{mine}&per_page=2&page=1&include_totals=true")).await;
    assert_eq!(
        (
            &r.body["start"],
            &r.body["limit"],
            &r.body["length"],
            &r.body["total"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(7))
    );
    assert_eq!(numbers(&r.body["logs"]), [4, 3]);
    // Fields.
    let r = get(format!("{mine}&per_page=1&fields=type,log_id")).await;
    assert_eq!(r.body[0].as_object().unwrap().len(), 2, "{r:?}");

    // Search: type, user, dates (inclusive, `*` open, `{}` exclusive), combined.
    for (q, expected) in [
        ("type:fp AND client_id:paged", vec![5, 3, 1]),
        (
            "type:(s OR fp) AND client_id:paged AND user_id:\"auth0|even\"",
            vec![6, 4, 2, 0],
        ),
        (
            "client_id:paged AND date:[2024-01-01T00:00:02Z TO 2024-01-01T00:00:04Z]",
            vec![4, 3, 2],
        ),
        (
            "client_id:paged AND date:{2024-01-01T00:00:02Z TO *}",
            vec![6, 5, 4, 3],
        ),
        ("client_id:paged AND type:fsa", vec![]),
    ] {
        let r = get(format!("q={}", enc(q))).await;
        assert_eq!(numbers(&r.body), expected, "{q}: {r:?}");
    }
    // A user's log.
    let r = s
        .api(
            Method::GET,
            "api/v2/users/auth0%7Ceven/logs?per_page=2&include_totals=true",
            &t,
            None,
        )
        .await;
    assert_eq!(
        (numbers(&r.body["logs"]), &r.body["total"]),
        (vec![6, 4], &json!(4))
    );

    // Checkpoint paging: oldest first, after the given log id, a plain array.
    let r = get(format!("{mine}&take=3")).await;
    assert_eq!(numbers(&r.body), [0, 1, 2]);
    let last = r.body[2]["log_id"].as_str().unwrap().to_owned();
    let r = get(format!("{mine}&take=3&from={last}")).await;
    assert_eq!(numbers(&r.body), [3, 4, 5]);
    let single = s
        .api(Method::GET, &format!("api/v2/logs/{last}"), &t, None)
        .await;
    assert_eq!(single.body["details"]["i"], 2, "{single:?}");

    // Bounds and bad queries: 400 in Auth0's shape, never a 500.
    for q in [
        "per_page=101",
        "per_page=0",
        "page=-1",
        "page=10&per_page=100",
        "take=101",
        "take=0",
        "sort=name%3A1",
        "q=type%3A",
        "q=nope%3A1",
        "q=date%3A%5Byesterday%20TO%20*%5D",
        "q=type%3As%20OR",
        "bogus=1",
    ] {
        assert_mgmt_error(&get(q.to_owned()).await, 400, "invalid_query_string");
    }
    let long = "a".repeat(1001);
    assert_mgmt_error(&get(format!("q={long}")).await, 400, "invalid_query_string");
    let r = s
        .api(Method::GET, "api/v2/users/x/logs?per_page=500", &t, None)
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_queue_drops_events_and_the_requests_still_succeed() {
    let mut s = start_opts(Options {
        stalled_log_queue: Some(2),
        ..Options::default()
    })
    .await;
    // Each token request records an event; the queue holds two.
    for _ in 0..5 {
        s.admin_token().await;
    }
    let metrics = reply(http().get(s.url("metrics")).send().await.unwrap()).await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains("tessera_log_events_dropped_total 3"),
        "{text}"
    );
    let queue = s.stalled_logs.as_mut().unwrap();
    let mut queued = Vec::new();
    while let Ok(e) = queue.try_recv() {
        queued.push(e);
    }
    assert_eq!(queued.len(), 2);
    assert!(
        queued
            .iter()
            .all(|e| e.kind == LogType::SuccessExchangeClientCredentials)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_ordinary_events_leaves_room_for_failures() {
    let mut s = start_opts(Options {
        stalled_log_queue: Some(10),
        ..Options::default()
    })
    .await;
    // The last tenth of the queue (one place) is kept: nine token requests
    // fill the rest, three more are dropped.
    for _ in 0..12 {
        s.admin_token().await;
    }
    // A failure still gets the kept place; the next finds the queue full.
    let aud = s.management_audience();
    for _ in 0..2 {
        let r = s
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", ADMIN_ID),
                ("client_secret", "wrong-admin-secret-value"),
                ("audience", &aud),
            ])
            .await;
        assert_eq!(r.status, 401, "{r:?}");
    }
    let metrics = reply(http().get(s.url("metrics")).send().await.unwrap()).await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains("tessera_log_events_dropped_total 4"),
        "{text}"
    );
    let queue = s.stalled_logs.as_mut().unwrap();
    let mut queued = Vec::new();
    while let Ok(e) = queue.try_recv() {
        queued.push(e.kind);
    }
    let mut expected = vec![LogType::SuccessExchangeClientCredentials; 9];
    expected.push(LogType::FailedExchangeClientCredentials);
    assert_eq!(queued, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_verified_callers_management_writes_are_logged() {
    let s = start().await;
    let admin = s.admin_token().await;
    let body = json!({"name": "flood"});
    // No token, a forged one, an unknown route, an unknown method: none of
    // them reaches the guard, none is logged.
    let r = reply(
        http()
            .post(s.url("api/v2/clients"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{r:?}");
    let r = s
        .api(
            Method::POST,
            "api/v2/clients",
            "not.a.token",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    let long = "x".repeat(400);
    let r = s
        .api(
            Method::POST,
            &format!("api/v2/{long}"),
            &admin,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = s
        .api(Method::PUT, "api/v2/clients", &admin, Some(body.clone()))
        .await;
    assert!(r.status == 404 || r.status == 405, "{r:?}");
    // A verified caller's refused write on a known route is logged.
    let r = s
        .api(
            Method::DELETE,
            "api/v2/clients/no-such-client",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let t = s.token_with_scopes(&["read:logs"]).await;
    let events = events_until(&s, &t, |e| !of_type(e, "fapi").is_empty()).await;
    let api: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "fapi" || e["type"] == "sapi")
        .collect();
    assert_eq!(api.len(), 1, "{api:#?}");
    assert_eq!(
        api[0]["details"]["request"]["path"],
        "/api/v2/clients/no-such-client"
    );
    assert_eq!(api[0]["client_id"], ADMIN_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_the_retention_are_swept() {
    let s = start().await;
    let t = s.token_with_scopes(&["read:logs"]).await;
    let now = SystemClock.now();
    record(&s, "old", now - 31 * 86_400, 2);
    record(&s, "recent", now - 29 * 86_400, 2);
    events_until(&s, &t, |e| {
        e.iter().filter(|e| e["client_id"] == "old").count() == 2
    })
    .await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tessera_server::tasks::spawn_log_sweeper(
        s.state.store.clone(),
        s.state.clock.clone(),
        30,
        Duration::from_millis(20),
        stopped,
    );
    let events = events_until(&s, &t, |e| !e.iter().any(|e| e["client_id"] == "old")).await;
    assert_eq!(
        events.iter().filter(|e| e["client_id"] == "recent").count(),
        2
    );
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signups_password_changes_revocations_and_codes_are_logged() {
    const DB: &str = "Username-Password-Authentication";
    const OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";
    const NEW: &str = "another fine passphrase 9";
    let s = start().await;
    let admin = s.admin_token().await;
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    crate::signup_api::configure(&s, DB, &[&web.id], None).await;
    let user_id = user(&s).await;
    // Sign-ups through the Authentication API: a weak password, then a good one.
    let signup = |password: &'static str| json!({"client_id": web.id, "connection": DB, "email": "new@example.com", "password": password});
    assert_eq!(
        s.post_json("dbconnections/signup", &signup("x"))
            .await
            .status,
        400
    );
    assert_eq!(
        s.post_json("dbconnections/signup", &signup(NEW))
            .await
            .status,
        200
    );
    // A reset email asked for.
    let (status, _, _) = crate::password_reset::change_password(
        &s,
        json!({"client_id": web.id, "connection": DB, "email": EMAIL}),
    )
    .await;
    assert_eq!(status, 200);
    // A refresh token revoked.
    let b = browser();
    let tokens = login_in(&s, &b, &web, "openid offline_access", &[]).await;
    let rt = field(&tokens, "refresh_token");
    let mut form = vec![("token", rt.as_str())];
    form.extend(credentials(&web));
    let res = http()
        .post(s.url("oauth/revoke"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Then the password set by the Management API.
    let path = format!("api/v2/users/{}", enc(&user_id));
    let r = s
        .api(Method::PATCH, &path, &admin, Some(json!({"password": NEW})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // A passwordless code sent, and a wrong one tried.
    let otp_app = s
        .api(
            Method::POST,
            "api/v2/clients",
            &admin,
            Some(json!({"name": "Codes", "app_type": "native", "grant_types": [OTP]})),
        )
        .await;
    let otp_app = otp_app.body["client_id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "email", "strategy": "email", "enabled_clients": [otp_app]})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let start_code = json!({"client_id": otp_app, "connection": "email", "email": "otp@example.com", "send": "code"});
    assert_eq!(
        s.post_json("passwordless/start", &start_code).await.status,
        200
    );
    let wrong = s
        .token_request(&[
            ("grant_type", OTP),
            ("client_id", &otp_app),
            ("username", "otp@example.com"),
            ("otp", "000000"),
            ("realm", "email"),
        ])
        .await;
    assert_eq!(wrong.status, 400, "{wrong:?}");

    let reader = s.token_with_scopes(&["read:logs"]).await;
    let events = events_until(&s, &reader, |e| {
        ["ss", "fs", "scpr", "scp", "srrt", "cs", "fepotpft"]
            .iter()
            .all(|code| !of_type(e, code).is_empty())
    })
    .await;
    let ss = of_type(&events, "ss")[0];
    assert_eq!(
        (&ss["user_name"], &ss["client_id"]),
        (&json!("new@example.com"), &json!(web.id))
    );
    assert!(ss["user_id"].as_str().unwrap().starts_with("auth0|"));
    assert_eq!(
        of_type(&events, "fs")[0]["description"],
        "Password is too weak"
    );
    assert_eq!(of_type(&events, "scpr")[0]["user_id"], user_id.as_str());
    assert_eq!(of_type(&events, "scp")[0]["user_id"], user_id.as_str());
    let srrt = of_type(&events, "srrt")[0];
    assert_eq!(
        (&srrt["user_id"], &srrt["client_id"]),
        (&json!(user_id), &json!(web.id))
    );
    let cs = of_type(&events, "cs")[0];
    assert_eq!(
        (&cs["user_name"], &cs["strategy_type"]),
        (&json!("otp@example.com"), &json!("passwordless"))
    );
    let text = serde_json::to_string(&events).unwrap();
    for secret in [NEW, PASSWORD, rt.as_str()] {
        assert!(!text.contains(secret), "a secret is in the log: {secret}");
    }
}
