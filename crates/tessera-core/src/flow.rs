//! The objects of the interactive (authorization code) flow: the pending
//! authorization request, the browser session, codes and opaque access tokens.

use serde::{Deserialize, Serialize};

use crate::extensibility::TokenCustomization;

use crate::clock::UnixTime;

/// What the client asked `/authorize` to return (OAuth 2.0 Multiple Response
/// Type Encoding Practices; OIDC Core §3.1, §3.2, §3.3): a code, an ID token
/// (implicit), or both (hybrid). Response types that put an access token in
/// the front channel (`token`, `id_token token`, `code token`, …) are refused,
/// as RFC 9700 §2.1.2 advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResponseType {
    #[default]
    #[serde(rename = "code")]
    Code,
    #[serde(rename = "id_token")]
    IdToken,
    #[serde(rename = "code id_token")]
    CodeIdToken,
}

impl ResponseType {
    /// Every response type Tessera answers, as discovery lists them.
    pub const ALL: &'static [Self] = &[Self::Code, Self::IdToken, Self::CodeIdToken];

    /// A space-separated set of values, in any order, each once.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts: Vec<&str> = value.split(' ').collect();
        parts.sort_unstable();
        match parts.as_slice() {
            ["code"] => Some(Self::Code),
            ["id_token"] => Some(Self::IdToken),
            ["code", "id_token"] => Some(Self::CodeIdToken),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::IdToken => "id_token",
            Self::CodeIdToken => "code id_token",
        }
    }

    /// Whether the response carries an authorization code.
    pub fn has_code(self) -> bool {
        matches!(self, Self::Code | Self::CodeIdToken)
    }

    /// Whether the response carries an ID token (then `nonce` is required).
    pub fn has_id_token(self) -> bool {
        matches!(self, Self::IdToken | Self::CodeIdToken)
    }

    /// The response mode when the request names none: `query` for the code
    /// flow, `fragment` once an ID token travels in the response (OIDC Core
    /// §3.2.2.5, §3.3.2.5).
    pub fn default_mode(self) -> ResponseMode {
        if self.has_id_token() {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }
}

/// How the response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the query of a 302 redirect (the default of the code flow).
    #[default]
    Query,
    /// In the fragment of a 302 redirect (the default once an ID token is in
    /// the response).
    Fragment,
    /// OIDC Form Post Response Mode: an auto-submitting form.
    FormPost,
    /// Auth0's `web_message`: a page that posts the response to the window that
    /// opened it (a popup's opener, or the parent of a hidden iframe), on the
    /// redirect URI's origin, which must be one of the client's web origins.
    WebMessage,
}

impl ResponseMode {
    /// Every response mode Tessera answers, as discovery lists them.
    pub const ALL: &'static [Self] = &[
        Self::Query,
        Self::Fragment,
        Self::FormPost,
        Self::WebMessage,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.as_str() == value)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
            Self::WebMessage => "web_message",
        }
    }
}

/// A `prompt` value (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

impl Prompt {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "login" => Some(Self::Login),
            "consent" => Some(Self::Consent),
            "select_account" => Some(Self::SelectAccount),
            _ => None,
        }
    }
}

/// A validated `/authorize` request waiting for the user (login, consent). Its
/// `id` travels in the hosted pages' `state` parameter; `browser_binding` is the
/// SHA-256 of a cookie set on the browser that started it, so a page submitted
/// from another browser is refused (login CSRF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeTx {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Requests stored before this field existed asked for `code`.
    #[serde(default)]
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub connection: Option<String>,
    pub browser_binding: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl AuthorizeTx {
    /// Whether the request asked for `prompt`.
    pub fn prompts(&self, prompt: Prompt) -> bool {
        self.prompt.contains(&prompt)
    }
}

/// A server-side session behind the SSO cookie. The cookie holds a 256-bit
/// secret; only its SHA-256 is stored. `sid` is the public id put in ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub secret_hash: Vec<u8>,
    pub sid: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub last_seen: UnixTime,
    pub expires_at: UnixTime,
}

/// An authorization code, stored only as the SHA-256 of the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub sid: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
    /// What the post-login actions, run when the code was issued, asked for
    /// its tokens.
    #[serde(default, skip_serializing_if = "TokenCustomization::is_empty")]
    pub custom: TokenCustomization,
}

/// An access token issued under a grant, with its real expiry (a revocation of
/// it need not outlive it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub jti: String,
    pub expires_at: UnixTime,
}

/// What the first redemption of a code produced: revoked whole on a replay
/// (RFC 6749 §4.1.2, RFC 9700 §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeIssue {
    pub access_tokens: Vec<IssuedToken>,
    /// Refresh-token families started by it.
    pub families: Vec<String>,
}

/// What consuming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the code's grant.
    First(AuthCode),
    /// Already used: a replay (now marked on the code, so a first redemption
    /// still recording its tokens sees it). What was issued must be revoked.
    Replayed {
        code: AuthCode,
        issued: CodeIssue,
    },
    Unknown,
}

/// After recording what a first redemption issued: whether a replay of the
/// code came in meanwhile (then the redemption revokes what it issued itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRecorded {
    Clean,
    ReplayedMeanwhile,
}

/// An opaque access token (no API audience), stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpaqueToken {
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub sid: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A refresh-token family: one login grant, rotated token after token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub sid: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    /// Absolute expiry (`None`: never).
    pub expires_at: Option<UnixTime>,
    pub last_used_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// A live token, now retired; its successor (hash given by the caller) is live.
    Rotated(RefreshFamily),
    /// A token retired less than `leeway` seconds ago: the caller answers with the
    /// same successor it was already given (an idempotent retry).
    Replayed(RefreshFamily),
    /// A token retired longer ago: theft. The whole family is now revoked.
    Reused(RefreshFamily),
    /// A non-rotating client's token, still live.
    Live(RefreshFamily),
    /// Unknown, expired (absolutely or idle) or of a revoked family.
    Invalid,
}
