//! Actions (Auth0: `/api/v2/actions/...`): the bodies and the rules that turn
//! them into an [`Action`] draft, a deployed [`ActionVersion`] or a trigger's
//! bindings. Secrets are sealed under the master key as they arrive and never
//! answered. npm `dependencies` and action `modules` are refused when not
//! empty: the sandbox runs no npm module, and code that `require`s one would
//! fail at every login.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::clock::UnixTime;
use crate::envelope::{MasterKey, OpenError};
use crate::error::Invalid;
use crate::ids::RngError;
use crate::model::{Action, ActionContent, ActionSecret, ActionVersion, BuildStatus, TriggerId};

/// Longest action name.
pub const MAX_NAME_LEN: usize = 128;
/// Largest action code, bytes (Auth0's limit: 100 KB).
pub const MAX_CODE_LEN: usize = 100 * 1024;
/// Most secrets per action.
pub const MAX_SECRETS: usize = 50;
/// Longest secret name and value.
pub const MAX_SECRET_NAME_LEN: usize = 128;
pub const MAX_SECRET_VALUE_LEN: usize = 4096;
/// Most actions bound to one trigger.
pub const MAX_BINDINGS: usize = 20;
/// Node runtimes Auth0 names; stored and answered (the sandbox is one engine).
pub const RUNTIMES: [&str; 5] = ["node12", "node16", "node18", "node18-actions", "node22"];
pub const DEFAULT_RUNTIME: &str = "node22";
/// Auth0's default code of a new action.
pub const DEFAULT_CODE: &str = "";

/// A trigger named in `supported_triggers` (Auth0's `ActionTrigger`; the
/// descriptive properties are accepted and ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ActionTriggerRef))]
pub struct TriggerRef {
    /// `post-login` or `credentials-exchange`.
    pub id: String,
    /// The trigger version the code is written for (default the current).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub runtimes: Option<Vec<String>>,
    #[serde(default)]
    pub default_runtime: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub compatible_triggers: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub binding_policy: Option<String>,
}

/// A secret in a request: `name` and `value` (a PATCH may leave `value` out to
/// keep the stored one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ActionSecretRequest))]
pub struct SecretInput {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `POST /api/v2/actions/actions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateAction))]
pub struct NewAction {
    pub name: String,
    /// Exactly one trigger (Auth0: "an action can only target a single trigger").
    pub supported_triggers: Vec<TriggerRef>,
    #[serde(default)]
    pub code: Option<String>,
    /// Must be empty: no npm modules run in the sandbox.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub dependencies: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub secrets: Option<Vec<SecretInput>>,
    /// Must be empty: action modules are not supported.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub modules: Option<Vec<serde_json::Value>>,
    /// Deploy at once.
    #[serde(default)]
    pub deploy: Option<bool>,
}

/// `PATCH /api/v2/actions/actions/{id}`: what is present replaces.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateAction))]
pub struct ActionChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub supported_triggers: Option<Vec<TriggerRef>>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub dependencies: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub runtime: Option<String>,
    /// The whole set: names left out are removed; an entry without `value`
    /// keeps the stored value of that name.
    #[serde(default)]
    pub secrets: Option<Vec<SecretInput>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub modules: Option<Vec<serde_json::Value>>,
}

/// How a binding names its action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ActionBindingRef))]
pub struct BindingRef {
    /// `action_id`, `action_name` or `binding_id`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// One entry of `PATCH /api/v2/actions/triggers/{id}/bindings`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ActionBindingWithRef))]
pub struct BindingInput {
    #[serde(rename = "ref")]
    pub reference: BindingRef,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Auth0's per-binding secrets: refused when not empty (an action's
    /// secrets are set on the action).
    #[serde(default)]
    pub secrets: Option<Vec<SecretInput>>,
}

/// The body of `PATCH /api/v2/actions/triggers/{id}/bindings`: the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateActionBindings))]
pub struct BindingsPatch {
    #[serde(default)]
    pub bindings: Option<Vec<BindingInput>>,
}

/// Why a body was refused, or a secret could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

fn not_supported(property: &str, what: &str) -> Invalid {
    Invalid::new(
        property,
        format!("{what} is not supported by Tessera (see docs/actions.md)"),
    )
    .with_reason("setting_not_enforced")
}

fn check_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(Invalid::new(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid::new("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

fn check_trigger(triggers: &[TriggerRef]) -> Result<(TriggerId, String), Invalid> {
    let [only] = triggers else {
        return Err(Invalid::new(
            "supported_triggers",
            "must name exactly one trigger",
        ));
    };
    let Some(trigger) = TriggerId::parse(&only.id) else {
        return Err(not_supported(
            "supported_triggers",
            &format!(
                "the trigger '{}' (Tessera runs post-login and credentials-exchange)",
                only.id.chars().take(64).collect::<String>()
            ),
        ));
    };
    let version = only
        .version
        .clone()
        .unwrap_or_else(|| trigger.version().to_owned());
    if !matches!(version.as_str(), "v1" | "v2" | "v3") {
        return Err(Invalid::new(
            "supported_triggers[0].version",
            "must be v1, v2 or v3",
        ));
    }
    Ok((trigger, version))
}

fn check_code(code: &str) -> Result<(), Invalid> {
    if code.len() > MAX_CODE_LEN {
        return Err(Invalid::new(
            "code",
            format!("must be at most {MAX_CODE_LEN} bytes"),
        ));
    }
    Ok(())
}

fn check_runtime(runtime: Option<&str>) -> Result<String, Invalid> {
    match runtime {
        None => Ok(DEFAULT_RUNTIME.to_owned()),
        Some(r) if RUNTIMES.contains(&r) => Ok(r.to_owned()),
        Some(_) => Err(Invalid::new(
            "runtime",
            format!("must be one of {}", RUNTIMES.join(", ")),
        )),
    }
}

fn check_empty(
    property: &str,
    list: Option<&Vec<serde_json::Value>>,
    what: &str,
) -> Result<(), Invalid> {
    match list {
        Some(items) if !items.is_empty() => Err(not_supported(property, what)),
        _ => Ok(()),
    }
}

fn aad(action_id: &str, name: &str) -> String {
    format!("action_secret:{action_id}:{name}")
}

/// Seals the secrets of a request for `action_id`; an entry without `value`
/// keeps the value of `current` under its name.
fn seal_secrets(
    master: &MasterKey,
    action_id: &str,
    input: &[SecretInput],
    current: &[ActionSecret],
    now: UnixTime,
) -> Result<Vec<ActionSecret>, ActionError> {
    if input.len() > MAX_SECRETS {
        return Err(Invalid::new("secrets", format!("at most {MAX_SECRETS} secrets")).into());
    }
    let mut sealed: Vec<ActionSecret> = Vec::with_capacity(input.len());
    for (i, s) in input.iter().enumerate() {
        let property = format!("secrets[{i}]");
        let valid_name = !s.name.is_empty()
            && s.name.len() <= MAX_SECRET_NAME_LEN
            && s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !valid_name {
            return Err(Invalid::new(
                format!("{property}.name"),
                format!("must be 1 to {MAX_SECRET_NAME_LEN} of A-Z a-z 0-9 _ - ."),
            )
            .into());
        }
        if sealed.iter().any(|other| other.name == s.name) {
            return Err(Invalid::new(format!("{property}.name"), "is given twice").into());
        }
        let secret = match &s.value {
            Some(value) => {
                if value.len() > MAX_SECRET_VALUE_LEN {
                    return Err(Invalid::new(
                        format!("{property}.value"),
                        format!("must be at most {MAX_SECRET_VALUE_LEN} bytes"),
                    )
                    .into());
                }
                ActionSecret {
                    name: s.name.clone(),
                    sealed: STANDARD
                        .encode(master.seal(&aad(action_id, &s.name), value.as_bytes())?),
                    updated_at: now,
                }
            }
            None => current
                .iter()
                .find(|c| c.name == s.name)
                .cloned()
                .ok_or_else(|| {
                    Invalid::new(format!("{property}.value"), "is required for a new secret")
                })?,
        };
        sealed.push(secret);
    }
    Ok(sealed)
}

/// The secrets' values, for the sandbox (`event.secrets`).
pub fn open_secrets(
    master: &MasterKey,
    action_id: &str,
    secrets: &[ActionSecret],
) -> Result<Vec<(String, String)>, OpenError> {
    secrets
        .iter()
        .map(|s| {
            let sealed = STANDARD.decode(&s.sealed).map_err(|_| OpenError::Corrupt)?;
            let value = master.open(&aad(action_id, &s.name), &sealed)?;
            Ok((
                s.name.clone(),
                String::from_utf8(value.to_vec()).map_err(|_| OpenError::Corrupt)?,
            ))
        })
        .collect()
}

fn content(
    code: String,
    runtime: String,
    secrets: Vec<ActionSecret>,
    check: &dyn Fn(&str) -> Result<(), String>,
    now: UnixTime,
) -> ActionContent {
    let status = match check(&code) {
        Ok(()) => BuildStatus::Built,
        Err(message) => BuildStatus::Failed { message },
    };
    ActionContent {
        code,
        runtime,
        secrets,
        status,
        built_at: now,
    }
}

/// A new action from its body; `check` compiles the code (its error becomes
/// `status: failed`). The caller deploys it when `deploy` is true.
pub fn build(
    master: &MasterKey,
    id: String,
    body: NewAction,
    check: &dyn Fn(&str) -> Result<(), String>,
    now: UnixTime,
) -> Result<Action, ActionError> {
    let name = check_name(&body.name)?;
    let (trigger, trigger_version) = check_trigger(&body.supported_triggers)?;
    let code = body.code.unwrap_or_else(|| DEFAULT_CODE.to_owned());
    check_code(&code)?;
    let runtime = check_runtime(body.runtime.as_deref())?;
    check_empty(
        "dependencies",
        body.dependencies.as_ref(),
        "npm dependencies",
    )?;
    check_empty("modules", body.modules.as_ref(), "action modules")?;
    let secrets = seal_secrets(
        master,
        &id,
        body.secrets.as_deref().unwrap_or(&[]),
        &[],
        now,
    )?;
    Ok(Action {
        id,
        name,
        trigger,
        trigger_version,
        draft: content(code, runtime, secrets, check, now),
        deployed_version_id: None,
        created_at: now,
        updated_at: now,
    })
}

/// The action after a PATCH. (The store refuses a trigger change of a bound
/// action.)
pub fn apply_changes(
    master: &MasterKey,
    mut action: Action,
    body: ActionChanges,
    check: &dyn Fn(&str) -> Result<(), String>,
    now: UnixTime,
) -> Result<Action, ActionError> {
    if let Some(name) = &body.name {
        action.name = check_name(name)?;
    }
    if let Some(triggers) = &body.supported_triggers {
        let (trigger, version) = check_trigger(triggers)?;
        action.trigger = trigger;
        action.trigger_version = version;
    }
    check_empty(
        "dependencies",
        body.dependencies.as_ref(),
        "npm dependencies",
    )?;
    check_empty("modules", body.modules.as_ref(), "action modules")?;
    let code = match body.code {
        Some(code) => {
            check_code(&code)?;
            code
        }
        None => action.draft.code.clone(),
    };
    let runtime = match &body.runtime {
        Some(r) => check_runtime(Some(r))?,
        None => action.draft.runtime.clone(),
    };
    let secrets = match &body.secrets {
        Some(input) => seal_secrets(master, &action.id, input, &action.draft.secrets, now)?,
        None => action.draft.secrets.clone(),
    };
    action.draft = content(code, runtime, secrets, check, now);
    action.updated_at = now;
    Ok(action)
}

/// A version of the action's draft, to deploy. Code that failed to build is
/// refused (Auth0 deploys only built code).
pub fn version_of_draft(
    action: &Action,
    id: String,
    now: UnixTime,
) -> Result<ActionVersion, Invalid> {
    version_of(action, &action.draft, id, now)
}

/// A new version with `content` (a roll-back copies an older version's).
pub fn version_of(
    action: &Action,
    content: &ActionContent,
    id: String,
    now: UnixTime,
) -> Result<ActionVersion, Invalid> {
    if let BuildStatus::Failed { .. } = content.status {
        return Err(
            Invalid::new("code", "failed to build: fix it before deploying")
                .with_reason("action_not_built"),
        );
    }
    Ok(ActionVersion {
        id,
        action_id: action.id.clone(),
        number: 0,
        content: content.clone(),
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &str) -> Result<(), String> {
        Ok(())
    }

    fn body() -> NewAction {
        NewAction {
            name: "add-claims".into(),
            supported_triggers: vec![TriggerRef {
                id: "post-login".into(),
                ..TriggerRef::default()
            }],
            code: Some("exports.onExecutePostLogin = async () => {}".into()),
            secrets: Some(vec![SecretInput {
                name: "API_KEY".into(),
                value: Some("s3cret".into()),
            }]),
            ..NewAction::default()
        }
    }

    #[test]
    fn secrets_are_sealed_and_open_per_action() {
        let master = MasterKey::from_bytes(&[7; 32]);
        let a = build(&master, "a1".into(), body(), &ok, 1).unwrap();
        assert!(!a.draft.secrets[0].sealed.contains("s3cret"));
        assert_eq!(
            open_secrets(&master, "a1", &a.draft.secrets).unwrap(),
            vec![("API_KEY".to_owned(), "s3cret".to_owned())]
        );
        // Bound to the action: another action's id does not open them.
        assert!(open_secrets(&master, "a2", &a.draft.secrets).is_err());
    }

    #[test]
    fn a_patch_without_value_keeps_the_secret_and_drops_the_unlisted() {
        let master = MasterKey::from_bytes(&[7; 32]);
        let mut b = body();
        b.secrets.as_mut().unwrap().push(SecretInput {
            name: "OTHER".into(),
            value: Some("x".into()),
        });
        let a = build(&master, "a1".into(), b, &ok, 1).unwrap();
        let changes = ActionChanges {
            secrets: Some(vec![SecretInput {
                name: "API_KEY".into(),
                value: None,
            }]),
            ..ActionChanges::default()
        };
        let a = apply_changes(&master, a, changes, &ok, 2).unwrap();
        let open = open_secrets(&master, "a1", &a.draft.secrets).unwrap();
        assert_eq!(open, vec![("API_KEY".to_owned(), "s3cret".to_owned())]);
        let unknown = ActionChanges {
            secrets: Some(vec![SecretInput {
                name: "NEW".into(),
                value: None,
            }]),
            ..ActionChanges::default()
        };
        assert!(apply_changes(&master, a, unknown, &ok, 3).is_err());
    }

    #[test]
    fn unsupported_triggers_dependencies_and_modules_are_refused() {
        let master = MasterKey::from_bytes(&[7; 32]);
        let mut b = body();
        b.supported_triggers[0].id = "pre-user-registration".into();
        assert!(build(&master, "a".into(), b, &ok, 1).is_err());
        let mut b = body();
        b.dependencies = Some(vec![serde_json::json!({"name": "axios", "version": "1"})]);
        assert!(build(&master, "a".into(), b, &ok, 1).is_err());
        let mut b = body();
        b.modules = Some(vec![serde_json::json!({"module_id": "m"})]);
        assert!(build(&master, "a".into(), b, &ok, 1).is_err());
        let mut b = body();
        b.supported_triggers.push(b.supported_triggers[0].clone());
        assert!(build(&master, "a".into(), b, &ok, 1).is_err());
    }

    #[test]
    fn code_that_fails_to_build_is_stored_failed_and_not_deployable() {
        let master = MasterKey::from_bytes(&[7; 32]);
        let fail = |_: &str| Err("SyntaxError: unexpected token".to_owned());
        let a = build(&master, "a".into(), body(), &fail, 1).unwrap();
        assert!(matches!(a.draft.status, BuildStatus::Failed { .. }));
        assert!(version_of_draft(&a, "v".into(), 2).is_err());
    }
}
