//! The tenant's log: security-relevant events with Auth0's event type codes and
//! log object fields (`GET /api/v2/logs`), and the storage trait behind it.
//!
//! `details` is built by the server from values it chose (reason names, the
//! grant, an operation's method and path): never from a request body, so it
//! never holds a password, code, OTP, secret, token or assertion.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::error::StoreError;

/// Declares Auth0's log event types from one table: the variant, its code
/// (the log's `type`) and Auth0's description of the event (the default
/// `description`).
macro_rules! log_types {
    ($($variant:ident = $code:literal, $description:literal;)+) => {
        /// Auth0's log event type codes that Tessera records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum LogType {
            $($variant,)+
        }

        impl LogType {
            /// Every type, in table order.
            pub const ALL: &'static [LogType] = &[$(LogType::$variant,)+];

            /// Auth0's code, e.g. `s`, `fp`, `sapi`.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            /// Auth0's description of the event.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => $description,)+ }
            }

            /// The type of an Auth0 code, if Tessera records it.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

log_types! {
    SuccessLogin = "s", "Successful login";
    FailedLogin = "f", "Failed login";
    FailedLoginPassword = "fp", "Wrong email or password.";
    FailedLoginUser = "fu", "Wrong email or password.";
    BlockedAccount = "limit_wc", "An IP address is blocked after too many failed login attempts into a single account.";
    BlockedIp = "limit_mu", "An IP address is blocked after too many requests.";
    SuccessSignup = "ss", "Successful signup";
    FailedSignup = "fs", "Failed signup";
    SuccessExchangeCode = "seacft", "Authorization Code for Access Token";
    FailedExchangeCode = "feacft", "Failed to exchange authorization code for Access Token";
    SuccessExchangeClientCredentials = "seccft", "Client Credentials for Access Token";
    FailedExchangeClientCredentials = "feccft", "Failed exchange of Access Token for a Client Credentials Grant";
    SuccessExchangeRefresh = "sertft", "Refresh Token for Access Token";
    FailedExchangeRefresh = "fertft", "Failed Exchange of Refresh Token for Access Token";
    FailedExchangeRotatingRefresh = "ferrt", "Reused rotating refresh token detected, revoked the family";
    SuccessExchangePassword = "sepft", "Password for Access Token";
    FailedExchangePassword = "fepft", "Failed exchange of Password for Access Token";
    FailedExchangePasswordlessOtp = "fepotpft", "Failed exchange of Passwordless OTP for Access Token";
    SuccessRevocation = "srrt", "Successfully revoked a Refresh Token";
    SuccessChangePassword = "scp", "Successful change of password";
    FailedChangePassword = "fcp", "Failed change of password";
    SuccessChangePasswordRequest = "scpr", "Successful change password request";
    CodeLinkSent = "cls", "Passwordless login code/link has been sent";
    CodeSent = "cs", "Passwordless login code has been sent";
    SuccessApiOperation = "sapi", "Success API Operation";
    FailedApiOperation = "fapi", "Failed API Operation";
    ActionsExecutionFailed = "actions_execution_failed", "Actions execution failed";
    ActionsExecution = "actions_execution", "Actions execution (console output)";
}

impl LogType {
    /// A failure, a block or a Management API change: the events a full
    /// queue keeps room for (see the server's log writer).
    pub fn is_security(self) -> bool {
        let code = self.code();
        code.starts_with('f')
            || code.starts_with("limit_")
            || code == "sapi"
            || code == "actions_execution_failed"
    }
}

impl std::fmt::Display for LogType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for LogType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for LogType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Self::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown log type {code:?}")))
    }
}

/// One log event, with Auth0's field names. `date` is Unix seconds here (the
/// Management API renders it as RFC 3339).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    /// Unique, and ordered as the events were recorded on a node.
    pub log_id: String,
    pub date: UnixTime,
    #[serde(rename = "type")]
    pub kind: LogType,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Event-specific facts chosen by the server (never a request body).
    #[serde(default)]
    pub details: serde_json::Value,
    #[serde(rename = "isMobile", default)]
    pub is_mobile: bool,
}

impl LogEvent {
    /// An event of `kind` at `date` with Auth0's description and nothing else
    /// (the id is given by the writer).
    pub fn new(kind: LogType, date: UnixTime) -> Self {
        Self {
            log_id: String::new(),
            date,
            kind,
            description: kind.description().to_owned(),
            client_id: None,
            client_name: None,
            ip: None,
            user_agent: None,
            hostname: None,
            user_id: None,
            user_name: None,
            connection: None,
            connection_id: None,
            strategy: None,
            strategy_type: None,
            audience: None,
            scope: None,
            details: serde_json::Value::Object(Default::default()),
            is_mobile: false,
        }
    }
}

/// Which events a listing selects (every condition given must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Any of these type codes (empty: every type). Codes Tessera never
    /// records select nothing, as in Auth0.
    pub types: Vec<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// `date >= since` (Unix seconds).
    pub since: Option<UnixTime>,
    /// `date <= until` (Unix seconds).
    pub until: Option<UnixTime>,
}

/// How a listing walks the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogWindow {
    /// Offset paging by date (`oldest_first`: ascending), then log id.
    Offset {
        offset: i64,
        limit: i64,
        oldest_first: bool,
    },
    /// Checkpoint paging (Auth0's `from`/`take`): the events recorded after
    /// the event `after` (all from the first without one), by log id.
    After { after: Option<String>, limit: i64 },
}

/// Storage of the tenant's log.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// Stores a batch of events in one transaction.
    async fn insert_log_events(&self, events: &[LogEvent]) -> Result<(), StoreError>;
    async fn get_log_event(&self, log_id: &str) -> Result<Option<LogEvent>, StoreError>;
    /// The events `filter` selects, in `window`.
    async fn list_log_events(
        &self,
        filter: &LogFilter,
        window: &LogWindow,
    ) -> Result<Vec<LogEvent>, StoreError>;
    /// How many events `filter` selects.
    async fn count_log_events(&self, filter: &LogFilter) -> Result<i64, StoreError>;
    /// Drops at most `limit` of the events older than `before` (oldest
    /// first), in one statement; how many. Sweepers call it until it drops
    /// fewer than `limit`, so no single statement holds locks for long.
    async fn sweep_log_events(&self, before: UnixTime, limit: i64) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for t in LogType::ALL {
            assert!(seen.insert(t.code()), "{t} twice");
            assert_eq!(LogType::from_code(t.code()), Some(*t));
        }
        assert_eq!(LogType::from_code("nope"), None);
        let json = serde_json::to_value(LogEvent::new(LogType::FailedLoginPassword, 5)).unwrap();
        assert_eq!(json["type"], "fp");
        assert_eq!(json["isMobile"], false);
        let back: LogEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind, LogType::FailedLoginPassword);
    }
}
