//! What the tests share: a real Tessera in process, crafted tokens signed with
//! our own keys, and a tiny JWKS server that counts its requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::header;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_server::testing::{TestServer, start_with};
use tessera_verify::{AccessTokenVerifier, FixedClock, Options, OptionsBuilder};
use tokio::sync::{Mutex, oneshot};

pub const API: &str = "https://appointments.example/";
pub const ISS: &str = "https://issuer.example/";

/// The time crafted tokens are relative to (2023-11-14T22:13:20Z), and where
/// the clock of the verifiers that check them stands: so a test states exact
/// ages ("expired 3600 seconds ago"), not ranges around the system's time.
pub const NOW: i64 = 1_700_000_000;

/// Options whose clock stands at [`NOW`]; add settings, then `.build()`.
pub fn at_now() -> OptionsBuilder {
    Options::builder().clock(FixedClock::new(NOW))
}

/// [`at_now`] with nothing else changed.
pub fn options_at_now() -> Options {
    at_now().build().unwrap()
}

// ---------------------------------------------------------------------------
// A real Tessera, in process.

/// A real Tessera in process: the server crate's test harness.
pub type Tessera = TestServer;

pub async fn start(alg: SigningAlg) -> Tessera {
    start_with(alg).await
}

/// Registers the appointments API and a machine-to-machine client granted
/// `scopes` on it; returns a client_credentials access token.
pub async fn api_token(t: &Tessera, scopes: &[&str]) -> String {
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
pub fn sign_id_token(t: &Tessera, claims: Value) -> String {
    tessera_core::jwt::sign(t.state.keys.current().signer(), "JWT", &claims).unwrap()
}

// ---------------------------------------------------------------------------
// Crafted tokens: our own keys, our own kids, JSON by hand.

pub struct TestKey {
    pub key: SigningKey,
    pub kid: String,
}

impl TestKey {
    pub fn new(alg: SigningAlg, kid: &str) -> Self {
        Self {
            key: SigningKey::generate(alg).unwrap().0,
            kid: kid.into(),
        }
    }

    pub fn jwk(&self) -> Value {
        let mut j = serde_json::to_value(self.key.public_jwk()).unwrap();
        j["kid"] = json!(self.kid);
        j
    }

    /// A JWS over exactly these header and payload bytes.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
        let sig = self.key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", B64.encode(sig))
    }

    pub fn sign(&self, header: Value, claims: Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    pub fn header(&self) -> Value {
        json!({"alg": self.key.alg().as_str(), "kid": self.kid, "typ": "at+jwt"})
    }

    /// A valid access token for `API` from `ISS`, with `changes` merged in.
    pub fn access(&self, changes: Value) -> String {
        let mut claims = good_claims();
        merge(&mut claims, changes);
        self.sign(self.header(), claims)
    }
}

pub fn merge(into: &mut Value, changes: Value) {
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

/// A valid client_credentials access token's claims, issued at [`NOW`].
pub fn good_claims() -> Value {
    json!({"iss": ISS, "sub": "worker@clients", "aud": API, "iat": NOW, "exp": NOW + 600,
        "jti": "j1", "client_id": "worker", "azp": "worker",
        "scope": "read:appointments write:appointments", "gty": "client-credentials"})
}

pub fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
        .to_string()
        .into_bytes()
}

/// A verifier for `API` from `ISS` with fixed keys and its clock at [`NOW`].
pub fn fixed(keys: &[&TestKey]) -> AccessTokenVerifier {
    AccessTokenVerifier::from_jwks(&jwks(keys), ISS, vec![API.into()])
        .unwrap()
        .with_options(options_at_now())
}

/// A tiny JWKS server that counts its requests.
pub struct JwksServer {
    pub url: String,
    pub body: Arc<Mutex<Vec<u8>>>,
    pub hits: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

pub async fn jwks_server(body: Vec<u8>, cache_control: &'static str) -> JwksServer {
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
