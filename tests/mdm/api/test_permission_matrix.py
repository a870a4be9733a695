"""Every API endpoint x method x role against an explicit table, deny by
default: an endpoint (or method) the table does not list fails the test.

Roles are API tokens (read, ERP and CRM writers, admin, revoked) and web
sessions of the UI's roles: the API is for tokens, so a viewer's or a
steward's session gets 403; an admin's session may read (the browsable
schema's "try it"), and any session's unsafe request without a CSRF token
is refused."""

import pytest
from django.urls import URLPattern, reverse

from mdm.api import urls as api_urls
from mdm.models import SourceRecord
from tests.builders import make_golden, make_user
from tests.mdm.api.conftest import client_with_token
from tests.mdm.ui.helpers import make_steward, make_viewer

pytestmark = pytest.mark.django_db

TOKENS = ("anonymous", "read", "write_erp", "write_crm", "admin", "revoked")
SESSIONS = ("viewer_session", "steward_session", "admin_session")
ROLES = TOKENS + SESSIONS
OK = "ok"  # anything but 401/403 (200, 201, 404 for a missing record...)


def policy(*, admin_session=403, **tokens):
    return dict(
        tokens, viewer_session=403, steward_session=403, admin_session=admin_session
    )


READ = policy(
    anonymous=401, read=OK, write_erp=OK, write_crm=OK, admin=OK, revoked=401,
    admin_session=OK,
)  # fmt: skip
READ_POST = {**READ, "admin_session": 403}  # a session's POST needs a CSRF token
WRITE_ERP = policy(
    anonymous=401, read=403, write_erp=OK, write_crm=403, admin=OK, revoked=401
)
ANY_TOKEN = policy(
    anonymous=401, read=OK, write_erp=OK, write_crm=OK, admin=OK, revoked=401
)
ADMIN = policy(
    anonymous=401, read=403, write_erp=403, write_crm=403, admin=OK, revoked=401
)
PUBLIC = dict.fromkeys(ROLES, OK)

EXPECTED = {
    ("api-export-golden", "GET"): READ,
    ("api-export-xref", "GET"): READ,
    ("api-record-batch", "POST"): WRITE_ERP,
    ("api-record", "PUT"): WRITE_ERP,
    ("api-record", "DELETE"): WRITE_ERP,
    ("api-golden-lookup", "POST"): READ_POST,
    ("api-golden-search", "GET"): READ,
    ("api-golden-match", "POST"): READ_POST,
    ("api-golden-changes", "GET"): READ,
    ("api-golden-by-source", "GET"): READ,
    ("api-golden-by-uscc", "GET"): READ,
    ("api-golden", "GET"): READ,
    ("api-golden-members", "GET"): READ,
    ("api-golden-history", "GET"): READ,
    ("api-token", "GET"): ANY_TOKEN,
    ("api-token-rotate", "POST"): ANY_TOKEN,
    ("api-tokens", "GET"): ADMIN,
    ("api-token-revoke", "POST"): ADMIN,
    ("api-schema", "GET"): PUBLIC,
    ("api-docs", "GET"): PUBLIC,
}

METHODS = ("get", "post", "put", "patch", "delete")


def api_endpoints() -> list[tuple[str, str]]:
    found = []
    for pattern in api_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or not pattern.name:
            continue  # the JSON 404 catch-all
        view = pattern.callback.view_class
        found += [(pattern.name, m.upper()) for m in METHODS if hasattr(view, m)]
    return found


def test_the_table_lists_every_endpoint_and_method():
    assert sorted(api_endpoints()) == sorted(EXPECTED)


@pytest.fixture
def world(db):
    golden = make_golden(FTaxRegisterCode="91110108MA01KPGK0L")
    record = SourceRecord.objects.get(xref__golden=golden)
    victim = client_with_token("victim", None, ["read"])
    clients = {
        role: client_with_token(f"role-{role}", system, scopes, revoked=revoked)
        for role, system, scopes, revoked in [
            ("read", None, ["read"], False),
            ("write_erp", "erp", ["read", "write"], False),
            ("write_crm", "crm", ["read", "write"], False),
            ("admin", None, ["admin"], False),
            ("revoked", None, ["admin"], True),
        ]
    }
    from rest_framework.test import APIClient

    clients["anonymous"] = APIClient()
    users = {
        "viewer_session": make_viewer(),
        "steward_session": make_steward(),
        "admin_session": make_user("root", is_superuser=True, is_staff=True),
    }
    for role, user in users.items():
        clients[role] = APIClient(enforce_csrf_checks=True)
        clients[role].force_login(user)
    return {"golden": golden, "record": record, "victim": victim, "clients": clients}


def request_for(name: str, method: str, world) -> tuple[str, dict, dict]:
    golden_id = world["golden"].golden_id
    kwargs = {
        "api-record-batch": {"system": "erp"},
        "api-record": {"system": "erp", "source_id": "MATRIX-1"},
        "api-golden-by-source": {
            "system": "erp",
            "source_id": world["record"].source_id,
        },
        "api-golden-by-uscc": {"uscc": "91110108MA01KPGK0L"},
        "api-golden": {"golden_id": golden_id},
        "api-golden-members": {"golden_id": golden_id},
        "api-golden-history": {"golden_id": golden_id},
        "api-token-revoke": {"pk": world["victim"].token.pk},
    }.get(name, {})
    query = {"api-golden-search": {"name": "华盛"}}.get(name, {})
    body = {
        "api-record-batch": {
            "records": [{"source_id": "M-2", "payload": {"FName": "某某公司"}}]
        },
        "api-record": {"FName": "某某有限公司"},
        "api-golden-lookup": {"keys": [{"golden_id": golden_id}]},
        "api-golden-match": {"legal_name": "北京华盛科技有限公司"},
        "api-token-rotate": {"grace_hours": 1},
    }.get(name, {})
    url = reverse(name, kwargs=kwargs)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url, body


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(world, role):
    client = world["clients"][role]
    failures = []
    for name, method in sorted(EXPECTED):
        url, body = request_for(name, method, world)
        if method == "GET":
            response = client.get(url)
        else:
            response = getattr(client, method.lower())(url, body, format="json")
        expected = EXPECTED[(name, method)][role]
        got = response.status_code
        if expected == OK:
            ok = got not in (401, 403) and got < 500
        else:
            ok = got == expected
        if not ok:
            failures.append(f"{method} {name}: expected {expected}, got {got}")
        if got in (401, 403):
            assert response.json()["error"], (name, method)
    assert failures == []


def test_a_client_cannot_write_another_systems_records(world):
    crm, erp = world["clients"]["write_crm"], world["clients"]["write_erp"]
    source_id = world["record"].source_id
    for client, system in ((crm, "erp"), (erp, "crm")):
        put = client.put(
            f"/api/v1/systems/{system}/records/{source_id}",
            {"FName": "x"},
            format="json",
        )
        delete = client.delete(f"/api/v1/systems/{system}/records/{source_id}")
        batch = client.post(
            f"/api/v1/systems/{system}/records/batch",
            {"records": [{"source_id": source_id, "payload": {}}]},
            format="json",
        )
        assert [put.status_code, delete.status_code, batch.status_code] == [403] * 3
    assert SourceRecord.objects.get(pk=world["record"].pk).is_active


def test_a_method_an_endpoint_lacks_is_a_405(world):
    admin = world["clients"]["admin"]
    response = admin.delete(f"/api/v1/golden-records/{world['golden'].golden_id}")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


def test_an_unknown_api_url_is_a_json_404(world):
    response = world["clients"]["read"].get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_an_api_url_with_a_newline_is_a_json_404_too(world):
    response = world["clients"]["read"].get(
        "/api/v1/golden-records/by-source/%C2%A5/%0Ax"
    )
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
