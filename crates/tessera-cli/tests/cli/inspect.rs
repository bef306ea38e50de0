//! `tessera token inspect` against tokens of a running `tessera serve`.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Outcome, Sandbox, Server, base64, free_port, management_token};

const ADMIN: &str = "inspect-admin";
const SECRET: &str = "inspect-bootstrap-secret-0123456789-abcdefghij";

async fn inspect(sb: &Sandbox, args: &[&str]) -> Outcome {
    let mut all = vec!["token", "inspect"];
    all.extend_from_slice(args);
    sb.run(&all, &[], Duration::from_secs(30)).await
}

/// `token inspect -` with `input` on standard input.
fn inspect_stdin(sb: &Sandbox, args: &[&str], input: &str) -> Outcome {
    let mut all = vec!["token", "inspect", "-"];
    all.extend_from_slice(args);
    let mut child = sb
        .command(&all, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Outcome {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_of(out: &Outcome) -> Value {
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}): {out:?}"))
}

/// The token with its payload replaced by `claims` (the signature kept).
fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = base64(claims.to_string().as_bytes(), true);
    format!("{}.{payload}.{}", parts[0], parts[2])
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let text = part.replace('-', "+").replace('_', "/");
    serde_json::from_slice(&crate::common::unbase64(&text)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_explains_tokens_of_a_running_server() {
    let sb = Sandbox::new();
    let env = [
        ("TESSERA_BOOTSTRAP_CLIENT_ID", ADMIN),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", SECRET),
    ];
    let server = Server::start(&sb, free_port(), &env).await;
    let issuer = server.base();
    let management = server.url("api/v2/");
    let token = management_token(&reqwest::Client::new(), &server, ADMIN, SECRET).await;

    // Valid for the Management API: exit 0, and the kind is named.
    let out = inspect(
        &sb,
        &[&token, "--issuer", &issuer, "--audience", &management],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Management API token"), "{out:?}");
    assert!(out.stdout.contains("Valid"), "{out:?}");
    assert!(!out.stdout.contains("\x1b["), "no colour off a terminal");

    // Another API: exit 1, and the reason names both audiences.
    let other = "https://other.example/";
    let out = inspect(&sb, &[&token, "--issuer", &issuer, "--audience", other]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("audience is"))
        .unwrap_or_else(|| panic!("no audience reason: {out:?}"));
    assert!(line.contains(&management) && line.contains(other), "{line}");

    // Tampered: the signature fails, and the expiry found in the claims is
    // listed as well (several reasons).
    let mut claims = payload(&token);
    claims["exp"] = Value::from(claims["iat"].as_i64().unwrap() - 14 * 60);
    let tampered = with_claims(&token, &claims);
    let out = inspect(
        &sb,
        &[
            &tampered,
            "--issuer",
            &issuer,
            "--audience",
            other,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["valid"], false);
    let reasons: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("signature")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("expired 14 minutes ago")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("audience is") && r.contains(other)),
        "{reasons:?}"
    );

    // `-` reads standard input (a trailing line break is fine).
    let out = inspect_stdin(
        &sb,
        &["--issuer", &issuer, "--audience", &management],
        &format!("{token}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Management API token"), "{out:?}");

    // --json: {kind, header, claims, valid, reasons}.
    let out = inspect(
        &sb,
        &[
            &token,
            "--issuer",
            &issuer,
            "--audience",
            &management,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["kind"], "management_api_token", "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["reasons"], Value::Array(vec![]), "{v}");
    assert_eq!(v["header"]["typ"], "at+jwt", "{v}");
    assert!(v["header"]["kid"].is_string(), "{v}");
    assert_eq!(v["claims"]["aud"], management.as_str(), "{v}");
    assert_eq!(v["claims"]["iss"], issuer.as_str(), "{v}");

    // Without an audience: signature, issuer and expiry only.
    let out = inspect(&sb, &[&token, "--issuer", &issuer]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // As an application would: an access token is not an ID token.
    let out = inspect(
        &sb,
        &[&token, "--issuer", &issuer, "--client-id", ADMIN, "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("not an ID token")),
        "{v}"
    );

    // An ID token (crafted from the server's header, so the signature fails
    // too) sent to an API: named as such.
    let id_claims = serde_json::json!({
        "iss": issuer, "sub": "auth0|ada", "aud": "some-app", "nonce": "n",
        "iat": claims["iat"], "exp": claims["iat"].as_i64().unwrap() + 3600,
    });
    let parts: Vec<&str> = token.split('.').collect();
    let header = base64(br#"{"alg":"RS256","typ":"JWT","kid":"nope"}"#, true);
    let id_token = format!(
        "{header}.{}.{}",
        base64(id_claims.to_string().as_bytes(), true),
        parts[2]
    );
    let out = inspect(
        &sb,
        &[&id_token, "--issuer", &issuer, "--audience", &management],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains("Kind: ID token"), "{out:?}");
    assert!(
        out.stdout
            .contains("this is an ID token for client some-app; an API must not accept ID tokens"),
        "{out:?}"
    );
    assert!(out.stdout.contains("unknown kid"), "{out:?}");

    // A token that is not a JWT: opaque.
    let out = inspect(&sb, &["aB3dE6gH9jK2mN5pQ8rS", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json_of(&out)["kind"], "opaque");
    let out = inspect(&sb, &["aB3dE6gH9jK2mN5pQ8rS"]).await;
    assert!(out.stdout.contains("opaque"), "{out:?}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_usage_errors_exit_2() {
    let sb = Sandbox::new();
    let t = Duration::from_secs(30);
    for (args, needle) in [
        (&["token", "inspect"][..], "TOKEN"),
        (&["token", "inspect", ""][..], "TOKEN"),
        (&["token", "inspect", "   "][..], "TOKEN"),
        (
            &["token", "inspect", "a.b.c", "--issuer", "not a url"][..],
            "--issuer",
        ),
        (&["token", "inspect", "a.b.c", "--bogus"][..], "--bogus"),
        (
            &[
                "token",
                "inspect",
                "a.b.c",
                "--audience",
                "x",
                "--client-id",
                "y",
            ][..],
            "--audience",
        ),
    ] {
        let out = sb.run(args, &[], t).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out:?}");
    }
    // Empty standard input.
    let out = inspect_stdin(&sb, &[], "\n");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("TOKEN"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_without_an_issuer_checks_only_the_claims() {
    let sb = Sandbox::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = base64(br#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#, true);
    let claims = serde_json::json!({
        "iss": "https://tessera.example/", "sub": "svc@clients", "aud": "https://a.example/",
        "iat": now - 3600, "exp": now - 14 * 60 - 30, "gty": "client-credentials",
        "client_id": "svc", "scope": "read:a",
    });
    let token = format!(
        "{header}.{}.c2ln",
        base64(claims.to_string().as_bytes(), true)
    );
    let out = inspect(&sb, &[&token, "--audience", "https://b.example/"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains("machine-to-machine token"), "{out:?}");
    assert!(out.stdout.contains("expired 14 minutes ago"), "{out:?}");
    assert!(
        out.stdout
            .contains("audience is https://a.example/, not https://b.example/"),
        "{out:?}"
    );
    assert!(out.stdout.contains("signature NOT checked"), "{out:?}");
}
