//! `/api/v2/keys/signing`: listing, one key, rotation (refused, then allowed
//! once the next key has been published long enough) and revocation, with the
//! effect on the JWKS and on tokens.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::Value;
use tessera_core::clock::{Clock, FixedClock, SystemClock};
use tessera_core::keys::SigningAlg;

use crate::common::*;

/// The header naming a refusal's precise reason.
const REASON: &str = "tessera-error-reason";

const PATH: &str = "api/v2/keys/signing";

fn header_kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| humantime::parse_rfc3339(s).is_ok() && s.ends_with('Z'))
}

/// Checks the Auth0 shape of one key and returns it.
fn check_shape(key: &Value) -> &Value {
    let obj = key.as_object().unwrap();
    let kid = key["kid"].as_str().unwrap();
    assert_eq!(key["thumbprint"], kid, "{key}");
    let digest = URL_SAFE_NO_PAD.decode(kid).unwrap();
    assert_eq!(digest.len(), 32, "a SHA-256 thumbprint: {key}");
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(key["fingerprint"], hex.join(":"), "{key}");
    for flag in ["current", "next", "previous", "revoked", "published"] {
        assert!(key[flag].is_boolean(), "{flag}: {key}");
    }
    let states = ["current", "next", "previous", "revoked"]
        .iter()
        .filter(|f| key[**f] == true)
        .count();
    assert_eq!(states, 1, "exactly one state: {key}");
    for no_cert in ["cert", "pkcs7"] {
        assert!(!obj.contains_key(no_cert), "{no_cert}: {key}");
    }
    for time in ["current_since", "current_until", "revoked_at"] {
        if let Some(v) = obj.get(time) {
            assert!(is_rfc3339(v), "{time}: {key}");
        }
    }
    key
}

fn by_state<'a>(keys: &'a [Value], state: &str) -> Vec<&'a Value> {
    keys.iter().filter(|k| k[state] == true).collect()
}

async fn jwks_kids(base_url: &str) -> BTreeSet<String> {
    let r = reply(
        http()
            .get(format!("{base_url}.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn set(kids: &[&str]) -> BTreeSet<String> {
    kids.iter().map(|k| (*k).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_are_listed_in_auth0_shape() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s.api(Method::GET, PATH, &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let keys = r.body.as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{r:?}");
    for k in &keys {
        check_shape(k);
        assert_eq!(k["alg"], "RS256", "{k}");
        assert_eq!(k["published"], true, "{k}");
        assert!(
            k.get("revoked_at").is_none() && k.get("current_until").is_none(),
            "{k}"
        );
    }
    let current = by_state(&keys, "current");
    let next = by_state(&keys, "next");
    assert_eq!((current.len(), next.len()), (1, 1), "{r:?}");
    let (current, next) = (current[0], next[0]);
    assert_eq!(keys[0], *current, "the current key comes first");
    assert_eq!(current["kid"], s.state.keys.current().signer().kid());
    assert_eq!(current["kid"].as_str().unwrap(), header_kid(&admin));
    assert!(is_rfc3339(&current["current_since"]), "{current}");
    assert!(next.get("current_since").is_none(), "{next}");
    let both = set(&[
        current["kid"].as_str().unwrap(),
        next["kid"].as_str().unwrap(),
    ]);
    assert_eq!(jwks_kids(&s.base).await, both);

    // One key by kid.
    let kid = next["kid"].as_str().unwrap();
    let one = s
        .api(Method::GET, &format!("{PATH}/{kid}"), &admin, None)
        .await;
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.body, *next);
    let missing = s
        .api(Method::GET, &format!("{PATH}/no-such-kid"), &admin, None)
        .await;
    assert_mgmt_error(&missing, 404, "inexistent_signing_key");

    // Scopes: reading needs read:signing_keys, rotating create:, revoking update:.
    let reader = s.token_with_scopes(&["read:signing_keys"]).await;
    assert_eq!(s.api(Method::GET, PATH, &reader, None).await.status, 200);
    let other = s.token_with_scopes(&["read:clients"]).await;
    assert_mgmt_error(
        &s.api(Method::GET, PATH, &other, None).await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &s.api(Method::GET, &format!("{PATH}/{kid}"), &other, None)
            .await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &s.api(Method::POST, &format!("{PATH}/rotate"), &reader, None)
            .await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &s.api(Method::PUT, &format!("{PATH}/{kid}/revoke"), &reader, None)
            .await,
        403,
        "insufficient_scope",
    );
    let none = reply(http().get(s.url(PATH)).send().await.unwrap()).await;
    assert_mgmt_error(&none, 401, "missing_token");
    // Nothing changed.
    assert_eq!(jwks_kids(&s.base).await, both);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_rotations_and_revocations_change_nothing() {
    let s = start().await;
    let admin = s.admin_token().await;
    let keys = s.api(Method::GET, PATH, &admin, None).await.body;
    let keys = keys.as_array().unwrap();
    let current = by_state(keys, "current")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = by_state(keys, "next")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    // The next key was published just now: rotating would outrun JWKS caches.
    let r = s
        .api(Method::POST, &format!("{PATH}/rotate"), &admin, None)
        .await;
    assert_mgmt_error(&r, 409, "rotation_refused");
    assert_eq!(r.headers[REASON], "next_key_too_new", "{r:?}");
    let message = r.body["message"].as_str().unwrap();
    assert!(message.contains(&next), "{r:?}");
    assert_eq!(s.state.keys.current().signer().kid(), current);

    // The current key cannot be revoked: rotate first.
    let r = s
        .api(
            Method::PUT,
            &format!("{PATH}/{current}/revoke"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 409, "rotation_refused");
    assert_eq!(r.headers[REASON], "revoke_current_key", "{r:?}");
    let r = s
        .api(
            Method::PUT,
            &format!("{PATH}/no-such-kid/revoke"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_signing_key");
    assert_eq!(jwks_kids(&s.base).await, set(&[&current, &next]));

    // The next key can be revoked: it leaves the JWKS at once and a new next
    // key takes its place.
    let r = s
        .api(Method::PUT, &format!("{PATH}/{next}/revoke"), &admin, None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    check_shape(&r.body);
    assert_eq!(r.body["kid"], next.as_str());
    assert_eq!(r.body["revoked"], true);
    assert_eq!(r.body["next"], false);
    assert_eq!(r.body["published"], false);
    assert!(is_rfc3339(&r.body["revoked_at"]), "{r:?}");
    let published = jwks_kids(&s.base).await;
    assert!(!published.contains(&next), "{published:?}");
    assert!(published.contains(&current), "{published:?}");
    assert_eq!(published.len(), 2, "a new next key: {published:?}");

    let all = s.api(Method::GET, PATH, &admin, None).await.body;
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 3, "{all:?}");
    all.iter().for_each(|k| {
        check_shape(k);
    });
    let new_next = by_state(&all, "next")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(new_next != next && published.contains(&new_next));
    assert_eq!(by_state(&all, "revoked")[0]["kid"], next.as_str());

    // Revoking it again is refused.
    let r = s
        .api(Method::PUT, &format!("{PATH}/{next}/revoke"), &admin, None)
        .await;
    assert_mgmt_error(&r, 409, "rotation_refused");
    assert_eq!(r.headers[REASON], "key_already_revoked", "{r:?}");
    // The token signed by the current key still works.
    assert_eq!(s.api(Method::GET, PATH, &admin, None).await.status, 200);
}

/// A server whose clock only moves when the test says so.
async fn clocked() -> (TestServer, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        alg: SigningAlg::ES256,
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    (s, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_then_revocation_of_the_previous_key() {
    let (s, clock) = clocked().await;
    let old_token = s.admin_token().await;
    let keys = s.api(Method::GET, PATH, &old_token, None).await.body;
    let keys = keys.as_array().unwrap().clone();
    let old_current = by_state(&keys, "current")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_next = by_state(&keys, "next")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(header_kid(&old_token), old_current);

    // 64 s after the next key appeared: still one second short of the JWKS
    // max-age (60 s) plus the reload interval (5 s).
    clock.advance(64);
    let r = s
        .api(Method::POST, &format!("{PATH}/rotate"), &old_token, None)
        .await;
    assert_mgmt_error(&r, 409, "rotation_refused");
    clock.advance(1);
    let r = s
        .api(Method::POST, &format!("{PATH}/rotate"), &old_token, None)
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    check_shape(&r.body);
    assert_eq!(r.body["kid"], old_next.as_str(), "{r:?}");
    assert_eq!(r.body["current"], true);
    assert_eq!(r.body["alg"], "ES256");
    assert!(is_rfc3339(&r.body["current_since"]), "{r:?}");
    assert_eq!(s.state.keys.current().signer().kid(), old_next);

    let after = s.api(Method::GET, PATH, &old_token, None).await;
    assert_eq!(
        after.status, 200,
        "the previous key still verifies: {after:?}"
    );
    let after = after.body.as_array().unwrap().clone();
    assert_eq!(after.len(), 3, "{after:?}");
    let previous = by_state(&after, "previous");
    assert_eq!(previous.len(), 1, "{after:?}");
    assert_eq!(previous[0]["kid"], old_current.as_str());
    assert_eq!(previous[0]["published"], true);
    assert!(is_rfc3339(&previous[0]["current_since"]), "{after:?}");
    assert!(is_rfc3339(&previous[0]["current_until"]), "{after:?}");
    let new_next = by_state(&after, "next")[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jwks_kids(&s.base).await,
        set(&[&old_current, &old_next, &new_next])
    );
    let new_token = s.admin_token().await;
    assert_eq!(header_kid(&new_token), old_next);

    // Revoking the previous key takes it out of the JWKS at once, and the
    // tokens it signed stop working.
    let r = s
        .api(
            Method::PUT,
            &format!("{PATH}/{old_current}/revoke"),
            &new_token,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["revoked"], true, "{r:?}");
    assert_eq!(r.body["published"], false, "{r:?}");
    assert!(is_rfc3339(&r.body["current_until"]), "{r:?}");
    assert_eq!(jwks_kids(&s.base).await, set(&[&old_next, &new_next]));
    assert_mgmt_error(
        &s.api(Method::GET, PATH, &old_token, None).await,
        401,
        "invalid_token",
    );
    assert_eq!(s.api(Method::GET, PATH, &new_token, None).await.status, 200);

    // The new current key cannot be revoked.
    let r = s
        .api(
            Method::PUT,
            &format!("{PATH}/{old_next}/revoke"),
            &new_token,
            None,
        )
        .await;
    assert_mgmt_error(&r, 409, "rotation_refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_signing_key_endpoints() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let paths = &r.body["paths"];
    for (path, method, scope, ok) in [
        ("/api/v2/keys/signing", "get", "read:signing_keys", "200"),
        (
            "/api/v2/keys/signing/{kid}",
            "get",
            "read:signing_keys",
            "200",
        ),
        (
            "/api/v2/keys/signing/rotate",
            "post",
            "create:signing_keys",
            "201",
        ),
        (
            "/api/v2/keys/signing/{kid}/revoke",
            "put",
            "update:signing_keys",
            "200",
        ),
    ] {
        let op = &paths[path][method];
        assert_eq!(
            op["security"][0]["bearer"][0], scope,
            "{method} {path}: {op}"
        );
        assert!(op["responses"][ok].is_object(), "{method} {path}: {op}");
    }
    assert!(paths["/api/v2/keys/signing/rotate"]["post"]["responses"]["409"].is_object());
    assert!(
        paths["/api/v2/keys/signing"]["get"]["description"]
            .as_str()
            .unwrap()
            .contains("cert"),
        "the missing cert/pkcs7 is documented"
    );
    let schema = &r.body["components"]["schemas"]["SigningKeyDto"]["properties"];
    for member in [
        "kid",
        "current",
        "next",
        "previous",
        "revoked",
        "current_since",
        "current_until",
        "revoked_at",
        "thumbprint",
        "fingerprint",
        "alg",
        "published",
    ] {
        assert!(schema[member].is_object(), "{member}: {schema}");
    }
    assert!(schema.get("cert").is_none());
}
