//! The tenant settings document (`tenant_settings`, one row).

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::manage::tenant_settings::apply_patch;
use tessera_core::store::{StoreError, TenantSettingsStore};

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

/// The stored document read on `conn` (`{}` when none).
pub(crate) async fn read_doc(
    conn: &mut sqlx::AnyConnection,
) -> Result<serde_json::Value, sqlx::Error> {
    let row = sqlx::query("SELECT doc FROM tenant_settings WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok(serde_json::json!({})),
        Some(row) => {
            let doc: String = row.try_get("doc")?;
            from_json(&doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }
    }
}

#[async_trait]
impl TenantSettingsStore for SqlStore {
    async fn get_tenant_settings(&self) -> Result<serde_json::Value, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        read_doc(&mut conn).await.map_err(map_err)
    }

    async fn patch_tenant_settings(
        &self,
        patch: &serde_json::Value,
        now: UnixTime,
    ) -> Result<serde_json::Value, StoreError> {
        let patch = patch.clone();
        in_tx(&self.pool, move |conn| {
            let patch = patch.clone();
            Box::pin(async move {
                // The row exists and is locked (PostgreSQL) before it is read,
                // so concurrent PATCHes apply one after the other.
                sqlx::query(
                    "INSERT INTO tenant_settings (id, doc, updated_at) VALUES (1, '{}', $1) ON CONFLICT (id) DO NOTHING",
                )
                .bind(now)
                .execute(&mut *conn)
                .await?;
                sqlx::query("UPDATE tenant_settings SET updated_at = $1 WHERE id = 1")
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                let mut doc = read_doc(conn).await?;
                apply_patch(&mut doc, &patch);
                let text = json_text(&doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                sqlx::query("UPDATE tenant_settings SET doc = $1 WHERE id = 1")
                    .bind(text)
                    .execute(&mut *conn)
                    .await?;
                Ok(doc)
            })
        })
        .await
    }
}
