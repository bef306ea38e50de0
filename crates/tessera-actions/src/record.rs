//! Rust-side record of the `api` calls of one run (all actions of one trigger). The JS `api` object only
//! forwards to this; nothing is ever read back from JS objects the action could tamper with.

use crate::claims::ClaimSet;
use crate::{Effects, RefusedClaim, TokenKind, bounded};
use serde_json::{Map, Value};
use std::cell::{RefCell, RefMut};
use std::rc::Rc;

/// At most this many distinct scopes may be added or removed in one run; longer scope tokens are ignored.
const MAX_SCOPES: usize = 256;
const MAX_SCOPE_LEN: usize = 256;
/// A claim name longer than this is kept in `RefusedClaim::name` cut to this length.
const MAX_REPORTED_NAME: usize = 256;
/// Refused claims kept per run; the rest are only counted (`Effects::refused_claims_dropped`).
pub(crate) const MAX_REFUSED: usize = 32;
/// Keys one run may set (or delete) in one metadata object (`app_metadata`, `user_metadata`).
pub(crate) const MAX_METADATA_KEYS: usize = 50;
/// All changes of one run to one metadata object, as JSON (`"name":value,` per key), at most.
pub(crate) const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Why a `setAppMetadata`/`setUserMetadata` call was refused (the call throws).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataError {
    /// Over [`MAX_METADATA_KEYS`] keys in the object.
    TooManyKeys,
    /// Over [`MAX_METADATA_BYTES`] in the object.
    TooLarge,
    /// A name Auth0's Management API refuses for metadata keys: empty, containing `.`, or starting with `$`.
    BadName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataKind {
    App,
    User,
}

/// `setAppMetadata` and `setUserMetadata` changes; `None` if never called.
pub(crate) type MetadataChanges = (Option<Map<String, Value>>, Option<Map<String, Value>>);

// No `Debug`: it holds deny reasons before their secrets are masked.
pub(crate) struct Recorder {
    claims_cap: usize,
    log_cap: usize,
    id: ClaimSet,
    access: ClaimSet,
    /// (scope, whether the last call added it), in first-call order.
    scopes: Vec<(String, bool)>,
    app_metadata: Option<Map<String, Value>>,
    user_metadata: Option<Map<String, Value>>,
    /// JSON bytes of each metadata change so far, per object (app, user), and their totals.
    metadata_sizes: [std::collections::HashMap<String, usize>; 2],
    metadata_totals: [usize; 2],
    refused: Vec<RefusedClaim>,
    refused_dropped: usize,
    /// The action now running, and what it did that ends the run.
    pub(crate) action_id: String,
    pub(crate) denied: Option<(Option<String>, String)>,
    pub(crate) log: String,
    pub(crate) log_truncated: bool,
    /// Counts `begin` calls: the `api` and `console` functions of one action run record only while it is
    /// the current one (see [`Current`]).
    seq: u64,
}

/// The recorder as the functions of one action run hold it: once a later action has begun, they record
/// nothing (a callback that outlived its run, e.g. one a `FinalizationRegistry` would have queued, cannot
/// act as the next action).
#[derive(Clone)]
pub(crate) struct Current {
    recorder: Rc<RefCell<Recorder>>,
    seq: u64,
}

impl Current {
    pub(crate) fn new(recorder: &Rc<RefCell<Recorder>>) -> Current {
        let seq = recorder.borrow().seq;
        Current {
            recorder: recorder.clone(),
            seq,
        }
    }

    /// The recorder, if this run is still the current one.
    pub(crate) fn get(&self) -> Option<RefMut<'_, Recorder>> {
        let r = self.recorder.try_borrow_mut().ok()?;
        (r.seq == self.seq).then_some(r)
    }
}

impl Recorder {
    pub(crate) fn new(claims_cap: usize, log_cap: usize) -> Self {
        Recorder {
            claims_cap,
            log_cap,
            id: ClaimSet::default(),
            access: ClaimSet::default(),
            scopes: Vec::new(),
            app_metadata: None,
            user_metadata: None,
            metadata_sizes: Default::default(),
            metadata_totals: [0; 2],
            refused: Vec::new(),
            refused_dropped: 0,
            action_id: String::new(),
            denied: None,
            log: String::new(),
            log_truncated: false,
            seq: 0,
        }
    }

    /// Starts recording for the next action.
    pub(crate) fn begin(&mut self, action_id: &str) {
        self.seq += 1;
        self.action_id = action_id.to_owned();
        self.denied = None;
        self.log.clear();
        self.log_truncated = false;
    }

    pub(crate) fn set_claim(&mut self, token: TokenKind, name: &str, json: Option<&str>) {
        let set = match token {
            TokenKind::Id => &mut self.id,
            TokenKind::Access => &mut self.access,
        };
        if let Err(reason) = set.set(token, name, json, self.claims_cap) {
            if self.refused.len() >= MAX_REFUSED {
                self.refused_dropped += 1;
                return;
            }
            self.refused.push(RefusedClaim {
                action_id: self.action_id.clone(),
                token,
                name: bounded(name, MAX_REPORTED_NAME),
                reason,
            });
        }
    }

    /// Records `addScope` (`add`) or `removeScope`; the last call for a scope decides. A scope token that
    /// is empty, has characters outside RFC 6749 §3.3's NQCHAR, or is too long, is ignored.
    pub(crate) fn scope(&mut self, scope: &str, add: bool) {
        let valid = !scope.is_empty()
            && scope.len() <= MAX_SCOPE_LEN
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return;
        }
        if let Some(entry) = self.scopes.iter_mut().find(|(s, _)| s == scope) {
            entry.1 = add;
        } else if self.scopes.len() < MAX_SCOPES {
            self.scopes.push((scope.to_owned(), add));
        }
    }

    /// Records `setAppMetadata`/`setUserMetadata` (`json` is the value's JSON text, `null` deletes the key),
    /// within the run's budget per object: [`MAX_METADATA_KEYS`] keys and [`MAX_METADATA_BYTES`] of JSON.
    /// A refused call changes nothing.
    pub(crate) fn set_metadata(
        &mut self,
        kind: MetadataKind,
        name: &str,
        json: &str,
    ) -> Result<(), MetadataError> {
        if !valid_metadata_name(name) {
            return Err(MetadataError::BadName);
        }
        let (map, i) = match kind {
            MetadataKind::App => (&mut self.app_metadata, 0),
            MetadataKind::User => (&mut self.user_metadata, 1),
        };
        let sizes = &mut self.metadata_sizes[i];
        let previous = sizes.get(name).copied();
        if previous.is_none() && sizes.len() >= MAX_METADATA_KEYS {
            return Err(MetadataError::TooManyKeys);
        }
        // `"name":value,`, as the claims are counted.
        let size = name.len() + 2 + 1 + json.len() + 1;
        let total = self.metadata_totals[i] - previous.unwrap_or(0) + size;
        if total > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge);
        }
        let value: Value = serde_json::from_str(json).map_err(|_| MetadataError::TooLarge)?;
        sizes.insert(name.to_owned(), size);
        self.metadata_totals[i] = total;
        map.get_or_insert_with(Map::new)
            .insert(name.to_owned(), value);
        Ok(())
    }

    /// The first `deny` of an action wins.
    pub(crate) fn deny(&mut self, code: Option<String>, reason: String) {
        if self.denied.is_none() {
            self.denied = Some((code, reason));
        }
    }

    /// Appends one console line, keeping at most `log_cap` bytes.
    pub(crate) fn log_line(&mut self, line: &str) {
        if self.log_truncated {
            return;
        }
        let room = self.log_cap.saturating_sub(self.log.len());
        if line.len() < room {
            self.log.push_str(line);
            self.log.push('\n');
        } else {
            self.log.push_str(&bounded(line, room));
            self.log_truncated = true;
        }
    }

    /// The metadata changes so far, to show later actions in `event.user.*_metadata`.
    pub(crate) fn metadata(&self, kind: MetadataKind) -> Option<&Map<String, Value>> {
        match kind {
            MetadataKind::App => self.app_metadata.as_ref(),
            MetadataKind::User => self.user_metadata.as_ref(),
        }
    }

    /// The metadata changes recorded so far (app, user), taken.
    pub(crate) fn take_metadata(&mut self) -> MetadataChanges {
        (self.app_metadata.take(), self.user_metadata.take())
    }

    pub(crate) fn into_effects(self) -> Effects {
        let (add, remove): (Vec<_>, Vec<_>) = self.scopes.into_iter().partition(|(_, add)| *add);
        Effects {
            id_token_claims: self.id.into_map(),
            access_token_claims: self.access.into_map(),
            add_scopes: add.into_iter().map(|(s, _)| s).collect(),
            remove_scopes: remove.into_iter().map(|(s, _)| s).collect(),
            app_metadata: self.app_metadata,
            user_metadata: self.user_metadata,
            refused_claims: self.refused,
            refused_claims_dropped: self.refused_dropped,
        }
    }
}

/// Whether Auth0's Management API takes `name` as a metadata key: not empty, no `.`, not starting with `$`.
fn valid_metadata_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('.') && !name.starts_with('$')
}

/// Applies recorded metadata changes to `event.user.{app,user}_metadata` (null deletes), so a later
/// action sees what an earlier one set, as on Auth0.
pub(crate) fn apply_metadata(event: &mut Value, recorder: &Recorder) {
    for (kind, field) in [
        (MetadataKind::App, "app_metadata"),
        (MetadataKind::User, "user_metadata"),
    ] {
        let Some(changes) = recorder.metadata(kind) else {
            continue;
        };
        let Some(user) = event.get_mut("user").and_then(Value::as_object_mut) else {
            continue;
        };
        let target = user
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Some(target) = target.as_object_mut() {
            for (k, v) in changes {
                if v.is_null() {
                    target.remove(k);
                } else {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
}
