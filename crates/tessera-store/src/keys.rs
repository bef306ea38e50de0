use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::keys::{KeyChange, KeyRecord, KeyState};
use tessera_core::store::{KeyStore, StoreError};

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

fn decode(row: &AnyRow) -> Result<KeyRecord, StoreError> {
    let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let alg: String = row.try_get("alg").map_err(get_err)?;
    let state: String = row.try_get("state").map_err(get_err)?;
    let jwk: String = row.try_get("public_jwk").map_err(get_err)?;
    Ok(KeyRecord {
        kid: row.try_get("kid").map_err(get_err)?,
        alg: alg
            .parse()
            .map_err(|e: tessera_core::keys::UnknownAlg| StoreError::Corrupt(e.to_string()))?,
        state: state.parse().map_err(StoreError::Corrupt)?,
        public_jwk: from_json(&jwk)?,
        sealed_private_key: row.try_get("sealed_private_key").map_err(get_err)?,
        created_at: row.try_get("created_at").map_err(get_err)?,
        activated_at: row.try_get("activated_at").map_err(get_err)?,
        retired_at: row.try_get("retired_at").map_err(get_err)?,
        publish_until: row.try_get("publish_until").map_err(get_err)?,
        revoked_at: row.try_get("revoked_at").map_err(get_err)?,
    })
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn list_signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, state, public_jwk, sealed_private_key, created_at, activated_at, retired_at, \
             publish_until, revoked_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn change_signing_keys(
        &self,
        changes: &[KeyChange],
        insert: &[KeyRecord],
    ) -> Result<(), StoreError> {
        let jwks: Vec<String> = insert
            .iter()
            .map(|k| json_text(&k.public_jwk))
            .collect::<Result<_, _>>()?;
        let changes = changes.to_vec();
        let insert: Vec<(KeyRecord, String)> = insert.iter().cloned().zip(jwks).collect();
        in_tx(&self.pool, move |conn| {
            let changes = changes.clone();
            let insert = insert.clone();
            Box::pin(async move {
            // Retire and revoke first, so the one-current/one-next indexes hold
            // at every statement.
            let mut ordered: Vec<&KeyChange> = changes.iter().collect();
            ordered.sort_by_key(|c| match c.record.state {
                KeyState::Previous | KeyState::Revoked => 0,
                _ => 1,
            });
            for change in ordered {
                let r = &change.record;
                let done = sqlx::query(
                    "UPDATE signing_keys SET state = $1, activated_at = $2, retired_at = $3, publish_until = $4, \
                     revoked_at = $5 WHERE kid = $6 AND state = $7",
                )
                .bind(r.state.as_str())
                .bind(r.activated_at)
                .bind(r.retired_at)
                .bind(r.publish_until)
                .bind(r.revoked_at)
                .bind(&r.kid)
                .bind(change.expect.as_str())
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() != 1 {
                    // Somebody else changed this key first: roll back everything.
                    return Err(sqlx::Error::RowNotFound);
                }
            }
            for (k, jwk) in &insert {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, alg, state, public_jwk, sealed_private_key, created_at, \
                     activated_at, retired_at, publish_until, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&k.kid)
                .bind(k.alg.as_str())
                .bind(k.state.as_str())
                .bind(jwk)
                .bind(&k.sealed_private_key)
                .bind(k.created_at)
                .bind(k.activated_at)
                .bind(k.retired_at)
                .bind(k.publish_until)
                .bind(k.revoked_at)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Backend(msg) if msg.contains("no rows returned") => {
                StoreError::Conflict("a signing key was changed concurrently".into())
            }
            other => other,
        })
    }
}
