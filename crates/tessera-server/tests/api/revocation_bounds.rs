//! Revocations stay bounded (issue 9, point 8): each entry lasts as long as the
//! tokens it refuses can (not a fixed 30 days) and then leaves the view; also
//! when the API's lifetime was lowered, or the API deleted, after the tokens
//! were issued.

use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::store::{Revocation, RevocationStore};
use tessera_core::{Clock, keys::MAX_TOKEN_LIFETIME};
use tessera_store::testing;

use crate::common::*;

const ORDERS: &str = "https://orders.example/";
const LONG: &str = "https://long.example/";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Creates an API; its id.
async fn create_api(s: &TestServer, admin: &str, identifier: &str, lifetime: i64) -> String {
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            admin,
            Some(json!({
                "identifier": identifier,
                "name": identifier,
                "token_lifetime": lifetime,
                "scopes": [{"value": "read:orders"}],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["id"].as_str().unwrap().to_owned()
}

/// The client revocations stored for `client_id`: (audience, expires_at).
async fn client_cuts(s: &TestServer, client_id: &str, now: i64) -> Vec<(Option<String>, i64)> {
    let mut out: Vec<_> = s
        .store
        .live_revocations(now)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Revocation::Client {
                client_id: c,
                audience,
                expires_at,
                ..
            } if c == client_id => Some((audience, expires_at)),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

async fn blacklisted(s: &TestServer, at: i64) -> Vec<String> {
    s.store
        .list_blacklisted_tokens(at, None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.jti)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_entries_last_as_long_as_the_tokens_they_refuse() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    let admin = s.admin_token().await;
    create_api(&s, &admin, ORDERS, 600).await;
    create_api(&s, &admin, LONG, 200_000).await;
    let (id, secret) = s.m2m_client(ORDERS, &["read:orders"]).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", ORDERS),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let token = claims(r.body["access_token"].as_str().unwrap());
    let exp = token["exp"].as_i64().unwrap();
    let now = clock.now();
    assert_eq!(exp, now + 600);

    // Deleting the grant revokes the client's tokens for that API until the
    // last of them expires: the API's token lifetime, not 30 days.
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants?client_id={id}"),
            &admin,
            None,
        )
        .await;
    let grant = r.body[0]["id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/client-grants/{grant}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        client_cuts(&s, &id, now).await,
        vec![(Some(ORDERS.to_owned()), exp)],
        "the entry expires with the token"
    );
    let jti = token["jti"].as_str().unwrap();
    let aud = vec![ORDERS.to_owned()];
    assert!(s.state.revocations.is_revoked(jti, &id, &aud, now));

    // A client-wide revocation (secret rotation) lasts as long as the longest
    // token of any API can.
    let r = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{id}/rotate-secret"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let cuts = client_cuts(&s, &id, now).await;
    assert_eq!(
        cuts,
        vec![(None, now + 200_000), (Some(ORDERS.to_owned()), exp)]
    );
    assert!(cuts.iter().all(|(_, e)| *e < now + MAX_TOKEN_LIFETIME));

    // The blacklist: as long as a token for `aud` lives; without `aud`, the
    // longest of any API.
    for body in [
        json!({"aud": ORDERS, "jti": "jti-orders"}),
        json!({"jti": "jti-any"}),
    ] {
        let r = s
            .api(Method::POST, "api/v2/blacklists/tokens", &admin, Some(body))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
    }
    assert_eq!(
        blacklisted(&s, now + 599).await,
        vec!["jti-any", "jti-orders"]
    );
    assert_eq!(blacklisted(&s, now + 600).await, vec!["jti-any"]);
    assert_eq!(blacklisted(&s, now + 200_000).await, Vec::<String>::new());

    // Once the tokens have expired, their entries leave the in-memory view.
    let before = s.state.revocations.len();
    clock.advance(600);
    let done = s.state.revocations.refresh(clock.now()).await.unwrap();
    assert_eq!(done.live, before - 2, "{done:?}");
    assert!(!s.state.revocations.is_revoked("jti-orders", "x", &[], now));
    assert!(s.state.revocations.is_revoked("jti-any", "x", &[], now));
    clock.advance(200_000);
    let done = s.state.revocations.refresh(clock.now()).await.unwrap();
    assert_eq!(done.live, 0, "{done:?}");
    assert!(!s.state.revocations.is_revoked(jti, &id, &aud, now));
}

/// The lifetime tokens were issued with, longer than the API's later one, and
/// than the day every-audience revocations took at least before.
const ISSUED_LIFETIME: i64 = 200_000;
const DAY: i64 = 86_400;

/// A server on the test clock; on PostgreSQL when `postgres` (None when no
/// PostgreSQL can be had and TESSERA_REQUIRE_POSTGRES is not set).
async fn server(clock: Arc<FixedClock>, postgres: bool) -> Option<TestServer> {
    let database_url = if postgres {
        Some(testing::fresh_postgres_database().await?)
    } else {
        None
    };
    Some(
        start_opts(Options {
            clock,
            database_url,
            ..Options::default()
        })
        .await,
    )
}

async fn cc_token(s: &TestServer, id: &str, secret: &str, audience: &str) -> String {
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", audience),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// `active` of RFC 7662 introspection of `token` by the client `id`.
async fn active(s: &TestServer, (id, secret): (&str, &str), token: &str) -> bool {
    let r = reply(
        http()
            .post(s.url("oauth/introspect"))
            .form(&[
                ("token", token),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["active"].as_bool().unwrap()
}

/// Moves the clock to `at` and refreshes the revocation view there.
async fn at(s: &TestServer, clock: &FixedClock, at: i64) {
    clock.advance(at - clock.now());
    s.state.revocations.refresh(at).await.unwrap();
}

/// A token issued under the API's longer lifetime.
struct Issued {
    client_id: String,
    secret: String,
    token: String,
    jti: String,
    exp: i64,
}

async fn issue(s: &TestServer, audience: &str) -> Issued {
    let (client_id, secret) = s.m2m_client(audience, &["read:orders"]).await;
    let token = cc_token(s, &client_id, &secret, audience).await;
    let c = claims(&token);
    Issued {
        client_id,
        secret,
        jti: c["jti"].as_str().unwrap().to_owned(),
        exp: c["exp"].as_i64().unwrap(),
        token,
    }
}

async fn blacklist(s: &TestServer, admin: &str, aud: &str, jti: &str) {
    let r = s
        .api(
            Method::POST,
            "api/v2/blacklists/tokens",
            admin,
            Some(json!({"aud": aud, "jti": jti})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

/// Rotates the client's secret (revoking all its tokens); the new secret.
async fn rotate_secret(s: &TestServer, admin: &str, client_id: &str) -> String {
    let r = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{client_id}/rotate-secret"),
            admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["client_secret"].as_str().unwrap().to_owned()
}

/// Lower the API's lifetime after its tokens were issued, then blacklist one,
/// delete another's grant and rotate a third's secret: each stays refused until
/// its own `exp`, not the new lifetime (nor the day every-audience revocations
/// used to stop at); then the entries leave the view.
async fn lowered_lifetime(s: TestServer, clock: Arc<FixedClock>) {
    let admin = s.admin_token().await;
    let api_id = create_api(&s, &admin, ORDERS, ISSUED_LIFETIME).await;
    // Introspects for the API (it holds a grant for it).
    let (reader, reader_secret) = s.m2m_client(ORDERS, &["read:orders"]).await;
    let reader = (reader.as_str(), reader_secret.as_str());
    let [listed, ungranted, rotated] = [
        issue(&s, ORDERS).await,
        issue(&s, ORDERS).await,
        issue(&s, ORDERS).await,
    ];
    let now = clock.now();
    let exp = now + ISSUED_LIFETIME;
    assert_eq!(listed.exp, exp);

    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{api_id}"),
            &admin,
            Some(json!({"token_lifetime": 600})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["token_lifetime"], 600);

    blacklist(&s, &admin, ORDERS, &listed.jti).await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants?client_id={}", ungranted.client_id),
            &admin,
            None,
        )
        .await;
    let grant = r.body[0]["id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/client-grants/{grant}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    rotate_secret(&s, &admin, &rotated.client_id).await;

    // Each entry lasts exactly until the tokens it refuses expire.
    assert_eq!(
        client_cuts(&s, &ungranted.client_id, now).await,
        vec![(Some(ORDERS.to_owned()), exp)]
    );
    assert_eq!(
        client_cuts(&s, &rotated.client_id, now).await,
        vec![(None, exp)]
    );
    assert_eq!(blacklisted(&s, exp - 1).await, vec![listed.jti.clone()]);
    assert_eq!(blacklisted(&s, exp).await, Vec::<String>::new());

    let tokens = [&listed, &ungranted, &rotated];
    for t in tokens {
        assert!(!active(&s, reader, &t.token).await, "{}", t.client_id);
    }
    // Past the new lifetime and the day: still refused on every surface that
    // consults the view (a token issued now is active: the refusals are the
    // revocations').
    for when in [now + 601, now + DAY + 1, exp - 1] {
        at(&s, &clock, when).await;
        let fresh = cc_token(&s, reader.0, reader.1, ORDERS).await;
        assert_eq!(claims(&fresh)["exp"].as_i64().unwrap(), when + 600);
        assert!(active(&s, reader, &fresh).await);
        for t in tokens {
            assert!(
                !active(&s, reader, &t.token).await,
                "{} accepted at {when}",
                t.client_id
            );
            assert!(s.state.revocations.is_revoked(
                &t.jti,
                &t.client_id,
                &[ORDERS.to_owned()],
                now
            ));
        }
    }
    // At their expiry they leave the view.
    at(&s, &clock, exp).await;
    assert_eq!(s.state.revocations.len(), 0);
}

/// Delete the API after its tokens were issued, then blacklist one (naming the
/// deleted API) and rotate another's secret: each stays refused until its own
/// `exp`, not the longest lifetime of the APIs left.
async fn deleted_api(s: TestServer, clock: Arc<FixedClock>) {
    let admin = s.admin_token().await;
    let api_id = create_api(&s, &admin, ORDERS, ISSUED_LIFETIME).await;
    create_api(&s, &admin, LONG, 600).await;
    let [listed, rotated, untouched] = [
        issue(&s, ORDERS).await,
        issue(&s, ORDERS).await,
        issue(&s, ORDERS).await,
    ];
    let now = clock.now();
    let exp = now + ISSUED_LIFETIME;
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/resource-servers/{api_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    blacklist(&s, &admin, ORDERS, &listed.jti).await;
    let new_secret = rotate_secret(&s, &admin, &rotated.client_id).await;
    assert_eq!(
        client_cuts(&s, &rotated.client_id, now).await,
        vec![(None, exp)]
    );
    assert_eq!(blacklisted(&s, exp - 1).await, vec![listed.jti.clone()]);

    // Each client introspects its own token.
    let refused = [(&listed, listed.secret.clone()), (&rotated, new_secret)];
    for when in [now, now + DAY + 1, exp - 1] {
        at(&s, &clock, when).await;
        for (t, secret) in &refused {
            assert!(
                !active(&s, (&t.client_id, secret), &t.token).await,
                "{} accepted at {when}",
                t.client_id
            );
        }
        // The token nobody revoked is still active: the refusals are the
        // revocations'.
        assert!(
            active(
                &s,
                (&untouched.client_id, &untouched.secret),
                &untouched.token
            )
            .await
        );
    }
    at(&s, &clock, exp).await;
    assert_eq!(s.state.revocations.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_lifetime_keeps_revocations_until_the_old_tokens_expire_on_sqlite() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    if let Some(s) = server(clock.clone(), false).await {
        lowered_lifetime(s, clock).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_lifetime_keeps_revocations_until_the_old_tokens_expire_on_postgres() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    if let Some(s) = server(clock.clone(), true).await {
        lowered_lifetime(s, clock).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_api_keeps_revocations_until_its_tokens_expire_on_sqlite() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    if let Some(s) = server(clock.clone(), false).await {
        deleted_api(s, clock).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_api_keeps_revocations_until_its_tokens_expire_on_postgres() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    if let Some(s) = server(clock.clone(), true).await {
        deleted_api(s, clock).await;
    }
}
