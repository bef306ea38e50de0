//! Applications (Auth0: clients): validation, per-`app_type` defaults, creation
//! and changes, shared by `/api/v2/clients` and the operator CLI.
//!
//! Rules, in Auth0's terms:
//! - `app_type` is `native`, `spa`, `regular_web` (default) or `non_interactive`.
//! - `token_endpoint_auth_method` defaults to `none` for `spa` and `native`, else
//!   `client_secret_post`; a client whose method is not `none` is confidential and
//!   is created with a secret. Changing the method later never removes, replaces
//!   or reveals a secret (see [`super::client_secrets`]).
//! - `grant_types` default per app type; a public client (`none`) may not have
//!   `client_credentials`.
//! - `callbacks`, `allowed_logout_urls` and `web_origins` are absolute URLs without
//!   a fragment: `https`, or `http` on a loopback host; `native` clients may also
//!   use private-use schemes (RFC 8252 §7.1) such as `com.example.app:/cb`.

use serde::{Deserialize, Serialize};
use url::Url;

use super::Invalid;
use crate::bootstrap::seal_client_secret;
use crate::envelope::MasterKey;
use crate::ids::{self, RngError};
use crate::keys::SigningAlg;
use crate::model::{Client, ClientSecret, JwtConfiguration};
use crate::types::Secret;

pub const APP_TYPES: &[&str] = &["native", "spa", "regular_web", "non_interactive"];
pub const DEFAULT_APP_TYPE: &str = "regular_web";
pub const AUTH_METHODS: &[&str] = &["none", "client_secret_post", "client_secret_basic"];
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];
/// Auth0: the name needs one character and may not contain `<` or `>`.
pub const MAX_NAME_LEN: usize = 255;
/// Auth0's limit on `description`.
pub const MAX_DESCRIPTION_LEN: usize = 140;
/// Entries per URL list, and characters per URL.
pub const MAX_URLS: usize = 100;
pub const MAX_URL_LEN: usize = 2048;
/// ID-token lifetime bounds (`jwt_configuration.lifetime_in_seconds`).
pub const MAX_ID_TOKEN_LIFETIME: i64 = 36000;
pub const DEFAULT_ID_TOKEN_LIFETIME: i64 = 36000;
/// Refresh-token lifetimes: Auth0's bounds (5 years) and Tessera's defaults
/// (30 days absolute, 15 days idle).
pub const MAX_REFRESH_TOKEN_LIFETIME: i64 = 157_788_000;
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: i64 = 2_592_000;
pub const DEFAULT_REFRESH_TOKEN_IDLE_LIFETIME: i64 = 1_296_000;
/// Longest reuse interval of a rotated refresh token.
pub const MAX_REFRESH_TOKEN_LEEWAY: i64 = 86_400;

/// Schemes never accepted, even for native applications.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
];

/// A client's refresh-token settings, every field present (Auth0's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenConfig {
    /// `rotating` or `non-rotating`.
    pub rotation_type: String,
    /// `expiring` or `non-expiring`.
    pub expiration_type: String,
    /// Seconds during which a rotated token may be used again without counting as reuse.
    pub leeway: i64,
    /// Absolute lifetime in seconds.
    pub token_lifetime: i64,
    pub infinite_token_lifetime: bool,
    /// Idle lifetime in seconds.
    pub idle_token_lifetime: i64,
    pub infinite_idle_token_lifetime: bool,
}

/// Changes to refresh-token settings; `None` keeps the current (or default) value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RefreshTokenChanges {
    #[serde(default)]
    pub rotation_type: Option<String>,
    #[serde(default)]
    pub expiration_type: Option<String>,
    #[serde(default)]
    pub leeway: Option<i64>,
    #[serde(default)]
    pub token_lifetime: Option<i64>,
    #[serde(default)]
    pub infinite_token_lifetime: Option<bool>,
    #[serde(default)]
    pub idle_token_lifetime: Option<i64>,
    #[serde(default)]
    pub infinite_idle_token_lifetime: Option<bool>,
}

impl RefreshTokenConfig {
    /// A new client's settings: rotating, expiring, 30 days absolute and 15 days
    /// idle; a reuse interval of 30 s for browser and native apps (concurrent
    /// requests of one app), none otherwise.
    pub fn defaults(app_type: &str) -> Self {
        Self {
            rotation_type: "rotating".into(),
            expiration_type: "expiring".into(),
            leeway: if matches!(app_type, "spa" | "native") {
                30
            } else {
                0
            },
            token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            infinite_token_lifetime: false,
            idle_token_lifetime: DEFAULT_REFRESH_TOKEN_IDLE_LIFETIME,
            infinite_idle_token_lifetime: false,
        }
    }

    /// The settings in force for `client`: what is stored, over the defaults of
    /// its app type (clients written by other means may store none).
    pub fn of(client: &Client) -> Self {
        let stored: RefreshTokenChanges =
            serde_json::from_value(client.refresh_token.clone()).unwrap_or_default();
        let mut config = Self::defaults(&client.app_type);
        config.apply(stored);
        config
    }

    fn apply(&mut self, changes: RefreshTokenChanges) {
        if let Some(v) = changes.rotation_type {
            self.rotation_type = v;
        }
        if let Some(v) = changes.expiration_type {
            self.expiration_type = v;
        }
        if let Some(v) = changes.leeway {
            self.leeway = v;
        }
        if let Some(v) = changes.token_lifetime {
            self.token_lifetime = v;
        }
        if let Some(v) = changes.infinite_token_lifetime {
            self.infinite_token_lifetime = v;
        }
        if let Some(v) = changes.idle_token_lifetime {
            self.idle_token_lifetime = v;
        }
        if let Some(v) = changes.infinite_idle_token_lifetime {
            self.infinite_idle_token_lifetime = v;
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if !matches!(self.rotation_type.as_str(), "rotating" | "non-rotating") {
            return Err(Invalid::new(
                "refresh_token.rotation_type",
                "must be rotating or non-rotating",
            ));
        }
        if !matches!(self.expiration_type.as_str(), "expiring" | "non-expiring") {
            return Err(Invalid::new(
                "refresh_token.expiration_type",
                "must be expiring or non-expiring",
            ));
        }
        if self.rotation_type == "rotating" && self.expiration_type != "expiring" {
            return Err(Invalid::new(
                "refresh_token.expiration_type",
                "rotating refresh tokens must be expiring",
            ));
        }
        if !(0..=MAX_REFRESH_TOKEN_LEEWAY).contains(&self.leeway) {
            return Err(Invalid::new(
                "refresh_token.leeway",
                format!("must be between 0 and {MAX_REFRESH_TOKEN_LEEWAY}"),
            ));
        }
        if !(1..=MAX_REFRESH_TOKEN_LIFETIME).contains(&self.token_lifetime) {
            return Err(Invalid::new(
                "refresh_token.token_lifetime",
                format!("must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME}"),
            ));
        }
        if !(1..=MAX_REFRESH_TOKEN_LIFETIME).contains(&self.idle_token_lifetime) {
            return Err(Invalid::new(
                "refresh_token.idle_token_lifetime",
                format!("must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME}"),
            ));
        }
        Ok(())
    }

    fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "rotation_type": self.rotation_type,
            "expiration_type": self.expiration_type,
            "leeway": self.leeway,
            "token_lifetime": self.token_lifetime,
            "infinite_token_lifetime": self.infinite_token_lifetime,
            "idle_token_lifetime": self.idle_token_lifetime,
            "infinite_idle_token_lifetime": self.infinite_idle_token_lifetime,
        })
    }
}

/// Changes to the ID-token settings; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtConfigurationChanges {
    pub lifetime_in_seconds: Option<i64>,
    pub alg: Option<String>,
}

/// What a caller asks for when creating a client; `None` takes the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewClient {
    /// Required.
    pub name: Option<String>,
    pub description: Option<String>,
    pub app_type: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub is_first_party: Option<bool>,
    pub refresh_token: Option<RefreshTokenChanges>,
    pub jwt_configuration: Option<JwtConfigurationChanges>,
}

/// Changes to an existing client; `None` keeps the stored value. Defaults are
/// never re-applied: a changed `app_type` keeps the other settings as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub app_type: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub is_first_party: Option<bool>,
    /// Merged into the current settings, field by field.
    pub refresh_token: Option<RefreshTokenChanges>,
    /// Merged into the current settings, field by field.
    pub jwt_configuration: Option<JwtConfigurationChanges>,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A new client, with its secret when it is confidential.
#[derive(Debug)]
pub struct Created {
    pub client: Client,
    /// The secret in clear, shown once to whoever created the client.
    pub secret: Option<Secret<String>>,
    /// The secret as stored: sealed and hashed.
    pub stored_secret: Option<ClientSecret>,
}

/// Default token endpoint authentication method of an app type.
pub fn default_auth_method(app_type: &str) -> &'static str {
    if matches!(app_type, "spa" | "native") {
        "none"
    } else {
        "client_secret_post"
    }
}

/// Default grant types of an app type.
pub fn default_grant_types(app_type: &str) -> Vec<String> {
    let names: &[&str] = match app_type {
        "spa" | "native" => &["authorization_code", "refresh_token"],
        "non_interactive" => &["client_credentials"],
        _ => &["authorization_code", "refresh_token", "client_credentials"],
    };
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Does this client authenticate with a secret?
pub fn is_confidential(client: &Client) -> bool {
    client.token_endpoint_auth_method != "none"
}

/// A fresh secret (384 bits): in clear, and sealed for the store.
pub fn generate_secret(
    master: &MasterKey,
    client_id: &str,
) -> Result<(Secret<String>, ClientSecret), RngError> {
    let secret = ids::client_secret()?;
    let stored = seal_client_secret(master, client_id, &secret)?;
    Ok((Secret::new(secret), stored))
}

/// The stored secret in clear (for `read:client_keys` callers). `None` when it
/// does not open under this master key or is not UTF-8.
pub fn reveal_secret(
    master: &MasterKey,
    client_id: &str,
    stored: &ClientSecret,
) -> Option<Secret<String>> {
    let clear = master
        .open(&format!("client_secret:{client_id}"), &stored.sealed)
        .ok()?;
    String::from_utf8(clear.to_vec()).ok().map(Secret::new)
}

/// A new client with a fresh id, every default applied, and a secret when it is
/// confidential.
pub fn create(master: &MasterKey, input: NewClient) -> Result<Created, CreateError> {
    let client = build(ids::client_id()?, input)?;
    let (secret, stored_secret) = if is_confidential(&client) {
        let (secret, stored) = generate_secret(master, &client.client_id)?;
        (Some(secret), Some(stored))
    } else {
        (None, None)
    };
    Ok(Created {
        client,
        secret,
        stored_secret,
    })
}

/// A new client with the given id and every default applied (no secret: see
/// [`create`] and [`generate_secret`]).
pub fn build(client_id: String, input: NewClient) -> Result<Client, Invalid> {
    let name = input
        .name
        .ok_or_else(|| Invalid::new("name", "is required"))?;
    let app_type = input
        .app_type
        .unwrap_or_else(|| DEFAULT_APP_TYPE.to_owned());
    validate_app_type(&app_type)?;
    let mut refresh = RefreshTokenConfig::defaults(&app_type);
    if let Some(changes) = input.refresh_token {
        refresh.apply(changes);
    }
    let mut jwt = JwtConfiguration {
        lifetime_in_seconds: DEFAULT_ID_TOKEN_LIFETIME,
        ..JwtConfiguration::default()
    };
    if let Some(changes) = input.jwt_configuration {
        apply_jwt(&mut jwt, changes);
    }
    let client = Client {
        client_id,
        name,
        token_endpoint_auth_method: input
            .token_endpoint_auth_method
            .unwrap_or_else(|| default_auth_method(&app_type).to_owned()),
        grant_types: input
            .grant_types
            .unwrap_or_else(|| default_grant_types(&app_type)),
        callbacks: input.callbacks.unwrap_or_default(),
        allowed_logout_urls: input.allowed_logout_urls.unwrap_or_default(),
        web_origins: input.web_origins.unwrap_or_default(),
        is_first_party: input.is_first_party.unwrap_or(true),
        refresh_token: refresh.to_value(),
        jwt_configuration: jwt,
        description: input.description.unwrap_or_default(),
        app_type,
    };
    validate(&client)?;
    Ok(client)
}

/// Applies `changes` to `client`, or leaves it untouched and names the first bad
/// property. The result is checked as a whole (e.g. switching to `none` while
/// `client_credentials` is granted is refused).
pub fn apply_changes(client: &mut Client, changes: ClientChanges) -> Result<(), Invalid> {
    let mut next = client.clone();
    let mut refresh = RefreshTokenConfig::of(client);
    if let Some(v) = changes.name {
        next.name = v;
    }
    if let Some(v) = changes.description {
        next.description = v;
    }
    if let Some(v) = changes.app_type {
        next.app_type = v;
    }
    if let Some(v) = changes.token_endpoint_auth_method {
        next.token_endpoint_auth_method = v;
    }
    if let Some(v) = changes.grant_types {
        next.grant_types = v;
    }
    if let Some(v) = changes.callbacks {
        next.callbacks = v;
    }
    if let Some(v) = changes.allowed_logout_urls {
        next.allowed_logout_urls = v;
    }
    if let Some(v) = changes.web_origins {
        next.web_origins = v;
    }
    if let Some(v) = changes.is_first_party {
        next.is_first_party = v;
    }
    if let Some(v) = changes.refresh_token {
        refresh.apply(v);
    }
    next.refresh_token = refresh.to_value();
    if let Some(v) = changes.jwt_configuration {
        apply_jwt(&mut next.jwt_configuration, v);
    }
    validate(&next)?;
    *client = next;
    Ok(())
}

fn apply_jwt(jwt: &mut JwtConfiguration, changes: JwtConfigurationChanges) {
    if let Some(v) = changes.lifetime_in_seconds {
        jwt.lifetime_in_seconds = v;
    }
    if let Some(v) = changes.alg {
        jwt.alg = v;
    }
}

fn validate_app_type(app_type: &str) -> Result<(), Invalid> {
    if APP_TYPES.contains(&app_type) {
        Ok(())
    } else {
        Err(Invalid::new(
            "app_type",
            "must be one of native, spa, regular_web, non_interactive",
        ))
    }
}

/// Checks a whole client; the first bad property is named.
pub fn validate(client: &Client) -> Result<(), Invalid> {
    let name_len = client.name.chars().count();
    if client.name.trim().is_empty() || name_len > MAX_NAME_LEN {
        return Err(Invalid::new(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    if client.name.contains(['<', '>']) {
        return Err(Invalid::new("name", "must not contain < or >"));
    }
    if client.description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Invalid::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    validate_app_type(&client.app_type)?;
    if !AUTH_METHODS.contains(&client.token_endpoint_auth_method.as_str()) {
        return Err(Invalid::new(
            "token_endpoint_auth_method",
            "must be one of none, client_secret_post, client_secret_basic",
        ));
    }
    for (i, g) in client.grant_types.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(Invalid::new(
                "grant_types",
                "each must be one of authorization_code, refresh_token, client_credentials",
            ));
        }
        if client.grant_types[..i].contains(g) {
            return Err(Invalid::new("grant_types", format!("{g} is listed twice")));
        }
    }
    if !is_confidential(client) && client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(Invalid::new(
            "grant_types",
            "a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    let native = client.app_type == "native";
    validate_urls("callbacks", &client.callbacks, native, false)?;
    validate_urls(
        "allowed_logout_urls",
        &client.allowed_logout_urls,
        native,
        false,
    )?;
    validate_urls("web_origins", &client.web_origins, native, true)?;
    RefreshTokenConfig::of(client).validate()?;
    let jwt = &client.jwt_configuration;
    if !(1..=MAX_ID_TOKEN_LIFETIME).contains(&jwt.lifetime_in_seconds) {
        return Err(Invalid::new(
            "jwt_configuration.lifetime_in_seconds",
            format!("must be between 1 and {MAX_ID_TOKEN_LIFETIME}"),
        ));
    }
    if jwt.alg.parse::<SigningAlg>().is_err() {
        return Err(Invalid::new(
            "jwt_configuration.alg",
            "must be one of RS256, PS256, ES256, EdDSA",
        ));
    }
    Ok(())
}

fn validate_urls(
    property: &str,
    urls: &[String],
    native: bool,
    origin_only: bool,
) -> Result<(), Invalid> {
    if urls.len() > MAX_URLS {
        return Err(Invalid::new(
            property,
            format!("at most {MAX_URLS} entries"),
        ));
    }
    for raw in urls {
        check_url(raw, native, origin_only).map_err(|problem| {
            let shown: String = raw.chars().take(100).collect();
            Invalid::new(property, format!("{shown:?} {problem}"))
        })?;
    }
    Ok(())
}

fn check_url(raw: &str, native: bool, origin_only: bool) -> Result<(), String> {
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(format!("must be 1 to {MAX_URL_LEN} characters"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain white space".into());
    }
    let url = Url::parse(raw).map_err(|_| "is not an absolute URL".to_owned())?;
    if raw.contains('#') || url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    match url.scheme() {
        "https" => {
            if url.host().is_none() {
                return Err("must name a host".into());
            }
        }
        "http" => {
            if !is_loopback(&url) {
                return Err(
                    "must use https (http is allowed only on loopback hosts such as localhost or 127.0.0.1)"
                        .into(),
                );
            }
        }
        scheme if native && !FORBIDDEN_SCHEMES.contains(&scheme) => {}
        _ => {
            return Err(if native {
                "must use https, http on a loopback host, or an app's own scheme".into()
            } else {
                "must use https (http is allowed only on loopback hosts such as localhost or 127.0.0.1)"
                    .into()
            });
        }
    }
    if origin_only && (url.query().is_some() || !matches!(url.path(), "" | "/")) {
        return Err("must be an origin (scheme://host[:port]) without a path or query".into());
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(web.app_type, "regular_web");
        assert_eq!(web.token_endpoint_auth_method, "client_secret_post");
        assert_eq!(
            web.grant_types,
            ["authorization_code", "refresh_token", "client_credentials"]
        );
        assert!(web.is_first_party);
        assert_eq!(web.jwt_configuration.lifetime_in_seconds, 36000);
        assert_eq!(web.jwt_configuration.alg, "RS256");
        let rt = RefreshTokenConfig::of(&web);
        assert_eq!(rt, RefreshTokenConfig::defaults("regular_web"));
        assert_eq!(
            (rt.leeway, rt.token_lifetime, rt.idle_token_lifetime),
            (0, 2_592_000, 1_296_000)
        );
        assert_eq!(rt.rotation_type, "rotating");

        for t in ["spa", "native"] {
            let c = build("id".into(), with(t)).unwrap();
            assert_eq!(c.token_endpoint_auth_method, "none");
            assert_eq!(c.grant_types, ["authorization_code", "refresh_token"]);
            assert_eq!(RefreshTokenConfig::of(&c).leeway, 30);
            assert!(!is_confidential(&c));
        }
        let m2m = build("id".into(), with("non_interactive")).unwrap();
        assert_eq!(m2m.grant_types, ["client_credentials"]);
        assert_eq!(m2m.token_endpoint_auth_method, "client_secret_post");
        assert!(is_confidential(&m2m));
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
                grant_types: Some(vec!["password".into()]),
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
                    alg: None
                }),
                ..named("a")
            }),
            "jwt_configuration.lifetime_in_seconds"
        );
        assert_eq!(
            bad(NewClient {
                jwt_configuration: Some(JwtConfigurationChanges {
                    lifetime_in_seconds: None,
                    alg: Some("HS256".into())
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
                }),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!is_confidential(&c));
        let rt = RefreshTokenConfig::of(&c);
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
        assert!(is_confidential(&c));
    }

    #[test]
    fn stored_settings_without_refresh_token_get_defaults() {
        let mut c = build("id".into(), with("spa")).unwrap();
        c.refresh_token = serde_json::Value::Null;
        assert_eq!(
            RefreshTokenConfig::of(&c),
            RefreshTokenConfig::defaults("spa")
        );
        c.refresh_token = serde_json::json!({"rotation_type": "non-rotating", "extra": 1});
        assert_eq!(RefreshTokenConfig::of(&c).rotation_type, "non-rotating");
    }
}
