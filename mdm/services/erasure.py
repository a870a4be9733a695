"""Erasure of a customer's personal data (PIPL art. 47, GDPR art. 17).

`erasure_request_execute()` finds the customer, scrubs its personal fields
everywhere we keep them, and leaves the skeleton: IDs, source keys,
cross-references, decisions and who/when. What is erased, and why, is
documented in docs/operations.md ("Erasure"). In short:

1. Subjects: the source records named by key, the members of the golden
   records named by ID, and every source or golden record that holds one of
   the given phones, e-mails, USCCs or ID numbers; then closed over the
   customer: every member of their golden records and every golden record
   merged into those.
2. On those records (current rows and every history row): phones, e-mails,
   addresses, contacts and the USCC / ID number go (names too with
   `erase_names`, for a customer who is a natural person); the raw payload
   keeps its keys with the personal values replaced, and its fingerprint is
   recomputed over what is left (a hash of the old content would let anyone
   confirm a guessed number).
3. Everywhere else: the identifiers (the given ones and the subjects'
   phones, e-mails and USCC) are replaced by ERASED in every text and JSON
   column of every table (review evidence, decision snapshots, outbox
   payloads, pushed payloads, import row errors, history...), and the
   subjects' contact names and address lines in the rows that belong to
   them (not in other customers' rows, where the same name may be another
   person). Stored import files holding an identifier are rewritten (CSV,
   JSON Lines) or deleted (spreadsheets); the import job rows stay.
4. The erasure itself is recorded (ErasureRecord, audit event) with keyed
   hashes of the identifiers, never the identifiers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils.crypto import salted_hmac

from mdm.audit_context import current_actor
from mdm.masking import mask_text
from mdm.models import (
    CrossReference,
    DecisionMember,
    Delivery,
    ErasureRecord,
    GoldenRecord,
    OutboxEvent,
    RemoteLink,
    ReviewTask,
    SourceRecord,
    StewardDecision,
)
from mdm.models.audit import AuditEvent
from mdm.services import audit
from mdm.services.erasure_files import import_files_scrub
from mdm.services.errors import DomainError
from mdm.services.outbox import outbox_emit
from mdm.services.source_records import payload_fingerprint

ERASED = "[erased]"
# Attributes that are personal whoever the customer is.
PERSONAL_LISTS = ("phones", "emails", "addresses", "contacts")
NAME_FIELDS = ("legal_name", "short_name", "english_name")
# The audit log and the erasure records hold no identifier by construction
# (masked, hashed) and are append-only.
_SKIPPED_MODELS = {"mdm.auditevent", "mdm.erasurerecord"}
_DIGIT_GAP = r"[\s\-()]*"
_CHAR_GAP = r"[\s\-]*"
# +86, 0086 or 86 glued to the number, or no digit before it.
_COUNTRY_OR_START = r"(?:(?:\+|(?<!\d)00)\s*86[\s\-]*|(?<!\d)86[\s\-]*|(?<!\d))"


class ErasureError(DomainError):
    pass


@dataclass(frozen=True)
class ErasureRequest:
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    usccs: tuple[str, ...] = ()
    id_numbers: tuple[str, ...] = ()
    source_keys: tuple[str, ...] = ()  # "erp:CUST-1"
    golden_ids: tuple[str, ...] = ()
    erase_names: bool = False

    def is_empty(self) -> bool:
        return not any(
            (self.phones, self.emails, self.usccs, self.id_numbers)
            + (self.source_keys, self.golden_ids)
        )


@dataclass
class _Needles:
    """What to cut out: identifiers (anywhere) and the subjects' names and
    address lines (in the subjects' own rows only)."""

    phones: set[str] = field(default_factory=set)  # digits only
    identifiers: set[str] = field(default_factory=set)  # USCC / ID, upper case
    emails: set[str] = field(default_factory=set)  # lower case
    private_texts: set[str] = field(default_factory=set)

    def pattern(self, *, private: bool) -> re.Pattern[str] | None:
        parts = [
            _COUNTRY_OR_START + _DIGIT_GAP.join(p) + r"(?!\d)" for p in self.phones
        ]
        parts += [
            r"(?<![0-9A-Za-z])"
            + _CHAR_GAP.join(re.escape(c) for c in i)
            + r"(?![0-9A-Za-z])"
            for i in self.identifiers
        ]
        parts += [re.escape(e) for e in self.emails]
        if private:
            longest_first = sorted(self.private_texts, key=len, reverse=True)
            parts += [re.escape(text) for text in longest_first]
        if not parts:
            return None
        return re.compile("|".join(parts), re.IGNORECASE)

    def fragments(self) -> set[str]:
        """Short pieces every written form of an identifier contains: a
        cheap database pre-filter before the exact match in Python."""
        return (
            {p[-4:] for p in self.phones}
            | {i[-4:] for i in self.identifiers}
            | {e.split("@")[-1] for e in self.emails}
        )


def erasure_subject_hash(value: str) -> str:
    """Keyed hash of an identifier (SECRET_KEY-derived): it proves later
    that a number was erased without storing the number."""
    return salted_hmac("mdm.erasure", value, algorithm="sha256").hexdigest()


def _describe(record: ErasureRecord, kwargs: dict[str, Any]) -> str:
    return (
        f"erasure {record.pk}: {len(record.golden_ids)} golden, "
        f"{len(record.source_keys)} source records, {sum(record.counts.values())} rows"
    )


@audit.audited(AuditEvent.Action.ERASURE, describe=_describe)
@transaction.atomic
def erasure_request_execute(*, request: ErasureRequest, reason: str) -> ErasureRecord:
    """Erase the personal data of the customer `request` names (see module)."""
    if request.is_empty():
        raise ErasureError("Name the customer: a phone, number, key or golden ID.")
    if not reason.strip():
        raise ErasureError("Say why (the request's reference).")
    needles = _Needles(
        phones={_digits(p) for p in request.phones if len(_digits(p)) >= 7},
        identifiers={_compact(i) for i in request.usccs + request.id_numbers},
        emails={e.strip().lower() for e in request.emails if "@" in e},
    )
    records, goldens = _subjects(request, needles)
    _collect_subject_values(records, goldens, needles)
    counts: dict[str, int] = {}
    _scrub_subjects(records, goldens, needles, request.erase_names, counts)
    _scrub_everywhere(needles, counts)
    _leave_history(records, goldens)
    counts.update(import_files_scrub(needles.pattern(private=False)))
    actor = current_actor()
    return ErasureRecord.objects.create(
        executed_by=actor.name or actor.kind,
        reason=mask_text(reason.strip()),
        subject_hashes=sorted(
            erasure_subject_hash(value)
            for value in needles.phones | needles.identifiers | needles.emails
        ),
        golden_ids=sorted(g.golden_id for g in goldens),
        source_keys=sorted(r.key for r in records),
        counts={name: n for name, n in sorted(counts.items()) if n},
    )


def _leave_history(records: list[SourceRecord], goldens: list[GoldenRecord]) -> None:
    """One history row per subject saying it was erased (the scrub itself
    wrote with UPDATE, which leaves none), and the news for the receivers."""
    reason = "personal data erased"
    for record in SourceRecord.objects.filter(pk__in=[r.pk for r in records]):
        record._change_reason = reason
        record.save()
    for golden in GoldenRecord.objects.filter(pk__in=[g.pk for g in goldens]):
        golden.version += 1
        golden._change_reason = reason
        golden.save()
        if golden.status == GoldenRecord.Status.ACTIVE:
            # Receivers (ERP, CRM) must erase too: send them the scrubbed card.
            outbox_emit(topic=OutboxEvent.Topic.UPDATED, golden=golden)


def _subjects(
    request: ErasureRequest, needles: _Needles
) -> tuple[list[SourceRecord], list[GoldenRecord]]:
    record_ids: set[int] = set()
    for key in request.source_keys:
        system, _, source_id = key.partition(":")
        found = SourceRecord.objects.filter(
            source_system__code=system, source_id=source_id
        ).values_list("pk", flat=True)
        if not found:
            raise ErasureError(f"No source record {key}.")
        record_ids.update(found)
    golden_ids = set(
        GoldenRecord.objects.filter(golden_id__in=request.golden_ids).values_list(
            "pk", flat=True
        )
    )
    if len(golden_ids) != len(set(request.golden_ids)):
        raise ErasureError("A golden ID of the request does not exist.")
    pattern = needles.pattern(private=False)
    if pattern is not None:
        record_ids |= set(_rows_matching(SourceRecord, pattern, needles.fragments()))
        golden_ids |= set(_rows_matching(GoldenRecord, pattern, needles.fragments()))
    # Close over the customer: members of the same golden records, and the
    # golden records merged into them, until nothing new turns up.
    while True:
        linked = set(
            CrossReference.objects.filter(source_record_id__in=record_ids).values_list(
                "golden_id", flat=True
            )
        )
        merged = set(
            GoldenRecord.objects.filter(
                merged_into_id__in=golden_ids | linked
            ).values_list("pk", flat=True)
        )
        all_golden = golden_ids | linked | merged
        members = set(
            CrossReference.objects.filter(golden_id__in=all_golden).values_list(
                "source_record_id", flat=True
            )
        )
        if all_golden == golden_ids and members <= record_ids:
            break
        golden_ids, record_ids = all_golden, record_ids | members
    records = list(
        SourceRecord.objects.select_related("source_system").filter(pk__in=record_ids)
    )
    goldens = list(GoldenRecord.objects.filter(pk__in=golden_ids))
    if not records and not goldens:
        raise ErasureError("No record holds these identifiers.")
    return records, goldens


def _collect_subject_values(
    records: list[SourceRecord], goldens: list[GoldenRecord], needles: _Needles
) -> None:
    """The subjects' own phones, e-mails, numbers, names and addresses,
    from every version of them, become needles too."""
    history = [
        *SourceRecord.history.filter(id__in=[r.pk for r in records]).only("attributes"),
        *GoldenRecord.history.filter(id__in=[g.pk for g in goldens]),
    ]
    for row in [*records, *goldens, *history]:
        values = (
            row.attributes
            if isinstance(row, SourceRecord | SourceRecord.history.model)
            else {name: getattr(row, name) for name in (*PERSONAL_LISTS, "uscc")}
        )
        _collect(values, needles)


def _collect(values: dict[str, Any], needles: _Needles) -> None:
    for phone in _strings(values.get("phones")):
        if len(_digits(phone)) >= 7:
            needles.phones.add(_digits(phone))
    for email in _strings(values.get("emails")):
        if "@" in email:
            needles.emails.add(email.strip().lower())
    uscc = values.get("uscc")
    if isinstance(uscc, str) and len(_compact(uscc)) >= 8:
        needles.identifiers.add(_compact(uscc))
    for contact in values.get("contacts") or []:
        if isinstance(contact, dict):
            _collect(
                {"phones": [contact.get("phone")], "emails": [contact.get("email")]},
                needles,
            )
            name = str(contact.get("name") or "").strip()
            if len(name) >= 2:
                needles.private_texts.add(name)
    for address in values.get("addresses") or []:
        detail = address.get("detail") if isinstance(address, dict) else address
        if isinstance(detail, str) and len(detail.strip()) >= 4:
            needles.private_texts.add(detail.strip())


def _scrub_subjects(
    records: list[SourceRecord],
    goldens: list[GoldenRecord],
    needles: _Needles,
    erase_names: bool,
    counts: dict[str, int],
) -> None:
    pattern = needles.pattern(private=True)
    record_ids, golden_pks = [r.pk for r in records], [g.pk for g in goldens]
    golden_ids = [g.golden_id for g in goldens]

    def source(row: Any) -> dict[str, Any]:
        return _scrubbed_source(row, pattern, erase_names)

    def golden(row: Any) -> dict[str, Any]:
        return _scrubbed_golden(row, pattern, erase_names)

    def generic(row: Any) -> dict[str, Any]:
        return _scrubbed_fields(row, pattern)

    task_rows = models.Q(left_id__in=record_ids) | models.Q(right_id__in=record_ids)
    decisions = DecisionMember.objects.filter(source_record_id__in=record_ids)
    scoped: list[tuple[models.QuerySet, Callable[[Any], dict[str, Any]]]] = [
        (SourceRecord.objects.filter(pk__in=record_ids), source),
        (SourceRecord.history.filter(id__in=record_ids), source),
        (GoldenRecord.objects.filter(pk__in=golden_pks), golden),
        (GoldenRecord.history.filter(id__in=golden_pks), golden),
        (ReviewTask.objects.filter(task_rows), generic),
        (ReviewTask.history.filter(task_rows), generic),
        (StewardDecision.objects.filter(pk__in=decisions.values("decision")), generic),
        (OutboxEvent.objects.filter(golden_id__in=golden_ids), generic),
        (Delivery.objects.filter(golden_id__in=golden_ids), generic),
        (RemoteLink.objects.filter(golden_id__in=golden_ids), generic),
    ]
    for queryset, scrub in scoped:
        _apply(queryset, scrub, counts)


def _scrubbed_source(row: Any, pattern: re.Pattern | None, erase_names: bool):
    attributes = {
        name: ([] if name in PERSONAL_LISTS else value)
        for name, value in _scrub(row.attributes, pattern).items()
    }
    attributes.pop("uscc", None)
    changes = {
        "attributes": attributes,
        "standardised": _scrub_standardised(row.standardised, pattern),
        "uscc": "",
        "uscc_valid": None,
    }
    try:
        payload = json.loads(row.raw_payload)
    except (TypeError, ValueError):
        payload = None
    if isinstance(payload, dict):
        payload = _scrub(payload, pattern)
        if erase_names:
            payload = _scrub(payload, _literal([row.name] + _names(row.attributes)))
        changes["raw_payload"] = json.dumps(payload, ensure_ascii=False)
        changes["fingerprint"] = payload_fingerprint(payload)
    else:
        changes["raw_payload"] = _scrub(row.raw_payload or "", pattern)
    if erase_names:
        changes["name"] = ERASED
        for name in NAME_FIELDS:
            if attributes.get(name):
                attributes[name] = ERASED
    return changes


def _scrubbed_golden(row: Any, pattern: re.Pattern | None, erase_names: bool):
    changes: dict[str, Any] = dict.fromkeys(PERSONAL_LISTS, [])
    changes.update(uscc="", uscc_valid=None, lineage=_scrub(row.lineage, pattern))
    if erase_names:
        changes.update(dict.fromkeys(NAME_FIELDS, ERASED))
    return changes


def _scrub_standardised(values: Any, pattern: re.Pattern | None) -> Any:
    if not isinstance(values, dict):
        return _scrub(values, pattern)
    personal = ("phone", "email", "uscc", "address", "contact", "id_number")
    return {
        key: ([] if isinstance(value, list) else "")
        if any(word in key for word in personal)
        else _scrub(value, pattern)
        for key, value in values.items()
    }


def _scrub_everywhere(needles: _Needles, counts: dict[str, int]) -> None:
    pattern = needles.pattern(private=False)
    if pattern is None:
        return
    fragments = needles.fragments()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label_lower in _SKIPPED_MODELS or not model._meta.managed:
            continue
        for name in _text_fields(model):
            queryset = _containing(model, name, fragments)

            def scrub(row: Any, name: str = name) -> dict[str, Any]:
                return {name: _scrub(getattr(row, name), pattern)}

            _apply(queryset.only("pk", name), scrub, counts)


def _rows_matching(
    model: type[models.Model], pattern: re.Pattern, fragments: set[str]
) -> Iterator[int]:
    for name in _text_fields(model):
        for row in _containing(model, name, fragments).only("pk", name).iterator():
            if _scrub(getattr(row, name), pattern) != getattr(row, name):
                yield row.pk


def _containing(model, name: str, fragments: set[str]) -> models.QuerySet:
    field_ = model._meta.get_field(name)
    manager = model._base_manager
    if isinstance(field_, models.JSONField):
        manager = manager.annotate(_as_text=Cast(name, models.TextField()))
        name = "_as_text"
    query = models.Q()
    for fragment in fragments:
        query |= models.Q(**{f"{name}__icontains": fragment})
    return manager.filter(query)


def _text_fields(model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
        and not f.primary_key
        and not isinstance(f, models.FileField)  # a path, never content
    ]


def _apply(
    queryset: models.QuerySet,
    scrub: Callable[[Any], dict[str, Any]],
    counts: dict[str, int],
) -> None:
    """Write each row's scrubbed values with an UPDATE: no new history row,
    no `auto_now` bump, and the skeleton columns untouched."""
    model = queryset.model
    table = model._meta.db_table
    for row in queryset.iterator(chunk_size=500):
        changes = {
            name: value
            for name, value in scrub(row).items()
            if value != getattr(row, name)
        }
        if changes:
            model._base_manager.filter(pk=row.pk).update(**changes)
            counts[table] = counts.get(table, 0) + 1


def _scrubbed_fields(row: Any, pattern: re.Pattern | None) -> dict[str, Any]:
    return {
        name: _scrub(getattr(row, name), pattern) for name in _text_fields(type(row))
    }


def _scrub(value: Any, pattern: re.Pattern | None) -> Any:
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {key: _scrub(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, pattern) for item in value]
    return value


def _literal(texts: Iterable[str]) -> re.Pattern | None:
    texts = sorted({t for t in texts if t and len(t) >= 2}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, texts))) if texts else None


def _names(attributes: dict[str, Any]) -> list[str]:
    return [str(attributes.get(name) or "") for name in NAME_FIELDS]


def _strings(values: Any) -> Iterator[str]:
    for value in values or []:
        if isinstance(value, str):
            yield value


def _digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    # +86 / 0086: the country code is not part of the number.
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def _compact(text: str) -> str:
    return re.sub(r"[\s\-]", "", text).upper()
