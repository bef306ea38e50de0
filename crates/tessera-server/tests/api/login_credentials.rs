//! The hosted login's credential checks over HTTP: wrong passwords and unknown
//! emails, CSRF, blocked users, brute-force blocking, the rate limit, sign-up.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::login::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_emails_look_the_same_and_csrf_is_checked() {
    let s = start().await;
    let web = app(&s, Kind::Web).await;
    user(&s, "ada@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
    let wrong = submit_login(&b, &s, &f, "ada@example.com", "not the password").await;
    let unknown = submit_login(&b, &s, &f, "nobody@example.com", "not the password").await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.status(), 400);
    assert!(location(&wrong).is_none() && set_cookies(&wrong).is_empty());
    let wrong = wrong.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Wrong email or password."), "{wrong}");
    assert_eq!(
        wrong.replace("ada@example.com", "EMAIL"),
        unknown.replace("nobody@example.com", "EMAIL"),
        "the pages differ only by the email typed"
    );

    // CSRF: no cookie at all (another client), a forged field, another
    // browser's cookie.
    let res = post_form(
        &http(),
        &s.url("u/login"),
        &[
            ("state", &f.state),
            ("csrf", &f.csrf),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(location(&res).is_none());
    let res = post_form(
        &b,
        &s.url("u/login"),
        &[
            ("state", &f.state),
            ("csrf", "forged"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    let other = browser();
    let mine = start_login(&other, &s, &authorize_url(&s, &web.id, &[])).await;
    let res = post_form(
        &other,
        &s.url("u/login"),
        &[
            ("state", &f.state),
            ("csrf", &mine.csrf),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 403, "another browser's cookie");
    let res = other.get(&f.url).send().await.unwrap();
    assert_eq!(res.status(), 403, "another browser cannot open the page");

    // The genuine browser still logs in.
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    callback(&location(&res).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_users_cannot_log_in() {
    let s = start().await;
    let web = app(&s, Kind::Web).await;
    let id = user(&s, "ada@example.com").await;
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{}", enc(&id)),
            &admin,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
    // A wrong password does not reveal the block.
    let res = submit_login(&b, &s, &f, "ada@example.com", "nope nope nope").await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 403);
    assert!(set_cookies(&res).is_empty(), "no session");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your account is blocked.")
    );
    let u = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(u.body["logins_count"], 0, "{u:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_block_the_account_from_this_address() {
    let s = start_opts(Options {
        configure: |c| c.brute_force_threshold = 3,
        ..Options::default()
    })
    .await;
    let web = app(&s, Kind::Web).await;
    user(&s, "ada@example.com").await;
    user(&s, "bob@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
    for _ in 0..2 {
        let res = submit_login(&b, &s, &f, "ada@example.com", "wrong password").await;
        assert_eq!(res.status(), 400);
    }
    let res = submit_login(&b, &s, &f, "ada@example.com", "wrong password").await;
    assert_eq!(res.status(), 429, "the third failure reaches the threshold");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many failed attempts; try again later.")
    );
    // Now even the right password is refused, without a session.
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(set_cookies(&res).is_empty());
    // Unknown emails are counted the same way (nothing tells them apart).
    for _ in 0..2 {
        let res = submit_login(&b, &s, &f, "ghost@example.com", "x").await;
        assert_eq!(res.status(), 400);
    }
    let res = submit_login(&b, &s, &f, "ghost@example.com", "x").await;
    assert_eq!(res.status(), 429);

    // Another account from the same address is not affected, and a success
    // clears its count.
    for _ in 0..2 {
        let res = submit_login(&b, &s, &f, "bob@example.com", "wrong password").await;
        assert_eq!(res.status(), 400);
    }
    let res = submit_login(&b, &s, &f, "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let b2 = browser();
    let f2 = start_login(&b2, &s, &authorize_url(&s, &web.id, &[])).await;
    for _ in 0..2 {
        let res = submit_login(&b2, &s, &f2, "bob@example.com", "wrong password").await;
        assert_eq!(
            res.status(),
            400,
            "the count started again after the success"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = start_opts(Options {
        configure: |c| c.rate_limit_per_minute = 5,
        ..Options::default()
    })
    .await;
    let b = browser();
    for _ in 0..5 {
        let res = post_form(&b, &s.url("u/login"), &[("state", "x")]).await;
        assert_eq!(res.status(), 400);
    }
    // Page views are not counted.
    let res = b.get(s.url("u/login?state=x")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = post_form(&b, &s.url("u/login"), &[("state", "x")]).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Sign-up shares the pages' counter.
    let res = post_form(&b, &s.url("u/signup"), &[("state", "x")]).await;
    assert_eq!(res.status(), 429);

    // The token endpoint has its own.
    for _ in 0..5 {
        let r = s
            .token_request(&[("grant_type", "client_credentials")])
            .await;
        assert_ne!(r.status, 429, "{r:?}");
    }
    let r = s
        .token_request(&[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.body["error"], "too_many_requests");
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_creates_the_user_and_logs_in() {
    let s = start().await;
    let web = app(&s, Kind::Web).await;
    user(&s, "taken@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web.id, &[])).await;
    let signup_url = s.url(&format!("u/signup?state={}", enc(&f.state)));
    let res = b.get(&signup_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("autocomplete=\"new-password\""), "{html}");
    assert!(html.contains("<label for=\"email\">Email address</label>"));
    let csrf = input_value(&html, "csrf");
    let signup = |email: &'static str, password: &'static str| {
        let b = b.clone();
        let url = s.url("u/signup");
        let state = f.state.clone();
        let csrf = csrf.clone();
        async move {
            post_form(
                &b,
                &url,
                &[
                    ("state", &state),
                    ("csrf", &csrf),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await
        }
    };
    let res = signup("new@example.com", "short").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 8 characters"));
    let res = signup("taken@example.com", PASSWORD).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Something went wrong, please try again later.")
    );
    let res = signup("New@Example.com", PASSWORD).await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("tessera_session="))
    );
    let p = callback(&location(&res).unwrap());
    let r = exchange(&s, &web, &p["code"], None).await;
    let (_, claims) = claims_of(r.body["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "new@example.com");
    // The new user can log in with the password elsewhere.
    let other = browser();
    log_in(&other, &s, &web.id, &[], "new@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_can_disable_sign_up() {
    let s = start().await;
    let web = app(&s, Kind::Web).await;
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(
                json!({"name": "staff", "strategy": "auth0", "options": {"disable_signup": true},
                    "enabled_clients": [web.id]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let b = browser();
    let f = start_login(
        &b,
        &s,
        &authorize_url(&s, &web.id, &[("connection", "staff")]),
    )
    .await;
    assert!(!f.html.contains("Sign up"), "{}", f.html);
    let res = b
        .get(s.url(&format!("u/signup?state={}", enc(&f.state))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // An unknown connection goes back to the client.
    let res = b
        .get(authorize_url(&s, &web.id, &[("connection", "nope")]))
        .send()
        .await
        .unwrap();
    let login = location(&res).unwrap();
    let res = b.get(&login).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(reason_of(res.headers()), Some(Reason::ConnectionUnusable));
    assert_eq!(
        callback(&location(&res).unwrap())["error"],
        "invalid_request"
    );
}
