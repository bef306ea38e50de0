//! Resource servers, connections, clients, grants, bootstrap, revocations.

use tessera_core::bootstrap::{self, AdminClient};
use tessera_core::clock::{Clock, FixedClock};
use tessera_core::model::{
    AppType, Client, ClientGrant, GrantType, JwtConfiguration, RefreshTokenConfig,
    TokenEndpointAuthMethod,
};
use tessera_core::store::*;
use tessera_core::{Issuer, Secret};

use crate::*;

pub fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: "app".into(),
        app_type: AppType::RegularWeb,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        grant_types: vec![GrantType::AuthorizationCode],
        callbacks: vec!["https://app.example/cb".into()],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        allowed_origins: vec![],
        is_first_party: false,
        refresh_token: RefreshTokenConfig::defaults(AppType::RegularWeb),
        jwt_configuration: JwtConfiguration::default(),
        settings: Default::default(),
        description: String::new(),
        is_token_endpoint_ip_header_trusted: false,
        client_authentication_methods: None,
    }
}

pub async fn tenant_objects_roundtrip(db: Db) {
    let m = master();
    let issuer = Issuer::parse("https://id.example.com/").unwrap();
    bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0)
        .await
        .unwrap();
    let rs = db
        .store
        .get_resource_server_by_identifier("https://id.example.com/api/v2/")
        .await
        .unwrap()
        .unwrap();
    assert!(rs.is_system);
    assert!(rs.scopes.iter().any(|s| s.value == "read:users"));
    let conn = db
        .store
        .get_connection_by_name("Username-Password-Authentication")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.strategy, "auth0");

    let secret = bootstrap::seal_client_secret(&m, "c1", "s3cret").unwrap();
    db.store
        .put_client(&client("c1"), Some(&secret), T0)
        .await
        .unwrap();
    let (got, got_secret) = db.store.get_client("c1").await.unwrap().unwrap();
    assert_eq!(got, client("c1"));
    assert_eq!(got_secret.unwrap(), secret);
    assert!(db.store.get_client("c2").await.unwrap().is_none());

    let grant = ClientGrant {
        id: "cgr_1".into(),
        client_id: "c1".into(),
        audience: rs.identifier.clone(),
        scope: vec!["read:users".into()],
    };
    db.store.put_client_grant(&grant, T0).await.unwrap();
    let widened = ClientGrant {
        scope: vec!["read:users".into(), "create:users".into()],
        ..grant.clone()
    };
    db.store.put_client_grant(&widened, T0 + 1).await.unwrap();
    assert_eq!(
        db.store
            .get_client_grant("c1", &rs.identifier)
            .await
            .unwrap()
            .unwrap(),
        widened
    );
    // Foreign keys are enforced: no grant for an unknown client or API.
    let orphan = ClientGrant {
        id: "cgr_2".into(),
        client_id: "ghost".into(),
        ..grant.clone()
    };
    assert!(matches!(
        db.store.put_client_grant(&orphan, T0).await,
        Err(StoreError::Conflict(_))
    ));
    let nowhere = ClientGrant {
        id: "cgr_3".into(),
        audience: "https://nowhere/".into(),
        ..grant
    };
    assert!(matches!(
        db.store.put_client_grant(&nowhere, T0).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn bootstrap_is_idempotent(db: Db) {
    let m = master();
    let issuer = Issuer::parse("http://127.0.0.1:8080/").unwrap();
    let first = bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0)
        .await
        .unwrap();
    let generated = first
        .generated_admin
        .expect("first start generates the admin client");
    assert_eq!(generated.client_id, first.admin_client_id);
    assert!(
        generated.client_secret.expose().len() >= 43,
        "at least 256 bits"
    );
    let second = bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0 + 5)
        .await
        .unwrap();
    assert!(
        second.generated_admin.is_none(),
        "printed once, never again"
    );
    assert_eq!(second.admin_client_id, first.admin_client_id);
    let (_, secret) = db
        .store
        .get_client(&first.admin_client_id)
        .await
        .unwrap()
        .unwrap();
    let secret = secret.unwrap();
    assert!(m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        generated.client_secret.expose().as_bytes(),
        &secret.hash
    ));
    let grant = db
        .store
        .get_client_grant(&first.admin_client_id, "http://127.0.0.1:8080/api/v2/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.scope, tessera_core::scopes::management_scope_names());

    // A configured admin client is ensured at every start, its secret following the setting.
    let given = AdminClient {
        client_id: "admin".into(),
        client_secret: Secret::new("x".repeat(40)),
    };
    bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&given), T0)
        .await
        .unwrap();
    let changed = AdminClient {
        client_secret: Secret::new("y".repeat(40)),
        ..given.clone()
    };
    bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&changed), T0)
        .await
        .unwrap();
    let (_, s) = db.store.get_client("admin").await.unwrap().unwrap();
    let s = s.unwrap();
    assert!(m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        "y".repeat(40).as_bytes(),
        &s.hash
    ));
    assert!(!m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        "x".repeat(40).as_bytes(),
        &s.hash
    ));
    assert_eq!(
        m.open("client_secret:admin", &s.sealed).unwrap().as_slice(),
        "y".repeat(40).as_bytes()
    );
    assert!(
        db.store
            .get_client_grant("admin", "http://127.0.0.1:8080/api/v2/")
            .await
            .unwrap()
            .is_some()
    );
    let _ = FixedClock::new(0).now();
}

pub async fn blacklisted_tokens_keep_their_audience(db: Db) {
    use tessera_core::store::{BlacklistedToken, Revocation, RevocationStore};
    let token = |aud: Option<&str>, jti: &str| BlacklistedToken {
        aud: aud.map(str::to_owned),
        jti: jti.to_owned(),
    };
    let store = &db.store;
    assert!(
        store
            .list_blacklisted_tokens(T0, None)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .add_blacklisted_token(&token(Some("https://api.one"), "jti-1"), T0 + 100)
        .await
        .unwrap();
    // Blacklisting the same token twice lists it once.
    store
        .add_blacklisted_token(&token(Some("https://api.one"), "jti-1"), T0 + 100)
        .await
        .unwrap();
    store
        .add_blacklisted_token(&token(None, "jti-2"), T0 + 200)
        .await
        .unwrap();
    store
        .add_blacklisted_token(&token(Some("https://api.two"), "jti-3"), T0 + 10)
        .await
        .unwrap();
    // A jti revoked another way is listed too, without an audience; a client
    // revocation is not a blacklisted token.
    store
        .add_revocation(&Revocation::Jti {
            jti: "jti-4".into(),
            expires_at: T0 + 100,
        })
        .await
        .unwrap();
    store
        .add_revocation(&Revocation::Client {
            client_id: "some-client".into(),
            audience: Some("https://api.one".into()),
            issued_before: T0,
            expires_at: T0 + 100,
        })
        .await
        .unwrap();

    assert_eq!(
        store.list_blacklisted_tokens(T0, None).await.unwrap(),
        vec![
            token(None, "jti-2"),
            token(None, "jti-4"),
            token(Some("https://api.one"), "jti-1"),
            token(Some("https://api.two"), "jti-3"),
        ]
    );
    assert_eq!(
        store
            .list_blacklisted_tokens(T0, Some("https://api.one"))
            .await
            .unwrap(),
        vec![token(Some("https://api.one"), "jti-1")]
    );
    assert!(
        store
            .list_blacklisted_tokens(T0, Some("https://nowhere"))
            .await
            .unwrap()
            .is_empty()
    );
    // Expired entries are not listed.
    assert_eq!(
        store
            .list_blacklisted_tokens(T0 + 10, Some("https://api.two"))
            .await
            .unwrap(),
        vec![]
    );

    // Blacklisted tokens are jti revocations for the in-memory view.
    let live = store.live_revocations(T0).await.unwrap();
    for jti in ["jti-1", "jti-2", "jti-3", "jti-4"] {
        assert!(
            live.iter()
                .any(|r| matches!(r, Revocation::Jti { jti: j, .. } if j == jti)),
            "{jti} is not live: {live:?}"
        );
    }
    assert!(
        live.iter().any(|r| matches!(
            r,
            Revocation::Client { audience: Some(a), .. } if a == "https://api.one"
        )),
        "{live:?}"
    );
    assert_eq!(store.purge_revocations(T0 + 150).await.unwrap(), 5);
    assert_eq!(
        store.list_blacklisted_tokens(T0 + 150, None).await.unwrap(),
        vec![token(None, "jti-2")]
    );
}

// ---------------------------------------------------------------------------
// Users

pub const DB_CONN: &str = "Username-Password-Authentication";
