"""RELIABILITY W5: lockout after repeated wrong passwords, idle sessions
expire, secure cookies in production."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.browser import PASSWORD
from tests.mdm.api.conftest import client_with_token
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db


def log_in(client: Client, password: str, **headers):
    return client.post(
        reverse("login"), {"username": "alice", "password": password}, **headers
    )


def test_an_account_is_locked_after_the_failure_limit_whatever_the_address():
    make_steward()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # Each try from another (spoofed) forwarded address.
        response = log_in(
            Client(), "wrong-password", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}"
        )
        assert response.status_code in (200, 429)
    locked = log_in(Client(), PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.wsgi_request.session
    assert "15" in locked.content.decode()


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count():
    make_steward()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-password").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-password").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302


def test_sessions_expire_when_idle_and_every_request_renews_them():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


@pytest.mark.parametrize(
    "password",
    ["short1!", "1234567890123", "password1234", "qwertyuiop"],
)
def test_weak_passwords_are_refused(password):
    user = make_steward()
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_strong_password_is_accepted():
    validate_password("Huasheng-订单-2026-绿洲", make_steward())


def test_an_api_token_is_read_from_the_header_only_and_over_https_only(settings):
    api = client_with_token("kingdee", "erp", ["read"])
    assert api.get("/api/v1/token", secure=True).status_code == 200
    anonymous = Client()
    for name in ("token", "access_token", "api_key", "bearer"):
        response = anonymous.get(f"/api/v1/token?{name}={api.secret}", secure=True)
        assert response.status_code == 401
    settings.SECURE_SSL_REDIRECT = True  # as in production
    plain = Client(headers={"Authorization": f"Bearer {api.secret}"}).get(
        "/api/v1/token"
    )
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
