use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::ids;
use tessera_core::store::{
    BlacklistedToken, LoggedRevocation, Revocation, RevocationStore, StoreError,
};

use crate::{SqlStore, map_err};

fn revocation_of(row: &AnyRow) -> Result<Revocation, StoreError> {
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
}

/// The columns a revocation is stored in: kind, subject, audience,
/// issued_before, expires_at.
fn columns(r: &Revocation) -> (&'static str, &str, Option<String>, Option<i64>, i64) {
    match r {
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
    }
}

#[async_trait]
impl RevocationStore for SqlStore {
    async fn add_revocation(&self, r: &Revocation) -> Result<(), StoreError> {
        let id = ids::prefixed("rev").map_err(|e| StoreError::Backend(e.to_string()))?;
        let (kind, subject, audience, issued_before, expires_at) = columns(r);
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
        rows.iter().map(revocation_of).collect()
    }

    async fn revocations_after(
        &self,
        after: i64,
        now: UnixTime,
    ) -> Result<Vec<LoggedRevocation>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, subject, audience, issued_before, expires_at FROM token_revocations WHERE seq > $1 AND expires_at > $2 ORDER BY seq",
        )
        .bind(after)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(LoggedRevocation {
                    seq: row
                        .try_get("seq")
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    revocation: revocation_of(row)?,
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
        Ok(done.rows_affected() + self.purge_retired_lifetimes(now).await?)
    }
}

/// Test support: revocations that become visible out of number order, as
/// concurrent inserts on PostgreSQL can.
#[cfg(feature = "testing")]
impl SqlStore {
    /// Stores `r` under the number `seq` (one below numbers already read, as a
    /// row whose insert committed late).
    pub async fn add_revocation_numbered(
        &self,
        r: &Revocation,
        seq: i64,
    ) -> Result<(), StoreError> {
        let id = ids::prefixed("rev").map_err(|e| StoreError::Backend(e.to_string()))?;
        let (kind, subject, audience, issued_before, expires_at) = columns(r);
        sqlx::query(
            "INSERT INTO token_revocations (seq, id, kind, subject, audience, issued_before, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
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

    /// Inserts `r` in a transaction left open (PostgreSQL: the row has its
    /// number, later inserts get higher ones and may commit first); it becomes
    /// visible when the returned transaction commits.
    pub async fn begin_revocation(
        &self,
        r: &Revocation,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let id = ids::prefixed("rev").map_err(|e| StoreError::Backend(e.to_string()))?;
        let (kind, subject, audience, issued_before, expires_at) = columns(r);
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO token_revocations (id, kind, subject, audience, issued_before, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(kind)
        .bind(subject)
        .bind(audience)
        .bind(issued_before)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        Ok(tx)
    }
}
