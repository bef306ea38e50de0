//! TLS settings that cannot be served: one line naming the setting, exit code
//! 2, nothing created, no file content echoed.

use std::time::Duration;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn bad_tls_settings_are_one_line_and_exit_2() {
    let sb = Sandbox::new();
    let (a, b) = (Pair::new("A"), Pair::new("B"));
    let dir = sb.tmp.path();
    let file = |name: &str, content: &str| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let (cert_a, key_a) = (file("a.crt", &a.cert_pem), file("a.key", &a.key_pem));
    let key_b = file("b.key", &b.key_pem);
    let garbage = file("garbage.pem", "this is not PEM at all\n");
    let secret_line = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
    let bad_base64 = file(
        "bad.key",
        &format!("-----BEGIN PRIVATE KEY-----\n{secret_line}!!\n-----END PRIVATE KEY-----\n"),
    );
    let unterminated = file(
        "cut.crt",
        &a.cert_pem[..a.cert_pem.find("-----END").unwrap()],
    );
    let missing = dir.join("missing.pem").display().to_string();

    const CERT: &str = "TESSERA_TLS_CERT_FILE";
    const KEY: &str = "TESSERA_TLS_KEY_FILE";
    let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
        ("only the certificate", Some(&cert_a), None, KEY),
        ("only the key", None, Some(&key_a), CERT),
        (
            "a missing certificate file",
            Some(&missing),
            Some(&key_a),
            CERT,
        ),
        ("a missing key file", Some(&cert_a), Some(&missing), KEY),
        (
            "garbage for a certificate",
            Some(&garbage),
            Some(&key_a),
            CERT,
        ),
        ("garbage for a key", Some(&cert_a), Some(&garbage), KEY),
        (
            "the key file given as both",
            Some(&key_a),
            Some(&key_a),
            CERT,
        ),
        (
            "the certificate given as both",
            Some(&cert_a),
            Some(&cert_a),
            KEY,
        ),
        (
            "a key that is not base64",
            Some(&cert_a),
            Some(&bad_base64),
            KEY,
        ),
        (
            "a certificate cut short",
            Some(&unterminated),
            Some(&key_a),
            CERT,
        ),
        (
            "a key of another certificate",
            Some(&cert_a),
            Some(&key_b),
            KEY,
        ),
    ];
    for (case, cert, key, setting) in cases {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut env = vec![("TESSERA_LISTEN", listen.as_str())];
        if let Some(cert) = cert {
            env.push((CERT, cert));
        }
        if let Some(key) = key {
            env.push((KEY, key));
        }
        let out = sb.run(&["serve"], &env, Duration::from_secs(30)).await;
        assert_setting_failure(case, &out, &format!("invalid setting {setting}"));
        assert!(!out.stderr.contains(secret_line), "{case}: {out:?}");
    }
    assert!(
        !sb.work().join("tessera.db").exists(),
        "a refused start created the database"
    );
    assert!(
        !sb.key_file().exists(),
        "a refused start created a key file"
    );
}
