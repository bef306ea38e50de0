//! The Auth0 Actions sandbox: runs `post-login` and `credentials-exchange` Action code, unchanged, in
//! pooled QuickJS runtimes (through `rquickjs`) with a memory cap, a stack cap and a CPU-time cap.
//!
//! A pure library: it knows nothing of stores, HTTP or tokens. The caller builds Auth0's `event` for the
//! trigger, hands over the bound actions in binding order, and applies the [`Effects`] (or the [`Stop`]).
//! See the crate README for the engine choice, the limits and the measured cost.
//!
//! * Every action run gets a fresh QuickJS context: nothing is shared between runs, actions or tenants.
//! * Every `api` call is recorded on the Rust side ([`record`]); nothing is read back from JS objects.
//! * Claim names and sizes follow Auth0's rules ([`claims`]).

mod check;
pub mod claims;
mod pool;
mod record;
mod sandbox;

use std::time::Duration;

pub use check::check;
pub use pool::Engine;

/// The resource limits of the engine. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// QuickJS heap cap of one worker runtime (one action runs at a time on it). Default 32 MiB.
    pub memory_bytes: usize,
    /// CPU time one action run may use (the worker thread's CPU clock, checked when QuickJS asks). A wall-clock
    /// deadline of ten times this plus 200 ms per action is kept by a watchdog thread that does not depend
    /// on QuickJS asking (past it: `Timeout`, and the worker thread is replaced). Default 100 ms.
    pub time: Duration,
    /// JavaScript stack cap (QuickJS `max_stack_size`). Default 512 KiB. The worker threads get this plus
    /// 4 MiB of native stack.
    pub stack_bytes: usize,
    /// Console output kept per action run; the rest is dropped and `ActionLog::truncated` set. Default 8 KiB.
    pub log_bytes: usize,
    /// All custom claims of one token together, as JSON (`"name":value,` per claim). Default 100 KiB:
    /// Auth0's documented custom-claims payload limit.
    pub claims_bytes: usize,
    /// Worker threads, each owning one QuickJS runtime. Default: the number of CPUs, at least 2.
    pub workers: usize,
    /// Runs waiting for a worker; past it `run` answers `Failed { kind: Busy }` at once. Default 64.
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            memory_bytes: 32 * 1024 * 1024,
            time: Duration::from_millis(100),
            stack_bytes: 512 * 1024,
            log_bytes: 8 * 1024,
            claims_bytes: 100 * 1024,
            workers: cpus.max(2),
            queue: 64,
        }
    }
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A limit is zero (or otherwise unusable); the field is named.
    #[error("invalid limit: {0}")]
    InvalidLimit(&'static str),
    /// A worker thread could not be spawned.
    #[error("could not start a worker thread: {0}")]
    Spawn(String),
    /// A QuickJS runtime could not be created.
    #[error("could not create a JavaScript runtime")]
    Runtime,
}

/// Which Auth0 trigger runs; decides the handler name and the `api` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// `exports.onExecutePostLogin`.
    PostLogin,
    /// `exports.onExecuteCredentialsExchange`.
    CredentialsExchange,
}

impl Trigger {
    /// The exported handler's name.
    pub fn handler_name(self) -> &'static str {
        match self {
            Trigger::PostLogin => "onExecutePostLogin",
            Trigger::CredentialsExchange => "onExecuteCredentialsExchange",
        }
    }
}

/// One bound action, at the deployed version. Its `Debug` shows the secrets' names only, each value as
/// `[secret]`.
#[derive(Clone)]
pub struct ActionScript {
    pub action_id: String,
    pub version_id: String,
    pub name: String,
    pub code: std::sync::Arc<str>,
    /// Become `event.secrets` (name -> value) for this action only.
    pub secrets: Vec<(String, String)>,
}

impl std::fmt::Debug for ActionScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Redacted<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, _)| (name, "[secret]")))
                    .finish()
            }
        }
        f.debug_struct("ActionScript")
            .field("action_id", &self.action_id)
            .field("version_id", &self.version_id)
            .field("name", &self.name)
            .field("code", &self.code)
            .field("secrets", &Redacted(&self.secrets))
            .finish()
    }
}

/// The result of running the bound actions of one trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub result: Result<Effects, Stop>,
    /// One entry per action that ran, in order (also when the run stopped).
    pub logs: Vec<ActionLog>,
}

/// What the actions asked for, merged over all actions in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Accepted `api.idToken.setCustomClaim` calls; a later call of the same name wins.
    pub id_token_claims: serde_json::Map<String, serde_json::Value>,
    /// Accepted `api.accessToken.setCustomClaim` calls; a later call of the same name wins.
    pub access_token_claims: serde_json::Map<String, serde_json::Value>,
    /// Scopes whose last call was `addScope` (in first-call order).
    pub add_scopes: Vec<String>,
    /// Scopes whose last call was `removeScope` (in first-call order).
    pub remove_scopes: Vec<String>,
    /// Keys set through `api.user.setAppMetadata` (`null` = delete the key); `None` if never called.
    pub app_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Keys set through `api.user.setUserMetadata` (`null` = delete the key); `None` if never called.
    pub user_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Claims dropped, with why; the rest of the token is intact. At most 32 per run.
    pub refused_claims: Vec<RefusedClaim>,
    /// Refused claims past the first 32 of the run: only counted.
    pub refused_claims_dropped: usize,
}

/// A custom claim that was not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedClaim {
    pub action_id: String,
    pub token: TokenKind,
    /// The claim name, bounded to 256 bytes.
    pub name: String,
    pub reason: RefusalReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Id,
    Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// A claim Auth0 restricts (or, in the ID token, an OIDC standard claim).
    Restricted,
    /// It would take the token's custom claims over `Limits::claims_bytes`.
    TooLarge,
    /// The value has no JSON form (undefined, a function, a symbol, a BigInt, a cycle, too deep).
    NotJson,
}

/// Why the run ended early. Later actions did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// `api.access.deny` was called. `code` is the credentials-exchange error code (one of Auth0's
    /// `invalid_scope`, `invalid_request`, `server_error`); `None` on post-login.
    /// `app_metadata`/`user_metadata`: the metadata changes asked for before the denial (this action's
    /// and earlier ones'), which Auth0 does not cancel; as in [`Effects`].
    Denied {
        action_id: String,
        code: Option<String>,
        reason: String,
        app_metadata: Option<serde_json::Map<String, serde_json::Value>>,
        user_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// The action failed; `message` is bounded (512 bytes) and has the action's secret values masked.
    Failed {
        action_id: String,
        kind: FailureKind,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// An uncaught exception or a rejected promise (including `require` and syntax errors).
    Exception,
    /// Over `Limits::time`.
    Timeout,
    /// Over `Limits::memory_bytes`.
    MemoryLimit,
    /// Over `Limits::stack_bytes`.
    StackOverflow,
    /// The handler's promise was still pending with no job left to run.
    NeverSettled,
    /// The code exports no function of the trigger's handler name.
    NoHandler,
    /// All workers busy and the queue full; nothing ran.
    Busy,
    /// The engine itself failed (a worker died, a runtime could not be made).
    Internal,
}

/// The console output of one action run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLog {
    pub action_id: String,
    pub output: String,
    /// Output past `Limits::log_bytes` was dropped.
    pub truncated: bool,
}

/// Bounds `s` to `max` bytes at a char boundary.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
