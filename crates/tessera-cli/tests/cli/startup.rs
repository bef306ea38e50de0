//! Command line, settings, first start, restarts, the master key, PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use tessera_core::envelope::MasterKey;

use crate::common::*;

// ---------------------------------------------------------------------------
// 1. Command line
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn help_version_and_unknown_subcommand() {
    let sb = Sandbox::new();
    let t = Duration::from_secs(30);

    let help = sb.run(&["--help"], &[], t).await;
    assert!(help.status.success(), "{help:?}");
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.contains(&"serve"), "{help:?}");
    assert!(commands.contains(&"keys"), "{help:?}");

    let keys_help = sb.run(&["keys", "--help"], &[], t).await;
    assert!(keys_help.status.success(), "{keys_help:?}");
    for sub in ["list", "rotate", "revoke"] {
        assert!(keys_help.stdout.contains(sub), "{keys_help:?}");
    }

    let version = sb.run(&["--version"], &[], t).await;
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        version.stdout.trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );

    let unknown = sb.run(&["frobnicate"], &[], t).await;
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(unknown.stdout.is_empty(), "{unknown:?}");
    assert!(unknown.stderr.contains("frobnicate"), "{unknown:?}");

    let nothing = sb.run(&[], &[], t).await;
    assert_eq!(nothing.status.code(), Some(2), "{nothing:?}");

    // None of that touched the working directory.
    assert_eq!(std::fs::read_dir(sb.work()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// 2. Bad settings
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_setting_exits_2_with_one_line_naming_it() {
    // A parent that is a regular file: the database cannot be created under it.
    let holder = Sandbox::new();
    let afile = holder.work().join("afile");
    std::fs::write(&afile, b"not a directory").unwrap();
    let under_file = format!("sqlite://{}", afile.join("x.db").display());

    let env_cases: Vec<(&str, &str, &str)> = vec![
        ("TESSERA_SIGNING_ALG", "HS256", "TESSERA_SIGNING_ALG"),
        ("TESSERA_ISSUER", "not-a-url", "TESSERA_ISSUER"),
        ("TESSERA_ISSUER", "http://id.example.com/", "TESSERA_ISSUER"),
        (
            "TESSERA_DATABASE_URL",
            "postgres://tessera@127.0.0.1:1/nope",
            "TESSERA_DATABASE_URL",
        ),
        (
            "TESSERA_DATABASE_URL",
            "sqlite:///proc/forbidden/x.db",
            "TESSERA_DATABASE_URL",
        ),
        (
            "TESSERA_DATABASE_URL",
            under_file.as_str(),
            "TESSERA_DATABASE_URL",
        ),
        ("TESSERA_MASTER_KEY", "not-base64!!", "TESSERA_MASTER_KEY"),
        // Plain SMTP only to loopback; the password is never echoed.
        (
            "TESSERA_SMTP_URL",
            "smtp://mailer:hunter2@mail.example.com:25",
            "TESSERA_SMTP_URL",
        ),
    ];
    for (name, value, needle) in env_cases {
        let sb = Sandbox::new();
        let port = free_port().to_string();
        let listen = format!("127.0.0.1:{port}");
        let mut env = vec![("TESSERA_LISTEN", listen.as_str()), (name, value)];
        if name != "TESSERA_ISSUER" {
            env.push(("TESSERA_ISSUER", "http://127.0.0.1:9/"));
        }
        let out = sb.run(&["serve"], &env, Duration::from_secs(30)).await;
        let case = format!("{name}={value}");
        assert_setting_failure(&case, &out, needle);
        if name == "TESSERA_SMTP_URL" {
            assert!(!out.stderr.contains("hunter2"), "{case}: {out:?}");
        }
        if name == "TESSERA_MASTER_KEY" {
            assert!(
                !out.stderr.contains(value) && !out.stderr.contains("not-base64"),
                "{case}: the secret value is echoed: {out:?}"
            );
        }
        // Rejected before anything was created.
        if name != "TESSERA_DATABASE_URL" {
            assert!(
                !sb.work().join("tessera.db").exists() && !sb.key_file().exists(),
                "{case}: files created despite the bad setting"
            );
        }
    }
    assert_eq!(std::fs::read(&afile).unwrap(), b"not a directory");

    // The TOML file: malformed, then an unknown key.
    let toml_cases: &[(&str, &str)] = &[
        ("issuer = \"https://unterminated\nlisten = ", "--config"),
        ("isuer = \"https://typo.example/\"\n", "isuer"),
    ];
    for (text, needle) in toml_cases {
        let sb = Sandbox::new();
        let file = sb.tmp.path().join("tessera.toml");
        std::fs::write(&file, text).unwrap();
        let path = file.to_string_lossy().to_string();
        let listen = format!("127.0.0.1:{}", free_port());
        let out = sb
            .run(
                &["--config", &path, "serve"],
                &[("TESSERA_LISTEN", &listen)],
                Duration::from_secs(30),
            )
            .await;
        assert_setting_failure(&format!("config {text:?}"), &out, needle);
    }
}

// ---------------------------------------------------------------------------
// 3. First start and restart on SQLite
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn first_start_creates_keys_and_prints_the_admin_secret_once() {
    let sb = Sandbox::new();
    let port = free_port();
    let server = Server::start(&sb, port, &[]).await;

    // The generated admin application, on stdout, once.
    let stdout = server.stdout();
    let field = |name: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let ids = field("client_id:");
    let secrets = field("client_secret:");
    assert_eq!(ids.len(), 1, "client_id once on stdout: {stdout:?}");
    assert_eq!(secrets.len(), 1, "client_secret once on stdout: {stdout:?}");
    let (client_id, secret) = (ids[0].clone(), secrets[0].clone());
    assert!(!client_id.is_empty(), "{stdout:?}");
    assert!(secret.len() >= 32, "a short generated secret: {stdout:?}");
    assert_eq!(stdout.matches(secret.as_str()).count(), 1, "{stdout:?}");
    assert!(!server.stderr().contains(&secret), "secret in the logs");

    // The master key file, owner-only; the database too.
    assert!(sb.key_file().exists(), "no {KEY_FILE} in the working dir");
    #[cfg(unix)]
    {
        assert_eq!(mode(&sb.key_file()), 0o600, "{KEY_FILE} mode");
        assert_eq!(
            mode(&sb.work().join("tessera.db")),
            0o600,
            "tessera.db mode"
        );
    }

    // Discovery and JWKS.
    let issuer = format!("http://127.0.0.1:{port}/");
    let discovery = get_json(&server.url(".well-known/openid-configuration")).await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    let jwks_uri = discovery["jwks_uri"].as_str().expect("jwks_uri").to_owned();
    assert!(jwks_uri.starts_with(&issuer), "{jwks_uri}");
    let doc = get_json(&jwks_uri).await;
    let keys = jwks(&server).await;
    assert_eq!(doc["keys"].as_array().unwrap().len(), keys.len());
    assert_eq!(keys.len(), 2, "current + next: {keys:?}");
    for key in &keys {
        assert_eq!(key["kty"], "RSA", "{key}");
        assert_eq!(key["alg"], "RS256", "{key}");
    }
    let first: Vec<String> = kids(&keys);
    assert_ne!(first[0], first[1]);

    // Restart in the same directory.
    server.stop().await;
    let raw = raw_sqlite_bytes(&sb);
    assert!(
        !contains(&raw, secret.as_bytes()),
        "the admin client secret is stored in clear"
    );
    let server = Server::start(&sb, port, &[]).await;
    let again = kids(&jwks(&server).await);
    assert_eq!(
        first.iter().collect::<BTreeSet<_>>(),
        again.iter().collect::<BTreeSet<_>>(),
        "the kids changed across a restart"
    );
    let stdout2 = server.stdout();
    assert!(
        !stdout2.contains("client_secret") && !stdout2.contains(&secret),
        "the second start printed a secret: {stdout2:?}"
    );
    assert!(!server.stderr().contains(&secret));

    // `keys list` sees the same keys: the first one is current, the other next.
    let listed = sb.key_list(&[]).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let state_of = |kid: &str| {
        listed
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, s, p)| (s.clone(), *p))
    };
    assert_eq!(
        state_of(&first[0]),
        Some(("current".into(), true)),
        "{listed:?}"
    );
    assert_eq!(
        state_of(&first[1]),
        Some(("next".into(), true)),
        "{listed:?}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 4. The master key
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn another_or_missing_master_key_is_refused_and_nothing_is_replaced() {
    let sb = Sandbox::new();
    let port = free_port();
    let server = Server::start(&sb, port, &[]).await;
    let original: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    server.stop().await;
    let key_text = std::fs::read_to_string(sb.key_file()).unwrap();

    // A valid key, but not this database's.
    let (_, other) = MasterKey::generate().unwrap();
    let other: String = other.to_string();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{port}/");
    let base_env = [
        ("TESSERA_LISTEN", listen.as_str()),
        ("TESSERA_ISSUER", issuer.as_str()),
    ];
    let mut env = base_env.to_vec();
    env.push(("TESSERA_MASTER_KEY", &other));
    let out = sb.run(&["serve"], &env, Duration::from_secs(30)).await;
    assert_setting_failure("another master key", &out, "TESSERA_MASTER_KEY");
    assert!(out.stderr.contains("master key"), "{out:?}");
    assert!(!out.stderr.contains(&other), "the key is echoed: {out:?}");
    assert!(!out.stderr.contains(key_text.trim()), "the key is echoed");
    // `keys list` refuses it the same way.
    let out = sb
        .keys(&["list", "--json"], &[("TESSERA_MASTER_KEY", &other)])
        .await;
    assert_setting_failure("keys list, another master key", &out, "TESSERA_MASTER_KEY");

    // Nothing was replaced: the original key file still opens the original keys.
    assert_eq!(std::fs::read_to_string(sb.key_file()).unwrap(), key_text);
    let listed: BTreeSet<String> = sb.key_list(&[]).await.into_iter().map(|k| k.0).collect();
    assert_eq!(listed, original);

    // The key file is gone: refused, naming the file, and no new one is made.
    std::fs::remove_file(sb.key_file()).unwrap();
    let out = sb.run(&["serve"], &base_env, Duration::from_secs(30)).await;
    assert_setting_failure("missing key file", &out, KEY_FILE);
    assert!(out.stderr.contains("master key"), "{out:?}");
    assert!(
        !sb.key_file().exists(),
        "a new master key file was created over an initialised database"
    );
    let out = sb.keys(&["list"], &[]).await;
    assert_setting_failure("keys list, missing key file", &out, KEY_FILE);
    assert!(!sb.key_file().exists());

    // Restored, everything is as it was.
    std::fs::write(sb.key_file(), &key_text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(sb.key_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let server = Server::start(&sb, port, &[]).await;
    let after: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    assert_eq!(after, original);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 5. PostgreSQL
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_the_keys_on_postgres() {
    let Some(url) = tessera_store::testing::fresh_postgres_database().await else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let env = [("TESSERA_DATABASE_URL", url.as_str())];
    let server = Server::start(&sb, port, &env).await;
    let issuer = format!("http://127.0.0.1:{port}/");
    let discovery = get_json(&server.url(".well-known/openid-configuration")).await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    let first = kids(&jwks(&server).await);
    assert_eq!(first.len(), 2, "current + next: {first:?}");
    assert!(
        server.stdout().contains("client_secret"),
        "first start on an empty PostgreSQL database generates the admin client"
    );
    server.stop().await;
    assert!(
        sb.key_file().exists(),
        "the key file goes to the working dir"
    );
    assert!(
        !sb.work().join("tessera.db").exists(),
        "a SQLite file appeared"
    );
    #[cfg(unix)]
    assert_eq!(mode(&sb.key_file()), 0o600);

    let server = Server::start(&sb, port, &env).await;
    let again = kids(&jwks(&server).await);
    assert_eq!(
        first.iter().collect::<BTreeSet<_>>(),
        again.iter().collect::<BTreeSet<_>>()
    );
    assert!(!server.stdout().contains("client_secret"));
    let listed = sb.key_list(&env).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.contains(&(first[0].clone(), "current".into(), true)),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(first[1].clone(), "next".into(), true)),
        "{listed:?}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 9. A given admin client
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn given_bootstrap_client_prints_no_secret() {
    let sb = Sandbox::new();
    let secret = "given-bootstrap-secret-0123456789-abcdefghij";
    let env = [
        ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", secret),
    ];

    // Too short a secret is a setting error that does not echo it.
    let short = "short-secret";
    let listen = format!("127.0.0.1:{}", free_port());
    let out = sb
        .run(
            &["serve"],
            &[
                ("TESSERA_LISTEN", &listen),
                ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
                ("TESSERA_BOOTSTRAP_CLIENT_SECRET", short),
            ],
            Duration::from_secs(30),
        )
        .await;
    assert_setting_failure("short secret", &out, "TESSERA_BOOTSTRAP_CLIENT_SECRET");
    assert!(!out.stderr.contains(short), "{out:?}");

    let port = free_port();
    let server = Server::start(&sb, port, &env).await;
    let stdout = server.stdout();
    assert!(
        !stdout.contains("client_secret") && !stdout.contains(secret),
        "a secret was printed although one was given: {stdout:?}"
    );
    assert!(!server.stderr().contains(secret));
    assert_eq!(jwks(&server).await.len(), 2);
    server.stop().await;
    let raw = raw_sqlite_bytes(&sb);
    assert!(
        !contains(&raw, secret.as_bytes()),
        "the given client secret is stored in clear"
    );

    let server = Server::start(&sb, port, &env).await;
    assert!(!server.stdout().contains("client_secret"));
    server.stop().await;
}

/// Operator commands never create an installation, and a start that cannot
/// listen creates nothing (so the one-time admin secret is never shown in vain).
#[tokio::test(flavor = "multi_thread")]
async fn commands_that_fail_create_nothing() {
    let sb = Sandbox::new();
    for args in [&["list"][..], &["rotate"][..], &["revoke", "some-kid"][..]] {
        let out = sb.keys(args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "keys {args:?}: {out:?}");
        assert!(out.stderr.contains("TESSERA_DATABASE_URL"), "{out:?}");
    }
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupied.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{port}/");
    let out = sb
        .run(
            &["serve"],
            &[("TESSERA_LISTEN", &listen), ("TESSERA_ISSUER", &issuer)],
            EXIT_TIMEOUT,
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("TESSERA_LISTEN"), "{out:?}");
    assert!(!out.stdout.contains("client_secret"), "{out:?}");
    let left: Vec<_> = std::fs::read_dir(sb.work())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "nothing may be created: {left:?}");
}
