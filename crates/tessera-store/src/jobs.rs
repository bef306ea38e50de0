//! Background jobs (`JobStore`): job rows with a lease, their data as chunk
//! rows, an import's failed rows; an import's batches written with the users
//! they insert in one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::jobs::{FailedRow, ImportUser, Job, JobKind, JobStatus, JobSummary, RowError};
use tessera_core::model::User;
use tessera_core::store::{JobStore, StoreError};

use crate::users::{COLUMNS, INSERT_USER, bind_new_user, decode};
use crate::{SqlStore, from_json, in_tx, json_text, map_err};

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn job_of(row: &AnyRow) -> Result<Job, StoreError> {
    let mut job: Job = from_json(&row.try_get::<String, _>("doc").map_err(corrupt)?)?;
    // The column is the truth (claims change it without the document).
    let status: String = row.try_get("status").map_err(corrupt)?;
    job.status = serde_json::from_value(serde_json::Value::String(status)).map_err(corrupt)?;
    Ok(job)
}

const SELECT_JOB: &str = "SELECT doc, status FROM jobs";

/// A job is claimable when pending, or processing under a lease that ended.
const CLAIMABLE: &str = "(status = 'pending' OR (status = 'processing' AND lease_until < $3))";

/// What one row of a batch did.
enum Outcome {
    Inserted,
    Updated,
    Duplicate,
}

async fn import_row(
    conn: &mut sqlx::AnyConnection,
    row: &ImportUser,
    upsert: bool,
    now: UnixTime,
) -> Result<Outcome, sqlx::Error> {
    if upsert {
        let existing = sqlx::query(&format!(
            "SELECT user_id, {COLUMNS} FROM users WHERE connection = $1 AND email = $2"
        ))
        .bind(&row.user.connection)
        .bind(row.user.email.as_deref().map(str::to_lowercase))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(existing) = existing {
            let old = decode(&existing).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            let user = row.upsert_onto(&old, now);
            let doc = json_text(&user).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            sqlx::query(
                "UPDATE users SET name = $2, given_name = $3, family_name = $4, nickname = $5, doc = $6, \
                 updated_at = $7 WHERE user_id = $1",
            )
            .bind(&user.user_id)
            .bind(&user.name)
            .bind(&user.given_name)
            .bind(&user.family_name)
            .bind(&user.nickname)
            .bind(doc)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            return Ok(Outcome::Updated);
        }
    }
    // A taken email (in the connection) or id: nothing is written.
    let sql = format!("{INSERT_USER} ON CONFLICT DO NOTHING");
    let q = bind_new_user(sqlx::query(&sql), &row.user, row.password_hash.as_deref())
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
    let done = q.execute(&mut *conn).await?;
    Ok(if done.rows_affected() == 1 {
        Outcome::Inserted
    } else {
        Outcome::Duplicate
    })
}

async fn record_failure(
    conn: &mut sqlx::AnyConnection,
    job_id: &str,
    seq: i64,
    failed: &FailedRow,
) -> Result<(), sqlx::Error> {
    let doc = serde_json::to_string(failed).map_err(|e| sqlx::Error::Decode(e.into()))?;
    sqlx::query(
        "INSERT INTO job_errors (job_id, seq, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(job_id)
    .bind(seq)
    .bind(doc)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl JobStore for SqlStore {
    async fn create_job(&self, job: &Job) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, status, doc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&job.id)
        .bind(match job.kind {
            JobKind::UsersImport => "users_import",
            JobKind::UsersExport => "users_export",
        })
        .bind(job.status.as_str())
        .bind(json_text(job)?)
        .bind(job.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("{SELECT_JOB} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(job_of).transpose()
    }

    async fn put_job_chunk(&self, job_id: &str, seq: i64, data: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO job_chunks (job_id, seq, data) VALUES ($1, $2, $3) \
             ON CONFLICT (job_id, seq) DO UPDATE SET data = excluded.data",
        )
        .bind(job_id)
        .bind(seq)
        .bind(data.to_vec())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_job_chunk(&self, job_id: &str, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT data FROM job_chunks WHERE job_id = $1 AND seq = $2")
            .bind(job_id)
            .bind(seq)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get::<Vec<u8>, _>("data").map_err(corrupt))
            .transpose()
    }

    async fn clear_job_chunks(&self, job_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM job_chunks WHERE job_id = $1")
            .bind(job_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn finish_upload(&self, job: &Job) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $2, doc = $3 WHERE id = $1 AND status = 'uploading'",
        )
        .bind(&job.id)
        .bind(job.status.as_str())
        .bind(json_text(job)?)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_job(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
    ) -> Result<Option<Job>, StoreError> {
        // One conditional UPDATE decides: the condition is checked again on
        // the row it changes, so of concurrent claimers one wins.
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'processing', lease_owner = $1, lease_until = $2 \
             WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY created_at, id LIMIT 1) \
             AND {CLAIMABLE} RETURNING doc, status"
        ))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(job_of).transpose()
    }

    async fn renew_job_lease(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(lease_until)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn import_batch(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: UnixTime,
        rows: &[(i64, ImportUser)],
        failed: &[(i64, FailedRow)],
        rows_done: i64,
        now: UnixTime,
    ) -> Result<Option<JobSummary>, StoreError> {
        let rows = Arc::new(rows.to_vec());
        let failed = Arc::new(failed.to_vec());
        let (job_id, owner) = (job_id.to_owned(), owner.to_owned());
        in_tx(&self.pool, move |conn| {
            let (rows, failed, job_id, owner) =
                (rows.clone(), failed.clone(), job_id.clone(), owner.clone());
            Box::pin(async move {
                // The lease first: this write also locks the job row, so a
                // node taking over an expired lease waits for this batch.
                let held = sqlx::query(
                    "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
                )
                .bind(&job_id)
                .bind(&owner)
                .bind(lease_until)
                .execute(&mut *conn)
                .await?;
                if held.rows_affected() != 1 {
                    return Ok(None);
                }
                let doc: String = sqlx::query_scalar("SELECT doc FROM jobs WHERE id = $1")
                    .bind(&job_id)
                    .fetch_one(&mut *conn)
                    .await?;
                let mut job: Job =
                    serde_json::from_str(&doc).map_err(|e| sqlx::Error::Decode(e.into()))?;
                let s = &mut job.summary;
                for (seq, f) in failed.iter() {
                    record_failure(conn, &job_id, *seq, f).await?;
                    s.failed += 1;
                }
                for (seq, row) in rows.iter() {
                    match import_row(conn, row, job.upsert, now).await? {
                        Outcome::Inserted => s.inserted += 1,
                        Outcome::Updated => s.updated += 1,
                        Outcome::Duplicate => {
                            let f = FailedRow {
                                user: row.shown.clone(),
                                errors: vec![RowError::new(
                                    "DUPLICATED_USER",
                                    "The user already exists.",
                                    "#",
                                )],
                            };
                            record_failure(conn, &job_id, *seq, &f).await?;
                            s.failed += 1;
                        }
                    }
                }
                s.total = s.failed + s.inserted + s.updated;
                job.rows_done = rows_done;
                let summary = job.summary;
                let doc = serde_json::to_string(&job).map_err(|e| sqlx::Error::Decode(e.into()))?;
                sqlx::query("UPDATE jobs SET doc = $2 WHERE id = $1")
                    .bind(&job_id)
                    .bind(doc)
                    .execute(&mut *conn)
                    .await?;
                Ok(Some(summary))
            })
        })
        .await
    }

    async fn job_errors(&self, job_id: &str, limit: i64) -> Result<Vec<FailedRow>, StoreError> {
        let rows =
            sqlx::query("SELECT doc FROM job_errors WHERE job_id = $1 ORDER BY seq LIMIT $2")
                .bind(job_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| from_json(&r.try_get::<String, _>("doc").map_err(corrupt)?))
            .collect()
    }

    async fn finish_job(
        &self,
        job: &Job,
        owner: &str,
        download_hash: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let job = job.clone();
        let owner = owner.to_owned();
        let hash = download_hash.map(<[u8]>::to_vec);
        in_tx(&self.pool, move |conn| {
            let (job, owner, hash) = (job.clone(), owner.clone(), hash.clone());
            Box::pin(async move {
                let doc = serde_json::to_string(&job).map_err(|e| sqlx::Error::Decode(e.into()))?;
                let done = sqlx::query(
                    "UPDATE jobs SET status = $3, doc = $4, lease_owner = NULL, lease_until = NULL, \
                     download_hash = $5, download_expires = $6 \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
                )
                .bind(&job.id)
                .bind(&owner)
                .bind(job.status.as_str())
                .bind(doc)
                .bind(hash)
                .bind(job.location_expires_at)
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                if job.kind == JobKind::UsersImport || job.status == JobStatus::Failed {
                    sqlx::query("DELETE FROM job_chunks WHERE job_id = $1")
                        .bind(&job.id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    async fn find_export(&self, hash: &[u8], now: UnixTime) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!(
            "{SELECT_JOB} WHERE download_hash = $1 AND download_expires > $2 AND status = 'completed'"
        ))
        .bind(hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(job_of).transpose()
    }

    async fn users_after(
        &self,
        connection: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE connection = $1 AND user_id > $2 ORDER BY user_id LIMIT $3"
        ))
        .bind(connection)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn sweep_jobs(&self, now: UnixTime, ended_before: UnixTime) -> Result<u64, StoreError> {
        let ended = "SELECT id FROM jobs WHERE created_at < $1 AND status IN ('completed', 'failed', 'uploading')";
        let mut n = sqlx::query(
            "DELETE FROM job_chunks WHERE job_id IN (SELECT id FROM jobs WHERE download_expires <= $1)",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected();
        for sql in [
            format!("DELETE FROM job_chunks WHERE job_id IN ({ended})"),
            format!("DELETE FROM job_errors WHERE job_id IN ({ended})"),
            format!("DELETE FROM jobs WHERE id IN ({ended})"),
        ] {
            n += sqlx::query(&sql)
                .bind(ended_before)
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(n)
    }
}
