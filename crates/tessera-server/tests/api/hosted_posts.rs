//! Issue 9, point 9 (part): the hosted pages answer a form post with 303 See
//! Other (RFC 9700 §4.12), never 302 or 307, so the browser never re-sends the
//! credentials; the redirects of GET requests stay 302.

use crate::common::*;
use crate::hosted::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_page_posts_answer_303() {
    let s = start().await;
    let (web, _) = web_app(&s, true).await;
    let (third, _) = web_app(&s, false).await;
    db_user(&s, "ada@example.com").await;

    // u/login → the application (start_login checks GET /authorize is a 302).
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));

    // u/signup → the application.
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let page = login_form(&b, &f.url.replace("u/login", "u/signup")).await;
    let res = b
        .post(s.url("u/signup"))
        .form(&[
            ("state", page.state.as_str()),
            ("csrf", &page.csrf),
            ("email", "new@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(CALLBACK));

    // u/login of a third-party application → the consent page.
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &third, &[])).await;
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let consent = location(&res);
    assert!(consent.starts_with(&s.url("u/consent?state=")), "{consent}");
    let decide = |url: String, decision: &'static str| {
        let b = b.clone();
        let s_url = s.url("u/consent");
        async move {
            let page = login_form(&b, &url).await;
            b.post(s_url)
                .form(&[
                    ("state", page.state.as_str()),
                    ("csrf", &page.csrf),
                    ("decision", decision),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // u/consent, deny → the application with access_denied.
    let res = decide(consent, "deny").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("error=access_denied"));
    assert_eq!(reason_of(res.headers()), Some(Reason::ConsentDenied));
    // u/consent, accept → the application with a code.
    let res = b.get(authorize_url(&s, &third, &[])).send().await.unwrap();
    assert_eq!(res.status(), 302, "a GET keeps its 302");
    let res = decide(location(&res), "accept").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("code="));

    // POST oidc/logout → the allowed logout URL.
    let res = b
        .post(s.url("oidc/logout"))
        .form(&[
            ("client_id", web.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(LOGGED_OUT));
}
