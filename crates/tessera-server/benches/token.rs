//! Client-credentials token requests against the raw signing rate of the same key,
//! measured in the same run, the same request with a one-line credentials-exchange
//! action bound (what an action adds), and the client-secret check.
//!
//! `cargo bench -p tessera-server --bench token`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tessera_core::bootstrap::{self, AdminClient, CLIENT_SECRET_PURPOSE};
use tessera_core::clock::SystemClock;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{KeyPolicy, Keys, SigningAlg};
use tessera_core::revocation::Revocations;
use tessera_core::{Clock, Issuer, Secret, jwt};
use tessera_server::metrics::Metrics;
use tessera_server::{AppState, ServerConfig};
use tessera_store::SqlStore;
use tower::ServiceExt;

const ID: &str = "bench-admin";
const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

struct Fixture {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn fixture(alg: SigningAlg) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open(&format!("sqlite://{}", dir.path().join("b.db").display()))
            .await
            .unwrap(),
    );
    let issuer = Issuer::parse("http://127.0.0.1:8080/").unwrap();
    let master = Arc::new(MasterKey::generate().unwrap().0);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = KeyPolicy {
        jwks_max_age: 60,
        reload_interval: 5,
        max_token_lifetime: 86400,
    };
    let keys = Arc::new(
        Keys::open(store.clone(), master.clone(), alg, policy, clock.clone())
            .await
            .unwrap(),
    );
    let admin = AdminClient {
        client_id: ID.into(),
        client_secret: Secret::new(SECRET.into()),
    };
    bootstrap::run(store.as_ref(), &master, &issuer, Some(&admin), clock.now())
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let (logs, _) = tessera_server::log_writer::LogWriter::start(
        store.clone(),
        clock.clone(),
        metrics.clone(),
        Default::default(),
    );
    let state = AppState {
        config: Arc::new(ServerConfig {
            jwks_max_age: 60,
            body_limit: 65536,
            request_timeout: Duration::from_secs(30),
            ..ServerConfig::new(issuer)
        }),
        revocations: Arc::new(Revocations::load(store.clone(), clock.now()).await.unwrap()),
        store,
        keys,
        master,
        metrics,
        clock,
        mailer: Arc::new(tessera_server::email::LogMailer),
        tenant_settings: Default::default(),
        upstream: Arc::new(tessera_server::upstream::Upstream::new(false).unwrap()),
        actions: Arc::new(tessera_server::actions::Actions::new(
            Default::default(),
            std::time::Duration::from_secs(5),
        )),
        logs,
    };
    Fixture { state, _dir: dir }
}

/// Creates, deploys and binds Auth0's one-line custom-claim action on the
/// credentials-exchange trigger.
async fn bind_one_line_action(state: &AppState) {
    use tessera_core::manage::actions::{NewAction, TriggerRef, build, version_of_draft};
    use tessera_core::model::{ActionBinding, TriggerId};
    let now = state.clock.now();
    let body = NewAction {
        name: "one-line".into(),
        supported_triggers: vec![TriggerRef {
            id: "credentials-exchange".into(),
            ..TriggerRef::default()
        }],
        code: Some(
            "exports.onExecuteCredentialsExchange = async (event, api) => { api.accessToken.setCustomClaim('https://example.com/tier', 'gold'); };".into(),
        ),
        ..NewAction::default()
    };
    let action = build(
        &state.master,
        "act-1".into(),
        body,
        &tessera_actions::check,
        now,
    )
    .unwrap();
    state.store.create_action(&action).await.unwrap();
    let version = version_of_draft(&action, "ver-1".into(), now).unwrap();
    state
        .store
        .deploy_action_version(&version, None, now)
        .await
        .unwrap()
        .unwrap();
    let binding = ActionBinding {
        id: "bnd-1".into(),
        trigger: TriggerId::CredentialsExchange,
        action_id: action.id.clone(),
        display_name: "one-line".into(),
        created_at: now,
        updated_at: now,
    };
    assert!(
        state
            .store
            .set_action_bindings(TriggerId::CredentialsExchange, &[binding])
            .await
            .unwrap()
    );
    state.actions.invalidate();
}

fn token_request() -> Request<Body> {
    let body = format!(
        "grant_type=client_credentials&client_id={ID}&client_secret={SECRET}&audience=http%3A%2F%2F127.0.0.1%3A8080%2Fapi%2Fv2%2F&scope=read%3Ausers"
    );
    Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let fx = rt.block_on(fixture(alg));
        let app = tessera_server::router(fx.state.clone());
        // Sanity: the request really succeeds.
        let res = rt.block_on(app.clone().oneshot(token_request())).unwrap();
        assert_eq!(res.status(), 200);

        let mut group = c.benchmark_group(format!("client_credentials/{alg}"));
        group.throughput(Throughput::Elements(1));
        let signer = fx.state.keys.current().signer().clone();
        let claims = serde_json::json!({"iss": "http://127.0.0.1:8080/", "sub": "x@clients", "aud": "http://127.0.0.1:8080/api/v2/", "iat": 1, "exp": 2, "jti": "abcdefghijklmnopqrstuv", "client_id": ID, "azp": ID, "scope": "read:users", "gty": "client-credentials"});
        let signing_input = {
            let token = jwt::sign(&signer, jwt::TYP_AT_JWT, &claims).unwrap();
            let (input, _) = token.rsplit_once('.').unwrap();
            input.to_owned()
        };
        group.bench_function("raw_sign", |b| {
            b.iter(|| signer.sign(signing_input.as_bytes()).unwrap())
        });
        group.bench_function("token_request", |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                async move {
                    let res = app.oneshot(token_request()).await.unwrap();
                    assert_eq!(res.status(), 200);
                }
            })
        });
        if alg == SigningAlg::ES256 {
            // The same request with a one-line credentials-exchange action
            // bound: the difference of the medians is what an action adds.
            rt.block_on(bind_one_line_action(&fx.state));
            let res = rt.block_on(app.clone().oneshot(token_request())).unwrap();
            assert_eq!(res.status(), 200);
            group.bench_function("token_request_with_one_line_action", |b| {
                b.to_async(&rt).iter(|| {
                    let app = app.clone();
                    async move {
                        let res = app.oneshot(token_request()).await.unwrap();
                        assert_eq!(res.status(), 200);
                    }
                })
            });
        }
        group.finish();
    }

    let master = MasterKey::generate().unwrap().0;
    let stored = master.keyed_hash(CLIENT_SECRET_PURPOSE, SECRET.as_bytes());
    c.bench_function("client_secret/verify", |b| {
        b.iter(|| {
            assert!(master.verify_keyed_hash(
                CLIENT_SECRET_PURPOSE,
                std::hint::black_box(SECRET.as_bytes()),
                &stored
            ))
        })
    });
}

criterion_group! {
    name = token;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(token);
