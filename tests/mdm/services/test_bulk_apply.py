"""The bulk writers batch matching applies its result with write what one
call per golden record or per review task writes, row for row."""

import json

import pytest
from django.db import connection, transaction

from mdm.models import (
    CrossReference,
    Delivery,
    DeliveryTarget,
    GoldenRecord,
    OutboxEvent,
    ReviewTask,
    SourceRecord,
    SourceSystem,
)
from mdm.services.golden_records import (
    SNAPSHOT_FIELDS,
    golden_record_create,
    golden_records_create_many,
)
from mdm.services.review_queue import review_task_open, review_tasks_open_many
from mdm.services.source_records import source_record_upsert_many

pytestmark = pytest.mark.django_db

METHODS = (CrossReference.Method.NEW, CrossReference.Method.AUTO_MATCH)


class _Undo(Exception):
    pass


def unlinked_records() -> list[SourceRecord]:
    """Source records as an import leaves them: stored, in no golden record."""
    erp = SourceSystem.objects.get(code="erp")
    crm = SourceSystem.objects.get(code="crm")
    source_record_upsert_many(
        system=erp,
        items=[
            (f"E-{n}", {"FNumber": f"E-{n}", "FName": name, "FTel": phone})
            for n, (name, phone) in enumerate(
                [
                    ("北京华盛科技有限公司", "13800138000"),
                    ("华盛科技", "010-62345678"),
                    ("上海东方贸易有限公司", "13900139000"),
                    ("深圳南山电子有限公司", ""),
                ]
            )
        ],
    )
    source_record_upsert_many(
        system=crm,
        items=[
            ("0015g00000AbCdE", {"Id": "0015g00000AbCdE", "Name": "华盛科技(北京)"}),
            ("0015g00000AbCdF", {"Id": "0015g00000AbCdF", "Name": "Dongfang Trading"}),
        ],
    )
    return list(SourceRecord.objects.select_related("source_system").order_by("pk"))


def written(goldens: list[GoldenRecord]) -> list:
    """What was written for each golden record, its golden ID masked (the
    allocation sequence moves on after a rollback on PostgreSQL)."""
    names = {g.golden_id: f"G{i}" for i, g in enumerate(goldens)}
    out = []
    for golden in goldens:
        golden = GoldenRecord.objects.get(pk=golden.pk)
        history = golden.history.order_by("history_id")
        links = CrossReference.objects.filter(golden=golden).order_by("source_record")
        link_history = CrossReference.history.filter(golden_id=golden.pk)
        events = OutboxEvent.objects.filter(golden_id=golden.golden_id).order_by("pk")
        deliveries = Delivery.objects.filter(golden_id=golden.golden_id)
        for delivery in deliveries.select_related("event"):
            assert delivery.idempotency_key == f"evt_{delivery.event_id}"
            assert delivery.next_attempt_at == delivery.event.created_at
        row = {
            "card": {
                name: getattr(golden, name)
                for name in (*SNAPSHOT_FIELDS, "golden_id", "version", "status")
            },
            "lineage": golden.lineage,
            "history": list(
                history.values(
                    "history_type", "history_change_reason", "history_user_id",
                    "version", "legal_name", "lineage",
                )
            ),
            "links": list(links.values("source_record_id", "method", "score")),
            "link_history": list(
                link_history.order_by("source_record_id").values(
                    "source_record_id", "history_type", "history_change_reason",
                    "method", "history_user_id",
                )
            ),
            "events": list(events.values("topic", "golden_id", "version", "payload")),
            "deliveries": list(
                deliveries.order_by("target_id").values(
                    "target_id", "topic", "version", "state"
                )
            ),
        }  # fmt: skip
        text = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
        for golden_id, name in names.items():
            text = text.replace(golden_id, name)
        out.append(json.loads(text))
    return out


@pytest.fixture(params=["returning", "no returning"])
def bulk_keys(request, monkeypatch):
    """Both ways: bulk INSERTs that give keys back, and (SQLite before 3.35)
    ones that do not, where the writers fall back to one by one."""
    if request.param == "no returning":
        name, features = "can_return_rows_from_bulk_insert", connection.features
        monkeypatch.setattr(type(features), name, False)  # a property on SQLite
        monkeypatch.delitem(features.__dict__, name, raising=False)


@pytest.mark.usefixtures("bulk_keys")
def test_golden_records_created_together_are_written_as_one_by_one():
    DeliveryTarget.objects.create(name="erp-hook", kind="file", config={"path": "x"})
    DeliveryTarget.objects.create(
        name="merges-only", kind="file", config={"path": "y"}, topics=["golden.merged"]
    )
    e0, e1, e2, e3, c0, c1 = unlinked_records()
    # One alone, a pair, and three across both systems (members listed by
    # system, then source ID, in the event).
    groups = [([e3], METHODS[0]), ([e2, c1], METHODS[1]), ([c0, e1, e0], METHODS[1])]
    with pytest.raises(_Undo), transaction.atomic():
        expected = written(
            [golden_record_create(members=m, method=method) for m, method in groups]
        )
        raise _Undo
    assert not CrossReference.objects.exists()
    with transaction.atomic():
        assert written(golden_records_create_many(groups)) == expected
    assert len(expected) == 3 and expected[2]["events"][0]["payload"]["members"] == [
        {"system": "crm", "source_id": "0015g00000AbCdE"},
        {"system": "erp", "source_id": "E-0"},
        {"system": "erp", "source_id": "E-1"},
    ]
    assert [len(g["deliveries"]) for g in expected] == [1, 1, 1]


def test_a_golden_record_needs_members():
    with pytest.raises(Exception, match="at least one source record"):
        golden_records_create_many([([], METHODS[0])])


def tasks_written() -> list:
    return [
        {
            "task": (t.left_id, t.right_id, t.score, t.evidence, t.has_uscc_conflict),
            "history": list(
                t.history.order_by("history_id").values_list(
                    "history_type", "history_change_reason", "score", "status"
                )
            ),
        }
        for t in ReviewTask.objects.order_by("left_id", "right_id")
    ]


@pytest.mark.usefixtures("bulk_keys")
def test_review_tasks_opened_together_are_written_as_one_by_one():
    e0, e1, e2, e3, c0, c1 = unlinked_records()
    review_task_open(a=e1, b=e0, score=0.7, evidence=[{"text": "before"}])
    pairs = [
        (e0, e1, 0.8, [{"comparison": "name", "text": "names alike"}]),  # refreshed
        (c0, e0, 0.75, []),  # new, given right to left
        (e2, c1, 0.6, [{"comparison": "phone", "weight": 1.5}]),
    ]
    with pytest.raises(_Undo), transaction.atomic():
        for a, b, score, evidence in pairs:
            review_task_open(a=a, b=b, score=score, evidence=evidence)
        expected = tasks_written()
        raise _Undo
    with transaction.atomic():
        review_tasks_open_many(pairs)
    assert tasks_written() == expected
    assert [len(t["history"]) for t in expected] == [2, 1, 1]
