//! `grant_type=password` (RFC 6749 §4.3): a user's email and password against
//! the tenant's default directory (`TESSERA_DEFAULT_DIRECTORY`).

use super::resource_owner::{self, Credentials};
use super::{Ctx, GrantError, Issued};
use crate::client_auth::Presented;
use crate::error::OAuthError;
use crate::model::GrantType;
use crate::params::Params;

#[derive(Debug)]
pub struct Request {
    pub credentials: Credentials,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            credentials: Credentials::parse(params)?,
        })
    }
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    resource_owner::exchange(ctx, presented, GrantType::Password, None, req.credentials).await
}
