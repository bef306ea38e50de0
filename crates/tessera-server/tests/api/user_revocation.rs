//! A password change or a block through the Management API ends the user's
//! sessions (issue 9, point 9): SSO sessions, every refresh-token family and
//! the families' access tokens. A change to the profile ends nothing. On SQLite
//! and PostgreSQL.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::refresh::{
    API, App, CALLBACK, apis, app, assert_invalid_grant, browser, credentials, enc, field,
    login_in, on_postgres, refresh, user,
};

const NEW_PASSWORD: &str = "a brand new horse battery staple";

/// `/authorize` with `prompt=none` in browser `b`: the callback's query
/// (`code`, or `error`).
async fn silent(s: &TestServer, b: &reqwest::Client, app: &App) -> BTreeMap<String, String> {
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=x&prompt=none",
        s.url("authorize"),
        app.id,
        enc(CALLBACK)
    );
    let res = b.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 302, "{url}");
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(CALLBACK), "back to the client: {to}");
    url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn introspect(s: &TestServer, app: &App, token: &str) -> Value {
    let r = crate::refresh::introspect(s, app, token).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

async fn patch_user(s: &TestServer, user_id: &str, body: Value) {
    let token = s.token_with_scopes(&["update:users"]).await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{}", enc(user_id)),
            &token,
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// Logs the user in with `offline_access` and an API token, checks that a
/// profile change leaves everything alive, then applies `changes` in order and
/// checks that the session, the refresh token and the access tokens are all
/// gone. (A blocked user's tokens are refused while the block lasts anyway, and
/// probing them then may end them as a side effect; so the block test unblocks
/// before it looks: nothing from before the block may come back.)
async fn changes_end_everything(s: TestServer, changes: &[Value]) {
    apis(&s).await;
    let web = app(&s, json!({})).await;
    let user_id = user(&s).await;
    let b = browser();
    let r = login_in(
        &s,
        &b,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (mut rt, at) = (field(&r, "refresh_token"), field(&r, "access_token"));
    assert!(silent(&s, &b, &web).await.contains_key("code"), "SSO works");
    assert_eq!(introspect(&s, &web, &at).await["active"], true);

    // Negative control: a profile change ends nothing.
    patch_user(&s, &user_id, json!({"name": "Ada King", "blocked": false})).await;
    assert!(
        silent(&s, &b, &web).await.contains_key("code"),
        "SSO survives a profile change"
    );
    assert_eq!(introspect(&s, &web, &at).await["active"], true);
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(r.status, 200, "the family survives a profile change: {r:?}");
    rt = field(&r, "refresh_token");
    let refreshed_at = field(&r, "access_token");

    // A code issued before the change and redeemed after it.
    let pending = silent(&s, &b, &web).await["code"].clone();

    for change in changes {
        patch_user(&s, &user_id, change.clone()).await;
    }
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", pending.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    form.extend(credentials(&web));
    assert_invalid_grant(&s.token_request(&form).await, Reason::SessionEnded);
    for token in [&at, &refreshed_at] {
        assert_eq!(
            introspect(&s, &web, token).await,
            json!({"active": false}),
            "the family's access tokens are revoked"
        );
    }
    let back = silent(&s, &b, &web).await;
    assert_eq!(
        back.get("error").map(String::as_str),
        Some("login_required"),
        "the SSO session is gone: {back:?}"
    );
    assert_invalid_grant(
        &refresh(&s, &web, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_sessions_and_families_on_sqlite() {
    changes_end_everything(start().await, &[json!({"password": NEW_PASSWORD})]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_sessions_and_families_on_postgres() {
    if let Some(s) = on_postgres().await {
        changes_end_everything(s, &[json!({"password": NEW_PASSWORD})]).await;
    }
}

fn block_then_unblock() -> [Value; 2] {
    [json!({"blocked": true}), json!({"blocked": false})]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_ends_sessions_and_families_on_sqlite() {
    changes_end_everything(start().await, &block_then_unblock()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_ends_sessions_and_families_on_postgres() {
    if let Some(s) = on_postgres().await {
        changes_end_everything(s, &block_then_unblock()).await;
    }
}

/// A login whose password check ran just before a password change, and whose
/// session would be made just after the change ended the user's sessions, must
/// not keep that session. Logins with the old password race changes at delays
/// that sweep the argon2 window; whichever wins, no session from the old
/// password survives the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_password_change_keeps_no_session() {
    use crate::refresh::{EMAIL, PASSWORD, input_value, location, pkce};
    let s = std::sync::Arc::new(start().await);
    apis(&s).await;
    let web = app(&s, json!({})).await;
    let user_id = user(&s).await;
    let mut old = PASSWORD.to_owned();
    for round in 0..12u64 {
        let b = browser();
        let (_, challenge) = pkce();
        let url = format!(
            "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=x&code_challenge={challenge}&code_challenge_method=S256",
            s.url("authorize"),
            web.id,
            enc(CALLBACK)
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
        let form = [
            ("state", input_value(&html, "state")),
            ("csrf", input_value(&html, "csrf")),
            ("email", EMAIL.to_owned()),
            ("password", old.clone()),
        ];
        let new = format!("{NEW_PASSWORD} {round}");
        let login = {
            let (b, s) = (b.clone(), s.clone());
            tokio::spawn(async move { b.post(s.url("u/login")).form(&form).send().await.unwrap() })
        };
        tokio::time::sleep(std::time::Duration::from_millis(round * 8)).await;
        patch_user(&s, &user_id, json!({"password": new})).await;
        let res = login.await.unwrap();
        old = new;
        if res.status() == 303 {
            // The login won the race: its session must be gone all the same.
            let back = silent(&s, &b, &web).await;
            assert_eq!(
                back.get("error").map(String::as_str),
                Some("login_required"),
                "round {round}: a session from the old password survived: {back:?}"
            );
        }
    }
}
