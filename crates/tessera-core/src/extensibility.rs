//! The grants' side of Actions: what a trigger run may change in the tokens
//! ([`TokenCustomization`]) and the hooks the server implements with its
//! sandbox ([`ActionHooks`]). The core never runs code itself; it asks the
//! hooks at the points Auth0 runs its triggers and applies what they answer,
//! never letting a custom claim replace one the token already carries.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{OAuthError, StoreError};
use crate::model::{Client, ResourceServer, User};

/// Why a trigger refused the request (an action denied or failed: an OAuth
/// error for the client), or could not run (storage).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Refused(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Auth0's `event.transaction.protocol` of the login that runs post-login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Authorization code flow (`oidc-basic-profile`).
    BasicProfile,
    /// Implicit flow (`oidc-implicit-profile`).
    ImplicitProfile,
    /// Hybrid flow (`oidc-hybrid-profile`).
    HybridProfile,
    /// A refresh token exchange (`oauth2-refresh-token`).
    RefreshToken,
    /// The password grants (`oauth2-resource-owner`).
    ResourceOwner,
    /// The passwordless one-time code grant (`oauth2-password`).
    Passwordless,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BasicProfile => "oidc-basic-profile",
            Self::ImplicitProfile => "oidc-implicit-profile",
            Self::HybridProfile => "oidc-hybrid-profile",
            Self::RefreshToken => "oauth2-refresh-token",
            Self::ResourceOwner => "oauth2-resource-owner",
            Self::Passwordless => "oauth2-password",
        }
    }
}

/// What Auth0's `event.request` shows of the HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub hostname: Option<String>,
    pub method: String,
    /// The query parameters (an `/authorize` request's), without secrets.
    pub query: Vec<(String, String)>,
    /// `ui_locales` or the first `Accept-Language`.
    pub language: Option<String>,
}

/// No request facts (tools, tests).
pub static NO_REQUEST: RequestFacts = RequestFacts {
    ip: None,
    user_agent: None,
    hostname: None,
    method: String::new(),
    query: Vec::new(),
    language: None,
};

/// The post-login trigger's input.
pub struct PostLogin<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub api: Option<&'a ResourceServer>,
    /// The scope the tokens will carry (`event.transaction.requested_scopes`).
    pub scope: &'a [String],
    pub protocol: Protocol,
    pub redirect_uri: Option<&'a str>,
    pub request: &'a RequestFacts,
}

/// The credentials-exchange trigger's input.
pub struct CredentialsExchange<'a> {
    pub client: &'a Client,
    pub api: &'a ResourceServer,
    pub scope: &'a [String],
    pub request: &'a RequestFacts,
}

/// What the post-login actions asked for the tokens of this login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCustomization {
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub id_token_claims: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub access_token_claims: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_scopes: Vec<String>,
}

impl TokenCustomization {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The access token's scope after `addScope`/`removeScope`: removed ones
    /// go, added ones join at the end, each once.
    pub fn access_scope(&self, granted: &[String]) -> Vec<String> {
        let mut out: Vec<String> = granted
            .iter()
            .filter(|s| !self.remove_scopes.contains(s))
            .cloned()
            .collect();
        for s in &self.add_scopes {
            if !out.contains(s) && !self.remove_scopes.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// Applies `setAppMetadata`/`setUserMetadata` changes: a `null` value removes
/// the key, any other value sets it.
pub fn apply_metadata(target: &mut Map<String, Value>, changes: Option<&Map<String, Value>>) {
    for (k, v) in changes.into_iter().flatten() {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Adds `custom` to `claims`, never replacing a claim already there (the
/// sandbox refuses Auth0's restricted claims first; this is the last line).
pub fn merge_claims(claims: &mut Map<String, Value>, custom: &Map<String, Value>) {
    for (name, value) in custom {
        if !claims.contains_key(name) {
            claims.insert(name.clone(), value.clone());
        }
    }
}

/// The triggers, as the server runs them. A denial or a failed action is an
/// `OAuth` error (`access_denied`, or the code a credentials-exchange action
/// chose); the server logs it with the action's id.
#[async_trait]
pub trait ActionHooks: Send + Sync {
    /// Runs the post-login actions, persists the metadata they set, and
    /// answers what they asked for the tokens (empty with no bound action).
    async fn post_login(&self, input: PostLogin<'_>) -> Result<TokenCustomization, HookError>;
    /// Runs the credentials-exchange actions: the custom claims of the access
    /// token (empty with no bound action).
    async fn credentials_exchange(
        &self,
        input: CredentialsExchange<'_>,
    ) -> Result<Map<String, Value>, HookError>;
}

/// No actions: what tools and tests without a sandbox use.
pub struct NoActions;

#[async_trait]
impl ActionHooks for NoActions {
    async fn post_login(&self, _: PostLogin<'_>) -> Result<TokenCustomization, HookError> {
        Ok(TokenCustomization::default())
    }
    async fn credentials_exchange(
        &self,
        _: CredentialsExchange<'_>,
    ) -> Result<Map<String, Value>, HookError> {
        Ok(Map::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_are_removed_then_added_once() {
        let c = TokenCustomization {
            add_scopes: vec!["read:extra".into(), "read:a".into()],
            remove_scopes: vec!["write:a".into()],
            ..TokenCustomization::default()
        };
        let granted = vec!["read:a".to_owned(), "write:a".to_owned()];
        assert_eq!(c.access_scope(&granted), vec!["read:a", "read:extra"]);
    }

    #[test]
    fn a_custom_claim_never_replaces_one_the_token_has() {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("auth0|1"));
        let mut custom = Map::new();
        custom.insert("sub".into(), json!("auth0|admin"));
        custom.insert("https://example.com/role".into(), json!("admin"));
        merge_claims(&mut claims, &custom);
        assert_eq!(claims["sub"], json!("auth0|1"));
        assert_eq!(claims["https://example.com/role"], json!("admin"));
    }
}
