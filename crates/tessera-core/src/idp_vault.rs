//! The IdP-token vault: an upstream identity provider's tokens for one
//! identity of a user, sealed field by field under the master key
//! (AES-256-GCM), the additional data binding each blob to the user, the
//! connection and the field, so a blob copied to another row, user or field
//! does not open. Stored through [`crate::store::IdpTokenStore`]; shown only
//! to Management API callers holding `read:user_idp_tokens`; never logged
//! (every token is a [`Secret`]), never in Tessera's own tokens or userinfo.

use crate::clock::UnixTime;
use crate::envelope::{MasterKey, OpenError};
use crate::ids::RngError;
use crate::types::Secret;

/// The longest lifetime taken from a provider's `expires_in` (ten years):
/// anything longer is cut to it, so no arithmetic overflows.
const MAX_EXPIRES_IN: i64 = 10 * 365 * 24 * 3600;

/// A provider's `expires_in` (RFC 6749 §5.1), read robustly: a JSON number
/// (integer or float, truncated to whole seconds) or a numeric string
/// (`"3599"`, as Azure AD v1 sends). Zero or negative is "expired now"
/// (`Some(0)`). Missing, `null`, or anything else is an unknown lifetime
/// (`None`; the Token Vault then assumes
/// [`crate::grant::token_vault::UNKNOWN_LIFETIME_SECONDS`] when it holds a
/// refresh token).
pub fn parse_expires_in(value: Option<&serde_json::Value>) -> Option<i64> {
    let seconds = match value? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !seconds.is_finite() {
        return None;
    }
    // Saturating float-to-int conversion, within bounds.
    Some(seconds.clamp(0.0, MAX_EXPIRES_IN as f64) as i64)
}

/// The tokens as sealed in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedIdpTokens {
    pub user_id: String,
    pub connection: String,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub id_token: Option<Vec<u8>>,
    /// When the upstream access token expires, when the provider said.
    pub expires_at: Option<UnixTime>,
    pub updated_at: UnixTime,
}

/// The tokens in the clear (only ever in memory).
#[derive(Debug)]
pub struct IdpTokens {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub id_token: Option<Secret<String>>,
    pub expires_at: Option<UnixTime>,
}

fn aad(user_id: &str, connection: &str, field: &str) -> String {
    // Lengths first: no (user, connection) pair can produce another's text.
    format!(
        "idp_token:{}:{user_id}:{}:{connection}:{field}",
        user_id.len(),
        connection.len()
    )
}

impl IdpTokens {
    pub fn seal(
        &self,
        master: &MasterKey,
        user_id: &str,
        connection: &str,
        now: UnixTime,
    ) -> Result<SealedIdpTokens, RngError> {
        let seal = |field: &str, value: &Secret<String>| {
            master.seal(&aad(user_id, connection, field), value.expose().as_bytes())
        };
        Ok(SealedIdpTokens {
            user_id: user_id.to_owned(),
            connection: connection.to_owned(),
            access_token: seal("access_token", &self.access_token)?,
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|t| seal("refresh_token", t))
                .transpose()?,
            id_token: self
                .id_token
                .as_ref()
                .map(|t| seal("id_token", t))
                .transpose()?,
            expires_at: self.expires_at,
            updated_at: now,
        })
    }
}

impl SealedIdpTokens {
    pub fn open(&self, master: &MasterKey) -> Result<IdpTokens, OpenError> {
        let open = |field: &str, blob: &[u8]| -> Result<Secret<String>, OpenError> {
            let plain = master.open(&aad(&self.user_id, &self.connection, field), blob)?;
            String::from_utf8(plain.to_vec())
                .map(Secret::new)
                .map_err(|_| OpenError::Corrupt)
        };
        Ok(IdpTokens {
            access_token: open("access_token", &self.access_token)?,
            refresh_token: self
                .refresh_token
                .as_deref()
                .map(|b| open("refresh_token", b))
                .transpose()?,
            id_token: self
                .id_token
                .as_deref()
                .map(|b| open("id_token", b))
                .transpose()?,
            expires_at: self.expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn expires_in_is_read_from_numbers_strings_and_floats() {
        use super::parse_expires_in as p;
        use serde_json::json;
        assert_eq!(p(Some(&json!(3600))), Some(3600));
        assert_eq!(p(Some(&json!("3599"))), Some(3599));
        assert_eq!(p(Some(&json!(" 3599 "))), Some(3599));
        assert_eq!(p(Some(&json!(3600.0))), Some(3600));
        assert_eq!(p(Some(&json!(3600.9))), Some(3600));
        assert_eq!(p(Some(&json!("1e3"))), Some(1000));
        assert_eq!(p(Some(&json!(0))), Some(0));
        assert_eq!(p(Some(&json!("0"))), Some(0));
        assert_eq!(p(Some(&json!(-5))), Some(0));
        assert_eq!(p(Some(&json!(u64::MAX))), Some(super::MAX_EXPIRES_IN));
        assert_eq!(p(None), None);
        assert_eq!(p(Some(&json!(null))), None);
        assert_eq!(p(Some(&json!("soon"))), None);
        assert_eq!(p(Some(&json!("NaN"))), None);
        assert_eq!(p(Some(&json!("inf"))), None);
        assert_eq!(p(Some(&json!(true))), None);
        assert_eq!(p(Some(&json!([3600]))), None);
    }

    use super::*;

    #[test]
    fn each_field_is_bound_to_its_user_connection_and_name() {
        let master = MasterKey::from_bytes(&[3; 32]);
        let tokens = IdpTokens {
            access_token: Secret::new("at-1".into()),
            refresh_token: Some(Secret::new("rt-1".into())),
            id_token: None,
            expires_at: Some(100),
        };
        let sealed = tokens.seal(&master, "oidc|c|1", "c", 5).unwrap();
        let opened = sealed.open(&master).unwrap();
        assert_eq!(opened.access_token.expose(), "at-1");
        assert_eq!(opened.refresh_token.as_ref().unwrap().expose(), "rt-1");
        assert!(opened.id_token.is_none());
        let moved = SealedIdpTokens {
            user_id: "oidc|c|2".into(),
            ..sealed.clone()
        };
        assert!(moved.open(&master).is_err());
        let swapped = SealedIdpTokens {
            access_token: sealed.refresh_token.clone().unwrap(),
            ..sealed.clone()
        };
        assert!(swapped.open(&master).is_err());
        assert!(!format!("{opened:?}{sealed:?}").contains("at-1"));
    }
}
