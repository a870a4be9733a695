"""RELIABILITY W5: lockout after repeated wrong passwords, idle sessions
expire, secure cookies in production."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.browser import PASSWORD
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
