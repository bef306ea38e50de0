//! Interop: Auth0's Node.js SDK (node-auth0, the `auth0` package, pinned)
//! drives `tessera serve` over HTTPS on loopback, with a certificate made for
//! the test and trusted through `NODE_EXTRA_CA_CERTS`. One script
//! (`tests/interop/node_auth0.js`) runs its steps in order: the password
//! grants, `database.signUp`, and `passwordless.sendEmail` +
//! `loginWithEmail` with the code this test reads from a loopback SMTP sink and
//! hands to the script through a file.

use std::process::Command;

use serde_json::json;

use crate::browser_kit::{must, node_modules, run};
use crate::common::*;
use crate::tls::{ADMIN_ID, ADMIN_SECRET, Pair, https_client, start};

const AUTH0_NODE: &str = "auth0@4.37.1";
const REALM: &str = "Username-Password-Authentication";
const EMAIL: &str = "katherine.johnson@example.com";
const PASSWORD: &str = "Trajectories-of-Friendship-7";
const API: &str = "https://orders.example/";
const SIGNUP_EMAIL: &str = "dorothy.vaughan@example.com";
const OTP_EMAIL: &str = "mary.jackson@example.com";
const OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// The port a started server listens on (its base URL's).
pub(crate) fn port_of(server: &Server) -> u16 {
    server
        .base()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn node_auth0_authentication_client_over_https() {
    let modules = tokio::task::spawn_blocking(|| node_modules(&[AUTH0_NODE]))
        .await
        .unwrap();
    let sb = Sandbox::new();
    let pair = Pair::new("node-auth0");
    // Every request logged, so the log check below means something.
    let sink = tessera_server::testing::SmtpSink::start().await;
    let smtp_url = sink.url();
    let server = start(
        &sb,
        &pair,
        &[
            ("TESSERA_LOG", "debug"),
            ("TESSERA_SMTP_URL", &smtp_url),
            ("TESSERA_EMAIL_FROM", "Tessera <no-reply@tessera.test>"),
        ],
    )
    .await;
    let port = port_of(&server);
    let http = https_client(port, &[&pair]).build().unwrap();
    let admin = management_token(&http, &server, ADMIN_ID, ADMIN_SECRET).await;
    let api = |path: &str| server.url(&format!("api/v2/{path}"));
    post_json(
        &http,
        &api("resource-servers"),
        &admin,
        json!({"identifier": API, "name": "Orders", "allow_offline_access": true,
               "scopes": [{"value": "read:orders", "description": "Read orders"}]}),
    )
    .await;
    post_json(
        &http,
        &api("users"),
        &admin,
        json!({"connection": REALM, "email": EMAIL, "password": PASSWORD}),
    )
    .await;
    let app = post_json(
        &http,
        &api("clients"),
        &admin,
        json!({"name": "node-auth0", "app_type": "regular_web",
               "grant_types": ["http://auth0.com/oauth/grant-type/password-realm", "refresh_token", OTP_GRANT]}),
    )
    .await;
    post_json(
        &http,
        &api("connections"),
        &admin,
        json!({"name": "email", "strategy": "email"}),
    )
    .await;
    // The script waits for the code in this file; the sink's mail fills it.
    let otp_file = sb.tmp.path().join("otp.txt");
    let code_writer = {
        let otp_file = otp_file.clone();
        tokio::spawn(async move {
            let mail = sink.wait_for(OTP_EMAIL).await;
            let code = mail.code().expect("a code in the mail");
            let partial = otp_file.with_extension("partial");
            std::fs::write(&partial, &code).unwrap();
            std::fs::rename(&partial, &otp_file).unwrap();
            code
        })
    };
    let ca = sb.tmp.path().join("ca.pem");
    std::fs::write(&ca, &pair.ca_pem).unwrap();
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let client_secret = app["client_secret"].as_str().unwrap().to_owned();
    let secret = client_secret.clone();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/node_auth0.js");
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg(script)
            .env("TESSERA_NODE_MODULES", &modules)
            .env("NODE_EXTRA_CA_CERTS", &ca)
            // The certificate names localhost; the server listens on 127.0.0.1.
            .env("NODE_OPTIONS", "--dns-result-order=ipv4first")
            .env("TESSERA_DOMAIN", format!("localhost:{port}"))
            .env("TESSERA_CLIENT_ID", client_id)
            .env("TESSERA_CLIENT_SECRET", client_secret)
            .env("TESSERA_REALM", REALM)
            .env("TESSERA_AUDIENCE", API)
            .env("TESSERA_EMAIL", EMAIL)
            .env("TESSERA_PASSWORD", PASSWORD)
            .env("TESSERA_SIGNUP_EMAIL", SIGNUP_EMAIL)
            .env("TESSERA_OTP_EMAIL", OTP_EMAIL)
            .env("TESSERA_OTP_FILE", &otp_file))
    })
    .await
    .unwrap();
    must("node tests/interop/node_auth0.js (needs Node.js)", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    for step in [
        "ok database.signUp\n",
        "ok database.signUp with an existing email",
        "ok passwordless.sendEmail and loginWithEmail",
        "ok loginWithEmail with the used code",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    let log = server.stderr();
    assert!(log.contains("response"), "requests were logged: {log}");
    let code = code_writer.await.unwrap();
    for value in [
        PASSWORD,
        "not the password",
        secret.as_str(),
        code.as_str(),
        OTP_EMAIL,
    ] {
        assert!(!log.contains(value), "a secret reached a log line");
    }
    assert!(!log.contains("eyJ"), "a token reached a log line");
    server.stop().await;
}
