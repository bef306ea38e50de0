//! Single-use tickets, reached through a link: a password change (emailed by
//! `dbconnections/change_password` or handed out by the Management API) and an
//! email verification. The value is 256 random bits; the store keeps only its
//! SHA-256. A password-change ticket is bound to the user and to the password
//! hash it replaces: once the password changes any other way, it is dead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::ids::RngError;

/// What a ticket lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    PasswordChange,
    EmailVerification,
}

impl TicketKind {
    /// Its name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChange => "password_change",
            Self::EmailVerification => "email_verification",
        }
    }

    /// Lifetime when none is asked: 1 hour for a password change, 5 days for
    /// an email verification (Auth0's defaults).
    pub fn default_lifetime(self) -> i64 {
        match self {
            Self::PasswordChange => 3600,
            Self::EmailVerification => 432_000,
        }
    }
}

/// Longest lifetime a Management API caller may ask (`ttl_sec`): 30 days.
pub const MAX_TICKET_LIFETIME: i64 = 2_592_000;

/// A stored ticket (its value is known only to the link's holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub kind: TicketKind,
    pub user_id: String,
    /// A password change: [`password_fingerprint`] of the hash it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The user's email when the ticket was made, lower-cased: the ticket
    /// works only while it is still the user's (a link mailed to an address
    /// the user has since left must not reset or verify anything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The application the user came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where the success page sends the user (Auth0's `result_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// A password change also marks the email verified.
    #[serde(default)]
    pub mark_email_verified: bool,
    /// `result_url` gets the user's `email` as a parameter.
    #[serde(default)]
    pub include_email_in_redirect: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl Ticket {
    /// Whether the ticket is still for `user`'s email (a ticket made before
    /// emails were recorded in tickets is).
    pub fn still_for(&self, user: &crate::model::User) -> bool {
        match &self.email {
            None => true,
            Some(email) => user
                .email
                .as_deref()
                .is_some_and(|current| current.to_lowercase() == *email),
        }
    }
}

/// A fresh ticket value (256 random bits, base64url) and the hash to store.
pub fn new_ticket_value() -> Result<(String, Vec<u8>), RngError> {
    let value = URL_SAFE_NO_PAD.encode(crate::ids::random_bytes::<32>()?);
    let hash = ticket_hash(&value);
    Ok((value, hash))
}

/// What the store keeps of a ticket value.
pub fn ticket_hash(value: &str) -> Vec<u8> {
    crate::ids::sha256(value.as_bytes())
}

/// A value that may be a ticket: 43 base64url characters. Anything else is
/// refused before the store is asked.
pub fn plausible_ticket(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a password-change ticket remembers of the hash it replaces: its
/// SHA-256 (base64url), so the ticket never holds the hash itself.
pub fn password_fingerprint(password_hash: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::ids::sha256(password_hash.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_256_bits_and_hashed() {
        let (a, ha) = new_ticket_value().unwrap();
        let (b, _) = new_ticket_value().unwrap();
        assert_ne!(a, b);
        assert!(plausible_ticket(&a), "{a}");
        assert_eq!(ha, ticket_hash(&a));
        assert_eq!(ha.len(), 32);
        assert!(!plausible_ticket("short"));
        assert!(!plausible_ticket(&format!("{}=", &a[..42])));
    }

    #[test]
    fn fingerprints_differ_per_hash() {
        assert_ne!(
            password_fingerprint("$argon2id$a"),
            password_fingerprint("$argon2id$b")
        );
        assert_eq!(password_fingerprint("x"), password_fingerprint("x"));
    }

    #[test]
    fn kinds() {
        assert_eq!(TicketKind::PasswordChange.as_str(), "password_change");
        assert_eq!(TicketKind::EmailVerification.default_lifetime(), 432_000);
    }
}
