//! A user import's rows once checked (`manage::users::parse_row`): the user
//! to insert, its imported hash, and what an upsert changes on a user that
//! exists (Auth0's "Upsert during import?" column: the profile, the metadata
//! and `email_verified`; never the email, the id, `blocked` or the hash).

use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::model::User;

/// What an upsert changes on an existing user: the properties the row gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertPatch {
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
}

/// A row ready to store.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub user: User,
    /// The stored form of its imported hash (`password_import`), if any.
    pub password_hash: Option<String>,
    pub patch: UpsertPatch,
    /// The row as given, without its hashes (for the job's errors).
    pub shown: Value,
}

impl ImportUser {
    /// `existing` (the user with this row's email) after an upsert.
    pub fn upsert_onto(&self, existing: &User, now: UnixTime) -> User {
        let mut user = existing.clone();
        let p = &self.patch;
        if let Some(v) = p.email_verified {
            user.email_verified = v;
        }
        for (field, value) in [
            (&mut user.name, &p.name),
            (&mut user.given_name, &p.given_name),
            (&mut user.family_name, &p.family_name),
            (&mut user.nickname, &p.nickname),
            (&mut user.picture, &p.picture),
        ] {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        // Top-level keys replace the stored ones; `null` removes one.
        for (into, patch) in [
            (&mut user.user_metadata, &p.user_metadata),
            (&mut user.app_metadata, &p.app_metadata),
        ] {
            for (key, value) in patch.iter().flatten() {
                match value {
                    Value::Null => into.remove(key),
                    v => into.insert(key.clone(), v.clone()),
                };
            }
        }
        user.updated_at = now;
        user
    }
}
