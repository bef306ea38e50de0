//! Password hashing (argon2id, OWASP's parameters) and the password policy.
//! A password is a [`Secret`] from the request to the hash: it never prints.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::types::Secret;

/// m = 19 MiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Slow on purpose: call it
/// off the async runtime (`spawn_blocking`).
pub fn hash(password: &Secret<String>) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// The parameters of every hash Tessera makes: a stored hash that lacks them
/// (an imported one, see [`crate::password_import`]) is replaced at the next
/// successful login.
const CURRENT: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Is `stored` other than Tessera's own argon2id hash (imported, or of older
/// parameters), so that a successful login should replace it?
pub fn needs_rehash(stored: &str) -> bool {
    !stored.starts_with(CURRENT)
}

/// Constant-time check of `password` against a stored hash: an argon2 PHC
/// string (Tessera's, or imported), or an imported hash of another algorithm.
pub fn verify(password: &Secret<String>, phc: &str) -> bool {
    if !phc.starts_with("$argon2") {
        return crate::password_import::verify(password, phc);
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A connection's password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 8 }
    }
}

impl PasswordPolicy {
    /// From a connection's options (`password_complexity_options.min_length`).
    pub fn from_options(options: &serde_json::Value) -> Self {
        let min = options
            .get("password_complexity_options")
            .and_then(|o| o.get("min_length"))
            .and_then(|m| m.as_u64())
            .map(|m| m.clamp(1, 128) as usize)
            .unwrap_or(8);
        Self { min_length: min }
    }

    /// Most characters of a password, whatever the connection.
    pub const MAX_LENGTH: usize = 256;

    /// The policy's rules and whether `password` meets each, as Auth0's
    /// `PasswordStrengthError` lists them (`description.rules`).
    pub fn rules(&self, password: &Secret<String>) -> Vec<PolicyRule> {
        let chars = password.expose().chars().count();
        vec![
            PolicyRule {
                message: "At least %d characters in length",
                format: self.min_length,
                code: "lengthAtLeast",
                verified: chars >= self.min_length,
            },
            PolicyRule {
                message: "At most %d characters in length",
                format: Self::MAX_LENGTH,
                code: "lengthAtMost",
                verified: chars <= Self::MAX_LENGTH,
            },
        ]
    }

    /// The policy in words, one `* ` line per rule (Auth0's `policy`).
    pub fn describe(&self) -> String {
        self.rules(&Secret::new(String::new()))
            .iter()
            .map(|r| format!("* {}", r.message.replace("%d", &r.format.to_string())))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The reason a password is refused, if it is.
    pub fn check(&self, password: &Secret<String>) -> Result<(), String> {
        let chars = password.expose().chars().count();
        if chars < self.min_length {
            return Err(format!(
                "PasswordStrengthError: Password is too weak (at least {} characters)",
                self.min_length
            ));
        }
        if chars > Self::MAX_LENGTH {
            return Err(
                "PasswordStrengthError: Password is too long (at most 256 characters)".into(),
            );
        }
        Ok(())
    }
}

/// One rule of a password policy, with the password's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyRule {
    /// Auth0's message, `%d` standing for `format`.
    pub message: &'static str,
    #[serde(serialize_with = "one_number")]
    pub format: usize,
    pub code: &'static str,
    pub verified: bool,
}

/// Auth0 sends `format` as a list of the message's numbers.
fn one_number<S: serde::Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(1))?;
    seq.serialize_element(n)?;
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[test]
    fn hashes_verify_and_policy_applies() {
        let h = hash(&secret("correct horse")).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&secret("correct horse"), &h));
        assert!(!verify(&secret("correct horsE"), &h));
        assert!(!verify(&secret("x"), "not a hash"));
        let p = PasswordPolicy::default();
        assert!(p.check(&secret("1234567")).is_err());
        assert!(p.check(&secret("12345678")).is_ok());
        assert!(p.check(&secret(&"x".repeat(256))).is_ok());
        assert!(p.check(&secret(&"x".repeat(257))).is_err());
        let strict = PasswordPolicy::from_options(
            &serde_json::json!({"password_complexity_options": {"min_length": 12}}),
        );
        assert_eq!(strict.min_length, 12);
        let rules = strict.rules(&secret("short"));
        assert_eq!(
            serde_json::to_value(&rules[0]).unwrap(),
            serde_json::json!({"message": "At least %d characters in length",
                "format": [12], "code": "lengthAtLeast", "verified": false})
        );
        assert!(rules[1].verified);
        assert_eq!(
            strict.describe(),
            "* At least 12 characters in length\n* At most 256 characters in length"
        );
    }
}
