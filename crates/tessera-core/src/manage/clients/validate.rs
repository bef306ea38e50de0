//! Checking a client as a whole. The first bad property is named, in a fixed
//! order that is part of the wire format (a payload with several problems is
//! answered with the first): name, description, app_type,
//! token_endpoint_auth_method, grant_types, callbacks, allowed_logout_urls,
//! web_origins, allowed_origins, refresh_token, jwt_configuration, then the
//! stored-only settings (`settings`). The closed sets are parsed in
//! their turn, so an unknown value is refused where the string once was.

use super::payload::RefreshTokenChanges;
use super::urls::validate_urls;
use super::{MAX_DESCRIPTION_LEN, MAX_ID_TOKEN_LIFETIME, MAX_NAME_LEN, refresh_token, settings};
use crate::keys::SigningAlg;
use crate::manage::Invalid;
use crate::model::{AppType, Client, GrantType, TokenEndpointAuthMethod};

/// Closed-set values as the caller sent them, still to be parsed.
#[derive(Debug, Default)]
pub(super) struct Sent {
    pub app_type: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub refresh_token: Option<RefreshTokenChanges>,
}

/// `client` with `sent` applied, checked as a whole.
pub(super) fn checked(mut client: Client, sent: Sent) -> Result<Client, Invalid> {
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
    if let Some(v) = sent.app_type {
        client.app_type = parse_app_type(&v)?;
    }
    if let Some(v) = sent.token_endpoint_auth_method {
        client.token_endpoint_auth_method = v.parse::<TokenEndpointAuthMethod>().map_err(|_| {
            Invalid::new(
                "token_endpoint_auth_method",
                "must be one of none, client_secret_post, client_secret_basic",
            )
        })?;
    }
    if let Some(v) = sent.grant_types {
        client.grant_types = parse_grant_types(&v)?;
    }
    if client.is_public() && client.allows(GrantType::ClientCredentials) {
        return Err(Invalid::new(
            "grant_types",
            "a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    let native = client.app_type == AppType::Native;
    validate_urls("callbacks", &client.callbacks, native, false)?;
    validate_urls(
        "allowed_logout_urls",
        &client.allowed_logout_urls,
        native,
        false,
    )?;
    validate_urls("web_origins", &client.web_origins, native, true)?;
    validate_urls("allowed_origins", &client.allowed_origins, native, true)?;
    if let Some(changes) = sent.refresh_token {
        refresh_token::merge(&mut client.refresh_token, changes)?;
    }
    refresh_token::validate(&client.refresh_token)?;
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
    settings::validate(&client.settings)?;
    Ok(client)
}

/// One of Auth0's app types.
pub(super) fn parse_app_type(app_type: &str) -> Result<AppType, Invalid> {
    app_type.parse().map_err(|_| {
        Invalid::new(
            "app_type",
            "must be one of native, spa, regular_web, non_interactive",
        )
    })
}

/// Each a grant type Auth0 accepts ([`GrantType`]), none listed twice; the
/// first bad one is named.
fn parse_grant_types(sent: &[String]) -> Result<Vec<GrantType>, Invalid> {
    let mut out: Vec<GrantType> = Vec::with_capacity(sent.len());
    for g in sent {
        let grant = g.parse::<GrantType>().map_err(|_| {
            let all: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            Invalid::new(
                "grant_types",
                format!("each must be one of {}", all.join(", ")),
            )
        })?;
        if out.contains(&grant) {
            return Err(Invalid::new("grant_types", format!("{g} is listed twice")));
        }
        out.push(grant);
    }
    Ok(out)
}
