"""Drives a running Tessera with Auth0's own Python SDK (auth0-python).

Environment: TESSERA_DOMAIN (host:port), TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET.
Every step asserts what came back; any failure exits non-zero with a traceback.
The last line printed is "N passed, 0 failed".
"""

import os
import sys
import uuid

import jwt
from auth0.authentication import GetToken
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier
from auth0.authentication.exceptions import Auth0Error
# ManagementClient always speaks https; its underlying generated client (Auth0)
# takes a base_url, which is how a plain-http test server is reached.
from auth0.management import Auth0

domain = os.environ["TESSERA_DOMAIN"]
client_id = os.environ["TESSERA_CLIENT_ID"]
client_secret = os.environ["TESSERA_CLIENT_SECRET"]
audience = f"http://{domain}/api/v2/"
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def attr(obj, name):
    """The SDK returns pydantic models; read a field whatever the model."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


# A Management API token through the authentication SDK (plain http for tests).
token = GetToken(domain, client_id, client_secret=client_secret, protocol="http").client_credentials(audience)
check(token["token_type"] == "Bearer", "token_type")
check(token["expires_in"] <= 86400, "expires_in")
mgmt = Auth0(base_url=f"http://{domain}/api/v2", token=token["access_token"])
tag = uuid.uuid4().hex[:8]

# Resource servers.
api_id = f"https://interop-{tag}.example/"
rs = mgmt.resource_servers.create(
    identifier=api_id, name=f"Interop {tag}", scopes=[{"value": "read:things", "description": "Read things"}]
)
check(attr(rs, "identifier") == api_id, "resource server identifier")
rs_id = attr(rs, "id")
listed = [attr(r, "identifier") for r in mgmt.resource_servers.list()]
check(api_id in listed, "resource server listed")
check(attr(mgmt.resource_servers.get(rs_id), "name") == f"Interop {tag}", "resource server get")
updated = mgmt.resource_servers.update(rs_id, name=f"Interop {tag} v2", token_lifetime=600)
check(attr(updated, "token_lifetime") == 600, "resource server update")

# Clients.
client = mgmt.clients.create(name=f"interop-m2m-{tag}", app_type="non_interactive")
new_id = attr(client, "client_id")
new_secret = attr(client, "client_secret")
check(new_id and new_secret and len(new_secret) >= 43, "client created with a secret")
check(any(attr(c, "client_id") == new_id for c in mgmt.clients.list()), "client listed")
check(attr(mgmt.clients.get(new_id), "name") == f"interop-m2m-{tag}", "client get")
check(attr(mgmt.clients.update(new_id, description="from the SDK"), "description") == "from the SDK", "client update")

# A client with the full property set Auth0's dashboard produces (issue 13),
# read back equal on every property sent.
def plain(v):
    """A response model (pydantic, aliases as on the wire) as plain data."""
    if hasattr(v, "dict") and not isinstance(v, dict):
        v = v.dict(by_alias=True, exclude_none=True)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


full = dict(
    name=f"interop-full-{tag}", description="every dashboard property", app_type="regular_web",
    logo_uri="https://cdn.example/logo.png",
    callbacks=["https://app.example/callback"], allowed_logout_urls=["https://app.example/"],
    web_origins=["https://app.example"], allowed_origins=["https://app.example"],
    client_aliases=["urn:interop-alias"], allowed_clients=[],
    grant_types=["authorization_code", "implicit", "refresh_token", "client_credentials"],
    token_endpoint_auth_method="client_secret_post", is_first_party=True, oidc_conformant=True,
    is_token_endpoint_ip_header_trusted=False,
    jwt_configuration={"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": False},
    sso=False, sso_disabled=False, cross_origin_authentication=True,
    cross_origin_loc="https://app.example/cross-origin", custom_login_page_on=True,
    client_metadata={"team": "payments", "tier": "gold"},
    native_social_login={"apple": {"enabled": False}, "facebook": {"enabled": False}, "google": {"enabled": True}},
    mobile={"ios": {"team_id": "ABCDE12345", "app_bundle_identifier": "com.example.app"}},
    initiate_login_uri="https://app.example/login",
    refresh_token={"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
                   "token_lifetime": 2592000, "infinite_token_lifetime": False,
                   "idle_token_lifetime": 1296000, "infinite_idle_token_lifetime": False},
    organization_usage="deny", organization_require_behavior="no_prompt",
    require_pushed_authorization_requests=False,
)
made = mgmt.clients.create(**full)
full_id = attr(made, "client_id")
for source in (made, mgmt.clients.get(full_id)):
    got = plain(source)
    for key, sent in full.items():
        check(got.get(key) == sent, f"client {key}: sent {sent!r}, read {got.get(key)!r}")
check(plain(made).get("cross_origin_auth") is True, "cross_origin_auth follows cross_origin_authentication")
check(plain(mgmt.clients.get(full_id)).get("global") is False, "global answered")
mgmt.clients.delete(full_id)

# A resource server with Auth0's properties, read back equal.
full_api = dict(identifier=f"https://full-{tag}.example/", name=f"Full {tag}",
                token_dialect="rfc9068_profile", enforce_policies=False,
                skip_consent_for_verifiable_first_party_clients=True, allow_offline_access=True,
                token_lifetime=7200, signing_alg="RS256",
                scopes=[{"value": "read:full", "description": "Read"}])
made_api = mgmt.resource_servers.create(**full_api)
for source in (made_api, mgmt.resource_servers.get(attr(made_api, "id"))):
    got = plain(source)
    for key, sent in full_api.items():
        check(got.get(key) == sent, f"resource server {key}: sent {sent!r}, read {got.get(key)!r}")
mgmt.resource_servers.delete(attr(made_api, "id"))

# Client grants: the new client may now get tokens for the new API.
grant = mgmt.client_grants.create(client_id=new_id, audience=api_id, scope=["read:things"])
grant_id = attr(grant, "id")
check(attr(grant, "scope") == ["read:things"], "client grant scope")
grants = list(mgmt.client_grants.list(client_id=new_id))
check([attr(g, "id") for g in grants] == [grant_id], "client grant listed")
m2m = GetToken(domain, new_id, client_secret=new_secret, protocol="http").client_credentials(api_id)
check(m2m["scope"] == "read:things", "m2m token for the new API")
updated_grant = mgmt.client_grants.update(grant_id, scope=[])
check(attr(updated_grant, "scope") == [], "client grant update")

# Users.
email = f"interop-{tag}@example.com"
user = mgmt.users.create(connection="Username-Password-Authentication", email=email, password="correct horse battery staple")
user_id = attr(user, "user_id")
check(user_id.startswith("auth0|"), "user id")
check(attr(user, "email") == email, "user email")
found = list(mgmt.users.list(q=f'email:"{email}"', search_engine="v3"))
check([attr(u, "user_id") for u in found] == [user_id], "user search by email")
check(attr(mgmt.users.get(user_id), "email") == email, "user get")
check(attr(mgmt.users.update(user_id, name="Interop User"), "name") == "Interop User", "user update")
by_email = mgmt.users.list_users_by_email(email=email)
check([attr(u, "user_id") for u in by_email] == [user_id], "users by email")

# The password-realm grant (issue 12): a native-style login of that user through
# GetToken.login, by an app allowed the grant, for an API that allows offline
# access: ID, access and refresh tokens, each verified.
issuer = f"http://{domain}/"
orders = f"https://orders-{tag}.example/"
mgmt.resource_servers.create(
    identifier=orders, name=f"Orders {tag}", allow_offline_access=True,
    scopes=[{"value": "read:orders", "description": "Read orders"}],
)
app = mgmt.clients.create(
    name=f"interop-ropg-{tag}", app_type="regular_web",
    grant_types=["http://auth0.com/oauth/grant-type/password-realm", "refresh_token"],
)
app_id, app_secret = attr(app, "client_id"), attr(app, "client_secret")
auth = GetToken(domain, app_id, client_secret=app_secret, protocol="http")
scope = "openid profile email offline_access read:orders"
tokens = auth.login(email, "correct horse battery staple", realm="Username-Password-Authentication",
                    audience=orders, scope=scope)
check(tokens["token_type"] == "Bearer" and tokens["scope"] == scope, "password-realm token response")
verifier = AsymmetricSignatureVerifier(f"{issuer}.well-known/jwks.json")
id_claims = TokenVerifier(signature_verifier=verifier, issuer=issuer, audience=app_id).verify(tokens["id_token"])
check(id_claims["sub"] == user_id and id_claims["email"] == email, "ID token verified, for the user")
signing_key = jwt.PyJWKClient(f"{issuer}.well-known/jwks.json").get_signing_key_from_jwt(tokens["access_token"])
at = jwt.decode(tokens["access_token"], signing_key.key, algorithms=["RS256"], audience=orders, issuer=issuer)
check(at["sub"] == user_id and at["azp"] == app_id and "read:orders" in at["scope"].split(), "access token verified")
check(jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt", "access token typ")
renewed = auth.refresh_token(tokens["refresh_token"])
check(renewed["access_token"] != tokens["access_token"] and renewed.get("refresh_token"), "refresh token works")
for password, name in [("not the password", "wrong password"), ("correct horse battery staple", "unknown user")]:
    who = email if name == "wrong password" else f"nobody-{tag}@example.com"
    try:
        auth.login(who, password, realm="Username-Password-Authentication", scope="openid")
        check(False, f"{name} logged in")
    except Auth0Error as e:
        check(e.status_code == 403 and e.error_code == "invalid_grant", f"{name}: {e!r}")
        check(e.message == "Wrong email or password.", f"{name} message: {e.message!r}")
mgmt.clients.delete(app_id)

# Deletes, then 404s through the SDK's error type.
mgmt.users.delete(user_id)
mgmt.client_grants.delete(grant_id)
mgmt.clients.delete(new_id)
mgmt.resource_servers.delete(rs_id)
for what, call in [
    ("user", lambda: mgmt.users.get(user_id)),
    ("client", lambda: mgmt.clients.get(new_id)),
    ("resource server", lambda: mgmt.resource_servers.get(rs_id)),
]:
    try:
        call()
        check(False, f"deleted {what} still readable")
    except Exception as e:  # the SDK raises its NotFoundError (an ApiError)
        check(getattr(e, "status_code", None) == 404, f"deleted {what}: {e!r}")

print(f"{checks} passed, 0 failed")
sys.exit(0)
