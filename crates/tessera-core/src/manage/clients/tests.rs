//! The client rules, through `build` and `apply_changes`.

use super::*;
use crate::envelope::MasterKey;
use crate::model::{
    AppType, ExpirationType, GrantType, RefreshTokenConfig, RotationType, TokenEndpointAuthMethod,
};

fn named(name: &str) -> NewClient {
    NewClient {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn with(app_type: &str) -> NewClient {
    NewClient {
        app_type: Some(app_type.into()),
        ..named("app")
    }
}

fn bad(input: NewClient) -> String {
    match build("id".into(), input) {
        Err(e) => e.property,
        Ok(c) => panic!("expected Invalid, got {c:?}"),
    }
}

#[test]
fn app_type_defaults() {
    let web = build("id".into(), named("web")).unwrap();
    assert_eq!(web.app_type, AppType::RegularWeb);
    assert_eq!(
        web.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretPost
    );
    assert_eq!(
        web.grant_types,
        [
            GrantType::Implicit,
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials
        ]
    );
    assert!(web.is_first_party);
    assert_eq!(web.jwt_configuration.lifetime_in_seconds, 36000);
    assert_eq!(web.jwt_configuration.alg, "RS256");
    let rt = &web.refresh_token;
    assert_eq!(*rt, RefreshTokenConfig::defaults(AppType::RegularWeb));
    assert_eq!(
        (rt.leeway, rt.token_lifetime, rt.idle_token_lifetime),
        (0, 2_592_000, 1_296_000)
    );
    assert_eq!(rt.rotation_type, RotationType::Rotating);
    assert_eq!(rt.expiration_type, ExpirationType::Expiring);

    for t in ["spa", "native"] {
        let c = build("id".into(), with(t)).unwrap();
        assert_eq!(c.token_endpoint_auth_method, TokenEndpointAuthMethod::None);
        assert_eq!(
            c.grant_types,
            [
                GrantType::Implicit,
                GrantType::AuthorizationCode,
                GrantType::RefreshToken
            ]
        );
        assert_eq!(c.refresh_token.leeway, 30);
        assert!(c.is_public() && !c.is_confidential());
    }
    let m2m = build("id".into(), with("non_interactive")).unwrap();
    assert_eq!(m2m.grant_types, [GrantType::ClientCredentials]);
    assert_eq!(
        m2m.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretPost
    );
    assert!(m2m.is_confidential());
}

#[test]
fn create_makes_a_secret_only_for_confidential_clients() {
    let master = MasterKey::from_bytes(&[7u8; 32]);
    let web = create(&master, named("web")).unwrap();
    assert_eq!(web.client.client_id.len(), 32);
    let secret = web.secret.unwrap();
    let stored = web.stored_secret.unwrap();
    assert!(master.verify_keyed_hash(
        crate::bootstrap::CLIENT_SECRET_PURPOSE,
        secret.expose().as_bytes(),
        &stored.hash
    ));
    assert_eq!(
        reveal_secret(&master, &web.client.client_id, &stored).unwrap(),
        secret
    );
    assert!(reveal_secret(&master, "another", &stored).is_none());
    let spa = create(&master, with("spa")).unwrap();
    assert!(spa.secret.is_none() && spa.stored_secret.is_none());
}

#[test]
fn each_property_is_named() {
    assert_eq!(bad(NewClient::default()), "name");
    assert_eq!(bad(named("")), "name");
    assert_eq!(bad(named("<script>")), "name");
    assert_eq!(
        bad(NewClient {
            description: Some("x".repeat(141)),
            ..named("a")
        }),
        "description"
    );
    assert_eq!(bad(with("desktop")), "app_type");
    assert_eq!(
        bad(NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..named("a")
        }),
        "token_endpoint_auth_method"
    );
    assert_eq!(
        bad(NewClient {
            grant_types: Some(vec!["http://auth0.com/oauth/legacy/grant-type/ro".into()]),
            ..named("a")
        }),
        "grant_types"
    );
    assert_eq!(
        bad(NewClient {
            grant_types: Some(vec!["client_credentials".into()]),
            ..with("spa")
        }),
        "grant_types"
    );
    assert_eq!(
        bad(NewClient {
            token_endpoint_auth_method: Some("none".into()),
            ..with("non_interactive")
        }),
        "grant_types"
    );
    assert_eq!(
        bad(NewClient {
            refresh_token: Some(RefreshTokenChanges {
                leeway: Some(-1),
                ..Default::default()
            }),
            ..named("a")
        }),
        "refresh_token.leeway"
    );
    assert_eq!(
        bad(NewClient {
            refresh_token: Some(RefreshTokenChanges {
                token_lifetime: Some(0),
                ..Default::default()
            }),
            ..named("a")
        }),
        "refresh_token.token_lifetime"
    );
    assert_eq!(
        bad(NewClient {
            refresh_token: Some(RefreshTokenChanges {
                rotation_type: Some("sometimes".into()),
                ..Default::default()
            }),
            ..named("a")
        }),
        "refresh_token.rotation_type"
    );
    assert_eq!(
        bad(NewClient {
            refresh_token: Some(RefreshTokenChanges {
                expiration_type: Some("non-expiring".into()),
                ..Default::default()
            }),
            ..named("a")
        }),
        "refresh_token.expiration_type"
    );
    assert_eq!(
        bad(NewClient {
            jwt_configuration: Some(JwtConfigurationChanges {
                lifetime_in_seconds: Some(36001),
                alg: None,
                ..Default::default()
            }),
            ..named("a")
        }),
        "jwt_configuration.lifetime_in_seconds"
    );
    assert_eq!(
        bad(NewClient {
            jwt_configuration: Some(JwtConfigurationChanges {
                lifetime_in_seconds: None,
                alg: Some("HS256".into()),
                ..Default::default()
            }),
            ..named("a")
        }),
        "jwt_configuration.alg"
    );
}

#[test]
fn urls() {
    let cb = |app_type: &str, url: &str| {
        build(
            "id".into(),
            NewClient {
                callbacks: Some(vec![url.into()]),
                ..with(app_type)
            },
        )
        .map(|_| ())
        .map_err(|e| e.property)
    };
    assert!(cb("regular_web", "https://app.example/cb").is_ok());
    assert!(cb("regular_web", "http://localhost:3000/cb").is_ok());
    assert!(cb("regular_web", "http://127.0.0.1/cb").is_ok());
    assert!(cb("regular_web", "http://[::1]:8080/cb").is_ok());
    assert_eq!(
        cb("regular_web", "http://app.example/cb").unwrap_err(),
        "callbacks"
    );
    assert_eq!(
        cb("regular_web", "https://app.example/cb#x").unwrap_err(),
        "callbacks"
    );
    assert_eq!(
        cb("regular_web", "https://app.example/cb#").unwrap_err(),
        "callbacks"
    );
    assert_eq!(cb("regular_web", "/relative").unwrap_err(), "callbacks");
    assert_eq!(
        cb("regular_web", "com.example.app:/cb").unwrap_err(),
        "callbacks"
    );
    assert_eq!(
        cb("regular_web", "https://u:p@app.example/").unwrap_err(),
        "callbacks"
    );
    assert!(cb("native", "com.example.app:/cb").is_ok());
    assert!(cb("native", "myapp://callback").is_ok());
    assert_eq!(
        cb("native", "javascript:alert(1)").unwrap_err(),
        "callbacks"
    );
    assert_eq!(
        cb("native", "http://app.example/cb").unwrap_err(),
        "callbacks"
    );
    let origin = |url: &str| {
        build(
            "id".into(),
            NewClient {
                web_origins: Some(vec![url.into()]),
                ..with("spa")
            },
        )
        .map_err(|e| e.property)
    };
    assert!(origin("https://app.example").is_ok());
    assert!(origin("https://app.example:8443/").is_ok());
    assert_eq!(
        origin("https://app.example/path").unwrap_err(),
        "web_origins"
    );
    // Allowed Origins (CORS) follow the same rules, under their own name.
    let allowed = |url: &str| {
        build(
            "id".into(),
            NewClient {
                allowed_origins: Some(vec![url.into()]),
                ..with("spa")
            },
        )
        .map(|c| c.allowed_origins)
        .map_err(|e| e.property)
    };
    assert_eq!(
        allowed("http://localhost:3000"),
        Ok(vec!["http://localhost:3000".to_owned()])
    );
    for refused in [
        "https://app.example/path",
        "https://app.example?q=1",
        "http://app.example",
        "https://user@app.example",
        "app.example",
        "",
    ] {
        assert_eq!(
            allowed(refused).unwrap_err(),
            "allowed_origins",
            "{refused}"
        );
    }
    let mut c = build("id".into(), with("spa")).unwrap();
    let err = apply_changes(
        &mut c,
        ClientChanges {
            allowed_origins: Some(vec!["javascript:alert(1)".into()]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.property, "allowed_origins");
    assert!(
        c.allowed_origins.is_empty(),
        "a refused change changes nothing"
    );
    let logout = build(
        "id".into(),
        NewClient {
            allowed_logout_urls: Some(vec!["ftp://x".into()]),
            ..named("a")
        },
    );
    assert_eq!(logout.unwrap_err().property, "allowed_logout_urls");
}

#[test]
fn changes_merge_and_are_checked_as_a_whole() {
    let mut c = build("id".into(), named("web")).unwrap();
    let before = c.clone();
    // Going public while client_credentials is granted: refused, nothing changes.
    let err = apply_changes(
        &mut c,
        ClientChanges {
            name: Some("renamed".into()),
            token_endpoint_auth_method: Some("none".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.property, "grant_types");
    assert_eq!(c, before);
    apply_changes(
        &mut c,
        ClientChanges {
            token_endpoint_auth_method: Some("none".into()),
            grant_types: Some(vec!["authorization_code".into()]),
            refresh_token: Some(RefreshTokenChanges {
                leeway: Some(10),
                ..Default::default()
            }),
            jwt_configuration: Some(JwtConfigurationChanges {
                lifetime_in_seconds: Some(600),
                alg: None,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(c.is_public());
    let rt = &c.refresh_token;
    assert_eq!((rt.leeway, rt.token_lifetime), (10, 2_592_000));
    assert_eq!(c.jwt_configuration.lifetime_in_seconds, 600);
    assert_eq!(c.jwt_configuration.alg, "RS256");
    apply_changes(
        &mut c,
        ClientChanges {
            token_endpoint_auth_method: Some("client_secret_basic".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(c.is_confidential());
}

#[test]
fn closed_sets_are_refused_with_their_messages() {
    let problem = |input: NewClient| build("id".into(), input).unwrap_err().to_string();
    assert_eq!(
        problem(with("SPA")),
        "app_type: must be one of native, spa, regular_web, non_interactive"
    );
    assert_eq!(
        problem(NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..named("a")
        }),
        "token_endpoint_auth_method: must be one of none, client_secret_post, client_secret_basic"
    );
    for g in [
        "Implicit",
        "Password",
        "http://auth0.com/oauth/legacy/grant-type/ro",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        assert_eq!(
            problem(NewClient {
                grant_types: Some(vec!["refresh_token".into(), g.into()]),
                ..named("a")
            }),
            "grant_types: each must be one of implicit, authorization_code, refresh_token, client_credentials, password, http://auth0.com/oauth/grant-type/password-realm, http://auth0.com/oauth/grant-type/passwordless/otp, http://auth0.com/oauth/grant-type/mfa-oob, http://auth0.com/oauth/grant-type/mfa-otp, http://auth0.com/oauth/grant-type/mfa-recovery-code, urn:ietf:params:oauth:grant-type:device_code, urn:openid:params:grant-type:ciba, urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token"
        );
    }
    assert_eq!(
        problem(NewClient {
            grant_types: Some(vec!["refresh_token".into(), "refresh_token".into()]),
            ..named("a")
        }),
        "grant_types: refresh_token is listed twice"
    );
    let refresh = |rotation: &str, expiration: &str| {
        problem(NewClient {
            refresh_token: Some(RefreshTokenChanges {
                rotation_type: Some(rotation.into()),
                expiration_type: Some(expiration.into()),
                leeway: Some(-1),
                ..Default::default()
            }),
            ..named("a")
        })
    };
    assert_eq!(
        refresh("always", "sometimes"),
        "refresh_token.rotation_type: must be rotating or non-rotating"
    );
    assert_eq!(
        refresh("rotating", "sometimes"),
        "refresh_token.expiration_type: must be expiring or non-expiring"
    );
    assert_eq!(
        refresh("rotating", "non-expiring"),
        "refresh_token.expiration_type: rotating refresh tokens must be expiring"
    );
    assert_eq!(
        refresh("non-rotating", "non-expiring"),
        "refresh_token.leeway: must be between 0 and 86400"
    );
}

#[test]
fn the_first_problem_in_tessera_order_is_named() {
    // Creation: the name must be given, then app_type comes before its length.
    assert_eq!(bad(with("desktop")), "app_type");
    assert_eq!(
        bad(NewClient {
            app_type: Some("desktop".into()),
            ..NewClient::default()
        }),
        "name"
    );
    assert_eq!(
        bad(NewClient {
            app_type: Some("desktop".into()),
            ..named("")
        }),
        "app_type"
    );
    // Then: auth method, grant types, URLs, refresh token, ID token.
    let all = NewClient {
        token_endpoint_auth_method: Some("bogus".into()),
        grant_types: Some(vec!["ro".into()]),
        callbacks: Some(vec!["http://app.example/cb".into()]),
        refresh_token: Some(RefreshTokenChanges {
            rotation_type: Some("always".into()),
            ..Default::default()
        }),
        jwt_configuration: Some(JwtConfigurationChanges {
            lifetime_in_seconds: None,
            alg: Some("HS256".into()),
            ..Default::default()
        }),
        ..named("a")
    };
    let mut input = all.clone();
    assert_eq!(bad(input.clone()), "token_endpoint_auth_method");
    input.token_endpoint_auth_method = None;
    assert_eq!(bad(input.clone()), "grant_types");
    input.grant_types = None;
    assert_eq!(bad(input.clone()), "callbacks");
    input.callbacks = None;
    assert_eq!(bad(input.clone()), "refresh_token.rotation_type");
    input.refresh_token = None;
    assert_eq!(bad(input), "jwt_configuration.alg");
    // Update: the name and description come before app_type.
    let mut c = build("id".into(), named("web")).unwrap();
    let err = apply_changes(
        &mut c,
        ClientChanges {
            name: Some(String::new()),
            app_type: Some("desktop".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.property, "name");
}
