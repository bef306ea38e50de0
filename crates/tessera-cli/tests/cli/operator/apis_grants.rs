//! 10. Operator commands for APIs and client grants, on the server's storage.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn operator_apis_and_grants_work_on_the_stored_installation() {
    let sb = Sandbox::new();
    let t = Duration::from_secs(30);
    let secret = "operator-bootstrap-secret-0123456789-abcdefghij";
    let env = [
        ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", secret),
    ];
    let orders = "https://orders.example/";

    // No installation yet: a setting error, and nothing is created.
    for args in [
        &["apis", "list"][..],
        &["apis", "create", "--identifier", orders][..],
        &["grants", "create", "--client-id", "c", "--audience", orders][..],
    ] {
        let out = sb.run(args, &[], t).await;
        assert_setting_failure(&format!("{args:?}"), &out, "TESSERA_DATABASE_URL");
    }
    assert_eq!(std::fs::read_dir(sb.work()).unwrap().count(), 0);

    // A server creates the installation, then stops.
    let port = free_port();
    let server = Server::start(&sb, port, &env).await;
    let management_api = server.url("api/v2/");
    server.stop().await;

    // Usage errors: exit 2, naming the flag, before anything is opened.
    for (args, needle) in [
        (
            &["apis", "create", "--identifier", "has space"][..],
            "--identifier",
        ),
        (&["apis", "create", "--identifier", ""][..], "--identifier"),
        (
            &[
                "apis",
                "create",
                "--identifier",
                "urn:x",
                "--token-lifetime",
                "0",
            ][..],
            "--token-lifetime",
        ),
        (
            &[
                "apis",
                "create",
                "--identifier",
                "urn:x",
                "--token-lifetime",
                "2592001",
            ][..],
            "--token-lifetime",
        ),
        (
            &[
                "apis",
                "create",
                "--identifier",
                "urn:x",
                "--token-lifetime",
                "soon",
            ][..],
            "--token-lifetime",
        ),
        (
            &[
                "apis",
                "create",
                "--identifier",
                "urn:x",
                "--scope",
                "a",
                "--scope",
                "a",
            ][..],
            "listed twice",
        ),
        (
            &[
                "apis",
                "create",
                "--identifier",
                "urn:x",
                "--scope",
                "two words",
            ][..],
            "--scope",
        ),
        (&["apis", "create"][..], "--identifier"),
        (
            &["grants", "create", "--client-id", "ops-admin"][..],
            "--audience",
        ),
        (
            &["grants", "create", "--client-id", "", "--audience", orders][..],
            "--client-id",
        ),
    ] {
        let out = sb.run(args, &[], t).await;
        assert_cli_failure(&format!("{args:?}"), &out, 2, &[needle]);
    }

    // Create an API: JSON in the Management API's shape.
    let out = sb
        .run(
            &[
                "apis",
                "create",
                "--identifier",
                orders,
                "--name",
                "Orders",
                "--scope",
                "read:orders",
                "--scope",
                "write:orders",
                "--token-lifetime",
                "600",
                "--allow-offline-access",
                "--json",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let created: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(created["identifier"], orders, "{out:?}");
    assert_eq!(created["name"], "Orders");
    assert_eq!(created["token_lifetime"], 600);
    assert_eq!(created["allow_offline_access"], true);
    assert_eq!(created["signing_alg"], "RS256");
    assert_eq!(created["is_system"], false);
    assert_eq!(
        created["scopes"],
        serde_json::json!([
            { "value": "read:orders", "description": "" },
            { "value": "write:orders", "description": "" },
        ])
    );
    assert!(created["id"].as_str().is_some_and(|id| !id.is_empty()));

    // Human output, with defaults.
    let out = sb
        .run(&["apis", "create", "--identifier", "urn:plain"], &[], t)
        .await;
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("urn:plain"), "{out:?}");
    assert!(!out.stdout.trim_start().starts_with('{'), "{out:?}");

    // A duplicate identifier is a runtime failure that says so.
    let out = sb
        .run(
            &["apis", "create", "--identifier", orders, "--name", "Again"],
            &[],
            t,
        )
        .await;
    assert_cli_failure("duplicate API", &out, 1, &["already exists", orders]);

    let out = sb.run(&["apis", "list", "--json"], &[], t).await;
    assert!(out.status.success(), "{out:?}");
    let listed: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    let find = |identifier: &str| {
        listed
            .iter()
            .find(|a| a["identifier"] == identifier)
            .unwrap_or_else(|| panic!("{identifier} not listed: {listed:?}"))
            .clone()
    };
    assert_eq!(find(orders), created, "the duplicate changed nothing");
    assert_eq!(find(&management_api)["is_system"], true);
    assert_eq!(find("urn:plain")["name"], "urn:plain");
    assert_eq!(find("urn:plain")["token_lifetime"], 86400);
    let out = sb.run(&["apis", "list"], &[], t).await;
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("IDENTIFIER"), "{out:?}");
    assert!(
        out.stdout.contains(orders) && out.stdout.contains("urn:plain"),
        "{out:?}"
    );

    // Grant the bootstrap admin client read:orders on the new API.
    let grant_args = [
        "grants",
        "create",
        "--client-id",
        "ops-admin",
        "--audience",
        orders,
        "--scope",
        "read:orders",
        "--json",
    ];
    let out = sb.run(&grant_args, &[], t).await;
    assert!(out.status.success(), "{out:?}");
    let grant: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(grant["client_id"], "ops-admin");
    assert_eq!(grant["audience"], orders);
    assert_eq!(grant["scope"], serde_json::json!(["read:orders"]));
    assert!(
        grant["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{grant}"
    );

    let out = sb.run(&grant_args, &[], t).await;
    assert_cli_failure("duplicate grant", &out, 1, &["already has a grant", orders]);
    let out = sb
        .run(
            &[
                "grants",
                "create",
                "--client-id",
                "nobody",
                "--audience",
                orders,
            ],
            &[],
            t,
        )
        .await;
    assert_cli_failure("unknown client", &out, 1, &["nobody"]);
    let out = sb
        .run(
            &[
                "grants",
                "create",
                "--client-id",
                "ops-admin",
                "--audience",
                "urn:nowhere",
            ],
            &[],
            t,
        )
        .await;
    assert_cli_failure("unknown API", &out, 1, &["urn:nowhere"]);
    let out = sb
        .run(
            &[
                "grants",
                "create",
                "--client-id",
                "ops-admin",
                "--audience",
                "urn:plain",
                "--scope",
                "read:orders",
            ],
            &[],
            t,
        )
        .await;
    assert_cli_failure("undefined scope", &out, 1, &["read:orders", "urn:plain"]);

    // A restarted server issues the granted client a token for the new API.
    let server = Server::start(&sb, port, &env).await;
    let (status, body) = client_credentials(&server, "ops-admin", secret, orders, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 600, "{body}");
    assert_eq!(body["scope"], "read:orders", "{body}");
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], orders, "{claims}");
    assert_eq!(claims["scope"], "read:orders", "{claims}");
    assert_eq!(claims["sub"], "ops-admin@clients", "{claims}");
    // Only what was granted.
    let (status, body) =
        client_credentials(&server, "ops-admin", secret, orders, Some("write:orders")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_scope", "{body}");
    // urn:plain was not granted.
    let (status, body) = client_credentials(&server, "ops-admin", secret, "urn:plain", None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "access_denied", "{body}");

    // With the server running, the commands apply at once.
    let out = sb
        .run(
            &[
                "apis",
                "create",
                "--identifier",
                "urn:live",
                "--scope",
                "ping",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let out = sb
        .run(
            &[
                "grants",
                "create",
                "--client-id",
                "ops-admin",
                "--audience",
                "urn:live",
                "--scope",
                "ping",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("urn:live"), "{out:?}");
    let (status, body) = client_credentials(&server, "ops-admin", secret, "urn:live", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "ping", "{body}");
    server.stop().await;
}
