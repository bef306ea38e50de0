//! Passwordless login by email code (Auth0's `strategy: email` connections):
//! the code's settings from the connection's options, fresh codes, and their
//! keyed hashes. A code is stored only as an HMAC under the master key, bound
//! to its connection and email: a 6-digit code hashed without a key would be
//! found offline from a copy of the database in a million tries.

use crate::clock::UnixTime;
use crate::envelope::MasterKey;
use crate::ids::{self, RngError};

/// The passwordless email connection's strategy (and Auth0's name for it).
pub const EMAIL_STRATEGY: &str = "email";
/// Tries of one code, the right one included: the fourth is refused.
pub const MAX_TRIES: i64 = 3;
/// Codes sent to one email within [`SEND_WINDOW`] seconds, at most.
pub const MAX_SENDS: i64 = 5;
pub const SEND_WINDOW: i64 = 3600;
/// Defaults and bounds of `options.totp`.
pub const DEFAULT_TIME_STEP: i64 = 300;
pub const MIN_TIME_STEP: i64 = 60;
pub const MAX_TIME_STEP: i64 = 3600;
pub const DEFAULT_LENGTH: u32 = 6;
pub const MIN_LENGTH: u32 = 6;
pub const MAX_LENGTH: u32 = 10;

/// A connection's code settings (`options.totp`): how long a code lives and
/// how many digits it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSettings {
    pub lifetime: i64,
    pub length: u32,
}

impl CodeSettings {
    /// From the connection's options; out-of-range values (refused when the
    /// connection is saved) fall back to the defaults.
    pub fn from_options(options: &serde_json::Value) -> Self {
        let totp = options.get("totp");
        let lifetime = totp
            .and_then(|t| t.get("time_step"))
            .and_then(|v| v.as_i64())
            .filter(|v| (MIN_TIME_STEP..=MAX_TIME_STEP).contains(v))
            .unwrap_or(DEFAULT_TIME_STEP);
        let length = totp
            .and_then(|t| t.get("length"))
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| (MIN_LENGTH..=MAX_LENGTH).contains(v))
            .unwrap_or(DEFAULT_LENGTH);
        Self { lifetime, length }
    }

    /// A fresh code of `length` decimal digits (64 random bits reduced: the
    /// bias is below 10^-9).
    pub fn new_code(&self) -> Result<String, RngError> {
        let n = u64::from_be_bytes(ids::random_bytes::<8>()?) % 10u64.pow(self.length);
        Ok(format!("{n:0width$}", width = self.length as usize))
    }
}

const PURPOSE: &str = "passwordless-otp";

/// Who a code is for: the connection, the email, and the client that asked
/// for it (a code works only for that client).
#[derive(Debug, Clone, Copy)]
pub struct CodeFor<'a> {
    pub connection: &'a str,
    pub email: &'a str,
    pub client_id: &'a str,
}

fn hashed_input(to: CodeFor<'_>, code: &str) -> String {
    format!("{}\0{}\0{}\0{code}", to.connection, to.email, to.client_id)
}

/// The keyed hash a code is stored under.
pub fn code_hash(master: &MasterKey, to: CodeFor<'_>, code: &str) -> [u8; 32] {
    master.keyed_hash(PURPOSE, hashed_input(to, code).as_bytes())
}

/// Constant-time check of a code against its stored keyed hash.
pub fn code_matches(master: &MasterKey, to: CodeFor<'_>, code: &str, stored: &[u8]) -> bool {
    master.verify_keyed_hash(PURPOSE, hashed_input(to, code).as_bytes(), stored)
}

/// A code to store for `email` in `connection` (replacing any earlier one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOtp {
    pub connection: String,
    pub email: String,
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub expires_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_and_codes() {
        let d = CodeSettings::from_options(&json!({}));
        assert_eq!((d.lifetime, d.length), (300, 6));
        let s = CodeSettings::from_options(&json!({"totp": {"time_step": 600, "length": 8}}));
        assert_eq!((s.lifetime, s.length), (600, 8));
        let bad = CodeSettings::from_options(&json!({"totp": {"time_step": 5, "length": 3}}));
        assert_eq!(bad, d);
        for _ in 0..50 {
            let c = d.new_code().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let to = CodeFor {
            connection: "email",
            email: "a@example.com",
            client_id: "app",
        };
        let h = code_hash(&k, to, "123456");
        assert!(code_matches(&k, to, "123456", &h));
        assert!(!code_matches(&k, to, "123457", &h));
        let other = |c: CodeFor<'_>| code_hash(&k, c, "123456");
        assert_ne!(
            h,
            other(CodeFor {
                email: "b@example.com",
                ..to
            })
        );
        assert_ne!(
            h,
            other(CodeFor {
                client_id: "other-app",
                ..to
            })
        );
        assert_ne!(
            h,
            other(CodeFor {
                connection: "email2",
                ..to
            })
        );
        assert_ne!(h, code_hash(&k, to, "123457"));
        assert_ne!(
            h,
            code_hash(&MasterKey::from_bytes(&[8u8; 32]), to, "123456")
        );
    }
}
