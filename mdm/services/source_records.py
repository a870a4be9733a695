"""Writing source records: upsert by (system, source ID), and deletes from the
source, which only mark a record inactive."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from mdm.mapping_presets import Mapper, payload_mapper
from mdm.matching_adapter import attributes_standardise
from mdm.models import SourceRecord, SourceSystem
from mdm.models.audit import AuditEvent
from mdm.nul_characters import nul_path
from mdm.services import audit, bulk_sql
from mdm.services.errors import PayloadError
from mdm.services.golden_records import golden_records_refresh_of

MAX_SOURCE_ID_LENGTH = 255
# A payload's stored text and the canonical text its fingerprint hashes: what
# json.dumps gives with these options, without building an encoder per call.
_STORED_JSON = json.JSONEncoder(ensure_ascii=False)
_CANONICAL_JSON = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":")
)


# A payload mapped and standardised: attributes, standardised values, the
# source's created and updated times.
Mapped = tuple[dict[str, Any], dict[str, Any], datetime | None, datetime | None]


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
        raw = _STORED_JSON.encode(parsed)
    # JSON text holds a NUL only as the escape \u0000 (json.loads refuses it
    # raw, json.dumps escapes it): look for where only when the text has one.
    if "\\u0000" in raw and (where := nul_path(parsed)) is not None:
        raise PayloadError(
            f"payload field {where} contains a NUL character (U+0000), which "
            "cannot be stored."
        )
    return parsed, raw


def payload_fingerprint(payload: dict[str, Any]) -> str:
    canonical = _CANONICAL_JSON.encode(payload)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def source_record_upsert(
    *,
    system: SourceSystem,
    source_id: str,
    payload: dict[str, Any] | str | bytes,
    mapping: dict[str, Any] | None = None,
    savepoint: bool = True,
) -> UpsertResult:
    """Create or update the record (system, source_id); a re-send of the same
    content is a no-op. Invalid tax IDs are stored and flagged, never fixed.

    `mapping` overrides the system's mapping preset (rules of the same shape).
    `savepoint=False` is for a caller whose own transaction ends with any
    error raised here (the real-time ingest): no savepoint round trips.
    """
    with transaction.atomic(savepoint=savepoint):
        return _upsert(
            system=system, source_id=source_id, payload=payload, mapping=mapping
        )


def _upsert(
    *,
    system: SourceSystem,
    source_id: str,
    payload: dict[str, Any] | str | bytes,
    mapping: dict[str, Any] | None,
) -> UpsertResult:
    source_id = clean_source_id(source_id)
    data, raw = payload_parse(payload)
    fingerprint = payload_fingerprint(data)
    record = (
        SourceRecord.objects.select_for_update()
        .filter(source_system=system, source_id=source_id)
        .first()
    )
    if record is not None:
        record.source_system = system  # the caller's row: no query to read it
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
        # A savepoint only where an error is recovered from: the insert race.
        with transaction.atomic(savepoint=outcome == "created"):
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


def source_record_upsert_many(
    *,
    system: SourceSystem,
    items: Sequence[tuple[str, dict[str, Any]]],
    mapping: dict[str, Any] | None = None,
    pool: Executor | None = None,
) -> list[str]:
    """Upsert many (source_id, payload) pairs in a few queries; same rules as
    `source_record_upsert`, history rows included. Returns each item's
    outcome. Source IDs must be distinct within one call.

    Unchanged payloads are recognised by fingerprint alone, before any mapping
    or standardisation runs, so re-sending a big file costs little. With a
    process `pool`, mapping and standardisation (most of the CPU) run there.

    Raises IntegrityError if another writer inserts one of the keys
    meanwhile; callers then fall back to `source_record_upsert` per item.
    """
    return source_records_prefill(
        system=system, items=items, mapping=mapping, pool=pool
    ).write()


def source_records_prefill(
    *,
    system: SourceSystem,
    items: Sequence[tuple[str, dict[str, Any]]],
    mapping: dict[str, Any] | None = None,
    pool: Executor | None = None,
) -> PrefilledUpserts:
    """The first half of `source_record_upsert_many`: parse and fingerprint
    the payloads, and start mapping and standardising those that differ
    from what is stored now. With a `pool` that work runs there while the
    caller goes on (an import writes its previous chunk meanwhile);
    `write()` waits for it and writes, in one transaction.

    Raises PayloadError for a payload or source ID the bulk path refuses.
    """
    prepared = [
        _Prepared(source_id, data, raw, payload_fingerprint(data))
        for source_id, data, raw in (
            (clean_source_id(source_id), *payload_parse(payload))
            for source_id, payload in items
        )
    ]
    ids = [p.source_id for p in prepared]
    if len(set(ids)) != len(ids):
        raise PayloadError("source IDs must be distinct within one bulk upsert.")
    rules = mapping or system.mapping_rules
    stored = _stored_states(system, ids, lock=False)
    changed = [p for p in prepared if not _is_unchanged(stored.get(p.source_id), p)]
    return PrefilledUpserts(
        system=system,
        rules=rules,
        prepared=prepared,
        stored=stored,
        filled_ids=[p.source_id for p in changed],
        fills=_filled_many(rules, [p.data for p in changed], pool),
    )


@dataclass(frozen=True)
class _Prepared:
    source_id: str
    data: dict[str, Any]
    raw: str
    fingerprint: str


# What is stored of a key: primary key, fingerprint, is_active, received_at.
_Stored = tuple[int, str, bool, datetime]


@dataclass
class PrefilledUpserts:
    """A bulk upsert whose mapping and standardisation may still be running
    (`source_records_prefill`)."""

    system: SourceSystem
    rules: str | dict[str, Any]
    prepared: list[_Prepared]
    stored: dict[str, _Stored]  # what the prefill read
    filled_ids: list[str]
    fills: Iterable[dict[str, Any]]  # each changed payload's filled columns
    _filled: dict[str, dict[str, Any]] | None = None  # fills, by key, once read

    def wait(self) -> dict[str, dict[str, Any]]:
        """The filled columns of the payloads the prefill found changed, by
        key, once the pool has sent them: call it before the transaction
        that writes them, not to hold the database waiting."""
        if self._filled is None:
            self._filled = dict(zip(self.filled_ids, self.fills, strict=True))
        return self._filled

    @transaction.atomic
    def write(self, *, stale: Collection[str] | None = None) -> list[str]:
        """Write the rows and their history rows; each item's outcome.

        What is stored of the keys in `stale` (all of them if None: the
        caller cannot tell) is read again under lock, and those keys are
        judged on what is stored now: a payload the prefill took as
        unchanged but that no longer is gets mapped here. An import passes
        the keys its previous chunk wrote after this prefill read. A key
        another writer changes between the prefill and the write is judged
        on what the prefill read, as if the import had gone first: it
        stays unchanged, or is updated by primary key; one it inserts
        makes this write fail on the unique key (IntegrityError).
        """
        system = self.system
        ids = [p.source_id for p in self.prepared]
        if stale is None:
            stored = _stored_states(system, ids, lock=True)
        else:
            stored = {k: v for k, v in self.stored.items() if k not in stale}
            if again := [key for key in ids if key in stale]:
                stored.update(_stored_states(system, again, lock=True))
        filled = self.wait()
        mapper = None
        now = timezone.now()
        rows: list[dict[str, Any]] = []
        outcomes: list[str] = []
        for item in self.prepared:
            state = stored.get(item.source_id)
            if _is_unchanged(state, item):
                outcomes.append("unchanged")
                continue
            if item.source_id in filled:
                values = filled[item.source_id]
            else:
                mapper = mapper or payload_mapper(self.rules)
                values = _filled_encoded(mapper, item.data)
            pk, _, _, received_at = state or (None, None, None, None)
            rows.append(
                {
                    "id": pk,
                    "source_system_id": system.pk,
                    "source_id": item.source_id,
                    "received_at": received_at or now,
                    "updated_at": now,
                    "raw_payload": item.raw,
                    "fingerprint": item.fingerprint,
                    **values,
                }
            )
            outcomes.append("created" if pk is None else "updated")
        source_record_bulk_write(
            system=system,
            created=[row for row in rows if row["id"] is None],
            updated=[row for row in rows if row["id"] is not None],
        )
        return outcomes


def _stored_states(
    system: SourceSystem, source_ids: list[str], *, lock: bool
) -> dict[str, _Stored]:
    records = SourceRecord.objects.filter(
        source_system=system, source_id__in=source_ids
    )
    if lock:
        records = records.select_for_update()
    return {
        row[0]: row[1:]
        for row in records.values_list(
            "source_id", "pk", "fingerprint", "is_active", "received_at"
        )
    }


def _is_unchanged(state: _Stored | None, item: _Prepared) -> bool:
    return state is not None and state[1] == item.fingerprint and state[2]


# Payloads per task sent to a fill pool: enough to amortise the round trip.
_FILL_BATCH = 200


def _filled_many(
    rules: str | dict[str, Any],
    payloads: list[dict[str, Any]],
    pool: Executor | None,
) -> Iterable[dict[str, Any]]:
    if pool is None or len(payloads) < 2 * _FILL_BATCH:
        return _filled_batch(rules, payloads)
    batches = [
        payloads[start : start + _FILL_BATCH]
        for start in range(0, len(payloads), _FILL_BATCH)
    ]
    results = pool.map(_filled_batch, repeat(rules), batches)
    return chain.from_iterable(results)


def _filled_batch(
    rules: str | dict[str, Any], payloads: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The filled columns of each payload, the rules read once: a fill
    pool's task (only the payloads go to the worker)."""
    mapper = payload_mapper(rules)
    return [_filled_encoded(mapper, data) for data in payloads]


def _filled_encoded(mapper: Mapper, data: dict[str, Any]) -> dict[str, Any]:
    """`_filled_values` with the JSON columns encoded as they are stored:
    a pool worker's text comes back ~30 times cheaper than the nested
    dicts it encodes (unpickled in the importer's process), and the
    importer no longer encodes them itself."""
    values = _filled_values(_mapped(mapper, data))
    for name in ("attributes", "standardised"):
        values[name] = bulk_sql.json_text(SourceRecord, name, values[name])
    return values


def source_record_bulk_write(
    *,
    system: SourceSystem,
    created: list[dict[str, Any]],
    updated: list[dict[str, Any]],
) -> None:
    """Insert and update source-record rows (attname -> value), each with its
    history row, in a handful of statements.

    `bulk_create_with_history` builds a model instance and runs Django's
    per-field preparation for every row and its history twin, which made
    that ORM work most of a 100,000-row import. The rows here are written
    with `executemany` (PostgreSQL: `COPY` for new rows) and their history
    rows copied from them (`source_record_history_write`).
    """
    memo = bulk_sql.Memo()
    if created:
        bulk_sql.insert_rows(SourceRecord, created, exclude=("id",), memo=memo)
        source_record_history_write(
            SourceRecord.objects.filter(
                source_system=system,
                source_id__in=[row["source_id"] for row in created],
            ),
            "+",
            f"created from {system.code}",
        )
    if updated:
        bulk_sql.update_rows(SourceRecord, updated, _FILLED_FIELDS, memo=memo)
        source_record_history_write(
            SourceRecord.objects.filter(pk__in=[row["id"] for row in updated]),
            "~",
            f"updated from {system.code}",
        )


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


def source_record_history_write(
    records: QuerySet[SourceRecord], kind: str, reason: str
) -> None:
    """One history row per record, "+" for created or "~" for changed, as
    django-simple-history would write it: every tracked field as the record
    is stored now, the date, the change reason and the default user. The
    rows are copied inside the database (INSERT ... SELECT): an import's
    history rows no longer go through Python a second time (~10 µs a row)."""
    history = SourceRecord.history.model
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    # Bulk writes carry no per-instance user; this is what simple-history's
    # bulk_history_create falls back to (the request's user, if any).
    user = history.get_default_history_user(SourceRecord())
    meta = history._meta
    bulk_sql.insert_selected(
        history,
        records.order_by("pk"),
        [f.attname for f in SourceRecord._meta.concrete_fields],
        {
            name: (meta.get_field(name), value)
            for name, value in (
                ("history_date", timezone.now()),
                ("history_change_reason", reason),
                ("history_type", kind),
                ("history_user_id", getattr(user, "pk", None)),
            )
        },
    )


@audit.audited(AuditEvent.Action.RECORD_DELETE, on=audit.ref_source_key)
@transaction.atomic
def source_record_mark_deleted(*, system: SourceSystem, source_id: str) -> SourceRecord:
    """The source deleted the record: keep it, mark it inactive. Its golden
    record is recomputed (survivorship prefers active members) and the change
    broadcast, as for any other change of a member."""
    source_id = clean_source_id(source_id)
    record = SourceRecord.objects.select_for_update().get(
        source_system=system, source_id=source_id
    )
    if record.is_active:
        record.is_active = False
        record.deleted_in_source_at = timezone.now()
        record._change_reason = f"deleted in {system.code}"
        record.save()
        golden_records_refresh_of(
            system=system, source_ids=[source_id], reason=f"{record.key} deleted"
        )
    return record


def clean_source_id(source_id: str) -> str:
    """The source ID stripped; PayloadError if empty or too long."""
    cleaned = (source_id or "").strip() if isinstance(source_id, str) else ""
    if not cleaned:
        raise PayloadError("source ID must be a non-empty string.")
    if "\x00" in cleaned:
        raise PayloadError("source ID contains a NUL character (U+0000).")
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
    record.raw_payload = raw
    record.fingerprint = fingerprint
    values = _filled_values(_mapped(payload_mapper(rules), data))
    for name, value in values.items():
        setattr(record, name, value)


def _mapped(mapper: Mapper, data: dict[str, Any]) -> Mapped:
    mapped = mapper(data)
    standardised = attributes_standardise(mapped.attributes)
    return mapped.attributes, standardised, mapped.created_at, mapped.updated_at


def standardised_values(attributes: dict[str, Any]) -> dict[str, Any]:
    """The columns that the standardisers fill from a record's attributes."""
    return _standardised_columns(attributes_standardise(attributes))


def _standardised_columns(standardised: dict[str, Any]) -> dict[str, Any]:
    return {
        "standardised": standardised,
        "uscc": (standardised.get("uscc") or "")[:32],
        "uscc_valid": standardised.get("uscc_valid"),
    }


def _filled_values(mapped: Mapped) -> dict[str, Any]:
    """The columns a payload's content fills, but for its text and fingerprint."""
    attributes, standardised, created_at, updated_at = mapped
    name = attributes.get("legal_name") or attributes.get("english_name") or ""
    return {
        "attributes": attributes,
        **_standardised_columns(standardised),
        "name": name[:300],
        "source_created_at": created_at,
        "source_updated_at": updated_at,
        "is_active": True,
        "deleted_in_source_at": None,
    }
