//! `POST oauth/token`: parse the body and the client's credentials, parse the
//! grant, exchange, answer with `Cache-Control: no-store`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::net::IpAddr;
use tessera_core::client_auth::{self, Presented};
use tessera_core::error::{OAuthError, Reason};

use tessera_core::grant::{self, Origin, TokenRequest};
use tessera_core::params::Params;

use crate::audit::{self, RequestFacts};
use crate::cors;
use crate::error::token_endpoint_error;
use crate::interactive::limits::{PeerIp, limit_key};
use crate::state::AppState;

/// Reads `application/x-www-form-urlencoded` or `application/json` (Auth0's SDKs
/// send JSON, with `null` for unused fields, which counts as absent).
pub fn oauth_params(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let bad = |reason: Reason, what: &str| OAuthError::new(reason, what.to_owned());
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| bad(Reason::FormMalformed, "the form body is malformed"))?;
            Params::from_pairs(pairs)
        }
        "application/json" => {
            // Members in the order sent, repeats kept: a repeated parameter is
            // refused below as in a form (a JSON map would keep the last one).
            let JsonMembers(members) = serde_json::from_slice(body).map_err(|_| {
                if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
                    bad(Reason::JsonNotObject, "the JSON body must be an object")
                } else {
                    bad(Reason::JsonMalformed, "the JSON body is malformed")
                }
            })?;
            let mut pairs = Vec::with_capacity(members.len());
            for (k, v) in members {
                match v {
                    // Absent, as an empty form value is; still counted, so a
                    // member sent twice is refused even when one is null.
                    serde_json::Value::Null => pairs.push((k, String::new())),
                    serde_json::Value::String(s) => pairs.push((k, s)),
                    serde_json::Value::Number(n) => pairs.push((k, n.to_string())),
                    serde_json::Value::Bool(b) => pairs.push((k, b.to_string())),
                    _ => {
                        return Err(bad(
                            Reason::ParameterNotString,
                            &format!(
                                "parameter {} must be a string",
                                k.chars().take(64).collect::<String>()
                            ),
                        ));
                    }
                }
            }
            Params::from_pairs(pairs)
        }
        _ => Err(bad(
            Reason::ContentTypeUnsupported,
            "use Content-Type application/x-www-form-urlencoded or application/json",
        )),
    }
}

/// A JSON object's members as sent, duplicates included.
struct JsonMembers(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonMembers, A::Error> {
                let mut out = Vec::new();
                while let Some(member) = map.next_entry::<String, serde_json::Value>()? {
                    out.push(member);
                }
                Ok(JsonMembers(out))
            }
        }
        d.deserialize_map(Members)
    }
}

/// Auth0's header naming the end user's address, sent by a trusted backend
/// that calls the token endpoint for its users.
const AUTH0_FORWARDED_FOR: &str = "auth0-forwarded-for";

/// Where the request comes from: the TCP peer, and the address in
/// `auth0-forwarded-for` when it holds one (the grant decides whether to
/// believe it). Both as the limits count them (IPv6 per /64).
fn origin(peer: PeerIp, headers: &HeaderMap) -> Origin {
    let sent = headers.get(AUTH0_FORWARDED_FOR);
    let forwarded_for = sent
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok())
        .map(limit_key);
    Origin {
        peer: peer.0,
        forwarded_for,
        forwarded_for_malformed: sent.is_some() && forwarded_for.is_none(),
    }
}

pub async fn token(
    State(state): State<AppState>,
    peer: PeerIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let tried_basic =
        authorization.is_some_and(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "));
    let params = match oauth_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return token_endpoint_error(e, tried_basic),
    };
    let presented = match client_auth::presented_from(authorization, &params) {
        Ok(p) => p,
        Err(e) => return token_endpoint_error(e, tried_basic),
    };
    // From here the request names its client: its answers, errors included,
    // are open to that client's origins.
    let origin = origin(peer, &headers);
    let facts = RequestFacts::new(peer, &headers);
    let res = exchange(
        &state,
        &presented,
        &params,
        origin,
        tried_basic,
        &facts,
        &headers,
    )
    .await;
    cors::for_client(res, presented.client_id())
}

async fn exchange(
    state: &AppState,
    presented: &Presented,
    params: &Params,
    origin: Origin,
    tried_basic: bool,
    facts: &RequestFacts,
    headers: &HeaderMap,
) -> Response {
    let request = match TokenRequest::parse(params) {
        Ok(r) => r,
        Err(e) => return token_endpoint_error(e, tried_basic),
    };
    // Tenant settings (`default_directory`, `default_audience`) as this node
    // knows them now.
    let settings = state.settings().await;
    let action_request =
        match crate::actions::token_request_facts(state, origin.peer, headers).await {
            Ok(r) => r,
            Err(e) => return token_endpoint_error(crate::error::ApiError::Store(e), tried_basic),
        };
    let ctx = grant::Ctx {
        origin,
        default_directory: &settings.default_directory,
        default_audience: settings.default_audience.as_deref(),
        request: &action_request,
        ..state.grant_ctx(state.clock.now())
    };
    let log_types = audit::exchange_types(&request);
    let result = grant::exchange(&ctx, presented, request).await;
    audit::record_exchange(
        state,
        facts,
        Some(presented.client_id()),
        params.get("grant_type").unwrap_or_default(),
        log_types,
        result.as_ref(),
    );
    match result {
        Ok(issued) => {
            for kind in &issued.kinds {
                state.metrics.token_issued(*kind);
            }
            let mut res = Json(issued.response).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => token_endpoint_error(e, presented.used_basic()),
    }
}
