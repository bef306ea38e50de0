//! Changing an existing user: the body of `PATCH /api/v2/users/{id}`, Auth0's
//! metadata merge and email rules.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Invalid;
use super::validate::{check_phone_number, check_profile, normalize_email};
use crate::clock::UnixTime;
use crate::model::User;
use crate::types::Secret;

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

/// Every property optional; at least one. `user_metadata` and `app_metadata`
/// are merged into the stored ones at the top level (a key set to `null` is
/// removed; an empty object clears them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Must be the user's own connection when given.
    pub connection: Option<String>,
    /// A new email clears `email_verified` unless it is given too.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// Accepted and ignored: Tessera sends no email.
    pub verify_email: Option<bool>,
    /// Database users only; checked against the connection's password policy.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, format = Password)
    )]
    pub password: Option<Secret<String>>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub user_metadata: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
    /// Only for a connection with `options.requires_username`; stored
    /// lower-cased, unique in the connection.
    pub username: Option<String>,
    /// E.164: `+` and up to 15 digits. A new number clears `phone_verified`
    /// unless it is given too. Stored and returned only.
    pub phone_number: Option<String>,
    pub phone_verified: Option<bool>,
    /// Accepted and ignored: Tessera sends no SMS.
    pub verify_phone_number: Option<bool>,
    /// Auth0: the client whose email templates a changed email uses. Accepted
    /// and ignored: Tessera sends no email on a change.
    pub client_id: Option<String>,
}

impl UpdateUser {
    /// No property at all (Auth0 asks for at least one).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Does this change anything besides `app_metadata`? (A caller holding
    /// only `update:users_app_metadata` may change nothing else.)
    pub fn touches_more_than_app_metadata(&self) -> bool {
        let Self {
            connection,
            email,
            email_verified,
            verify_email,
            password,
            name,
            given_name,
            family_name,
            nickname,
            picture,
            user_metadata,
            app_metadata: _,
            blocked,
            username,
            phone_number,
            phone_verified,
            verify_phone_number,
            client_id,
        } = self;
        connection.is_some()
            || email.is_some()
            || email_verified.is_some()
            || verify_email.is_some()
            || password.is_some()
            || name.is_some()
            || given_name.is_some()
            || family_name.is_some()
            || nickname.is_some()
            || picture.is_some()
            || user_metadata.is_some()
            || blocked.is_some()
            || username.is_some()
            || phone_number.is_some()
            || phone_verified.is_some()
            || verify_phone_number.is_some()
            || client_id.is_some()
    }

    /// Does this change end the user's sessions? A new password or a block
    /// does: what the old credentials opened (SSO sessions, refresh-token
    /// families and their access tokens) must not outlive them.
    pub fn ends_sessions(&self) -> bool {
        self.password.is_some() || self.blocked == Some(true)
    }
}

/// Applies `changes` to `user` at `now`, or leaves it untouched and names the
/// first bad property. A new email clears `email_verified` unless the change
/// sets it too (as Auth0 does); so does a new phone number `phone_verified`.
/// Whether the new email or username is free is the store's rule. What the
/// user does not hold is the caller's, checked before: that `connection` is
/// the user's own, the username ([`super::check_username`] against the
/// connection, whose lower-cased result `changes` carries), and the new
/// password (only database users have one; [`super::check_password`] against
/// their connection's policy), which is returned, to be hashed and stored with
/// the user.
pub fn apply_changes(
    user: &mut User,
    changes: UpdateUser,
    now: UnixTime,
) -> Result<Option<Secret<String>>, Invalid> {
    let UpdateUser {
        connection: _,
        email,
        email_verified,
        // Tessera sends no email.
        verify_email: _,
        password,
        name,
        given_name,
        family_name,
        nickname,
        picture,
        user_metadata,
        app_metadata,
        blocked,
        username,
        phone_number,
        phone_verified,
        // Tessera sends no SMS, and no email on a change.
        verify_phone_number: _,
        client_id: _,
    } = changes;
    let email = email.as_deref().map(normalize_email).transpose()?;
    if let Some(phone) = &phone_number {
        check_phone_number(phone)?;
    }
    check_profile(
        name.as_deref(),
        given_name.as_deref(),
        family_name.as_deref(),
        nickname.as_deref(),
        picture.as_deref(),
        user_metadata.as_ref(),
        app_metadata.as_ref(),
    )?;
    if let Some(email) = email
        && user.email.as_deref() != Some(email.as_str())
    {
        user.email = Some(email);
        user.email_verified = false;
    }
    if let Some(v) = email_verified {
        user.email_verified = v;
    }
    if let Some(v) = name {
        user.name = Some(v);
    }
    if let Some(v) = given_name {
        user.given_name = Some(v);
    }
    if let Some(v) = family_name {
        user.family_name = Some(v);
    }
    if let Some(v) = nickname {
        user.nickname = Some(v);
    }
    if let Some(v) = picture {
        user.picture = Some(v);
    }
    if let Some(patch) = user_metadata {
        merge_metadata(&mut user.user_metadata, patch);
    }
    if let Some(patch) = app_metadata {
        merge_metadata(&mut user.app_metadata, patch);
    }
    if let Some(v) = blocked {
        user.blocked = v;
    }
    if let Some(v) = username {
        user.username = Some(v);
    }
    if let Some(phone) = phone_number
        && user.phone_number.as_deref() != Some(phone.as_str())
    {
        user.phone_number = Some(phone);
        user.phone_verified = Some(false);
    }
    if let Some(v) = phone_verified {
        user.phone_verified = Some(v);
    }
    user.updated_at = now;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::users::create::{CreateUser, create};
    use crate::manage::users::fixtures::{db_connection, new_user};
    use serde_json::json;

    #[test]
    fn changes_merge_metadata_and_reset_verification() {
        let mut user = create(
            CreateUser {
                email_verified: Some(true),
                user_metadata: json!({"keep": 1, "drop": 2}).as_object().cloned(),
                ..new_user()
            },
            Some(&db_connection()),
            100,
        )
        .unwrap()
        .user;
        let before = user.clone();
        let err = apply_changes(
            &mut user,
            UpdateUser {
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
            UpdateUser {
                email: Some("JANE.DOE@example.com".into()),
                ..Default::default()
            },
            150,
        )
        .unwrap();
        assert!(user.email_verified);

        apply_changes(
            &mut user,
            UpdateUser {
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
            UpdateUser {
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
            UpdateUser {
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
        let only = UpdateUser {
            app_metadata: Some(Map::new()),
            ..Default::default()
        };
        assert!(!only.touches_more_than_app_metadata());
        assert!(!only.is_empty());
        assert!(UpdateUser::default().is_empty());
        assert!(!UpdateUser::default().touches_more_than_app_metadata());
        let more = UpdateUser {
            name: Some("x".into()),
            ..only.clone()
        };
        assert!(more.touches_more_than_app_metadata());
        // Properties the user does not hold count too.
        for more in [
            UpdateUser {
                connection: Some("c".into()),
                ..only.clone()
            },
            UpdateUser {
                verify_email: Some(false),
                ..only.clone()
            },
            UpdateUser {
                password: Some(Secret::new("pw".into())),
                ..only.clone()
            },
        ] {
            assert!(more.touches_more_than_app_metadata(), "{more:?}");
        }
    }

    #[test]
    fn phone_changes_reset_verification() {
        let mut user = create(new_user(), Some(&db_connection()), 1).unwrap().user;
        let change = |phone: Option<&str>, verified: Option<bool>| UpdateUser {
            phone_number: phone.map(Into::into),
            phone_verified: verified,
            ..Default::default()
        };
        apply_changes(&mut user, change(Some("+15551234567"), Some(true)), 2).unwrap();
        assert_eq!(user.phone_number.as_deref(), Some("+15551234567"));
        assert_eq!(user.phone_verified, Some(true));
        // The same number keeps its verification; a new one loses it.
        apply_changes(&mut user, change(Some("+15551234567"), None), 3).unwrap();
        assert_eq!(user.phone_verified, Some(true));
        apply_changes(&mut user, change(Some("+15559876543"), None), 4).unwrap();
        assert_eq!(user.phone_verified, Some(false));
        let e = apply_changes(&mut user, change(Some("5551234"), None), 5).unwrap_err();
        assert_eq!(e.property, "phone_number");
        assert_eq!(
            user.phone_number.as_deref(),
            Some("+15559876543"),
            "untouched"
        );
        // Checked by the caller, the username is taken as given.
        apply_changes(
            &mut user,
            UpdateUser {
                username: Some("jane".into()),
                verify_phone_number: Some(true),
                client_id: Some("abc".into()),
                ..Default::default()
            },
            6,
        )
        .unwrap();
        assert_eq!(user.username.as_deref(), Some("jane"));
        for more in [
            UpdateUser {
                username: Some("x".into()),
                ..Default::default()
            },
            UpdateUser {
                verify_phone_number: Some(false),
                ..Default::default()
            },
            UpdateUser {
                client_id: Some("c".into()),
                ..Default::default()
            },
        ] {
            assert!(more.touches_more_than_app_metadata(), "{more:?}");
        }
    }

    #[test]
    fn a_new_password_or_a_block_ends_sessions() {
        let password = UpdateUser {
            password: Some(Secret::new("new password".into())),
            ..Default::default()
        };
        assert!(password.ends_sessions());
        let block = UpdateUser {
            blocked: Some(true),
            ..Default::default()
        };
        assert!(block.ends_sessions());
        for keeps in [
            UpdateUser::default(),
            UpdateUser {
                blocked: Some(false),
                name: Some("x".into()),
                ..Default::default()
            },
        ] {
            assert!(!keeps.ends_sessions(), "{keeps:?}");
        }
        // The password is not the user's: it comes back, to be hashed.
        let mut user = create(new_user(), Some(&db_connection()), 1).unwrap().user;
        let back = apply_changes(&mut user, password, 2).unwrap();
        assert_eq!(back.unwrap().expose(), "new password");
    }

    #[test]
    fn the_body_is_auth0s_and_never_shows_the_password() {
        let body: UpdateUser = serde_json::from_value(json!({
            "password": "s3cret-pw-value",
            "verify_email": false,
        }))
        .unwrap();
        assert!(!format!("{body:?}").contains("s3cret"), "{body:?}");
        let e = serde_json::from_value::<UpdateUser>(json!({"password": ["x"]})).unwrap_err();
        assert!(e.to_string().starts_with("must be a string"), "{e}");
        let e = serde_json::from_value::<UpdateUser>(json!({"user_id": "x"})).unwrap_err();
        assert!(e.to_string().contains("unknown field `user_id`"), "{e}");
    }
}
