//! `POST dbconnections/signup`: a new user of a database connection, created
//! by an application through Auth0's Authentication API (node-auth0's
//! `database.signUp`, auth0-python's `Database.signup`). The connection must be
//! a database connection enabled for the client, with sign-ups allowed; the
//! password meets the connection's policy (the check the hosted sign-up and the
//! Management API use). The answer is Auth0's: `_id` (the id after `auth0|`),
//! `email`, `email_verified` and the profile fields given.
//!
//! An email already registered is answered `user_exists` after the same work
//! as a success (the password is hashed first), so the answer's timing tells
//! nothing more than its body; the per-address rate limit bounds how many
//! addresses one client can probe (see docs/security.md).

use crate::audit::{RequestFacts, login_event};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tessera_core::log_event::LogType;
use tessera_core::manage::users::{
    self, CreateError, CreateUser, DATABASE_STRATEGY, NewDatabaseUser, check_signup_metadata,
};
use tessera_core::password::PasswordPolicy;
use tessera_core::store::StoreError;

use super::error::{AuthApiError, Failure, Shape};
use super::{Body, client_and_connection};
use crate::interactive::gate::{self, HashFailure};
use crate::state::AppState;

const SHAPE: Shape = Shape::Database;

/// The profile properties a sign-up may set, echoed in the answer when given.
const PROFILE: &[&str] = &["given_name", "family_name", "name", "nickname", "picture"];

fn invalid(description: impl Into<String>) -> AuthApiError {
    AuthApiError::new(SHAPE, Failure::SignupInvalid, description)
}

pub async fn signup(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AuthApiError> {
    let state = &state;
    let headers = &headers;
    let mut body = Body::read(SHAPE, headers, &bytes)?;
    // First: the password leaves the body before anything else reads it.
    let password = body.take_secret("password")?;
    let ((client, _), connection) = client_and_connection(
        state,
        SHAPE,
        body.text("client_id")?.as_deref(),
        body.text("connection")?.as_deref(),
        DATABASE_STRATEGY,
    )
    .await?;
    if connection.signup_disabled() {
        return Err(AuthApiError::new(
            SHAPE,
            Failure::SignupDisabled,
            "public signup is disabled",
        ));
    }
    let email = body
        .text("email")?
        .ok_or_else(|| invalid("Missing required property: email"))?;
    let password = password.ok_or_else(|| invalid("Missing required property: password"))?;
    // The tenant's log: a refused sign-up (`fs`) names the email, never the
    // password.
    let failed = |description: &str| {
        let mut event = login_event(
            state,
            LogType::FailedSignup,
            &facts,
            &client.client_id,
            &connection,
        );
        event.user_name = Some(email.chars().take(256).collect());
        event.description = description.to_owned();
        state.logs.record(event);
    };
    let policy = PasswordPolicy::from_options(&connection.options);
    if policy.check(&password).is_err() {
        failed("Password is too weak");
        return Err(AuthApiError::weak_password(SHAPE, &policy, &password));
    }
    let mut profile = Map::new();
    for name in PROFILE {
        if let Some(v) = body.text(name)? {
            profile.insert((*name).to_owned(), Value::String(v));
        }
    }
    let user_metadata = body.object("user_metadata")?;
    if let Some(m) = &user_metadata {
        check_signup_metadata(m).map_err(|e| invalid(e.to_string()))?;
    }
    let field = |name: &str| profile.get(name).and_then(Value::as_str).map(str::to_owned);
    let input = CreateUser {
        connection: Some(connection.name.clone()),
        email: Some(email.clone()),
        password: Some(password),
        name: field("name"),
        given_name: field("given_name"),
        family_name: field("family_name"),
        nickname: field("nickname"),
        picture: field("picture"),
        user_metadata: user_metadata.clone(),
        ..CreateUser::default()
    };
    let NewDatabaseUser {
        user,
        password: to_hash,
    } = match users::create(input, Some(&connection), state.clock.now()) {
        Ok(u) => u,
        Err(CreateError::Invalid(e)) => return Err(invalid(e.to_string())),
        // No username is passed on (see docs/authentication-api.md).
        Err(CreateError::Username(e)) => return Err(invalid(e.to_string())),
        Err(CreateError::Rng(e)) => return Err(AuthApiError::unavailable(SHAPE, &e)),
    };
    let hash = match gate::hash_password(state, to_hash).await {
        Ok(h) => h,
        Err(HashFailure::Busy(busy)) => {
            return Err(AuthApiError::new(
                SHAPE,
                Failure::Busy,
                "Too many sign-ups at once; try again shortly.",
            )
            .retry_after(busy.retry_after));
        }
        Err(e) => return Err(AuthApiError::unavailable(SHAPE, &e)),
    };
    match state.store.create_user(&user, Some(&hash)).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            failed("The user already exists.");
            return Err(AuthApiError::new(
                SHAPE,
                Failure::UserExists,
                "The user already exists.",
            ));
        }
        Err(e) => return Err(AuthApiError::unavailable(SHAPE, &e)),
    }
    tracing::info!(
        user_id = %user.user_id,
        connection = %connection.name,
        client_id = %client.client_id,
        "user signed up through the Authentication API"
    );
    let mut event = login_event(
        state,
        LogType::SuccessSignup,
        &facts,
        &client.client_id,
        &connection,
    );
    event.user_id = Some(user.user_id.clone());
    event.user_name = user.email.clone();
    state.logs.record(event);
    if crate::interactive::verify_email::wanted(&connection)
        && let Err(e) = crate::interactive::verify_email::send_verification(
            state,
            &user,
            Some(&client.client_id),
        )
        .await
    {
        // The sign-up stands; the user can ask for another email.
        tracing::error!(error = %e, user_id = %user.user_id, "verification email not sent");
    }
    let id = user
        .user_id
        .strip_prefix(&format!("{DATABASE_STRATEGY}|"))
        .unwrap_or(&user.user_id);
    let mut answer = json!({
        "_id": id,
        "email": user.email,
        "email_verified": user.email_verified,
    });
    if let Value::Object(map) = &mut answer {
        map.extend(profile);
        if let Some(m) = user_metadata {
            map.insert("user_metadata".into(), Value::Object(m));
        }
    }
    let mut res = Json(answer).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
