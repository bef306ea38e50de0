//! One storage suite, run against SQLite always and PostgreSQL (a throwaway
//! cluster, or TESSERA_TEST_POSTGRES_URL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::keys::KeyPolicy;
use tessera_store::{SqlStore, testing};

mod actions;
mod client_credentials;
mod clients;
mod flow;
mod identity_links;
mod idp_tokens;
mod jobs;
mod keys;
mod log_events;
mod login_attempts;
mod otp_codes;
mod rbac;
mod refresh;
mod retired_lifetimes;
mod revocation_log;
mod tenant;
mod tenant_settings;
mod tickets;
mod users;

pub use actions::*;
pub use client_credentials::*;
pub use clients::*;
pub use flow::*;
pub use identity_links::*;
pub use idp_tokens::*;
pub use jobs::*;
pub use keys::*;
pub use log_events::*;
pub use login_attempts::*;
pub use otp_codes::*;
pub use rbac::*;
pub use refresh::*;
pub use retired_lifetimes::*;
pub use revocation_log::*;
pub use tenant::*;
pub use tenant_settings::*;
pub use tickets::*;
pub use users::*;

pub const T0: i64 = 1_800_000_000;
pub const POLICY: KeyPolicy = KeyPolicy {
    jwks_max_age: 300,
    reload_interval: 10,
    max_token_lifetime: 86400,
};

pub struct Db {
    pub store: Arc<SqlStore>,
    pub _dir: tempfile::TempDir,
}

async fn sqlite() -> Option<Db> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&testing::sqlite_url(dir.path()))
        .await
        .unwrap();
    Some(Db {
        store: Arc::new(store),
        _dir: dir,
    })
}

async fn postgres() -> Option<Db> {
    let url = testing::fresh_postgres_database().await?;
    let store = SqlStore::open(&url).await.unwrap();
    Some(Db {
        store: Arc::new(store),
        _dir: tempfile::tempdir().unwrap(),
    })
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { if let Some(db) = super::sqlite().await { super::$case(db).await } } )* }
        mod on_postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { if let Some(db) = super::postgres().await { super::$case(db).await } } )* }
    };
}

suite!(
    roles_have_unique_names_and_filtered_pages,
    permissions_come_from_roles_and_directly,
    deletions_and_removed_scopes_take_their_permissions,
    an_actions_trigger_change_moves_it_in_listings_and_bindings,
    meta_first_writer_wins,
    reopening_migrates_idempotently,
    key_inserts_are_atomic_and_unique,
    stale_key_change_is_a_conflict,
    key_lifecycle_rotate_and_revoke,
    concurrent_first_starts_make_one_key_set,
    tenant_objects_roundtrip,
    bootstrap_is_idempotent,
    blacklisted_tokens_keep_their_audience,
    users_create_and_refuse_duplicates,
    users_list_filters_sorts_and_pages,
    users_update_and_delete,
    metadata_changes_apply_to_the_stored_user,
    actions_deploy_bind_and_delete,
    usernames_are_unique_per_connection_and_searchable,
    concurrent_creates_of_one_username_have_one_winner,
    clients_filter_update_secrets_and_delete,
    client_grants_filter_update_and_delete,
    connections_filter_update_and_delete_their_users,
    codes_are_consumed_once_and_replays_report_what_they_issued,
    a_replay_during_redemption_is_seen_by_the_record,
    concurrent_code_consumption_has_exactly_one_winner,
    sessions_consents_tokens_failures_and_sweeping,
    refresh_rotation_replay_and_reuse,
    refresh_lifetimes_and_non_rotating_clients,
    concurrent_refresh_outside_the_leeway_revokes_the_family,
    concurrent_refresh_inside_the_leeway_has_one_successor,
    revocations_are_read_incrementally_and_late_commits_are_not_missed,
    expired_revocations_leave_the_view,
    login_attempts_are_reserved_up_to_the_threshold_per_window,
    concurrent_login_reservations_never_exceed_the_threshold,
    otp_tries_sends_use_and_expiry,
    concurrent_otp_tries_never_exceed_the_maximum,
    lowered_or_deleted_api_lifetimes_are_remembered_until_their_tokens_expire,
    concurrent_lifetime_changes_never_lose_a_longer_lifetime,
    tickets_are_read_taken_once_and_expire,
    concurrent_ticket_use_has_exactly_one_winner,
    a_password_change_applies_only_over_the_password_it_replaces,
    client_credentials_are_bound_to_their_client,
    client_credentials_survive_a_stale_client_update,
    client_credentials_are_capped_also_concurrently,
    assertion_jtis_are_used_once_until_they_expire,
    tenant_settings_patches_merge_atomically,
    new_clients_join_every_connection_while_the_flag_is_on,
    empty_client_lists_are_opened_once,
    connection_updates_never_undo_client_changes,
    jobs_are_leased_resumed_and_never_write_a_row_twice,
    an_upsert_updates_the_profile_and_keeps_the_hash,
    one_of_concurrent_claimers_gets_a_job,
    exports_are_chunked_found_by_their_link_until_it_expires,
    a_job_keeps_only_its_first_failed_rows_and_abandoned_uploads_go,
    log_events_filter_page_and_sweep,
    log_sweeps_remove_bounded_batches_oldest_first,
    idp_tokens_are_replaced_conditionally_and_go_with_their_user,
    upstream_logins_are_taken_once_and_expire,
    links_follow_auth0s_rules_and_unlinks_restore_the_user,
    of_concurrent_conflicting_links_exactly_one_wins,
    idp_refreshes_are_claimed_by_one_and_leases_end,
    upstream_users_never_conflict_on_email,
    idp_tokens_keep_the_refresh_token_a_later_login_lacks,
    an_upstream_login_replaces_its_requests_previous_one,
);
