"""Sign-up and password reset through auth0-python: Database.signup,
Database.change_password, then (after the test has followed the emailed link)
GetToken.login with the new password.

Usage: auth0_reset.py request|login. Environment: TESSERA_DOMAIN (host:port),
TESSERA_APP_ID, TESSERA_APP_SECRET, TESSERA_EMAIL, TESSERA_OLD_PASSWORD,
TESSERA_NEW_PASSWORD. The last line printed is "N passed, 0 failed".
"""

import os
import sys

from auth0.authentication import Database, GetToken
from auth0.authentication.exceptions import Auth0Error

domain = os.environ["TESSERA_DOMAIN"]
app_id = os.environ["TESSERA_APP_ID"]
email = os.environ["TESSERA_EMAIL"]
realm = "Username-Password-Authentication"
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


if sys.argv[1] == "request":
    db = Database(domain, app_id, protocol="http")
    # Sign-up (Auth0's Authentication API), then the same email again.
    user = db.signup(
        email=email,
        password=os.environ["TESSERA_OLD_PASSWORD"],
        connection=realm,
        given_name="Ada",
        family_name="Lovelace",
        user_metadata={"plan": "gold"},
    )
    check(user.get("email") == email and user.get("_id"), f"signup: {user!r}")
    check(user.get("email_verified") is False, f"signup: {user!r}")
    check(user.get("given_name") == "Ada", f"signup: {user!r}")
    try:
        db.signup(email=email, password=os.environ["TESSERA_OLD_PASSWORD"], connection=realm)
        check(False, "the same email signed up twice")
    except Auth0Error as e:
        check(e.error_code == "user_exists", f"twice: {e!r}")
    # Password reset by email.
    answer = db.change_password(email=email, connection=realm)
    check(answer == "We've just sent you an email to reset your password.", f"answer: {answer!r}")
    # An unknown email: the same answer.
    answer = db.change_password(email="nobody-" + email, connection=realm)
    check(answer == "We've just sent you an email to reset your password.", f"unknown: {answer!r}")
else:
    auth = GetToken(domain, app_id, client_secret=os.environ["TESSERA_APP_SECRET"], protocol="http")
    tokens = auth.login(email, os.environ["TESSERA_NEW_PASSWORD"], realm=realm, scope="openid")
    check(tokens["token_type"] == "Bearer" and tokens.get("id_token"), "the new password logs in")
    try:
        auth.login(email, os.environ["TESSERA_OLD_PASSWORD"], realm=realm, scope="openid")
        check(False, "the old password logged in")
    except Auth0Error as e:
        check(e.error_code == "invalid_grant", f"old password: {e!r}")

print(f"{checks} passed, 0 failed")
