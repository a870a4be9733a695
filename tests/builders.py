"""Tiny builders that create state through the real services."""

from __future__ import annotations

from itertools import count
from typing import Any

from django.contrib.auth import get_user_model

from mdm.models import GoldenRecord, SourceRecord, SourceSystem
from mdm.services.golden_records import golden_record_create
from mdm.services.source_records import source_record_upsert

_serial = count(1)


def make_system(code: str = "erp") -> SourceSystem:
    return SourceSystem.objects.get(code=code)


def make_source_record(
    system: str = "erp", source_id: str | None = None, **payload: Any
) -> SourceRecord:
    """An ID-card-shaped payload pushed through the real upsert service."""
    key = source_id or payload.get("FNumber") or f"T-{next(_serial):05d}"
    system_row = make_system(system)
    if system_row.mapping_preset == "kingdee_k3cloud":
        payload.setdefault("FNumber", key)
        payload.setdefault("FName", "北京华盛科技有限公司")
    return source_record_upsert(
        system=system_row, source_id=key, payload=payload
    ).record


def make_golden(name: str = "北京华盛科技有限公司", **payload: Any) -> GoldenRecord:
    record = make_source_record("erp", FName=name, **payload)
    return golden_record_create(members=[record])


def make_user(username: str = "steward", **extra: Any):
    return get_user_model().objects.create_user(
        username=username, password="a-long-test-password", **extra
    )
