//! Auth0's Token Vault exchange (issue 14, part C): a confidential client
//! trades a Tessera refresh or access token of a user for that user's
//! upstream access token of a connection. The upstream is a second Tessera
//! (the `upstream_login` pair, asking upstream for `offline_access` so the
//! vault holds an upstream refresh token); the downstream app logs its user
//! in through it with `offline_access` too, and refresh-token rotation on.
//!
//! The Done-means test: the upstream token expired, 16 concurrent exchanges
//! through two downstream nodes of one database make exactly one upstream
//! refresh (counted at the upstream's token endpoint) and all answer the same
//! new token; the presented refresh token still works and still rotates.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Secret;
use tessera_core::idp_vault::IdpTokens;
use tessera_core::store::{IdpTokenStore, UserStore};
use tessera_store::testing;

use crate::common::*;
use crate::flows::{self, App, CALLBACK, enc, pkce};
use crate::upstream_login::{CONN, Pair, finish, follow_until, pair_with};

const GRANT: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
const FEDERATED: &str = "http://auth0.com/oauth/token-type/federated-connection-access-token";
const RT_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The downstream user's tokens after a login through the upstream.
struct Login {
    user_id: String,
    refresh_token: String,
    access_token: String,
    id_token: String,
}

/// A pair whose connection asks upstream for `offline_access`, the
/// downstream app allowed the Token Vault grant.
async fn vault_pair(database_url: Option<String>) -> Pair {
    let p = pair_with(None, "openid profile email offline_access", database_url).await;
    allow_vault(&p.down, &p.down_app).await;
    p
}

async fn allow_vault(s: &TestServer, app: &App) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{}", app.id),
            &admin,
            Some(json!({"grant_types": ["authorization_code", "refresh_token", GRANT]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// The downstream app's user logs in through the upstream with
/// `offline_access`.
async fn login(p: &Pair) -> Login {
    login_for(p, None).await
}

/// [`login`], for an API (a JWT access token) when one is named.
async fn login_for(p: &Pair, audience: Option<&str>) -> Login {
    let b = flows::browser();
    let (verifier, challenge) = pkce();
    let mut start = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n1&connection={CONN}&code_challenge={challenge}&code_challenge_method=S256",
        p.down.url("authorize"),
        p.down_app.id,
        enc(CALLBACK),
        enc("openid profile email offline_access"),
    );
    if let Some(api) = audience {
        start.push_str(&format!("&audience={}", enc(api)));
    }
    let callback = follow_until(&p.up, &b, &start, &p.down.url("login/callback")).await;
    let q: BTreeMap<String, String> = finish(p, &b, &callback).await;
    let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", &verifier),
    ];
    form.extend(flows::credentials(&p.down_app));
    let r = p.down.token_request(&form).await;
    assert_eq!(r.status, 200, "{r:?}");
    Login {
        user_id: format!("oidc|{CONN}|{}", p.up_user),
        refresh_token: flows::field(&r, "refresh_token"),
        access_token: flows::field(&r, "access_token"),
        id_token: flows::field(&r, "id_token"),
    }
}

async fn exchange_at(
    s: &TestServer,
    app: &App,
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
        ("requested_token_type", FEDERATED),
        ("connection", CONN),
    ];
    form.extend(flows::credentials(app));
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    s.token_request(&form).await
}

/// The identity's stored tokens, opened.
async fn stored(s: &TestServer, user_id: &str) -> IdpTokens {
    s.store
        .get_idp_tokens(user_id, CONN)
        .await
        .unwrap()
        .unwrap()
        .open(&s.master)
        .unwrap()
}

/// Makes the stored upstream access token expired (optionally with another
/// upstream refresh token).
async fn expire(s: &TestServer, user_id: &str, refresh_token: Option<&str>) {
    let now = s.state.clock.now();
    let mut t = stored(s, user_id).await;
    t.expires_at = Some(now - 5);
    if let Some(rt) = refresh_token {
        t.refresh_token = Some(Secret::new(rt.to_owned()));
    }
    let sealed = t.seal(&s.master, user_id, CONN, now).unwrap();
    s.store.put_idp_tokens(&sealed).await.unwrap();
}

/// Requests the upstream's token endpoint has answered so far.
fn token_calls(up: &TestServer) -> u64 {
    up.state
        .metrics
        .render()
        .lines()
        .filter(|l| l.contains("http_requests_total") && l.contains("route=\"/oauth/token\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[track_caller]
fn assert_vault_token(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["issued_token_type"], FEDERATED, "{r:?}");
    assert_eq!(r.body["token_type"], "Bearer", "{r:?}");
    assert!(r.body.get("refresh_token").is_none(), "{r:?}");
    assert!(r.body.get("id_token").is_none(), "{r:?}");
    assert_eq!(
        r.headers.get("cache-control").unwrap().to_str().unwrap(),
        "no-store"
    );
    flows::field(r, "access_token")
}

#[track_caller]
fn assert_refused(r: &Reply, status: u16, error: &str, reason: Reason) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["error"], error, "{r:?}");
    assert_eq!(r.reason(), Some(reason), "{r:?}");
    assert!(r.body.get("access_token").is_none(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_access_tokens_are_exchanged_for_the_upstream_token_without_rotation() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let upstream = stored(&p.down, &l.user_id).await;
    let upstream_at = upstream.access_token.expose().clone();
    assert!(
        upstream.refresh_token.is_some(),
        "no upstream refresh token"
    );

    let by_refresh = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&by_refresh), upstream_at);
    assert!(by_refresh.body["expires_in"].as_i64().unwrap() > 0);
    let me = flows::userinfo(&p.up, &upstream_at).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["sub"], p.up_user.as_str());

    // Replayed: the refresh token is neither rotated nor consumed.
    let again = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&again), upstream_at);
    let by_access = exchange_at(&p.down, &p.down_app, &l.access_token, AT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&by_access), upstream_at);
    // login_hint naming the identity (or its upstream id) is accepted.
    let sub = format!("{CONN}|{}", p.up_user);
    for hint in [sub.as_str(), p.up_user.as_str()] {
        let r = exchange_at(
            &p.down,
            &p.down_app,
            &l.refresh_token,
            RT_TYPE,
            &[("login_hint", hint)],
        )
        .await;
        assert_eq!(assert_vault_token(&r), upstream_at);
    }
    let r = exchange_at(
        &p.down,
        &p.down_app,
        &l.refresh_token,
        RT_TYPE,
        &[("login_hint", "someone-else")],
    )
    .await;
    assert_refused(&r, 401, "unauthorized", Reason::FederatedIdentityMissing);

    // The refresh token still works at the refresh grant, which rotates it.
    let rotated = flows::refresh(&p.down, &p.down_app, &l.refresh_token, None).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert_ne!(flows::field(&rotated, "refresh_token"), l.refresh_token);

    // A JWT access token (for an API) works until it expires ...
    let admin = p.down.admin_token().await;
    let r = p
        .down
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(
                json!({"identifier": "https://short.example/", "name": "short",
                "token_lifetime": 2, "allow_offline_access": true}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    // ... and refresh tokens that expire after 2 s, too.
    let r = p
        .down
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{}", p.down_app.id),
            &admin,
            Some(json!({"refresh_token": {"rotation_type": "rotating",
                "expiration_type": "expiring", "leeway": 0, "token_lifetime": 2,
                "infinite_token_lifetime": false, "idle_token_lifetime": 2,
                "infinite_idle_token_lifetime": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let jwt = login_for(&p, Some("https://short.example/")).await;
    assert_eq!(jwt.access_token.split('.').count(), 3);
    let started = Instant::now();
    // (The login replaced the vault's tokens.)
    let relogged = stored(&p.down, &jwt.user_id).await;
    let r = exchange_at(&p.down, &p.down_app, &jwt.access_token, AT_TYPE, &[]).await;
    assert_eq!(&assert_vault_token(&r), relogged.access_token.expose());
    let r = exchange_at(&p.down, &p.down_app, &jwt.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(&assert_vault_token(&r), relogged.access_token.expose());
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(started.elapsed())).await;
    let r = exchange_at(&p.down, &p.down_app, &jwt.access_token, AT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
    let r = exchange_at(&p.down, &p.down_app, &jwt.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);

    // Discovery lists the grant.
    let d = reply(
        http()
            .get(p.down.url(".well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        d.body["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == GRANT),
        "{d:?}"
    );
}

/// The Done-means test on `p`'s database: see the module docs.
async fn concurrent_exchanges_refresh_upstream_once(p: Pair) {
    let logs = crate::passwordless::captured_logs();
    let l = login(&p).await;
    let old = stored(&p.down, &l.user_id).await;
    let old_at = old.access_token.expose().clone();
    let old_rt = old.refresh_token.as_ref().unwrap().expose().clone();
    expire(&p.down, &l.user_id, None).await;
    let node2 = p.down.second_node(Duration::from_secs(1)).await;
    let before = token_calls(&p.up);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let base = if i % 2 == 0 {
            p.down.base.clone()
        } else {
            node2.base.clone()
        };
        let app = App {
            id: p.down_app.id.clone(),
            secret: p.down_app.secret.clone(),
        };
        let subject = l.refresh_token.clone();
        tasks.push(tokio::spawn(async move {
            let mut form = vec![
                ("grant_type", GRANT),
                ("subject_token", subject.as_str()),
                ("subject_token_type", RT_TYPE),
                ("requested_token_type", FEDERATED),
                ("connection", CONN),
            ];
            form.extend(flows::credentials(&app));
            reply(
                http()
                    .post(format!("{base}oauth/token"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(assert_vault_token(&t.await.unwrap()));
    }
    assert_eq!(
        token_calls(&p.up) - before,
        1,
        "exactly one upstream refresh"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]), "{tokens:?}");
    let new_at = tokens[0].clone();
    assert_ne!(new_at, old_at);
    let me = flows::userinfo(&p.up, &new_at).await;
    assert_eq!(me.status, 200, "{me:?}");
    let now = stored(&p.down, &l.user_id).await;
    assert_eq!(now.access_token.expose(), &new_at);
    let new_rt = now.refresh_token.as_ref().unwrap().expose().clone();
    assert_ne!(new_rt, old_rt, "the upstream rotated its refresh token");
    // Fresh now: a further exchange answers it without going upstream.
    let r = exchange_at(&node2, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&r), new_at);
    assert_eq!(token_calls(&p.up) - before, 1);
    // Downstream rotation is on, and the presented token still works.
    let rotated = flows::refresh(&p.down, &p.down_app, &l.refresh_token, None).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert_ne!(flows::field(&rotated, "refresh_token"), l.refresh_token);

    // No upstream token in clear in the database file (SQLite) or the logs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(p.down.data_dir()).unwrap() {
        files.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let logged = logs.lock().unwrap().clone();
    for needle in [&old_at, &old_rt, &new_at, &new_rt] {
        for bytes in files.iter().chain([&logged]) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "an upstream token in clear"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_exchanges_on_two_nodes_refresh_upstream_once_on_sqlite() {
    concurrent_exchanges_refresh_upstream_once(vault_pair(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_exchanges_on_two_nodes_refresh_upstream_once_on_postgres() {
    let Some(url) = testing::fresh_postgres_database().await else {
        return;
    };
    concurrent_exchanges_refresh_upstream_once(vault_pair(Some(url)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_must_not_get_an_upstream_token() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let upstream_at = stored(&p.down, &l.user_id)
        .await
        .access_token
        .expose()
        .clone();
    let ok = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&ok), upstream_at);

    // A client without the grant type.
    let plain = flows::app(&p.down, json!({"app_type": "regular_web"})).await;
    let r = exchange_at(&p.down, &plain, &l.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "unauthorized_client", Reason::GrantTypeNotAllowed);
    // A public client, even one listing the grant.
    let spa = flows::app(&p.down, json!({"app_type": "spa"})).await;
    assert!(spa.secret.is_none());
    let admin = p.down.admin_token().await;
    let _ = p
        .down
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{}", spa.id),
            &admin,
            Some(json!({"grant_types": ["authorization_code", "refresh_token", GRANT]})),
        )
        .await;
    let r = exchange_at(&p.down, &spa, &l.refresh_token, RT_TYPE, &[]).await;
    assert_refused(
        &r,
        400,
        "unauthorized_client",
        Reason::TokenVaultPublicClient,
    );
    // Another confidential client with the grant: the connection is not
    // enabled for it, and the subject token is not its own.
    let other = flows::app(&p.down, json!({"app_type": "regular_web"})).await;
    allow_vault(&p.down, &other).await;
    let conn_path = format!(
        "api/v2/connections/{}",
        connection_id(&p.down, &admin).await
    );
    let only = json!({"enabled_clients": [p.down_app.id]});
    let r = p
        .down
        .api(Method::PATCH, &conn_path, &admin, Some(only))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = exchange_at(&p.down, &other, &l.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::ConnectionNotEnabled);
    let both = json!({"enabled_clients": [p.down_app.id, other.id]});
    let r = p
        .down
        .api(Method::PATCH, &conn_path, &admin, Some(both))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for (token, kind) in [(&l.refresh_token, RT_TYPE), (&l.access_token, AT_TYPE)] {
        let r = exchange_at(&p.down, &other, token, kind, &[]).await;
        assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenClientMismatch);
    }
    // Connections that are not upstream ones, or unknown.
    for name in ["Username-Password-Authentication", "Nope"] {
        let r = exchange_at(
            &p.down,
            &p.down_app,
            &l.refresh_token,
            RT_TYPE,
            &[("connection", name)],
        )
        .await;
        assert_refused(&r, 400, "invalid_grant", Reason::ConnectionNotEnabled);
    }

    // User B (a database user of the same app) has no identity for the
    // connection: Auth0's 401, never user A's token.
    let b_id = flows::user(&p.down).await;
    let b = flows::login(&p.down, &p.down_app, "openid offline_access", &[]).await;
    let b_tokens = [
        (flows::field(&b, "refresh_token"), RT_TYPE),
        (flows::field(&b, "access_token"), AT_TYPE),
    ];
    for (token, kind) in &b_tokens {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_refused(&r, 401, "unauthorized", Reason::FederatedIdentityMissing);
        assert!(!r.body.to_string().contains(&upstream_at));
        // Not even by naming user A's identity.
        let hint = format!("{CONN}|{}", p.up_user);
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[("login_hint", &hint)]).await;
        assert_refused(&r, 401, "unauthorized", Reason::FederatedIdentityMissing);
    }
    // Given an identity of the connection with tokens of its own, user B
    // gets B's upstream token, and user A still A's.
    let mut user_b = p.down.store.get_user(&b_id).await.unwrap().unwrap();
    user_b.identities.push(tessera_core::model::Identity {
        connection: CONN.into(),
        user_id: format!("{CONN}|b-upstream"),
        provider: "oidc".into(),
        is_social: false,
    });
    assert!(p.down.store.update_user(&user_b, None).await.unwrap());
    let b_upstream = IdpTokens {
        access_token: Secret::new("b-upstream-access-token".into()),
        refresh_token: None,
        id_token: None,
        expires_at: None,
    };
    let now = p.down.state.clock.now();
    let sealed = b_upstream.seal(&p.down.master, &b_id, CONN, now).unwrap();
    p.down.store.put_idp_tokens(&sealed).await.unwrap();
    for (token, kind) in &b_tokens {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_eq!(assert_vault_token(&r), "b-upstream-access-token");
    }
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&r), upstream_at);

    // Tokens that are not a live subject token of this client.
    let id_token = l.id_token.clone();
    for (token, kind) in [
        (id_token.as_str(), AT_TYPE),
        (id_token.as_str(), RT_TYPE),
        ("garbage", RT_TYPE),
        ("garbage", AT_TYPE),
        ("a.b.c", AT_TYPE),
        (l.access_token.as_str(), RT_TYPE),
        (l.refresh_token.as_str(), AT_TYPE),
    ] {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
    }
    // Wrong token types.
    let r = exchange_at(
        &p.down,
        &p.down_app,
        &l.refresh_token,
        "urn:ietf:params:oauth:token-type:id_token",
        &[],
    )
    .await;
    assert_refused(
        &r,
        400,
        "invalid_request",
        Reason::SubjectTokenTypeUnsupported,
    );
    let r = exchange_at(
        &p.down,
        &p.down_app,
        &l.refresh_token,
        RT_TYPE,
        &[(
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        )],
    )
    .await;
    assert_refused(
        &r,
        400,
        "invalid_request",
        Reason::RequestedTokenTypeUnsupported,
    );

    // Revoked subject tokens: the access token (RFC 7009), then the refresh
    // token.
    let second = login(&p).await;
    for token in [&second.access_token, &second.refresh_token] {
        let mut form = vec![("token", token.as_str())];
        form.extend(flows::credentials(&p.down_app));
        let res = http()
            .post(p.down.url("oauth/revoke"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    for (token, kind) in [
        (&second.access_token, AT_TYPE),
        (&second.refresh_token, RT_TYPE),
    ] {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
    }
    // A rotated refresh token is no subject token either.
    let third = login(&p).await;
    let rotated = flows::refresh(&p.down, &p.down_app, &third.refresh_token, None).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let r = exchange_at(&p.down, &p.down_app, &third.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
    let live = flows::field(&rotated, "refresh_token");
    // A family revoked for reuse: its live successor is refused too.
    let fourth = login(&p).await;
    let next = flows::refresh(&p.down, &p.down_app, &fourth.refresh_token, None).await;
    assert_eq!(next.status, 200, "{next:?}");
    let successor = flows::field(&next, "refresh_token");
    let ok = exchange_at(&p.down, &p.down_app, &successor, RT_TYPE, &[]).await;
    assert_vault_token(&ok);
    let reuse = flows::refresh(&p.down, &p.down_app, &fourth.refresh_token, None).await;
    flows::assert_invalid_grant(&reuse, Reason::RefreshTokenReused);
    let r = exchange_at(&p.down, &p.down_app, &successor, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);

    // The upstream refuses the refresh: invalid_grant, and the stale tokens
    // are marked (the upstream refresh token dropped): invalid_grant at once
    // after that, without asking upstream again.
    expire(&p.down, &l.user_id, Some("not-a-refresh-token")).await;
    let before = token_calls(&p.up);
    let r = exchange_at(&p.down, &p.down_app, &live, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::UpstreamRefreshRefused);
    assert!(stored(&p.down, &l.user_id).await.refresh_token.is_none());
    let r = exchange_at(&p.down, &p.down_app, &live, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::UpstreamTokenExpired);
    assert_eq!(token_calls(&p.up) - before, 1);

    // The upstream unreachable: a clean 503 in bounded time, the lease
    // released with a backoff (the next request answers 503 at once).
    let fresh = login(&p).await;
    expire(&p.down, &l.user_id, None).await;
    let Pair {
        up, down, down_app, ..
    } = p;
    drop(up);
    for _ in 0..2 {
        let started = Instant::now();
        let r = exchange_at(&down, &down_app, &fresh.refresh_token, RT_TYPE, &[]).await;
        assert_refused(
            &r,
            503,
            "temporarily_unavailable",
            Reason::UpstreamUnavailable,
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

/// M1 (review of issue 14): Auth0 requires a first-party client; consent to a
/// third-party app never covers the user's upstream tokens, even when an
/// operator lists the grant type on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_client_gets_no_upstream_token() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let ok = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    let upstream_at = assert_vault_token(&ok);
    let admin = p.down.admin_token().await;
    let path = format!("api/v2/clients/{}", p.down_app.id);
    let r = p
        .down
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"is_first_party": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["is_first_party"], false, "{r:?}");
    for (token, kind) in [(&l.refresh_token, RT_TYPE), (&l.access_token, AT_TYPE)] {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_refused(&r, 400, "unauthorized_client", Reason::TokenVaultThirdParty);
        assert!(!r.body.to_string().contains(&upstream_at));
    }
    // First-party again: the same subject token works (the check was the
    // only reason).
    let r = p
        .down
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"is_first_party": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&r), upstream_at);
}

/// L1 (review of issue 14): a blocked upstream identity linked to a user
/// yields no upstream token to the primary's apps, as a login through it is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_linked_identity_gets_no_upstream_token() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let upstream_at = stored(&p.down, &l.user_id)
        .await
        .access_token
        .expose()
        .clone();
    let admin = p.down.admin_token().await;
    let r = p
        .down
        .api(
            Method::PATCH,
            &format!("api/v2/users/{}", enc(&l.user_id)),
            &admin,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let primary = flows::user(&p.down).await;
    let editor = p.down.token_with_scopes(&["update:users"]).await;
    let r = p
        .down
        .api(
            Method::POST,
            &format!("api/v2/users/{}/identities", enc(&primary)),
            &editor,
            Some(json!({"provider": "oidc", "user_id": format!("{CONN}|{}", p.up_user)})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let db = flows::login(&p.down, &p.down_app, "openid offline_access", &[]).await;
    assert_eq!(
        flows::claims(&flows::field(&db, "id_token"))["sub"],
        primary.as_str()
    );
    for (token, kind) in [
        (flows::field(&db, "refresh_token"), RT_TYPE),
        (flows::field(&db, "access_token"), AT_TYPE),
    ] {
        let r = exchange_at(&p.down, &p.down_app, &token, kind, &[]).await;
        assert_refused(&r, 400, "invalid_grant", Reason::UserBlocked);
        assert!(!r.body.to_string().contains(&upstream_at));
    }
}

/// L2 (review of issue 14): an upstream access token whose provider named no
/// lifetime is not fresh forever: with an upstream refresh token it is
/// refreshed once stored longer than the documented default ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_token_of_unknown_lifetime_is_refreshed_after_the_default() {
    use tessera_core::grant::token_vault::UNKNOWN_LIFETIME_SECONDS;
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let now = p.down.state.clock.now();
    // Stored just now without a lifetime: served as it is.
    let mut t = stored(&p.down, &l.user_id).await;
    let old_at = t.access_token.expose().clone();
    t.expires_at = None;
    let sealed = t.seal(&p.down.master, &l.user_id, CONN, now).unwrap();
    p.down.store.put_idp_tokens(&sealed).await.unwrap();
    let before = token_calls(&p.up);
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(assert_vault_token(&r), old_at);
    assert_eq!(token_calls(&p.up), before);
    // Stored longer ago than the default lifetime: refreshed upstream.
    let long_ago = now - UNKNOWN_LIFETIME_SECONDS - 60;
    let sealed = t.seal(&p.down.master, &l.user_id, CONN, long_ago).unwrap();
    p.down.store.put_idp_tokens(&sealed).await.unwrap();
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    let new_at = assert_vault_token(&r);
    assert_ne!(new_at, old_at);
    assert_eq!(token_calls(&p.up) - before, 1);
    assert_eq!(flows::userinfo(&p.up, &new_at).await.status, 200);
}

/// M4 (review of issue 14): the winner's provider call and store write run
/// in a task of their own, so an exchange dropped while the provider is
/// being asked (the client went away) still stores the refreshed tokens —
/// a rotated upstream refresh token is never lost, and the lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_exchange_still_stores_the_refreshed_upstream_tokens() {
    use tessera_core::client_auth::Presented;
    use tessera_core::grant::token_vault::{Request, SubjectTokenType, exchange};
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let state = p.down.state.clone();
    let mut dropped_while_refreshing = false;
    for _ in 0..50 {
        expire(&p.down, &l.user_id, None).await;
        let old = stored(&p.down, &l.user_id).await;
        let presented = Presented::Post {
            client_id: p.down_app.id.clone(),
            secret: Secret::new(p.down_app.secret.clone().unwrap()),
        };
        let req = Request {
            subject_token: Secret::new(l.refresh_token.clone()),
            subject_token_type: SubjectTokenType::RefreshToken,
            connection: CONN.into(),
            login_hint: None,
        };
        let fut = async {
            let ctx = state.grant_ctx(state.clock.now());
            exchange(&ctx, &presented, req).await.is_ok()
        };
        let mut fut = Box::pin(fut);
        // Drive the exchange until its refresh is claimed, then drop it.
        let mut finished = false;
        loop {
            tokio::select! {
                _ = &mut fut => { finished = true; break; }
                _ = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
            let lease = state
                .store
                .idp_refresh_state(&l.user_id, CONN)
                .await
                .unwrap()
                .unwrap();
            if lease.refreshing_until.is_some() {
                break;
            }
        }
        drop(fut);
        if finished {
            continue;
        }
        dropped_while_refreshing = true;
        // The refresh completes and is stored although nobody waits for it.
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let now = stored(&p.down, &l.user_id).await;
            let lease = state
                .store
                .idp_refresh_state(&l.user_id, CONN)
                .await
                .unwrap()
                .unwrap();
            if now.access_token.expose() != old.access_token.expose() {
                assert_eq!(lease.refreshing_until, None);
                assert_eq!(
                    flows::userinfo(&p.up, now.access_token.expose())
                        .await
                        .status,
                    200
                );
                break;
            }
            assert!(Instant::now() < deadline, "the dropped refresh was lost");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        break;
    }
    assert!(dropped_while_refreshing, "never dropped during a refresh");
    // The next exchange answers the stored token without calling upstream.
    let calls = token_calls(&p.up);
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(
        assert_vault_token(&r),
        stored(&p.down, &l.user_id)
            .await
            .access_token
            .expose()
            .clone()
    );
    assert_eq!(token_calls(&p.up), calls);
}

/// Enables the connection `name` for `clients` only.
async fn enable_only(s: &TestServer, name: &str, clients: &[&str]) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections?name={}", enc(name)),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let list: &Value = &r.body;
    let first = list.as_array().map_or(list, |a| &a[0]);
    let id = first["id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(json!({ "enabled_clients": clients })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// M2 (review of issue 14): as the refresh and code grants, the exchange
/// checks that the subject token's user's own connection is still enabled
/// for the client; an app cut off the user's (database) connection gets no
/// upstream token of a linked identity through tokens it holds from before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_cut_off_the_users_connection_gets_no_upstream_token() {
    let p = vault_pair(None).await;
    let _ = login(&p).await;
    let primary = flows::user(&p.down).await;
    let editor = p.down.token_with_scopes(&["update:users"]).await;
    let r = p
        .down
        .api(
            Method::POST,
            &format!("api/v2/users/{}/identities", enc(&primary)),
            &editor,
            Some(json!({"provider": "oidc", "user_id": format!("{CONN}|{}", p.up_user)})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let l = login(&p).await;
    assert_eq!(flows::claims(&l.id_token)["sub"], primary.as_str());
    let ok = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    let upstream_at = assert_vault_token(&ok);

    // The primary's database connection no longer enabled for the app (the
    // upstream connection still is).
    let other = flows::app(&p.down, json!({"app_type": "regular_web"})).await;
    enable_only(&p.down, "Username-Password-Authentication", &[&other.id]).await;
    let refreshed = flows::refresh(&p.down, &p.down_app, &l.refresh_token, None).await;
    flows::assert_invalid_grant(&refreshed, Reason::ConnectionNotEnabled);
    for (token, kind) in [(&l.refresh_token, RT_TYPE), (&l.access_token, AT_TYPE)] {
        let r = exchange_at(&p.down, &p.down_app, token, kind, &[]).await;
        assert_refused(&r, 400, "invalid_grant", Reason::ConnectionNotEnabled);
        assert!(!r.body.to_string().contains(&upstream_at));
    }
}

async fn connection_id(s: &TestServer, admin: &str) -> String {
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections?name={CONN}"),
            admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let list: &Value = &r.body;
    let first = list.as_array().map_or(list, |a| &a[0]);
    first["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_lease_ends_and_a_wrong_client_secret_keeps_the_upstream_token() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    expire(&p.down, &l.user_id, None).await;
    // A node claimed the refresh and died: its lease (2 s here) ends, and a
    // waiting request claims it and refreshes.
    let sealed = p
        .down
        .store
        .get_idp_tokens(&l.user_id, CONN)
        .await
        .unwrap()
        .unwrap();
    let expected = sealed.refresh_token.clone().unwrap();
    let now = p.down.state.clock.now();
    assert!(
        p.down
            .store
            .claim_idp_refresh(&l.user_id, CONN, &expected, now, now + 2)
            .await
            .unwrap()
    );
    let before = token_calls(&p.up);
    let started = Instant::now();
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    let new_at = assert_vault_token(&r);
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(token_calls(&p.up) - before, 1);
    assert_eq!(
        stored(&p.down, &l.user_id).await.access_token.expose(),
        &new_at
    );
    assert_eq!(flows::userinfo(&p.up, &new_at).await.status, 200);

    // The provider refuses the connection's credentials (invalid_client):
    // 503, and the upstream refresh token is kept for a later try.
    let admin = p.down.admin_token().await;
    let path = format!(
        "api/v2/connections/{}",
        connection_id(&p.down, &admin).await
    );
    let options = |secret: &str| {
        json!({"options": {
            "type": "back_channel",
            "discovery_url": p.up.url(".well-known/openid-configuration"),
            "issuer": p.up.base,
            "client_id": p.up_app.id,
            "client_secret": secret,
            "scope": "openid profile email offline_access",
        }})
    };
    let r = p
        .down
        .api(Method::PATCH, &path, &admin, Some(options("wrong")))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    expire(&p.down, &l.user_id, None).await;
    let kept = stored(&p.down, &l.user_id).await.refresh_token.unwrap();
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_refused(
        &r,
        503,
        "temporarily_unavailable",
        Reason::UpstreamUnavailable,
    );
    let after = stored(&p.down, &l.user_id).await.refresh_token.unwrap();
    assert_eq!(after.expose(), kept.expose());
    let right = p.up_app.secret.clone().unwrap();
    let r = p
        .down
        .api(Method::PATCH, &path, &admin, Some(options(&right)))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // M5 (review of issue 14): the failure leaves a backoff; requests during
    // it answer 503 at once without calling the provider again.
    let calls = token_calls(&p.up);
    for _ in 0..3 {
        let started = Instant::now();
        let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
        assert_refused(
            &r,
            503,
            "temporarily_unavailable",
            Reason::UpstreamUnavailable,
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    assert_eq!(token_calls(&p.up), calls);
    // The backoff ends (here: a new storage of the tokens, as a login's, clears
    // it): the next request refreshes.
    expire(&p.down, &l.user_id, None).await;
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    let newer = assert_vault_token(&r);
    assert_ne!(newer, new_at);
}

/// An upstream identity linked to a database user: the primary's subject
/// tokens reach that identity's upstream token (still sealed under the
/// identity's own record), and the secondary's old refresh token no longer
/// gets anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_upstream_identity_serves_its_primarys_exchange() {
    let p = vault_pair(None).await;
    let before = login(&p).await;
    let primary = flows::user(&p.down).await;
    let editor = p.down.token_with_scopes(&["update:users"]).await;
    let r = p
        .down
        .api(
            Method::POST,
            &format!("api/v2/users/{}/identities", enc(&primary)),
            &editor,
            Some(json!({"provider": "oidc", "user_id": format!("{CONN}|{}", p.up_user)})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    // A login through the linked identity signs in as the primary, whose
    // refresh token the exchange takes.
    let after = login(&p).await;
    assert_eq!(flows::claims(&after.id_token)["sub"], primary.as_str());
    let r = exchange_at(&p.down, &p.down_app, &after.refresh_token, RT_TYPE, &[]).await;
    let upstream_token = assert_vault_token(&r);
    assert_eq!(flows::userinfo(&p.up, &upstream_token).await.status, 200);
    // Named by the identity as well.
    let hint = format!("{CONN}|{}", p.up_user);
    let r = exchange_at(
        &p.down,
        &p.down_app,
        &after.refresh_token,
        RT_TYPE,
        &[("login_hint", hint.as_str())],
    )
    .await;
    assert_eq!(assert_vault_token(&r), upstream_token);

    // The secondary's refresh token from before the link is dead.
    let r = exchange_at(&p.down, &p.down_app, &before.refresh_token, RT_TYPE, &[]).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_grant", "{r:?}");

    // M3 (review of issue 14): unlinked, the identity's access token from
    // before the link stays dead, and the primary's refresh token got
    // through the link reaches nothing.
    let r = p
        .down
        .api(
            Method::DELETE,
            &format!(
                "api/v2/users/{}/identities/oidc/{}",
                enc(&primary),
                enc(&format!("{CONN}|{}", p.up_user))
            ),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = exchange_at(&p.down, &p.down_app, &before.access_token, AT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
    assert!(!r.body.to_string().contains(&upstream_token));
    let r = exchange_at(&p.down, &p.down_app, &after.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 400, "invalid_grant", Reason::SubjectTokenInvalid);
}

/// L7 (review of issue 14): a PATCH that moves the connection to another
/// client (or provider) deletes the connection's stored upstream tokens: the
/// old provider's tokens are neither served nor sent to the new endpoint. A
/// PATCH that changes only the secret or the scope keeps them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_connection_to_another_client_deletes_its_upstream_tokens() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    let admin = p.down.admin_token().await;
    let path = format!(
        "api/v2/connections/{}",
        connection_id(&p.down, &admin).await
    );
    let options = |client_id: &str, scope: &str| {
        json!({"options": {
            "type": "back_channel",
            "discovery_url": p.up.url(".well-known/openid-configuration"),
            "issuer": p.up.base,
            "client_id": client_id,
            "client_secret": "another secret of the provider",
            "scope": scope,
        }})
    };
    let same = p
        .down
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(options(&p.up_app.id, "openid profile email offline_access")),
        )
        .await;
    assert_eq!(same.status, 200, "{same:?}");
    let kept = p.down.store.get_idp_tokens(&l.user_id, CONN).await.unwrap();
    assert!(kept.is_some(), "the same client keeps its tokens");

    let moved = p
        .down
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(options("another-client", "openid offline_access")),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    let gone = p.down.store.get_idp_tokens(&l.user_id, CONN).await.unwrap();
    assert!(gone.is_none(), "the old client's tokens stayed");
    let calls = token_calls(&p.up);
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_refused(&r, 401, "unauthorized", Reason::FederatedIdentityMissing);
    assert_eq!(token_calls(&p.up), calls);
}

/// L3 (review of issue 14): the upstream refresh answer's scope may reach
/// the client (when well formed) but is never copied into the tenant log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_scope_never_reaches_the_tenant_log() {
    let p = vault_pair(None).await;
    let l = login(&p).await;
    expire(&p.down, &l.user_id, None).await;
    let r = exchange_at(&p.down, &p.down_app, &l.refresh_token, RT_TYPE, &[]).await;
    assert_vault_token(&r);
    let reader = p.down.token_with_scopes(&["read:logs"]).await;
    let events = crate::logs::events_until(&p.down, &reader, |events| {
        crate::logs::of_type(events, "sertft")
            .iter()
            .any(|e| e["details"]["grant_type"] == GRANT)
    })
    .await;
    for e in crate::logs::of_type(&events, "sertft") {
        if e["details"]["grant_type"] == GRANT {
            assert!(e.get("scope").is_none_or(Value::is_null), "{e}");
        }
    }
}
