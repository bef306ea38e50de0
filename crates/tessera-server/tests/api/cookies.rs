//! Issue 9, point 6: cookie values are chosen by the server only, and https
//! issuers use `__Host-` cookies (Secure, `Path=/`, no `Domain`).

use reqwest::header::COOKIE;
use tessera_core::Issuer;

use crate::common::*;
use crate::hosted::*;

const PLANTED: &str = "attacker-chosen-value-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_transaction_cookie_is_replaced_and_cannot_complete_a_login() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    // The attacker's own account, which they want the victim logged in to.
    db_user(&s, "mallory@example.com").await;
    let c = bare();
    let tx = |value: &str| format!("tessera_tx={value}");

    // The attacker starts a login carrying the value they planted in the
    // victim's browser: the server does not adopt it, it sets its own.
    let res = c
        .get(authorize_url(&s, &web, &[]))
        .header(COOKIE, tx(PLANTED))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let issued = cookie_value(&set_cookie(&res, "tessera_tx").expect("a tessera_tx cookie"));
    assert_ne!(issued, PLANTED, "the server chose the value");
    assert!(issued.len() >= 43, "{issued}");
    let login_url = location(&res);

    // The attacker's form (seen with the server's value) ...
    let res = c
        .get(&login_url)
        .header(COOKIE, tx(&issued))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let (state, csrf) = (input_value(&html, "state"), input_value(&html, "csrf"));

    // ... does not work in the victim's browser, which holds the planted value:
    // neither the page nor the post (login CSRF) is accepted.
    let res = c
        .get(&login_url)
        .header(COOKIE, tx(PLANTED))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let post = |cookie: String| {
        c.post(s.url("u/login"))
            .header(COOKIE, cookie)
            .form(&[
                ("state", state.as_str()),
                ("csrf", &csrf),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
            ])
            .send()
    };
    let res = post(tx(PLANTED)).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, "tessera_session").is_none(), "no session");
    assert!(location(&res).is_empty(), "no redirect");

    // Only the browser holding the server's value completes it.
    let res = post(tx(&issued)).await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_the_server_issued_is_kept_so_two_tabs_can_log_in() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let first = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let res = b.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    let second = login_form(&b, &location(&res)).await;
    assert_ne!(first.state, second.state);
    // The first tab's form still works after the second tab started.
    let res = submit_login(&b, &s, &first, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));
}

/// The https issuer of the next test (the server listens on loopback http; the
/// routes are the same, only the issuer differs).
const HTTPS_ISSUER: &str = "https://id.example.test/";
const HTTPS_ISSUER_WITH_PATH: &str = "https://id.example.test/tenant-a/";

fn assert_host_cookie(line: &str, name: &str) {
    assert!(line.starts_with(&format!("{name}=")), "{line}");
    let attrs: Vec<&str> = line.split(';').map(str::trim).skip(1).collect();
    for needed in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(attrs.contains(&needed), "{needed} missing: {line}");
    }
    assert!(
        !attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "no Domain: {line}"
    );
}

/// Logs in through an https issuer and checks every cookie is `__Host-`;
/// `suffix` is the tag of the issuer's path in the names.
async fn host_cookies(s: TestServer, issuer: &str, suffix: &str) {
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let c = bare();
    let tx_name = format!("__Host-tessera_tx{suffix}");
    let session_name = format!("__Host-tessera_session{suffix}");

    let res = c.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let line = set_cookie(&res, &tx_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &tx_name);
    assert!(set_cookie(&res, "tessera_tx").is_none());
    let value = cookie_value(&line);
    let login_url = on_server(&s, issuer, &location(&res));

    // The bare name is not read on an https issuer.
    let res = c
        .get(&login_url)
        .header(COOKIE, format!("tessera_tx={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let cookie = format!("{tx_name}={value}");
    let res = c
        .get(&login_url)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let res = c
        .post(s.url("u/login"))
        .header(COOKIE, &cookie)
        .form(&[
            ("state", input_value(&html, "state").as_str()),
            ("csrf", &input_value(&html, "csrf")),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let line = set_cookie(&res, &session_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &session_name);
    assert!(location(&res).starts_with(CALLBACK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_issuers_use_host_prefixed_secure_cookies() {
    let s = start_opts(Options {
        configure: |c| c.issuer = Issuer::parse(HTTPS_ISSUER).unwrap(),
        ..Options::default()
    })
    .await;
    host_cookies(s, HTTPS_ISSUER, "").await;

    // An issuer with a path: still `__Host-` (so Path=/), its names tagged
    // with its path so issuers sharing a host keep their cookies apart.
    let s = start_opts(Options {
        issuer_path: "/tenant-a",
        configure: |c| c.issuer = Issuer::parse(HTTPS_ISSUER_WITH_PATH).unwrap(),
        ..Options::default()
    })
    .await;
    let digest = tessera_core::ids::sha256(b"/tenant-a/");
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    host_cookies(s, HTTPS_ISSUER_WITH_PATH, &format!("-{tag}")).await;
}
