//! Interop (issue 13): `private_key_jwt` with an independent JOSE library.
//! node-auth0 (pinned) signs client assertions with its own `jose` from a
//! `clientAssertionSigningKey` (RS256 and ES256), and `jose` (pinned) makes the
//! assertions that must be refused: a replay, a wrong `aud`, an expired one,
//! `exp` too far, `alg: none`, HS256 keyed with the public key, another key.
//! Over HTTPS on loopback, as node-auth0 requires.

use std::process::Command;

use serde_json::json;

use crate::browser_kit::{must, node_modules, run};
use crate::common::*;
use crate::tls::{ADMIN_ID, ADMIN_SECRET, Pair, https_client, start};

const AUTH0_NODE: &str = "auth0@4.37.1";
const JOSE: &str = "jose@4.15.9";
const API: &str = "https://inventory.example/";

#[tokio::test(flavor = "multi_thread")]
async fn node_auth0_signs_client_assertions_and_jose_forgeries_are_refused() {
    let modules = tokio::task::spawn_blocking(|| node_modules(&[AUTH0_NODE, JOSE]))
        .await
        .unwrap();
    let sb = Sandbox::new();
    let pair = Pair::new("private-key-jwt");
    let server = start(&sb, &pair, &[("TESSERA_LOG", "debug")]).await;
    let port = server.port();
    let http = https_client(port, &[&pair]).build().unwrap();
    let admin = management_token(&http, &server, ADMIN_ID, ADMIN_SECRET).await;
    let api = |path: &str| server.url(&format!("api/v2/{path}"));
    post_json(
        &http,
        &api("resource-servers"),
        &admin,
        json!({"identifier": API, "name": "Inventory",
               "scopes": [{"value": "read:stock", "description": "Read stock"}]}),
    )
    .await;
    let mut clients = Vec::new();
    for name in ["rsa machine", "ec machine"] {
        let app = post_json(
            &http,
            &api("clients"),
            &admin,
            json!({"name": name, "app_type": "non_interactive"}),
        )
        .await;
        let id = app["client_id"].as_str().unwrap().to_owned();
        post_json(
            &http,
            &api("client-grants"),
            &admin,
            json!({"client_id": id, "audience": API, "scope": ["read:stock"]}),
        )
        .await;
        clients.push(id);
    }
    let ca = sb.tmp.path().join("ca.pem");
    std::fs::write(&ca, &pair.ca_pem).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/private_key_jwt.js");
    let (rsa, ec) = (clients[0].clone(), clients[1].clone());
    let token = admin.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg(script)
            .env("TESSERA_NODE_MODULES", &modules)
            .env("NODE_EXTRA_CA_CERTS", &ca)
            .env("NODE_OPTIONS", "--dns-result-order=ipv4first")
            .env("TESSERA_DOMAIN", format!("localhost:{port}"))
            .env("TESSERA_ADMIN_TOKEN", token)
            .env("TESSERA_RSA_CLIENT", rsa)
            .env("TESSERA_EC_CLIENT", ec)
            .env("TESSERA_AUDIENCE", API))
    })
    .await
    .unwrap();
    must(
        "node tests/interop/private_key_jwt.js (needs Node.js)",
        &out,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    for step in [
        "ok node-auth0 clientCredentialsGrant with an RS256 clientAssertionSigningKey",
        "ok node-auth0 clientCredentialsGrant with an ES256 clientAssertionSigningKey",
        "ok a jose assertion with the kid, then replayed",
        "ok jose assertions that must be refused",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    let log = server.stderr();
    assert!(log.contains("response"), "requests were logged");
    assert!(
        !log.contains("eyJ"),
        "an assertion or token reached a log line"
    );
    server.stop().await;
}
