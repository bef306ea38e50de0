//! tessera-verify against tokens from a real in-process Tessera and against
//! crafted hostile tokens, each refused with its exact error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_server::testing::{TestServer, start_with};
use tessera_verify::axum_support::{Authenticated, Rejection, VerifyLayer, require_scope};
use tessera_verify::{
    AccessTokenVerifier, Claims, IdTokenExpectations, IdTokenVerifier, Options, SetupError,
    VerifyError, dangerous,
};
use tokio::sync::{Mutex, oneshot};
use tower::ServiceExt;

const API: &str = "https://appointments.example/";
const ISS: &str = "https://issuer.example/";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------
// A real Tessera, in process.

/// A real Tessera in process: the server crate's test harness.
type Tessera = TestServer;

async fn start(alg: SigningAlg) -> Tessera {
    start_with(alg).await
}

/// Registers the appointments API and a machine-to-machine client granted
/// `scopes` on it; returns a client_credentials access token.
async fn api_token(t: &Tessera, scopes: &[&str]) -> String {
    let admin = t.admin_token().await;
    let r = t
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": API, "name": "Appointments",
                "scopes": [{"value": "read:appointments"}, {"value": "write:appointments"}]})),
        )
        .await;
    assert!(r.status == 201 || r.status == 409, "{r:?}");
    let client = t
        .api(
            Method::POST,
            "api/v2/clients",
            &admin,
            Some(json!({"name": "worker", "app_type": "non_interactive", "grant_types": ["client_credentials"]})),
        )
        .await;
    assert_eq!(client.status, 201, "{client:?}");
    let id = client.body["client_id"].as_str().unwrap();
    let secret = client.body["client_secret"].as_str().unwrap();
    let r = t
        .api(
            Method::POST,
            "api/v2/client-grants",
            &admin,
            Some(json!({"client_id": id, "audience": API, "scope": scopes})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = t
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", API),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// An ID token signed with the server's current key.
fn sign_id_token(t: &Tessera, claims: Value) -> String {
    tessera_core::jwt::sign(t.state.keys.current().signer(), "JWT", &claims).unwrap()
}

// ---------------------------------------------------------------------------
// Crafted tokens: our own keys, our own kids, JSON by hand.

struct TestKey {
    key: SigningKey,
    kid: String,
}

impl TestKey {
    fn new(alg: SigningAlg, kid: &str) -> Self {
        Self {
            key: SigningKey::generate(alg).unwrap().0,
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Value {
        let mut j = serde_json::to_value(self.key.public_jwk()).unwrap();
        j["kid"] = json!(self.kid);
        j
    }

    /// A JWS over exactly these header and payload bytes.
    fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
        let sig = self.key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", B64.encode(sig))
    }

    fn sign(&self, header: Value, claims: Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    fn header(&self) -> Value {
        json!({"alg": self.key.alg().as_str(), "kid": self.kid, "typ": "at+jwt"})
    }

    /// A valid access token for `API` from `ISS`, with `changes` merged in.
    fn access(&self, changes: Value) -> String {
        let mut claims = good_claims();
        merge(&mut claims, changes);
        self.sign(self.header(), claims)
    }
}

fn merge(into: &mut Value, changes: Value) {
    if let (Some(o), Value::Object(c)) = (into.as_object_mut(), changes) {
        for (k, v) in c {
            if v.is_null() {
                o.remove(&k);
            } else {
                o.insert(k, v);
            }
        }
    }
}

fn good_claims() -> Value {
    let t = now();
    json!({"iss": ISS, "sub": "worker@clients", "aud": API, "iat": t, "exp": t + 600,
        "jti": "j1", "client_id": "worker", "azp": "worker",
        "scope": "read:appointments write:appointments", "gty": "client-credentials"})
}

fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
        .to_string()
        .into_bytes()
}

fn fixed(keys: &[&TestKey]) -> AccessTokenVerifier {
    AccessTokenVerifier::from_jwks(&jwks(keys), ISS, vec![API.into()]).unwrap()
}

/// A tiny JWKS server that counts its requests.
struct JwksServer {
    url: String,
    body: Arc<Mutex<Vec<u8>>>,
    hits: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

async fn jwks_server(body: Vec<u8>, cache_control: &'static str) -> JwksServer {
    let shared = Arc::new(Mutex::new(body));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (shared.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        get(move || {
            let (s, h) = (s.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let body = s.lock().await.clone();
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CACHE_CONTROL, cache_control),
                    ],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    JwksServer {
        url: format!("http://{addr}/jwks.json"),
        body: shared,
        hits,
        _stop: tx,
    }
}

// ---------------------------------------------------------------------------
// Real tokens.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_from_tessera_verify_for_every_algorithm() {
    for alg in SigningAlg::ALL {
        let s = start(alg).await;
        let token = api_token(&s, &["read:appointments"]).await;
        let v = AccessTokenVerifier::from_issuer(&s.base, vec![API.into()])
            .await
            .unwrap();
        assert_eq!(v.issuer(), s.base);
        let c: Claims = v
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(c.iss, s.base);
        assert_eq!(c.aud, vec![API.to_string()]);
        assert!(c.has_scope("read:appointments"), "{alg}: {c:?}");
        assert!(!c.has_scope("write:appointments"));
        assert_eq!(c.gty.as_deref(), Some("client-credentials"));
        assert!(c.client_id.is_some() && c.jti.is_some() && c.iat.is_some());

        // The same token is not for another API...
        let other =
            AccessTokenVerifier::from_issuer(&s.base, vec!["https://other.example/".into()])
                .await
                .unwrap();
        assert!(matches!(
            other.verify(&token).await,
            Err(VerifyError::WrongAudience { .. })
        ));
        // ...nor from another issuer.
        let wrong_iss = AccessTokenVerifier::new(
            &s.url(".well-known/jwks.json"),
            "https://elsewhere.example/",
            vec![API.into()],
        );
        assert_eq!(
            wrong_iss.verify(&token).await.unwrap_err(),
            VerifyError::WrongIssuer {
                expected: "https://elsewhere.example/".into(),
                actual: s.base.clone()
            }
        );
        // A Management API token is an access token for the Management API.
        let mgmt = s.admin_token().await;
        let mv = AccessTokenVerifier::from_issuer(&s.base, vec![s.url("api/v2/")])
            .await
            .unwrap();
        assert!(mv.verify(&mgmt).await.unwrap().has_scope("read:clients"));
        assert!(matches!(
            v.verify(&mgmt).await,
            Err(VerifyError::WrongAudience { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_is_refused_by_an_api_and_checked_by_its_app() {
    let s = start(SigningAlg::RS256).await;
    let t = now();
    let id_claims = json!({"iss": s.base, "sub": "auth0|u1", "aud": "app-client", "iat": t,
        "exp": t + 600, "auth_time": t - 30, "nonce": "n-123", "sid": "s1"});
    let id_token = sign_id_token(&s, id_claims.clone());

    let api = AccessTokenVerifier::from_issuer(&s.base, vec![API.into()])
        .await
        .unwrap();
    assert_eq!(
        api.verify(&id_token).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "app-client".into()
        }
    );
    // Even an issuer that accepts `typ: JWT` access tokens refuses it.
    let lenient = api.clone().with_options(Options {
        accept_plain_jwt_typ: true,
        ..Options::default()
    });
    assert!(matches!(
        lenient.verify(&id_token).await,
        Err(VerifyError::IdToken { .. })
    ));

    let app = IdTokenVerifier::from_issuer(&s.base, "app-client")
        .await
        .unwrap();
    let nonce = IdTokenExpectations {
        nonce: Some("n-123".into()),
        max_age: Some(3600),
    };
    let c = app.verify(&id_token, &nonce).await.unwrap();
    assert_eq!(c.sub, "auth0|u1");
    assert_eq!(
        app.verify(
            &id_token,
            &IdTokenExpectations {
                nonce: Some("other".into()),
                max_age: None
            }
        )
        .await
        .unwrap_err(),
        VerifyError::NonceMismatch
    );
    let old = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["auth_time"] = json!(t - 7200);
        c
    });
    assert_eq!(
        app.verify(&old, &nonce).await.unwrap_err(),
        VerifyError::AuthTooOld
    );
    let other_app = IdTokenVerifier::from_issuer(&s.base, "other-client")
        .await
        .unwrap();
    assert!(matches!(
        other_app
            .verify(&id_token, &IdTokenExpectations::default())
            .await,
        Err(VerifyError::WrongAudience { .. })
    ));
    let several = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["aud"] = json!(["app-client", "someone-else"]);
        c
    });
    assert_eq!(
        app.verify(&several, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::AzpMismatch
    );
    let with_azp = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["aud"] = json!(["app-client", "someone-else"]);
        c["azp"] = json!("app-client");
        c
    });
    app.verify(&with_azp, &IdTokenExpectations::default())
        .await
        .unwrap();
    let expired = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["exp"] = json!(t - 3600);
        c
    });
    assert!(matches!(
        app.verify(&expired, &IdTokenExpectations::default()).await,
        Err(VerifyError::Expired { seconds_ago }) if (3599..3700).contains(&seconds_ago)
    ));
    // An access token is not an ID token.
    let at = api_token(&s, &["read:appointments"]).await;
    assert_eq!(
        app.verify(&at, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::WrongType(Some("at+jwt".into()))
    );
}

// ---------------------------------------------------------------------------
// Hostile tokens.

#[tokio::test]
async fn hostile_headers_are_refused_before_any_key_is_used() {
    let rsa = TestKey::new(SigningAlg::RS256, "k-rsa");
    let ec = TestKey::new(SigningAlg::ES256, "k-ec");
    let v = fixed(&[&rsa, &ec]);
    assert!(v.verify(&rsa.access(json!({}))).await.is_ok());
    assert!(v.verify(&ec.access(json!({}))).await.is_ok());

    // alg: none, empty signature.
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "kid": "k-rsa", "typ": "at+jwt"}).to_string()),
        B64.encode(good_claims().to_string())
    );
    assert_eq!(
        v.verify(&none).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm("none".into())
    );

    // HS256 keyed with the RSA public key (the classic confusion).
    let rsa_kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let public_bytes = aws_lc_rs::signature::KeyPair::public_key(&rsa_kp)
        .as_ref()
        .to_vec();
    let input = format!(
        "{}.{}",
        B64.encode(json!({"alg": "HS256", "kid": "k-rsa", "typ": "at+jwt"}).to_string()),
        B64.encode(good_claims().to_string())
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_bytes),
        input.as_bytes(),
    );
    let hs = format!("{input}.{}", B64.encode(mac.as_ref()));
    assert_eq!(
        v.verify(&hs).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm("HS256".into())
    );

    // kid missing from the JWKS, and no kid at all.
    let stranger = TestKey::new(SigningAlg::RS256, "k-unknown");
    assert_eq!(
        v.verify(&stranger.access(json!({}))).await.unwrap_err(),
        VerifyError::UnknownKid("k-unknown".into())
    );
    let no_kid = rsa.sign(json!({"alg": "RS256", "typ": "at+jwt"}), good_claims());
    assert_eq!(
        v.verify(&no_kid).await.unwrap_err(),
        VerifyError::MissingKid
    );

    // The header's alg is not the key's: PS256 and ES256 on an RS256 RSA key,
    // RS256 on the P-256 key.
    let ps = TestKey {
        key: SigningKey::generate(SigningAlg::PS256).unwrap().0,
        kid: "k-rsa".into(),
    };
    assert_eq!(
        v.verify(&ps.access(json!({}))).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "PS256".into(),
            key: "RS256".into()
        }
    );
    let es_on_rsa = ec.sign(
        json!({"alg": "ES256", "kid": "k-rsa", "typ": "at+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&es_on_rsa).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "ES256".into(),
            key: "RS256".into()
        }
    );
    let rs_on_ec = rsa.sign(
        json!({"alg": "RS256", "kid": "k-ec", "typ": "at+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&rs_on_ec).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "RS256".into(),
            key: "ES256".into()
        }
    );

    // Unknown crit.
    let crit = rsa.sign(
        json!({"alg": "RS256", "kid": "k-rsa", "typ": "at+jwt", "crit": ["exp"], "exp": 1}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&crit).await.unwrap_err(),
        VerifyError::UnknownCritical(vec!["exp".into()])
    );

    // Oversized header: refused by size, before parsing.
    let big = rsa.sign(
        json!({"alg": "RS256", "kid": "k-rsa", "typ": "at+jwt", "x": "a".repeat(20_000)}),
        good_claims(),
    );
    assert_eq!(v.verify(&big).await.unwrap_err(), VerifyError::TooLarge);

    // Tampered signature.
    let good = rsa.access(json!({}));
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut sig = B64.decode(sig).unwrap();
    sig[10] ^= 1;
    let bad = format!("{input}.{}", B64.encode(sig));
    assert_eq!(v.verify(&bad).await.unwrap_err(), VerifyError::BadSignature);
    // Tampered claims under the old signature.
    let (h, rest) = good.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    let mut claims = good_claims();
    claims["scope"] = json!("admin");
    let forged = format!("{h}.{}.{s}", B64.encode(claims.to_string()));
    assert_eq!(
        v.verify(&forged).await.unwrap_err(),
        VerifyError::BadSignature
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let k = TestKey::new(SigningAlg::EdDSA, "k1");
    let v = fixed(&[&k]);
    let malformed = |r: Result<Claims, VerifyError>| matches!(r, Err(VerifyError::Malformed(_)));
    assert!(malformed(v.verify("").await));
    assert!(malformed(v.verify("opaque-token-value").await));
    assert!(malformed(v.verify("a.b").await));
    assert!(malformed(v.verify("a.b.c.d.e").await));
    assert!(malformed(v.verify("%%%.abc.def").await));
    assert!(malformed(v.verify("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA").await)); // padding
    // Header is base64 but not JSON, or not an object, or alg of the wrong type.
    for h in [
        &b"{not json"[..],
        b"[1,2]",
        br#"{"alg": 256, "kid": "k1"}"#,
        br#"{"kid":"k1"}"#,
    ] {
        let t = format!("{}.{}.AAAA", B64.encode(h), B64.encode(b"{}"));
        assert!(
            malformed(v.verify(&t).await),
            "{}",
            String::from_utf8_lossy(h)
        );
    }
    // Signature part is not base64url.
    let good = k.access(json!({}));
    let (input, _) = good.rsplit_once('.').unwrap();
    assert!(malformed(v.verify(&format!("{input}.***")).await));
    // Correctly signed, but the payload is not JSON / not an object / has a
    // duplicate claim / a claim of the wrong type.
    let header = k.header().to_string();
    for p in [
        &b"not json"[..],
        b"[]",
        br#"{"iss":"a","iss":"b"}"#,
        br#"{"iss": 5, "sub": "s", "aud": "x", "exp": 1}"#,
    ] {
        let t = k.sign_raw(header.as_bytes(), p);
        assert!(
            malformed(v.verify(&t).await),
            "{}",
            String::from_utf8_lossy(p)
        );
    }
    // Correctly signed, but no `exp` / no `sub`.
    assert_eq!(
        v.verify(&k.access(json!({"exp": null}))).await.unwrap_err(),
        VerifyError::MissingClaim("exp")
    );
    assert_eq!(
        v.verify(&k.access(json!({"sub": null}))).await.unwrap_err(),
        VerifyError::MissingClaim("sub")
    );
}

#[tokio::test]
async fn claims_are_checked() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let v = fixed(&[&k]);
    let t = now();
    assert!(matches!(
        v.verify(&k.access(json!({"exp": t - 3600}))).await,
        Err(VerifyError::Expired { seconds_ago }) if (3600..3700).contains(&seconds_ago)
    ));
    // Within the leeway (60 s) it is still fine; just past it, it is not.
    assert!(v.verify(&k.access(json!({"exp": t - 30}))).await.is_ok());
    assert!(matches!(
        v.verify(&k.access(json!({"exp": t - 61}))).await,
        Err(VerifyError::Expired { .. })
    ));
    let err = v
        .verify(&k.access(json!({"exp": t - 14 * 60})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired 14 minutes ago"), "{err}");
    assert!(matches!(
        v.verify(&k.access(json!({"nbf": t + 3600}))).await,
        Err(VerifyError::NotYetValid { seconds_until }) if (3500..=3600).contains(&seconds_until)
    ));
    assert!(v.verify(&k.access(json!({"nbf": t + 30}))).await.is_ok());
    assert_eq!(
        v.verify(&k.access(json!({"iat": t + 3600})))
            .await
            .unwrap_err(),
        VerifyError::IssuedInFuture
    );
    assert_eq!(
        v.verify(&k.access(json!({"iss": "https://evil.example/"})))
            .await
            .unwrap_err(),
        VerifyError::WrongIssuer {
            expected: ISS.into(),
            actual: "https://evil.example/".into()
        }
    );
    // `iss` is compared exactly: no trailing-slash leniency.
    assert!(matches!(
        v.verify(&k.access(json!({"iss": "https://issuer.example"})))
            .await,
        Err(VerifyError::WrongIssuer { .. })
    ));
    assert_eq!(
        v.verify(&k.access(json!({"aud": ["https://other.example/", "https://x.example/"]})))
            .await
            .unwrap_err(),
        VerifyError::WrongAudience {
            expected: vec![API.into()],
            actual: vec!["https://other.example/".into(), "https://x.example/".into()]
        }
    );
    // Several audiences, one of them ours: fine.
    let c = v
        .verify(&k.access(json!({"aud": ["https://other.example/", API]})))
        .await
        .unwrap();
    assert_eq!(c.aud.len(), 2);

    // typ: JWT is refused unless allowed; other types always.
    let plain = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&plain).await.unwrap_err(),
        VerifyError::WrongType(Some("JWT".into()))
    );
    let lenient = v.clone().with_options(Options {
        accept_plain_jwt_typ: true,
        ..Options::default()
    });
    assert!(lenient.verify(&plain).await.is_ok());
    let no_typ = k.sign(json!({"alg": "ES256", "kid": "k1"}), good_claims());
    assert_eq!(
        lenient.verify(&no_typ).await.unwrap_err(),
        VerifyError::WrongType(None)
    );
    let dpop = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "dpop+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&dpop).await.unwrap_err(),
        VerifyError::WrongType(Some("dpop+jwt".into()))
    );
    let media = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "application/at+jwt"}),
        good_claims(),
    );
    assert!(v.verify(&media).await.is_ok());

    // ID-token shaped: nonce/at_hash with a client's audience, whatever its typ.
    let id_like = k.access(json!({"aud": "spa-client", "nonce": "x"}));
    assert_eq!(
        v.verify(&id_like).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "spa-client".into()
        }
    );
    let id_jwt = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
        json!({"iss": ISS, "sub": "u", "aud": "spa-client", "exp": t + 60, "iat": t}),
    );
    assert_eq!(
        v.verify(&id_jwt).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "spa-client".into()
        }
    );

    // Size cap is configurable.
    let small = v.clone().with_options(Options {
        max_token_bytes: 100,
        ..Options::default()
    });
    assert_eq!(
        small.verify(&k.access(json!({}))).await.unwrap_err(),
        VerifyError::TooLarge
    );

    // Scopes, permissions and other claims come through.
    let c = v
        .verify(&k.access(json!({"permissions": ["read:appointments"], "org_id": "o1"})))
        .await
        .unwrap();
    assert!(c.has_permission("read:appointments") && !c.has_permission("write:appointments"));
    assert!(c.has_scope("write:appointments"));
    assert_eq!(c.extra["org_id"], json!("o1"));
}

#[tokio::test]
async fn another_issuer_reusing_our_kid_does_not_verify() {
    let ours = TestKey::new(SigningAlg::RS256, "shared-kid");
    let theirs = TestKey::new(SigningAlg::RS256, "shared-kid");
    let our_jwks = jwks_server(jwks(&[&ours]), "max-age=60").await;
    let their_jwks = jwks_server(jwks(&[&theirs]), "max-age=60").await;
    let v = AccessTokenVerifier::new(&our_jwks.url, ISS, vec![API.into()]);
    let theirs_v =
        AccessTokenVerifier::new(&their_jwks.url, "https://evil.example/", vec![API.into()]);

    // Their token, naming their issuer or ours, with our kid.
    for iss in ["https://evil.example/", ISS] {
        let token = theirs.access(json!({ "iss": iss }));
        assert_eq!(
            v.verify(&token).await.unwrap_err(),
            VerifyError::BadSignature
        );
    }
    // It is a good token for them (so the refusal is about the key).
    theirs_v
        .verify(&theirs.access(json!({"iss": "https://evil.example/"})))
        .await
        .unwrap();
    assert!(v.verify(&ours.access(json!({}))).await.is_ok());
}

// ---------------------------------------------------------------------------
// The JWKS cache.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_unknown_kids_cause_at_most_one_fetch_per_interval() {
    let k = TestKey::new(SigningAlg::RS256, "k1");
    let server = jwks_server(jwks(&[&k]), "public, max-age=600").await;
    let interval = Duration::from_millis(800);
    let v = AccessTokenVerifier::new(&server.url, ISS, vec![API.into()]).with_options(Options {
        refetch_interval: interval,
        ..Options::default()
    });
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "first use fetches");

    // 200 concurrent tokens, each with a fresh random kid (properly signed,
    // with a real RSA key), from several tasks at once.
    let attacker = TestKey::new(SigningAlg::RS256, "x");
    let tokens: Vec<String> = (0..200)
        .map(|_| {
            let kid = B64.encode(
                aws_lc_rs::rand::generate::<[u8; 16]>(&aws_lc_rs::rand::SystemRandom::new())
                    .unwrap()
                    .expose(),
            );
            attacker.sign(
                json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"}),
                good_claims(),
            )
        })
        .collect();
    let burst = |tokens: Vec<String>| {
        let v = v.clone();
        async move {
            let tasks: Vec<_> = tokens
                .into_iter()
                .map(|t| {
                    let v = v.clone();
                    tokio::spawn(async move { v.verify(&t).await })
                })
                .collect();
            for t in tasks {
                assert!(matches!(t.await.unwrap(), Err(VerifyError::UnknownKid(_))));
            }
        }
    };
    tokio::time::sleep(interval).await;
    burst(tokens.clone()).await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "200 unknown kids, one interval: one fetch"
    );
    // Again within the same interval: none.
    burst(tokens.clone()).await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // Valid tokens meanwhile never fetch.
    for _ in 0..20 {
        v.verify(&k.access(json!({}))).await.unwrap();
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);

    // A real rotation: the issuer publishes a new key. Once the interval has
    // passed, the first token with the new kid fetches once and verifies.
    let k2 = TestKey::new(SigningAlg::ES256, "k2");
    *server.body.lock().await = jwks(&[&k, &k2]);
    tokio::time::sleep(interval).await;
    let new_tokens: Vec<String> = (0..50).map(|_| k2.access(json!({}))).collect();
    let tasks: Vec<_> = new_tokens
        .into_iter()
        .map(|t| {
            let v = v.clone();
            tokio::spawn(async move { v.verify(&t).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_is_refreshed_after_its_max_age_without_blocking() {
    let k = TestKey::new(SigningAlg::EdDSA, "k1");
    let server = jwks_server(jwks(&[&k]), "max-age=1").await;
    let v = AccessTokenVerifier::new(&server.url, ISS, vec![API.into()]).with_options(Options {
        refetch_interval: Duration::from_millis(100),
        ..Options::default()
    });
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // The key is withdrawn; until max-age runs out, it is still used.
    *server.body.lock().await = br#"{"keys":[]}"#.to_vec();
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Stale: this request is answered from the old keys, a refresh starts behind it.
    v.verify(&k.access(json!({}))).await.unwrap();
    for _ in 0..50 {
        if server.hits.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        v.verify(&k.access(json!({}))).await.unwrap_err(),
        VerifyError::UnknownKid("k1".into())
    );
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_distinct_error() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    let v = AccessTokenVerifier::new(&url, ISS, vec![API.into()]);
    assert!(matches!(
        v.verify(&k.access(json!({}))).await,
        Err(VerifyError::JwksUnavailable(_))
    ));
    // Within the interval the failure is remembered, not retried.
    assert!(matches!(
        v.verify(&k.access(json!({}))).await,
        Err(VerifyError::JwksUnavailable(_))
    ));
    assert!(matches!(
        AccessTokenVerifier::from_issuer(&format!("http://127.0.0.1:{port}/"), vec![API.into()])
            .await,
        Err(SetupError::Discovery(_))
    ));
}

// ---------------------------------------------------------------------------
// axum.

async fn appointments(Authenticated(claims): Authenticated) -> Result<String, Rejection> {
    require_scope(&claims, "read:appointments")?;
    Ok(format!("appointments of {}", claims.sub))
}

#[tokio::test]
async fn axum_extractor_and_rfc6750_answers() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let app = axum::Router::new()
        .route("/appointments", get(appointments))
        .layer(VerifyLayer::new(fixed(&[&k])));
    let call = |auth: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri("/appointments");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = res.status();
            let www = res
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, www, body)
        }
    };
    let (status, www, _) = call(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some(r#"Bearer realm="api""#));

    let (status, www, body) = call(Some("Bearer not-a-jwt".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let www = www.unwrap();
    assert!(
        www.starts_with(r#"Bearer realm="api", error="invalid_token", error_description=""#),
        "{www}"
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("well-formed")
    );

    let expired = k.access(json!({"exp": now() - 3600}));
    let (status, www, _) = call(Some(format!("Bearer {expired}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let www = www.unwrap();
    assert!(www.contains("expired 60 minutes ago"), "{www}");

    let no_scope = k.access(json!({"scope": "write:appointments"}));
    let (status, www, body) = call(Some(format!("Bearer {no_scope}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="read:appointments""#)
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "insufficient_scope");

    let good = k.access(json!({}));
    let (status, _, body) = call(Some(format!("bearer {good}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"appointments of worker@clients");

    // Without the layer: a server error, not an open door.
    let bare = axum::Router::new().route("/appointments", get(appointments));
    let res = bare
        .oneshot(
            Request::builder()
                .uri("/appointments")
                .header(header::AUTHORIZATION, format!("Bearer {good}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn inspect_decodes_without_verifying() {
    let k = TestKey::new(SigningAlg::RS256, "k1");
    let (h, c) = dangerous::decode_unverified(&k.access(json!({}))).unwrap();
    assert_eq!(h["kid"], "k1");
    assert_eq!(c["aud"], API);
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(br#"{"sub":"x"}"#)
    );
    let (h, _) = dangerous::decode_unverified(&none).unwrap();
    assert_eq!(h["alg"], "none");
    assert!(matches!(
        dangerous::decode_unverified("opaque"),
        Err(VerifyError::Malformed(_))
    ));
}
