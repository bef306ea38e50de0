//! `grant_type=http://auth0.com/oauth/grant-type/password-realm` (Auth0's
//! extension grant): the password grant, with `realm` naming the database
//! connection.

use super::resource_owner::{self, Credentials};
use super::{Ctx, GrantError, Issued};
use crate::client_auth::Presented;
use crate::error::{OAuthError, Reason};
use crate::model::GrantType;
use crate::params::Params;

#[derive(Debug)]
pub struct Request {
    pub realm: String,
    pub credentials: Credentials,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let realm = params
            .get("realm")
            .ok_or_else(|| OAuthError::new(Reason::ParameterMissing, "realm is required"))?;
        Ok(Self {
            realm: realm.to_owned(),
            credentials: Credentials::parse(params)?,
        })
    }
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    resource_owner::exchange(
        ctx,
        presented,
        GrantType::PasswordRealm,
        Some(&req.realm),
        req.credentials,
    )
    .await
}
