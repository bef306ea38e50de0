//! Applications (Auth0: clients): the client, its closed sets of settings and
//! its refresh-token settings, typed, with Auth0's wire values.
//!
//! Stored documents are the serde form of [`Client`]. Every document an earlier
//! Tessera wrote still loads: `refresh_token` may be absent, `null` (bootstrap
//! clients) or partial, and takes what it lacks from the defaults of the
//! client's app type ([`RefreshTokenConfig::defaults`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Refresh-token lifetimes: Auth0's bound (5 years) and Tessera's defaults (30
/// days absolute, 15 days idle).
pub const MAX_REFRESH_TOKEN_LIFETIME: i64 = 157_788_000;
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: i64 = 2_592_000;
pub const DEFAULT_REFRESH_TOKEN_IDLE_LIFETIME: i64 = 1_296_000;
/// The default ID-token lifetime (`jwt_configuration.lifetime_in_seconds`), 10 hours.
pub const DEFAULT_ID_TOKEN_LIFETIME: i64 = 36000;

/// A value outside one of the closed sets below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not one of the accepted values")]
pub struct UnknownValue;

/// A closed set of wire values: the enum, its values in order (`ALL`), the
/// wire form (`as_str`, `Display`, serde) and `FromStr` (exact, case-sensitive).
macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:tt,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in the order Tessera lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(UnknownValue),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use closed_set;

mod settings;
pub use settings::{
    ClientMobile, ClientSettings, ComplianceLevel, DefaultOrganization, DefaultOrganizationFlow,
    EncryptionKey, MobileAndroid, MobileIos, NativeSocialLogin, NativeSocialLoginProvider, Object,
    OrganizationDiscovery, OrganizationRequireBehavior, OrganizationUsage, RedirectionPolicy,
    ThirdPartySecurityMode, nullable,
};
pub(crate) use settings::{client_settings_list, settings_model};

closed_set! {
    /// The kind of application; it sets the defaults of the other settings.
    AppType {
        Native = "native",
        Spa = "spa",
        RegularWeb = "regular_web",
        NonInteractive = "non_interactive",
    }
}

closed_set! {
    /// How a client authenticates at the token endpoint. `none` is a public
    /// client (PKCE, no secret); the others are confidential.
    TokenEndpointAuthMethod {
        None = "none",
        ClientSecretPost = "client_secret_post",
        ClientSecretBasic = "client_secret_basic",
    }
}

closed_set! {
    /// A grant a client may use: the values Auth0 accepts in a client's
    /// `grant_types` (its legacy grants aside). Tessera serves `implicit` (ID
    /// tokens from `/authorize`, `response_type=id_token` or `code id_token`)
    /// and the grants of the token endpoint ([`crate::grant::GRANT_TYPES`]);
    /// the others are stored and returned, and their requests are answered
    /// `unsupported_grant_type` until Tessera implements them. The order of
    /// existing values is stable (`ALL`); new ones go last.
    GrantType {
        Implicit = "implicit",
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        Password = "password",
        PasswordRealm = "http://auth0.com/oauth/grant-type/password-realm",
        PasswordlessOtp = "http://auth0.com/oauth/grant-type/passwordless/otp",
        MfaOob = "http://auth0.com/oauth/grant-type/mfa-oob",
        MfaOtp = "http://auth0.com/oauth/grant-type/mfa-otp",
        MfaRecoveryCode = "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        Ciba = "urn:openid:params:grant-type:ciba",
        TokenVault = "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
    }
}

closed_set! {
    /// Whether a refresh token is replaced at each use.
    RotationType {
        Rotating = "rotating",
        NonRotating = "non-rotating",
    }
}

closed_set! {
    /// Whether a refresh token expires (rotating ones always do).
    ExpirationType {
        Expiring = "expiring",
        NonExpiring = "non-expiring",
    }
}

impl AppType {
    /// A browser or native app: it runs on the user's device.
    pub fn runs_on_device(self) -> bool {
        matches!(self, Self::Spa | Self::Native)
    }

    /// The default token endpoint authentication method: `none` for apps on
    /// the user's device, else `client_secret_post`.
    pub fn default_auth_method(self) -> TokenEndpointAuthMethod {
        if self.runs_on_device() {
            TokenEndpointAuthMethod::None
        } else {
            TokenEndpointAuthMethod::ClientSecretPost
        }
    }

    /// The default grant types, Auth0's: apps with a browser or a device get
    /// `implicit` too (ID tokens from `/authorize`; access tokens never travel
    /// in the front channel).
    pub fn default_grant_types(self) -> Vec<GrantType> {
        use GrantType::{AuthorizationCode, ClientCredentials, Implicit, RefreshToken};
        match self {
            Self::Spa | Self::Native => vec![Implicit, AuthorizationCode, RefreshToken],
            Self::NonInteractive => vec![ClientCredentials],
            Self::RegularWeb => vec![Implicit, AuthorizationCode, RefreshToken, ClientCredentials],
        }
    }
}

/// A client's refresh-token settings, every property present (Auth0's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RefreshTokenDto)
)]
pub struct RefreshTokenConfig {
    pub rotation_type: RotationType,
    pub expiration_type: ExpirationType,
    /// Seconds a rotated refresh token may still be used (reuse interval).
    pub leeway: i64,
    /// Absolute lifetime in seconds.
    pub token_lifetime: i64,
    pub infinite_token_lifetime: bool,
    /// Idle lifetime in seconds.
    pub idle_token_lifetime: i64,
    pub infinite_idle_token_lifetime: bool,
}

impl RefreshTokenConfig {
    /// A new client's settings: rotating, expiring, 30 days absolute and 15 days
    /// idle; a reuse interval of 30 s for browser and native apps (concurrent
    /// requests of one app), none otherwise.
    pub fn defaults(app_type: AppType) -> Self {
        Self {
            rotation_type: RotationType::Rotating,
            expiration_type: ExpirationType::Expiring,
            leeway: if app_type.runs_on_device() { 30 } else { 0 },
            token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            infinite_token_lifetime: false,
            idle_token_lifetime: DEFAULT_REFRESH_TOKEN_IDLE_LIFETIME,
            infinite_idle_token_lifetime: false,
        }
    }

    /// Whether each use replaces the token.
    pub fn rotates(&self) -> bool {
        self.rotation_type == RotationType::Rotating
    }

    /// The stored settings over the defaults of `app_type`. A stored value
    /// that does not parse as a whole counts as absent; unknown properties are
    /// ignored.
    fn stored(app_type: AppType, stored: serde_json::Value) -> Self {
        let stored: StoredRefreshToken = serde_json::from_value(stored).unwrap_or_default();
        let defaults = Self::defaults(app_type);
        Self {
            rotation_type: stored.rotation_type.unwrap_or(defaults.rotation_type),
            expiration_type: stored.expiration_type.unwrap_or(defaults.expiration_type),
            leeway: stored.leeway.unwrap_or(defaults.leeway),
            token_lifetime: stored.token_lifetime.unwrap_or(defaults.token_lifetime),
            infinite_token_lifetime: stored
                .infinite_token_lifetime
                .unwrap_or(defaults.infinite_token_lifetime),
            idle_token_lifetime: stored
                .idle_token_lifetime
                .unwrap_or(defaults.idle_token_lifetime),
            infinite_idle_token_lifetime: stored
                .infinite_idle_token_lifetime
                .unwrap_or(defaults.infinite_idle_token_lifetime),
        }
    }
}

/// Stored refresh-token settings, as any Tessera wrote them: possibly partial.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoredRefreshToken {
    rotation_type: Option<RotationType>,
    expiration_type: Option<ExpirationType>,
    leeway: Option<i64>,
    token_lifetime: Option<i64>,
    infinite_token_lifetime: Option<bool>,
    idle_token_lifetime: Option<i64>,
    infinite_idle_token_lifetime: Option<bool>,
}

/// ID-token settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = JwtConfigurationDto)
)]
pub struct JwtConfiguration {
    /// ID-token lifetime, 1 to 36000 seconds.
    pub lifetime_in_seconds: i64,
    /// `RS256`, `PS256`, `ES256` or `EdDSA`.
    #[serde(default = "default_alg")]
    pub alg: String,
    /// Auth0's: whether the client secret is base64 encoded (HS256 ID
    /// tokens, which Tessera does not sign). Stored, no effect yet.
    #[serde(default)]
    pub secret_encoded: bool,
    /// Auth0's delegation scopes. Stored, no effect yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub scopes: Option<Object>,
}

fn default_alg() -> String {
    "RS256".into()
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        Self {
            lifetime_in_seconds: DEFAULT_ID_TOKEN_LIFETIME,
            alg: default_alg(),
            secret_encoded: false,
            scopes: None,
        }
    }
}

/// An application (Auth0: client). The secret is kept apart, see [`ClientSecret`].
/// Its serde form, properties in this order, is also what `/api/v2/clients` and
/// `tessera clients --json` show (`manage::clients::ClientView`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredClient")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub app_type: AppType,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    /// Auth0's "Allowed Origins (CORS)": further origins that may call the
    /// token, revocation and userinfo endpoints from a browser.
    pub allowed_origins: Vec<String>,
    pub is_first_party: bool,
    pub refresh_token: RefreshTokenConfig,
    pub jwt_configuration: JwtConfiguration,
    /// The properties Tessera stores and answers but does not act on yet.
    #[serde(flatten)]
    pub settings: ClientSettings,
    /// Auth0's setting: the token endpoint takes the end user's address from
    /// this client's `auth0-forwarded-for` header (for brute-force protection),
    /// when the client authenticated with its secret. Default false.
    pub is_token_endpoint_ip_header_trusted: bool,
    /// Auth0's `client_authentication_methods`: with `private_key_jwt`, the
    /// client authenticates only with assertions signed by those credentials
    /// (see [`super::ClientAuthenticationMethods`]). Absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_authentication_methods: Option<super::ClientAuthenticationMethods>,
}

impl Client {
    /// Whether the client authenticates with `private_key_jwt` (then never with
    /// its secret).
    pub fn uses_private_key_jwt(&self) -> bool {
        self.client_authentication_methods
            .as_ref()
            .is_some_and(|m| m.private_key_jwt.is_some())
    }

    /// A public client (`none`): no secret, PKCE instead.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// A confidential client: it authenticates with a secret.
    pub fn is_confidential(&self) -> bool {
        !self.is_public()
    }

    /// Whether the token endpoint may take the end user's address from this
    /// client's `auth0-forwarded-for` header: only a confidential client the
    /// operator trusts, and only once it has authenticated (the caller's part).
    pub fn trusts_forwarded_for(&self) -> bool {
        self.is_confidential() && self.is_token_endpoint_ip_header_trusted
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// How long its ID tokens live: `jwt_configuration.lifetime_in_seconds`,
    /// within 1 s and 10 hours.
    pub fn id_token_lifetime(&self) -> i64 {
        self.jwt_configuration
            .lifetime_in_seconds
            .clamp(1, DEFAULT_ID_TOKEN_LIFETIME)
    }
}

/// A client document as stored (see the module's notes).
#[derive(Deserialize)]
struct StoredClient {
    client_id: String,
    name: String,
    app_type: AppType,
    token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(default)]
    grant_types: Vec<GrantType>,
    #[serde(default)]
    callbacks: Vec<String>,
    #[serde(default)]
    allowed_logout_urls: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default = "yes")]
    is_first_party: bool,
    #[serde(default)]
    refresh_token: serde_json::Value,
    #[serde(default)]
    jwt_configuration: JwtConfiguration,
    #[serde(flatten)]
    settings: ClientSettings,
    #[serde(default)]
    description: String,
    #[serde(default)]
    is_token_endpoint_ip_header_trusted: bool,
    #[serde(default)]
    client_authentication_methods: Option<super::ClientAuthenticationMethods>,
}

fn yes() -> bool {
    true
}

impl From<StoredClient> for Client {
    fn from(s: StoredClient) -> Self {
        Self {
            refresh_token: RefreshTokenConfig::stored(s.app_type, s.refresh_token),
            client_id: s.client_id,
            name: s.name,
            app_type: s.app_type,
            token_endpoint_auth_method: s.token_endpoint_auth_method,
            grant_types: s.grant_types,
            callbacks: s.callbacks,
            allowed_logout_urls: s.allowed_logout_urls,
            web_origins: s.web_origins,
            allowed_origins: s.allowed_origins,
            is_first_party: s.is_first_party,
            jwt_configuration: s.jwt_configuration,
            settings: s.settings,
            description: s.description,
            is_token_endpoint_ip_header_trusted: s.is_token_endpoint_ip_header_trusted,
            client_authentication_methods: s.client_authentication_methods,
        }
    }
}

/// A client secret at rest: sealed under the master key (so `read:client_keys` can
/// return it) and a keyed hash (so checking it costs one HMAC, not a decryption or
/// a password hash). Neither reveals the secret without the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub sealed: Vec<u8>,
    pub hash: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(doc: serde_json::Value) -> Client {
        serde_json::from_value(doc).unwrap()
    }

    fn doc(app_type: &str, refresh_token: serde_json::Value) -> serde_json::Value {
        json!({
            "client_id": "c", "name": "n", "app_type": app_type,
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "refresh_token": refresh_token,
        })
    }

    #[test]
    fn closed_sets_have_auth0s_wire_values() {
        let wire = |v: serde_json::Value| v.as_str().unwrap().to_owned();
        for t in AppType::ALL {
            assert_eq!(wire(json!(t)), t.as_str());
            assert_eq!(t.as_str().parse::<AppType>(), Ok(*t));
        }
        assert_eq!(
            AppType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            ["native", "spa", "regular_web", "non_interactive"]
        );
        assert_eq!(
            TokenEndpointAuthMethod::ALL
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["none", "client_secret_post", "client_secret_basic"]
        );
        assert_eq!(
            GrantType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            [
                "implicit",
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
                "http://auth0.com/oauth/grant-type/passwordless/otp",
                "http://auth0.com/oauth/grant-type/mfa-oob",
                "http://auth0.com/oauth/grant-type/mfa-otp",
                "http://auth0.com/oauth/grant-type/mfa-recovery-code",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:openid:params:grant-type:ciba",
                "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
            ]
        );
        // Every grant the token endpoint serves is one a client may list.
        for served in crate::grant::GRANT_TYPES {
            assert!(served.parse::<GrantType>().is_ok(), "{served}");
        }
        assert_eq!(json!(RotationType::NonRotating), "non-rotating");
        assert_eq!(json!(ExpirationType::NonExpiring), "non-expiring");
        for refused in ["Password", "Implicit", "Spa", "", " none"] {
            assert!(refused.parse::<GrantType>().is_err());
            assert!(refused.parse::<AppType>().is_err());
            assert!(refused.parse::<TokenEndpointAuthMethod>().is_err());
        }
    }

    #[test]
    fn every_stored_refresh_token_shape_loads() {
        // Absent or null (bootstrap clients): the app type's defaults.
        let mut absent = doc("spa", json!(null));
        absent.as_object_mut().unwrap().remove("refresh_token");
        for d in [absent, doc("spa", json!(null))] {
            assert_eq!(
                stored(d).refresh_token,
                RefreshTokenConfig::defaults(AppType::Spa)
            );
        }
        // Partial, with a property no Tessera writes: merged over the defaults.
        let c = stored(doc(
            "spa",
            json!({"rotation_type": "non-rotating", "extra": 1}),
        ));
        assert_eq!(c.refresh_token.rotation_type, RotationType::NonRotating);
        assert_eq!(c.refresh_token.leeway, 30);
        // A value that does not parse: the defaults, as before typing.
        let c = stored(doc("regular_web", json!({"leeway": "ten"})));
        assert_eq!(
            c.refresh_token,
            RefreshTokenConfig::defaults(AppType::RegularWeb)
        );
        // What Tessera writes reads back the same.
        let mut full = stored(doc("native", json!(null)));
        full.refresh_token.leeway = 7;
        full.refresh_token.rotation_type = RotationType::NonRotating;
        assert_eq!(stored(serde_json::to_value(&full).unwrap()), full);
    }

    #[test]
    fn documents_written_before_typing_load_unchanged() {
        // As `manage::clients` wrote them (refresh_token through `json!`, so its
        // keys sorted) and as bootstrap wrote the admin client (`null`).
        let web = r#"{"client_id":"w","name":"Web","app_type":"regular_web","token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code","refresh_token","client_credentials"],"callbacks":["https://app.example/cb"],"allowed_logout_urls":[],"web_origins":[],"is_first_party":false,"refresh_token":{"expiration_type":"non-expiring","idle_token_lifetime":600,"infinite_idle_token_lifetime":true,"infinite_token_lifetime":true,"leeway":5,"rotation_type":"non-rotating","token_lifetime":900},"jwt_configuration":{"lifetime_in_seconds":600,"alg":"ES256"},"description":"d"}"#;
        let web: Client = serde_json::from_str(web).unwrap();
        assert_eq!(web.app_type, AppType::RegularWeb);
        assert_eq!(
            web.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(
            web.grant_types,
            [
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials
            ]
        );
        assert_eq!(
            web.refresh_token,
            RefreshTokenConfig {
                rotation_type: RotationType::NonRotating,
                expiration_type: ExpirationType::NonExpiring,
                leeway: 5,
                token_lifetime: 900,
                infinite_token_lifetime: true,
                idle_token_lifetime: 600,
                infinite_idle_token_lifetime: true,
            }
        );
        assert!(!web.is_first_party);
        assert_eq!(web.jwt_configuration.alg, "ES256");
        let admin = r#"{"client_id":"a","name":"Admin","app_type":"non_interactive","token_endpoint_auth_method":"client_secret_post","grant_types":["client_credentials"],"callbacks":[],"allowed_logout_urls":[],"web_origins":[],"is_first_party":true,"refresh_token":null,"jwt_configuration":{"lifetime_in_seconds":36000,"alg":"RS256"},"description":""}"#;
        let admin: Client = serde_json::from_str(admin).unwrap();
        assert_eq!(
            admin.refresh_token,
            RefreshTokenConfig::defaults(AppType::NonInteractive)
        );
        // The typed form writes the same values under the same names.
        let written = serde_json::to_value(&web).unwrap();
        assert_eq!(written["app_type"], "regular_web");
        assert_eq!(written["refresh_token"]["rotation_type"], "non-rotating");
        assert_eq!(written["refresh_token"]["expiration_type"], "non-expiring");
        assert_eq!(
            written["grant_types"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        // A value no Tessera accepted is not a client.
        let bad = r#"{"client_id":"x","name":"X","app_type":"desktop","token_endpoint_auth_method":"none"}"#;
        assert!(serde_json::from_str::<Client>(bad).is_err());
    }

    #[test]
    fn a_client_is_public_or_confidential_by_its_auth_method() {
        let mut c = stored(doc("spa", json!(null)));
        assert!(c.is_public() && !c.is_confidential());
        assert!(c.allows(GrantType::RefreshToken));
        assert!(!c.allows(GrantType::ClientCredentials));
        c.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
        assert!(c.is_confidential());
    }
}
