//! Logins through an upstream OpenID provider (issue 14). The upstream is a
//! second Tessera instance (a regular web app with a secret, a database
//! user); the downstream has an `oidc` connection to it by discovery URL.
//! A cookie-keeping browser follows every hop. Who must not get in: a
//! replayed or unknown `state`, an upstream `error=access_denied`, an
//! unreachable or silent provider, a wrong upstream client secret, forged ID
//! tokens (another key, wrong `aud`, `nonce`, `iss`, expired) from a tiny fake
//! provider — none creates a user. And the vault: the upstream access token is
//! shown only with `read:user_idp_tokens`, works at the upstream's userinfo,
//! and neither it nor the client secret is in the database file or the logs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{self, App, CALLBACK, claims, enc, fill_in_login, pkce, query_of};

pub(crate) const CONN: &str = "Upstream";

pub(crate) struct Pair {
    pub up: TestServer,
    pub down: TestServer,
    pub up_app: App,
    pub down_app: App,
    pub up_user: String,
}

fn quick(config: &mut tessera_server::ServerConfig) {
    config.upstream_timeout = Duration::from_secs(2);
}

async fn downstream() -> TestServer {
    downstream_on(None).await
}

/// A downstream on `database_url` (`None`: SQLite in a temp dir).
async fn downstream_on(database_url: Option<String>) -> TestServer {
    start_opts(Options {
        configure: quick,
        database_url,
        ..Options::default()
    })
    .await
}

pub(crate) async fn connection(down: &TestServer, app: &App, options: Value) -> Reply {
    let admin = down.admin_token().await;
    down.api(
        Method::POST,
        "api/v2/connections",
        &admin,
        Some(json!({"name": CONN, "strategy": "oidc", "enabled_clients": [app.id], "options": options})),
    )
    .await
}

/// Upstream and downstream, wired; `secret` overrides the upstream secret
/// the connection is given.
pub(crate) async fn pair(secret: Option<&str>) -> Pair {
    pair_with(secret, "openid profile email", None).await
}

/// [`pair`] with the scope the connection asks upstream and the downstream's
/// database.
pub(crate) async fn pair_with(
    secret: Option<&str>,
    scope: &str,
    database_url: Option<String>,
) -> Pair {
    let down = downstream_on(database_url).await;
    let up = start().await;
    let up_user = flows::user(&up).await;
    let up_app = flows::app(
        &up,
        json!({"callbacks": [down.url("login/callback")], "app_type": "regular_web"}),
    )
    .await;
    let down_app = flows::app(&down, json!({"app_type": "regular_web"})).await;
    let r = connection(
        &down,
        &down_app,
        json!({
            "type": "back_channel",
            "discovery_url": up.url(".well-known/openid-configuration"),
            "issuer": up.base,
            "client_id": up_app.id,
            "client_secret": secret.unwrap_or(up_app.secret.as_deref().unwrap()),
            "scope": scope,
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    Pair {
        up,
        down,
        up_app,
        down_app,
        up_user,
    }
}

fn authorize_url(down: &TestServer, app: &App, challenge: &str) -> String {
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n1&connection={CONN}&code_challenge={challenge}&code_challenge_method=S256",
        down.url("authorize"),
        app.id,
        enc(CALLBACK),
        enc("openid profile email"),
    )
}

/// Where an answer sends the browser: its `Location`, or the `Refresh` of
/// the page `/login/callback` answers with when it leaves the issuer (a
/// redirect there would be blocked by the provider page's `form-action`).
fn location(res: &reqwest::Response) -> String {
    if let Some(l) = res.headers().get("location") {
        return l.to_str().unwrap().to_owned();
    }
    let refresh = res
        .headers()
        .get("refresh")
        .unwrap_or_else(|| panic!("no Location or Refresh: {}", res.status()))
        .to_str()
        .unwrap();
    assert_eq!(res.status(), 200);
    refresh.strip_prefix("0;url=").unwrap().to_owned()
}

async fn get(b: &reqwest::Client, url: &str) -> reqwest::Response {
    b.get(url).send().await.unwrap()
}

/// Follows redirects from `url` until one starts with `stop`, filling in
/// the upstream's login page on the way.
pub(crate) async fn follow_until(
    up: &TestServer,
    b: &reqwest::Client,
    url: &str,
    stop: &str,
) -> String {
    let mut url = url.to_owned();
    for _ in 0..12 {
        if url.starts_with(stop) {
            return url;
        }
        let res = if url.starts_with(&up.url("u/login?")) {
            fill_in_login(up, b, &url).await
        } else {
            get(b, &url).await
        };
        assert!(
            res.status().is_redirection() || res.headers().contains_key("refresh"),
            "{url}: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        url = location(&res);
    }
    panic!("never reached {stop}");
}

/// The upstream's answer to the downstream (`/login/callback?code&state`).
pub(crate) async fn to_downstream_callback(
    p: &Pair,
    b: &reqwest::Client,
    challenge: &str,
) -> String {
    let start = authorize_url(&p.down, &p.down_app, challenge);
    follow_until(&p.up, b, &start, &p.down.url("login/callback")).await
}

/// Where the downstream finally sends the browser: the client's callback query.
pub(crate) async fn finish(
    p: &Pair,
    b: &reqwest::Client,
    callback: &str,
) -> BTreeMap<String, String> {
    query_of(&follow_until(&p.up, b, callback, CALLBACK).await)
}

async fn users_of(down: &TestServer) -> Vec<Value> {
    let admin = down.admin_token().await;
    let r = down
        .api(
            Method::GET,
            &format!("api/v2/users?q={}", enc(&format!("connection:{CONN}"))),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body.as_array().unwrap().clone()
}

#[track_caller]
fn assert_error(q: &BTreeMap<String, String>, error: &str) {
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{q:?}");
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{q:?}");
    assert!(!q.contains_key("code"), "{q:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_through_an_upstream_tessera() {
    let logs = crate::passwordless::captured_logs();
    let p = pair(None).await;
    let b = flows::browser();
    let (verifier, challenge) = pkce();
    let callback = to_downstream_callback(&p, &b, &challenge).await;
    let q = finish(&p, &b, &callback).await;
    let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
    assert_eq!(q["state"], "st");
    let r = p
        .down
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", &p.down_app.id),
            ("client_secret", p.down_app.secret.as_deref().unwrap()),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let id_token = claims(r.body["id_token"].as_str().unwrap());
    let sub = format!("oidc|{CONN}|{}", p.up_user);
    assert_eq!(id_token["sub"], sub.as_str());
    assert_eq!(id_token["iss"], p.down.base.as_str());
    assert_eq!(id_token["aud"], p.down_app.id.as_str());
    assert_eq!(id_token["nonce"], "n1");
    assert_eq!(id_token["email"], flows::EMAIL);
    assert_eq!(id_token["name"], "Ada Lovelace");
    let down_access = r.body["access_token"].as_str().unwrap().to_owned();
    let me = flows::userinfo(&p.down, &down_access).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["sub"], sub.as_str());

    // The vault: only with read:user_idp_tokens.
    let plain = p.down.token_with_scopes(&["read:users"]).await;
    let path = format!("api/v2/users/{}", enc(&sub));
    let without = p.down.api(Method::GET, &path, &plain, None).await;
    assert_eq!(without.status, 200, "{without:?}");
    let identity = &without.body["identities"][0];
    assert_eq!(identity["provider"], "oidc");
    assert_eq!(identity["connection"], CONN);
    assert!(identity.get("access_token").is_none(), "{without:?}");
    assert!(identity.get("refresh_token").is_none(), "{without:?}");
    let listed = p.down.api(Method::GET, "api/v2/users", &plain, None).await;
    assert!(
        !listed.body.to_string().contains("access_token"),
        "{listed:?}"
    );
    assert!(
        !id_token.to_string().contains("access_token")
            && !me.body.to_string().contains("access_token")
    );
    let reader = p
        .down
        .token_with_scopes(&["read:users", "read:user_idp_tokens"])
        .await;
    let with = p.down.api(Method::GET, &path, &reader, None).await;
    let upstream_token = with.body["identities"][0]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no upstream token: {with:?}"))
        .to_owned();
    assert!(with.body["identities"][0]["expires_in"].as_i64().unwrap() > 0);
    let listed = p.down.api(Method::GET, "api/v2/users", &reader, None).await;
    assert!(listed.body.to_string().contains(&upstream_token));
    let at_upstream = flows::userinfo(&p.up, &upstream_token).await;
    assert_eq!(at_upstream.status, 200, "{at_upstream:?}");
    assert_eq!(at_upstream.body["sub"], p.up_user.as_str());

    // The answer cannot be replayed: its state was used.
    let replay = get(&b, &callback).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.headers().get("location").is_none());

    // A second login (another browser) updates the same user.
    let b2 = flows::browser();
    let (_, challenge) = pkce();
    let again = to_downstream_callback(&p, &b2, &challenge).await;
    assert!(finish(&p, &b2, &again).await.contains_key("code"));
    assert_eq!(users_of(&p.down).await.len(), 1);

    // Neither the upstream secret nor its tokens in the database file or logs.
    let secret = p.up_app.secret.clone().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(p.down.data_dir()).unwrap() {
        files.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let logged = logs.lock().unwrap().clone();
    for needle in [secret.as_str(), upstream_token.as_str()] {
        for bytes in files.iter().chain([&logged]) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret in clear"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_replayed_states_and_upstream_refusals_create_no_user() {
    let p = pair(None).await;
    let b = flows::browser();
    let unknown = get(
        &b,
        &format!("{}?state=made-up&code=x", p.down.url("login/callback")),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    let no_state = get(&b, &format!("{}?code=x", p.down.url("login/callback"))).await;
    assert_eq!(no_state.status(), 400);

    // The user refuses at the provider: it answers error=access_denied.
    let (_, challenge) = pkce();
    let up_authorize = follow_until(
        &p.up,
        &b,
        &authorize_url(&p.down, &p.down_app, &challenge),
        &p.up.url("authorize"),
    )
    .await;
    let upstream_state = query_of(&up_authorize)["state"].clone();
    // (The upstream Tessera promises RFC 9207's iss: it must be there.)
    let denied = format!(
        "{}?error=access_denied&error_description=no&state={}&iss={}",
        p.down.url("login/callback"),
        enc(&upstream_state),
        enc(&p.up.base)
    );
    let res = get(&b, &denied).await;
    assert_eq!(res.status(), 200);
    let q = query_of(&location(&res));
    assert_error(&q, "access_denied");
    assert_eq!(
        res.headers()
            .get("tessera-error-reason")
            .and_then(|v| v.to_str().ok()),
        Some("upstream_denied")
    );
    // ... and that state is spent.
    assert_eq!(get(&b, &denied).await.status(), 400);
    // Another browser cannot finish a login this one started.
    let (_, challenge) = pkce();
    let cb = to_downstream_callback(&p, &b, &challenge).await;
    let stranger = get(&flows::browser(), &cb).await;
    assert_eq!(stranger.status(), 403);

    // Discovery metadata whose issuer is not the configured one.
    let admin = p.down.admin_token().await;
    let listed = p
        .down
        .api(
            Method::GET,
            &format!("api/v2/connections?name={CONN}"),
            &admin,
            None,
        )
        .await;
    let id = listed.body[0]["id"].as_str().unwrap().to_owned();
    let mut options = listed.body[0]["options"].clone();
    options["issuer"] = json!("http://127.0.0.1:1/");
    // Moving the provider needs a new secret (review finding 2).
    options["client_secret"] = json!("another-secret");
    let r = p
        .down
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(json!({ "options": options })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (_, challenge) = pkce();
    let res = get(&b, &authorize_url(&p.down, &p.down_app, &challenge)).await;
    let res = get(&b, &location(&res)).await;
    assert_error(&query_of(&location(&res)), "access_denied");
    assert!(users_of(&p.down).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_upstream_client_secret_ends_in_access_denied() {
    let p = pair(Some("not-the-upstream-secret")).await;
    let b = flows::browser();
    let (_, challenge) = pkce();
    let cb = to_downstream_callback(&p, &b, &challenge).await;
    let q = finish(&p, &b, &cb).await;
    assert_error(&q, "access_denied");
    assert!(users_of(&p.down).await.is_empty());
}

/// The downstream's redirect to a provider's authorization endpoint, for an
/// `oidc` connection with `options`: the upstream `state` and `nonce`.
async fn sent_upstream(
    down: &TestServer,
    app: &App,
    b: &reqwest::Client,
    options: Value,
) -> (String, String) {
    let r = connection(down, app, options).await;
    assert_eq!(r.status, 201, "{r:?}");
    let (_, challenge) = pkce();
    let res = get(b, &authorize_url(down, app, &challenge)).await;
    let start = location(&res);
    let res = get(b, &start).await;
    assert_eq!(res.status(), 302, "{start}");
    let q = query_of(&location(&res));
    assert_eq!(q["code_challenge_method"], "S256");
    (
        q["state"].clone(),
        q.get("nonce").cloned().unwrap_or_default(),
    )
}

fn explicit(base: &str) -> Value {
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}authorize"),
        "token_endpoint": format!("{base}token"),
        "jwks_uri": format!("{base}jwks"),
        "client_id": "downstream", "client_secret": FAKE_SECRET,
        "scope": "openid profile",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_silent_providers_end_cleanly_in_time() {
    let down = downstream().await;
    let app = flows::app(&down, json!({"app_type": "regular_web"})).await;
    let admin = down.admin_token().await;
    // A closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let b = flows::browser();
    let (state, _) = sent_upstream(
        &down,
        &app,
        &b,
        explicit(&format!("http://127.0.0.1:{closed}/")),
    )
    .await;
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&state)
        ),
    )
    .await;
    assert_error(&query_of(&location(&res)), "temporarily_unavailable");

    // A listener that accepts and never answers: the deadline (2 s) ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let id = down
        .api(
            Method::GET,
            &format!("api/v2/connections?name={CONN}"),
            &admin,
            None,
        )
        .await
        .body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = down
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(json!({"options": explicit(&format!("http://127.0.0.1:{silent_port}/"))})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (_, challenge) = pkce();
    let res = get(&b, &authorize_url(&down, &app, &challenge)).await;
    let res = get(&b, &location(&res)).await;
    let state = query_of(&location(&res))["state"].clone();
    let started = Instant::now();
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&state)
        ),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_error(&query_of(&location(&res)), "temporarily_unavailable");

    // Discovery at a closed port: the login never leaves.
    let r = down
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(json!({"options": {
                "discovery_url": format!("http://127.0.0.1:{closed}/.well-known/openid-configuration"),
                "client_id": "x", "client_secret": "x", "scope": "openid"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (_, challenge) = pkce();
    let res = get(&b, &authorize_url(&down, &app, &challenge)).await;
    let res = get(&b, &location(&res)).await;
    assert_error(&query_of(&location(&res)), "temporarily_unavailable");
    assert!(users_of(&down).await.is_empty());
}

/// What the fake provider's token endpoint signs.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Forgery {
    None,
    OtherKey,
    WrongAudience,
    WrongNonce,
    WrongIssuer,
    Expired,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the connection's client secret as the key.
    Hs256WithClientSecret,
    /// `aud: ["downstream", "someone-else"]`.
    ExtraAudience,
    /// `azp` naming another client.
    WrongAzp,
}

struct Fake {
    base: String,
    nonce: Arc<Mutex<String>>,
    mode: Arc<Mutex<Forgery>>,
    /// Merged into (overriding) the ID token's claims.
    claims: Arc<Mutex<Value>>,
    /// Merged into the token endpoint's answer (`Null` members removed).
    answer: Arc<Mutex<Value>>,
    /// Merged into the discovery metadata.
    meta: Arc<Mutex<Value>>,
    /// The query of the last authorization request Tessera sent here.
    last_authorize: Arc<Mutex<BTreeMap<String, String>>>,
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            if v.is_null() {
                into.remove(k);
            } else {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

fn ec_key() -> (rcgen::KeyPair, Value) {
    let key = rcgen::KeyPair::generate().unwrap();
    let raw = key.public_key_raw();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&raw[1..33]), "y": URL_SAFE_NO_PAD.encode(&raw[33..65])});
    (key, jwk)
}

/// The connection secret `explicit` gives the fake provider's connection.
const FAKE_SECRET: &str = "s3cret";

/// A tiny OpenID provider: discovery, JWKS (key A), and a token endpoint
/// answering an ID token forged as `mode` says.
async fn fake_provider() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let (good, jwk) = ec_key();
    let (other, _) = ec_key();
    let nonce = Arc::new(Mutex::new(String::new()));
    let mode = Arc::new(Mutex::new(Forgery::None));
    let claims_extra = Arc::new(Mutex::new(json!({})));
    let answer_extra = Arc::new(Mutex::new(json!({})));
    let meta_extra = Arc::new(Mutex::new(json!({})));
    let last_authorize = Arc::new(Mutex::new(BTreeMap::new()));
    let meta = json!({
        "issuer": base, "authorization_endpoint": format!("{base}authorize"),
        "token_endpoint": format!("{base}token"), "jwks_uri": format!("{base}jwks"),
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    });
    let (n, m, iss) = (nonce.clone(), mode.clone(), base.clone());
    let (ce, ae) = (claims_extra.clone(), answer_extra.clone());
    let good_der = good.serialize_der();
    let other_der = other.serialize_der();
    let token = move || {
        let mode = *m.lock().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut claims = json!({
            "iss": if mode == Forgery::WrongIssuer { "http://127.0.0.1:1/" } else { iss.as_str() },
            "sub": "fake-user", "email": "eve@example.com", "email_verified": true,
            "aud": match mode {
                Forgery::WrongAudience => json!("someone-else"),
                Forgery::ExtraAudience => json!(["downstream", "someone-else"]),
                _ => json!("downstream"),
            },
            "nonce": if mode == Forgery::WrongNonce { "other".to_owned() } else { n.lock().unwrap().clone() },
            "iat": now - 10,
            "exp": if mode == Forgery::Expired { now - 5 } else { now + 300 },
        });
        if mode == Forgery::WrongAzp {
            claims["azp"] = json!("another-client");
        }
        merge(&mut claims, &ce.lock().unwrap());
        let id_token = match mode {
            Forgery::AlgNone => format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ),
            Forgery::Hs256WithClientSecret => jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(FAKE_SECRET.as_bytes()),
            )
            .unwrap(),
            _ => {
                let der = if mode == Forgery::OtherKey {
                    &other_der
                } else {
                    &good_der
                };
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some("k1".into());
                let key = jsonwebtoken::EncodingKey::from_ec_der(der);
                jsonwebtoken::encode(&header, &claims, &key).unwrap()
            }
        };
        let mut answer = json!({"access_token": "fake-at", "token_type": "Bearer",
            "expires_in": 300, "id_token": id_token});
        merge(&mut answer, &ae.lock().unwrap());
        axum::Json(answer)
    };
    let me = meta_extra.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let mut meta = meta.clone();
                merge(&mut meta, &me.lock().unwrap());
                async move { axum::Json(meta) }
            }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || {
                let jwks = json!({"keys": [jwk.clone()]});
                async move { axum::Json(jwks) }
            }),
        )
        .route(
            "/token",
            axum::routing::post(move || {
                let answer = token();
                async move { answer }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Fake {
        base,
        nonce,
        mode,
        claims: claims_extra,
        answer: answer_extra,
        meta: meta_extra,
        last_authorize,
    }
}

/// A downstream with the fake provider as connection `CONN` (explicit
/// endpoints, or by discovery) for a new app.
async fn with_fake(discovery: bool) -> (Fake, TestServer, App) {
    let fake = fake_provider().await;
    let down = downstream().await;
    let app = flows::app(&down, json!({"app_type": "regular_web"})).await;
    let mut options = explicit(&fake.base);
    if discovery {
        options["discovery_url"] = json!(format!("{}.well-known/openid-configuration", fake.base));
    }
    let r = connection(&down, &app, options).await;
    assert_eq!(r.status, 201, "{r:?}");
    (fake, down, app)
}

/// One login through the fake provider from `authorize` (with `extra`
/// parameters) to the client's callback; `callback_extra` is added to the
/// callback's query. The client's callback query.
async fn fake_login(
    fake: &Fake,
    down: &TestServer,
    app: &App,
    b: &reqwest::Client,
    extra: &str,
    callback_extra: &str,
) -> BTreeMap<String, String> {
    let (_, challenge) = pkce();
    let res = get(
        b,
        &format!("{}{extra}", authorize_url(down, app, &challenge)),
    )
    .await;
    let res = get(b, &location(&res)).await;
    assert_eq!(res.status(), 302);
    assert!(location(&res).starts_with(&fake.base), "{}", location(&res));
    let q = query_of(&location(&res));
    *fake.nonce.lock().unwrap() = q["nonce"].clone();
    *fake.last_authorize.lock().unwrap() = q.clone();
    let res = get(
        b,
        &format!(
            "{}?code=c&state={}{callback_extra}",
            down.url("login/callback"),
            enc(&q["state"])
        ),
    )
    .await;
    query_of(&location(&res))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_upstream_id_tokens_create_no_user() {
    let (fake, down, app) = with_fake(true).await;
    let b = flows::browser();
    for mode in [
        Forgery::OtherKey,
        Forgery::WrongAudience,
        Forgery::WrongNonce,
        Forgery::WrongIssuer,
        Forgery::Expired,
        Forgery::AlgNone,
        Forgery::Hs256WithClientSecret,
        Forgery::ExtraAudience,
        Forgery::WrongAzp,
        Forgery::None,
    ] {
        *fake.mode.lock().unwrap() = mode;
        let q = fake_login(&fake, &down, &app, &b, "", "").await;
        if mode == Forgery::None {
            // The control: the same provider, honest, lets the user in.
            assert!(q.contains_key("code"), "{q:?}");
            let users = users_of(&down).await;
            assert_eq!(users.len(), 1);
            assert_eq!(users[0]["user_id"], format!("oidc|{CONN}|fake-user"));
            // Upstream says the email is verified: so it is here.
            assert_eq!(users[0]["email_verified"], true);
        } else {
            assert_error(&q, "access_denied");
            assert!(users_of(&down).await.is_empty(), "{mode:?}");
        }
    }
    // azp equal to our client id is fine.
    *fake.claims.lock().unwrap() = json!({"azp": "downstream", "sub": "other-user"});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
}

/// Review finding 3: an upstream user whose (unverified) email is another's
/// never locks that other out: both log in, as separate users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_email_cannot_squat_another_users_login() {
    let (fake, down, app) = with_fake(false).await;
    *fake.claims.lock().unwrap() =
        json!({"sub": "attacker", "email": "victim@corp.example", "email_verified": false});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    *fake.claims.lock().unwrap() =
        json!({"sub": "victim", "email": "victim@corp.example", "email_verified": true});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    // A later login whose profile email changes to a taken one still works.
    *fake.claims.lock().unwrap() = json!({"sub": "third", "email": "third@corp.example"});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    *fake.claims.lock().unwrap() = json!({"sub": "third", "email": "victim@corp.example"});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    let mut ids: Vec<String> = users_of(&down)
        .await
        .iter()
        .map(|u| u["user_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            format!("oidc|{CONN}|attacker"),
            format!("oidc|{CONN}|third"),
            format!("oidc|{CONN}|victim")
        ]
    );
}

/// A GitHub-like OAuth 2.0 provider: a token endpoint that wants the secret
/// and a PKCE verifier in the body, and a userinfo URL that wants the token.
async fn fake_oauth2_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(|body: String| async move {
                let form: BTreeMap<String, String> = serde_urlencoded::from_str(&body).unwrap();
                let ok = form.get("client_secret").map(String::as_str) == Some("gh-secret")
                    && form.get("code_verifier").is_some_and(|v| v.len() >= 43);
                if ok {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"access_token": "gh-token", "token_type": "bearer"})),
                    )
                } else {
                    (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "invalid_client"})),
                    )
                }
            }),
        )
        .route(
            "/user",
            axum::routing::get(|headers: axum::http::HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if auth == "Bearer gh-token" {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"id": 42, "login": "octo", "name": "Octo Cat",
                            "email": "octo@example.com", "email_verified": false})),
                    )
                } else {
                    (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({})))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth2_connection_maps_the_userinfo_answer_through_the_login_page_button() {
    let base = fake_oauth2_provider().await;
    let down = downstream().await;
    let app = flows::app(&down, json!({"app_type": "regular_web"})).await;
    let admin = down.admin_token().await;
    let r = down
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(
                json!({"name": "gh", "strategy": "oauth2", "display_name": "GitHub-like",
                "enabled_clients": [app.id], "options": {
                "authorizationURL": format!("{base}authorize"), "tokenURL": format!("{base}token"),
                "userinfo_url": format!("{base}user"), "client_id": "gh-client",
                "client_secret": "gh-secret", "scope": ["read:user", "user:email"],
                "attribute_map": {"attributes": {"user_id": "id", "nickname": "login"}}}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let b = flows::browser();
    let (_, challenge) = pkce();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&code_challenge={challenge}&code_challenge_method=S256",
        down.url("authorize"),
        app.id,
        enc(CALLBACK),
    );
    let login_page = location(&get(&b, &url).await);
    assert!(login_page.starts_with(&down.url("u/login")), "{login_page}");
    let html = get(&b, &login_page).await.text().await.unwrap();
    assert!(html.contains("Continue with GitHub-like"), "{html}");
    let marker = "href=\"";
    let start = html.find(&down.url("u/login/upstream")).unwrap();
    assert!(html[..start].ends_with(marker));
    let end = start + html[start..].find('"').unwrap();
    let button = html[start..end].replace("&amp;", "&");
    let res = get(&b, &button).await;
    let to = location(&res);
    assert!(to.starts_with(&format!("{base}authorize")), "{to}");
    let q = query_of(&to);
    assert_eq!(q["scope"], "read:user user:email");
    assert_eq!(q["client_id"], "gh-client");
    assert!(!q.contains_key("nonce"));
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&q["state"])
        ),
    )
    .await;
    let q = query_of(&location(&res));
    assert!(q.contains_key("code"), "{q:?}");
    let user = down
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc("oauth2|gh|42")),
            &admin,
            None,
        )
        .await;
    assert_eq!(user.status, 200, "{user:?}");
    assert_eq!(user.body["nickname"], "octo");
    assert_eq!(user.body["name"], "Octo Cat");
    assert_eq!(user.body["email_verified"], false);
    assert_eq!(user.body["identities"][0]["provider"], "oauth2");
    assert_eq!(user.body["identities"][0]["access_token"], "gh-token");

    // A client without a database connection gets only the buttons.
    let db = down
        .api(
            Method::GET,
            "api/v2/connections?name=Username-Password-Authentication",
            &admin,
            None,
        )
        .await;
    let db_id = db.body[0]["id"].as_str().unwrap();
    let r = down
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{db_id}/clients"),
            &admin,
            Some(json!([{"client_id": app.id, "status": false}])),
        )
        .await;
    assert!(r.status < 300, "{r:?}");
    let b = flows::browser();
    let login_page = location(&get(&b, &url).await);
    let html = get(&b, &login_page).await.text().await.unwrap();
    assert!(html.contains("Continue with GitHub-like"), "{html}");
    assert!(!html.contains("type=\"password\""), "{html}");
}

/// The `state` (transaction id) of a login page's URL.
fn tx_of(login_page: &str) -> String {
    query_of(login_page)["state"].clone()
}

/// Review finding 4: an authorization request naming its connection
/// (`connection=`) can only be completed through that connection: the login
/// page shows no upstream buttons, `u/login/upstream` refuses another
/// connection, and so does the callback of a login of another connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_the_request_names_cannot_be_swapped_for_an_upstream_one() {
    let p = pair(None).await;
    let b = flows::browser();
    let (_, challenge) = pkce();
    let db = "Username-Password-Authentication";
    let url = authorize_url(&p.down, &p.down_app, &challenge)
        .replace(&format!("connection={CONN}"), &format!("connection={db}"));
    let login_page = location(&get(&b, &url).await);
    assert!(
        login_page.starts_with(&p.down.url("u/login?")),
        "{login_page}"
    );
    let html = get(&b, &login_page).await.text().await.unwrap();
    assert!(!html.contains("u/login/upstream"), "{html}");
    let tx = tx_of(&login_page);
    let res = get(
        &b,
        &format!(
            "{}?state={}&connection={CONN}",
            p.down.url("u/login/upstream"),
            enc(&tx)
        ),
    )
    .await;
    let to = location(&res);
    assert!(to.starts_with(CALLBACK), "went to {to}");
    assert_error(&query_of(&to), "invalid_request");

    // A login of another connection stored for a request naming the
    // database connection is refused at the callback.
    let login_page = location(&get(&b, &url).await);
    let tx = tx_of(&login_page);
    let now = p.down.state.clock.now();
    let state_value = "swapped-state-value";
    tessera_core::store::UpstreamLoginStore::put_upstream_login(
        &*p.down.store,
        &tessera_core::ids::sha256(state_value.as_bytes()),
        &tessera_core::upstream::UpstreamLogin {
            tx_id: tx,
            connection: CONN.into(),
            nonce: "n".into(),
            verifier_sealed: vec![1, 2, 3],
            expires_at: now + 300,
            issuer: None,
            iss_required: false,
            auth_after: None,
        },
        now,
    )
    .await
    .unwrap();
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={state_value}",
            p.down.url("login/callback")
        ),
    )
    .await;
    let q = query_of(&location(&res));
    assert_error(&q, "invalid_request");
    assert!(users_of(&p.down).await.is_empty());
}

/// Review finding 11: the provider's refresh token survives a later login
/// whose answer has none (Google sends one only at the first consent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_login_without_a_refresh_token_keeps_the_stored_one() {
    let (fake, down, app) = with_fake(false).await;
    *fake.answer.lock().unwrap() = json!({"refresh_token": "first-consent-rt"});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    *fake.answer.lock().unwrap() = json!({"access_token": "second-at"});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    let reader = down
        .token_with_scopes(&["read:users", "read:user_idp_tokens"])
        .await;
    let path = format!("api/v2/users/{}", enc(&format!("oidc|{CONN}|fake-user")));
    let user = down.api(Method::GET, &path, &reader, None).await;
    assert_eq!(user.status, 200, "{user:?}");
    let identity = &user.body["identities"][0];
    assert_eq!(identity["access_token"], "second-at", "{user:?}");
    assert_eq!(identity["refresh_token"], "first-consent-rt", "{user:?}");
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Review finding 5 (RFC 9207 mix-up defence): an answer whose `iss` is not
/// the provider's is refused; when the provider's metadata promises `iss`,
/// an answer without it is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_naming_another_issuer_is_refused() {
    let (fake, down, app) = with_fake(true).await;
    let honest = format!("&iss={}", enc(&fake.base));
    let q = fake_login(
        &fake,
        &down,
        &app,
        &flows::browser(),
        "",
        "&iss=https%3A%2F%2Fhonest.example%2F",
    )
    .await;
    assert_error(&q, "access_denied");
    // An error answer with a wrong iss is refused as such, too.
    let q = fake_login(
        &fake,
        &down,
        &app,
        &flows::browser(),
        "",
        "&iss=https%3A%2F%2Fhonest.example%2F&error=access_denied",
    )
    .await;
    assert_error(&q, "access_denied");
    assert!(users_of(&down).await.is_empty());
    // Without the metadata's promise, no iss is fine; the right one is.
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert!(q.contains_key("code"), "{q:?}");
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", &honest).await;
    assert!(q.contains_key("code"), "{q:?}");

    let (fake, down, app) = with_fake(true).await;
    *fake.meta.lock().unwrap() = json!({"authorization_response_iss_parameter_supported": true});
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", "").await;
    assert_error(&q, "access_denied");
    assert!(users_of(&down).await.is_empty());
    let honest = format!("&iss={}", enc(&fake.base));
    let q = fake_login(&fake, &down, &app, &flows::browser(), "", &honest).await;
    assert!(q.contains_key("code"), "{q:?}");
}

/// Review finding 6: `prompt=login` and `max_age` go upstream, and the ID
/// token must then carry a fresh `auth_time`, which becomes the session's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_authentication_is_asked_upstream_and_checked() {
    let (fake, down, app) = with_fake(false).await;
    for extra in ["&prompt=login", "&max_age=0"] {
        // No auth_time: refused.
        *fake.claims.lock().unwrap() = json!({});
        let q = fake_login(&fake, &down, &app, &flows::browser(), extra, "").await;
        assert_error(&q, "access_denied");
        let sent = fake.last_authorize.lock().unwrap().clone();
        if extra == "&prompt=login" {
            assert_eq!(
                sent.get("prompt").map(String::as_str),
                Some("login"),
                "{sent:?}"
            );
        } else {
            assert_eq!(
                sent.get("max_age").map(String::as_str),
                Some("0"),
                "{sent:?}"
            );
        }
        // An old authentication (the provider's SSO session answered): refused.
        *fake.claims.lock().unwrap() = json!({"auth_time": now_secs() - 3600});
        let q = fake_login(&fake, &down, &app, &flows::browser(), extra, "").await;
        assert_error(&q, "access_denied");
        assert!(users_of(&down).await.is_empty());
    }
    // Fresh: accepted, and Tessera's ID token carries the provider's auth_time.
    let upstream_auth_time = now_secs() - 20;
    *fake.claims.lock().unwrap() = json!({"auth_time": upstream_auth_time});
    let (verifier, challenge) = pkce();
    let b = flows::browser();
    let res = get(
        &b,
        &format!("{}&prompt=login", authorize_url(&down, &app, &challenge)),
    )
    .await;
    let res = get(&b, &location(&res)).await;
    let q = query_of(&location(&res));
    *fake.nonce.lock().unwrap() = q["nonce"].clone();
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&q["state"])
        ),
    )
    .await;
    let q = query_of(&location(&res));
    let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
    let r = down
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", &app.id),
            ("client_secret", app.secret.as_deref().unwrap()),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let id_token = claims(r.body["id_token"].as_str().unwrap());
    assert_eq!(id_token["auth_time"], upstream_auth_time, "{id_token}");
}

/// Review finding 8: one live upstream login per request (a new start
/// replaces the previous one), and `GET u/login/upstream` counts in the
/// per-address page limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_starts_replace_each_other_and_are_rate_limited() {
    let (fake, down, app) = with_fake(false).await;
    let b = flows::browser();
    let (_, challenge) = pkce();
    let res = get(&b, &authorize_url(&down, &app, &challenge)).await;
    let start = location(&res);
    let first = query_of(&location(&get(&b, &start).await));
    let second = query_of(&location(&get(&b, &start).await));
    assert_ne!(first["state"], second["state"]);
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&first["state"])
        ),
    )
    .await;
    assert_eq!(res.status(), 400, "the replaced login no longer completes");
    *fake.nonce.lock().unwrap() = second["nonce"].clone();
    let res = get(
        &b,
        &format!(
            "{}?code=c&state={}",
            down.url("login/callback"),
            enc(&second["state"])
        ),
    )
    .await;
    assert!(query_of(&location(&res)).contains_key("code"));

    fn three(config: &mut tessera_server::ServerConfig) {
        config.rate_limit_per_minute = 3;
    }
    let limited = start_opts(Options {
        configure: three,
        ..Options::default()
    })
    .await;
    let url = limited.url("u/login/upstream?state=x&connection=y");
    for _ in 0..3 {
        assert_ne!(get(&b, &url).await.status(), 429);
    }
    let res = get(&b, &url).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}
