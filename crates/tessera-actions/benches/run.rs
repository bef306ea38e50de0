//! The cost of `Engine::run`: a one-line `setCustomClaim` post-login action (warm), the same with a
//! 300-line action (what re-parsing per run costs, as no bytecode is cached), and no bound action.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use tessera_actions::{ActionScript, Engine, Limits, Trigger};

fn script(code: String) -> Arc<[ActionScript]> {
    Arc::from(vec![ActionScript {
        action_id: "act_1".to_owned(),
        version_id: "ver_1".to_owned(),
        name: "claims".to_owned(),
        code: Arc::from(code),
        secrets: vec![("KEY".to_owned(), "value".to_owned())],
    }])
}

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        return;
    };
    let Ok(engine) = Engine::new(Limits {
        workers: 2,
        ..Limits::default()
    }) else {
        return;
    };
    let event = json!({
        "user": { "user_id": "auth0|1", "email": "a@example.com", "user_metadata": { "favorite_color": "blue" }, "app_metadata": {} },
        "client": { "client_id": "c", "name": "App", "metadata": {} },
        "authorization": { "roles": ["admin"] },
        "transaction": { "requested_scopes": ["openid"] },
        "tenant": { "id": "t" }
    });
    let one_line = script(
        "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/favorite_color', event.user.user_metadata.favorite_color); };".to_owned(),
    );
    let mut long = String::from("exports.onExecutePostLogin = async (event, api) => {\n");
    for i in 0..300 {
        long.push_str(&format!("  if (event.user.email === 'nobody{i}@example.com') {{ api.idToken.setCustomClaim('https://example.com/c{i}', {{ i: {i}, roles: event.authorization.roles }}); }}\n"));
    }
    long.push_str("  api.idToken.setCustomClaim('https://example.com/favorite_color', event.user.user_metadata.favorite_color);\n};\n");
    let long = script(long);
    let none: Arc<[ActionScript]> = Arc::from(Vec::new());

    c.bench_function("run_one_line_set_custom_claim", |b| {
        b.to_async(&rt).iter(|| {
            engine.run(
                Trigger::PostLogin,
                one_line.clone(),
                black_box(event.clone()),
            )
        })
    });
    // A login reaching an engine that is not saturated: 1 ms apart, only the run timed. The tight loop
    // above measures back-to-back runs, where each worker is still making its next spare context.
    c.bench_function("run_one_line_set_custom_claim_spaced", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (engine, one_line, event) = (engine.clone(), one_line.clone(), event.clone());
            async move {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    let start = std::time::Instant::now();
                    black_box(
                        engine
                            .run(Trigger::PostLogin, one_line.clone(), event.clone())
                            .await,
                    );
                    total += start.elapsed();
                }
                total
            }
        })
    });
    c.bench_function("run_300_line_action", |b| {
        b.to_async(&rt)
            .iter(|| engine.run(Trigger::PostLogin, long.clone(), black_box(event.clone())))
    });
    c.bench_function("run_no_actions", |b| {
        // The caller builds no event when nothing is bound.
        b.to_async(&rt).iter(|| {
            engine.run(
                Trigger::PostLogin,
                none.clone(),
                black_box(serde_json::Value::Null),
            )
        })
    });
    c.bench_function("check_one_line", |b| {
        b.iter(|| {
            tessera_actions::check(black_box(
                "exports.onExecutePostLogin = async (event, api) => {};",
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
