//! Actions (Auth0's extensibility): JavaScript run in the sandbox at a trigger.
//! An action is a draft (code, runtime, secrets) plus immutable versions a
//! deploy creates; bindings order the deployed actions of a trigger.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The triggers Tessera runs actions on (Auth0's ids). Other Auth0 triggers are
/// refused when an action names them: Tessera would never run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TriggerId {
    #[serde(rename = "post-login")]
    PostLogin,
    #[serde(rename = "credentials-exchange")]
    CredentialsExchange,
}

impl TriggerId {
    pub const ALL: [TriggerId; 2] = [TriggerId::PostLogin, TriggerId::CredentialsExchange];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostLogin => "post-login",
            Self::CredentialsExchange => "credentials-exchange",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// The trigger's current version (Auth0's), the one Tessera implements.
    pub fn version(self) -> &'static str {
        match self {
            Self::PostLogin => "v3",
            Self::CredentialsExchange => "v2",
        }
    }
}

/// A secret of an action: its value sealed under the master key (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSecret {
    pub name: String,
    pub sealed: String,
    pub updated_at: UnixTime,
}

/// An npm dependency as Auth0 describes it. Tessera runs no npm modules, so a
/// non-empty list is refused; the type exists for the answers' shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDependency {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
}

/// Whether the code compiled (Auth0's `status`: `built` or `failed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildStatus {
    #[serde(rename = "built")]
    Built,
    #[serde(rename = "failed")]
    Failed { message: String },
}

/// What a version and the draft share: the code and what runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionContent {
    pub code: String,
    pub runtime: String,
    pub secrets: Vec<ActionSecret>,
    pub status: BuildStatus,
    pub built_at: UnixTime,
}

/// An action: its draft and, once deployed, the id of the version that runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: String,
    pub name: String,
    pub trigger: TriggerId,
    /// The trigger version the action was written for (as given, or the current).
    pub trigger_version: String,
    pub draft: ActionContent,
    pub deployed_version_id: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// An immutable version of an action, made by a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionVersion {
    pub id: String,
    pub action_id: String,
    /// 1, 2, … per action (assigned by the store).
    pub number: i64,
    pub content: ActionContent,
    pub created_at: UnixTime,
}

/// An action bound to a trigger, at a position in its list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionBinding {
    pub id: String,
    pub trigger: TriggerId,
    pub action_id: String,
    pub display_name: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What a trigger runs: each bound action with its deployed version, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundVersion {
    pub binding: ActionBinding,
    pub action_name: String,
    pub version: ActionVersion,
}
