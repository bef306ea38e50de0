//! Auth0's custom-claim rules ("Create Custom Claims", General restrictions):
//! * the listed restricted claims cannot be set on either token;
//! * OpenID standard claims cannot be customized: in the ID token the OIDC standard (profile) claims are
//!   refused too, while an access token may carry them ("only specified OIDC user profile claims can be
//!   added to access tokens");
//! * the custom claims payload is at most 100 KB (all custom claims of a token together).
//!
//! A refused claim is dropped; the rest of the token stays intact.

use crate::{RefusalReason, TokenKind};
use serde_json::{Map, Value};

/// Auth0's restricted claim names, as its documentation lists them, plus `scope` (the token's scope is
/// changed only through `addScope`/`removeScope`).
pub const RESTRICTED: &[&str] = &[
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cty",
    "dest",
    "entitlements",
    "events",
    "exp",
    "groups",
    "gty",
    "htm",
    "htu",
    "iat",
    "internalService",
    "iss",
    "jcard",
    "jku",
    "jti",
    "jwe",
    "jwk",
    "kid",
    "may_act",
    "mky",
    "nbf",
    "nonce",
    "object_id",
    "org_id",
    "org_name",
    "orig",
    "origid",
    "permissions",
    "roles",
    "rph",
    "s_hash",
    "sid",
    "sip_callid",
    "sip_cseq_num",
    "sip_date",
    "sip_from_tag",
    "sip_via_branch",
    "sub",
    "sub_jwk",
    "toe",
    "txn",
    "typ",
    "uuid",
    "vot",
    "vtm",
    "x5t#S256",
    "scope",
];

/// OpenID Connect Core §5.1 standard claims: refused in the ID token, where they come from the profile.
pub const OIDC_STANDARD: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// Whether `name` may be set as a custom claim on `token`.
pub fn is_restricted(token: TokenKind, name: &str) -> bool {
    RESTRICTED.contains(&name) || (token == TokenKind::Id && OIDC_STANDARD.contains(&name))
}

/// The bytes one claim adds to the token's JSON payload: `"name":value,`.
fn claim_size(name: &str, json: &str) -> usize {
    // The name is counted as JSON text too, escapes included (a name of control characters is six times
    // its length in the token).
    let name_json = serde_json::to_string(name).map_or(name.len() * 6 + 2, |n| n.len());
    name_json + 1 + json.len() + 1
}

/// The custom claims of one token, with their total size kept against the cap.
#[derive(Debug, Default)]
pub(crate) struct ClaimSet {
    claims: Map<String, Value>,
    sizes: std::collections::HashMap<String, usize>,
    total: usize,
}

impl ClaimSet {
    /// Sets `name` to the JSON text `json` if the rules allow it; a later set of the same name replaces
    /// the earlier one (and its size).
    pub(crate) fn set(
        &mut self,
        token: TokenKind,
        name: &str,
        json: Option<&str>,
        cap: usize,
    ) -> Result<(), RefusalReason> {
        if is_restricted(token, name) {
            return Err(RefusalReason::Restricted);
        }
        let Some(json) = json else {
            return Err(RefusalReason::NotJson);
        };
        let size = claim_size(name, json);
        let previous = self.sizes.get(name).copied().unwrap_or(0);
        if self.total - previous + size > cap {
            return Err(RefusalReason::TooLarge);
        }
        // serde_json bounds the nesting depth (128), so a pathologically deep value is refused here.
        let value: Value = serde_json::from_str(json).map_err(|_| RefusalReason::NotJson)?;
        self.total = self.total - previous + size;
        self.sizes.insert(name.to_owned(), size);
        self.claims.insert(name.to_owned(), value);
        Ok(())
    }

    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_names_are_refused_on_both_tokens_and_standard_ones_in_the_id_token() {
        let mut set = ClaimSet::default();
        for name in ["sub", "iss", "permissions", "org_id", "x5t#S256", "scope"] {
            assert_eq!(
                set.set(TokenKind::Access, name, Some("1"), 1000),
                Err(RefusalReason::Restricted)
            );
            assert_eq!(
                set.set(TokenKind::Id, name, Some("1"), 1000),
                Err(RefusalReason::Restricted)
            );
        }
        assert_eq!(
            set.set(TokenKind::Id, "email", Some("\"a\""), 1000),
            Err(RefusalReason::Restricted)
        );
        assert_eq!(
            set.set(TokenKind::Access, "email", Some("\"a\""), 1000),
            Ok(())
        );
        assert_eq!(
            set.set(TokenKind::Access, "https://x/y", Some("[1,2]"), 1000),
            Ok(())
        );
        assert_eq!(
            set.set(TokenKind::Access, "plain", None, 1000),
            Err(RefusalReason::NotJson)
        );
    }

    #[test]
    fn the_cap_counts_all_claims_and_a_replaced_claim_only_once() {
        let mut set = ClaimSet::default();
        // "a":"xxxx", = 1+2+1+6+1 = 11 bytes.
        assert_eq!(
            set.set(TokenKind::Access, "a", Some("\"xxxx\""), 22),
            Ok(())
        );
        assert_eq!(
            set.set(TokenKind::Access, "a", Some("\"yyyy\""), 22),
            Ok(())
        );
        assert_eq!(
            set.set(TokenKind::Access, "b", Some("\"zzzz\""), 22),
            Ok(())
        );
        assert_eq!(
            set.set(TokenKind::Access, "c", Some("1"), 22),
            Err(RefusalReason::TooLarge)
        );
        let map = set.into_map();
        assert_eq!(map.len(), 2);
        assert_eq!(map["a"], "yyyy");
    }
}
