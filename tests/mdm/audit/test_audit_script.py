"""RELIABILITY W7: a script of ~50 mixed actions (web logins, steward
decisions, API writes with tokens, token management, imports, exports) leaves
exactly the expected audit rows: who, what, which object, from where, how it
ended, in UTC and in order, with no phone or ID number in them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from mdm.audit_context import AuditContextMiddleware
from mdm.models import AuditEvent, ImportJob, StewardDecision
from mdm.services.errors import ConflictError
from mdm.services.golden_records import golden_record_pin_clear, golden_record_pin_set
from mdm.services.imports import import_job_confirm, import_job_create, import_job_run
from mdm.services.split import golden_record_split, golden_record_split_undo
from mdm.services.steward_queue import (
    BulkItem,
    review_task_claim,
    review_task_merge,
    review_task_not_a_match,
    review_task_skip,
    review_tasks_bulk_approve,
)
from mdm.services.unmerge import golden_record_unmerge
from tests.conftest import pii_found
from tests.mdm.api.conftest import client_with_token
from tests.mdm.ui.helpers import (
    make_steward,
    make_task,
    make_viewer,
    versions_of,
)

pytestmark = pytest.mark.django_db

STEWARD_IP, VIEWER_IP, ERP_IP = "10.0.0.7", "10.0.0.9", "192.0.2.10"


def as_user(user, ip: str, action):
    """Run `action` as a request of `user` from `ip` would, through the
    audit middleware (the web views are thin wrappers of these services)."""
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    request.user = user
    box = []
    AuditContextMiddleware(lambda r: box.append(action()) or None)(request)
    return box[0] if box else None


def rows() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("id").values_list(
            "actor", "action", "object_type", "object_ref", "ip", "outcome"
        )
    )


def test_fifty_actions_leave_exactly_the_expected_rows(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    alice, viewer = make_steward("alice"), make_viewer("victor")
    tasks = [make_task() for _ in range(6)]
    expected: list[tuple] = []
    t0 = AuditEvent.objects.count()
    assert t0 == 0

    web = Client(REMOTE_ADDR=STEWARD_IP)
    login = reverse("login")
    # 1-3: a wrong password, a phone typed as user name, then the right one.
    web.post(login, {"username": "alice", "password": "wrong-password-1"})
    web.post(login, {"username": "13800138000", "password": "wrong-password-1"})
    web.post(login, {"username": "alice", "password": "a-long-test-password"})
    expected += [
        ("alice", "auth.login_failed", "", "", STEWARD_IP, "denied"),
        ("138****8000", "auth.login_failed", "", "", STEWARD_IP, "denied"),
        ("alice", "auth.login", "", "", STEWARD_IP, "ok"),
    ]
    # 4-9: the queue over the web.
    t = tasks[0]
    for name, data in [
        ("task_claim", {}),
        ("task_release", {}),
        ("task_skip", {"comment": "later"}),
        ("task_reopen", {}),
        ("task_defer", {"comment": "waiting for the ERP team"}),
        ("task_reopen", {}),
    ]:
        response = web.post(reverse(name, args=[t.pk]), data)
        assert response.status_code in (200, 302), name
        action = name.replace("task_", "task.")
        expected.append(("alice", action, "review_task", str(t.pk), STEWARD_IP, "ok"))
    # 10: a decision that is no longer possible (already open) fails.
    web.post(reverse("task_reopen", args=[t.pk]))
    expected.append(
        ("alice", "task.reopen", "review_task", str(t.pk), STEWARD_IP, "failed")
    )

    # 11-13: a viewer is refused at the door, and by the service itself.
    viewer_web = Client(REMOTE_ADDR=VIEWER_IP)
    viewer_web.force_login(viewer)  # a login without a request: no address
    assert viewer_web.post(reverse("task_skip", args=[t.pk])).status_code == 403
    path = reverse("task_skip", args=[t.pk])
    with pytest.raises(PermissionDenied):
        as_user(viewer, VIEWER_IP, lambda: review_task_skip(task=t, steward=viewer))
    expected += [
        ("victor", "auth.login", "", "", None, "ok"),
        ("victor", "access", "url", path, VIEWER_IP, "denied"),
        ("victor", "task.skip", "review_task", str(t.pk), VIEWER_IP, "denied"),
    ]

    # 14-15: merge, not a match.
    merge_task, nam_task = tasks[1], tasks[2]
    merged = as_user(
        alice,
        STEWARD_IP,
        lambda: review_task_merge(
            task=merge_task,
            steward=alice,
            reason="same",
            keep="left",
            overrides={},
            versions=versions_of(merge_task),
        ),
    )
    as_user(
        alice,
        STEWARD_IP,
        lambda: review_task_not_a_match(
            task=nam_task,
            steward=alice,
            reason="different",
            versions=versions_of(nam_task),
        ),
    )
    expected += [
        ("alice", "task.merge", "review_task", str(merge_task.pk), STEWARD_IP, "ok"),
        (
            "alice",
            "task.not_a_match",
            "review_task",
            str(nam_task.pk),
            STEWARD_IP,
            "ok",
        ),
    ]
    # 16: bulk approval of two tasks is one action.
    bulk = tasks[3:5]
    as_user(
        alice,
        STEWARD_IP,
        lambda: review_tasks_bulk_approve(
            items=[BulkItem(task_id=b.pk, versions=versions_of(b)) for b in bulk],
            min_score=0.5,
            steward=alice,
            reason="bulk",
        ),
    )
    expected.append(
        (
            "alice",
            "task.bulk_approve",
            "review_task",
            f"{bulk[0].pk},{bulk[1].pk}",
            STEWARD_IP,
            "ok",
        )
    )
    # 17-19: edit a value, clear it, and a stale edit that fails.
    golden = merged
    golden.refresh_from_db()
    gid = golden.golden_id
    as_user(
        alice,
        STEWARD_IP,
        lambda: golden_record_pin_set(
            golden=golden,
            attribute="industry",
            value="软件",
            steward=alice,
            expected_version=golden.version,
        ),
    )
    golden.refresh_from_db()
    as_user(
        alice,
        STEWARD_IP,
        lambda: golden_record_pin_clear(
            golden=golden,
            attribute="industry",
            steward=alice,
            expected_version=golden.version,
        ),
    )
    with pytest.raises(ConflictError):
        as_user(
            alice,
            STEWARD_IP,
            lambda: golden_record_pin_set(
                golden=golden,
                attribute="industry",
                value="x",
                steward=alice,
                expected_version=1,
            ),
        )
    expected += [
        ("alice", "golden.pin", "golden_record", gid, STEWARD_IP, "ok"),
        ("alice", "golden.unpin", "golden_record", gid, STEWARD_IP, "ok"),
        ("alice", "golden.pin", "golden_record", gid, STEWARD_IP, "failed"),
    ]
    # 20-22: split the merged record, undo the split, then unmerge.
    golden.refresh_from_db()
    members = sorted(x.source_record_id for x in golden.xrefs.all())
    split = as_user(
        alice,
        STEWARD_IP,
        lambda: golden_record_split(
            golden=golden,
            groups={members[0]: 0, members[1]: 1},
            steward=alice,
            reason="two companies",
            expected_version=golden.version,
        ),
    )
    golden.refresh_from_db()
    undo = as_user(
        alice,
        STEWARD_IP,
        lambda: golden_record_split_undo(
            decision=split,
            steward=alice,
            reason="one after all",
            expected_version=golden.version,
        ),
    )
    merge_decision = StewardDecision.objects.filter(kind="merge", details__survivor=gid)
    merge_decision = merge_decision.exclude(pk=undo.pk).order_by("pk").first()
    golden.refresh_from_db()
    as_user(
        alice,
        STEWARD_IP,
        lambda: golden_record_unmerge(
            decision=merge_decision,
            steward=alice,
            reason="wrong",
            expected_version=golden.version,
        ),
    )
    expected += [
        ("alice", "golden.split", "golden_record", gid, STEWARD_IP, "ok"),
        ("alice", "golden.split_undo", "decision", str(split.pk), STEWARD_IP, "ok"),
        (
            "alice",
            "golden.unmerge",
            "decision",
            str(merge_decision.pk),
            STEWARD_IP,
            "ok",
        ),
    ]

    # 23-33: API clients. Issuing the test tokens is recorded too.
    erp = client_with_token("kingdee", "erp", ["read", "write"])
    reader = client_with_token("bi", None, ["read"])
    platform = client_with_token("platform", None, ["admin"])
    expected += [
        ("system", "token.issue", "api_client", name, None, "ok")
        for name in ("kingdee", "bi", "platform")
    ]
    erp_actor = f"kingdee {erp.token.prefix}"
    url = reverse("api-record", args=["erp", "K-1"])
    payload = {
        "FNumber": "K-1",
        "FName": "杭州云帆网络科技有限公司",
        "FTel": "13912345678",
    }
    kw = {"format": "json", "REMOTE_ADDR": ERP_IP}
    assert erp.put(url, payload, **kw).status_code == 201
    assert erp.put(url, payload, **kw).status_code == 200  # unchanged, still a write
    assert erp.put(url, [1], **kw).status_code == 400  # refused before any service
    assert erp.delete(url, **kw).status_code == 200
    missing = reverse("api-record", args=["erp", "K-404"])
    assert erp.delete(missing, **kw).status_code == 404
    batch = reverse("api-record-batch", args=["erp"])
    body = {
        "records": [
            {"source_id": "K-2", "payload": {"FName": "宁波海达"}},
            {"source_id": "K-3", "payload": "not an object"},
        ]
    }
    assert erp.post(batch, body, **kw).status_code == 200
    assert reader.put(url, payload, **kw).status_code == 403
    forged = client_with_token("forged", None, ["write"])
    forged.credentials(HTTP_AUTHORIZATION="Bearer gr_not-a-real-token")
    assert forged.put(url, payload, **kw).status_code == 401
    expected += [
        (erp_actor, "record.upsert", "source_record", "erp:K-1", ERP_IP, "ok"),
        (erp_actor, "record.upsert", "source_record", "erp:K-1", ERP_IP, "ok"),
        (erp_actor, "record.delete", "source_record", "erp:K-1", ERP_IP, "ok"),
        (erp_actor, "record.delete", "source_record", "erp:K-404", ERP_IP, "failed"),
        (erp_actor, "record.batch", "source_system", "erp", ERP_IP, "ok"),
        (f"bi {reader.token.prefix}", "access", "url", url, ERP_IP, "denied"),
        ("system", "token.issue", "api_client", "forged", None, "ok"),
        ("", "access", "url", url, ERP_IP, "denied"),  # no valid token: anonymous
    ]
    # Token management over the API: rotate (one row, not rotate + issue),
    # and an admin revoking another token.
    assert erp.post(reverse("api-token-rotate"), {}, **kw).status_code == 200
    revoke = reverse("api-token-revoke", args=[reader.token.pk])
    assert platform.post(revoke, **kw).status_code == 200
    expected += [
        (erp_actor, "token.rotate", "api_token", erp.token.prefix, ERP_IP, "ok"),
        (
            f"platform {platform.token.prefix}",
            "token.revoke",
            "api_token",
            reader.token.prefix,
            ERP_IP,
            "ok",
        ),
    ]
    # Exports: API (CSV, xlsx, cross-reference) and the command.
    assert erp.get(reverse("api-export-golden"), **kw).status_code == 200
    expected.append((erp_actor, "export", "export", "golden_records.csv", ERP_IP, "ok"))
    golden_xlsx = reverse("api-export-golden") + "?as=xlsx"
    assert erp.get(golden_xlsx, **kw).status_code == 200
    assert erp.get(reverse("api-export-xref"), **kw).status_code == 200
    expected += [
        (erp_actor, "export", "export", "golden_records.xlsx", ERP_IP, "ok"),
        (erp_actor, "export", "export", "cross_reference.csv", ERP_IP, "ok"),
    ]
    call_command("export_xref", "--out", str(tmp_path / "xref.csv"))
    expected.append(
        ("command:export_xref", "export", "export", "cross_reference.csv", None, "ok")
    )

    # Imports: uploaded and confirmed by a steward, finished by the worker.
    content = "客户名称,电话\n温州瓯江贸易有限公司,0577-88886666\n".encode()
    job = as_user(
        alice,
        STEWARD_IP,
        lambda: import_job_create(
            system=tasks[0].left.source_system,
            content=content,
            filename="a.csv",
            user=alice,
        ),
    )
    as_user(alice, STEWARD_IP, lambda: import_job_confirm(job=job, mapping=job.mapping))
    import_job_run(job=ImportJob.objects.get(pk=job.pk))
    expected += [
        ("alice", "import.create", "source_system", "erp", STEWARD_IP, "ok"),
        ("alice", "import.confirm", "import_job", str(job.pk), STEWARD_IP, "ok"),
        ("system", "import.finish", "import_job", str(job.pk), None, "ok"),
    ]
    # Someone else's claim stands: bob's claim fails.
    bob = make_steward("bob")
    web.post(reverse("task_claim", args=[tasks[5].pk]))
    with pytest.raises(ConflictError):
        as_user(bob, "10.0.0.8", lambda: review_task_claim(task=tasks[5], steward=bob))
    expected += [
        ("alice", "task.claim", "review_task", str(tasks[5].pk), STEWARD_IP, "ok"),
        ("bob", "task.claim", "review_task", str(tasks[5].pk), "10.0.0.8", "failed"),
    ]
    # Logout, and a lockout after five wrong passwords.
    web.post(reverse("logout"))
    expected.append(("alice", "auth.logout", "", "", STEWARD_IP, "ok"))
    make_steward("carol")
    for _ in range(5):
        Client(REMOTE_ADDR="10.0.0.66").post(
            login, {"username": "carol", "password": "guess-guess-guess"}
        )
    # django-axes locks the account while handling the fifth failure, so the
    # lockout is written just before that failure.
    failed = ("carol", "auth.login_failed", "", "", "10.0.0.66", "denied")
    expected += [failed] * 4
    expected += [("carol", "auth.lockout", "", "", "10.0.0.66", "denied"), failed]

    got = rows()
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        assert a == b, (index, a, b)
    assert got == expected
    assert len(got) >= 50
    events = list(AuditEvent.objects.order_by("id"))
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    assert all(t.utcoffset() == dt.timedelta(0) for t in times)  # stored in UTC
    for event in events:
        text = " ".join([event.actor, event.object_ref, event.detail])
        assert not pii_found(text), event
    assert Path(tmp_path / "xref.csv").exists()
