"""RELIABILITY W2 and W4 for the web UI: every URL x method x role against an
explicit table, deny by default, and CSRF on every unsafe request.

The table lists each URL name with what GET and POST get from: anonymous,
a viewer, a steward, an admin, and the ERP's and CRM's API tokens (which
open no UI session). A URL the table does not list fails the test. The API
has its own table (tests/mdm/api/test_permission_matrix.py); the Django
admin is checked at its index.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mdm.models import StewardDecision, SyncConflict
from mdm.services.golden_records import golden_record_merge
from mdm.services.import_profiles import import_profile_create
from mdm.services.imports import import_job_create
from mdm.services.split import golden_record_split
from tests.builders import make_user
from tests.mdm.api.conftest import client_with_token
from tests.mdm.ui.delivery_builders import make_dead_delivery, make_file_target
from tests.mdm.ui.helpers import golden_of, make_steward, make_task, make_viewer

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "steward", "admin", "erp_client", "crm_client")
LOGIN = "login"  # redirected to the login page
OK = "ok"  # let through: any answer but 401/403/405 or the login redirect

PUBLIC = dict.fromkeys(ROLES, OK)
READER = dict(
    anonymous=LOGIN, viewer=OK, steward=OK, admin=OK, erp_client=LOGIN, crm_client=LOGIN
)
STEWARD = dict(
    anonymous=LOGIN,
    viewer=403,
    steward=OK,
    admin=OK,
    erp_client=LOGIN,
    crm_client=LOGIN,
)
# The wrong method on a page a role may read, or on an action it may take.
READER_WRONG_METHOD = dict(
    anonymous=LOGIN,
    viewer=405,
    steward=405,
    admin=405,
    erp_client=LOGIN,
    crm_client=LOGIN,
)
STEWARD_WRONG_METHOD = dict(
    anonymous=LOGIN,
    viewer=403,
    steward=405,
    admin=405,
    erp_client=LOGIN,
    crm_client=LOGIN,
)


def page(policy=READER):
    return {"GET": policy, "POST": READER_WRONG_METHOD}


def action():
    return {"GET": STEWARD_WRONG_METHOD, "POST": STEWARD}


def steward_page():
    return {"GET": STEWARD, "POST": STEWARD_WRONG_METHOD}


EXPECTED: dict[str, dict[str, dict[str, object]]] = {
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"GET": dict.fromkeys(ROLES, 405), "POST": dict.fromkeys(ROLES, LOGIN)},
    "set_language": {"GET": PUBLIC, "POST": PUBLIC},
    "healthz": {"GET": PUBLIC, "POST": dict.fromkeys(ROLES, 405)},
    "readyz": {"GET": PUBLIC, "POST": dict.fromkeys(ROLES, 405)},
    "metrics": {"GET": PUBLIC, "POST": dict.fromkeys(ROLES, 405)},
    "home": page(),
    "queue": page(),
    "task": page(),
    "task_preview": page(),
    "golden": page(),
    "source_record": page(),
    "search": page(),
    "dashboard": page(),
    "import_profiles": page(),
    "queue_bulk": {"GET": STEWARD, "POST": STEWARD},
    "golden_split": {"GET": STEWARD, "POST": STEWARD},
    "imports": {"GET": STEWARD, "POST": STEWARD},
    "import_detail": steward_page(),
    "import_progress": steward_page(),
    "import_errors": steward_page(),
    "deliveries": steward_page(),
    "sync_conflicts": page(),
    "sync_conflict": page(),
    # Authenticated by its Standard Webhooks signature, not by a session.
    "inbound_webhook": {"GET": dict.fromkeys(ROLES, 405), "POST": PUBLIC},
    **{
        name: action()
        for name in (
            "task_claim",
            "task_release",
            "task_assign",
            "task_merge",
            "task_not_a_match",
            "task_skip",
            "task_defer",
            "task_reopen",
            "golden_unmerge",
            "golden_split_undo",
            "golden_pin",
            "golden_unpin",
            "import_confirm",
            "import_sheet",
            "import_checked_run",
            "import_profile_delete",
            "delivery_replay",
            "sync_conflict_decide",
            "sync_conflict_recreate",
            "sync_conflict_unlink",
        )
    },
}

SKIPPED_PREFIXES = ("api/", "admin/")
# POSTs that carry their own signature instead of a session and CSRF token.
SIGNED = {"inbound_webhook"}


def ui_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"URL {route!r} has no name"
                names.add(pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_the_table_lists_every_ui_url():
    assert ui_url_names() == set(EXPECTED)


@pytest.fixture
def world():
    steward = make_steward()
    make_viewer()
    make_user("root", is_superuser=True, is_staff=True)
    task = make_task()
    golden = golden_of(task.left)
    merged = golden_record_merge(
        survivor=golden_of(make_task().left),
        absorbed=[golden_of(make_task().left)],
        steward=steward,
        reason="for the unmerge URL",
    )
    merge = StewardDecision.objects.get(details__survivor=merged.golden_id)
    splittable = golden_record_merge(
        survivor=golden_of(make_task().left),
        absorbed=[golden_of(make_task().left)],
        steward=steward,
        reason="for the split URL",
    )
    members = list(splittable.xrefs.values_list("source_record_id", flat=True))
    split = golden_record_split(
        golden=splittable,
        groups={pk: 0 if pk == members[0] else 1 for pk in members},
        steward=steward,
        reason="for the undo URL",
        expected_version=splittable.version,
    )
    job = import_job_create(
        system=task.left.source_system,
        content="客户名称,电话\n北京华盛科技有限公司,13800138000\n".encode(),
        filename="a.csv",
        user=steward,
    )
    profile = import_profile_create(
        system=task.left.source_system,
        name="matrix",
        mapping={"客户名称": "legal_name"},
        user=steward,
    )
    conflict = SyncConflict.objects.create(
        target=make_file_target("matrix-sync"),
        golden_id=golden.golden_id,
        kind=SyncConflict.Kind.CONFLICT,
        fields={"FName": {"base": "a", "ours": "b", "theirs": "c"}},
    )
    args = {
        "task": [task.pk],
        "task_preview": [task.pk],
        "golden": [golden.golden_id],
        "source_record": [task.left_id],
        "golden_split": [golden.golden_id],
        "golden_unmerge": [merged.golden_id, merge.pk],
        "golden_split_undo": [splittable.golden_id, split.pk],
        "golden_pin": [golden.golden_id],
        "golden_unpin": [golden.golden_id],
        "import_detail": [job.pk],
        "import_progress": [job.pk],
        "import_errors": [job.pk],
        "import_confirm": [job.pk],
        "import_sheet": [job.pk],
        "import_checked_run": [job.pk],
        "import_profile_delete": [profile.pk],
        "delivery_replay": [make_dead_delivery(make_file_target("matrix")).pk],
        "inbound_webhook": ["matrix-sync"],
        **{
            name: [conflict.pk]
            for name in EXPECTED
            if name.startswith("sync_conflict") and name != "sync_conflicts"
        },
        **{
            name: [task.pk]
            for name in EXPECTED
            if name.startswith("task_") and name != "task_preview"
        },
    }
    return args


def client_for(role: str, **options) -> Client:
    if role in ("erp_client", "crm_client"):
        system = role.split("_")[0]
        return client_with_token(role, system, ["read", "write"])
    client = Client(**options)
    username = {"viewer": "victor", "steward": "alice", "admin": "root"}.get(role)
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def outcome(response) -> object:
    if response.status_code in (401, 403, 405):
        return response.status_code
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return LOGIN
    return OK


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_table_says(world, role):
    client = client_for(role)
    wrong = []
    # Log out last: the client's session ends there.
    for name, methods in sorted(EXPECTED.items(), key=lambda kv: kv[0] == "logout"):
        url = reverse(name, args=world.get(name, []))
        for method, expected in methods.items():
            response = getattr(client, method.lower())(url)
            if outcome(response) != expected[role]:
                wrong.append((name, method, expected[role], response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))


def test_the_admin_site_is_for_admins_only(world):
    url = reverse("admin:index")
    for role in ROLES:
        response = client_for(role).get(url)
        if role == "admin":
            assert response.status_code == 200
        else:
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]


def test_every_unsafe_request_without_a_csrf_token_is_refused(world):
    """W4: a steward's session is not enough to POST without the token; the
    login form is protected too."""
    client = client_for("steward", enforce_csrf_checks=True)
    refused = {
        name: client.post(reverse(name, args=world.get(name, []))).status_code
        for name, methods in EXPECTED.items()
        if "POST" in methods and methods["POST"]["steward"] == OK and name not in SIGNED
    }
    assert set(refused.values()) == {403}, refused
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login")).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_no_ui_url_lets_another_method_through(world, role):
    """Deny by default: the table lists GET and POST; PUT, PATCH and DELETE
    are refused (405, 403 or the login page) on every URL for every role."""
    client = client_for(role)
    let_through = [
        (name, method, response.status_code)
        for name in sorted(EXPECTED, key=lambda name: name == "logout")
        for method in ("put", "patch", "delete")
        if outcome(
            response := getattr(client, method)(reverse(name, args=world.get(name, [])))
        )
        == OK
    ]
    assert let_through == [], "\n".join(map(str, let_through))
