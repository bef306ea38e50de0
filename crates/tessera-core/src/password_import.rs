//! Password hashes imported with users (Auth0's bulk import: `password_hash`
//! and `custom_password_hash`), checked at import, stored, and verified at
//! login until the first successful login replaces them with Tessera's
//! argon2id hash (see `password::needs_rehash`).
//!
//! How an imported hash is stored in the users' `password_hash` column:
//! - bcrypt (`$2a$`, `$2b$`, `$2y$`), argon2 (`$argon2i$`, `$argon2d$`,
//!   `$argon2id$` PHC strings) and PBKDF2 (`$pbkdf2-<digest>$i=…,l=…$salt$hash`,
//!   Auth0's PHC form) as given: each names its algorithm;
//! - the plain digests (`md5`, `sha1`, `sha256`, `sha512`, `hmac`) as
//!   `$tessera-digest$` followed by the base64url (no padding) of a JSON
//!   document holding the algorithm, the digest bytes, the salt and its
//!   position, the HMAC key and the password's encoding.
//!
//! Every final comparison is constant-time. Costs are bounded at import
//! (bcrypt cost, argon2 memory and passes, PBKDF2 iterations), so that an
//! imported hash cannot make a login arbitrarily expensive.

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::types::Secret;

/// The prefix of a stored plain-digest hash.
const DIGEST_TAG: &str = "$tessera-digest$";
/// The most bcrypt cost accepted (2^18 rounds: about a second per login).
pub const MAX_BCRYPT_COST: u32 = 18;
/// The most PBKDF2 iterations accepted.
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// The most argon2 memory accepted, KiB (256 MiB), and passes.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
pub const MAX_ARGON2_PASSES: u32 = 16;

/// Why an imported hash is refused: Auth0's error code, a message and the
/// JSON path (`#/custom_password_hash/algorithm`) of the property at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {path}: {message}")]
pub struct HashRefused {
    pub code: &'static str,
    pub message: String,
    pub path: String,
}

fn refused(code: &'static str, path: &str, message: impl Into<String>) -> HashRefused {
    HashRefused {
        code,
        message: message.into(),
        path: format!("#/{path}"),
    }
}

/// The stored form of a user's imported hash, from the row's `password_hash`
/// and `custom_password_hash` properties (either, not both); `None` when the
/// row has neither.
pub fn from_import(
    password_hash: Option<&Value>,
    custom: Option<&Value>,
) -> Result<Option<String>, HashRefused> {
    match (password_hash, custom) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(refused(
            "CONFLICTING_PROPERTIES",
            "custom_password_hash",
            "password_hash and custom_password_hash are mutually exclusive",
        )),
        (Some(Value::String(h)), None) => {
            check_bcrypt(h, "password_hash")?;
            Ok(Some(h.clone()))
        }
        (Some(_), None) => Err(refused(
            "INVALID_TYPE",
            "password_hash",
            "Expected type string",
        )),
        (None, Some(c)) => custom_hash(c).map(Some),
    }
}

/// `custom_password_hash`, as Auth0 documents it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Custom {
    algorithm: String,
    hash: CustomHash,
    salt: Option<CustomSalt>,
    password: Option<CustomPassword>,
    /// scrypt's key length: Tessera does not verify scrypt.
    #[allow(dead_code)]
    keylen: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomHash {
    value: String,
    encoding: Option<String>,
    digest: Option<String>,
    key: Option<Encoded>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Encoded {
    value: String,
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomSalt {
    value: String,
    encoding: Option<String>,
    position: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomPassword {
    encoding: Option<String>,
}

/// The stored document of a plain-digest hash.
#[derive(Debug, Serialize, Deserialize)]
struct DigestHash {
    /// `md5`, `sha1`, `sha256`, `sha512`, or `hmac-<digest>`.
    alg: String,
    hash: String,
    #[serde(default)]
    salt: String,
    #[serde(default)]
    salt_suffix: bool,
    #[serde(default)]
    key: String,
    #[serde(default)]
    password_encoding: String,
}

fn decode(value: &str, encoding: Option<&str>, path: &str) -> Result<Vec<u8>, HashRefused> {
    let bad = |what: &str| refused("INVALID_FORMAT", path, format!("not valid {what}"));
    match encoding.unwrap_or("utf8") {
        "utf8" => Ok(value.as_bytes().to_vec()),
        "hex" => {
            if !value.len().is_multiple_of(2) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("hex"));
            }
            (0..value.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&value[i..i + 2], 16).map_err(|_| bad("hex")))
                .collect()
        }
        "base64" => STANDARD
            .decode(value)
            .or_else(|_| STANDARD_NO_PAD.decode(value))
            .map_err(|_| bad("base64")),
        other => Err(refused(
            "ENUM_MISMATCH",
            &format!("{path}/../encoding"),
            format!("No enum match for: {other}"),
        )),
    }
}

fn custom_hash(value: &Value) -> Result<String, HashRefused> {
    let custom: Custom = serde_json::from_value(value.clone()).map_err(|e| {
        refused(
            "INVALID_FORMAT",
            "custom_password_hash",
            format!("not a custom_password_hash: {e}"),
        )
    })?;
    let alg = custom.algorithm.as_str();
    let phc = matches!(alg, "bcrypt" | "argon2" | "pbkdf2");
    if phc {
        if custom.hash.encoding.as_deref().is_some_and(|e| e != "utf8") {
            return Err(refused(
                "INVALID_FORMAT",
                "custom_password_hash/hash/encoding",
                format!("{alg} hashes are strings: the encoding must be utf8"),
            ));
        }
        if custom.salt.is_some() {
            return Err(refused(
                "INVALID_FORMAT",
                "custom_password_hash/salt",
                format!("a {alg} hash carries its salt"),
            ));
        }
    }
    let v = custom.hash.value.as_str();
    match alg {
        "bcrypt" => check_bcrypt(v, "custom_password_hash/hash/value").map(|_| v.to_owned()),
        "argon2" => check_argon2(v).map(|_| v.to_owned()),
        "pbkdf2" => parse_pbkdf2(v).map(|_| v.to_owned()),
        "md5" | "sha1" | "sha256" | "sha512" | "hmac" => digest_hash(custom),
        "ldap" | "md4" | "scrypt" => Err(refused(
            "UNSUPPORTED_ALGORITHM",
            "custom_password_hash/algorithm",
            format!("Tessera does not verify {alg} hashes"),
        )),
        other => Err(refused(
            "ENUM_MISMATCH",
            "custom_password_hash/algorithm",
            format!("No enum match for: {other}"),
        )),
    }
}

fn digest_hash(custom: Custom) -> Result<String, HashRefused> {
    let path = "custom_password_hash/hash";
    let alg = if custom.algorithm == "hmac" {
        let d = custom.hash.digest.as_deref().unwrap_or("");
        if !matches!(d, "sha1" | "sha256" | "sha512") {
            return Err(refused(
                "ENUM_MISMATCH",
                "custom_password_hash/hash/digest",
                format!("No enum match for: {d} (Tessera verifies hmac with sha1, sha256, sha512)"),
            ));
        }
        format!("hmac-{d}")
    } else {
        custom.algorithm.clone()
    };
    let key = match (&custom.hash.key, alg.starts_with("hmac-")) {
        (Some(k), true) => decode(
            &k.value,
            k.encoding.as_deref(),
            "custom_password_hash/hash/key/value",
        )?,
        (None, true) => {
            return Err(refused(
                "OBJECT_MISSING_REQUIRED_PROPERTY",
                "custom_password_hash/hash/key",
                "Missing required property: key",
            ));
        }
        (_, false) => Vec::new(),
    };
    // Digests are binary: hex or base64 (utf8 would be the hex text itself).
    let encoding = custom.hash.encoding.as_deref().unwrap_or("hex");
    if encoding == "utf8" {
        return Err(refused(
            "INVALID_FORMAT",
            "custom_password_hash/hash/encoding",
            "a digest is hex or base64",
        ));
    }
    let hash = decode(&custom.hash.value, Some(encoding), &format!("{path}/value"))?;
    let want = digest_len(&alg);
    if hash.len() != want {
        return Err(refused(
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
            format!("a {alg} digest is {want} bytes"),
        ));
    }
    let (salt, salt_suffix) = match custom.salt {
        None => (Vec::new(), false),
        Some(s) => {
            let suffix = match s.position.as_deref().unwrap_or("prefix") {
                "prefix" => false,
                "suffix" => true,
                other => {
                    return Err(refused(
                        "ENUM_MISMATCH",
                        "custom_password_hash/salt/position",
                        format!("No enum match for: {other}"),
                    ));
                }
            };
            (
                decode(
                    &s.value,
                    s.encoding.as_deref(),
                    "custom_password_hash/salt/value",
                )?,
                suffix,
            )
        }
    };
    let password_encoding = custom
        .password
        .and_then(|p| p.encoding)
        .unwrap_or_else(|| "utf8".into());
    if !matches!(
        password_encoding.as_str(),
        "utf8" | "ascii" | "latin1" | "binary" | "utf16le" | "ucs2"
    ) {
        return Err(refused(
            "ENUM_MISMATCH",
            "custom_password_hash/password/encoding",
            format!("No enum match for: {password_encoding}"),
        ));
    }
    let doc = DigestHash {
        alg,
        hash: URL_SAFE_NO_PAD.encode(hash),
        salt: URL_SAFE_NO_PAD.encode(salt),
        salt_suffix,
        key: URL_SAFE_NO_PAD.encode(key),
        password_encoding,
    };
    let json = serde_json::to_vec(&doc)
        .map_err(|e| refused("INVALID_FORMAT", "custom_password_hash", e.to_string()))?;
    Ok(format!("{DIGEST_TAG}{}", URL_SAFE_NO_PAD.encode(json)))
}

fn digest_len(alg: &str) -> usize {
    match alg.trim_start_matches("hmac-") {
        "md5" => 16,
        "sha1" => 20,
        "sha256" => 32,
        _ => 64,
    }
}

fn check_bcrypt(hash: &str, path: &str) -> Result<(), HashRefused> {
    let bad = || {
        refused(
            "INVALID_FORMAT",
            path,
            "not a bcrypt hash ($2a$, $2b$ or $2y$)",
        )
    };
    let prefix_ok = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p));
    if !prefix_ok || hash.len() != 60 {
        return Err(bad());
    }
    let parts: bcrypt::HashParts = hash.parse().map_err(|_| bad())?;
    let cost = parts.get_cost();
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(refused(
            "INVALID_FORMAT",
            path,
            format!("bcrypt cost must be between 4 and {MAX_BCRYPT_COST}"),
        ));
    }
    Ok(())
}

fn check_argon2(hash: &str) -> Result<(), HashRefused> {
    let path = "custom_password_hash/hash/value";
    let parsed = argon2::PasswordHash::new(hash)
        .map_err(|_| refused("INVALID_FORMAT", path, "not an argon2 PHC string"))?;
    if !matches!(
        parsed.algorithm.as_str(),
        "argon2i" | "argon2d" | "argon2id"
    ) {
        return Err(refused("INVALID_FORMAT", path, "not an argon2 PHC string"));
    }
    let params = argon2::Params::try_from(&parsed)
        .map_err(|_| refused("INVALID_FORMAT", path, "bad argon2 parameters"))?;
    if parsed.hash.is_none()
        || params.m_cost() > MAX_ARGON2_MEMORY_KIB
        || params.t_cost() > MAX_ARGON2_PASSES
        || params.p_cost() > 16
    {
        return Err(refused(
            "INVALID_FORMAT",
            path,
            "argon2 parameters out of range (m at most 262144, t at most 16, p at most 16)",
        ));
    }
    Ok(())
}

/// Auth0's PBKDF2 form: `$pbkdf2-<digest>$i=<iterations>,l=<key length>$<salt>$<hash>`,
/// salt and hash in base64 without padding.
struct Pbkdf2 {
    alg: pbkdf2::Algorithm,
    iterations: std::num::NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_pbkdf2(s: &str) -> Result<Pbkdf2, HashRefused> {
    let path = "custom_password_hash/hash/value";
    let bad = |m: &str| refused("INVALID_FORMAT", path, m.to_owned());
    let mut parts = s.split('$');
    let (Some(""), Some(id), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad("not $pbkdf2-<digest>$i=<n>,l=<n>$<salt>$<hash>"));
    };
    let alg = match id {
        "pbkdf2-sha1" => pbkdf2::PBKDF2_HMAC_SHA1,
        "pbkdf2-sha256" => pbkdf2::PBKDF2_HMAC_SHA256,
        "pbkdf2-sha384" => pbkdf2::PBKDF2_HMAC_SHA384,
        "pbkdf2-sha512" => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => return Err(bad("the digest must be sha1, sha256, sha384 or sha512")),
    };
    let (mut iterations, mut len) = (None, None);
    for p in params.split(',') {
        match p.split_once('=') {
            Some(("i", v)) => iterations = v.parse::<u32>().ok(),
            Some(("l", v)) => len = v.parse::<usize>().ok(),
            _ => return Err(bad("parameters are i and l")),
        }
    }
    let iterations = iterations
        .filter(|i| *i <= MAX_PBKDF2_ITERATIONS)
        .and_then(std::num::NonZeroU32::new)
        .ok_or_else(|| bad("i must be between 1 and 5000000"))?;
    let b64 = |v: &str| {
        STANDARD_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|_| bad("salt and hash are base64 without padding"))
    };
    let (salt, hash) = (b64(salt)?, b64(hash)?);
    if hash.is_empty() || len.is_some_and(|l| l != hash.len()) || hash.len() > 1024 {
        return Err(bad("l must be the hash's length in bytes"));
    }
    Ok(Pbkdf2 {
        alg,
        iterations,
        salt,
        hash,
    })
}

/// The password's bytes as the source system encoded them (Node's encodings).
fn password_bytes(password: &str, encoding: &str) -> Vec<u8> {
    match encoding {
        "utf16le" | "ucs2" => password
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect(),
        // Node's latin1/binary/ascii keep each UTF-16 unit's low byte.
        "latin1" | "binary" | "ascii" => password.encode_utf16().map(|u| u as u8).collect(),
        _ => password.as_bytes().to_vec(),
    }
}

/// Does `password` match an imported hash in its stored form? False for
/// anything that is not one (and for Tessera's own argon2id hashes: see
/// `password::verify`).
pub fn verify(password: &Secret<String>, stored: &str) -> bool {
    let given = password.expose();
    if stored.starts_with("$2") {
        return bcrypt::verify(given, stored).unwrap_or(false);
    }
    if stored.starts_with("$pbkdf2-") {
        return match parse_pbkdf2(stored) {
            Ok(p) => {
                pbkdf2::verify(p.alg, p.iterations, &p.salt, given.as_bytes(), &p.hash).is_ok()
            }
            Err(_) => false,
        };
    }
    if let Some(doc) = stored.strip_prefix(DIGEST_TAG) {
        return verify_digest(given, doc).unwrap_or(false);
    }
    false
}

fn verify_digest(given: &str, doc: &str) -> Option<bool> {
    let doc: DigestHash = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(doc).ok()?).ok()?;
    let expected = URL_SAFE_NO_PAD.decode(&doc.hash).ok()?;
    let salt = URL_SAFE_NO_PAD.decode(&doc.salt).ok()?;
    let mut message = password_bytes(given, &doc.password_encoding);
    if doc.salt_suffix {
        message.extend_from_slice(&salt);
    } else {
        let mut salted = salt;
        salted.extend_from_slice(&message);
        message = salted;
    }
    let computed: Vec<u8> = match doc.alg.as_str() {
        "md5" => {
            use md5::Digest;
            md5::Md5::digest(&message).to_vec()
        }
        "sha1" => digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &message)
            .as_ref()
            .to_vec(),
        "sha256" => digest::digest(&digest::SHA256, &message).as_ref().to_vec(),
        "sha512" => digest::digest(&digest::SHA512, &message).as_ref().to_vec(),
        hmac_alg => {
            let alg = match hmac_alg {
                "hmac-sha1" => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                "hmac-sha256" => hmac::HMAC_SHA256,
                "hmac-sha512" => hmac::HMAC_SHA512,
                _ => return None,
            };
            let key = URL_SAFE_NO_PAD.decode(&doc.key).ok()?;
            hmac::sign(&hmac::Key::new(alg, &key), &message)
                .as_ref()
                .to_vec()
        }
    };
    Some(computed.len() == expected.len() && bool::from(computed.ct_eq(&expected)))
}

#[cfg(test)]
#[path = "password_import_tests.rs"]
mod tests;
