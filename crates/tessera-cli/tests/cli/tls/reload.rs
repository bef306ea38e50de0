//! Certificate rotation without a restart: on SIGHUP and on a change of the
//! files, new connections get the new certificate, open ones keep working, the
//! process and its listener stay; a bad pair is logged and the old one stays.

use std::time::Duration;

use super::*;

/// Time allowed for a reload to show (the files are looked at every 2 s).
const RELOAD: Duration = Duration::from_secs(10);

/// The certificate a new connection gets (a new client: no pooled connection).
async fn new_connection_gets(server: &Server, trusted: &[&Pair]) -> Vec<u8> {
    let client = https_client(server.port, trusted).build().unwrap();
    let res = client.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    served_by(&res)
}

fn assert_still_running(server: &mut Server) {
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited; stderr: {}",
        server.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_rotate_on_sighup_and_on_change() {
    let sb = Sandbox::new();
    // Each pair with its key in another PEM form.
    let a = Pair::with("A", KeyFormat::Pkcs8);
    let b = Pair::with("B", KeyFormat::Sec1);
    let c = Pair::with("C", KeyFormat::Pkcs1);
    assert!(b.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(c.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let mut server = start(
        &sb,
        &a,
        &[
            ("TESSERA_LOG", "info,sqlx=warn"),
            // The connection opened before the swap stays open meanwhile.
            ("TESSERA_HEADER_READ_TIMEOUT", "60"),
        ],
    )
    .await;
    let pid = server.child.id();
    let all = [&a, &b, &c];
    assert_eq!(new_connection_gets(&server, &all).await, a.cert_der);

    // A connection opened with certificate A.
    let before = https_client(server.port, &all).build().unwrap();
    let res = before.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(served_by(&res), a.cert_der);

    // B on disk, then SIGHUP: new connections get B.
    b.write(sb.tmp.path());
    server.signal("HUP");
    eventually("certificate B after SIGHUP", RELOAD, || async {
        new_connection_gets(&server, &all).await == b.cert_der
    })
    .await;
    assert!(
        server.stderr().contains("trigger=\"SIGHUP\""),
        "the reload on SIGHUP was logged: {}",
        server.stderr()
    );
    // The earlier connection is still served, still with A.
    let res = before.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(served_by(&res), a.cert_der, "the same connection");
    // A client trusting only B's CA now connects.
    assert_eq!(new_connection_gets(&server, &[&b]).await, b.cert_der);
    assert_still_running(&mut server);

    // C on disk, no signal: the change is noticed.
    c.write(sb.tmp.path());
    eventually("certificate C after the files changed", RELOAD, || async {
        new_connection_gets(&server, &all).await == c.cert_der
    })
    .await;
    assert!(
        server.stderr().contains("trigger=\"file change\""),
        "{}",
        server.stderr()
    );
    assert_still_running(&mut server);
    assert_eq!(server.child.id(), pid);
    assert!(!server.stderr().contains("ERROR"), "{}", server.stderr());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_pair_on_reload_keeps_the_old_certificate() {
    let sb = Sandbox::new();
    let (a, b) = (Pair::new("A"), Pair::new("B"));
    let mut server = start(&sb, &a, &[]).await;
    let all = [&a, &b];

    // B's certificate with A's key: refused, logged, A still served.
    std::fs::write(cert_file(&sb), &b.cert_pem).unwrap();
    server.signal("HUP");
    let key = key_file(&sb).display().to_string();
    eventually("an error line about the mismatch", RELOAD, || async {
        server
            .stderr()
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("does not match") && l.contains(&key))
    })
    .await;
    assert_eq!(new_connection_gets(&server, &all).await, a.cert_der);

    // Garbage in the key file: the same (the change is also seen on disk).
    std::fs::write(key_file(&sb), "-----BEGIN PRIVATE KEY-----\nnot base64!\n").unwrap();
    server.signal("HUP");
    eventually("an error line about the bad key", RELOAD, || async {
        server
            .stderr()
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("not valid PEM") && l.contains(&key))
    })
    .await;
    assert!(!server.stderr().contains("not base64!"), "content echoed");
    assert_eq!(new_connection_gets(&server, &all).await, a.cert_der);
    assert_still_running(&mut server);

    // Once the pair is whole again, it is served.
    b.write(sb.tmp.path());
    server.signal("HUP");
    eventually("certificate B once the pair is whole", RELOAD, || async {
        new_connection_gets(&server, &all).await == b.cert_der
    })
    .await;
    server.stop().await;
}
