//! The example API against a real Tessera started in-process: a scoped token is
//! served, an unscoped one gets 403 insufficient_scope, and no token, garbage,
//! an ID token and a token for another API (the Management API) get 401
//! invalid_token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::bootstrap::{self, AdminClient};
use tessera_core::clock::SystemClock;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{KeyPolicy, Keys, SigningAlg};
use tessera_core::model::{Client, ClientGrant, JwtConfiguration};
use tessera_core::revocation::Revocations;
use tessera_core::store::TenantStore;
use tessera_core::{Clock, Issuer, Secret};
use tessera_server::metrics::Metrics;
use tessera_server::{AppState, ServerConfig};
use tessera_store::{SqlStore, testing};
use tessera_verify::AccessTokenVerifier;
use tokio::sync::oneshot;

const ADMIN_ID: &str = "admin-client";
const ADMIN_SECRET: &str = "admin-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const API: &str = "https://appointments.example/";

/// A Tessera on SQLite in a temp dir, bootstrapped with the admin client.
struct Tessera {
    issuer: String,
    state: AppState,
    store: Arc<SqlStore>,
    master: Arc<MasterKey>,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Tessera {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn start_tessera() -> Tessera {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open(&testing::sqlite_url(dir.path()))
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = Issuer::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let master = Arc::new(MasterKey::generate().unwrap().0);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = KeyPolicy {
        jwks_max_age: 60,
        reload_interval: 5,
        max_token_lifetime: 86400,
    };
    let keys = Arc::new(
        Keys::open(
            store.clone(),
            master.clone(),
            SigningAlg::RS256,
            policy,
            clock.clone(),
        )
        .await
        .unwrap(),
    );
    let admin = AdminClient {
        client_id: ADMIN_ID.into(),
        client_secret: Secret::new(ADMIN_SECRET.into()),
    };
    bootstrap::run(store.as_ref(), &master, &issuer, Some(&admin), clock.now())
        .await
        .unwrap();
    let config = ServerConfig {
        jwks_max_age: 60,
        request_timeout: Duration::from_secs(20),
        ..ServerConfig::new(issuer.clone())
    };
    let state = AppState {
        config: Arc::new(config),
        store: store.clone(),
        keys,
        master: master.clone(),
        revocations: Arc::new(Revocations::load(store.clone(), clock.now()).await.unwrap()),
        metrics: Arc::new(Metrics::new()),
        clock,
    };
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(tessera_server::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Tessera {
        issuer: issuer.as_str().to_owned(),
        state,
        store,
        master,
        stop: Some(tx),
        _dir: dir,
    }
}

impl Tessera {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// client_credentials at POST /oauth/token.
    async fn token(&self, client_id: &str, secret: &str, audience: &str) -> String {
        let res = http()
            .post(self.url("oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("audience", audience),
            ])
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers the appointments API through the Management API.
    async fn create_api(&self) {
        let admin = self
            .token(ADMIN_ID, ADMIN_SECRET, &format!("{}api/v2/", self.issuer))
            .await;
        let res = http()
            .request(Method::POST, self.url("api/v2/resource-servers"))
            .bearer_auth(admin)
            .json(&json!({
                "identifier": API,
                "name": "Appointments",
                "scopes": [{"value": "read:appointments", "description": "Read appointments"}],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    /// A machine-to-machine client (in the store) granted `scopes` on the API.
    async fn m2m_client(&self, scopes: &[&str]) -> (String, String) {
        let id = tessera_core::ids::client_id().unwrap();
        let secret = tessera_core::ids::client_secret().unwrap();
        let client = Client {
            client_id: id.clone(),
            name: format!("m2m {id}"),
            app_type: "non_interactive".into(),
            token_endpoint_auth_method: "client_secret_post".into(),
            grant_types: vec!["client_credentials".into()],
            callbacks: vec![],
            allowed_logout_urls: vec![],
            web_origins: vec![],
            is_first_party: true,
            refresh_token: Value::Null,
            jwt_configuration: JwtConfiguration::default(),
            description: String::new(),
        };
        let sealed = bootstrap::seal_client_secret(&self.master, &id, &secret).unwrap();
        let now = SystemClock.now();
        self.store
            .create_client(&client, Some(&sealed), now)
            .await
            .unwrap();
        let grant = ClientGrant {
            id: tessera_core::ids::prefixed("cgr").unwrap(),
            client_id: id.clone(),
            audience: API.into(),
            scope: scopes.iter().map(|s| s.to_string()).collect(),
        };
        self.store.create_client_grant(&grant, now).await.unwrap();
        (id, secret)
    }

    /// An ID token for `client_id`, signed with the server's current key exactly
    /// as the authorization-code grant signs one (typ JWT, aud = the client).
    fn id_token(&self, client_id: &str) -> String {
        let now = SystemClock.now();
        let claims = json!({
            "iss": self.issuer,
            "sub": "auth0|ada",
            "aud": client_id,
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
            "sid": "sid-1",
            "nonce": "n-1",
            "email": "ada@example.com",
        });
        let keys = self.state.keys.current();
        tessera_core::jwt::sign(keys.signer(), tessera_core::jwt::TYP_JWT, &claims).unwrap()
    }
}

/// The example API in-process on its own port; returns its base URL.
async fn start_example(issuer: &str) -> String {
    let verifier = AccessTokenVerifier::from_issuer(issuer, vec![API.to_owned()])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, appointments_api::app(verifier))
            .await
            .unwrap();
    });
    format!("http://{addr}/")
}

struct Answer {
    status: u16,
    www_authenticate: String,
    body: String,
}

async fn get_appointments(base: &str, token: Option<&str>) -> Answer {
    let mut req = http().get(format!("{base}appointments"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    Answer {
        status,
        www_authenticate,
        body,
    }
}

fn assert_invalid_token(case: &str, a: &Answer) {
    assert_eq!(a.status, 401, "{case}: {} {}", a.www_authenticate, a.body);
    assert!(
        a.www_authenticate.starts_with("Bearer"),
        "{case}: {}",
        a.www_authenticate
    );
    if case != "no token" {
        assert!(
            a.www_authenticate.contains("error=\"invalid_token\""),
            "{case}: {}",
            a.www_authenticate
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_api_serves_scoped_tokens_and_refuses_everything_else() {
    let tessera = start_tessera().await;
    tessera.create_api().await;
    let (reader, reader_secret) = tessera.m2m_client(&["read:appointments"]).await;
    let (nobody, nobody_secret) = tessera.m2m_client(&[]).await;
    let api = start_example(&tessera.issuer).await;

    // The scoped token: 200 and the list.
    let scoped = tessera.token(&reader, &reader_secret, API).await;
    let a = get_appointments(&api, Some(&scoped)).await;
    assert_eq!(a.status, 200, "{} {}", a.www_authenticate, a.body);
    let list: Value = serde_json::from_str(&a.body).unwrap();
    let items = list.as_array().expect("a JSON list");
    assert!(!items.is_empty());
    assert_eq!(items[0]["for"], format!("{reader}@clients"));

    // A valid token for this API without the scope: 403 insufficient_scope.
    let unscoped = tessera.token(&nobody, &nobody_secret, API).await;
    let a = get_appointments(&api, Some(&unscoped)).await;
    assert_eq!(a.status, 403, "{} {}", a.www_authenticate, a.body);
    assert!(
        a.www_authenticate.contains("error=\"insufficient_scope\""),
        "{}",
        a.www_authenticate
    );
    assert!(
        a.www_authenticate.contains("scope=\"read:appointments\""),
        "{}",
        a.www_authenticate
    );

    // No token, garbage, an ID token, a token for another API: 401 invalid_token.
    assert_invalid_token("no token", &get_appointments(&api, None).await);
    assert_invalid_token(
        "garbage",
        &get_appointments(&api, Some("not-a-token")).await,
    );
    assert_invalid_token(
        "garbage JWT",
        &get_appointments(&api, Some("eyJhbGciOiJub25lIn0.e30.")).await,
    );
    let id_token = tessera.id_token(&reader);
    assert_invalid_token("ID token", &get_appointments(&api, Some(&id_token)).await);
    let management = tessera
        .token(
            ADMIN_ID,
            ADMIN_SECRET,
            &format!("{}api/v2/", tessera.issuer),
        )
        .await;
    assert_invalid_token(
        "Management API token",
        &get_appointments(&api, Some(&management)).await,
    );
    // A tampered scoped token (its payload swapped for the unscoped one's).
    let s: Vec<&str> = scoped.split('.').collect();
    let u: Vec<&str> = unscoped.split('.').collect();
    let forged = format!("{}.{}.{}", s[0], u[1], s[2]);
    assert_invalid_token("forged", &get_appointments(&api, Some(&forged)).await);
}
