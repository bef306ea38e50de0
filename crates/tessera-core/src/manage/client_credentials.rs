//! Client credentials (Auth0: `/api/v2/clients/{id}/credentials`): the bodies
//! and the rules that turn a PEM (SPKI public key, PKCS#1 RSA public key or
//! X.509 certificate) or a JWK into a stored public key. Private keys are
//! refused and never stored; so are RSA keys under 2048 bits, curves other
//! than P-256, and a key whose type does not fit `alg`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::{PublicKey, RSAPublicKey};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::clock::UnixTime;
use crate::error::Invalid;
use crate::ids;
use crate::keys::Jwk;
use crate::model::{ClientCredential, CredentialAlg, PublicJwk};

/// Credentials `client_authentication_methods.private_key_jwt` may enable at
/// once (Auth0's limit: two, so a key can roll over).
pub const MAX_CREDENTIALS: usize = 2;
/// Credentials one client may hold.
pub const MAX_STORED_CREDENTIALS: usize = 10;
/// Auth0's limit on `name`.
pub const MAX_NAME_LEN: usize = 128;
/// Longest `pem` (or JWK) accepted.
pub const MAX_KEY_TEXT: usize = 16 * 1024;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// id-ecPublicKey's namedCurve for P-256 (RFC 5480 §2.1.1.1).
const P256: &str = "1.2.840.10045.3.1.7";

/// A new credential (Auth0's body; `jwk` is Tessera's addition).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateClientCredential))]
pub struct NewCredential {
    /// Required: `public_key` (mTLS types `cert_subject_dn` and `x509_cert`
    /// are refused: Tessera has no mTLS client authentication).
    #[serde(default)]
    pub credential_type: Option<String>,
    /// At most 128 characters; default "".
    #[serde(default)]
    pub name: Option<String>,
    /// Applies to `cert_subject_dn` only: refused.
    #[serde(default)]
    pub subject_dn: Option<String>,
    /// PEM: a public key (SPKI or PKCS#1) or an X.509 certificate.
    #[serde(default)]
    pub pem: Option<String>,
    /// Tessera: the public key as a JWK object instead of `pem`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwk: Option<serde_json::Value>,
    /// `RS256` (default), `RS384`, `PS256` or `ES256`.
    #[serde(default)]
    pub alg: Option<String>,
    /// Take `expires_at` from the certificate's notAfter.
    #[serde(default)]
    pub parse_expiry_from_cert: Option<bool>,
    /// RFC 3339; after it the credential verifies nothing.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// `[0-9a-zA-Z-_]{10,64}`; default the key's RFC 7638 thumbprint.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Changes to a credential (Auth0: only `expires_at`; `null` removes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateClientCredential))]
pub struct CredentialChanges {
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub expires_at: Option<Option<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A public key read from a PEM or JWK, with what a certificate adds.
struct ReadKey {
    key: PublicJwk,
    /// notAfter, SHA-256 (base64url) and subject of a certificate.
    cert: Option<(UnixTime, String, String)>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn private_key_refused(property: &str) -> Invalid {
    Invalid::new(
        property,
        "holds a private key: register the public key only (Tessera never stores a private key)",
    )
}

fn rsa_key(modulus: &[u8], exponent: &[u8], property: &str) -> Result<PublicJwk, Invalid> {
    let n: &[u8] = {
        let start = modulus
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(modulus.len());
        &modulus[start..]
    };
    let e: &[u8] = {
        let start = exponent
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(exponent.len());
        &exponent[start..]
    };
    let bits = match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_RSA_BITS {
        return Err(Invalid::new(
            property,
            format!("is an RSA key of {bits} bits: at least {MIN_RSA_BITS} are required"),
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(Invalid::new(
            property,
            format!("is an RSA key of {bits} bits: at most {MAX_RSA_BITS} are accepted"),
        ));
    }
    // An odd public exponent of 3 to 33 bits (2^32 + 1 is the largest in use;
    // aws-lc-rs verifies with up to 33 bits).
    let e_bits = match e.first() {
        Some(first) => e.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if !(2..=33).contains(&e_bits) || e.last().is_some_and(|b| b & 1 == 0) {
        return Err(Invalid::new(
            property,
            "has an unusable RSA public exponent",
        ));
    }
    Ok(PublicJwk {
        kty: "RSA".into(),
        n: Some(b64(n)),
        e: Some(b64(e)),
        crv: None,
        x: None,
        y: None,
    })
}

fn ec_key(point: &[u8], property: &str) -> Result<PublicJwk, Invalid> {
    // Uncompressed SEC1 point: 0x04 || x || y, on the curve.
    if point.len() != 65
        || point[0] != 4
        || aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            point,
        )
        .is_err()
    {
        return Err(Invalid::new(property, "is not a valid P-256 public key"));
    }
    Ok(PublicJwk {
        kty: "EC".into(),
        n: None,
        e: None,
        crv: Some("P-256".into()),
        x: Some(b64(&point[1..33])),
        y: Some(b64(&point[33..65])),
    })
}

fn spki_key(spki: &SubjectPublicKeyInfo<'_>, property: &str) -> Result<PublicJwk, Invalid> {
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa_key(rsa.modulus, rsa.exponent, property),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            if curve.as_deref() != Some(P256) {
                return Err(Invalid::new(
                    property,
                    "is an EC key on a curve other than P-256",
                ));
            }
            ec_key(point.data(), property)
        }
        _ => Err(Invalid::new(
            property,
            "is not an RSA or EC P-256 public key",
        )),
    }
}

fn read_pem(pem: &str) -> Result<ReadKey, Invalid> {
    const P: &str = "pem";
    if pem.contains("PRIVATE KEY") {
        return Err(private_key_refused(P));
    }
    let not_pem = || Invalid::new(P, "is not a PEM public key or certificate");
    let (rest, block) =
        x509_parser::pem::parse_x509_pem(pem.trim().as_bytes()).map_err(|_| not_pem())?;
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err(Invalid::new(P, "must hold exactly one PEM block"));
    }
    match block.label.as_str() {
        "PUBLIC KEY" => {
            let (rest, spki) =
                SubjectPublicKeyInfo::from_der(&block.contents).map_err(|_| not_pem())?;
            if !rest.is_empty() {
                return Err(not_pem());
            }
            Ok(ReadKey {
                key: spki_key(&spki, P)?,
                cert: None,
            })
        }
        "RSA PUBLIC KEY" => {
            let (rest, rsa) = RSAPublicKey::from_der(&block.contents).map_err(|_| not_pem())?;
            if !rest.is_empty() {
                return Err(not_pem());
            }
            Ok(ReadKey {
                key: rsa_key(rsa.modulus, rsa.exponent, P)?,
                cert: None,
            })
        }
        "CERTIFICATE" => {
            let (rest, cert) = X509Certificate::from_der(&block.contents).map_err(|_| not_pem())?;
            if !rest.is_empty() {
                return Err(not_pem());
            }
            let key = spki_key(cert.public_key(), P)?;
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &block.contents);
            Ok(ReadKey {
                key,
                cert: Some((
                    cert.validity().not_after.timestamp(),
                    b64(digest.as_ref()),
                    cert.subject().to_string(),
                )),
            })
        }
        _ => Err(not_pem()),
    }
}

fn read_jwk(jwk: &serde_json::Value) -> Result<ReadKey, Invalid> {
    const P: &str = "jwk";
    let Some(object) = jwk.as_object() else {
        return Err(Invalid::new(P, "must be a JWK object"));
    };
    // RFC 7518 §6.3.2, §6.2.2, §6.4: members only a private or secret key has.
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .any(|m| object.contains_key(*m))
    {
        return Err(private_key_refused(P));
    }
    let text = |m: &str| object.get(m).and_then(|v| v.as_str());
    let bytes = |m: &str| {
        text(m)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| Invalid::new(P, format!("needs a base64url member {m}")))
    };
    let key = match text("kty") {
        Some("RSA") => rsa_key(&bytes("n")?, &bytes("e")?, P)?,
        Some("EC") => {
            if text("crv") != Some("P-256") {
                return Err(Invalid::new(P, "is an EC key on a curve other than P-256"));
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(Invalid::new(P, "is not a valid P-256 public key"));
            }
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            ec_key(&point, P)?
        }
        _ => {
            return Err(Invalid::new(
                P,
                "must be an RSA or EC (P-256) public key (kty RSA or EC)",
            ));
        }
    };
    Ok(ReadKey { key, cert: None })
}

/// RFC 7638 thumbprint of a public key.
pub fn thumbprint(key: &PublicJwk) -> String {
    Jwk {
        kty: key.kty.clone(),
        kid: String::new(),
        use_: "sig".into(),
        alg: String::new(),
        n: key.n.clone(),
        e: key.e.clone(),
        crv: key.crv.clone(),
        x: key.x.clone(),
        y: key.y.clone(),
    }
    .thumbprint()
}

/// An RFC 3339 instant (Auth0's `expires_at`).
fn instant(property: &str, value: &str) -> Result<UnixTime, Invalid> {
    humantime::parse_rfc3339_weak(value)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| {
            Invalid::new(
                property,
                "must be an RFC 3339 date-time in UTC, e.g. 2030-12-31T23:59:59Z",
            )
        })
}

/// A future expiry, or none.
pub fn expiry(value: Option<&str>, now: UnixTime) -> Result<Option<UnixTime>, Invalid> {
    let Some(value) = value else {
        return Ok(None);
    };
    let at = instant("expires_at", value)?;
    if at <= now {
        return Err(Invalid::new("expires_at", "must be in the future"));
    }
    Ok(Some(at))
}

fn valid_kid(kid: &str) -> bool {
    (10..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks `body` and builds the credential of `client_id`.
pub fn build(
    client_id: &str,
    body: NewCredential,
    now: UnixTime,
) -> Result<ClientCredential, crate::manage::clients::CreateError> {
    let credential_type = body
        .credential_type
        .ok_or_else(|| Invalid::new("credential_type", "is required"))?;
    match credential_type.as_str() {
        "public_key" => {}
        "cert_subject_dn" | "x509_cert" => {
            return Err(Invalid::new(
                "credential_type",
                "cert_subject_dn and x509_cert are for mTLS client authentication, which Tessera does not offer: use public_key",
            )
            .into());
        }
        _ => {
            return Err(Invalid::new(
                "credential_type",
                "must be public_key, cert_subject_dn or x509_cert",
            )
            .into());
        }
    }
    if body.subject_dn.is_some() {
        return Err(
            Invalid::new("subject_dn", "applies to cert_subject_dn credentials only").into(),
        );
    }
    let name = body.name.unwrap_or_default();
    if name.chars().count() > MAX_NAME_LEN {
        return Err(
            Invalid::new("name", format!("must be at most {MAX_NAME_LEN} characters")).into(),
        );
    }
    let alg = match body.alg.as_deref() {
        None => CredentialAlg::RS256,
        Some(a) => a
            .parse()
            .map_err(|_| Invalid::new("alg", "must be one of RS256, RS384, PS256, ES256"))?,
    };
    let read = match (&body.pem, &body.jwk) {
        (Some(_), Some(_)) => {
            return Err(Invalid::new("pem", "and jwk are mutually exclusive: send one").into());
        }
        (Some(pem), None) if pem.len() <= MAX_KEY_TEXT => read_pem(pem)?,
        (None, Some(jwk)) if jwk.to_string().len() <= MAX_KEY_TEXT => read_jwk(jwk)?,
        (Some(_), None) | (None, Some(_)) => {
            return Err(
                Invalid::new("pem", format!("must be at most {MAX_KEY_TEXT} bytes")).into(),
            );
        }
        (None, None) => {
            return Err(Invalid::new("pem", "is required for a public_key credential").into());
        }
    };
    if read.key.kty != alg.kty() {
        return Err(Invalid::new(
            "alg",
            format!(
                "{alg} needs an {} key; this is an {} key",
                alg.kty(),
                read.key.kty
            ),
        )
        .into());
    }
    let expires_at = match (body.parse_expiry_from_cert.unwrap_or(false), &read.cert) {
        (true, _) if body.expires_at.is_some() => {
            return Err(Invalid::new(
                "expires_at",
                "and parse_expiry_from_cert are mutually exclusive",
            )
            .into());
        }
        (true, None) => {
            return Err(Invalid::new(
                "parse_expiry_from_cert",
                "needs an X.509 certificate in pem",
            )
            .into());
        }
        (true, Some((not_after, _, _))) => {
            if *not_after <= now {
                return Err(Invalid::new("pem", "is a certificate that has expired").into());
            }
            Some(*not_after)
        }
        (false, _) => expiry(body.expires_at.as_deref(), now)?,
    };
    let kid = match body.kid {
        Some(kid) if valid_kid(&kid) => kid,
        Some(_) => {
            return Err(Invalid::new("kid", "must match [0-9a-zA-Z-_]{10,64}").into());
        }
        None => thumbprint(&read.key),
    };
    let (thumbprint_sha256, subject_dn) = match read.cert {
        Some((_, digest, subject)) => (Some(digest), Some(subject)),
        None => (None, None),
    };
    Ok(ClientCredential {
        id: ids::prefixed("cred")?,
        client_id: client_id.to_owned(),
        name,
        kid,
        alg,
        credential_type,
        key: read.key,
        thumbprint_sha256,
        subject_dn,
        created_at: now,
        updated_at: now,
        expires_at,
    })
}
