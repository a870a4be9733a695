"""Writing source records: upsert by (system, source ID), and deletes from the
source, which only mark a record inactive."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from mdm.mapping_presets import payload_map
from mdm.matching_adapter import attributes_standardise
from mdm.models import SourceRecord, SourceSystem
from mdm.services.errors import PayloadError

MAX_SOURCE_ID_LENGTH = 255


@dataclass(frozen=True)
class UpsertResult:
    record: SourceRecord
    outcome: str  # "created" | "updated" | "unchanged"


def payload_parse(payload: dict[str, Any] | str | bytes) -> tuple[dict[str, Any], str]:
    """Return the payload as a dict and as the exact text to store verbatim."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"payload is not UTF-8 text: {exc}") from None
    if isinstance(payload, str):
        try:
            parsed = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"payload is not valid JSON: {exc}") from None
        raw = payload
    else:
        parsed = payload
        raw = None
    if not isinstance(parsed, dict):
        raise PayloadError(
            f"payload must be a JSON object, not {type(parsed).__name__}."
        )
    if raw is None:
        raw = json.dumps(parsed, ensure_ascii=False)
    return parsed, raw


def payload_fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@transaction.atomic
def source_record_upsert(
    *,
    system: SourceSystem,
    source_id: str,
    payload: dict[str, Any] | str | bytes,
    mapping: dict[str, Any] | None = None,
) -> UpsertResult:
    """Create or update the record (system, source_id); a re-send of the same
    content is a no-op. Invalid tax IDs are stored and flagged, never fixed.

    `mapping` overrides the system's mapping preset (rules of the same shape).
    """
    source_id = _clean_source_id(source_id)
    data, raw = payload_parse(payload)
    fingerprint = payload_fingerprint(data)
    record = (
        SourceRecord.objects.select_for_update()
        .filter(source_system=system, source_id=source_id)
        .first()
    )
    if record is not None and record.fingerprint == fingerprint and record.is_active:
        return UpsertResult(record=record, outcome="unchanged")
    outcome = "updated" if record is not None else "created"
    if record is None:
        record = SourceRecord(source_system=system, source_id=source_id)
    _fill(
        record,
        rules=mapping or system.mapping_rules,
        data=data,
        raw=raw,
        fingerprint=fingerprint,
    )
    record._change_reason = f"{outcome} from {system.code}"
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        # Another writer created the same key between our read and our insert:
        # the key is unique, so this becomes an update of their row.
        if outcome != "created":
            raise
        return source_record_upsert(
            system=system, source_id=source_id, payload=raw, mapping=mapping
        )
    return UpsertResult(record=record, outcome=outcome)


# Every column `_fill` writes: what a bulk update must save.
_FILLED_FIELDS = [
    "raw_payload",
    "fingerprint",
    "attributes",
    "standardised",
    "name",
    "uscc",
    "uscc_valid",
    "source_created_at",
    "source_updated_at",
    "is_active",
    "deleted_in_source_at",
    "updated_at",
]


@transaction.atomic
def source_record_upsert_many(
    *,
    system: SourceSystem,
    items: Sequence[tuple[str, dict[str, Any]]],
    mapping: dict[str, Any] | None = None,
) -> list[str]:
    """Upsert many (source_id, payload) pairs in a few queries; same rules as
    `source_record_upsert`, history rows included. Returns each item's
    outcome. Source IDs must be distinct within one call.

    Raises IntegrityError if another writer inserts one of the keys
    meanwhile; callers then fall back to `source_record_upsert` per item.
    """
    prepared = [
        (_clean_source_id(source_id), *payload_parse(payload))
        for source_id, payload in items
    ]
    ids = [source_id for source_id, _, _ in prepared]
    if len(set(ids)) != len(ids):
        raise PayloadError("source IDs must be distinct within one bulk upsert.")
    existing = {
        r.source_id: r
        for r in SourceRecord.objects.select_for_update().filter(
            source_system=system, source_id__in=ids
        )
    }
    created: list[SourceRecord] = []
    updated: list[SourceRecord] = []
    outcomes: list[str] = []
    now = timezone.now()
    for source_id, data, raw in prepared:
        fingerprint = payload_fingerprint(data)
        record = existing.get(source_id)
        if (
            record is not None
            and record.fingerprint == fingerprint
            and record.is_active
        ):
            outcomes.append("unchanged")
            continue
        if record is None:
            record = SourceRecord(source_system=system, source_id=source_id)
            created.append(record)
            outcomes.append("created")
        else:
            updated.append(record)
            outcomes.append("updated")
        _fill(
            record,
            rules=mapping or system.mapping_rules,
            data=data,
            raw=raw,
            fingerprint=fingerprint,
        )
        record.updated_at = now
    if created:
        bulk_create_with_history(
            created,
            SourceRecord,
            batch_size=500,
            default_change_reason=f"created from {system.code}",
        )
    if updated:
        bulk_update_with_history(
            updated,
            SourceRecord,
            _FILLED_FIELDS,
            batch_size=500,
            default_change_reason=f"updated from {system.code}",
        )
    return outcomes


@transaction.atomic
def source_record_mark_deleted(*, system: SourceSystem, source_id: str) -> SourceRecord:
    """The source deleted the record: keep it, mark it inactive."""
    record = SourceRecord.objects.select_for_update().get(
        source_system=system, source_id=_clean_source_id(source_id)
    )
    if record.is_active:
        record.is_active = False
        record.deleted_in_source_at = timezone.now()
        record._change_reason = f"deleted in {system.code}"
        record.save()
    return record


def _clean_source_id(source_id: str) -> str:
    cleaned = (source_id or "").strip() if isinstance(source_id, str) else ""
    if not cleaned:
        raise PayloadError("source ID must be a non-empty string.")
    if len(cleaned) > MAX_SOURCE_ID_LENGTH:
        raise PayloadError(f"source ID longer than {MAX_SOURCE_ID_LENGTH} characters.")
    return cleaned


def _fill(
    record: SourceRecord,
    *,
    rules: str | dict[str, Any],
    data: dict[str, Any],
    raw: str,
    fingerprint: str,
) -> None:
    mapped = payload_map(data, rules)
    standardised = attributes_standardise(mapped.attributes)
    record.raw_payload = raw
    record.fingerprint = fingerprint
    record.attributes = mapped.attributes
    record.standardised = standardised
    record.name = (
        mapped.attributes.get("legal_name")
        or mapped.attributes.get("english_name")
        or ""
    )[:300]
    record.uscc = (standardised.get("uscc") or "")[:32]
    record.uscc_valid = standardised.get("uscc_valid")
    record.source_created_at = mapped.created_at
    record.source_updated_at = mapped.updated_at
    record.is_active = True
    record.deleted_in_source_at = None
