//! `tessera serve` with `TESSERA_TLS_CERT_FILE`/`TESSERA_TLS_KEY_FILE`, by
//! theme: HTTPS end to end, ALPN and the connection limits ([`https`]),
//! certificate rotation ([`reload`]), refused settings ([`settings`]).
//! Certificates are made here with rcgen: a CA per pair, a leaf for
//! `localhost` and 127.0.0.1 that it signs.

mod https;
mod reload;
mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::common::*;

pub const ADMIN_ID: &str = "tls-admin";
pub const ADMIN_SECRET: &str = "tls-admin-secret-0123456789abcdefghijklmnop";

/// How the leaf's private key is written.
#[derive(Debug, Clone, Copy)]
pub enum KeyFormat {
    /// ECDSA P-256, `PRIVATE KEY`.
    Pkcs8,
    /// ECDSA P-256, `EC PRIVATE KEY`.
    Sec1,
    /// RSA 2048, `RSA PRIVATE KEY`.
    Pkcs1,
}

/// A CA and the leaf certificate and key it issued.
pub struct Pair {
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pem: String,
}

impl Pair {
    pub fn new(label: &str) -> Pair {
        Self::with(label, KeyFormat::Pkcs8)
    }

    pub fn with(label: &str, format: KeyFormat) -> Pair {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("Tessera test CA {label}"));
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = match format {
            KeyFormat::Pkcs1 => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap(),
            KeyFormat::Pkcs8 | KeyFormat::Sec1 => KeyPair::generate().unwrap(),
        };
        let key_pem = match format {
            KeyFormat::Pkcs8 => key.serialize_pem(),
            KeyFormat::Sec1 => pem("EC PRIVATE KEY", &pkcs8_inner(&key.serialize_der())),
            KeyFormat::Pkcs1 => pem("RSA PRIVATE KEY", &pkcs8_inner(&key.serialize_der())),
        };
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("localhost {label}"));
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pair {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem,
        }
    }

    /// Writes the pair to `cert.pem` and `key.pem` in `dir`.
    pub fn write(&self, dir: &Path) {
        std::fs::write(dir.join("cert.pem"), &self.cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &self.key_pem).unwrap();
    }
}

/// The DER element at the start of `der`: its tag, its content, what follows.
fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let (len, start) = match der[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let n = usize::from(long & 0x7f);
            let len = der[2..2 + n]
                .iter()
                .fold(0, |len, b| (len << 8) | usize::from(*b));
            (len, 2 + n)
        }
    };
    (der[0], &der[start..start + len], &der[start + len..])
}

/// The key inside a PKCS#8 `PrivateKeyInfo` (SEQUENCE { version, algorithm,
/// privateKey OCTET STRING }): SEC1 for EC keys, PKCS#1 for RSA keys.
fn pkcs8_inner(der: &[u8]) -> Vec<u8> {
    let (_, info, _) = tlv(der);
    let (_, _, rest) = tlv(info);
    let (_, _, rest) = tlv(rest);
    let (tag, key, _) = tlv(rest);
    assert_eq!(tag, 0x04, "privateKey is an OCTET STRING");
    key.to_vec()
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64(der, false);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn cert_file(sb: &Sandbox) -> PathBuf {
    sb.tmp.path().join("cert.pem")
}

pub fn key_file(sb: &Sandbox) -> PathBuf {
    sb.tmp.path().join("key.pem")
}

pub fn issuer(port: u16) -> String {
    format!("https://localhost:{port}/")
}

/// A client that trusts only the CAs of `trusted`, reaches `localhost` on
/// 127.0.0.1, keeps cookies, follows no redirect and records the server's
/// certificate (`served_by`).
pub fn https_client(port: u16, trusted: &[&Pair]) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .tls_info(true)
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20));
    for pair in trusted {
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(pair.ca_pem.as_bytes()).unwrap());
    }
    builder
}

/// The DER certificate the server presented on the response's connection.
pub fn served_by(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info with the peer certificate")
        .to_vec()
}

/// `tessera serve` over TLS with `pair` (written into the sandbox) as
/// `https://localhost:{port}/`, with the bootstrap admin and `env` on top.
pub async fn start(sb: &Sandbox, pair: &Pair, env: &[(&str, &str)]) -> Server {
    pair.write(sb.tmp.path());
    let port = free_port();
    let cert = cert_file(sb).display().to_string();
    let key = key_file(sb).display().to_string();
    let mut all = vec![
        ("TESSERA_TLS_CERT_FILE", cert.as_str()),
        ("TESSERA_TLS_KEY_FILE", key.as_str()),
        ("TESSERA_BOOTSTRAP_CLIENT_ID", ADMIN_ID),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET),
    ];
    all.extend_from_slice(env);
    let ready = https_client(port, &[pair])
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    Server::start_as(sb, port, &issuer(port), ready, &all).await
}

/// Polls until `probe` holds, at most `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !probe().await {
        assert!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A raw TLS client (rustls on aws-lc-rs) trusting `pair`'s CA and offering
/// the ALPN `protocols`.
pub fn raw_tls_client(pair: &Pair, protocols: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(pair.ca_der.clone()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}
