import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from mdm.models import ApiClient as Client
from mdm.models import SourceSystem
from mdm.services.api_tokens import api_token_issue, api_token_revoke


def client_with_token(
    name: str, system: str | None, scopes: list[str], *, revoked: bool = False
) -> APIClient:
    client = Client.objects.create(
        name=name,
        source_system=SourceSystem.objects.get(code=system) if system else None,
        scopes=scopes,
    )
    issued = api_token_issue(client=client)
    if revoked:
        api_token_revoke(token=issued.token)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    api.token = issued.token
    api.secret = issued.secret
    return api


@pytest.fixture
def erp_api(db):
    return client_with_token("kingdee", "erp", ["read", "write"])


@pytest.fixture
def crm_api(db):
    return client_with_token("salesforce", "crm", ["read", "write"])


@pytest.fixture
def read_api(db):
    return client_with_token("bi-dashboard", None, ["read"])


@pytest.fixture
def pii_api(db):
    return client_with_token("billing", None, ["read", "pii"])


@pytest.fixture
def admin_api(db):
    return client_with_token("platform", None, ["admin"])


@pytest.fixture
def revoked_api(db):
    return client_with_token("old", None, ["admin"], revoked=True)


@pytest.fixture
def anonymous_api(db):
    return APIClient()


@pytest.fixture
def in_test_transaction():
    """For a test that calls the WSGI application itself, inside the test's
    transaction: like Django's test client, keep request start and end from
    closing the connection (on PostgreSQL that would end the transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
