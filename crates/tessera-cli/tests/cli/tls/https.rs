//! HTTPS end to end: discovery, the code flow through the hosted login page and
//! the Management API over TLS; ALPN; plain HTTP refused; a client that never
//! finishes its handshake or never speaks HTTP/2 cannot hold a place.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{LOCATION, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use reqwest::{Response, Version};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::*;

const EMAIL: &str = "ada.lovelace@example.com";
const PASSWORD: &str = "Analytical-Engine-1843-Notes";
const CALLBACK: &str = "https://app.example/callback";

fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location: {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}: {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].replace("&amp;", "&")
}

/// Every cookie on an https issuer is `__Host-` and `Secure`.
fn assert_host_cookies(what: &str, res: &Response) {
    let cookies = set_cookies(res);
    assert!(!cookies.is_empty(), "{what}: no cookie set");
    for cookie in cookies {
        assert!(cookie.starts_with("__Host-"), "{what}: {cookie}");
        assert!(cookie.contains("; Secure"), "{what}: {cookie}");
        assert!(cookie.contains("; Path=/"), "{what}: {cookie}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_code_flow_and_management_api_over_https() {
    let sb = Sandbox::new();
    let pair = Pair::new("A");
    let server = start(&sb, &pair, &[]).await;
    let issuer = server.base();
    let http = https_client(server.port, &[&pair]).build().unwrap();

    // Discovery over HTTPS, HTTP/2 through ALPN, every endpoint https, HSTS.
    let res = http
        .get(server.url(".well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_2, "ALPN chose h2");
    assert_eq!(served_by(&res), pair.cert_der);
    assert!(res.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["issuer"], issuer.as_str());
    for endpoint in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        assert!(
            doc[endpoint].as_str().unwrap().starts_with(&issuer),
            "{endpoint}: {doc}"
        );
    }
    // A client offering only HTTP/1.1 gets HTTP/1.1.
    let http1 = https_client(server.port, &[&pair])
        .http1_only()
        .build()
        .unwrap();
    let res = http1.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_11);

    // The Management API: a client-credentials token, then a listing, a user
    // and a single-page application.
    let admin = management_token(&http, &server, ADMIN_ID, ADMIN_SECRET).await;
    let res = http
        .get(server.url("api/v2/clients"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let clients: Value = res.json().await.unwrap();
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == ADMIN_ID),
        "{clients}"
    );
    let user = post_json(
        &http,
        &server.url("api/v2/users"),
        &admin,
        json!({
            "connection": "Username-Password-Authentication",
            "email": EMAIL,
            "password": PASSWORD,
        }),
    )
    .await;
    let app = post_json(
        &http,
        &server.url("api/v2/clients"),
        &admin,
        json!({ "name": "TLS SPA", "app_type": "spa", "callbacks": [CALLBACK] }),
    )
    .await;
    let client_id = app["client_id"].as_str().unwrap();

    // The code flow through the hosted login page, with PKCE; every cookie is
    // `__Host-` and Secure.
    let browser = https_client(server.port, &[&pair]).build().unwrap();
    let (verifier, challenge) = pkce_pair();
    let authorize = format!(
        "{issuer}authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
        enc(client_id),
        enc(CALLBACK),
        enc("openid email"),
    );
    let res = browser.get(&authorize).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_host_cookies("/authorize", &res);
    let login = location(&res);
    assert!(login.starts_with(&format!("{issuer}u/login")), "{login}");
    let html = browser
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = browser
        .post(server.url("u/login"))
        .form(&[
            ("state", input_value(&html, "state").as_str()),
            ("csrf", &input_value(&html, "csrf")),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login refused");
    assert_host_cookies("u/login", &res);
    // The SSO session survives cross-site apps (SameSite=None), with its Lax
    // companion for browsers that refuse None.
    let cookies = set_cookies(&res);
    let named = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}: {cookies:?}"))
    };
    assert!(named("__Host-tessera_session").contains("; SameSite=None"));
    assert!(named("__Host-tessera_session_legacy").contains("; SameSite=Lax"));
    let callback = url::Url::parse(&location(&res)).unwrap();
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    let query: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    assert_eq!(query.get("iss"), Some(&issuer), "{query:?}");
    let code = query.get("code").unwrap_or_else(|| panic!("{query:?}"));

    let redeem = || {
        http.post(server.url("oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ])
            .send()
    };
    let res = redeem().await.unwrap();
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    let claims = crate::operator::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["sub"], user["user_id"]);
    assert_eq!(claims["nonce"], "n1");
    // The same code again is refused (the flow is the real one).
    assert_eq!(redeem().await.unwrap().status(), 400);

    // Plain HTTP to the TLS port gets no answer; the server carries on.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let res = plain
        .get(format!("http://127.0.0.1:{}/healthz", server.port))
        .send()
        .await;
    assert!(res.is_err(), "plain HTTP was answered: {res:?}");
    let res = http.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    server.stop().await;
}

/// Reads until the server closes the connection; panics past `deadline`.
async fn closed_within<S>(what: &str, stream: &mut S, deadline: Duration) -> Duration
where
    S: tokio::io::AsyncRead + Unpin,
{
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!("{what}: still open after {deadline:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {} // the server's own preface or alerts
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_clients_cannot_hold_a_place() {
    let sb = Sandbox::new();
    let pair = Pair::new("A");
    // One place; the handshake (and HTTP/2's idle time) limited to 3 s.
    let server = start(
        &sb,
        &pair,
        &[
            ("TESSERA_MAX_CONNECTIONS", "1"),
            ("TESSERA_HEADER_READ_TIMEOUT", "3"),
        ],
    )
    .await;
    let addr = format!("127.0.0.1:{}", server.port);
    let limit = Duration::from_secs(3);

    // A connection that never starts its handshake holds the one place, yet
    // a real client is served at once: at the cap the handshake is abandoned.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let http = https_client(server.port, &[&pair]).build().unwrap();
    let res = http.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() < limit,
        "served only after the handshake timeout: {:?}",
        started.elapsed()
    );
    closed_within("the abandoned handshake", &mut silent, limit).await;
    drop(http);

    // Alone, a silent connection is closed at the handshake timeout.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let took = closed_within("a handshake never begun", &mut silent, 2 * limit).await;
    assert!(took >= limit - Duration::from_millis(500), "{took:?}");

    // HTTP/2 negotiated, then nothing (not even the connection preface): asked
    // to close when idle for the limit, dropped the limit after that.
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let mut tls = raw_tls_client(&pair, &[b"h2"])
        .connect(localhost(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    closed_within("an idle HTTP/2 connection", &mut tls, 3 * limit).await;

    // The place is free again.
    let http = https_client(server.port, &[&pair]).build().unwrap();
    let res = http.get(server.url("healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    drop(http);

    // An HTTP/2 connection may carry 16 requests at once, not hyper's 200:
    // the server's SETTINGS say so.
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let tls = raw_tls_client(&pair, &[b"h2"])
        .connect(localhost(), tcp)
        .await
        .unwrap();
    let (mut h2, connection) = h2::client::handshake(tls).await.unwrap();
    let driver = tokio::spawn(connection);
    let request = http::Request::get(server.url("healthz")).body(()).unwrap();
    let (answer, _) = h2.send_request(request, true).unwrap();
    assert_eq!(answer.await.unwrap().status(), 200);
    assert_eq!(h2.current_max_send_streams(), 16);
    drop(h2);
    driver.abort();
    server.stop().await;
}
