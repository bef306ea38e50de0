//! What several grants share: revoking what a grant issued. Grant modules import
//! from here, never from each other's revocation code.

use super::{Ctx, GrantError};
use crate::flow::IssuedToken;
use crate::store::Revocation;

/// Revokes one access token issued under a grant: an opaque one is deleted, a
/// JWT one enters the revocation view until it would have expired anyway.
pub async fn revoke_access_token(ctx: &Ctx<'_>, token: IssuedToken) -> Result<(), GrantError> {
    ctx.store.delete_opaque_token_by_jti(&token.jti).await?;
    if token.expires_at > ctx.now {
        ctx.revocations
            .revoke(Revocation::Jti {
                jti: token.jti,
                expires_at: token.expires_at,
            })
            .await?;
    }
    Ok(())
}

/// Revokes a refresh-token family and every access token issued under it.
pub async fn revoke_family(ctx: &Ctx<'_>, family_id: &str) -> Result<(), GrantError> {
    for token in ctx.store.revoke_refresh_family(family_id, ctx.now).await? {
        revoke_access_token(ctx, token).await?;
    }
    Ok(())
}
