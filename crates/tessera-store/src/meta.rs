use async_trait::async_trait;
use sqlx::Row;
use tessera_core::store::{MetaStore, StoreError};

use crate::{SqlStore, map_err};

#[async_trait]
impl MetaStore for SqlStore {
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get::<String, _>(0))
            .transpose()
            .map_err(map_err)
    }

    async fn put_meta_if_absent(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        self.get_meta(key)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("meta {key} vanished after insert")))
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
