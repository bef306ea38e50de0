//! The whole authorization code flow, driven as a browser would (a cookie jar,
//! following redirects and forms by hand), with an independent relying-party
//! library — the `openidconnect` crate — doing discovery, the authorization
//! URL (PKCE S256, nonce), the code exchange and the ID token validation
//! (signature against the JWKS, `iss`, `aud`, `nonce`, `exp`, `at_hash`), for
//! an RS256 and an ES256 tenant.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, TokenResponse,
};
use reqwest::Method;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tessera_core::keys::SigningAlg;
use url::Url;

use crate::common::*;

const CALLBACK: &str = "https://rp.example.com/callback";
const API: &str = "https://things.example.com/";
const PASSWORD: &str = "Correct-Horse-Battery-Staple-42";

/// The HTTP client openidconnect uses: no redirects (the library's advice).
fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The "browser": keeps cookies, follows nothing by itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A JWT's header and payload, unverified.
fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    (b64_json(parts[0]), b64_json(parts[1]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attributes of every `<tag ...>` in `html` (a small tolerant scanner:
/// double-, single- or un-quoted values and bare attributes).
fn tags(html: &str, tag: &str) -> Vec<BTreeMap<String, String>> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let start = from + i + open.len();
        from = start;
        let next = html[start..].chars().next();
        if !next.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let end = start + html[start..].find('>').unwrap();
        let body = &html[start..end];
        let mut attrs = BTreeMap::new();
        let b = body.as_bytes();
        let mut k = 0;
        while k < b.len() {
            while k < b.len() && (b[k].is_ascii_whitespace() || b[k] == b'/') {
                k += 1;
            }
            let name_start = k;
            while k < b.len() && !b[k].is_ascii_whitespace() && b[k] != b'=' && b[k] != b'/' {
                k += 1;
            }
            let name = body[name_start..k].to_ascii_lowercase();
            if name.is_empty() {
                break;
            }
            let mut value = String::new();
            if k < b.len() && b[k] == b'=' {
                k += 1;
                if k < b.len() && (b[k] == b'"' || b[k] == b'\'') {
                    let q = b[k];
                    k += 1;
                    let vs = k;
                    while k < b.len() && b[k] != q {
                        k += 1;
                    }
                    value = unescape(&body[vs..k]);
                    k += 1;
                } else {
                    let vs = k;
                    while k < b.len() && !b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    value = unescape(&body[vs..k]);
                }
            }
            attrs.insert(name, value);
        }
        out.push(attrs);
        from = end;
    }
    out
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` line for `name`, which must be HttpOnly and SameSite=Lax.
fn assert_cookie(lines: &[String], name: &str) {
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set: {lines:?}"));
    let lower = line.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "{line}");
    assert!(lower.contains("samesite=lax"), "{line}");
}

/// What a user, an application and an API look like in the tenant.
struct Tenant {
    user: Value,
    email: String,
}

async fn provision(s: &TestServer, tag: &str) -> Tenant {
    let admin = s.admin_token().await;
    let email = format!("ada.{tag}@example.com");
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": PASSWORD,
                "given_name": "Ada",
                "family_name": "Lovelace",
                "name": "Ada Lovelace",
                "picture": "https://example.com/ada.png",
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["user_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("auth0|"), "{r:?}");
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({
                "name": "Things",
                "identifier": API,
                "scopes": [
                    { "value": "read:things", "description": "Read things" },
                    { "value": "write:things", "description": "Write things" },
                ],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    // The user as the Management API shows it: the source of the claims.
    let user = s
        .api(Method::GET, &format!("api/v2/users/{id}"), &admin, None)
        .await;
    assert_eq!(user.status, 200, "{user:?}");
    Tenant {
        user: user.body,
        email,
    }
}

/// An application registered through the Management API: (client_id, secret).
async fn application(s: &TestServer, app_type: &str) -> (String, Option<String>) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/clients",
            &admin,
            Some(json!({
                "name": format!("RP {app_type}"),
                "app_type": app_type,
                "callbacks": [CALLBACK],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["client_id"].as_str().unwrap().to_owned();
    let secret = r.body["client_secret"].as_str().map(str::to_owned);
    match app_type {
        "spa" => {
            assert_eq!(r.body["token_endpoint_auth_method"], "none", "{r:?}");
            assert!(secret.is_none(), "a public client has no secret: {r:?}");
        }
        _ => assert!(
            secret.is_some(),
            "a confidential client has a secret: {r:?}"
        ),
    }
    (id, secret)
}

/// The browser part: from the authorization URL to the code at the callback.
/// Returns the callback URL's query parameters.
async fn log_in(s: &TestServer, auth_url: &Url, email: &str) -> BTreeMap<String, String> {
    let browser = browser();
    // GET /authorize → 302 to the hosted login page, with the transaction cookie.
    let res = browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 302, "GET {auth_url}: {:?}", res.text().await);
    let pending = crate::hosted::state_of(res.headers()[LOCATION].to_str().unwrap());
    assert_cookie(&set_cookies(&res), &crate::hosted::tx_cookie_name(&pending));
    let login = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let login_url = Url::parse(&login)
        .or_else(|_| Url::parse(&s.base).unwrap().join(&login))
        .unwrap();
    assert!(
        login_url
            .as_str()
            .starts_with(&format!("{}u/login?state=", s.base)),
        "{login_url}"
    );

    // The login page: a plain form.
    let res = browser.get(login_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {login_url}");
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = res.text().await.unwrap();
    let forms = tags(&html, "form");
    assert_eq!(forms.len(), 1, "one form on the login page: {html}");
    assert_eq!(
        forms[0].get("method").map(|m| m.to_ascii_lowercase()),
        Some("post".into()),
        "{html}"
    );
    let action = match forms[0].get("action") {
        Some(a) if !a.is_empty() => login_url.join(a).unwrap(),
        _ => login_url.clone(),
    };
    let inputs = tags(&html, "input");
    let input = |name: &str| {
        inputs
            .iter()
            .find(|i| i.get("name").map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no input named {name}: {html}"))
            .clone()
    };
    let email_input = input("email");
    assert_eq!(email_input["id"], "email", "{html}");
    assert_eq!(email_input["type"], "email", "{html}");
    assert_eq!(email_input["autocomplete"], "username", "{html}");
    let password_input = input("password");
    assert_eq!(password_input["id"], "password", "{html}");
    assert_eq!(password_input["type"], "password", "{html}");
    assert_eq!(password_input["autocomplete"], "current-password", "{html}");
    let labels = tags(&html, "label");
    for id in ["email", "password"] {
        assert!(
            labels
                .iter()
                .any(|l| l.get("for").map(String::as_str) == Some(id)),
            "no label for #{id}: {html}"
        );
    }
    assert!(html.contains("Email address") && html.contains("Password"));
    let hidden_state = input("state");
    let csrf = input("csrf");
    assert_eq!(hidden_state["type"], "hidden");
    assert_eq!(csrf["type"], "hidden");
    assert!(!csrf["value"].is_empty(), "an empty CSRF token: {html}");
    let buttons = tags(&html, "button");
    assert!(
        buttons
            .iter()
            .any(|b| b.get("type").map(String::as_str) == Some("submit")),
        "{html}"
    );
    assert!(html.contains("Continue"), "{html}");

    // Submit it.
    let res = browser
        .post(action.as_str())
        .form(&[
            ("state", hidden_state["value"].as_str()),
            ("csrf", csrf["value"].as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let cookies = set_cookies(&res);
    let location = res
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        status,
        303,
        "POST {action}: {location:?} {:?}",
        res.text().await
    );
    assert_cookie(&cookies, "tessera_session");
    let callback = Url::parse(&location.unwrap()).unwrap();
    assert!(
        callback.as_str().starts_with(&format!("{CALLBACK}?")),
        "the login answers with the callback: {callback}"
    );
    let mut params = BTreeMap::new();
    for (k, v) in callback.query_pairs() {
        assert!(
            params.insert(k.to_string(), v.to_string()).is_none(),
            "{k} twice in {callback}"
        );
    }
    params
}

/// The JWKS, for an independent check of the access token's signature.
async fn jwks(s: &TestServer) -> JwkSet {
    rp_http()
        .get(s.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split(' ').map(str::to_owned).collect()
}

/// One login through the hosted page and one code exchange, checked end to end.
async fn flow(s: &TestServer, alg: SigningAlg, t: &Tenant, app_type: &str, with_api: bool) {
    let started = now();
    let (client_id, secret) = application(s, app_type).await;
    let http = rp_http();

    // Discovery (and the JWKS) with the library.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), &http)
            .await
            .unwrap_or_else(|e| panic!("openidconnect discovery of {}: {e:?}", s.base));
    assert_eq!(metadata.issuer().as_str(), s.base);
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    // The authorization URL: PKCE S256, a nonce, profile and email; for the API
    // one scope it defines and one it does not.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge);
    if with_api {
        request = request
            .add_scope(Scope::new("read:things".into()))
            .add_scope(Scope::new("delete:unknown".into()))
            .add_extra_param("audience", API);
    }
    let (auth_url, csrf_state, nonce) = request.url();
    let q: BTreeMap<String, String> = auth_url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        auth_url
            .as_str()
            .starts_with(&format!("{}authorize?", s.base))
    );

    // The browser part.
    let callback = log_in(s, &auth_url, &t.email).await;
    assert_eq!(
        callback.get("state").map(String::as_str),
        Some(csrf_state.secret().as_str()),
        "{callback:?}"
    );
    assert_eq!(
        callback.get("iss").map(String::as_str),
        Some(s.base.as_str()),
        "RFC 9207 iss: {callback:?}"
    );
    let code = callback
        .get("code")
        .unwrap_or_else(|| panic!("no code: {callback:?}"));

    // The code exchange, with the library (Basic auth for the confidential client).
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("openidconnect code exchange: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .unwrap_or_else(|e| panic!("openidconnect refused the ID token: {e:?}"));
    let signing_alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&id_verifier).unwrap();
    let expected_hash =
        AccessTokenHash::from_token(tokens.access_token(), signing_alg, key).unwrap();
    assert_eq!(
        claims.access_token_hash(),
        Some(&expected_hash),
        "at_hash binds the access token"
    );

    // The token response.
    let mut want_scope = scope_set("openid profile email");
    if with_api {
        want_scope.insert("read:things".into());
    }
    let granted: BTreeSet<String> = tokens
        .scopes()
        .expect("the response names the scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(granted, want_scope, "granted scope");
    assert_eq!(tokens.token_type().as_ref().to_ascii_lowercase(), "bearer");
    let expires_in = tokens.expires_in().expect("expires_in").as_secs() as i64;

    // The ID token, claim by claim, through the library's typed view.
    let user = &t.user;
    let user_id = user["user_id"].as_str().unwrap();
    assert_eq!(claims.issuer().as_str(), s.base);
    assert_eq!(claims.subject().as_str(), user_id);
    let auds: Vec<&str> = claims.audiences().iter().map(|a| a.as_str()).collect();
    assert_eq!(auds, vec![client_id.as_str()], "aud = client_id only");
    let iat = claims.issue_time().timestamp();
    let exp = claims.expiration().timestamp();
    assert!(iat >= started - 5 && iat <= now() + 5, "iat {iat}");
    assert_eq!(exp - iat, 36000, "default ID token lifetime");
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    assert!(
        auth_time >= started - 5 && auth_time <= iat,
        "auth_time {auth_time}, iat {iat}"
    );
    assert_eq!(
        claims.nonce().map(|n| n.secret().as_str()),
        Some(nonce.secret().as_str())
    );
    let one = |c: Option<String>| c.unwrap_or_else(|| panic!("a profile claim is missing"));
    assert_eq!(
        one(claims
            .name()
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())),
        "Ada Lovelace"
    );
    assert_eq!(
        one(claims
            .given_name()
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())),
        "Ada"
    );
    assert_eq!(
        one(claims
            .family_name()
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())),
        "Lovelace"
    );
    let local = t.email.split('@').next().unwrap();
    assert_eq!(
        one(claims
            .nickname()
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())),
        local,
        "Auth0's default nickname is the email's local part"
    );
    assert_eq!(
        one(claims
            .picture()
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())),
        "https://example.com/ada.png"
    );
    let updated_at = claims.updated_at().expect("updated_at").timestamp();
    assert!(
        updated_at >= started - 5 && updated_at <= now() + 5,
        "updated_at {updated_at}"
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(t.email.as_str()));
    assert_eq!(
        claims.email_verified(),
        Some(user["email_verified"].as_bool().unwrap())
    );

    // ... and raw: the header, `sid`, and nothing unexpected.
    let raw_id = id_token.to_string();
    let (header, raw) = jwt_parts(&raw_id);
    assert_eq!(header["typ"], "JWT", "{header}");
    assert_eq!(header["alg"], alg.as_str(), "{header}");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let sid = raw["sid"].as_str().expect("sid");
    assert!(sid.len() >= 16, "sid {sid}");
    assert_eq!(raw["updated_at"].as_i64(), Some(updated_at), "NumericDate");
    let keys: BTreeSet<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "sid",
        "nonce",
        "at_hash",
        "name",
        "given_name",
        "family_name",
        "nickname",
        "picture",
        "updated_at",
        "email",
        "email_verified",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, want, "the ID token's claims: {raw}");

    // The access token.
    let access = tokens.access_token().secret().clone();
    if with_api {
        let (header, _) = jwt_parts(&access);
        assert_eq!(header["typ"], "at+jwt", "RFC 9068: {header}");
        assert_eq!(header["alg"], alg.as_str(), "{header}");
        let kid = header["kid"].as_str().unwrap();
        // Verified independently of the server's signer (jsonwebtoken, RustCrypto).
        let set = jwks(s).await;
        let jwk = set.find(kid).expect("the access token's kid is published");
        let jose_alg = match alg {
            SigningAlg::ES256 => Algorithm::ES256,
            _ => Algorithm::RS256,
        };
        let userinfo = format!("{}userinfo", s.base);
        let mut validation = Validation::new(jose_alg);
        validation.set_issuer(&[s.base.as_str()]);
        validation.set_audience(&[API]);
        validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
        let at = jsonwebtoken::decode::<Value>(
            &access,
            &DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .unwrap_or_else(|e| panic!("the access token does not verify: {e}"))
        .claims;
        assert_eq!(at["iss"], s.base);
        assert_eq!(at["sub"], user_id);
        assert_eq!(at["aud"], json!([API, userinfo]), "{at}");
        assert_eq!(at["azp"], client_id.as_str());
        assert_eq!(at["client_id"], client_id.as_str());
        assert_eq!(scope_set(at["scope"].as_str().unwrap()), want_scope, "{at}");
        let (at_iat, at_exp) = (at["iat"].as_i64().unwrap(), at["exp"].as_i64().unwrap());
        assert!(at_iat >= started - 5 && at_iat <= now() + 5);
        assert_eq!(at_exp - at_iat, 86400, "the API's default lifetime");
        assert_eq!(expires_in, 86400, "expires_in follows the API");
        assert!(at["jti"].as_str().is_some_and(|j| j.len() >= 16), "{at}");
        let keys: BTreeSet<&str> = at.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "iss",
                "sub",
                "aud",
                "azp",
                "client_id",
                "scope",
                "exp",
                "iat",
                "jti"
            ]
            .into_iter()
            .collect(),
            "the access token's claims: {at}"
        );
    } else {
        assert_eq!(
            access.split('.').count(),
            1,
            "without an API the access token is opaque: {access}"
        );
        assert!(
            URL_SAFE_NO_PAD
                .decode(&access)
                .map(|b| b.len())
                .unwrap_or(access.len())
                >= 32,
            "at least 256 random bits: {access}"
        );
        assert!(expires_in > 0);
    }

    // UserInfo, with the library (it checks that `sub` is the ID token's).
    let info: CoreUserInfoClaims = rp
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap_or_else(|e| panic!("no userinfo_endpoint in discovery: {e:?}"))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("openidconnect userinfo request: {e:?}"));
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(info.email().map(|e| e.as_str()), Some(t.email.as_str()));
    assert_eq!(
        info.name().and_then(|c| c.get(None)).map(|v| v.to_string()),
        Some("Ada Lovelace".into())
    );

    // The code is single-use: replayed (with the right verifier) it gets
    // invalid_grant, and what it gave is revoked (RFC 6749 §4.1.2).
    let replay = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    match replay {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().to_string(), "invalid_grant", "{e:?}")
        }
        other => panic!("a replayed code: {other:?}"),
    }
    let after: Result<CoreUserInfoClaims, _> = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        after.is_err(),
        "the access token from a replayed code still works at userinfo"
    );
}

async fn tenant(alg: SigningAlg, tag: &str) {
    let s = start_with(alg).await;
    let t = provision(&s, tag).await;
    // A public SPA asking for an API: a JWT access token.
    flow(&s, alg, &t, "spa", true).await;
    // A confidential web application without an API: an opaque access token.
    flow(&s, alg, &t, "regular_web", false).await;
    // A confidential web application asking for the API.
    flow(&s, alg, &t, "regular_web", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_rp_logs_in_on_an_rs256_tenant() {
    tenant(SigningAlg::RS256, "rs256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_rp_logs_in_on_an_es256_tenant() {
    tenant(SigningAlg::ES256, "es256").await;
}

#[test]
fn the_tag_scanner_reads_attributes() {
    let html = r#"<form method="post" action=''><label for="email">Email address</label>
<input id=email name="email" type="email" autocomplete="username" required>
<input type="hidden" name="csrf" value="a&amp;b"/><inputs x="y"></form>"#;
    let inputs = tags(html, "input");
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["id"], "email");
    assert_eq!(inputs[0]["required"], "");
    assert_eq!(inputs[1]["value"], "a&b");
    assert_eq!(tags(html, "form")[0]["action"], "");
    assert_eq!(tags(html, "label")[0]["for"], "email");
}
