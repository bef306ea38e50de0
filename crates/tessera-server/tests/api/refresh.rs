//! Refresh tokens over HTTP: when one is issued, rotation, idempotent retries
//! inside the leeway, reuse revoking the family, the concurrent race (SQLite
//! and PostgreSQL), non-rotating clients, lifetimes, scope narrowing, blocked
//! users, the sweep, and an independent OAuth client library refreshing.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::CACHE_CONTROL;
use serde_json::json;
use tessera_core::Clock;
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::store::RefreshStore;

use crate::common::*;
// The shared helpers, also reachable as `crate::refresh::…`.
pub(crate) use crate::flows::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_access_earns_a_refresh_token_only_where_allowed() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let no_grant = app(&s, json!({"grant_types": ["authorization_code"]})).await;
    user(&s).await;
    apis(&s).await;

    let r = login(&s, &web, "openid offline_access", &[]).await;
    assert!(r.body["refresh_token"].is_string(), "{r:?}");
    assert_eq!(r.body["scope"], "openid offline_access");
    // Not asked.
    let r = login(&s, &web, "openid profile", &[]).await;
    assert!(r.body.get("refresh_token").is_none(), "{r:?}");
    // The client lacks the refresh_token grant type.
    let r = login(&s, &no_grant, "openid offline_access", &[]).await;
    assert!(r.body.get("refresh_token").is_none(), "{r:?}");
    // The API does not allow offline access.
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", ONLINE_API)],
    )
    .await;
    assert!(r.body.get("refresh_token").is_none(), "{r:?}");
    // It does: the refreshed access token keeps the family's audience.
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let rt = field(&r, "refresh_token");
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["aud"], json!([API, s.url("userinfo")]));
    assert_eq!(at["scope"], "openid offline_access read:orders");
    assert_eq!(at["client_id"], web.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_rotates_and_returns_fresh_tokens_with_the_current_profile() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let user_id = user(&s).await;
    let first = login(&s, &web, "openid profile email offline_access", &[]).await;
    let rt0 = field(&first, "refresh_token");
    assert_eq!(claims(&field(&first, "id_token"))["name"], "Ada Lovelace");

    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{user_id}"),
            &admin,
            Some(json!({"name": "Ada King"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let r = refresh(&s, &web, &rt0, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(r.body["scope"], "openid profile email offline_access");
    let rt1 = field(&r, "refresh_token");
    let at1 = field(&r, "access_token");
    assert_ne!(rt1, rt0);
    assert_ne!(at1, field(&first, "access_token"));
    let id = claims(&field(&r, "id_token"));
    assert_eq!(id["name"], "Ada King");
    assert_eq!(id["sub"], user_id.as_str());
    assert_eq!(id["aud"], web.id.as_str());
    assert_eq!(id["iss"], s.base.as_str());
    assert!(id.get("nonce").is_none(), "{id}");
    // The new access token works.
    let u = userinfo(&s, &at1).await;
    assert_eq!(u.status, 200, "{u:?}");
    assert_eq!(u.body["name"], "Ada King");

    // JSON, as Auth0's SDKs send it (null counts as absent).
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .json(&json!({
                "grant_type": "refresh_token",
                "refresh_token": rt1,
                "client_id": web.id,
                "client_secret": web.secret,
                "scope": null,
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(field(&r, "refresh_token"), rt1);
    // Without openid, no ID token.
    let plain = login(&s, &web, "profile offline_access", &[]).await;
    let r = refresh(&s, &web, &field(&plain, "refresh_token"), None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.get("id_token").is_none(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_leeway_revokes_the_family_and_its_access_tokens() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    let first = login(&s, &web, "openid offline_access", &[]).await;
    let rt0 = field(&first, "refresh_token");
    let r = refresh(&s, &web, &rt0, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rt1 = field(&r, "refresh_token");
    let at1 = field(&r, "access_token");
    assert_eq!(userinfo(&s, &at1).await.status, 200);

    // A regular web app has no leeway: the retired token is reuse.
    let r = refresh(&s, &web, &rt0, None).await;
    assert_invalid_grant(&r, Reason::RefreshTokenReused);
    // Auth0's wording, which auth0-spa-js matches to fall back to the iframe.
    assert_eq!(r.body["error_description"], UNKNOWN_TOKEN, "{r:?}");
    // The successor dies with its family, and so do the family's access tokens.
    assert_invalid_grant(
        &refresh(&s, &web, &rt1, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_eq!(userinfo(&s, &at1).await.status, 401);
    assert_eq!(
        userinfo(&s, &field(&first, "access_token")).await.status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_inside_the_leeway_gets_the_very_same_successor() {
    let s = start().await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    assert!(spa.secret.is_none());
    let admin = s.admin_token().await;
    let c = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{}", spa.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(c.body["refresh_token"]["leeway"], 30, "{c:?}");
    user(&s).await;
    let rt0 = field(
        &login(&s, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );
    let first = refresh(&s, &spa, &rt0, None).await;
    assert_eq!(first.status, 200, "{first:?}");
    let retry = refresh(&s, &spa, &rt0, None).await;
    assert_eq!(retry.status, 200, "{retry:?}");
    let rt1 = field(&first, "refresh_token");
    assert_eq!(field(&retry, "refresh_token"), rt1);
    // A fresh access token each time.
    assert_ne!(field(&retry, "access_token"), field(&first, "access_token"));
    assert_eq!(
        userinfo(&s, &field(&retry, "access_token")).await.status,
        200
    );
    // The family goes on from the one successor.
    let next = refresh(&s, &spa, &rt1, None).await;
    assert_eq!(next.status, 200, "{next:?}");
    assert_ne!(field(&next, "refresh_token"), rt1);
}

/// 16 parallel refreshes with one token of a leeway-0 client: one rotates it,
/// the other 15 are reuse, which revokes the family, the winner's tokens
/// included.
async fn race_outside_the_leeway(s: TestServer) {
    let web = app(&s, json!({})).await;
    user(&s).await;
    apis(&s).await;
    let rt0 = field(
        &login(
            &s,
            &web,
            "openid offline_access read:orders",
            &[("audience", API)],
        )
        .await,
        "refresh_token",
    );
    let s = Arc::new(s);
    let web = Arc::new(web);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, web, rt0) = (s.clone(), web.clone(), rt0.clone());
        tasks.push(tokio::spawn(
            async move { refresh(&s, &web, &rt0, None).await },
        ));
    }
    let mut wins = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 200 {
            wins.push(r);
        } else {
            // A loser is reuse (revoking the family), or comes after that
            // revocation and finds the token dead.
            let reason = r.reason();
            assert!(
                [
                    Some(Reason::RefreshTokenReused),
                    Some(Reason::RefreshTokenInvalid)
                ]
                .contains(&reason),
                "{r:?}"
            );
            assert_eq!(r.body["error"], "invalid_grant", "{r:?}");
        }
    }
    assert_eq!(wins.len(), 1, "exactly one rotation");
    let won = &wins[0];
    assert_invalid_grant(
        &refresh(&s, &web, &field(won, "refresh_token"), None).await,
        Reason::RefreshTokenInvalid,
    );
    let seen = introspect(&s, &web, &field(won, "access_token")).await;
    assert_eq!(
        seen.body,
        json!({"active": false}),
        "the winner's access token"
    );
}

/// 16 parallel refreshes with one token of a spa (leeway 30): every answer
/// carries the same successor.
async fn race_inside_the_leeway(s: TestServer) {
    let spa = app(&s, json!({"app_type": "spa"})).await;
    user(&s).await;
    let rt0 = field(
        &login(&s, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );
    let s = Arc::new(s);
    let spa = Arc::new(spa);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, spa, rt0) = (s.clone(), spa.clone(), rt0.clone());
        tasks.push(tokio::spawn(
            async move { refresh(&s, &spa, &rt0, None).await },
        ));
    }
    let mut successors = std::collections::BTreeSet::new();
    let mut access_tokens = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        successors.insert(field(&r, "refresh_token"));
        access_tokens.insert(field(&r, "access_token"));
    }
    assert_eq!(successors.len(), 1, "one successor: {successors:?}");
    assert_eq!(access_tokens.len(), 16);
    let rt1 = successors.into_iter().next().unwrap();
    assert_ne!(rt1, rt0);
    let r = refresh(&s, &spa, &rt1, None).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_outside_the_leeway_on_sqlite() {
    race_outside_the_leeway(start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_outside_the_leeway_on_postgres() {
    if let Some(s) = on_postgres().await {
        race_outside_the_leeway(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_inside_the_leeway_on_sqlite() {
    race_inside_the_leeway(start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_inside_the_leeway_on_postgres() {
    if let Some(s) = on_postgres().await {
        race_inside_the_leeway(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_rotating_client_keeps_its_refresh_token() {
    let s = start().await;
    let web = app(
        &s,
        json!({"refresh_token": {"rotation_type": "non-rotating"}}),
    )
    .await;
    user(&s).await;
    let rt = field(
        &login(&s, &web, "openid offline_access", &[]).await,
        "refresh_token",
    );
    for _ in 0..3 {
        let r = refresh(&s, &web, &rt, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(field(&r, "refresh_token"), rt);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_and_idle_lifetimes_end_a_family() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    user(&s).await;
    // Absolute: 90 s, whatever the use; idle: 40 s, extended by each use.
    let web = app(
        &s,
        json!({"refresh_token": {"token_lifetime": 90, "idle_token_lifetime": 40}}),
    )
    .await;
    let mut rt = field(
        &login(&s, &web, "openid offline_access", &[]).await,
        "refresh_token",
    );
    for _ in 0..2 {
        clock.advance(30);
        let r = refresh(&s, &web, &rt, None).await;
        assert_eq!(r.status, 200, "used within the idle lifetime: {r:?}");
        rt = field(&r, "refresh_token");
    }
    // 90 s after the login; last use 30 s ago.
    clock.advance(30);
    assert_invalid_grant(
        &refresh(&s, &web, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );

    let idle = app(
        &s,
        json!({"refresh_token": {"token_lifetime": 1000, "idle_token_lifetime": 40}}),
    )
    .await;
    let rt = field(
        &login(&s, &idle, "openid offline_access", &[]).await,
        "refresh_token",
    );
    clock.advance(41);
    assert_invalid_grant(
        &refresh(&s, &idle, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    let rt0 = field(
        &login(&s, &web, "openid profile email offline_access", &[]).await,
        "refresh_token",
    );
    let r = refresh(&s, &web, &rt0, Some("openid email")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], "openid email");
    let id = claims(&field(&r, "id_token"));
    assert_eq!(id["email"], EMAIL);
    assert!(id.get("name").is_none(), "{id}");
    let rt1 = field(&r, "refresh_token");

    let r = refresh(&s, &web, &rt1, Some("openid phone")).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_scope");
    assert_eq!(r.reason(), Some(Reason::ScopeWidened), "{r:?}");
    // The refused request left the token usable, and the family keeps its
    // whole grant.
    let r = refresh(&s, &web, &rt1, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], "openid profile email offline_access");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_users_refresh_fails_and_foreign_tokens_change_nothing() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let other = app(&s, json!({})).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let user_id = user(&s).await;
    let rt = field(
        &login(&s, &web, "openid offline_access", &[]).await,
        "refresh_token",
    );
    // Another client presenting it: invalid_grant, and the token still works.
    assert_invalid_grant(
        &refresh(&s, &other, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_invalid_grant(
        &refresh(&s, &spa, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rt = field(&r, "refresh_token");
    // Wrong secret.
    let wrong = App {
        id: web.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let r = refresh(&s, &wrong, &rt, None).await;
    assert_eq!(
        (r.status, r.body["error"].clone()),
        (401, json!("invalid_client"))
    );

    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/users/{user_id}"),
            &admin,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_invalid_grant(
        &refresh(&s, &web, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
}

/// Auth0's descriptions of refused refresh tokens, which its SDKs match on.
const UNKNOWN_TOKEN: &str = "Unknown or invalid refresh token.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_is_told_so_and_loses_the_family() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let user_id = user(&s).await;
    let rt = field(
        &login(&s, &web, "openid offline_access", &[]).await,
        "refresh_token",
    );
    // Blocked in the store without the Management API's revocation, as a block
    // racing this refresh leaves it: the grant itself refuses the user.
    let mut u = s.state.store.get_user(&user_id).await.unwrap().unwrap();
    u.blocked = true;
    assert!(s.state.store.update_user(&u, None).await.unwrap());
    let r = refresh(&s, &web, &rt, None).await;
    assert_invalid_grant(&r, Reason::UserBlocked);
    // Auth0's wording: auth0-spa-js logs the user out on it.
    assert_eq!(r.body["error_description"], "user is blocked", "{r:?}");
    // The family went with it.
    let r = refresh(&s, &web, &rt, None).await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    assert_eq!(r.body["error_description"], UNKNOWN_TOKEN, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_deletes_expired_families() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    let user_id = user(&s).await;
    let web = app(
        &s,
        json!({"refresh_token": {"token_lifetime": 60, "idle_token_lifetime": 60}}),
    )
    .await;
    login(&s, &web, "openid offline_access", &[]).await;
    let now = clock.now();
    let families = s
        .store
        .list_refresh_families(&user_id, None, now)
        .await
        .unwrap();
    assert_eq!(families.len(), 1);
    let id = families[0].id.clone();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sweeper = tessera_server::tasks::spawn_flow_sweeper(
        s.state.store.clone(),
        s.state.clock.clone(),
        Duration::from_millis(50),
        stopped,
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.store.get_refresh_family(&id).await.unwrap().is_some());
    clock.advance(61);
    let mut swept = false;
    for _ in 0..100 {
        if s.store.get_refresh_family(&id).await.unwrap().is_none() {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    sweeper.await.unwrap();
    assert!(swept, "the expired family is still stored");
}

/// An independent OAuth 2.0 client library (the `oauth2` crate) exchanges a
/// code and then refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_oauth_client_refreshes() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
        RedirectUrl, Scope, TokenResponse, TokenUrl,
    };

    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    let client = BasicClient::new(ClientId::new(web.id.clone()))
        .set_client_secret(ClientSecret::new(web.secret.clone().unwrap()))
        .set_auth_uri(AuthUrl::new(s.url("authorize")).unwrap())
        .set_token_uri(TokenUrl::new(s.url("oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let callback = browse_to_callback(&s, &browser(), url.as_str()).await;
    assert_eq!(&callback["state"], csrf.secret());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = client
        .exchange_code(AuthorizationCode::new(callback["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let rt0 = first.refresh_token().expect("a refresh token").clone();
    let second = client
        .exchange_refresh_token(&rt0)
        .request_async(&http)
        .await
        .unwrap();
    let rt1 = second.refresh_token().expect("a rotated refresh token");
    assert_ne!(rt1.secret(), rt0.secret());
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    assert!(second.expires_in().unwrap() > Duration::ZERO);
    let scopes: Vec<String> = second
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid", "offline_access"]);
    assert_eq!(
        userinfo(&s, second.access_token().secret()).await.status,
        200
    );
    // The library's view of reuse: an error response carrying invalid_grant.
    match client
        .exchange_refresh_token(&rt0)
        .request_async(&http)
        .await
    {
        Err(oauth2::RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().as_ref(), "invalid_grant");
        }
        other => panic!("reuse answered {other:?}"),
    }
}
