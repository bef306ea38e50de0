//! The Token Vault exchange's upstream refresh (RFC 6749 §6 at the
//! connection's token endpoint, with its client credentials), through the
//! same bounded client as the login: one deadline
//! ([`crate::ServerConfig::upstream_timeout`]), answers of at most
//! [`super::client::MAX_BODY`], no redirects. The single flight around it is
//! the core's (`tessera_core::grant::token_vault`).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tessera_core::Secret;
use tessera_core::clock::UnixTime;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::grant::token_vault::{
    ClaimOutcome, POLL_MILLIS, RefreshFailure, Refreshed, UpstreamRefresh, WinnerJob, claim_and_run,
};
use tessera_core::manage::upstream_options::open_client_secret;
use tessera_core::model::Connection;

use super::client::UpstreamError;
use crate::state::AppState;

#[async_trait]
impl UpstreamRefresh for AppState {
    async fn refresh_upstream(
        &self,
        connection: &Connection,
        refresh_token: &Secret<String>,
    ) -> Result<Refreshed, RefreshFailure> {
        let Ok(secret) = open_client_secret(&self.master, &connection.id, &connection.options)
        else {
            tracing::warn!(connection = %connection.name, "upstream refresh: the client secret does not open");
            return Err(RefreshFailure::Misconfigured);
        };
        let budget = self.config.upstream_timeout;
        let work = refresh(self, connection, refresh_token.expose(), &secret);
        let result = match tokio::time::timeout(budget, work).await {
            Ok(r) => r,
            Err(_) => Err(Failed::Unavailable("the deadline passed".into())),
        };
        result.map_err(|e| {
            let (failure, detail) = match e {
                Failed::Refused(d) => (RefreshFailure::Refused, d),
                Failed::Unavailable(d) => (RefreshFailure::Unavailable, d),
            };
            tracing::warn!(connection = %connection.name, detail, "upstream refresh failed");
            failure
        })
    }

    fn deadline_seconds(&self) -> i64 {
        let d = self.config.upstream_timeout;
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4) + i64::from(d.subsec_nanos() > 0)
    }

    async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(POLL_MILLIS)).await;
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    async fn refresh_detached(&self, job: &WinnerJob) -> Option<ClaimOutcome> {
        // The task owns what it needs: a request dropped while it runs (the
        // client went away) no longer aborts the claim, the provider call or
        // the store write, so no lease is left unused and a rotated upstream
        // refresh token is never lost.
        let state = self.clone();
        let job = job.clone();
        let task = tokio::spawn(async move {
            claim_and_run(state.store.as_ref(), &state.master, &state, &job).await
        });
        Some(match task.await {
            Ok(outcome) => outcome,
            Err(_) => Err(OAuthError::new(
                Reason::UpstreamUnavailable,
                "the identity provider could not be reached",
            )
            .into()),
        })
    }
}

/// Why; the detail never holds a token.
enum Failed {
    Refused(String),
    Unavailable(String),
}

impl From<UpstreamError> for Failed {
    fn from(e: UpstreamError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

async fn refresh(
    state: &AppState,
    connection: &Connection,
    refresh_token: &str,
    secret: &str,
) -> Result<Refreshed, Failed> {
    let timeout = state.config.upstream_timeout;
    let endpoints = state.upstream.endpoints(connection, timeout).await?;
    let client_id = connection
        .options
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let body = match state
        .upstream
        .token_grant(&endpoints, client_id, secret, form, timeout)
        .await?
    {
        Ok(body) => body,
        Err((status, error)) => {
            let detail = format!("the token endpoint answered {status} {error}");
            // RFC 6749 §5.2: only `invalid_grant` says the refresh token
            // itself is dead; `invalid_client` and the rest are the
            // connection's (or the provider's) problem, and the token is kept.
            return Err(if error == "invalid_grant" {
                Failed::Refused(detail)
            } else {
                Failed::Unavailable(detail)
            });
        }
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let access_token = checked_access_token(&body)?;
    Ok(Refreshed {
        access_token: Secret::new(access_token),
        refresh_token: text("refresh_token")
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        id_token: text("id_token").map(Secret::new),
        expires_in: tessera_core::idp_vault::parse_expires_in(body.get("expires_in")),
        scope: checked_scope(body.get("scope")),
    })
}

/// The largest upstream access token the vault takes (bytes).
const MAX_ACCESS_TOKEN: usize = 16 * 1024;
/// The largest upstream `scope` passed on to the client (bytes).
const MAX_SCOPE: usize = 1024;

/// The refresh answer's access token: a bearer token (`token_type`
/// `bearer`, any case: a DPoP-, MAC- or otherwise bound token is not one the
/// vault can hand out as `Bearer`) of at most [`MAX_ACCESS_TOKEN`] bytes;
/// otherwise the answer counts as unavailable (the refresh token is kept).
fn checked_access_token(body: &Value) -> Result<String, Failed> {
    let bearer = body
        .get("token_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if !bearer {
        return Err(Failed::Unavailable("token_type is not bearer".into()));
    }
    match body.get("access_token").and_then(Value::as_str) {
        Some(t) if !t.is_empty() && t.len() <= MAX_ACCESS_TOKEN => Ok(t.to_owned()),
        Some(t) if !t.is_empty() => Err(Failed::Unavailable("access_token too long".into())),
        _ => Err(Failed::Unavailable("no access_token".into())),
    }
}

/// The answer's `scope`, kept only when it is at most [`MAX_SCOPE`] bytes of
/// RFC 6749 §3.3 scope tokens (`NQCHAR`: `%x21 / %x23-5B / %x5D-7E`,
/// separated by single spaces); dropped otherwise.
fn checked_scope(scope: Option<&Value>) -> Option<String> {
    let scope = scope?.as_str()?;
    let nqchar = |c: char| matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
    let well_formed = !scope.is_empty()
        && scope.len() <= MAX_SCOPE
        && scope
            .split(' ')
            .all(|token| !token.is_empty() && token.chars().all(nqchar));
    well_formed.then(|| scope.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unavailable(body: Value) -> bool {
        matches!(checked_access_token(&body), Err(Failed::Unavailable(_)))
    }

    #[test]
    fn only_bearer_tokens_of_bounded_size_are_taken() {
        for token_type in ["Bearer", "bearer", "BEARER"] {
            let body = json!({"access_token": "at", "token_type": token_type});
            assert!(matches!(checked_access_token(&body), Ok(t) if t == "at"));
        }
        for token_type in [
            json!("DPoP"),
            json!("mac"),
            json!("N_A"),
            json!(1),
            Value::Null,
        ] {
            assert!(unavailable(
                json!({"access_token": "at", "token_type": token_type})
            ));
        }
        assert!(unavailable(json!({"access_token": "at"})));
        assert!(unavailable(
            json!({"access_token": "", "token_type": "Bearer"})
        ));
        let big = "a".repeat(MAX_ACCESS_TOKEN + 1);
        assert!(unavailable(
            json!({"access_token": big, "token_type": "Bearer"})
        ));
        let most = "a".repeat(MAX_ACCESS_TOKEN);
        assert!(!unavailable(
            json!({"access_token": most, "token_type": "Bearer"})
        ));
    }

    #[test]
    fn only_a_small_well_formed_scope_is_kept() {
        let kept = |v: Value| checked_scope(Some(&v));
        assert_eq!(
            kept(json!("openid https://x.example/read")).as_deref(),
            Some("openid https://x.example/read")
        );
        for bad in [
            json!(""),
            json!("a  b"),
            json!(" a"),
            json!("a\"b"),
            json!("a\\b"),
            json!("a\nb"),
            json!("caf\u{e9}"),
            json!(["a"]),
            json!("x".repeat(MAX_SCOPE + 1)),
        ] {
            assert_eq!(kept(bad.clone()), None, "{bad}");
        }
        assert!(kept(json!("x".repeat(MAX_SCOPE))).is_some());
        assert_eq!(checked_scope(None), None);
    }
}
