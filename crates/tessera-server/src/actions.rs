//! Actions at run time: this node's snapshot of each trigger's bound actions
//! (their deployed versions, secrets opened), the sandbox that runs them
//! (`tessera_actions`, started at the first run), Auth0's `event` for each
//! trigger, and what a run's outcome does — claims and scopes for the tokens,
//! the user's metadata written once after all actions ran, a denial or a
//! failure refusing that one request, the console output and failures in the
//! tenant's log with the action's id.
//!
//! A trigger's snapshot is read in one statement and used whole by a request,
//! so a login runs either the old or the new version of each binding. It is
//! read again once older than the tenant-settings refresh (5 s: the bound on
//! how long a deploy takes to reach the other nodes), at once on the node that
//! deployed. A trigger with no binding costs a cached empty list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::Request;
use axum::http::{self as http, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tessera_actions::{ActionScript, Engine, FailureKind, Limits, Outcome, Stop, Trigger};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::extensibility::{
    ActionHooks, CredentialsExchange, HookError, PostLogin, RequestFacts, TokenCustomization,
};
use tessera_core::log_event::LogType;
use tessera_core::manage::actions::open_secrets;
use tessera_core::model::{Client, TriggerId, User};
use tessera_core::store::StoreError;

use crate::state::AppState;

/// What `event.request` needs of the HTTP request being served, captured by
/// [`capture_request`] around the hosted login's routes (header values are
/// reference-counted: nothing is copied unless an action runs).
#[derive(Clone, Default)]
struct RequestOrigin {
    ip: Option<std::net::IpAddr>,
    user_agent: Option<HeaderValue>,
    host: Option<HeaderValue>,
    accept_language: Option<HeaderValue>,
    method: String,
}

tokio::task_local! {
    static ORIGIN: RequestOrigin;
}

fn origin_of(parts: &http::request::Parts) -> RequestOrigin {
    RequestOrigin {
        ip: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip()),
        user_agent: parts.headers.get(header::USER_AGENT).cloned(),
        host: parts.headers.get(header::HOST).cloned(),
        accept_language: parts.headers.get(header::ACCEPT_LANGUAGE).cloned(),
        method: parts.method.as_str().to_owned(),
    }
}

/// Middleware: keeps the request's origin for [`request_facts`].
pub async fn capture_request(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&parts);
    let req = Request::from_parts(parts, body);
    ORIGIN.scope(origin, next.run(req)).await
}

fn text(v: &Option<HeaderValue>, max: usize) -> Option<String> {
    v.as_ref()
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(max).collect())
}

/// `event.request` of a token request (`POST`, no query), built only when
/// an action is bound to a trigger the token endpoint runs.
pub async fn token_request_facts(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
) -> Result<RequestFacts, StoreError> {
    if !any_bound(state, TriggerId::PostLogin).await?
        && !any_bound(state, TriggerId::CredentialsExchange).await?
    {
        return Ok(RequestFacts::default());
    }
    let origin = RequestOrigin {
        ip,
        user_agent: headers.get(header::USER_AGENT).cloned(),
        host: headers.get(header::HOST).cloned(),
        accept_language: headers.get(header::ACCEPT_LANGUAGE).cloned(),
        method: "POST".into(),
    };
    Ok(facts_of(&origin, Vec::new()))
}

fn facts_of(o: &RequestOrigin, query: Vec<(String, String)>) -> RequestFacts {
    RequestFacts {
        ip: o.ip.map(|ip| ip.to_string()),
        user_agent: text(&o.user_agent, 512),
        hostname: text(&o.host, 255).map(|h| host_without_port(&h)),
        method: o.method.clone(),
        query,
        language: text(&o.accept_language, 64).and_then(|l| {
            l.split([',', ';'])
                .next()
                .map(|first| first.trim().to_owned())
                .filter(|first| !first.is_empty())
        }),
    }
}

/// `example.com:8443` → `example.com`; `[::1]:80` → `[::1]`.
fn host_without_port(h: &str) -> String {
    match h.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit())
                && (name.ends_with(']') || !name.contains(':')) =>
        {
            name.to_owned()
        }
        _ => h.to_owned(),
    }
}

/// `event.request` of the request being served (empty outside
/// [`capture_request`]), with `query`.
pub fn request_facts(query: Vec<(String, String)>) -> RequestFacts {
    match ORIGIN.try_with(RequestOrigin::clone) {
        Ok(o) => facts_of(&o, query),
        Err(_) => RequestFacts {
            query,
            ..RequestFacts::default()
        },
    }
}

/// How long a syntax check may take.
const CHECK_DEADLINE: Duration = Duration::from_secs(2);

/// The limits the server runs actions with: the library's, but custom claims
/// at most 8 KiB per token (Auth0 allows 100 KB; Tessera's token checks take
/// tokens up to 16 KiB, so a larger token could be neither introspected nor
/// revoked).
pub fn default_limits() -> Limits {
    Limits {
        claims_bytes: 8 * 1024,
        ..Limits::default()
    }
}

/// A trigger's bound actions as this node last read them.
#[derive(Clone)]
struct Snapshot {
    loaded: Instant,
    generation: u64,
    scripts: Arc<[ActionScript]>,
}

/// The sandbox and the snapshots (one per node).
pub struct Actions {
    limits: Limits,
    /// Started at the first run; a failed start is tried again next time.
    engine: Mutex<Option<Engine>>,
    snapshots: Mutex<HashMap<TriggerId, Snapshot>>,
    generation: AtomicU64,
    refresh: Duration,
}

impl Actions {
    pub fn new(limits: Limits, refresh: Duration) -> Self {
        Self {
            limits,
            engine: Mutex::new(None),
            snapshots: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            refresh,
        }
    }

    /// After a deploy, a binding change or a deletion on this node: the next
    /// request reads the snapshot again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn engine(&self) -> Result<Engine, String> {
        let mut slot = self
            .engine
            .lock()
            .map_err(|_| "the sandbox lock is poisoned".to_owned())?;
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Engine::new(self.limits.clone()).map_err(|e| e.to_string())?;
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// Compiles `code` (Auth0's `status`: `built`, or `failed` with this),
    /// off the async workers and within a bound.
    pub async fn check_off_thread(&self, code: String) -> Result<(), String> {
        let task = tokio::task::spawn_blocking(move || tessera_actions::check(&code));
        match tokio::time::timeout(CHECK_DEADLINE, task).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(_)) => Err("the syntax check failed".into()),
            Err(_) => Err("the syntax check took too long".into()),
        }
    }

    /// The trigger's scripts, from the snapshot or read anew.
    async fn scripts(
        &self,
        state: &AppState,
        trigger: TriggerId,
    ) -> Result<Arc<[ActionScript]>, StoreError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let cached = self
            .snapshots
            .lock()
            .ok()
            .and_then(|map| map.get(&trigger).cloned());
        if let Some(s) = cached
            && s.generation == generation
            && s.loaded.elapsed() < self.refresh
        {
            return Ok(s.scripts);
        }
        let bound = state.store.load_trigger(trigger).await?;
        let mut scripts = Vec::with_capacity(bound.len());
        for b in bound {
            let secrets = open_secrets(
                &state.master,
                &b.version.action_id,
                &b.version.content.secrets,
            )
            .map_err(|e| StoreError::Corrupt(format!("action {}: {e}", b.version.action_id)))?;
            scripts.push(ActionScript {
                action_id: b.version.action_id.clone(),
                version_id: b.version.id.clone(),
                name: b.action_name.clone(),
                code: Arc::from(b.version.content.code.as_str()),
                secrets,
            });
        }
        let scripts: Arc<[ActionScript]> = scripts.into();
        if let Ok(mut map) = self.snapshots.lock() {
            map.insert(
                trigger,
                Snapshot {
                    loaded: Instant::now(),
                    generation,
                    scripts: scripts.clone(),
                },
            );
        }
        Ok(scripts)
    }

    /// Runs `scripts` (one snapshot of the trigger's actions) on `event`.
    async fn run(
        &self,
        trigger: TriggerId,
        scripts: &Arc<[ActionScript]>,
        event: Value,
    ) -> Outcome {
        match self.engine() {
            Ok(engine) => {
                let kind = match trigger {
                    TriggerId::PostLogin => Trigger::PostLogin,
                    TriggerId::CredentialsExchange => Trigger::CredentialsExchange,
                };
                engine.run(kind, scripts.clone(), event).await
            }
            Err(e) => {
                tracing::error!(error = %e, "the actions sandbox could not start");
                Outcome {
                    result: Err(Stop::Failed {
                        action_id: scripts
                            .first()
                            .map(|s| s.action_id.clone())
                            .unwrap_or_default(),
                        kind: FailureKind::Internal,
                        message: "the sandbox could not start".into(),
                    }),
                    logs: Vec::new(),
                }
            }
        }
    }
}

/// Whether any action is bound to `trigger` (from the snapshot).
pub async fn any_bound(state: &AppState, trigger: TriggerId) -> Result<bool, StoreError> {
    Ok(!state.actions.scripts(state, trigger).await?.is_empty())
}

/// Auth0's `event.tenant.id`: the issuer's host.
fn tenant_id(state: &AppState) -> String {
    url::Url::parse(state.config.issuer.as_str())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

fn request_json(r: &RequestFacts) -> Value {
    let query: Map<String, Value> = r
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut out = json!({
        "method": r.method,
        "query": query,
        "body": {},
    });
    let obj = out.as_object_mut();
    if let Some(obj) = obj {
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                obj.insert(k.into(), Value::String(v.clone()));
            }
        };
        put("ip", &r.ip);
        put("user_agent", &r.user_agent);
        put("hostname", &r.hostname);
        put("language", &r.language);
    }
    out
}

fn client_json(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "metadata": c.settings.client_metadata,
    })
}

fn time(unix: i64) -> Value {
    Value::String(crate::management::extract::timestamp(unix))
}

/// Auth0's `event.user` (never a password, a hash or an upstream token).
fn user_json(u: &User) -> Value {
    let mut out = Map::new();
    out.insert("user_id".into(), u.user_id.clone().into());
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("email", &u.email);
    put("name", &u.name);
    put("given_name", &u.given_name);
    put("family_name", &u.family_name);
    put("nickname", &u.nickname);
    put("picture", &u.picture);
    put("username", &u.username);
    put("phone_number", &u.phone_number);
    out.insert("email_verified".into(), u.email_verified.into());
    if let Some(v) = u.phone_verified {
        out.insert("phone_verified".into(), v.into());
    }
    out.insert("app_metadata".into(), Value::Object(u.app_metadata.clone()));
    out.insert(
        "user_metadata".into(),
        Value::Object(u.user_metadata.clone()),
    );
    out.insert("created_at".into(), time(u.created_at));
    out.insert("updated_at".into(), time(u.updated_at));
    if let Some(t) = u.last_login {
        out.insert("last_login".into(), time(t));
    }
    out.insert("logins_count".into(), u.logins_count.into());
    let identities: Vec<Value> = u
        .identities
        .iter()
        .map(|i| {
            json!({
                "connection": i.connection,
                "provider": i.provider,
                "user_id": i.user_id,
                "isSocial": i.is_social,
            })
        })
        .collect();
    out.insert("identities".into(), Value::Array(identities));
    Value::Object(out)
}

/// Auth0's post-login `event`.
async fn post_login_event(state: &AppState, input: &PostLogin<'_>) -> Result<Value, StoreError> {
    let connection = state
        .store
        .get_connection_by_name(&input.user.connection)
        .await?;
    let connection = match connection {
        Some(c) => json!({"id": c.id, "name": c.name, "strategy": c.strategy, "metadata": {}}),
        None => json!({"name": input.user.connection}),
    };
    let roles = crate::actions::user_roles(state, &input.user.user_id).await?;
    let mut transaction = json!({
        "requested_scopes": input.scope,
        "protocol": input.protocol.as_str(),
    });
    if let Some(t) = transaction.as_object_mut() {
        if let Some(uri) = input.redirect_uri {
            t.insert("redirect_uri".into(), uri.into());
        }
        if let Some(l) = &input.request.language {
            t.insert("locale".into(), l.clone().into());
        }
    }
    let mut event = json!({
        "user": user_json(input.user),
        "client": client_json(input.client),
        "connection": connection,
        "request": request_json(input.request),
        "authorization": {"roles": roles},
        "transaction": transaction,
        "stats": {"logins_count": input.user.logins_count},
        "tenant": {"id": tenant_id(state)},
    });
    if let (Some(api), Some(obj)) = (input.api, event.as_object_mut()) {
        obj.insert(
            "resource_server".into(),
            json!({"identifier": api.identifier}),
        );
    }
    Ok(event)
}

/// The role names of a user (`event.authorization.roles`).
async fn user_roles(state: &AppState, user_id: &str) -> Result<Vec<String>, StoreError> {
    tessera_core::rbac::user_role_names(state.store.as_ref(), user_id).await
}

/// Records the run in the tenant's log: console output and, for a stop,
/// which action and why. Never the secrets (the sandbox masks them in
/// messages; console output is the action author's).
fn log_run(
    state: &AppState,
    trigger: TriggerId,
    client_id: &str,
    user_id: Option<&str>,
    scripts: &[ActionScript],
    outcome: &Outcome,
) {
    let stop = outcome.result.as_ref().err();
    if stop.is_none() && outcome.logs.iter().all(|l| l.output.is_empty()) {
        return;
    }
    let name_of = |id: &str| {
        scripts
            .iter()
            .find(|s| s.action_id == id)
            .map(|s| (s.name.clone(), s.version_id.clone()))
            .unwrap_or_default()
    };
    let executions: Vec<Value> = outcome
        .logs
        .iter()
        .map(|l| {
            let (name, version) = name_of(&l.action_id);
            json!({
                "action_id": l.action_id,
                "action_name": name,
                "version_id": version,
                "logs": l.output,
                "logs_truncated": l.truncated,
            })
        })
        .collect();
    let (kind, description, error) = match stop {
        None => (LogType::ActionsExecution, String::new(), Value::Null),
        Some(Stop::Denied {
            action_id, reason, ..
        }) => (
            LogType::ActionsExecutionFailed,
            format!("Denied by action {}: {reason}", name_of(action_id).0),
            json!({"action_id": action_id, "kind": "denied"}),
        ),
        Some(Stop::Failed {
            action_id,
            kind,
            message,
        }) => (
            LogType::ActionsExecutionFailed,
            format!("Action {} failed: {message}", name_of(action_id).0),
            json!({"action_id": action_id, "kind": failure_name(*kind)}),
        ),
    };
    let mut event = state.logs.event(kind);
    event.client_id = Some(client_id.to_owned());
    event.user_id = user_id.map(str::to_owned);
    event.description = description;
    event.details = json!({
        "trigger_id": trigger.as_str(),
        "executions": executions,
        "error": error,
    });
    state.logs.record(event);
}

fn failure_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Exception => "exception",
        FailureKind::Timeout => "timeout",
        FailureKind::MemoryLimit => "memory_limit",
        FailureKind::StackOverflow => "stack_overflow",
        FailureKind::NeverSettled => "never_settled",
        FailureKind::NoHandler => "no_handler",
        FailureKind::Busy => "busy",
        FailureKind::Internal => "internal",
    }
}

/// The OAuth error a stop answers: `access_denied` with the action's reason
/// for a post-login denial, the action's code for a credentials-exchange
/// one, `access_denied` naming the action for a failure (never its message:
/// it may quote the code).
pub fn stop_error(stop: &Stop, scripts: &[ActionScript]) -> OAuthError {
    let name = |id: &str| {
        scripts
            .iter()
            .find(|s| s.action_id == id)
            .map_or_else(String::new, |s| s.name.clone())
    };
    match stop {
        Stop::Denied { code, reason, .. } => {
            let reason_text: String = reason.chars().take(500).collect();
            let r = match code.as_deref() {
                Some("invalid_request") => Reason::ActionDeniedInvalidRequest,
                Some("invalid_scope") => Reason::ActionDeniedInvalidScope,
                Some("server_error") => Reason::ActionDeniedServerError,
                _ => Reason::ActionDenied,
            };
            OAuthError::new(r, reason_text)
        }
        Stop::Failed {
            action_id, kind, ..
        } => OAuthError::new(
            Reason::ActionFailed,
            match kind {
                FailureKind::Busy => "the actions sandbox is busy: try again".to_owned(),
                _ => format!(
                    "the action '{}' failed ({})",
                    name(action_id).chars().take(128).collect::<String>(),
                    failure_name(*kind)
                ),
            },
        ),
    }
}

/// Applies `setAppMetadata`/`setUserMetadata` once after all actions ran,
/// to the user as stored then (a concurrent block or PATCH is kept), when
/// they follow the Management API's rules (else the login fails:
/// `action_failed`).
async fn persist_metadata(
    state: &AppState,
    client_id: &str,
    user_id: &str,
    app: Option<&Map<String, Value>>,
    user: Option<&Map<String, Value>>,
) -> Result<(), HookError> {
    if app.is_none() && user.is_none() {
        return Ok(());
    }
    if let Err(problem) = check_metadata_changes(app, user) {
        tracing::warn!(client_id = %client_id, problem = %problem, "post-login actions set metadata the Management API refuses");
        return Err(OAuthError::new(
            Reason::ActionFailed,
            format!("the actions set metadata that cannot be stored: {problem}"),
        )
        .into());
    }
    state
        .store
        .change_user_metadata(user_id, app, user, state.clock.now())
        .await?;
    Ok(())
}

/// Largest metadata change one run may write, per object (JSON bytes).
const MAX_METADATA_CHANGE: usize = 16 * 1024;

/// The Management API's rules for metadata (no `.`/`$` names, app_metadata's
/// reserved names) and a size bound, for what actions set.
fn check_metadata_changes(
    app: Option<&Map<String, Value>>,
    user: Option<&Map<String, Value>>,
) -> Result<(), String> {
    for (property, changes) in [("app_metadata", app), ("user_metadata", user)] {
        let Some(changes) = changes else { continue };
        tessera_core::manage::users::check_metadata(property, changes)
            .map_err(|e| e.to_string())?;
        let size = serde_json::to_string(changes).map_or(usize::MAX, |t| t.len());
        if size > MAX_METADATA_CHANGE {
            return Err(format!("{property}: more than {MAX_METADATA_CHANGE} bytes"));
        }
    }
    Ok(())
}

/// Runs post-login for `input`: what the tokens get, or the error that
/// refuses the login.
pub async fn post_login(
    state: &AppState,
    input: PostLogin<'_>,
) -> Result<TokenCustomization, HookError> {
    let scripts = state.actions.scripts(state, TriggerId::PostLogin).await?;
    if scripts.is_empty() {
        return Ok(TokenCustomization::default());
    }
    let event = post_login_event(state, &input).await?;
    let outcome = state
        .actions
        .run(TriggerId::PostLogin, &scripts, event)
        .await;
    log_run(
        state,
        TriggerId::PostLogin,
        &input.client.client_id,
        Some(&input.user.user_id),
        &scripts,
        &outcome,
    );
    let effects = match outcome.result {
        Ok(effects) => effects,
        Err(stop) => {
            // Auth0: a denial does not cancel the metadata changes asked for
            // (changes the rules refuse are dropped: the denial stands).
            if let Stop::Denied {
                app_metadata,
                user_metadata,
                ..
            } = &stop
            {
                match persist_metadata(
                    state,
                    &input.client.client_id,
                    &input.user.user_id,
                    app_metadata.as_ref(),
                    user_metadata.as_ref(),
                )
                .await
                {
                    Ok(()) | Err(HookError::Refused(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            return Err(stop_error(&stop, &scripts).into());
        }
    };
    log_refused(&input.client.client_id, &effects.refused_claims);
    persist_metadata(
        state,
        &input.client.client_id,
        &input.user.user_id,
        effects.app_metadata.as_ref(),
        effects.user_metadata.as_ref(),
    )
    .await?;
    Ok(TokenCustomization {
        id_token_claims: effects.id_token_claims,
        access_token_claims: effects.access_token_claims,
        add_scopes: effects.add_scopes,
        remove_scopes: effects.remove_scopes,
    })
}

/// Refused custom claims: one log line per run (names, never values; at
/// most 16 names).
fn log_refused(client_id: &str, refused: &[tessera_actions::RefusedClaim]) {
    if refused.is_empty() {
        return;
    }
    let names: Vec<String> = refused
        .iter()
        .take(16)
        .map(|r| format!("{}:{:?}:{:?}", r.action_id, r.token, r.reason))
        .collect();
    tracing::warn!(
        client_id = %client_id,
        refused = refused.len(),
        first = %names.join(","),
        "custom claims set by actions were refused"
    );
}

#[async_trait]
impl ActionHooks for AppState {
    async fn post_login(&self, input: PostLogin<'_>) -> Result<TokenCustomization, HookError> {
        post_login(self, input).await
    }

    async fn credentials_exchange(
        &self,
        input: CredentialsExchange<'_>,
    ) -> Result<Map<String, Value>, HookError> {
        let scripts = self
            .actions
            .scripts(self, TriggerId::CredentialsExchange)
            .await?;
        if scripts.is_empty() {
            return Ok(Map::new());
        }
        let event = json!({
            "client": client_json(input.client),
            "resource_server": {"identifier": input.api.identifier},
            "request": request_json(input.request),
            "transaction": {"requested_scopes": input.scope},
            "tenant": {"id": tenant_id(self)},
        });
        let outcome = self
            .actions
            .run(TriggerId::CredentialsExchange, &scripts, event)
            .await;
        log_run(
            self,
            TriggerId::CredentialsExchange,
            &input.client.client_id,
            None,
            &scripts,
            &outcome,
        );
        match outcome.result {
            Ok(effects) => {
                log_refused(&input.client.client_id, &effects.refused_claims);
                Ok(effects.access_token_claims)
            }
            Err(stop) => Err(stop_error(&stop, &scripts).into()),
        }
    }
}
