//! 11. Operator commands for clients and users, on the server's storage.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::common::*;

/// Runs a command with `input` on its standard input (closed after it).
async fn run_with_stdin(sb: &Sandbox, args: &[&str], input: &[u8], timeout: Duration) -> Outcome {
    use std::io::Write;
    use std::process::Stdio;
    let (out, err) = sb.log_files();
    let mut child = sb
        .command(args, &[])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        // The command may exit before reading (a usage error): ignore EPIPE.
        let _ = stdin.write_all(input);
    }
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tessera {args:?} still running after {timeout:?}; stderr: {}",
                read(&err)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Outcome {
        status,
        stdout: read(&out),
        stderr: read(&err),
    }
}

/// The value after `label` on a line of the human output.
fn labelled(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {label:?} line in {stdout:?}"))
}

async fn bearer_get(server: &Server, token: &str, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `clients list --json`, which must succeed and never carry a secret.
async fn clients_listed(sb: &Sandbox, secrets: &[&str]) -> Vec<Value> {
    let out = sb
        .run(&["clients", "list", "--json"], &[], Duration::from_secs(30))
        .await;
    assert!(out.status.success(), "{out:?}");
    for secret in secrets {
        assert!(!out.stdout.contains(secret), "a secret listed: {out:?}");
    }
    let listed: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let listed = listed.as_array().unwrap().clone();
    for c in &listed {
        assert!(c.get("client_secret").is_none(), "a secret listed: {c}");
    }
    listed
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_clients_and_users_work_on_the_stored_installation() {
    let sb = Sandbox::new();
    let t = Duration::from_secs(30);
    let admin_secret = "operator-users-bootstrap-secret-0123456789-abcdef";
    let env = [
        ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", admin_secret),
    ];
    let password = "Opal-Harbor-7391-swift-lantern";

    // No installation yet: a setting error, and nothing is created.
    for args in [
        &["clients", "list"][..],
        &["clients", "create", "--name", "x"][..],
        &["users", "list"][..],
    ] {
        let out = sb.run(args, &[], t).await;
        assert_setting_failure(&format!("{args:?}"), &out, "TESSERA_DATABASE_URL");
    }
    let out = run_with_stdin(
        &sb,
        &[
            "users",
            "create",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        password.as_bytes(),
        t,
    )
    .await;
    assert_setting_failure("users create", &out, "TESSERA_DATABASE_URL");
    assert_eq!(std::fs::read_dir(sb.work()).unwrap().count(), 0);

    // A server creates the installation, then stops.
    let port = free_port();
    let server = Server::start(&sb, port, &env).await;
    let management_api = server.url("api/v2/");
    server.stop().await;

    // A machine-to-machine client: its id and its secret, shown once.
    let out = sb
        .run(
            &[
                "clients",
                "create",
                "--name",
                "Billing worker",
                "--app-type",
                "non_interactive",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let m2m_id = labelled(&out.stdout, "client_id:");
    let m2m_secret = labelled(&out.stdout, "client_secret:");
    assert_eq!(m2m_id.len(), 32, "{out:?}");
    assert!(m2m_secret.len() >= 43, "{out:?}");
    assert!(out.stdout.contains("only"), "say it is shown once: {out:?}");

    // Listed, without any secret (nor the bootstrap client's).
    let listed = clients_listed(&sb, &[&m2m_secret, admin_secret]).await;
    let m2m = listed
        .iter()
        .find(|c| c["client_id"] == m2m_id.as_str())
        .unwrap_or_else(|| panic!("{m2m_id} not listed: {listed:?}"));
    assert_eq!(m2m["name"], "Billing worker");
    assert_eq!(m2m["app_type"], "non_interactive");
    assert_eq!(m2m["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        m2m["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(m2m["is_first_party"], true);
    assert!(
        listed.iter().any(|c| c["client_id"] == "ops-admin"),
        "{listed:?}"
    );
    let out = sb.run(&["clients", "list"], &[], t).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(&m2m_id) && out.stdout.contains("Billing worker"),
        "{out:?}"
    );
    assert!(!out.stdout.contains(&m2m_secret), "{out:?}");

    // A single-page app: public, so no secret and auth method none.
    let out = sb
        .run(
            &[
                "clients",
                "create",
                "--name",
                "Storefront",
                "--app-type",
                "spa",
                "--callback",
                "http://localhost:3000/callback",
                "--web-origin",
                "http://localhost:3000",
                "--allowed-origin",
                "https://widgets.example",
                "--logout-url",
                "https://shop.example/bye",
                "--third-party",
                "--json",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let spa: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(spa["token_endpoint_auth_method"], "none", "{spa}");
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert_eq!(
        spa["grant_types"],
        serde_json::json!(["implicit", "authorization_code", "refresh_token"])
    );
    assert_eq!(
        spa["callbacks"],
        serde_json::json!(["http://localhost:3000/callback"])
    );
    assert_eq!(
        spa["web_origins"],
        serde_json::json!(["http://localhost:3000"])
    );
    assert_eq!(
        spa["allowed_origins"],
        serde_json::json!(["https://widgets.example"])
    );
    assert_eq!(
        spa["allowed_logout_urls"],
        serde_json::json!(["https://shop.example/bye"])
    );
    assert_eq!(spa["is_first_party"], false);
    assert_eq!(spa["refresh_token"]["leeway"], 30, "spa defaults: {spa}");
    let out = sb
        .run(
            &[
                "clients",
                "create",
                "--name",
                "Phone",
                "--app-type",
                "native",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains("client_secret:"), "{out:?}");

    // Invalid clients: exit 1 naming the property, and nothing is stored.
    for (args, needles) in [
        (
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--callback",
                "http://evil.example/cb",
            ][..],
            &["callbacks", "--callback", "https"][..],
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--app-type",
                "spa",
                "--grant-type",
                "client_credentials",
            ][..],
            &["grant_types", "client_credentials"][..],
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--app-type",
                "non_interactive",
                "--auth-method",
                "none",
            ][..],
            &["grant_types", "public client"][..],
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--web-origin",
                "https://shop.example/path",
            ][..],
            &["web_origins", "--web-origin"][..],
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--allowed-origin",
                "http://widgets.example",
            ][..],
            &["allowed_origins", "--allowed-origin", "https"][..],
        ),
        (
            &["clients", "create", "--name", "<b>Bad</b>"][..],
            &["name", "--name"][..],
        ),
    ] {
        let out = sb.run(args, &[], t).await;
        assert_cli_failure(&format!("{args:?}"), &out, 1, needles);
    }
    // Usage errors: exit 2.
    for (args, needle) in [
        (&["clients", "create"][..], "--name"),
        (
            &["clients", "create", "--name", "x", "--app-type", "desktop"][..],
            "--app-type",
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "x",
                "--grant-type",
                "http://auth0.com/oauth/legacy/grant-type/ro",
            ][..],
            "--grant-type",
        ),
    ] {
        let out = sb.run(args, &[], t).await;
        assert_cli_failure(&format!("{args:?}"), &out, 2, &[needle]);
    }
    assert_eq!(
        clients_listed(&sb, &[&m2m_secret]).await.len(),
        4,
        "bootstrap, Billing worker, Storefront, Phone and nothing else"
    );

    // A user, with the password on standard input (and a line break, as echo adds).
    let create_user = [
        "users",
        "create",
        "--email",
        "Jane.Doe@Example.com",
        "--name",
        "Jane Doe",
        "--given-name",
        "Jane",
        "--family-name",
        "Doe",
        "--email-verified",
        "--password-stdin",
        "--json",
    ];
    let out = run_with_stdin(&sb, &create_user, format!("{password}\n").as_bytes(), t).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        !out.stdout.contains(password) && !out.stderr.contains(password),
        "{out:?}"
    );
    let jane: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let jane_id = jane["user_id"].as_str().unwrap().to_owned();
    assert!(
        jane_id.starts_with("auth0|") && jane_id.len() == 30,
        "{jane}"
    );
    assert_eq!(jane["email"], "jane.doe@example.com", "{jane}");
    assert_eq!(jane["email_verified"], true);
    assert_eq!(jane["name"], "Jane Doe");
    assert_eq!(jane["given_name"], "Jane");
    assert_eq!(jane["family_name"], "Doe");
    assert_eq!(jane["nickname"], "jane.doe");
    assert_eq!(
        jane["identities"][0]["connection"],
        "Username-Password-Authentication"
    );
    for key in ["password", "password_hash"] {
        assert!(jane.get(key).is_none(), "{jane}");
    }

    // The same email in another case: a duplicate, exit 1 saying so.
    let mut again = create_user;
    again[3] = "JANE.DOE@example.COM";
    let out = run_with_stdin(&sb, &again, b"another-long-password", t).await;
    assert_cli_failure(
        "duplicate user",
        &out,
        1,
        &["already has a user", "jane.doe@example.com"],
    );
    // A 3-character password: exit 1 naming the policy.
    let weak = [
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--password-stdin",
    ];
    let out = run_with_stdin(&sb, &weak, b"q7z", t).await;
    assert_cli_failure("weak password", &out, 1, &["password policy", "at least 8"]);
    assert!(!out.stderr.contains("q7z"), "{out:?}");
    // No such connection; a bad email: exit 1 naming the property.
    let out = run_with_stdin(
        &sb,
        &[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--connection",
            "nowhere",
            "--password-stdin",
        ],
        password.as_bytes(),
        t,
    )
    .await;
    assert_cli_failure("unknown connection", &out, 1, &["--connection", "nowhere"]);
    let out = run_with_stdin(
        &sb,
        &["users", "create", "--email", "bob@", "--password-stdin"],
        password.as_bytes(),
        t,
    )
    .await;
    assert_cli_failure("bad email", &out, 1, &["--email"]);
    // Usage errors: no password on stdin, a password as an argument, no flag.
    let out = run_with_stdin(&sb, &weak, b"", t).await;
    assert_cli_failure("empty stdin", &out, 2, &["--password-stdin"]);
    let out = run_with_stdin(
        &sb,
        &[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--password",
            password,
        ],
        b"",
        t,
    )
    .await;
    assert_cli_failure("password argument", &out, 2, &["--password"]);
    assert!(!out.stderr.contains(password), "{out:?}");
    let out = run_with_stdin(
        &sb,
        &["users", "create", "--email", "bob@example.com"],
        password.as_bytes(),
        t,
    )
    .await;
    assert_cli_failure("no --password-stdin", &out, 2, &["--password-stdin"]);
    for (args, needle) in [
        (&["users", "list", "--per-page", "0"][..], "--per-page"),
        (&["users", "list", "--per-page", "101"][..], "--per-page"),
        (&["users", "list", "--page=-1"][..], "--page"),
        (&["users", "list", "--page", "100001"][..], "--page"),
        (&["users", "list", "--email", "jane"][..], "--email"),
    ] {
        let out = sb.run(args, &[], t).await;
        assert_cli_failure(&format!("{args:?}"), &out, 2, &[needle]);
    }

    // users list finds her by email, in any case; nobody else was created.
    let out = sb
        .run(
            &["users", "list", "--json", "--email", "JANE.doe@example.com"],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let found: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["users"][0]["user_id"], jane_id.as_str(), "{found}");
    assert_eq!(found["users"][0], jane, "listed as created");
    let out = sb
        .run(
            &["users", "list", "--json", "--email", "nobody@example.com"],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let none: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(none["total"], 0, "{none}");
    assert_eq!(none["users"], serde_json::json!([]));
    let out = sb.run(&["users", "list", "--json"], &[], t).await;
    let all: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(all["total"], 1, "the refused users were not stored: {all}");
    let out = sb.run(&["users", "list"], &[], t).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(&jane_id) && out.stdout.contains("jane.doe@example.com"),
        "{out:?}"
    );

    // Stored as an argon2id hash of exactly the piped password, never in clear.
    let raw = raw_sqlite_bytes(&sb);
    assert!(
        !contains(&raw, password.as_bytes()),
        "the password is in the database in clear"
    );
    assert!(
        !contains(&raw, m2m_secret.as_bytes()),
        "the client secret is in the database in clear"
    );
    {
        use tessera_core::store::UserStore;
        let store = tessera_store::SqlStore::open(&sb.sqlite_url())
            .await
            .unwrap();
        let (user, hash) = store
            .find_user_for_login("Username-Password-Authentication", "jane.doe@example.com")
            .await
            .unwrap()
            .expect("the user is stored");
        store.close().await;
        assert_eq!(user.user_id, jane_id);
        let hash = hash.expect("a password hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let secret = |s: String| tessera_core::Secret::new(s);
        assert!(tessera_core::password::verify(
            &secret(password.to_owned()),
            &hash
        ));
        assert!(!tessera_core::password::verify(
            &secret(format!("{password}\n")),
            &hash
        ));
    }

    // A restarted server: the new client, once granted the Management API, gets
    // a token with its secret and finds the user the CLI created.
    let out = sb
        .run(
            &[
                "grants",
                "create",
                "--client-id",
                &m2m_id,
                "--audience",
                &management_api,
                "--scope",
                "read:users",
            ],
            &[],
            t,
        )
        .await;
    assert!(out.status.success(), "{out:?}");
    let server = Server::start(&sb, port, &env).await;
    let (status, body) =
        client_credentials(&server, &m2m_id, &m2m_secret, &management_api, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read:users", "{body}");
    let m2m_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_claims(&m2m_token)["sub"], format!("{m2m_id}@clients"));
    let (status, body) =
        client_credentials(&server, &m2m_id, "not-the-secret", &management_api, None).await;
    assert_eq!(status, 401, "{body}");

    let (status, body) =
        client_credentials(&server, "ops-admin", admin_secret, &management_api, None).await;
    assert_eq!(status, 200, "{body}");
    let admin_token = body["access_token"].as_str().unwrap().to_owned();
    for token in [&admin_token, &m2m_token] {
        let (status, body) = bearer_get(
            &server,
            token,
            "api/v2/users-by-email?email=Jane.Doe%40example.com",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let users = body.as_array().unwrap();
        assert_eq!(users.len(), 1, "{body}");
        assert_eq!(users[0]["user_id"], jane_id.as_str());
        assert_eq!(users[0]["email"], "jane.doe@example.com");
        assert_eq!(users[0]["name"], "Jane Doe");
        assert_eq!(users[0]["email_verified"], true);
        assert_eq!(users[0]["identities"], jane["identities"]);
    }
    // The server sees the clients the CLI made, with the same defaults.
    let (status, body) = bearer_get(
        &server,
        &admin_token,
        &format!("api/v2/clients/{}", spa["client_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "token_endpoint_auth_method",
        "grant_types",
        "callbacks",
        "refresh_token",
        "jwt_configuration",
        "is_first_party",
    ] {
        assert_eq!(body[key], spa[key], "{key}: {body}");
    }
    server.stop().await;
}
