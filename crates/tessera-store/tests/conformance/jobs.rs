//! Background jobs: claimed by one node at a time under a lease, resumed by
//! another once the lease ends, import batches written with their progress in
//! one transaction (never twice), duplicates and upserts, exports' chunks and
//! links, sweeping.

use tessera_core::jobs::{FailedRow, Job, JobKind, JobStatus, JobSummary, RowError};
use tessera_core::manage::users::parse_row;
use tessera_core::store::{JobStore, UserStore};

use crate::*;

fn job(id: &str, kind: JobKind, upsert: bool) -> Job {
    Job {
        status: JobStatus::Uploading,
        upsert,
        chunks: 1,
        ..Job::new(id.into(), kind, ("con_1".into(), "db".into()), T0)
    }
}

fn row(json: &str) -> tessera_core::jobs::ImportUser {
    match parse_row(json.as_bytes(), "db", T0) {
        Ok(r) => r,
        Err(_) => panic!("bad row {json}"),
    }
}

async fn ready(s: &SqlStore, j: &Job) {
    s.create_job(j).await.unwrap();
    s.put_job_chunk(&j.id, 0, b"[{}]").await.unwrap();
    assert_eq!(
        s.claim_job("a", T0, T0 + 60).await.unwrap(),
        None,
        "uploading is not claimable"
    );
    let pending = Job {
        status: JobStatus::Pending,
        ..j.clone()
    };
    assert!(s.finish_upload(&pending).await.unwrap());
    assert!(!s.finish_upload(&pending).await.unwrap(), "only once");
}

pub async fn jobs_are_leased_resumed_and_never_write_a_row_twice(db: Db) {
    let s = &db.store;
    let j = job("job_1", JobKind::UsersImport, false);
    ready(s, &j).await;
    let mine = s.claim_job("a", T0, T0 + 60).await.unwrap().unwrap();
    assert_eq!(
        (mine.id.as_str(), mine.status),
        ("job_1", JobStatus::Processing)
    );
    assert_eq!(
        s.claim_job("b", T0 + 59, T0 + 119).await.unwrap(),
        None,
        "leased"
    );
    // Node a writes its first batch: two users and a malformed row.
    let bad = FailedRow {
        user: serde_json::json!({"email": "nope"}),
        errors: vec![RowError::new("INVALID_FORMAT", "bad", "#/email")],
    };
    let batch = [
        (0, row(r#"{"email": "a@x.co", "user_id": "a1"}"#)),
        (2, row(r#"{"email": "b@x.co"}"#)),
    ];
    let summary = s
        .import_batch("job_1", "a", T0 + 60, &batch, &[(1, bad.clone())], 3, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        summary,
        JobSummary {
            failed: 1,
            updated: 0,
            inserted: 2,
            total: 3
        }
    );
    // a dies; its lease ends; b takes the job over where a left it.
    let taken = s.claim_job("b", T0 + 61, T0 + 121).await.unwrap().unwrap();
    assert_eq!((taken.rows_done, taken.summary), (3, summary));
    // a's late batch writes nothing.
    let late = [(3, row(r#"{"email": "late@x.co"}"#))];
    assert_eq!(
        s.import_batch("job_1", "a", T0 + 200, &late, &[], 4, T0)
            .await
            .unwrap(),
        None
    );
    assert!(s.users_by_email("late@x.co").await.unwrap().is_empty());
    assert!(!s.renew_job_lease("job_1", "a", T0 + 300).await.unwrap());
    assert!(s.renew_job_lease("job_1", "b", T0 + 300).await.unwrap());
    // b's batch: a taken email and a taken id are duplicates; the rest goes in.
    let batch = [
        (3, row(r#"{"email": "A@x.co"}"#)),
        (4, row(r#"{"email": "c@x.co", "user_id": "a1"}"#)),
        (5, row(r#"{"email": "d@x.co"}"#)),
    ];
    let summary = s
        .import_batch("job_1", "b", T0 + 300, &batch, &[], 6, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        summary,
        JobSummary {
            failed: 3,
            updated: 0,
            inserted: 3,
            total: 6
        }
    );
    let errors = s.job_errors("job_1", 100).await.unwrap();
    let codes: Vec<_> = errors.iter().map(|e| e.errors[0].code.as_str()).collect();
    assert_eq!(
        codes,
        ["INVALID_FORMAT", "DUPLICATED_USER", "DUPLICATED_USER"]
    );
    assert_eq!(errors[0], bad);
    assert_eq!(s.job_errors("job_1", 1).await.unwrap().len(), 1);
    // Only the lease holder ends it; the file goes with it.
    let done = Job {
        status: JobStatus::Completed,
        summary,
        ..taken.clone()
    };
    assert!(!s.finish_job(&done, "a", None).await.unwrap());
    assert!(s.finish_job(&done, "b", None).await.unwrap());
    assert_eq!(
        s.get_job("job_1").await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(s.get_job_chunk("job_1", 0).await.unwrap(), None);
    assert_eq!(
        s.claim_job("c", T0 + 10_000, T0 + 10_060).await.unwrap(),
        None
    );
}

pub async fn an_upsert_updates_the_profile_and_keeps_the_hash(db: Db) {
    let s = &db.store;
    let j = job("job_2", JobKind::UsersImport, true);
    ready(s, &j).await;
    s.claim_job("a", T0, T0 + 60).await.unwrap().unwrap();
    let first = row(
        r#"{"email": "u@x.co", "name": "Old", "password_hash": "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}"#,
    );
    let again = row(
        r#"{"email": "u@x.co", "name": "New", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}}}"#,
    );
    let summary = s
        .import_batch(
            "job_2",
            "a",
            T0 + 60,
            &[(0, first.clone()), (1, again)],
            &[],
            2,
            T0 + 5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        summary,
        JobSummary {
            failed: 0,
            updated: 1,
            inserted: 1,
            total: 2
        }
    );
    let (user, hash) = s
        .find_user_for_login("db", "u@x.co")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name.as_deref(), Some("New"));
    assert_eq!(user.user_id, first.user.user_id);
    assert_eq!(
        hash, first.password_hash,
        "an upsert never changes the hash"
    );
}

pub async fn one_of_concurrent_claimers_gets_a_job(db: Db) {
    let s = &db.store;
    ready(s, &job("job_3", JobKind::UsersImport, false)).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_job(&format!("node{i}"), T0, T0 + 60).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(won, 1);
}

pub async fn exports_are_chunked_found_by_their_link_until_it_expires(db: Db) {
    let s = &db.store;
    for e in ["c@x.co", "a@x.co", "b@x.co"] {
        let r = row(&format!(r#"{{"email": "{e}"}}"#));
        s.create_user(&r.user, None).await.unwrap();
    }
    let first = s.users_after("db", "", 2).await.unwrap();
    let rest = s.users_after("db", &first[1].user_id, 2).await.unwrap();
    assert_eq!((first.len(), rest.len()), (2, 1));
    assert!(first[0].user_id < first[1].user_id && first[1].user_id < rest[0].user_id);
    assert!(s.users_after("other", "", 10).await.unwrap().is_empty());
    let j = Job {
        status: JobStatus::Pending,
        ..job("job_4", JobKind::UsersExport, false)
    };
    s.create_job(&j).await.unwrap();
    let mine = s.claim_job("a", T0, T0 + 60).await.unwrap().unwrap();
    s.put_job_chunk("job_4", 0, b"one").await.unwrap();
    s.put_job_chunk("job_4", 1, b"two").await.unwrap();
    let done = Job {
        status: JobStatus::Completed,
        location_expires_at: Some(T0 + 3600),
        ..mine
    };
    assert!(s.finish_job(&done, "a", Some(&[7u8; 32])).await.unwrap());
    assert_eq!(
        s.find_export(&[7u8; 32], T0 + 3599)
            .await
            .unwrap()
            .unwrap()
            .id,
        "job_4"
    );
    assert_eq!(s.find_export(&[8u8; 32], T0).await.unwrap(), None);
    assert_eq!(
        s.find_export(&[7u8; 32], T0 + 3600).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        s.get_job_chunk("job_4", 1).await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    // Sweeping drops an expired export's data, then old jobs.
    assert!(s.sweep_jobs(T0 + 3600, T0).await.unwrap() >= 2);
    assert_eq!(s.get_job_chunk("job_4", 0).await.unwrap(), None);
    assert!(s.get_job("job_4").await.unwrap().is_some());
    s.sweep_jobs(T0 + 3600, T0 + 1).await.unwrap();
    assert_eq!(s.get_job("job_4").await.unwrap(), None);
}
