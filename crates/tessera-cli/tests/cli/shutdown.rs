//! Graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

// ---------------------------------------------------------------------------
// 8. Graceful shutdown
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Reply {
    Complete { started: Instant },
    Status { status: u16 },
    Truncated { error: String },
    NoConnection { ended: Instant, error: String },
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_requests_and_exits_0() {
    let sb = Sandbox::new();
    let mut server = Server::start(&sb, free_port(), &[]).await;
    let url = server.url(".well-known/jwks.json");
    let stop = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::new();
    for i in 0..4 {
        // Half keep connections alive, half open one per request.
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if i % 2 == 1 {
            builder = builder.pool_max_idle_per_host(0);
        }
        let client = builder.build().unwrap();
        let url = url.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let result = match client.get(&url).send().await {
                    Err(e) => Reply::NoConnection {
                        ended: Instant::now(),
                        error: format!("{e:?}"),
                    },
                    Ok(res) if res.status() != 200 => Reply::Status {
                        status: res.status().as_u16(),
                    },
                    Ok(res) => match res.bytes().await {
                        Err(e) => Reply::Truncated {
                            error: format!("{e:?}"),
                        },
                        Ok(body) => match serde_json::from_slice::<Value>(&body) {
                            Ok(v) if v["keys"].as_array().is_some_and(|k| k.len() == 2) => {
                                Reply::Complete { started }
                            }
                            _ => Reply::Truncated {
                                error: format!("bad body: {}", String::from_utf8_lossy(&body)),
                            },
                        },
                    },
                };
                let failed = matches!(result, Reply::NoConnection { .. });
                results.push(result);
                if failed {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            results
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    let signalled = Instant::now();
    server.sigterm();
    let status = server.wait_exit(EXIT_TIMEOUT).await;
    let exited = Instant::now();
    // Keep sending a little after the exit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }

    assert!(
        status.is_some(),
        "no exit within {EXIT_TIMEOUT:?} of SIGTERM; stderr: {}",
        server.stderr()
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "stderr: {}",
        server.stderr()
    );
    assert!(
        exited - signalled < Duration::from_secs(5),
        "took {:?} to stop",
        exited - signalled
    );

    let before = results
        .iter()
        .filter(|r| matches!(r, Reply::Complete { started } if *started < signalled))
        .count();
    assert!(before >= 20, "too few requests before the signal: {before}");
    let refused_after = results
        .iter()
        .filter(|r| matches!(r, Reply::NoConnection { ended, .. } if *ended > exited))
        .count();
    assert!(refused_after > 0, "no request was sent after the exit");
    for r in &results {
        match r {
            Reply::Complete { .. } => {}
            Reply::NoConnection { ended, error } => assert!(
                *ended > signalled,
                "a request failed before the stop was asked: {error}"
            ),
            Reply::Status { status } => panic!("HTTP {status} around shutdown"),
            Reply::Truncated { error } => panic!("an incomplete response around shutdown: {error}"),
        }
    }
}
