use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::flow::{IssuedToken, RefreshFamily, RefreshUse};
use tessera_core::store::{RefreshStore, StoreError};

use crate::{SqlStore, in_tx, json_text, map_err};

/// The parts of a family kept in its JSON document.
#[derive(serde::Serialize, serde::Deserialize)]
struct FamilyDoc {
    scope: Vec<String>,
    audience: Option<String>,
    sid: String,
    auth_time: i64,
}

const FAMILY_COLUMNS: &str = "f.id AS id, f.client_id AS client_id, f.user_id AS user_id, f.doc AS doc, \
     f.created_at AS created_at, f.expires_at AS expires_at, f.last_used_at AS last_used_at, f.revoked_at AS revoked_at";

fn family(row: &AnyRow) -> Result<RefreshFamily, sqlx::Error> {
    let doc: String = row.try_get("doc")?;
    let doc: FamilyDoc =
        serde_json::from_str(&doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(RefreshFamily {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        scope: doc.scope,
        audience: doc.audience,
        sid: doc.sid,
        auth_time: doc.auth_time,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn is_live(f: &RefreshFamily, now: UnixTime) -> bool {
    f.revoked_at.is_none() && f.expires_at.is_none_or(|e| e > now)
}

#[async_trait]
impl RefreshStore for SqlStore {
    async fn create_refresh_family(
        &self,
        f: &RefreshFamily,
        token_hash: &[u8],
        idle_expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let doc = json_text(&FamilyDoc {
            scope: f.scope.clone(),
            audience: f.audience.clone(),
            sid: f.sid.clone(),
            auth_time: f.auth_time,
        })?;
        let (f, hash) = (f.clone(), token_hash.to_vec());
        in_tx(&self.pool, move |conn| {
            let (f, hash, doc) = (f.clone(), hash.clone(), doc.clone());
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO refresh_families (id, client_id, user_id, doc, created_at, expires_at, last_used_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
                )
                .bind(&f.id)
                .bind(&f.client_id)
                .bind(&f.user_id)
                .bind(doc)
                .bind(f.created_at)
                .bind(f.expires_at)
                .bind(f.last_used_at)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, created_at, rotated_at, idle_expires_at) VALUES ($1, $2, $3, NULL, $4)",
                )
                .bind(hash)
                .bind(&f.id)
                .bind(f.created_at)
                .bind(idle_expires_at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn use_refresh_token(
        &self,
        client_id: &str,
        token_hash: &[u8],
        successor_hash: &[u8],
        rotate: bool,
        leeway: i64,
        now: UnixTime,
        idle_expires_at: UnixTime,
    ) -> Result<RefreshUse, StoreError> {
        let (hash, successor, client_id) = (
            token_hash.to_vec(),
            successor_hash.to_vec(),
            client_id.to_owned(),
        );
        in_tx(&self.pool, move |conn| {
            let (hash, successor, client_id) = (hash.clone(), successor.clone(), client_id.clone());
            Box::pin(async move {
                let select = format!(
                    "SELECT {FAMILY_COLUMNS}, t.rotated_at AS rotated_at, t.idle_expires_at AS idle_expires_at \
                     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = $1"
                );
                let Some(row) = sqlx::query(&select).bind(hash.clone()).fetch_optional(&mut *conn).await? else {
                    return Ok(RefreshUse::Invalid);
                };
                let fam = family(&row)?;
                if fam.client_id != client_id || !is_live(&fam, now) {
                    return Ok(RefreshUse::Invalid);
                }
                let mut rotated_at: Option<i64> = row.try_get("rotated_at")?;
                let idle: i64 = row.try_get("idle_expires_at")?;
                if rotated_at.is_none() {
                    if idle <= now {
                        return Ok(RefreshUse::Invalid);
                    }
                    if !rotate {
                        sqlx::query("UPDATE refresh_tokens SET idle_expires_at = $2 WHERE token_hash = $1")
                            .bind(hash.clone())
                            .bind(idle_expires_at)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("UPDATE refresh_families SET last_used_at = $2 WHERE id = $1")
                            .bind(&fam.id)
                            .bind(now)
                            .execute(&mut *conn)
                            .await?;
                        return Ok(RefreshUse::Live(fam));
                    }
                    // Exactly one concurrent caller retires the token.
                    let won = sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL")
                        .bind(hash.clone())
                        .bind(now)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                        == 1;
                    if won {
                        sqlx::query(
                            "INSERT INTO refresh_tokens (token_hash, family_id, created_at, rotated_at, idle_expires_at) \
                             VALUES ($1, $2, $3, NULL, $4)",
                        )
                        .bind(successor)
                        .bind(&fam.id)
                        .bind(now)
                        .bind(idle_expires_at)
                        .execute(&mut *conn)
                        .await?;
                        sqlx::query("UPDATE refresh_families SET last_used_at = $2 WHERE id = $1")
                            .bind(&fam.id)
                            .bind(now)
                            .execute(&mut *conn)
                            .await?;
                        return Ok(RefreshUse::Rotated(fam));
                    }
                    rotated_at = sqlx::query("SELECT rotated_at FROM refresh_tokens WHERE token_hash = $1")
                        .bind(hash.clone())
                        .fetch_one(&mut *conn)
                        .await?
                        .try_get("rotated_at")?;
                }
                let retired = rotated_at.unwrap_or(now);
                if now - retired < leeway {
                    return Ok(RefreshUse::Replayed(fam));
                }
                // Reuse of a retired token: the family is revoked (RFC 9700 §4.14.2).
                sqlx::query("UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(&fam.id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(RefreshUse::Reused(fam))
            })
        })
        .await
    }

    async fn live_refresh_family(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
             WHERE t.token_hash = $1 AND t.rotated_at IS NULL AND t.idle_expires_at > $2"
        ))
        .bind(token_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let fam = row.as_ref().map(family).transpose().map_err(map_err)?;
        Ok(fam.filter(|f| is_live(f, now)))
    }

    async fn get_refresh_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families f WHERE f.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(family).transpose().map_err(map_err)
    }

    async fn revoke_refresh_family(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Vec<IssuedToken>, StoreError> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        let rows = sqlx::query(
            "SELECT jti, expires_at FROM family_access_tokens WHERE family_id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(IssuedToken {
                    jti: r.try_get("jti").map_err(map_err)?,
                    expires_at: r.try_get("expires_at").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn record_family_token(
        &self,
        family_id: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO family_access_tokens (jti, family_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(family_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_refresh_families(
        &self,
        user_id: &str,
        client_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<RefreshFamily>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families f WHERE f.user_id = $1 AND ($2 IS NULL OR f.client_id = $2) \
             AND f.revoked_at IS NULL AND (f.expires_at IS NULL OR f.expires_at > $3) ORDER BY f.created_at, f.id"
        ))
        .bind(user_id)
        .bind(client_id.map(str::to_owned))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(family)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }

    async fn sweep_refresh(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut total = 0;
        for sql in [
            // Revoked families are kept a day, so a late reuse is still recognised.
            "DELETE FROM refresh_families WHERE (expires_at IS NOT NULL AND expires_at <= $1) OR (revoked_at IS NOT NULL AND revoked_at <= $1 - 86400)",
            // Retired tokens are kept while their family lives (reuse detection);
            // idle ones that were never used go.
            "DELETE FROM refresh_tokens WHERE rotated_at IS NULL AND idle_expires_at <= $1",
            "DELETE FROM family_access_tokens WHERE expires_at <= $1",
        ] {
            total += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(total)
    }
}
