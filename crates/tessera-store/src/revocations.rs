use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::ids;
use tessera_core::store::{BlacklistedToken, Revocation, RevocationStore, StoreError};

use crate::{SqlStore, map_err};

#[async_trait]
impl RevocationStore for SqlStore {
    async fn add_revocation(&self, r: &Revocation) -> Result<(), StoreError> {
        let id = ids::prefixed("rev").map_err(|e| StoreError::Backend(e.to_string()))?;
        let (kind, subject, audience, issued_before, expires_at) = match r {
            Revocation::Jti { jti, expires_at } => ("jti", jti.as_str(), None, None, *expires_at),
            Revocation::Client {
                client_id,
                audience,
                issued_before,
                expires_at,
            } => (
                "client",
                client_id.as_str(),
                audience.clone(),
                Some(*issued_before),
                *expires_at,
            ),
        };
        sqlx::query(
            "INSERT INTO token_revocations (id, kind, subject, audience, issued_before, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(kind)
        .bind(subject)
        .bind(audience)
        .bind(issued_before)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn live_revocations(&self, now: UnixTime) -> Result<Vec<Revocation>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, subject, audience, issued_before, expires_at FROM token_revocations WHERE expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let kind: String = row.try_get("kind").map_err(get)?;
                let subject: String = row.try_get("subject").map_err(get)?;
                let expires_at: i64 = row.try_get("expires_at").map_err(get)?;
                Ok(match kind.as_str() {
                    "jti" => Revocation::Jti {
                        jti: subject,
                        expires_at,
                    },
                    _ => Revocation::Client {
                        client_id: subject,
                        audience: row.try_get("audience").map_err(get)?,
                        issued_before: row
                            .try_get::<Option<i64>, _>("issued_before")
                            .map_err(get)?
                            .unwrap_or(0),
                        expires_at,
                    },
                })
            })
            .collect()
    }

    async fn add_blacklisted_token(
        &self,
        token: &BlacklistedToken,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let id = ids::prefixed("rev").map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO token_revocations (id, kind, subject, audience, issued_before, expires_at) VALUES ($1, 'jti', $2, $3, NULL, $4)",
        )
        .bind(id)
        .bind(&token.jti)
        .bind(token.aud.as_deref())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_blacklisted_tokens(
        &self,
        now: UnixTime,
        aud: Option<&str>,
    ) -> Result<Vec<BlacklistedToken>, StoreError> {
        let query = match aud {
            Some(aud) => sqlx::query(
                "SELECT DISTINCT subject, audience FROM token_revocations WHERE kind = 'jti' AND expires_at > $1 AND audience = $2",
            )
            .bind(now)
            .bind(aud.to_owned()),
            None => sqlx::query(
                "SELECT DISTINCT subject, audience FROM token_revocations WHERE kind = 'jti' AND expires_at > $1",
            )
            .bind(now),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut out = rows
            .iter()
            .map(|row| {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(BlacklistedToken {
                    jti: row.try_get("subject").map_err(get)?,
                    aud: row.try_get("audience").map_err(get)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort();
        Ok(out)
    }

    async fn purge_revocations(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM token_revocations WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
