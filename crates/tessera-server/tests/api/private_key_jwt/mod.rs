//! `private_key_jwt` (issue 13): client credentials through the Management
//! API, and client assertions at the token, revocation and introspection
//! endpoints. Keys are made here with aws-lc-rs; the assertions are built by
//! hand, so every malformed shape can be sent.

mod assertions;
mod credentials;
mod endpoints;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384, RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;

use crate::common::*;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A key pair of the test: its public key as PEM (SPKI) and JWK.
pub struct TestKey {
    pub alg: &'static str,
    pkcs8: Vec<u8>,
    pub pem: String,
    pub jwk: Value,
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// An RSA 2048 key for `RS256`, `RS384` or `PS256`.
    pub fn rsa(alg: &'static str) -> Self {
        let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = kp.as_der().unwrap().as_ref().to_vec();
        let public = kp.public_key();
        let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(public).unwrap();
        let jwk = json!({
            "kty": "RSA",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        });
        Self {
            alg,
            pkcs8,
            pem: pem("PUBLIC KEY", spki.as_ref()),
            jwk,
        }
    }

    /// A P-256 key for `ES256`.
    pub fn ec() -> Self {
        let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = kp.to_pkcs8v1().unwrap().as_ref().to_vec();
        let point = kp.public_key().as_ref().to_vec();
        let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key()).unwrap();
        Self {
            alg: "ES256",
            pkcs8,
            pem: pem("PUBLIC KEY", spki.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        }
    }

    /// The private key as PKCS#8 PEM (what must never be accepted).
    pub fn private_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8)
    }

    /// Signs `header.claims` with this key as `alg` (which may differ from
    /// the key's registered one, to test that).
    pub fn sign_as(&self, alg: &str, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = if alg == "ES256" {
            let kp =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8).unwrap();
            kp.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec()
        } else {
            let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).unwrap();
            let padding = match alg {
                "RS384" => &RSA_PKCS1_SHA384,
                "PS256" => &RSA_PSS_SHA256,
                _ => &RSA_PKCS1_SHA256,
            };
            let mut sig = vec![0; kp.public_modulus_len()];
            kp.sign(padding, &rng, input.as_bytes(), &mut sig).unwrap();
            sig
        };
        format!("{input}.{}", b64(&sig))
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.alg, &json!({"alg": self.alg, "typ": "JWT"}), claims)
    }
}

/// An HMAC-SHA256 JWT keyed with `key` (the classic confusion attack: the
/// public key's bytes as an HS256 secret).
pub fn hs256(key: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "HS256", "typ": "JWT"}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&k, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

pub fn now() -> i64 {
    SystemClock.now()
}

static JTI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Fresh, valid claims of an assertion by `client_id` for this server.
pub fn claims(s: &TestServer, client_id: &str) -> Value {
    let n = JTI.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = now();
    json!({
        "iss": client_id, "sub": client_id, "aud": s.base,
        "iat": t, "exp": t + 60, "jti": format!("jti-{n}-{}", tessera_core::ids::prefixed("t").unwrap()),
    })
}

/// Registers `key` (as PEM, or as JWK when `as_jwk`) on `client_id`; the
/// credential as answered.
pub async fn add_credential(
    s: &TestServer,
    admin: &str,
    client_id: &str,
    key: &TestKey,
    as_jwk: bool,
) -> Value {
    let mut body = json!({"credential_type": "public_key", "name": "k", "alg": key.alg});
    if as_jwk {
        body["jwk"] = key.jwk.clone();
    } else {
        body["pem"] = json!(key.pem);
    }
    let r = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{client_id}/credentials"),
            admin,
            Some(body),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

/// Enables `ids` for `private_key_jwt` on `client_id`.
pub async fn enable(s: &TestServer, admin: &str, client_id: &str, ids: &[&str]) -> Reply {
    let credentials: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    s.api(
        Method::PATCH,
        &format!("api/v2/clients/{client_id}"),
        admin,
        Some(json!({"client_authentication_methods": {"private_key_jwt": {"credentials": credentials}}})),
    )
    .await
}

/// A machine client granted `read:clients` on the Management API, using
/// `private_key_jwt` with `key`: (client_id, credential id, its old secret).
pub async fn pkj_client(
    s: &TestServer,
    admin: &str,
    key: &TestKey,
    as_jwk: bool,
) -> (String, String, String) {
    let (id, secret) = s
        .m2m_client(&s.management_audience(), &["read:clients"])
        .await;
    let cred = add_credential(s, admin, &id, key, as_jwk).await;
    let cred_id = cred["id"].as_str().unwrap().to_owned();
    let r = enable(s, admin, &id, &[&cred_id]).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Enabling revoked what the client had obtained, up to this second.
    crate::clients::next_second().await;
    (id, cred_id, secret)
}

/// `client_credentials` for the Management API with `assertion`, plus `extra`
/// parameters.
pub async fn token_with(s: &TestServer, assertion: &str, extra: &[(&str, &str)]) -> Reply {
    let aud = s.management_audience();
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("audience", aud.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    s.token_request(&form).await
}

/// `client_credentials` for the Management API with Basic `id`:`secret`.
pub async fn basic_token(s: &TestServer, id: &str, secret: &str) -> Reply {
    let aud = s.management_audience();
    let res = http()
        .post(s.url("oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
        ])
        .send()
        .await
        .unwrap();
    reply(res).await
}
