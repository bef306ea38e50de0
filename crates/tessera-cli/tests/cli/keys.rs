//! Private keys at rest; rotation and revocation through the CLI.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_core::store::KeyStore;

use crate::common::*;

// ---------------------------------------------------------------------------
// 6. Private keys at rest
// ---------------------------------------------------------------------------

async fn private_keys_are_sealed_at_rest(alg: &str) {
    let sb = Sandbox::new();
    let server = Server::start(&sb, free_port(), &[("TESSERA_SIGNING_ALG", alg)]).await;
    let published = jwks(&server).await;
    assert_eq!(published.len(), 2);
    for key in &published {
        assert_eq!(key["alg"], alg, "{key}");
    }
    server.stop().await;

    // Copy the bytes while nothing has the database open.
    let raw = raw_sqlite_bytes(&sb);
    let key_text = std::fs::read_to_string(sb.key_file()).unwrap();
    let master = MasterKey::parse(&key_text).unwrap();

    let store = tessera_store::SqlStore::open(&sb.sqlite_url())
        .await
        .unwrap();
    let records = store.list_signing_keys().await.unwrap();
    store.close().await;
    assert_eq!(records.len(), 2, "{records:?}");
    let signing_alg: SigningAlg = alg.parse().unwrap();

    for record in &records {
        let kid = &record.kid;
        let der = master
            .open(&format!("signing_key:{kid}"), &record.sealed_private_key)
            .unwrap_or_else(|e| panic!("{alg} {kid}: cannot open the sealed key: {e}"));
        // It really is this key's private half.
        let parsed = SigningKey::from_pkcs8(signing_alg, &der).unwrap();
        assert_eq!(parsed.kid(), kid.as_str());

        let mut needles: Vec<(String, Vec<u8>)> = vec![
            ("the PKCS#8 DER".into(), der.to_vec()),
            ("base64 DER".into(), base64(&der, false).into_bytes()),
            ("base64url DER".into(), base64(&der, true).into_bytes()),
            ("hex DER".into(), hex(&der).into_bytes()),
            ("HEX DER".into(), hex(&der).to_uppercase().into_bytes()),
            ("PEM label".into(), b"PRIVATE KEY".to_vec()),
        ];
        // Windows over the private part (for the short EC/Ed25519 encodings the
        // scalar or seed starts at offset 16 or 36; RSA's private members follow
        // the modulus well after offset 40).
        let mut offset = 16;
        while offset + 24 <= der.len() {
            needles.push((
                format!("DER bytes {offset}..{}", offset + 24),
                der[offset..offset + 24].to_vec(),
            ));
            offset += 24;
        }
        for (what, needle) in &needles {
            assert!(
                !contains(&raw, needle),
                "{alg} {kid}: {what} is in the database files in clear"
            );
        }
        // Control: the scan does find what is stored in clear (the public JWK).
        let jwk = published
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("{kid} not in the JWKS"));
        let public = jwk["n"].as_str().or(jwk["x"].as_str()).expect("n or x");
        assert!(
            contains(&raw, public.as_bytes()),
            "control: the public key of {kid} was not found in the database bytes"
        );
    }

    // The master key itself is not in the database either.
    let master_raw = unbase64(&key_text);
    assert_eq!(master_raw.len(), 32);
    assert!(
        !contains(&raw, &master_raw),
        "raw master key in the database"
    );
    assert!(
        !contains(&raw, key_text.trim().as_bytes()),
        "encoded master key in the database"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("RS256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn es256_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("ES256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eddsa_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("EdDSA").await;
}

// ---------------------------------------------------------------------------
// 7. Rotation and revocation through the CLI, seen by a running server
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn cli_rotation_and_revocation_reach_the_running_server() {
    let sb = Sandbox::new();
    let fast = [
        ("TESSERA_JWKS_MAX_AGE", "0"),
        ("TESSERA_KEY_RELOAD_INTERVAL", "1"),
    ];
    let server = Server::start(&sb, free_port(), &fast).await;
    let before = sb.key_list(&[]).await;
    let find = |list: &[(String, String, bool)], state: &str| -> String {
        let found: Vec<&String> = list
            .iter()
            .filter(|(_, s, _)| s == state)
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(found.len(), 1, "one {state} key: {list:?}");
        found[0].clone()
    };
    let old_current = find(&before, "current");
    let old_next = find(&before, "next");

    // With the default policy the next key is too new to sign.
    let refused = sb.keys(&["rotate"], &[]).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains(&old_next) || refused.stderr.contains("published"),
        "{refused:?}"
    );
    assert_eq!(
        sb.key_list(&[]).await,
        before,
        "a refused rotation changed keys"
    );

    // With a zero JWKS max-age and a 1 s reload interval it may after 1 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rotated = sb.keys(&["rotate", "--json"], &fast).await;
    assert!(rotated.status.success(), "{rotated:?}");
    let promoted: Value = serde_json::from_str(rotated.stdout.trim()).unwrap();
    assert_eq!(promoted["kid"], old_next.as_str(), "{rotated:?}");
    assert_eq!(promoted["state"], "current", "{rotated:?}");

    let after = sb.key_list(&fast).await;
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(find(&after, "current"), old_next);
    assert_eq!(find(&after, "previous"), old_current);
    let new_next = find(&after, "next");
    assert!(new_next != old_current && new_next != old_next);
    assert!(
        after.iter().all(|(_, _, published)| *published),
        "{after:?}"
    );

    let want: BTreeSet<String> = [&old_current, &old_next, &new_next]
        .into_iter()
        .cloned()
        .collect();
    wait_for_jwks(&server, Duration::from_secs(3), "the rotated set", |k| {
        *k == want
    })
    .await;

    // Revoking the previous key takes it out of the JWKS.
    let revoked = sb.keys(&["revoke", &old_current, "--json"], &fast).await;
    assert!(revoked.status.success(), "{revoked:?}");
    let record: Value = serde_json::from_str(revoked.stdout.trim()).unwrap();
    assert_eq!(record["state"], "revoked", "{revoked:?}");
    let want: BTreeSet<String> = [&old_next, &new_next].into_iter().cloned().collect();
    wait_for_jwks(&server, Duration::from_secs(3), "the revocation", |k| {
        *k == want
    })
    .await;

    // The current key cannot be revoked.
    let refused = sb.keys(&["revoke", &old_next], &fast).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stderr.contains(&old_next), "{refused:?}");
    // An unknown kid neither.
    let unknown = sb.keys(&["revoke", "no-such-kid"], &fast).await;
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    // A kid may begin with `-` (base64url): it is an argument, not a flag
    // (clap's usage error would exit 2).
    let dashed = sb.keys(&["revoke", "-no-such-kid"], &fast).await;
    assert_eq!(dashed.status.code(), Some(1), "{dashed:?}");

    let last = sb.key_list(&fast).await;
    assert_eq!(find(&last, "current"), old_next);
    assert_eq!(find(&last, "revoked"), old_current);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let now: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    assert_eq!(now, want, "the refused revocation changed the JWKS");
    server.stop().await;
}
