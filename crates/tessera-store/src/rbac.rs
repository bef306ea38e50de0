//! Role-based access control: `roles`, `role_permissions`, `user_roles`,
//! `user_permissions` (migration 0027). Foreign keys delete what refers to a
//! deleted role, user or API; [`forget_removed_scopes`] does it for a scope an
//! API no longer defines.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::model::{ResourceServer, User};
use tessera_core::rbac::{
    MAX_PERMISSION_SOURCES, Permission, PermissionSource, RbacStore, Role, UserPermission,
};
use tessera_core::store::{Page, StoreError};

use crate::{SqlStore, in_tx, map_err};

fn corrupt(e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn role(row: &AnyRow) -> Result<Role, StoreError> {
    Ok(Role {
        id: row.try_get("id").map_err(corrupt)?,
        name: row.try_get("name").map_err(corrupt)?,
        description: row.try_get("description").map_err(corrupt)?,
    })
}

fn permission(row: &AnyRow) -> Result<Permission, StoreError> {
    Ok(Permission {
        resource_server_identifier: row.try_get("resource_server_identifier").map_err(corrupt)?,
        permission_name: row.try_get("permission_name").map_err(corrupt)?,
    })
}

/// `LIKE` pattern (escape `\`) of names containing `needle`, lower-cased.
fn contains_pattern(needle: &str) -> String {
    let mut out = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The permissions a user holds, direct or through a role (one row each).
const USER_PERMISSIONS: &str = "SELECT resource_server_identifier, permission_name \
     FROM user_permissions WHERE user_id = $1 \
     UNION SELECT rp.resource_server_identifier, rp.permission_name \
     FROM role_permissions rp JOIN user_roles ur ON ur.role_id = rp.role_id WHERE ur.user_id = $1";

/// Called by `update_resource_server` in its transaction: the permissions
/// naming a scope `old` defined and `new` does not are deleted.
pub(crate) async fn forget_removed_scopes(
    conn: &mut sqlx::AnyConnection,
    old: &ResourceServer,
    new: &ResourceServer,
) -> Result<(), sqlx::Error> {
    for gone in old
        .scopes
        .iter()
        .filter(|s| !new.scopes.iter().any(|n| n.value == s.value))
    {
        for table in ["role_permissions", "user_permissions"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE resource_server_identifier = $1 AND permission_name = $2"
            ))
            .bind(&new.identifier)
            .bind(&gone.value)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

impl SqlStore {
    async fn count_bound(&self, sql: &str, binds: &[&str]) -> Result<i64, StoreError> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let row = q.fetch_one(&self.pool).await.map_err(map_err)?;
        row.try_get::<i64, _>(0).map_err(corrupt)
    }

    /// One page of `SELECT {columns} FROM {from} ORDER BY {order}` with `$1`
    /// bound to `key`, decoded, and the count of every row.
    async fn paged<T>(
        &self,
        columns: &str,
        from: &str,
        order: &str,
        key: &str,
        page: Page,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, i64), StoreError> {
        let total = self
            .count_bound(&format!("SELECT COUNT(*) FROM {from}"), &[key])
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM {from} ORDER BY {order} LIMIT $2 OFFSET $3"
        ))
        .bind(key)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok((rows.iter().map(decode).collect::<Result<_, _>>()?, total))
    }

    /// Inserts `(owner, identifier, name)` rows into `table` (whose owner
    /// column is `owner_col`), existing ones left, in one transaction.
    async fn add_permissions(
        &self,
        table: &'static str,
        owner_col: &'static str,
        owner: &str,
        permissions: &[Permission],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        let permissions = permissions.to_vec();
        in_tx(&self.pool, move |conn| {
            let (owner, permissions) = (owner.clone(), permissions.clone());
            Box::pin(async move {
                for p in &permissions {
                    sqlx::query(&format!(
                        "INSERT INTO {table} ({owner_col}, resource_server_identifier, permission_name, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
                    ))
                    .bind(&owner)
                    .bind(&p.resource_server_identifier)
                    .bind(&p.permission_name)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn remove_permissions(
        &self,
        table: &'static str,
        owner_col: &'static str,
        owner: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        let permissions = permissions.to_vec();
        in_tx(&self.pool, move |conn| {
            let (owner, permissions) = (owner.clone(), permissions.clone());
            Box::pin(async move {
                for p in &permissions {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE {owner_col} = $1 \
                         AND resource_server_identifier = $2 AND permission_name = $3"
                    ))
                    .bind(&owner)
                    .bind(&p.resource_server_identifier)
                    .bind(&p.permission_name)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Where the user's `p` comes from: directly, and the roles granting it.
    async fn permission_sources(
        &self,
        user_id: &str,
        p: &Permission,
    ) -> Result<Vec<PermissionSource>, StoreError> {
        let mut sources = Vec::new();
        let direct = sqlx::query(
            "SELECT 1 FROM user_permissions WHERE user_id = $1 \
             AND resource_server_identifier = $2 AND permission_name = $3",
        )
        .bind(user_id)
        .bind(&p.resource_server_identifier)
        .bind(&p.permission_name)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if direct.is_some() {
            sources.push(PermissionSource::Direct);
        }
        let rows = sqlx::query(
            "SELECT r.id, r.name FROM roles r \
             JOIN user_roles ur ON ur.role_id = r.id \
             JOIN role_permissions rp ON rp.role_id = r.id \
             WHERE ur.user_id = $1 AND rp.resource_server_identifier = $2 AND rp.permission_name = $3 \
             ORDER BY r.name, r.id LIMIT $4",
        )
        .bind(user_id)
        .bind(&p.resource_server_identifier)
        .bind(&p.permission_name)
        .bind(MAX_PERMISSION_SOURCES)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &rows {
            sources.push(PermissionSource::Role {
                id: row.try_get("id").map_err(corrupt)?,
                name: row.try_get("name").map_err(corrupt)?,
            });
        }
        Ok(sources)
    }
}

#[async_trait]
impl RbacStore for SqlStore {
    async fn create_role(&self, r: &Role, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO roles (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_role(&self, id: &str) -> Result<Option<Role>, StoreError> {
        let row = sqlx::query("SELECT id, name, description FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(role).transpose()
    }

    async fn list_roles(
        &self,
        name_filter: Option<&str>,
        page: Page,
    ) -> Result<(Vec<Role>, i64), StoreError> {
        let pattern = contains_pattern(name_filter.unwrap_or(""));
        self.paged(
            "id, name, description",
            "roles WHERE LOWER(name) LIKE $1 ESCAPE '\\'",
            "LOWER(name), name, id",
            &pattern,
            page,
            role,
        )
        .await
    }

    async fn update_role(&self, r: &Role, now: UnixTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE roles SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_role(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.add_permissions("role_permissions", "role_id", role_id, permissions, now)
            .await
    }

    async fn remove_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        self.remove_permissions("role_permissions", "role_id", role_id, permissions)
            .await
    }

    async fn list_role_permissions(
        &self,
        role_id: &str,
        page: Page,
    ) -> Result<(Vec<Permission>, i64), StoreError> {
        self.paged(
            "resource_server_identifier, permission_name",
            "role_permissions WHERE role_id = $1",
            "resource_server_identifier, permission_name",
            role_id,
            page,
            permission,
        )
        .await
    }

    async fn add_user_roles(
        &self,
        pairs: &[(String, String)],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let pairs = pairs.to_vec();
        in_tx(&self.pool, move |conn| {
            let pairs = pairs.clone();
            Box::pin(async move {
                for (user_id, role_id) in &pairs {
                    sqlx::query(
                        "INSERT INTO user_roles (user_id, role_id, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(role_id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn remove_user_roles(&self, pairs: &[(String, String)]) -> Result<(), StoreError> {
        let pairs = pairs.to_vec();
        in_tx(&self.pool, move |conn| {
            let pairs = pairs.clone();
            Box::pin(async move {
                for (user_id, role_id) in &pairs {
                    sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2")
                        .bind(user_id)
                        .bind(role_id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn list_role_users(
        &self,
        role_id: &str,
        page: Page,
    ) -> Result<(Vec<User>, i64), StoreError> {
        self.paged(
            "u.doc, u.created_at, u.updated_at, u.last_login, u.logins_count",
            "user_roles ur JOIN users u ON u.user_id = ur.user_id WHERE ur.role_id = $1",
            "ur.user_id",
            role_id,
            page,
            crate::users::decode,
        )
        .await
    }

    async fn list_user_roles(
        &self,
        user_id: &str,
        page: Page,
    ) -> Result<(Vec<Role>, i64), StoreError> {
        self.paged(
            "r.id, r.name, r.description",
            "user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1",
            "LOWER(r.name), r.name, r.id",
            user_id,
            page,
            role,
        )
        .await
    }

    async fn add_user_permissions(
        &self,
        user_id: &str,
        permissions: &[Permission],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.add_permissions("user_permissions", "user_id", user_id, permissions, now)
            .await
    }

    async fn remove_user_permissions(
        &self,
        user_id: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        self.remove_permissions("user_permissions", "user_id", user_id, permissions)
            .await
    }

    async fn list_user_permissions(
        &self,
        user_id: &str,
        page: Page,
    ) -> Result<(Vec<UserPermission>, i64), StoreError> {
        let (held, total) = self
            .paged(
                "resource_server_identifier, permission_name",
                &format!("({USER_PERMISSIONS}) held"),
                "resource_server_identifier, permission_name",
                user_id,
                page,
                permission,
            )
            .await?;
        let mut out = Vec::with_capacity(held.len());
        for p in held {
            let sources = self.permission_sources(user_id, &p).await?;
            out.push(UserPermission {
                permission: p,
                sources,
            });
        }
        Ok((out, total))
    }

    async fn user_api_permissions(
        &self,
        user_id: &str,
        identifier: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT permission_name FROM user_permissions \
             WHERE user_id = $1 AND resource_server_identifier = $2 \
             UNION SELECT rp.permission_name FROM role_permissions rp \
             JOIN user_roles ur ON ur.role_id = rp.role_id \
             WHERE ur.user_id = $1 AND rp.resource_server_identifier = $2 \
             ORDER BY permission_name LIMIT $3",
        )
        .bind(user_id)
        .bind(identifier)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get("permission_name").map_err(corrupt))
            .collect()
    }

    async fn user_role_names(&self, user_id: &str, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
             WHERE ur.user_id = $1 ORDER BY LOWER(r.name), r.name LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(corrupt))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn name_filters_match_literally() {
        assert_eq!(contains_pattern("Ad_m%"), "%ad\\_m\\%%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
