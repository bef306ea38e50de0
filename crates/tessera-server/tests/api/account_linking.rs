//! Account linking through the Management API (issue 14, as Auth0 does it):
//! `POST /api/v2/users/{id}/identities` and
//! `DELETE /api/v2/users/{id}/identities/{provider}/{user_id}`. A linked
//! user is gone as a user of its own (GET 404, its refresh tokens refused)
//! and its logins (password, upstream) sign in as the primary; an unlink
//! gives it back. Who must not link: callers without `update:users`, users'
//! tokens, other APIs' tokens; and every refused link or unlink, by reason.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{self, API, App, EMAIL, PASSWORD, apis, claims, credentials, enc, field};
use crate::upstream_login::{CONN, finish, pair, to_downstream_callback};

const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";
const DEFAULT_DB: &str = "Username-Password-Authentication";
const STAFF: &str = "Staff";
const STAFF_EMAIL: &str = "grace@staff.example";
const REASON: &str = "tessera-error-reason";

/// An app that may use the password grants and refresh tokens.
async fn password_app(s: &TestServer) -> App {
    flows::app(
        s,
        json!({"app_type": "regular_web", "grant_types": [REALM_GRANT, "refresh_token", "authorization_code"]}),
    )
    .await
}

/// A database connection enabled for `app`.
async fn database(s: &TestServer, name: &str, app: &App) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [app.id]})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

/// A database user of `connection`; its id.
async fn db_user(s: &TestServer, connection: &str, email: &str) -> String {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({"connection": connection, "email": email, "password": PASSWORD, "name": email})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    field(&r, "user_id")
}

/// A password-realm login with offline access to `API`.
async fn password_login(s: &TestServer, app: &App, realm: &str, email: &str) -> Reply {
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", realm),
        ("username", email),
        ("password", PASSWORD),
        ("scope", "openid email offline_access"),
        ("audience", API),
    ];
    form.extend(credentials(app));
    s.token_request(&form).await
}

fn sub_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{r:?}");
    claims(&field(r, "id_token"))["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A hosted-page login (`/authorize?connection=…`, the login form, the
/// code exchange) as `email`: the ID token's `sub`.
async fn hosted_login(s: &TestServer, app: &App, connection: &str, email: &str) -> String {
    let b = flows::browser();
    let (verifier, challenge) = flows::pkce();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&connection={connection}&code_challenge={challenge}&code_challenge_method=S256",
        s.url("authorize"),
        app.id,
        enc(flows::CALLBACK),
    );
    let res = b.get(&url).send().await.unwrap();
    let page = flows::location(&res);
    let res = flows::fill_in_login_as(s, &b, &page, email, PASSWORD).await;
    assert_eq!(res.status(), 303, "login refused");
    let q = flows::query_of(&flows::location(&res));
    let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", flows::CALLBACK),
        ("code_verifier", &verifier),
    ];
    form.extend(credentials(app));
    sub_of(&s.token_request(&form).await)
}

fn link_path(primary: &str) -> String {
    format!("api/v2/users/{}/identities", enc(primary))
}

fn unlink_path(primary: &str, provider: &str, user_id: &str) -> String {
    format!(
        "api/v2/users/{}/identities/{provider}/{}",
        enc(primary),
        enc(user_id)
    )
}

async fn link(s: &TestServer, token: &str, primary: &str, provider: &str, user_id: &str) -> Reply {
    s.api(
        Method::POST,
        &link_path(primary),
        token,
        Some(json!({"provider": provider, "user_id": user_id})),
    )
    .await
}

/// A Management API refusal in Auth0's shape, with its typed reason.
#[track_caller]
fn assert_refused(r: &Reply, status: u16, error_code: &str, reason: &str) {
    assert_mgmt_error(r, status, error_code);
    assert_eq!(
        r.headers.get(REASON).and_then(|v| v.to_str().ok()),
        Some(reason),
        "{r:?}"
    );
}

fn hex(user_id: &str) -> &str {
    user_id.strip_prefix("auth0|").unwrap()
}

fn connections(identities: &Value) -> Vec<&str> {
    identities
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["connection"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_database_user_logs_in_as_its_primary_until_unlinked() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let primary = flows::user(&s).await;
    let secondary = db_user(&s, STAFF, STAFF_EMAIL).await;
    let before = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&before), secondary);
    let old_refresh = field(&before, "refresh_token");

    let editor = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &editor, &primary, "auth0", hex(&secondary)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(connections(&r.body), [DEFAULT_DB, STAFF]);
    assert_eq!(r.body[1]["provider"], "auth0");
    assert_eq!(r.body[1]["user_id"], hex(&secondary));
    assert_eq!(r.body[1]["isSocial"], false);
    assert_eq!(r.body[1]["profileData"]["email"], STAFF_EMAIL);
    assert!(r.body[0].get("profileData").is_none(), "{r:?}");

    let reader = s.token_with_scopes(&["read:users"]).await;
    let got = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&primary)),
            &reader,
            None,
        )
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["identities"], r.body);
    assert_eq!(got.body["email"], EMAIL);
    let gone = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&secondary)),
            &reader,
            None,
        )
        .await;
    assert_mgmt_error(&gone, 404, "inexistent_user");
    let listed = s.api(Method::GET, "api/v2/users", &reader, None).await;
    assert!(
        !listed
            .body
            .to_string()
            .contains(&format!("\"{secondary}\""))
    );

    // The secondary's old refresh token ended with the link.
    let refreshed = flows::refresh(&s, &app, &old_refresh, None).await;
    assert_eq!(refreshed.status, 400, "{refreshed:?}");
    assert_eq!(refreshed.body["error"], "invalid_grant");
    // Its credentials now sign in as the primary.
    let after = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&after), primary);
    assert_eq!(claims(&field(&after, "id_token"))["email"], EMAIL);
    assert_eq!(hosted_login(&s, &app, STAFF, STAFF_EMAIL).await, primary);

    // Unlinked, it is a user of its own again, with its profile.
    let r = s
        .api(
            Method::DELETE,
            &unlink_path(&primary, "auth0", hex(&secondary)),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(connections(&r.body), [DEFAULT_DB]);
    let back = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&secondary)),
            &reader,
            None,
        )
        .await;
    assert_eq!(back.status, 200, "{back:?}");
    assert_eq!(back.body["email"], STAFF_EMAIL);
    assert_eq!(back.body["identities"][0]["connection"], STAFF);
    let own = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&own), secondary);
    assert_eq!(hosted_login(&s, &app, STAFF, STAFF_EMAIL).await, secondary);
}

/// M2 (review of issue 14): a password login through a linked identity
/// checks the primary's connection too, as the code flow does: a primary
/// whose connection is not enabled for the app gets no tokens of it through
/// an identity of an enabled connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_login_needs_the_primarys_connection_enabled_for_the_app() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let primary = flows::user(&s).await;
    let secondary = db_user(&s, STAFF, STAFF_EMAIL).await;
    let editor = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &editor, &primary, "auth0", hex(&secondary)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        sub_of(&password_login(&s, &app, STAFF, STAFF_EMAIL).await),
        primary
    );

    // The primary's connection enabled for another app only.
    let other = flows::app(&s, json!({"app_type": "regular_web"})).await;
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections?name={DEFAULT_DB}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let list: &Value = &r.body;
    let first = list.as_array().map_or(list, |a| &a[0]);
    let id = first["id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(json!({"enabled_clients": [other.id]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    flows::assert_invalid_grant(&r, Reason::ConnectionNotEnabled);
    assert!(r.body.get("access_token").is_none(), "{r:?}");
}

/// M3 (review of issue 14): an unlink ends what was opened through the
/// link: the primary's refresh tokens (and the access tokens issued under
/// them) got through the separated identity stop working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlink_ends_the_tokens_opened_through_the_link() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let primary = flows::user(&s).await;
    let secondary = db_user(&s, STAFF, STAFF_EMAIL).await;
    let editor = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &editor, &primary, "auth0", hex(&secondary)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let through = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&through), primary);
    let refresh_token = field(&through, "refresh_token");
    let access_token = field(&through, "access_token");
    assert_eq!(flows::userinfo(&s, &access_token).await.status, 200);

    let r = s
        .api(
            Method::DELETE,
            &unlink_path(&primary, "auth0", hex(&secondary)),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let refreshed = flows::refresh(&s, &app, &refresh_token, None).await;
    assert_eq!(refreshed.status, 400, "{refreshed:?}");
    assert_eq!(refreshed.body["error"], "invalid_grant", "{refreshed:?}");
    assert_eq!(flows::userinfo(&s, &access_token).await.status, 401);
    // The identity signs in as itself again.
    let own = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&own), secondary);
}

/// M3 (review of issue 14): the separated identity's access tokens from
/// before the link (refused while linked) stay dead after the unlink.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identitys_access_tokens_from_before_the_link_stay_dead_after_the_unlink() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let primary = flows::user(&s).await;
    let secondary = db_user(&s, STAFF, STAFF_EMAIL).await;
    let before = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&before), secondary);
    let access_token = field(&before, "access_token");
    assert_eq!(flows::userinfo(&s, &access_token).await.status, 200);
    let editor = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &editor, &primary, "auth0", hex(&secondary)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(flows::userinfo(&s, &access_token).await.status, 401);
    let r = s
        .api(
            Method::DELETE,
            &unlink_path(&primary, "auth0", hex(&secondary)),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(flows::userinfo(&s, &access_token).await.status, 401);
    // A token issued after the unlink works (a second later: tokens of the
    // unlink's own second are refused too).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let own = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&own), secondary);
    let fresh = field(&own, "access_token");
    assert_eq!(flows::userinfo(&s, &fresh).await.status, 200);
}

/// One upstream login through the pair; the ID token's `sub`.
async fn upstream_login(p: &crate::upstream_login::Pair) -> String {
    let b = flows::browser();
    let (verifier, challenge) = flows::pkce();
    let callback = to_downstream_callback(p, &b, &challenge).await;
    let q = finish(p, &b, &callback).await;
    let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
    let r = p
        .down
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", flows::CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", &p.down_app.id),
            ("client_secret", p.down_app.secret.as_deref().unwrap()),
        ])
        .await;
    sub_of(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_and_database_identities_link_both_ways_and_keep_their_idp_tokens() {
    let p = pair(None).await;
    let down = &p.down;
    apis(down).await;
    let app = password_app(down).await;
    let upstream_id = format!("oidc|{CONN}|{}", p.up_user);
    assert_eq!(upstream_login(&p).await, upstream_id);
    let db = flows::user(down).await;
    let editor = down.token_with_scopes(&["update:users"]).await;
    let vault_reader = down
        .token_with_scopes(&["read:users", "read:user_idp_tokens"])
        .await;

    // A database user linked to the upstream user signs in as it.
    let r = link(down, &editor, &upstream_id, "auth0", &db).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(connections(&r.body), [CONN, DEFAULT_DB]);
    let via_password = password_login(down, &app, DEFAULT_DB, EMAIL).await;
    assert_eq!(sub_of(&via_password), upstream_id);
    let r = down
        .api(
            Method::DELETE,
            &unlink_path(&upstream_id, "auth0", hex(&db)),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        sub_of(&password_login(down, &app, DEFAULT_DB, EMAIL).await),
        db
    );

    // The upstream user linked to the database user: its upstream login
    // signs in as the database user, and its IdP tokens stay on its identity.
    let r = link(down, &editor, &db, "oidc", &format!("{CONN}|{}", p.up_user)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(connections(&r.body), [DEFAULT_DB, CONN]);
    assert!(r.body[1].get("access_token").is_none(), "{r:?}");
    let shown = down
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&db)),
            &vault_reader,
            None,
        )
        .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    let upstream_token = shown.body["identities"][1]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no upstream token: {shown:?}"))
        .to_owned();
    assert_eq!(shown.body["identities"][1]["provider"], "oidc");
    assert_eq!(shown.body["identities"][1]["profileData"]["email"], EMAIL);
    let at_upstream = flows::userinfo(&p.up, &upstream_token).await;
    assert_eq!(at_upstream.status, 200, "{at_upstream:?}");
    let gone = down
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&upstream_id)),
            &vault_reader,
            None,
        )
        .await;
    assert_mgmt_error(&gone, 404, "inexistent_user");
    assert_eq!(upstream_login(&p).await, db);
    // The new login's upstream tokens went to the same identity.
    let shown = down
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&db)),
            &vault_reader,
            None,
        )
        .await;
    let newer = shown.body["identities"][1]["access_token"]
        .as_str()
        .unwrap();
    assert_ne!(newer, upstream_token);
    // No second user was made for the identity.
    let r = down
        .api(
            Method::GET,
            &format!("api/v2/users?q={}", enc(&format!("connection:{CONN}"))),
            &vault_reader,
            None,
        )
        .await;
    assert_eq!(r.body, json!([]), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_link_or_unlink_and_every_refused_link() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    database(&s, "Partners", &app).await;
    let a = flows::user(&s).await;
    let b = db_user(&s, STAFF, STAFF_EMAIL).await;
    let b2 = db_user(&s, STAFF, "other@staff.example").await;
    let c = db_user(&s, "Partners", "c@partners.example").await;
    let body = json!({"provider": "auth0", "user_id": hex(&b)});

    // Tokens that are not the Management API's, or lack update:users.
    let without = s
        .token_with_scopes(&["read:users", "update:users_app_metadata"])
        .await;
    let r = link(&s, &without, &a, "auth0", hex(&b)).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let r = s
        .api(
            Method::DELETE,
            &unlink_path(&a, "auth0", hex(&b)),
            &without,
            None,
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let user_login = password_login(&s, &app, DEFAULT_DB, EMAIL).await;
    let (orders, orders_secret) = s.m2m_client(API, &["read:orders"]).await;
    let other_api = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &orders),
            ("client_secret", &orders_secret),
            ("audience", API),
        ])
        .await;
    for token in [
        field(&user_login, "access_token"),
        field(&user_login, "id_token"),
        field(&other_api, "access_token"),
    ] {
        let r = s
            .api(Method::POST, &link_path(&a), &token, Some(body.clone()))
            .await;
        assert_mgmt_error(&r, 401, "invalid_token");
        let r = s
            .api(
                Method::DELETE,
                &unlink_path(&a, "auth0", hex(&b)),
                &token,
                None,
            )
            .await;
        assert_mgmt_error(&r, 401, "invalid_token");
    }
    let reader = s.token_with_scopes(&["read:users"]).await;
    let still = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&b)),
            &reader,
            None,
        )
        .await;
    assert_eq!(still.status, 200, "nothing was linked: {still:?}");

    let t = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &t, &a, "auth0", hex(&a)).await;
    assert_refused(&r, 400, "invalid_body", "link_self");
    let r = link(&s, &t, &a, "auth0", "ffffffffffffffffffffffff").await;
    assert_refused(&r, 400, "invalid_body", "secondary_missing");
    let r = link(&s, &t, "auth0|ffffffffffffffffffffffff", "auth0", hex(&b)).await;
    assert_refused(&r, 404, "inexistent_user", "primary_missing");
    let r = s
        .api(
            Method::POST,
            &link_path(&a),
            &t,
            Some(json!({"link_with": field(&user_login, "id_token")})),
        )
        .await;
    assert_refused(&r, 400, "invalid_body", "link_with_unsupported");

    assert_eq!(link(&s, &t, &a, "auth0", hex(&b)).await.status, 201);
    // An already linked secondary, a secondary as primary, a primary as
    // secondary, a second identity of one connection.
    let r = link(&s, &t, &c, "auth0", hex(&b)).await;
    assert_refused(&r, 400, "invalid_body", "secondary_is_linked");
    let r = link(&s, &t, &b, "auth0", hex(&c)).await;
    assert_refused(&r, 400, "invalid_body", "primary_is_linked");
    let r = link(&s, &t, &c, "auth0", hex(&a)).await;
    assert_refused(&r, 400, "invalid_body", "secondary_has_links");
    let r = link(&s, &t, &a, "auth0", hex(&b2)).await;
    assert_refused(&r, 400, "invalid_body", "same_connection");

    // Unlinking the primary's own identity, or one it does not have.
    let r = s
        .api(Method::DELETE, &unlink_path(&a, "auth0", hex(&a)), &t, None)
        .await;
    assert_refused(&r, 400, "invalid_body", "unlink_primary");
    let r = s
        .api(Method::DELETE, &unlink_path(&a, "auth0", hex(&c)), &t, None)
        .await;
    assert_refused(&r, 404, "inexistent_identity", "identity_not_linked");
    let r = s
        .api(Method::DELETE, &unlink_path(&c, "auth0", hex(&b)), &t, None)
        .await;
    assert_refused(&r, 404, "inexistent_identity", "identity_not_linked");
    // Nothing of the refusals stuck: a has exactly b.
    let got = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc(&a)),
            &reader,
            None,
        )
        .await;
    assert_eq!(connections(&got.body["identities"]), [DEFAULT_DB, STAFF]);
    assert_eq!(got.body["identities"][1]["user_id"], hex(&b));
}

/// L9 (review of issue 14): a deleted user re-created with the same
/// `user_id` is not named by the access tokens of the deleted one: a user's
/// `tokens_valid_after` is the second before its creation, so `/userinfo`
/// and introspection refuse tokens issued before it existed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_user_id_is_not_named_by_the_deleted_users_tokens() {
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let admin = s.admin_token().await;
    let create = || {
        s.api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({"connection": STAFF, "user_id": "recreated", "email": STAFF_EMAIL, "password": PASSWORD})),
        )
    };
    let r = create().await;
    assert_eq!(r.status, 201, "{r:?}");
    let user_id = field(&r, "user_id");
    let old = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    assert_eq!(sub_of(&old), user_id);
    let old_token = field(&old, "access_token");
    assert_eq!(flows::userinfo(&s, &old_token).await.status, 200);
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/users/{}", enc(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // Re-created a second later (tokens of its creation's second still work).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = create().await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(field(&r, "user_id"), user_id);
    assert_eq!(flows::userinfo(&s, &old_token).await.status, 401);
    let i = flows::introspect(&s, &app, &old_token).await;
    assert_eq!(i.body["active"], false, "{i:?}");
    let fresh = password_login(&s, &app, STAFF, STAFF_EMAIL).await;
    let fresh_token = field(&fresh, "access_token");
    assert_eq!(flows::userinfo(&s, &fresh_token).await.status, 200);
    let i = flows::introspect(&s, &app, &fresh_token).await;
    assert_eq!(i.body["active"], true, "{i:?}");
}

/// L8 (review of issue 14): the re-check after a password login reads the
/// link and the primary again: a block of the primary or an unlink between
/// the password check and the session or family write makes it fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_post_login_recheck_sees_a_blocked_primary_and_an_unlink() {
    use tessera_core::grant::resource_owner::credentials_unchanged;
    use tessera_core::store::UserStore;
    let s = start().await;
    apis(&s).await;
    let app = password_app(&s).await;
    database(&s, STAFF, &app).await;
    let primary = flows::user(&s).await;
    let secondary = db_user(&s, STAFF, STAFF_EMAIL).await;
    let editor = s.token_with_scopes(&["update:users"]).await;
    let r = link(&s, &editor, &primary, "auth0", hex(&secondary)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let store = s.store.as_ref();
    let (identity, hash) = store
        .find_user_for_login(STAFF, STAFF_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let hash = hash.unwrap();
    let p = s.store.get_user(&primary).await.unwrap().unwrap();
    assert!(
        credentials_unchanged(store, STAFF, &identity, &hash, &p)
            .await
            .unwrap()
    );

    let admin = s.admin_token().await;
    let path = format!("api/v2/users/{}", enc(&primary));
    let r = s
        .api(Method::PATCH, &path, &admin, Some(json!({"blocked": true})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        !credentials_unchanged(store, STAFF, &identity, &hash, &p)
            .await
            .unwrap()
    );
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"blocked": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        credentials_unchanged(store, STAFF, &identity, &hash, &p)
            .await
            .unwrap()
    );

    let r = s
        .api(
            Method::DELETE,
            &unlink_path(&primary, "auth0", hex(&secondary)),
            &editor,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        !credentials_unchanged(store, STAFF, &identity, &hash, &p)
            .await
            .unwrap()
    );
    // Unlinked, the identity signs in as itself again.
    assert!(
        credentials_unchanged(store, STAFF, &identity, &hash, &identity)
            .await
            .unwrap()
    );
}
