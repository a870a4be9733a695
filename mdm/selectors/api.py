"""Reads behind the lookup and search API: golden records by golden ID,
source key or USCC (one or a thousand at a time), ranked fuzzy search, the
change feed, and "what would this record match" without storing anything.

On PostgreSQL the name, phone and e-mail searches run on the trigram and
JSON indexes of migration 0011; on SQLite (the embedded default, small data)
they fall back to substring scans.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from matching import standardise
from mdm.golden_ids import InvalidGoldenId, golden_id_clean
from mdm.matching_adapter import attributes_standardise
from mdm.models import CrossReference, GoldenRecord, SourceRecord, SourceSystem
from mdm.selectors.golden_records import MAX_MERGE_CHAIN
from mdm.selectors.names import linked_records, name_candidates, on_postgres
from mdm.selectors.rows import golden_record_by_golden_id, link_by_source_key
from mdm.services.realtime_matching import MatchOutcome, source_record_match

MAX_BATCH_KEYS = 1000
SEARCH_MAX_LIMIT = 50
# A change is served once it is this old: a transaction that wrote an earlier
# history row may commit a little after a later one, and a poller's cursor
# must not skip past it.
CHANGES_SETTLE = timedelta(seconds=5)
_USCC_SHAPE = re.compile(r"^[0-9A-Z]{15,20}$")
# The shape for an API schema (either case).
USCC_PATTERN = r"^[0-9A-Za-z]{15,20}$"


class LookupKeyError(ValueError):
    """A lookup key that cannot be a key (a golden ID with a wrong check digit,
    a USCC of the wrong shape, an undecodable cursor)."""


@dataclass(frozen=True)
class GoldenAnswer:
    golden: GoldenRecord  # the live record (the survivor of any merges)
    chain: list[str] = field(default_factory=list)  # IDs followed, requested first
    xref: CrossReference | None = None  # for a source-key lookup
    others: list[str] = field(default_factory=list)  # more records of one USCC


@dataclass(frozen=True)
class LookupKey:
    kind: str  # golden_id | source | uscc
    golden_id: str = ""
    system: str = ""
    source_id: str = ""
    uscc: str = ""


@dataclass(frozen=True)
class LookupResult:
    key: LookupKey
    answer: GoldenAnswer | None
    error: str = ""


def uscc_clean(value: str) -> str:
    compact = re.sub(r"[\s\-]", "", value or "").upper()
    if not _USCC_SHAPE.match(compact):
        raise LookupKeyError(
            f"{value!r} is not a USCC or tax ID (15 to 20 letters and digits)."
        )
    return compact


def golden_record_get(golden_id: str) -> GoldenAnswer:
    """The golden record `golden_id`, or its survivor if it was merged away.

    Raises LookupKeyError for a malformed ID, GoldenRecord.DoesNotExist if none.
    """
    try:
        cleaned = golden_id_clean(golden_id)
    except InvalidGoldenId as exc:
        raise LookupKeyError(str(exc)) from None
    record = golden_record_by_golden_id(cleaned)
    if record is None:
        raise GoldenRecord.DoesNotExist(cleaned)
    if record.merged_into_id is None:
        return GoldenAnswer(golden=record, chain=[record.golden_id])
    survivors, chains = _follow_merges({record.pk: record})
    return GoldenAnswer(golden=survivors[record.pk], chain=chains[record.pk])


def golden_record_get_by_source(system: str, source_id: str) -> GoldenAnswer:
    """The golden record the source record (system, source_id) belongs to.

    Raises CrossReference.DoesNotExist for an unknown or unlinked key.
    """
    xref = link_by_source_key(system, source_id)
    if xref is None:
        raise CrossReference.DoesNotExist((system, source_id))
    return _answer_for_xref(xref)


def golden_record_list_by_uscc(uscc: str) -> list[GoldenAnswer]:
    """Active golden records holding `uscc` themselves, then those with a
    member source record that holds it (the surviving value may differ)."""
    return _by_uscc([uscc_clean(uscc)]).get(uscc_clean(uscc), [])


def golden_record_lookup_many(keys: Sequence[LookupKey]) -> list[LookupResult]:
    """Answer up to MAX_BATCH_KEYS mixed keys with a handful of queries (one
    per kind, plus one per level of merge chain), in the order given."""
    golden_ids: dict[str, str] = {}
    errors: dict[int, str] = {}
    for position, key in enumerate(keys):
        try:
            if key.kind == "golden_id":
                golden_ids[key.golden_id] = golden_id_clean(key.golden_id)
            elif key.kind == "uscc":
                uscc_clean(key.uscc)
        except (InvalidGoldenId, LookupKeyError) as exc:
            errors[position] = str(exc)
    by_id = _by_golden_id(set(golden_ids.values()))
    by_source = _by_source(
        [(k.system, k.source_id) for k in keys if k.kind == "source"]
    )
    by_uscc = _by_uscc(
        [
            uscc_clean(k.uscc)
            for i, k in enumerate(keys)
            if k.kind == "uscc" and i not in errors
        ]
    )
    results = []
    for position, key in enumerate(keys):
        if position in errors:
            results.append(LookupResult(key=key, answer=None, error=errors[position]))
            continue
        if key.kind == "golden_id":
            answer = by_id.get(golden_ids[key.golden_id])
        elif key.kind == "source":
            answer = by_source.get((key.system, key.source_id))
        else:
            found = by_uscc.get(uscc_clean(key.uscc), [])
            answer = found[0] if found else None
        results.append(LookupResult(key=key, answer=answer))
    return results


def _xrefs_with_golden():
    """Links with their golden record and the columns a lookup answer shows:
    not the source record's payload and standardised JSON, nor the source
    system's mapping rules, which would be read and decoded for nothing."""
    return CrossReference.objects.select_related(
        "golden", "source_record__source_system"
    ).only(
        "method",
        "score",
        "linked_at",
        "source_record__source_id",
        "source_record__is_active",
        "source_record__source_system__code",
        *(f"golden__{f.name}" for f in GoldenRecord._meta.concrete_fields),
    )


def _answer_for_xref(xref: CrossReference) -> GoldenAnswer:
    golden = xref.golden
    if golden.merged_into_id is None:
        return GoldenAnswer(golden=golden, chain=[golden.golden_id], xref=xref)
    # A link always moves with a merge; this is only a guard against old data.
    survivors, chains = _follow_merges({golden.pk: golden})
    return GoldenAnswer(golden=survivors[golden.pk], chain=chains[golden.pk], xref=xref)


def _follow_merges(
    records: dict[int, GoldenRecord],
) -> tuple[dict[int, GoldenRecord], dict[int, list[str]]]:
    """For each record, its live survivor and the chain of golden IDs that
    leads there; one query per level of merging across all records."""
    known = dict(records)
    for _ in range(MAX_MERGE_CHAIN):
        missing = {
            r.merged_into_id
            for r in known.values()
            if r.merged_into_id is not None and r.merged_into_id not in known
        }
        if not missing:
            break
        known.update(GoldenRecord.objects.in_bulk(missing))
    survivors, chains = {}, {}
    for pk, record in records.items():
        chain = [record.golden_id]
        while record.merged_into_id is not None:
            if len(chain) > MAX_MERGE_CHAIN:
                raise RuntimeError(f"merge chain from {chain[0]} does not end")
            record = known[record.merged_into_id]
            chain.append(record.golden_id)
        survivors[pk], chains[pk] = record, chain
    return survivors, chains


def _by_golden_id(golden_ids: set[str]) -> dict[str, GoldenAnswer]:
    if not golden_ids:
        return {}
    records = {r.pk: r for r in GoldenRecord.objects.filter(golden_id__in=golden_ids)}
    survivors, chains = _follow_merges(records)
    return {
        records[pk].golden_id: GoldenAnswer(golden=survivors[pk], chain=chains[pk])
        for pk in records
    }


def _by_source(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], GoldenAnswer]:
    per_system: dict[str, set[str]] = defaultdict(set)
    for system, source_id in keys:
        per_system[system].add(source_id)
    if not per_system:
        return {}
    # By system id, not code: a condition on the joined system's code, ORed
    # over systems, kept PostgreSQL from the (system, source ID) index and
    # scanned every source record (600 ms a batch at 1M records).
    system_ids = dict(
        SourceSystem.objects.filter(code__in=per_system).values_list("code", "pk")
    )
    condition = Q()
    for system, ids in per_system.items():
        if system in system_ids:
            condition |= Q(
                source_record__source_system_id=system_ids[system],
                source_record__source_id__in=ids,
            )
    if not condition:
        return {}
    xrefs = _xrefs_with_golden().filter(condition)
    return {
        (x.source_record.source_system.code, x.source_record.source_id): (
            _answer_for_xref(x)
        )
        for x in xrefs
    }


def _by_uscc(usccs: Sequence[str]) -> dict[str, list[GoldenAnswer]]:
    if not usccs:
        return {}
    found: dict[str, dict[int, GoldenRecord]] = defaultdict(dict)
    for golden in GoldenRecord.objects.filter(
        uscc__in=set(usccs), status=GoldenRecord.Status.ACTIVE
    ).order_by("pk"):
        found[golden.uscc][golden.pk] = golden
    for xref in (
        CrossReference.objects.select_related("golden", "source_record")
        .filter(source_record__uscc__in=set(usccs), golden__status="active")
        .order_by("golden_id")
    ):
        found[xref.source_record.uscc].setdefault(xref.golden_id, xref.golden)
    answers = {}
    for uscc, records in found.items():
        ids = [r.golden_id for r in records.values()]
        answers[uscc] = [
            GoldenAnswer(
                golden=r,
                chain=[r.golden_id],
                others=[i for i in ids if i != r.golden_id],
            )
            for r in records.values()
        ]
    return answers


@dataclass(frozen=True)
class SearchHit:
    golden: GoldenRecord
    score: float  # 0..1, the mean over the criteria asked
    matched: dict[str, float]  # criterion -> score
    source: str  # the member source record that matched best, "system:id"


def golden_record_search_ranked(
    *, name: str = "", phone: str = "", email: str = "", limit: int = 10
) -> list[SearchHit]:
    """Golden records ranked by how well they match every criterion given
    (name fuzzy: Chinese, pinyin or English; phone and e-mail exact after
    standardisation). A record missing a criterion scores 0 on it."""
    criteria: dict[str, list[tuple[SourceRecord, float]]] = {}
    if name.strip():
        criteria["name"] = name_candidates(name)
    if phone.strip():
        criteria["phone"] = _phone_candidates(phone)
    if email.strip():
        criteria["email"] = _email_candidates(email)
    best: dict[int, dict[str, tuple[float, SourceRecord]]] = defaultdict(dict)
    goldens: dict[int, GoldenRecord] = {}
    for criterion, found in criteria.items():
        for record, score in found:
            golden = record.xref.golden
            goldens[golden.pk] = golden
            current = best[golden.pk].get(criterion)
            if current is None or score > current[0]:
                best[golden.pk][criterion] = (score, record)
    hits = []
    for pk, scores in best.items():
        total = sum(score for score, _ in scores.values()) / len(criteria)
        top = max(scores.values(), key=lambda pair: pair[0])[1]
        hits.append(
            SearchHit(
                golden=goldens[pk],
                score=round(total, 4),
                matched={c: round(s, 4) for c, (s, _) in scores.items()},
                source=f"{top.source_system.code}:{top.source_id}",
            )
        )
    hits.sort(key=lambda h: (-h.score, h.golden.golden_id))
    return hits[:limit]


def _json_list_contains(attribute: str, value: str) -> Q:
    if on_postgres():
        # jsonb containment: answered by the GIN index of migration 0011.
        return Q(**{f"standardised__{attribute}__contains": [value]})
    # SQLite has no JSON containment; quoted, so one number does not match a
    # longer one.
    return Q(**{f"standardised__{attribute}__icontains": f'"{value}"'})


def _phone_candidates(query: str) -> list[tuple[SourceRecord, float]]:
    numbers = [phone.e164 for phone in standardise.phones(query)]
    condition = Q()
    for number in numbers:
        condition |= _json_list_contains("phones", number)
    if not numbers:
        return []
    return [(r, 1.0) for r in linked_records().filter(condition).order_by("pk")[:200]]


def _email_candidates(query: str) -> list[tuple[SourceRecord, float]]:
    parsed = standardise.email(query)
    if parsed is None:
        return []
    found = linked_records().filter(_json_list_contains("emails", parsed.address))
    return [(r, 1.0) for r in found.order_by("pk")[:200]]


@dataclass(frozen=True)
class Change:
    cursor: str
    row: Any  # a HistoricalGoldenRecord: the golden record as of this change


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    next_cursor: str  # pass back as `cursor` to continue; "" when no change yet
    has_more: bool


def cursor_encode(history_id: int) -> str:
    return base64.urlsafe_b64encode(f"h{history_id}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("h"):
            raise ValueError(text)
        value = int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise LookupKeyError("This cursor was not issued by this API.") from None
    if value < 0:
        raise LookupKeyError("This cursor was not issued by this API.")
    return value


def golden_change_list(
    *, since: datetime | None, cursor: str, limit: int, now: datetime | None = None
) -> ChangePage:
    """Changes of golden records in the order they were written, from the
    golden record history: after `cursor`, or from `since`, or from the start.
    Only changes older than CHANGES_SETTLE are served (see its comment)."""
    history = GoldenRecord.history.model.objects.select_related("merged_into")
    rows = history.filter(
        history_date__lte=(now or timezone.now()) - CHANGES_SETTLE
    ).order_by("history_id")
    if cursor:
        rows = rows.filter(history_id__gt=cursor_decode(cursor))
    elif since is not None:
        rows = rows.filter(history_date__gte=since)
    found = list(rows[: limit + 1])
    changes = [Change(cursor=cursor_encode(r.history_id), row=r) for r in found[:limit]]
    next_cursor = changes[-1].cursor if changes else cursor
    return ChangePage(
        changes=changes, next_cursor=next_cursor, has_more=len(found) > limit
    )


def candidate_record_match(
    *, attributes: dict[str, Any], system: SourceSystem | None
) -> MatchOutcome:
    """What the real-time matcher would do with a record of `attributes`
    arriving now: its candidates with explanations. Nothing is written."""
    standardised = attributes_standardise(attributes)
    record = SourceRecord(
        source_system=system or SourceSystem(code="candidate", name="candidate"),
        source_id="",
        attributes=attributes,
        standardised=standardised,
        name=(attributes.get("legal_name") or attributes.get("english_name") or "")[
            :300
        ],
        uscc=(standardised.get("uscc") or "")[:32],
        uscc_valid=standardised.get("uscc_valid"),
    )
    return source_record_match(record)
