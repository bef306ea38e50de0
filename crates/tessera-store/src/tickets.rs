use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::store::{StoreError, TicketStore};
use tessera_core::ticket::{Ticket, TicketKind, password_fingerprint};

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

fn doc(row: &sqlx::any::AnyRow) -> Result<Ticket, StoreError> {
    let text: String = row
        .try_get("doc")
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    from_json(&text)
}

impl SqlStore {
    /// The ticket `sql` (binding hash, kind, now) returns, if any.
    async fn live_ticket(
        &self,
        sql: &str,
        hash: &[u8],
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Option<Ticket>, StoreError> {
        let row = sqlx::query(sql)
            .bind(hash.to_vec())
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(doc).transpose()
    }
}

#[async_trait]
impl TicketStore for SqlStore {
    async fn create_ticket(&self, hash: &[u8], ticket: &Ticket) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tickets (ticket_hash, kind, user_id, doc, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash.to_vec())
        .bind(ticket.kind.as_str())
        .bind(&ticket.user_id)
        .bind(json_text(ticket)?)
        .bind(ticket.created_at)
        .bind(ticket.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_ticket(
        &self,
        hash: &[u8],
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Option<Ticket>, StoreError> {
        self.live_ticket(
            "SELECT doc FROM tickets WHERE ticket_hash = $1 AND kind = $2 AND expires_at > $3",
            hash,
            kind,
            now,
        )
        .await
    }

    async fn consume_ticket(
        &self,
        hash: &[u8],
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Option<Ticket>, StoreError> {
        // One DELETE decides: of concurrent callers, one gets the row.
        self.live_ticket(
            "DELETE FROM tickets WHERE ticket_hash = $1 AND kind = $2 AND expires_at > $3 RETURNING doc",
            hash,
            kind,
            now,
        )
        .await
    }

    async fn replace_password(
        &self,
        user_id: &str,
        replaces: &str,
        new_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.to_owned();
        let replaces = replaces.to_owned();
        let new_hash = new_hash.to_owned();
        in_tx(&self.pool, move |conn| {
            let (user_id, replaces, new_hash) =
                (user_id.clone(), replaces.clone(), new_hash.clone());
            Box::pin(async move {
                let current: Option<Option<String>> =
                    sqlx::query_scalar("SELECT password_hash FROM users WHERE user_id = $1")
                        .bind(&user_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                let Some(Some(current)) = current else {
                    return Ok(false);
                };
                if password_fingerprint(&current) != replaces {
                    return Ok(false);
                }
                // Conditional on the hash read: a concurrent change wins.
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $3, updated_at = $4 \
                     WHERE user_id = $1 AND password_hash = $2",
                )
                .bind(&user_id)
                .bind(&current)
                .bind(&new_hash)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn sweep_tickets(&self, now: UnixTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }
}
