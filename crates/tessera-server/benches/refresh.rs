//! Refresh-token grants per second through the in-process router (every
//! layer, one request at a time), on SQLite and on PostgreSQL. One family is
//! rotated for the whole run: each iteration presents the successor the
//! previous one returned (a rotating client with leeway 0, an API audience, so
//! each answer is one ES256-signed JWT access token and a new refresh token).
//!
//! SQLite runs with WAL and `synchronous=FULL` (the server's settings). The
//! PostgreSQL cluster is `tessera_store::testing`'s throwaway one, with
//! `fsync=off` and `synchronous_commit=off`: production numbers differ.
//!
//! `cargo bench -p tessera-server --bench refresh`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value};
use tessera_core::bootstrap;
use tessera_core::clock::SystemClock;
use tessera_core::envelope::MasterKey;
use tessera_core::grant::Ctx;
use tessera_core::grant::common::start_family;
use tessera_core::keys::{KeyPolicy, Keys, SigningAlg};
use tessera_core::model::{
    AppType, Client, GrantType, JwtConfiguration, RefreshTokenConfig, ResourceServer,
    ResourceServerScope, TokenEndpointAuthMethod, User,
};
use tessera_core::revocation::Revocations;
use tessera_core::store::{TenantStore, UserStore};
use tessera_core::{Clock, Issuer};
use tessera_server::metrics::Metrics;
use tessera_server::{AppState, ServerConfig};
use tessera_store::{SqlStore, testing};
use tower::ServiceExt;

const ID: &str = "bench-web-app";
const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const API: &str = "https://orders.example/";

struct Fixture {
    state: AppState,
    first_token: String,
    _dir: tempfile::TempDir,
}

async fn fixture(database_url: Option<String>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("b.db").display()));
    let store = Arc::new(SqlStore::open(&url).await.unwrap());
    let issuer = Issuer::parse("http://127.0.0.1:8080/").unwrap();
    let master = Arc::new(MasterKey::generate().unwrap().0);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let policy = KeyPolicy {
        jwks_max_age: 60,
        reload_interval: 5,
        max_token_lifetime: 86400,
    };
    let keys = Arc::new(
        Keys::open(
            store.clone(),
            master.clone(),
            SigningAlg::ES256,
            policy,
            clock.clone(),
        )
        .await
        .unwrap(),
    );
    bootstrap::run(store.as_ref(), &master, &issuer, None, now)
        .await
        .unwrap();
    let client = Client {
        client_id: ID.into(),
        name: "Bench web app".into(),
        app_type: AppType::RegularWeb,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        callbacks: vec!["https://app.example/callback".into()],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        allowed_origins: vec![],
        is_first_party: true,
        // The defaults of a regular web app: rotating, leeway 0.
        refresh_token: RefreshTokenConfig::defaults(AppType::RegularWeb),
        jwt_configuration: JwtConfiguration::default(),
        settings: Default::default(),
        description: String::new(),
        is_token_endpoint_ip_header_trusted: false,
        client_authentication_methods: None,
    };
    let sealed = bootstrap::seal_client_secret(&master, ID, SECRET).unwrap();
    store
        .create_client(&client, Some(&sealed), now)
        .await
        .unwrap();
    let api = ResourceServer {
        id: "rs_bench".into(),
        identifier: API.into(),
        name: "Orders".into(),
        scopes: vec![ResourceServerScope {
            value: "read:orders".into(),
            description: String::new(),
        }],
        signing_alg: "ES256".into(),
        token_lifetime: 3600,
        allow_offline_access: true,
        skip_consent_for_verifiable_first_party_clients: false,
        settings: Default::default(),
        is_system: false,
    };
    store.create_resource_server(&api, now).await.unwrap();
    let user = User {
        user_id: "auth0|0123456789abcdef01234567".into(),
        connection: "Username-Password-Authentication".into(),
        email: Some("bench@example.com".into()),
        email_verified: true,
        name: Some("Bench".into()),
        given_name: None,
        family_name: None,
        nickname: None,
        picture: None,
        user_metadata: Map::new(),
        app_metadata: Map::new(),
        blocked: false,
        created_at: now,
        updated_at: now,
        last_login: None,
        logins_count: 0,
        username: None,
        phone_number: None,
        phone_verified: None,
        identities: vec![],
    };
    store.create_user(&user, None).await.unwrap();
    let revocations = Arc::new(Revocations::load(store.clone(), now).await.unwrap());
    // The family a login with offline_access starts (the code exchange's call).
    let (first_token, _family) = start_family(
        &Ctx {
            store: store.as_ref(),
            keys: &keys,
            master: &master,
            issuer: &issuer,
            revocations: &revocations,
            now,
            passwords: &tessera_core::grant::resource_owner::NoPasswordChecks,
            default_directory: "Username-Password-Authentication",
            default_audience: None,
            origin: Default::default(),
            upstream: &tessera_core::grant::token_vault::NoUpstream { now },
            actions: &tessera_core::extensibility::NoActions,
            request: &tessera_core::extensibility::NO_REQUEST,
        },
        &client,
        &user,
        &["offline_access".into(), "read:orders".into()],
        Some(API),
        "sid-bench",
        now,
    )
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
        revocations,
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
    Fixture {
        state,
        first_token,
        _dir: dir,
    }
}

fn refresh_request(token: &str) -> Request<Body> {
    // Refresh tokens are base64url: nothing to escape.
    let body = format!(
        "grant_type=refresh_token&refresh_token={token}&client_id={ID}&client_secret={SECRET}"
    );
    Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// Presents the current token and keeps the successor for the next call.
async fn rotate(app: axum::Router, current: Arc<Mutex<String>>) {
    let token = current.lock().unwrap().clone();
    let res = app.oneshot(refresh_request(&token)).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let next = answer["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, token, "rotated");
    *current.lock().unwrap() = next;
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let postgres = rt.block_on(testing::fresh_postgres_database());
    let mut backends = vec![("sqlite", None)];
    match postgres {
        Some(url) => backends.push(("postgres", Some(url))),
        None => eprintln!("refresh bench: no PostgreSQL; only SQLite measured"),
    }
    let mut group = c.benchmark_group("refresh_token");
    group.throughput(Throughput::Elements(1));
    for (name, url) in backends {
        let fx = rt.block_on(fixture(url));
        let app = tessera_server::router(fx.state.clone());
        let current = Arc::new(Mutex::new(fx.first_token.clone()));
        // Sanity: a rotation really succeeds.
        rt.block_on(rotate(app.clone(), current.clone()));
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| rotate(app.clone(), current.clone()))
        });
    }
    group.finish();
}

criterion_group! {
    name = refresh;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(refresh);
