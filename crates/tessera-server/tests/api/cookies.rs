//! Issue 9, point 6: cookie values are chosen by the server only — every
//! `/authorize` mints a fresh transaction value under a name specific to the
//! request, never adopting or echoing one the browser sent — and https issuers
//! use `__Host-` cookies (Secure, `Path=/`, no `Domain`).

use reqwest::header::COOKIE;
use tessera_core::Issuer;

use crate::common::*;
use crate::hosted::*;

/// The transaction cookie a response sets (name, value): exactly one.
fn the_tx_cookie(res: &reqwest::Response) -> (String, String) {
    let lines: Vec<String> = set_cookies(res)
        .into_iter()
        .filter(|l| l.starts_with("tessera_tx"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (name, _) = lines[0].split_once('=').unwrap();
    (name.to_owned(), cookie_value(&lines[0]))
}

/// Is `line` the deletion of cookie `name`?
fn is_cleared(line: Option<String>, name: &str) -> bool {
    line.is_some_and(|l| l.starts_with(&format!("{name}=")) && l.contains("Max-Age=0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_transaction_cookie_even_one_the_server_issued_is_never_adopted() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    // The attacker's own account, which they want the victim logged in to.
    db_user(&s, "mallory@example.com").await;
    let c = bare();

    // Anyone gets a value this server issued by calling /authorize: the attacker
    // does, and plants it in the victim's browser.
    let res = c.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let (earlier_name, planted) = the_tx_cookie(&res);
    assert_eq!(earlier_name, tx_cookie_name(&state_of(&location(&res))));

    // The attacker starts the login they want the victim to finish, carrying the
    // planted value under every name they know: the server binds the request to
    // a fresh value of its own, under the new request's name, and never sends
    // the planted value back.
    let carrying = format!("tessera_tx={planted}; {earlier_name}={planted}");
    let res = c
        .get(authorize_url(&s, &web, &[]))
        .header(COOKIE, &carrying)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let login_url = location(&res);
    let name = tx_cookie_name(&state_of(&login_url));
    assert_ne!(name, earlier_name, "one name per request");
    assert!(
        set_cookies(&res).iter().all(|l| !l.contains(&planted)),
        "the planted value is never echoed: {:?}",
        set_cookies(&res)
    );
    let (set_name, issued) = the_tx_cookie(&res);
    assert_eq!(set_name, name);
    assert_ne!(issued, planted, "the server chose the value");
    assert!(issued.len() >= 43, "{issued}");

    // The attacker's form (seen with the server's value) ...
    let res = c
        .get(&login_url)
        .header(COOKIE, format!("{name}={issued}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let (state, csrf) = (input_value(&html, "state"), input_value(&html, "csrf"));

    // ... does not work in the victim's browser, which holds the planted value
    // under every name — even the name of the attacker's new request, learnt
    // after starting it: neither the page nor the post (login CSRF) is accepted.
    let victim = format!("tessera_tx={planted}; {earlier_name}={planted}; {name}={planted}");
    let res = c
        .get(&login_url)
        .header(COOKIE, &victim)
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
    let res = post(victim.clone()).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, "tessera_session").is_none(), "no session");
    assert!(location(&res).is_empty(), "no redirect");

    // Only the browser holding the server's fresh value completes it (a shadowing
    // cookie of the same name does not lock it out), and the finished request's
    // cookie is cleared.
    let res = post(format!("{name}={planted}; {name}={issued}"))
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));
    assert!(
        is_cleared(set_cookie(&res, &name), &name),
        "{:?}",
        set_cookies(&res)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_in_one_browser_can_both_log_in() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let first = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let res = b.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    let (second_name, _) = the_tx_cookie(&res);
    let second = login_form(&b, &location(&res)).await;
    assert_ne!(first.state, second.state);
    let first_name = tx_cookie_name(&first.state);
    assert_ne!(first_name, second_name, "each tab has its own cookie");
    // The first tab's form still works after the second tab started; finishing
    // clears the first tab's cookie only.
    let res = submit_login(&b, &s, &first, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));
    assert!(location(&res).contains("code="));
    assert!(is_cleared(set_cookie(&res, &first_name), &first_name));
    assert!(set_cookie(&res, &second_name).is_none());
    // And so does the second tab's.
    let res = submit_login(&b, &s, &second, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("code="));
    assert!(is_cleared(set_cookie(&res, &second_name), &second_name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_or_finished_leaves_no_transaction_cookie() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    let (third, _) = web_app(&s, false).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let no_tx_cookie = |res: &reqwest::Response| {
        set_cookies(res)
            .iter()
            .all(|l| !l.starts_with("tessera_tx"))
    };

    // Answered at once with an error (prompt=none, no session): no cookie.
    let res = b
        .get(authorize_url(&s, &web, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(location(&res).contains("error=login_required"));
    assert_eq!(reason_of(res.headers()), Some(Reason::LoginRequired));
    assert!(no_tx_cookie(&res), "{:?}", set_cookies(&res));

    // Answered at once with a code (SSO): no cookie.
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let res = b.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert!(location(&res).contains("code="));
    assert!(no_tx_cookie(&res), "{:?}", set_cookies(&res));

    // A third-party application: the cookie stays while the request waits for
    // consent, and the denial (an error to the client) clears it.
    let res = b.get(authorize_url(&s, &third, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let consent_url = location(&res);
    assert!(
        consent_url.starts_with(&s.url("u/consent?state=")),
        "{consent_url}"
    );
    let (name, _) = the_tx_cookie(&res);
    assert_eq!(name, tx_cookie_name(&state_of(&consent_url)));
    let page = login_form(&b, &consent_url).await;
    let res = b
        .post(s.url("u/consent"))
        .form(&[
            ("state", page.state.as_str()),
            ("csrf", &page.csrf),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("error=access_denied"));
    assert_eq!(reason_of(res.headers()), Some(Reason::ConsentDenied));
    assert!(
        is_cleared(set_cookie(&res, &name), &name),
        "{:?}",
        set_cookies(&res)
    );
}

/// The https issuers of the next test (the server listens on loopback http; the
/// routes are the same, only the issuer differs).
const HTTPS_ISSUER: &str = "https://id.example.test/";
const HTTPS_ISSUER_WITH_PATH: &str = "https://id.example.test/tenant-a/";

fn assert_host_cookie(line: &str, name: &str, same_site: &str) {
    assert!(line.starts_with(&format!("{name}=")), "{line}");
    let attrs: Vec<&str> = line.split(';').map(str::trim).skip(1).collect();
    let same_site = format!("SameSite={same_site}");
    for needed in ["Path=/", "Secure", "HttpOnly", same_site.as_str()] {
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
    let session_name = format!("__Host-tessera_session{suffix}");

    let res = c.get(authorize_url(&s, &web, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let login_url = on_server(&s, issuer, &location(&res));
    // `__Host-tessera_tx_<tag of the request>` and the tag of the issuer's path.
    let bare_name = tx_cookie_name(&state_of(&login_url));
    let tx_name = format!("__Host-{bare_name}{suffix}");
    let line = set_cookie(&res, &tx_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &tx_name, "Lax");
    assert!(
        set_cookies(&res).iter().all(|l| l.starts_with("__Host-")),
        "{:?}",
        set_cookies(&res)
    );
    let value = cookie_value(&line);

    // The bare name is not read on an https issuer.
    let res = c
        .get(&login_url)
        .header(COOKIE, format!("{bare_name}={value}"))
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
    // The session reaches /authorize in a cross-site iframe (silent
    // authentication): SameSite=None, with a Lax companion of the same value
    // for browsers that reject None.
    let line = set_cookie(&res, &session_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &session_name, "None");
    let session_value = cookie_value(&line);
    let legacy_name = format!("__Host-tessera_session_legacy{suffix}");
    let line = set_cookie(&res, &legacy_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &legacy_name, "Lax");
    assert_eq!(cookie_value(&line), session_value);
    assert!(location(&res).starts_with(CALLBACK));
    // The finished request's cookie is cleared under the same `__Host-` rules
    // (a browser would ignore a deletion without them).
    let line = set_cookie(&res, &tx_name).unwrap_or_else(|| panic!("{:?}", set_cookies(&res)));
    assert_host_cookie(&line, &tx_name, "Lax");
    assert!(line.contains("Max-Age=0"), "{line}");

    // Either cookie names the session (a browser that rejected None sends
    // only the companion); a value under neither name is no session.
    for cookie in [
        format!("{session_name}={session_value}"),
        format!("{legacy_name}={session_value}"),
    ] {
        let res = c
            .get(authorize_url(&s, &web, &[("prompt", "none")]))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert!(
            location(&res).contains("code="),
            "{cookie}: {}",
            location(&res)
        );
    }
    let res = c
        .get(authorize_url(&s, &web, &[("prompt", "none")]))
        .header(COOKIE, format!("tessera_session={session_value}"))
        .send()
        .await
        .unwrap();
    assert!(
        location(&res).contains("error=login_required"),
        "{}",
        location(&res)
    );

    // Logout reads only the Lax companion: a cross-site request, which
    // carries only the SameSite=None cookie, ends nothing.
    let sso = |cookie: String| {
        let c = c.clone();
        let url = authorize_url(&s, &web, &[("prompt", "none")]);
        async move {
            let res = c.get(url).header(COOKIE, cookie).send().await.unwrap();
            location(&res)
        }
    };
    let none_only = format!("{session_name}={session_value}");
    for path in ["v2/logout", "oidc/logout"] {
        let res = c
            .get(s.url(path))
            .header(COOKIE, &none_only)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            sso(none_only.clone()).await.contains("code="),
            "{path} ended the session"
        );
    }
    let both = format!("{none_only}; {legacy_name}={session_value}");
    let res = c
        .get(s.url("v2/logout"))
        .header(COOKIE, &both)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(sso(none_only).await.contains("error=login_required"));
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
