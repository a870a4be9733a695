import pytest
from rest_framework.test import APIClient

from mdm.models import ApiClient as Client
from mdm.models import SourceSystem
from mdm.services.api_tokens import api_token_issue


def client_with_token(name: str, system: str | None, scopes: list[str]) -> APIClient:
    client = Client.objects.create(
        name=name,
        source_system=SourceSystem.objects.get(code=system) if system else None,
        scopes=scopes,
    )
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_issue(client=client).secret}"
    )
    return api


@pytest.fixture
def erp_api(db):
    return client_with_token("kingdee", "erp", ["read", "write"])


@pytest.fixture
def crm_api(db):
    return client_with_token("salesforce", "crm", ["read", "write"])
