//! The front-channel ID token: what `/authorize` itself returns for
//! `response_type=id_token` (implicit, OIDC Core §3.2) and `code id_token`
//! (hybrid, §3.3). It carries the user's claims by scope (§5.4: with no access
//! token there is no UserInfo call to get them), `nonce`, `auth_time`, `sid`,
//! and with a code its `c_hash`, which binds the code to this response.

use crate::clock::UnixTime;
use crate::jwt::{self, JwtError};
use crate::keys::SigningKey;
use crate::model::{Client, User};
use crate::token::id::{IdTokenInput, half_hash, id_token_claims};

/// Who logged in, to which client, with what.
pub struct FrontChannelIdToken<'a> {
    pub issuer: &'a str,
    pub client: &'a Client,
    pub user: &'a User,
    /// The granted scope (it decides the profile claims).
    pub scope: &'a [String],
    pub sid: &'a str,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    /// The code issued in the same response (hybrid), for `c_hash`.
    pub code: Option<&'a str>,
    pub now: UnixTime,
    /// Custom claims the post-login actions set (never replacing one above).
    pub custom: &'a serde_json::Map<String, serde_json::Value>,
}

impl FrontChannelIdToken<'_> {
    /// The signed ID token.
    pub fn sign(&self, signer: &SigningKey) -> Result<String, JwtError> {
        let mut claims = id_token_claims(
            self.user,
            self.scope,
            IdTokenInput {
                issuer: self.issuer,
                client_id: &self.client.client_id,
                now: self.now,
                lifetime: self.client.id_token_lifetime(),
                auth_time: self.auth_time,
                sid: self.sid,
                nonce: self.nonce,
                at_hash: None,
                c_hash: self.code.map(|code| half_hash(signer.alg(), code)),
            },
        );
        crate::extensibility::merge_claims(&mut claims, self.custom);
        jwt::sign(signer, jwt::TYP_JWT, &claims)
    }
}
