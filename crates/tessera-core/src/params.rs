//! Request parameters of the OAuth endpoints (`/authorize`, the token,
//! revocation and introspection endpoints), each at most once.

use std::collections::BTreeMap;

use crate::error::{OAuthError, Reason};

/// Request parameters, each at most once. RFC 6749 §3.1: a parameter sent
/// without a value is treated as omitted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

/// The names only: values include passwords and client secrets.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Params {
    /// Builds from pairs; a repeated parameter is `invalid_request`.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            // No value anywhere holds a NUL (PostgreSQL text cannot).
            if k.contains('\0') || v.contains('\0') {
                return Err(OAuthError::new(
                    Reason::ParameterNulByte,
                    format!(
                        "parameter {} holds a NUL character",
                        truncate(&k.replace('\0', ""))
                    ),
                ));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(OAuthError::new(
                    Reason::ParameterRepeated,
                    format!("parameter {k} is repeated"),
                ));
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// For error messages: never echo unbounded client input.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}
