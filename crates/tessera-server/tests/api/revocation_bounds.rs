//! Revocations stay bounded (issue 9, point 8): each entry lasts as long as the
//! tokens it refuses can (not a fixed 30 days) and then leaves the view.

use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::store::{Revocation, RevocationStore};
use tessera_core::{Clock, keys::MAX_TOKEN_LIFETIME};

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

async fn create_api(s: &TestServer, admin: &str, identifier: &str, lifetime: i64) {
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
