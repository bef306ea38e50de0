//! Signing keys: generation, JWKs with RFC 7638 thumbprints as `kid`, ready-to-use
//! signing handles, their lifecycle, and the in-memory key ring the server signs with.

mod lifecycle;
mod ring;

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use lifecycle::{
    KeyChange, KeyError, KeyPolicy, KeyRecord, KeyState, KeyStore, MAX_TOKEN_LIFETIME,
    RotationRefused,
};
pub use ring::{KeySet, Keys};

/// The JWS algorithms Tessera signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] = [Self::RS256, Self::PS256, Self::ES256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown algorithm {0:?}: expected one of RS256, PS256, ES256, EdDSA")]
pub struct UnknownAlg(pub String);

impl FromStr for SigningAlg {
    type Err = UnknownAlg;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlg(s.to_owned()))
    }
}

/// A public JWK as published in the JWKS (RFC 7517). Only public members exist here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyMaterialError {
    #[error("key generation failed")]
    Generate,
    #[error("stored private key does not parse: {0}")]
    Parse(String),
    #[error("signing failed")]
    Sign,
}

enum Handle {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key parsed once and held ready to sign: signing never re-parses
/// or re-decrypts.
pub struct SigningKey {
    alg: SigningAlg,
    kid: String,
    jwk: Jwk,
    handle: Handle,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {})", self.alg, self.kid)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A new key and its PKCS#8 DER encoding (to be sealed before storing).
    pub fn generate(alg: SigningAlg) -> Result<(Self, Zeroizing<Vec<u8>>), KeyMaterialError> {
        let der: Zeroizing<Vec<u8>> = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyMaterialError::Generate)?;
                Zeroizing::new(
                    kp.as_der()
                        .map_err(|_| KeyMaterialError::Generate)?
                        .as_ref()
                        .to_vec(),
                )
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyMaterialError::Generate)?;
                Zeroizing::new(
                    kp.to_pkcs8v1()
                        .map_err(|_| KeyMaterialError::Generate)?
                        .as_ref()
                        .to_vec(),
                )
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(|_| KeyMaterialError::Generate)?;
                Zeroizing::new(
                    kp.to_pkcs8()
                        .map_err(|_| KeyMaterialError::Generate)?
                        .as_ref()
                        .to_vec(),
                )
            }
        };
        let key = Self::from_pkcs8(alg, &der)?;
        Ok((key, der))
    }

    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyMaterialError> {
        let parse = |e: aws_lc_rs::error::KeyRejected| KeyMaterialError::Parse(e.to_string());
        let (handle, mut jwk) = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let kp = RsaKeyPair::from_pkcs8(der).map_err(parse)?;
                let public = kp.public_key();
                let jwk = Jwk {
                    kty: "RSA".into(),
                    n: Some(b64(public.modulus().big_endian_without_leading_zero())),
                    e: Some(b64(public.exponent().big_endian_without_leading_zero())),
                    ..Jwk::empty(alg)
                };
                (Handle::Rsa(kp), jwk)
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(parse)?;
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let point = kp.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyMaterialError::Parse(
                        "unexpected P-256 public key encoding".into(),
                    ));
                }
                let jwk = Jwk {
                    kty: "EC".into(),
                    crv: Some("P-256".into()),
                    x: Some(b64(&point[1..33])),
                    y: Some(b64(&point[33..65])),
                    ..Jwk::empty(alg)
                };
                (Handle::Ec(kp), jwk)
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::from_pkcs8(der).map_err(parse)?;
                let jwk = Jwk {
                    kty: "OKP".into(),
                    crv: Some("Ed25519".into()),
                    x: Some(b64(kp.public_key().as_ref())),
                    ..Jwk::empty(alg)
                };
                (Handle::Ed(kp), jwk)
            }
        };
        jwk.kid = jwk.thumbprint();
        Ok(Self {
            alg,
            kid: jwk.kid.clone(),
            jwk,
            handle,
            rng: SystemRandom::new(),
        })
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The JWS signature of `message` (RFC 7518 §3: ECDSA signatures are r || s).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyMaterialError> {
        match &self.handle {
            Handle::Rsa(kp) => {
                let padding = if self.alg == SigningAlg::PS256 {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(padding, &self.rng, message, &mut sig)
                    .map_err(|_| KeyMaterialError::Sign)?;
                Ok(sig)
            }
            Handle::Ec(kp) => Ok(kp
                .sign(&self.rng, message)
                .map_err(|_| KeyMaterialError::Sign)?
                .as_ref()
                .to_vec()),
            Handle::Ed(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }
}

impl Jwk {
    fn empty(alg: SigningAlg) -> Self {
        Jwk {
            kty: String::new(),
            kid: String::new(),
            use_: "sig".into(),
            alg: alg.as_str().into(),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url): the required members only, in
    /// lexicographic order, with no white space.
    pub fn thumbprint(&self) -> String {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                s(&self.e),
                s(&self.n)
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s(&self.crv),
                s(&self.x),
                s(&self.y)
            ),
            _ => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
                s(&self.crv),
                self.kty,
                s(&self.x)
            ),
        };
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

/// A published public key, parsed once, ready to verify signatures.
pub struct Verifier {
    alg: SigningAlg,
    key: VerifyKey,
}

enum VerifyKey {
    Rsa(aws_lc_rs::signature::RsaPublicKeyComponents<Vec<u8>>),
    Other(aws_lc_rs::signature::UnparsedPublicKey<Vec<u8>>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.alg)
    }
}

impl Verifier {
    /// From a published JWK; `None` when it is not one of ours.
    pub fn from_jwk(jwk: &Jwk) -> Option<Self> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let alg: SigningAlg = jwk.alg.parse().ok()?;
        let key = match (alg, jwk.kty.as_str()) {
            (SigningAlg::RS256 | SigningAlg::PS256, "RSA") => {
                VerifyKey::Rsa(aws_lc_rs::signature::RsaPublicKeyComponents {
                    n: B64.decode(jwk.n.as_ref()?).ok()?,
                    e: B64.decode(jwk.e.as_ref()?).ok()?,
                })
            }
            (SigningAlg::ES256, "EC") => {
                let mut point = vec![4u8];
                point.extend(B64.decode(jwk.x.as_ref()?).ok()?);
                point.extend(B64.decode(jwk.y.as_ref()?).ok()?);
                VerifyKey::Other(aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                    point,
                ))
            }
            (SigningAlg::EdDSA, "OKP") => {
                VerifyKey::Other(aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ED25519,
                    B64.decode(jwk.x.as_ref()?).ok()?,
                ))
            }
            _ => return None,
        };
        Some(Self { alg, key })
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            VerifyKey::Rsa(components) => {
                let params = if self.alg == SigningAlg::PS256 {
                    &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256
                } else {
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256
                };
                components.verify(params, message, signature).is_ok()
            }
            VerifyKey::Other(key) => key.verify(message, signature).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = Jwk {
            kty: "RSA".into(),
            n: Some(include_str!("../../tests/data/rfc7638_n.txt").trim().into()),
            e: Some("AQAB".into()),
            ..Jwk::empty(SigningAlg::RS256)
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn every_algorithm_generates_parses_and_signs() {
        for alg in SigningAlg::ALL {
            let (key, der) = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8(alg, &der).unwrap();
            assert_eq!(key.kid(), again.kid(), "{alg}");
            assert_eq!(key.kid(), key.public_jwk().thumbprint());
            assert_eq!(key.public_jwk().alg, alg.as_str());
            let sig = key.sign(b"message").unwrap();
            let expected_len = match alg {
                SigningAlg::RS256 | SigningAlg::PS256 => 256,
                SigningAlg::ES256 | SigningAlg::EdDSA => 64,
            };
            assert_eq!(sig.len(), expected_len, "{alg}");
            let verifier = Verifier::from_jwk(key.public_jwk()).unwrap();
            assert!(verifier.verify(b"message", &sig), "{alg}");
            assert!(!verifier.verify(b"messagE", &sig), "{alg}");
        }
    }

    #[test]
    fn alg_names_are_exact() {
        assert_eq!("ES256".parse::<SigningAlg>().unwrap(), SigningAlg::ES256);
        assert!("es256".parse::<SigningAlg>().is_err());
        assert!("HS256".parse::<SigningAlg>().is_err());
        assert!("none".parse::<SigningAlg>().is_err());
    }
}
