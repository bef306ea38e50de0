//! Changing an existing user: Auth0's metadata merge and email rules.

use serde_json::{Map, Value};

use super::Invalid;
use super::validate::{check_profile, normalize_email};
use crate::clock::UnixTime;
use crate::model::User;

/// Auth0's metadata update: top-level keys of `patch` replace those of
/// `metadata` (nested objects are replaced whole); a key set to `null` is
/// removed; an empty `patch` removes everything.
pub fn merge_metadata(metadata: &mut Map<String, Value>, patch: Map<String, Value>) {
    if patch.is_empty() {
        metadata.clear();
        return;
    }
    for (key, value) in patch {
        if value.is_null() {
            metadata.remove(&key);
        } else {
            metadata.insert(key, value);
        }
    }
}

/// Changes to an existing user; `None` keeps the stored value. Metadata is
/// merged (see [`merge_metadata`]). A new password is checked apart, with
/// [`check_password`], because only database users have one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
}

impl UserChanges {
    /// Does this change anything besides `app_metadata`? (A caller holding
    /// only `update:users_app_metadata` may change nothing else.)
    pub fn touches_more_than_app_metadata(&self) -> bool {
        let Self {
            email,
            email_verified,
            name,
            given_name,
            family_name,
            nickname,
            picture,
            user_metadata,
            app_metadata: _,
            blocked,
        } = self;
        email.is_some()
            || email_verified.is_some()
            || name.is_some()
            || given_name.is_some()
            || family_name.is_some()
            || nickname.is_some()
            || picture.is_some()
            || user_metadata.is_some()
            || blocked.is_some()
    }

    /// Does this change, with a new password or not, end the user's sessions?
    /// A new password or a block does: what the old credentials opened (SSO
    /// sessions, refresh-token families and their access tokens) must not
    /// outlive them.
    pub fn ends_sessions(&self, new_password: bool) -> bool {
        new_password || self.blocked == Some(true)
    }
}

/// Applies `changes` to `user` at `now`, or leaves it untouched and names the
/// first bad property. A new email clears `email_verified` unless the change
/// sets it too (as Auth0 does). Whether the new email is free is the store's
/// rule.
pub fn apply_changes(user: &mut User, changes: UserChanges, now: UnixTime) -> Result<(), Invalid> {
    let email = changes.email.as_deref().map(normalize_email).transpose()?;
    check_profile(
        changes.name.as_deref(),
        changes.given_name.as_deref(),
        changes.family_name.as_deref(),
        changes.nickname.as_deref(),
        changes.picture.as_deref(),
        changes.user_metadata.as_ref(),
        changes.app_metadata.as_ref(),
    )?;
    if let Some(email) = email
        && user.email.as_deref() != Some(email.as_str())
    {
        user.email = Some(email);
        user.email_verified = false;
    }
    if let Some(v) = changes.email_verified {
        user.email_verified = v;
    }
    if let Some(v) = changes.name {
        user.name = Some(v);
    }
    if let Some(v) = changes.given_name {
        user.given_name = Some(v);
    }
    if let Some(v) = changes.family_name {
        user.family_name = Some(v);
    }
    if let Some(v) = changes.nickname {
        user.nickname = Some(v);
    }
    if let Some(v) = changes.picture {
        user.picture = Some(v);
    }
    if let Some(patch) = changes.user_metadata {
        merge_metadata(&mut user.user_metadata, patch);
    }
    if let Some(patch) = changes.app_metadata {
        merge_metadata(&mut user.app_metadata, patch);
    }
    if let Some(v) = changes.blocked {
        user.blocked = v;
    }
    user.updated_at = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::users::create::{NewUser, create};
    use crate::manage::users::fixtures::{db_connection, new_user};
    use serde_json::json;

    #[test]
    fn changes_merge_metadata_and_reset_verification() {
        let mut user = create(
            &db_connection(),
            NewUser {
                email_verified: Some(true),
                user_metadata: json!({"keep": 1, "drop": 2}).as_object().cloned(),
                ..new_user()
            },
            100,
        )
        .unwrap();
        let before = user.clone();
        let err = apply_changes(
            &mut user,
            UserChanges {
                name: Some("Jane".into()),
                picture: Some("ftp://x".into()),
                ..Default::default()
            },
            200,
        )
        .unwrap_err();
        assert_eq!(err.property, "picture");
        assert_eq!(user, before, "a bad change changes nothing");

        // The same email (any case) keeps the verification.
        apply_changes(
            &mut user,
            UserChanges {
                email: Some("JANE.DOE@example.com".into()),
                ..Default::default()
            },
            150,
        )
        .unwrap();
        assert!(user.email_verified);

        apply_changes(
            &mut user,
            UserChanges {
                email: Some("New@Example.com".into()),
                user_metadata: json!({"drop": null, "add": [1]}).as_object().cloned(),
                blocked: Some(true),
                ..Default::default()
            },
            200,
        )
        .unwrap();
        assert_eq!(user.email.as_deref(), Some("new@example.com"));
        assert!(!user.email_verified);
        assert_eq!(
            Value::Object(user.user_metadata.clone()),
            json!({"keep": 1, "add": [1]})
        );
        assert!(user.blocked);
        assert_eq!(user.updated_at, 200);
        apply_changes(
            &mut user,
            UserChanges {
                user_metadata: Some(Map::new()),
                ..Default::default()
            },
            200,
        )
        .unwrap();
        assert!(user.user_metadata.is_empty(), "an empty object clears it");
        assert_eq!(user.created_at, 100);

        apply_changes(
            &mut user,
            UserChanges {
                email: Some("other@example.com".into()),
                email_verified: Some(true),
                ..Default::default()
            },
            300,
        )
        .unwrap();
        assert!(user.email_verified);
    }

    #[test]
    fn app_metadata_only_changes_are_recognised() {
        let only = UserChanges {
            app_metadata: Some(Map::new()),
            ..Default::default()
        };
        assert!(!only.touches_more_than_app_metadata());
        assert!(!UserChanges::default().touches_more_than_app_metadata());
        let more = UserChanges {
            name: Some("x".into()),
            ..only
        };
        assert!(more.touches_more_than_app_metadata());
    }
}
