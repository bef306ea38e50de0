//! The settings' defaults, bounds and messages.

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load(None, &move |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

#[test]
fn defaults() {
    let s = load(&[]).unwrap();
    assert_eq!(s.issuer.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.database_url.expose(), "sqlite://./tessera.db");
    assert_eq!(s.signing_alg, SigningAlg::RS256);
    assert!(
        matches!(&s.master_key, MasterKeySource::File { path, explicit: false } if path == Path::new("./tessera.master.key"))
    );
    assert!(s.bootstrap.is_none());
    assert_eq!(s.tenant_name, "Tessera");
    assert_eq!(s.tenant_logo_url, None);
    assert_eq!(s.session_lifetime, 604_800);
    assert_eq!(s.brute_force_threshold, 10);
    assert_eq!(s.brute_force_block, 900);
    assert_eq!(s.default_directory, "Username-Password-Authentication");
    assert_eq!(s.rate_limit, 600);
    assert_eq!(s.log_retention_days, 30);
    assert!(!s.audit_log_stdout);
    assert!(!s.upstream_allow_loopback_http, "off unless asked for");
    assert_eq!(s.header_read_timeout, 10);
    assert_eq!(s.max_connections, 512);
    assert_eq!(s.tls, None);
    assert!(s.smtp.is_none());
}

#[test]
fn smtp_settings() {
    let s = load(&[
        ("TESSERA_SMTP_URL", "smtps://u:p@mail.example"),
        ("TESSERA_EMAIL_FROM", "Acme <no-reply@acme.example>"),
    ])
    .unwrap();
    let (url, from) = s.smtp.unwrap();
    assert_eq!((url.host.as_str(), url.port), ("mail.example", 465));
    assert_eq!(from.email.to_string(), "no-reply@acme.example");
    for (vars, setting) in [
        (
            &[("TESSERA_SMTP_URL", "smtp://mail.example:25")][..],
            "TESSERA_SMTP_URL",
        ),
        (
            &[("TESSERA_SMTP_URL", "smtps://h")][..],
            "TESSERA_EMAIL_FROM",
        ),
        (
            &[
                ("TESSERA_SMTP_URL", "smtps://h"),
                ("TESSERA_EMAIL_FROM", "nope"),
            ][..],
            "TESSERA_EMAIL_FROM",
        ),
    ] {
        let e = load(vars).err().unwrap();
        assert_eq!(e.setting, setting, "{vars:?}");
    }
    // The URL's password is never echoed.
    let e = load(&[("TESSERA_SMTP_URL", "smtp://u:hunter2@mail.example")])
        .err()
        .unwrap();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn tls_files_come_in_pairs() {
    let s = load(&[
        ("TESSERA_TLS_CERT_FILE", "/etc/tessera/chain.pem"),
        ("TESSERA_TLS_KEY_FILE", " /etc/tessera/key.pem "),
    ])
    .unwrap();
    let tls = s.tls.unwrap();
    assert_eq!(tls.cert, Path::new("/etc/tessera/chain.pem"));
    assert_eq!(tls.key, Path::new("/etc/tessera/key.pem"));
    let s = load(&[("TESSERA_TLS_CERT_FILE", ""), ("TESSERA_TLS_KEY_FILE", "")]).unwrap();
    assert_eq!(s.tls, None, "empty values count as unset");
}

#[test]
fn login_settings() {
    let s = load(&[
        ("TESSERA_TENANT_NAME", " Acme Corp "),
        ("TESSERA_TENANT_LOGO_URL", "https://cdn.example/logo.png"),
        ("TESSERA_SESSION_LIFETIME", "3600"),
        ("TESSERA_BRUTE_FORCE_THRESHOLD", "3"),
        ("TESSERA_BRUTE_FORCE_BLOCK", "60"),
        ("TESSERA_RATE_LIMIT", "0"),
        ("TESSERA_LOG_RETENTION_DAYS", "7"),
        ("TESSERA_AUDIT_LOG", "stdout"),
        ("TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP", "on"),
    ])
    .unwrap();
    assert_eq!(s.tenant_name, "Acme Corp");
    assert_eq!(
        s.tenant_logo_url.as_deref(),
        Some("https://cdn.example/logo.png")
    );
    assert_eq!(s.session_lifetime, 3600);
    assert_eq!(s.brute_force_threshold, 3);
    assert_eq!(s.brute_force_block, 60);
    assert_eq!(s.rate_limit, 0);
    assert_eq!(s.log_retention_days, 7);
    assert!(s.audit_log_stdout);
    assert!(s.upstream_allow_loopback_http);
}

#[test]
fn each_problem_names_its_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("TESSERA_SIGNING_ALG", "HS256")], "TESSERA_SIGNING_ALG"),
        (
            &[("TESSERA_ISSUER", "http://id.example.com/")],
            "TESSERA_ISSUER",
        ),
        (&[("TESSERA_ISSUER", "::nope")], "TESSERA_ISSUER"),
        (&[("TESSERA_LISTEN", "localhost")], "TESSERA_LISTEN"),
        (
            &[("TESSERA_DATABASE_URL", "mysql://x")],
            "TESSERA_DATABASE_URL",
        ),
        (&[("TESSERA_MASTER_KEY", "abc")], "TESSERA_MASTER_KEY"),
        (
            &[("TESSERA_BOOTSTRAP_CLIENT_ID", "admin")],
            "TESSERA_BOOTSTRAP_CLIENT_SECRET",
        ),
        (
            &[
                ("TESSERA_BOOTSTRAP_CLIENT_ID", "admin"),
                ("TESSERA_BOOTSTRAP_CLIENT_SECRET", "short"),
            ],
            "TESSERA_BOOTSTRAP_CLIENT_SECRET",
        ),
        (&[("TESSERA_JWKS_MAX_AGE", "-1")], "TESSERA_JWKS_MAX_AGE"),
        (&[("TESSERA_LOG_FORMAT", "xml")], "TESSERA_LOG_FORMAT"),
        (&[("TESSERA_TENANT_NAME", "  ")], "TESSERA_TENANT_NAME"),
        (
            &[("TESSERA_TENANT_LOGO_URL", "http://cdn.example/logo.png")],
            "TESSERA_TENANT_LOGO_URL",
        ),
        (
            &[("TESSERA_TENANT_LOGO_URL", "logo.png")],
            "TESSERA_TENANT_LOGO_URL",
        ),
        (
            &[("TESSERA_SESSION_LIFETIME", "10")],
            "TESSERA_SESSION_LIFETIME",
        ),
        (
            &[("TESSERA_BRUTE_FORCE_THRESHOLD", "0")],
            "TESSERA_BRUTE_FORCE_THRESHOLD",
        ),
        (
            &[("TESSERA_BRUTE_FORCE_BLOCK", "86401")],
            "TESSERA_BRUTE_FORCE_BLOCK",
        ),
        (&[("TESSERA_RATE_LIMIT", "many")], "TESSERA_RATE_LIMIT"),
        (
            &[("TESSERA_LOG_RETENTION_DAYS", "0")],
            "TESSERA_LOG_RETENTION_DAYS",
        ),
        (&[("TESSERA_AUDIT_LOG", "file")], "TESSERA_AUDIT_LOG"),
        (
            &[("TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP", "yes")],
            "TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP",
        ),
        (
            &[("TESSERA_HEADER_READ_TIMEOUT", "0")],
            "TESSERA_HEADER_READ_TIMEOUT",
        ),
        (
            &[("TESSERA_MAX_CONNECTIONS", "0")],
            "TESSERA_MAX_CONNECTIONS",
        ),
        (
            &[("TESSERA_TLS_CERT_FILE", "cert.pem")],
            "TESSERA_TLS_KEY_FILE",
        ),
        (
            &[
                ("TESSERA_TLS_CERT_FILE", " "),
                ("TESSERA_TLS_KEY_FILE", "key.pem"),
            ],
            "TESSERA_TLS_CERT_FILE",
        ),
    ];
    for (vars, setting) in cases {
        let err = load(vars)
            .err()
            .unwrap_or_else(|| panic!("{vars:?} should fail"));
        assert_eq!(err.setting, *setting, "{vars:?}: {err}");
        assert!(!err.to_string().contains('\n'));
    }
}

#[test]
fn secrets_are_not_echoed() {
    let err = load(&[("TESSERA_MASTER_KEY", "hunter2-is-my-master-key")])
        .err()
        .unwrap();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = load(&[
        ("TESSERA_BOOTSTRAP_CLIENT_ID", "a"),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", "tiny-secret"),
    ])
    .err()
    .unwrap();
    assert!(!err.to_string().contains("tiny-secret"), "{err}");
}

#[test]
fn environment_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.toml");
    std::fs::write(
        &file,
        "issuer = \"https://file.example/\"\nsigning_alg = \"ES256\"\njwks_max_age = 60\n",
    )
    .unwrap();
    let env = |name: &str| (name == "TESSERA_ISSUER").then(|| "https://env.example".to_string());
    let s = Settings::load(Some(&file), &env).unwrap();
    assert_eq!(s.issuer.as_str(), "https://env.example/");
    assert_eq!(s.signing_alg, SigningAlg::ES256);
    assert_eq!(s.jwks_max_age, 60);

    std::fs::write(&file, "isuer = \"https://typo.example/\"\n").unwrap();
    let err = Settings::load(Some(&file), &|_| None).err().unwrap();
    assert!(err.setting.starts_with("isuer"), "{err}");
    std::fs::write(&file, "signing_alg = \"XX\"\n").unwrap();
    let err = Settings::load(Some(&file), &|_| None).err().unwrap();
    assert!(err.setting.starts_with("TESSERA_SIGNING_ALG (in "), "{err}");
}
