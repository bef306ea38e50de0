//! Checking an `/authorize` request: stage one (the client and its redirect
//! URI, errors shown to the user), then stage two, an ordered list of small
//! named checks that build the pending request (errors back to the client).

use super::{AUTHORIZE_TX_LIFETIME, user_may_request};
use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::flow::{AuthorizeTx, Prompt, ResponseMode, ResponseType};
use crate::model::{Client, GrantType, ResourceServer};
use crate::params::{Params, truncate};

/// An error for the user's eyes only: the client or redirect URI is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub title: &'static str,
    pub detail: String,
}

/// An error to send back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub error: OAuthError,
}

impl RedirectError {
    /// `error` for the client of the pending request `tx`.
    pub fn for_tx(tx: &AuthorizeTx, error: OAuthError) -> Self {
        Self {
            redirect_uri: tx.redirect_uri.clone(),
            response_mode: tx.response_mode,
            state: tx.state.clone(),
            error,
        }
    }
}

/// Stage one: which client and redirect URI. `client` is the stored client for
/// `client_id` (if any).
pub fn check_client<'a>(
    params: &Params,
    client: Option<&'a Client>,
) -> Result<(&'a Client, String), PageError> {
    let Some(client_id) = params.get("client_id") else {
        return Err(PageError {
            title: "Missing client_id",
            detail: "The request names no application (client_id).".into(),
        });
    };
    let Some(client) = client else {
        return Err(PageError {
            title: "Unknown application",
            detail: format!(
                "No application has the client_id {:?}.",
                truncate(client_id)
            ),
        });
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri.to_owned(),
        // RFC 6749 §3.1.2.3: may be omitted when exactly one is registered.
        None if client.callbacks.len() == 1 => client.callbacks[0].clone(),
        None => {
            return Err(PageError {
                title: "Missing redirect_uri",
                detail: "The request names no redirect_uri and the application has several.".into(),
            });
        }
    };
    // Exact string comparison (RFC 9700 §4.1.3): no prefix, wildcard or
    // normalisation.
    if !client.callbacks.iter().any(|c| c == &redirect_uri) {
        return Err(PageError {
            title: "Callback URL mismatch",
            detail: format!(
                "The redirect_uri {:?} is not one of the application's allowed callback URLs.",
                truncate(&redirect_uri)
            ),
        });
    }
    // `web_message` posts the response to a window on the redirect URI's
    // origin: only to one of the client's web origins, and a refusal is shown
    // here, never posted anywhere.
    if params.get("response_mode") == Some(ResponseMode::WebMessage.as_str())
        && !web_origin_allowed(client, &redirect_uri)
    {
        return Err(PageError {
            title: "Origin not allowed",
            detail: format!(
                "The origin of the redirect_uri {:?} is not one of the application's allowed web origins, so the response cannot be posted to it (response_mode=web_message).",
                truncate(&redirect_uri)
            ),
        });
    }
    Ok((client, redirect_uri))
}

/// The serialized origin (`scheme://host[:port]`) of an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// Whether the serialized `origin` is one of the `configured` origins (each
/// serialized: scheme, host and port, compared exactly).
pub fn origin_listed<'a>(configured: impl IntoIterator<Item = &'a String>, origin: &str) -> bool {
    configured
        .into_iter()
        .any(|c| origin_of(c).as_deref() == Some(origin))
}

/// Whether the origin of `redirect_uri` is one of the client's `web_origins`.
pub fn web_origin_allowed(client: &Client, redirect_uri: &str) -> bool {
    origin_of(redirect_uri).is_some_and(|origin| origin_listed(&client.web_origins, &origin))
}

/// The request as far as the checks have validated it.
struct Checking<'a> {
    params: &'a Params,
    client: &'a Client,
    /// The API named by `audience` or `resource`, if it exists.
    api: Option<&'a ResourceServer>,
    tx: AuthorizeTx,
}

type Check = fn(&mut Checking<'_>) -> Result<(), OAuthError>;

/// Stage two's checks, in order: the first failure is the answer. Each reads
/// the parameters it is named after and fills its part of the pending request.
const CHECKS: &[Check] = &[
    response_type,
    client_may_use_response_type,
    pkce,
    audience,
    prompt,
    max_age,
    scope,
    id_token_needs,
    lengths,
];

/// Stage two, for a trusted client and redirect URI. `api` is the API named by
/// `audience` or `resource`, if it exists.
pub fn check_request(
    params: &Params,
    client: &Client,
    redirect_uri: String,
    api: Option<&ResourceServer>,
    now: UnixTime,
) -> Result<AuthorizeTx, RedirectError> {
    let state = params.get("state").map(str::to_owned);
    // First, as every later error is sent the way it names (the response type
    // decides when none is named, see `response_type`).
    let response_mode = match params.get("response_mode") {
        None => ResponseMode::Query,
        Some(mode) => ResponseMode::parse(mode).ok_or_else(|| RedirectError {
            redirect_uri: redirect_uri.clone(),
            response_mode: ResponseMode::Query,
            state: state.clone(),
            error: OAuthError::new(
                Reason::ResponseModeUnsupported,
                format!("unsupported response_mode {:?}", truncate(mode)),
            ),
        })?,
    };
    let mut checking = Checking {
        params,
        client,
        api,
        tx: AuthorizeTx {
            id: String::new(),
            client_id: client.client_id.clone(),
            redirect_uri,
            response_type: ResponseType::Code,
            response_mode,
            scope: Vec::new(),
            audience: None,
            state,
            nonce: params.get("nonce").map(str::to_owned),
            code_challenge: None,
            prompt: Vec::new(),
            max_age: None,
            login_hint: params.get("login_hint").map(str::to_owned),
            connection: params.get("connection").map(str::to_owned),
            browser_binding: Vec::new(),
            created_at: now,
            expires_at: now + AUTHORIZE_TX_LIFETIME,
        },
    };
    for check in CHECKS {
        if let Err(error) = check(&mut checking) {
            return Err(RedirectError::for_tx(&checking.tx, error));
        }
    }
    Ok(checking.tx)
}

fn response_type(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    let Some(value) = c.params.get("response_type") else {
        return Err(OAuthError::new(
            Reason::ResponseTypeMissing,
            "response_type is required",
        ));
    };
    let response_type = ResponseType::parse(value).ok_or_else(|| {
        OAuthError::new(
            Reason::ResponseTypeUnsupported,
            format!(
                "response_type {:?} is not supported; use code, id_token or code id_token",
                truncate(value)
            ),
        )
    })?;
    c.tx.response_type = response_type;
    match c.params.get("response_mode") {
        None => c.tx.response_mode = response_type.default_mode(),
        // An ID token never travels in a query string (OIDC Core §3.2.2.5,
        // OAuth 2.0 Multiple Response Types §5): the error goes by fragment.
        Some(_) if c.tx.response_mode == ResponseMode::Query && response_type.has_id_token() => {
            c.tx.response_mode = response_type.default_mode();
            return Err(OAuthError::new(
                Reason::ResponseModeNotAllowed,
                "response_mode query cannot carry an ID token; use fragment, form_post or web_message",
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

/// The code needs the `authorization_code` grant, the ID token `implicit`
/// (Auth0's grant types; the hybrid response both).
fn client_may_use_response_type(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    let response_type = c.tx.response_type;
    if response_type.has_code() && !c.client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "the application may not use the authorization code flow",
        ));
    }
    if response_type.has_id_token() && !c.client.allows(GrantType::Implicit) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "the application may not receive ID tokens from /authorize (grant type implicit)",
        ));
    }
    Ok(())
}

/// An ID token in the response needs the `openid` scope and a `nonce` (OIDC
/// Core §3.2.2.1, §3.3.2.11): it is what ties the token to the client's
/// session, since nothing else binds a front-channel token.
fn id_token_needs(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    if !c.tx.response_type.has_id_token() {
        return Ok(());
    }
    if !c.tx.scope.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            Reason::OpenidScopeRequired,
            "an ID token needs the openid scope",
        ));
    }
    if c.tx.nonce.is_none() {
        return Err(OAuthError::new(
            Reason::NonceRequired,
            "nonce is required when the response has an ID token",
        ));
    }
    Ok(())
}

/// RFC 7636 with S256 only; public clients must use it (RFC 9700 §2.1.1).
/// Only a response with a code has a use for it.
fn pkce(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    if !c.tx.response_type.has_code() {
        return Ok(());
    }
    let public = c.client.is_public();
    let challenge = c.params.get("code_challenge");
    let method = c.params.get("code_challenge_method");
    c.tx.code_challenge = match (challenge, method) {
        (None, None) if public => {
            return Err(OAuthError::new(
                Reason::PkceRequired,
                "public clients must use PKCE (code_challenge with S256)",
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(OAuthError::new(
                Reason::PkceMethodWithoutChallenge,
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(OAuthError::new(
                Reason::PkcePlainRefused,
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        (Some(challenge), Some("S256")) => {
            // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
            let ok = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(OAuthError::new(
                    Reason::PkceChallengeMalformed,
                    "code_challenge is not a base64url SHA-256 digest",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(other)) => {
            return Err(OAuthError::new(
                Reason::PkceMethodUnsupported,
                format!("unsupported code_challenge_method {:?}", truncate(other)),
            ));
        }
    };
    Ok(())
}

/// `audience` (Auth0) or `resource` (RFC 8707): an existing API that a user's
/// login may reach.
fn audience(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    let audience = match (c.params.get("audience"), c.params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::new(
                Reason::AudienceResourceMismatch,
                "audience and resource name different APIs",
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return Ok(()),
    };
    let Some(api) = c.api else {
        return Err(OAuthError::new(
            Reason::ApiUnknown,
            format!("Service not found: {}", truncate(audience)),
        ));
    };
    user_may_request(api, &c.client.client_id)?;
    c.tx.audience = Some(audience.to_owned());
    Ok(())
}

fn prompt(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    let values = c.params.get("prompt").unwrap_or("").split(' ');
    for value in values.filter(|s| !s.is_empty()) {
        let prompt = Prompt::parse(value).ok_or_else(|| {
            OAuthError::new(
                Reason::PromptUnsupported,
                format!("unsupported prompt {:?}", truncate(value)),
            )
        })?;
        c.tx.prompt.push(prompt);
    }
    if c.tx.prompts(Prompt::None) && c.tx.prompt.len() > 1 {
        return Err(OAuthError::new(
            Reason::PromptNoneCombined,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(())
}

fn max_age(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    c.tx.max_age = match c.params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(OAuthError::new(
                    Reason::MaxAgeInvalid,
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    Ok(())
}

/// The asked scopes, each once, in order; bounded in length and number.
fn scope(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    let asked = c.params.get("scope").unwrap_or("").split(' ');
    for s in asked.filter(|s| !s.is_empty()) {
        if s.len() > 256 {
            return Err(OAuthError::new(
                Reason::ScopeTooLong,
                "a scope value is too long",
            ));
        }
        if !c.tx.scope.iter().any(|o| o == s) {
            c.tx.scope.push(s.to_owned());
        }
    }
    if c.tx.scope.len() > 100 {
        return Err(OAuthError::new(Reason::TooManyScopes, "too many scopes"));
    }
    Ok(())
}

/// Values stored with the pending request are bounded.
fn lengths(c: &mut Checking<'_>) -> Result<(), OAuthError> {
    for (name, max) in [
        ("state", 2048),
        ("nonce", 512),
        ("login_hint", 256),
        ("connection", 128),
    ] {
        if c.params.get(name).is_some_and(|v| v.len() > max) {
            return Err(OAuthError::new(
                Reason::ParameterTooLong,
                format!("{name} is too long"),
            ));
        }
    }
    Ok(())
}
