//! Jobs survive their node: an import claimed by a node that died after its
//! first batch is completed by another node of the same database once the
//! lease has ended (test clock), without writing any user twice.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::manage::users::parse_row;
use tessera_core::store::{JobStore, UserStore};
use tessera_core::{Clock, jobs::JobStatus};

use crate::common::*;
use crate::jobs_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_completes_an_import_whose_node_died_once_its_lease_ends() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    // The first node runs no jobs: the job waits for a worker.
    let s = start_opts(Options {
        clock: clock.clone(),
        configure: |c| c.jobs.run_worker = false,
        ..Options::default()
    })
    .await;
    let admin = s.admin_token().await;
    let rows: Vec<_> = (0..5)
        .map(|i| json!({"email": format!("r{i}@example.com")}))
        .collect();
    let conn = db_connection_id(&s).await;
    let r = post_import(
        &s,
        &admin,
        json!(rows).to_string().as_bytes(),
        &[("connection_id", &conn)],
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    // A node claims it, writes its first batch (two rows), and dies.
    let now = clock.now();
    let job = s
        .store
        .claim_job("dead-node", now, now + 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, id);
    let first: Vec<_> = rows[..2]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let Ok(row) = parse_row(r.to_string().as_bytes(), DB, now) else {
                panic!()
            };
            (i as i64, row)
        })
        .collect();
    s.store
        .import_batch(&id, "dead-node", now + 60, &first, &[], 2, now)
        .await
        .unwrap()
        .unwrap();
    // Another node with a worker: the lease holds it off...
    let b = s
        .second_node_with(Duration::from_secs(1), |c| {
            c.jobs.run_worker = true;
            c.jobs.poll = Duration::from_millis(50);
        })
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = b
        .api(Method::GET, &format!("api/v2/jobs/{id}"), &admin, None)
        .await;
    assert_eq!(r.body["status"], "processing", "{r:?}");
    assert_eq!(r.body["summary"]["inserted"], 2);
    // ...until it ends: then it finishes the job where the dead node left it.
    clock.advance(61);
    let job = wait_for(&b, &admin, &id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 5, "total": 5})
    );
    for i in 0..5 {
        assert_eq!(
            s.store
                .users_by_email(&format!("r{i}@example.com"))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    // The dead node, back, can write nothing more.
    assert!(
        !s.store
            .renew_job_lease(&id, "dead-node", clock.now() + 60)
            .await
            .unwrap()
    );
    assert_eq!(
        s.store.get_job(&id).await.unwrap().unwrap().status,
        JobStatus::Completed
    );
}
