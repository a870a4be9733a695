"""Users with roles and review tasks, built through the real services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from mdm.models import GoldenRecord, ReviewTask, SourceRecord
from mdm.services.golden_records import golden_record_create
from mdm.services.review_queue import review_task_open
from tests.builders import make_source_record, make_user

EVIDENCE = [
    {"comparison": "uscc", "level": "missing", "text": "no evidence", "weight": 0.0},
    {"comparison": "name", "level": "brand", "text": "same brand", "weight": 2.7},
    {"comparison": "region", "level": "city", "text": "same city", "weight": 5.1},
    {"comparison": "phone", "level": "else", "text": "phone differs", "weight": -1.0},
]


def make_member(username: str, group: str, **extra: Any):
    user = make_user(username, **extra)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def make_steward(username: str = "alice"):
    return make_member(username, "stewards")


def make_viewer(username: str = "victor"):
    return make_member(username, "viewers")


def make_record(system: str = "erp", **payload: Any) -> SourceRecord:
    return make_source_record(system, **payload)


def golden_of(record: SourceRecord) -> GoldenRecord:
    return GoldenRecord.objects.get(xrefs__source_record=record)


def make_task(
    left: dict[str, Any] | None = None,
    right: dict[str, Any] | None = None,
    *,
    score: float = 0.8,
    evidence: list[dict[str, Any]] | None = None,
) -> ReviewTask:
    """Two source records, each in its own golden record, and a review task."""
    a = make_record(**(left or {"FName": "北京华盛科技有限公司"}))
    b = make_record(**(right or {"FName": "华盛科技(北京)有限公司"}))
    golden_record_create(members=[a])
    golden_record_create(members=[b])
    return review_task_open(
        a=a, b=b, score=score, evidence=EVIDENCE if evidence is None else evidence
    )


def versions_of(task: ReviewTask) -> dict[str, int]:
    goldens = GoldenRecord.objects.filter(
        xrefs__source_record_id__in=[task.left_id, task.right_id]
    )
    return {g.golden_id: g.version for g in goldens}


def versions_field(task: ReviewTask) -> str:
    return ",".join(f"{gid}:{v}" for gid, v in versions_of(task).items())
