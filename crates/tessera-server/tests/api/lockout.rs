//! Issue 9, point 4: brute-force lockout without a race, and the password gate.
//!
//! A login attempt is reserved in the database before its password check, so a
//! burst of parallel wrong passwords runs at most the threshold of checks (counted
//! by `tessera_password_checks_total`), on SQLite and PostgreSQL; once blocked,
//! even the right password is refused. The password gate sheds load beyond its
//! places with 503 + `Retry-After`, on every path that runs argon2.

use tessera_server::interactive::gate::PasswordGate;
use tessera_store::testing;

use crate::common::*;
use crate::hosted::*;

const THRESHOLD: i64 = 10;
const PARALLEL: usize = 48;
const CHECKS: &str = "tessera_password_checks_total";

fn configure(c: &mut tessera_server::ServerConfig) {
    c.brute_force_threshold = THRESHOLD;
    // Room for the whole burst: this test is about the reservation, not the
    // gate (a shed request consumes no attempt).
    c.password_gate = PasswordGate::new(2, 128);
}

async fn on_sqlite() -> TestServer {
    start_opts(Options {
        configure,
        ..Options::default()
    })
    .await
}

async fn on_postgres() -> Option<TestServer> {
    let url = testing::fresh_postgres_database().await?;
    Some(
        start_opts(Options {
            database_url: Some(url),
            configure,
            ..Options::default()
        })
        .await,
    )
}

/// `PARALLEL` wrong passwords at once, then the right one, then a burst with the
/// right one mixed in.
async fn parallel_wrong_passwords(s: TestServer) {
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let before = counter(&s, CHECKS).await;

    let burst = |passwords: Vec<&'static str>| {
        let tasks: Vec<_> = passwords
            .into_iter()
            .map(|password| {
                let b = b.clone();
                let url = s.url("u/login");
                let (state, csrf) = (f.state.clone(), f.csrf.clone());
                tokio::spawn(async move {
                    let res = b
                        .post(url)
                        .form(&[
                            ("state", state.as_str()),
                            ("csrf", &csrf),
                            ("email", "ada@example.com"),
                            ("password", password),
                        ])
                        .send()
                        .await
                        .unwrap();
                    (res.status().as_u16(), set_cookie(&res, "tessera_session"))
                })
            })
            .collect();
        async move {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        }
    };

    let answers = burst(vec!["wrong password"; PARALLEL]).await;
    let checks = counter(&s, CHECKS).await - before;
    assert!(
        checks <= THRESHOLD as u64,
        "{checks} password checks ran for a threshold of {THRESHOLD}"
    );
    assert_eq!(
        checks, THRESHOLD as u64,
        "every reserved attempt was checked"
    );
    let wrong = answers.iter().filter(|(st, _)| *st == 400).count();
    let too_many = answers.iter().filter(|(st, _)| *st == 429).count();
    assert_eq!(
        (wrong, too_many),
        (THRESHOLD as usize - 1, PARALLEL - THRESHOLD as usize + 1),
        "{answers:?}"
    );

    // Blocked: the right password is refused without a check and a session.
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert_eq!(set_cookie(&res, "tessera_session"), None);
    assert_eq!(counter(&s, CHECKS).await - before, THRESHOLD as u64);

    // A burst with the right password mixed in does not log in either.
    let mut mixed = vec!["wrong password"; 20];
    for i in [0, 7, 13, 19] {
        mixed[i] = PASSWORD;
    }
    let answers = burst(mixed).await;
    assert!(
        answers.iter().all(|(st, c)| *st == 429 && c.is_none()),
        "{answers:?}"
    );
    assert_eq!(counter(&s, CHECKS).await - before, THRESHOLD as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_run_at_most_the_threshold_of_checks_on_sqlite() {
    parallel_wrong_passwords(on_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_run_at_most_the_threshold_of_checks_on_postgres() {
    if let Some(s) = on_postgres().await {
        parallel_wrong_passwords(s).await;
    }
}

/// Two nodes on one database share the count: the threshold holds across them.
async fn across_nodes(s: TestServer) {
    let node2 = s.second_node(std::time::Duration::from_secs(60)).await;
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let before = counter(&s, CHECKS).await + counter(&node2, CHECKS).await;
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|i| {
            let b = b.clone();
            let url = if i % 2 == 0 {
                s.url("u/login")
            } else {
                node2.url("u/login")
            };
            let (state, csrf) = (f.state.clone(), f.csrf.clone());
            tokio::spawn(async move {
                b.post(url)
                    .form(&[
                        ("state", state.as_str()),
                        ("csrf", &csrf),
                        ("email", "ada@example.com"),
                        ("password", "wrong password"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 400 || status == 429, "{status}");
    }
    let checks = counter(&s, CHECKS).await + counter(&node2, CHECKS).await - before;
    assert!(
        checks <= THRESHOLD as u64,
        "{checks} checks across two nodes"
    );
    let res = submit_login(&b, &node2, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429, "blocked on the other node too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_threshold_holds_across_nodes_on_postgres() {
    if let Some(s) = on_postgres().await {
        across_nodes(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_threshold_holds_across_nodes_on_sqlite() {
    across_nodes(on_sqlite().await).await;
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_password_gate_sheds_argon2_work_with_503_and_retry_after() {
    let s = start_opts(Options {
        configure: |c| {
            c.brute_force_threshold = 2;
            c.password_gate = PasswordGate::new(1, 0);
        },
        ..Options::default()
    })
    .await;
    let (web, _) = web_app(&s, true).await;
    db_user(&s, "ada@example.com").await;
    let b = browser();
    let f = start_login(&b, &s, &authorize_url(&s, &web, &[])).await;
    let signup = login_form(&b, &f.url.replace("u/login", "u/signup")).await;
    let checks = counter(&s, CHECKS).await;

    // The gate's only place is taken (as by a long-running hash).
    let gate = s.state.config.password_gate.clone();
    let held = gate.admit().unwrap();

    // Login: 503 + Retry-After, no check, and no attempt consumed.
    for _ in 0..4 {
        let res = submit_login(&b, &s, &f, "ada@example.com", "wrong password").await;
        assert_eq!(res.status(), 503);
        assert!((1..=60).contains(&retry_after(res.headers())));
        assert!(set_cookie(&res, "tessera_session").is_none());
    }
    // Sign-up: the same.
    let res = b
        .post(s.url("u/signup"))
        .form(&[
            ("state", signup.state.as_str()),
            ("csrf", &signup.csrf),
            ("email", "new@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!((1..=60).contains(&retry_after(res.headers())));
    // Management API: Auth0's error shape, 503, Retry-After.
    let r = create_user_via_api(&s, "bob@example.com").await;
    assert_mgmt_error(&r, 503, "temporarily_unavailable");
    assert!((1..=60).contains(&retry_after(&r.headers)));
    assert_eq!(counter(&s, CHECKS).await, checks, "nothing was checked");
    assert_eq!(counter(&s, "tessera_password_hashes_total").await, 0);
    assert_eq!(counter(&s, "tessera_password_gate_shed_total").await, 6);

    // Freed: the shed attempts were not counted as failures (threshold 2).
    drop(held);
    let res = submit_login(&b, &s, &f, "ada@example.com", "wrong password").await;
    assert_eq!(res.status(), 400, "the first counted failure");
    let res = submit_login(&b, &s, &f, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(set_cookie(&res, "tessera_session").is_some());
    assert_eq!(counter(&s, CHECKS).await, checks + 2);
    let r = create_user_via_api(&s, "bob@example.com").await;
    assert_eq!(r.status, 201, "{r:?}");
}
