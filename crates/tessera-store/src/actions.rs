//! Actions (`actions`), their versions (`action_versions`) and the trigger
//! bindings (`action_bindings`).

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::model::{Action, ActionBinding, ActionVersion, BoundVersion, TriggerId};
use tessera_core::store::{
    ActionDeleted, ActionFilter, ActionStore, ActionUpdated, Page, StoreError,
};

use crate::tenant::{Bind, Conditions, docs};
use crate::{SqlStore, from_json, in_tx, json_text, map_err};

fn decode_err(e: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn binding(row: &sqlx::any::AnyRow) -> Result<ActionBinding, StoreError> {
    let get = |name: &str| -> Result<String, StoreError> {
        row.try_get::<String, _>(name)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let trigger = get("trigger_id")?;
    Ok(ActionBinding {
        id: get("id")?,
        trigger: TriggerId::parse(&trigger)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger {trigger}")))?,
        action_id: get("action_id")?,
        display_name: get("display_name")?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
    })
}

#[async_trait]
impl ActionStore for SqlStore {
    async fn create_action(&self, a: &Action) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO actions (id, name, trigger_id, doc, deployed_version_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
        )
        .bind(&a.id)
        .bind(&a.name)
        .bind(a.trigger.as_str())
        .bind(json_text(a)?)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_action(&self, id: &str) -> Result<Option<Action>, StoreError> {
        self.one_doc("SELECT doc FROM actions WHERE id = $1", id)
            .await
    }

    async fn get_action_by_name(&self, name: &str) -> Result<Option<Action>, StoreError> {
        self.one_doc("SELECT doc FROM actions WHERE name = $1", name)
            .await
    }

    async fn list_actions(
        &self,
        filter: &ActionFilter,
        page: Page,
    ) -> Result<(Vec<Action>, i64), StoreError> {
        let mut cond = Conditions::default();
        if let Some(t) = filter.trigger {
            cond.equals("trigger_id", Bind::Text(t.as_str().to_owned()));
        }
        if let Some(name) = &filter.name {
            cond.equals("name", Bind::Text(name.clone()));
        }
        match filter.deployed {
            Some(true) => cond.raw("deployed_version_id IS NOT NULL"),
            Some(false) => cond.raw("deployed_version_id IS NULL"),
            None => {}
        }
        let (rows, total) = self
            .filtered_page("doc", "actions", "name, id", &cond, page)
            .await?;
        Ok((docs(&rows)?, total))
    }

    async fn update_action(&self, a: &Action) -> Result<ActionUpdated, StoreError> {
        // The deployed version is the deploy's to set: the stored one is kept
        // whatever the document says.
        let a = a.clone();
        in_tx(&self.pool, move |conn| {
            let mut a = a.clone();
            Box::pin(async move {
                // The row's lock first: a binding being made meanwhile locks it
                // too, so it is seen below or sees this trigger.
                let locked = sqlx::query("UPDATE actions SET updated_at = updated_at WHERE id = $1")
                    .bind(&a.id)
                    .execute(&mut *conn)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Ok(ActionUpdated::NotFound);
                }
                let row = sqlx::query("SELECT deployed_version_id FROM actions WHERE id = $1")
                    .bind(&a.id)
                    .fetch_one(&mut *conn)
                    .await?;
                a.deployed_version_id = row.try_get("deployed_version_id")?;
                let bound_elsewhere: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM action_bindings WHERE action_id = $1 AND trigger_id <> $2",
                )
                .bind(&a.id)
                .bind(a.trigger.as_str())
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
                if bound_elsewhere > 0 {
                    return Ok(ActionUpdated::Bound);
                }
                let doc = json_text(&a).map_err(decode_err)?;
                // The trigger column too: the listing's filter and the
                // bindings' check read it (an unbound action may change trigger).
                sqlx::query(
                    "UPDATE actions SET name = $2, trigger_id = $3, doc = $4, updated_at = $5 WHERE id = $1",
                )
                .bind(&a.id)
                .bind(&a.name)
                .bind(a.trigger.as_str())
                .bind(&doc)
                .bind(a.updated_at)
                .execute(&mut *conn)
                .await?;
                Ok(ActionUpdated::Updated)
            })
        })
        .await
    }

    async fn delete_action(&self, id: &str, force: bool) -> Result<ActionDeleted, StoreError> {
        let id = id.to_owned();
        in_tx(&self.pool, move |conn| {
            let id = id.clone();
            Box::pin(async move {
                // The action's row first (locked), then its bindings: a binding
                // being added meanwhile either sees the action gone or is seen.
                let found = sqlx::query("UPDATE actions SET updated_at = updated_at WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                if found.rows_affected() == 0 {
                    return Ok(ActionDeleted::NotFound);
                }
                let bound: i64 =
                    sqlx::query("SELECT COUNT(*) AS n FROM action_bindings WHERE action_id = $1")
                        .bind(&id)
                        .fetch_one(&mut *conn)
                        .await?
                        .try_get("n")?;
                if bound > 0 && !force {
                    return Ok(ActionDeleted::Bound);
                }
                sqlx::query("DELETE FROM action_bindings WHERE action_id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM action_versions WHERE action_id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM actions WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                Ok(ActionDeleted::Deleted)
            })
        })
        .await
    }

    async fn deploy_action_version(
        &self,
        version: &ActionVersion,
        draft: Option<&Action>,
        now: UnixTime,
    ) -> Result<Option<ActionVersion>, StoreError> {
        let version = version.clone();
        let draft = draft.cloned();
        in_tx(&self.pool, move |conn| {
            let mut version = version.clone();
            let draft = draft.clone();
            Box::pin(async move {
                // Lock the action's row: concurrent deploys number one after
                // the other.
                let Some(row) = sqlx::query(
                    "UPDATE actions SET updated_at = $2 WHERE id = $1 RETURNING doc",
                )
                .bind(&version.action_id)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?
                else {
                    return Ok(None);
                };
                let mut action: Action =
                    from_json(&row.try_get::<String, _>("doc")?).map_err(decode_err)?;
                let last: Option<i64> = sqlx::query(
                    "SELECT MAX(number) AS n FROM action_versions WHERE action_id = $1",
                )
                .bind(&version.action_id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
                version.number = last.unwrap_or(0) + 1;
                sqlx::query(
                    "INSERT INTO action_versions (id, action_id, number, doc, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&version.id)
                .bind(&version.action_id)
                .bind(version.number)
                .bind(json_text(&version).map_err(decode_err)?)
                .bind(version.created_at)
                .execute(&mut *conn)
                .await?;
                if let Some(draft) = draft {
                    action.name = draft.name;
                    action.draft = draft.draft;
                }
                action.deployed_version_id = Some(version.id.clone());
                action.updated_at = now;
                sqlx::query(
                    "UPDATE actions SET name = $2, doc = $3, deployed_version_id = $4 WHERE id = $1",
                )
                .bind(&action.id)
                .bind(&action.name)
                .bind(json_text(&action).map_err(decode_err)?)
                .bind(&version.id)
                .execute(&mut *conn)
                .await?;
                Ok(Some(version))
            })
        })
        .await
    }

    async fn list_action_versions(
        &self,
        action_id: &str,
        page: Page,
    ) -> Result<(Vec<ActionVersion>, i64), StoreError> {
        let mut cond = Conditions::default();
        cond.equals("action_id", Bind::Text(action_id.to_owned()));
        let (rows, total) = self
            .filtered_page("doc", "action_versions", "number DESC", &cond, page)
            .await?;
        Ok((docs(&rows)?, total))
    }

    async fn get_action_version(
        &self,
        action_id: &str,
        id: &str,
    ) -> Result<Option<ActionVersion>, StoreError> {
        let row = sqlx::query("SELECT doc FROM action_versions WHERE action_id = $1 AND id = $2")
            .bind(action_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| from_json(&r.try_get::<String, _>("doc").map_err(map_err)?))
            .transpose()
    }

    async fn list_action_bindings(
        &self,
        trigger: TriggerId,
    ) -> Result<Vec<ActionBinding>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, trigger_id, action_id, display_name, created_at, updated_at \
             FROM action_bindings WHERE trigger_id = $1 ORDER BY position",
        )
        .bind(trigger.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(binding).collect()
    }

    async fn set_action_bindings(
        &self,
        trigger: TriggerId,
        bindings: &[ActionBinding],
    ) -> Result<bool, StoreError> {
        let bindings = bindings.to_vec();
        in_tx(&self.pool, move |conn| {
            let bindings = bindings.clone();
            Box::pin(async move {
                // Each named action is locked and must be deployed, before
                // anything is written: a concurrent delete either ran first
                // (no row: refused) or waits and then sees these bindings.
                for b in &bindings {
                    let deployed = sqlx::query(
                        "UPDATE actions SET updated_at = updated_at \
                         WHERE id = $1 AND trigger_id = $2 AND deployed_version_id IS NOT NULL",
                    )
                    .bind(&b.action_id)
                    .bind(trigger.as_str())
                    .execute(&mut *conn)
                    .await?;
                    if deployed.rows_affected() == 0 {
                        return Ok(false);
                    }
                }
                sqlx::query("DELETE FROM action_bindings WHERE trigger_id = $1")
                    .bind(trigger.as_str())
                    .execute(&mut *conn)
                    .await?;
                for (position, b) in bindings.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO action_bindings \
                         (trigger_id, position, id, action_id, display_name, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(trigger.as_str())
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(&b.id)
                    .bind(&b.action_id)
                    .bind(&b.display_name)
                    .bind(b.created_at)
                    .bind(b.updated_at)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    async fn load_trigger(&self, trigger: TriggerId) -> Result<Vec<BoundVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id, b.trigger_id, b.action_id, b.display_name, b.created_at, b.updated_at, \
                    a.name AS action_name, v.doc AS version_doc \
             FROM action_bindings b \
             JOIN actions a ON a.id = b.action_id \
             JOIN action_versions v ON v.id = a.deployed_version_id \
             WHERE b.trigger_id = $1 ORDER BY b.position",
        )
        .bind(trigger.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(BoundVersion {
                    binding: binding(row)?,
                    action_name: row.try_get("action_name").map_err(map_err)?,
                    version: from_json(&row.try_get::<String, _>("version_doc").map_err(map_err)?)?,
                })
            })
            .collect()
    }
}
