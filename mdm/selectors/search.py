"""The search page: golden records by golden ID, source ID, USCC, phone or
name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from matching import standardise
from mdm.golden_ids import InvalidGoldenId
from mdm.models import (
    CrossReference,
    GoldenRecord,
    SourceRecord,
)
from mdm.selectors.golden_records import golden_record_resolve
from mdm.selectors.names import name_candidates


@dataclass(frozen=True)
class SearchHit:
    golden: GoldenRecord
    record: SourceRecord | None  # the member that matched, if one did
    score: float | None = None  # name similarity, 0..100


@dataclass(frozen=True)
class SearchResult:
    kind: str  # empty, golden_id, typo, source_id, uscc, phone, name
    hits: list[SearchHit]
    chain: list[str] = field(default_factory=list)  # a golden ID's merge chain


SEARCH_LIMIT = 25
# Records a search by source ID, USCC or phone reads at most; name hits this
# far below the best one are dropped (scores 0..100).
HITS_PER_KEY = 2000
NAME_SCORE_SPREAD = 30.0
_GOLDEN_ID_SHAPE = re.compile(r"^GR[\d\s\-]*$", re.IGNORECASE)
_TAX_ID_SHAPE = re.compile(r"^[0-9A-Za-z]{15,20}$")
_PHONE_SHAPE = re.compile(r"^[+\d\s\-()]{7,}$")


def golden_record_search(query: str) -> SearchResult:
    """Find golden records by golden ID (check digit verified), source ID,
    USCC, phone (normalised to E.164) or name (fuzzy; Chinese or pinyin)."""
    query = " ".join(query.split())
    if not query:
        return SearchResult(kind="empty", hits=[])
    if _GOLDEN_ID_SHAPE.match(query):
        return _search_golden_id(query)
    by_source_id = _search_source_id(query)
    if by_source_id:
        return SearchResult(kind="source_id", hits=by_source_id)
    compact = re.sub(r"[\s\-]", "", query)
    if _TAX_ID_SHAPE.match(compact) and sum(c.isdigit() for c in compact) >= 6:
        return SearchResult(kind="uscc", hits=_search_uscc(compact.upper()))
    if _PHONE_SHAPE.match(query):
        return SearchResult(kind="phone", hits=_search_phone(query))
    return SearchResult(kind="name", hits=_search_name(query))


def _search_golden_id(query: str) -> SearchResult:
    try:
        resolution = golden_record_resolve(query)
    except InvalidGoldenId:
        return SearchResult(kind="typo", hits=[])
    except GoldenRecord.DoesNotExist:
        return SearchResult(kind="golden_id", hits=[])
    return SearchResult(
        kind="golden_id",
        hits=[SearchHit(golden=resolution.record, record=None)],
        chain=resolution.chain,
    )


def _hits_for(records: QuerySet[SourceRecord]) -> list[SearchHit]:
    hits: dict[int, SearchHit] = {}
    for record in records.select_related("source_system", "xref__golden")[
        :HITS_PER_KEY
    ]:
        golden = _golden_of(record)
        if golden is not None and golden.pk not in hits:
            hits[golden.pk] = SearchHit(golden=golden, record=record)
    return list(hits.values())[:SEARCH_LIMIT]


def _golden_of(record: SourceRecord) -> GoldenRecord | None:
    try:
        return record.xref.golden
    except CrossReference.DoesNotExist:
        return None


def _search_source_id(query: str) -> list[SearchHit]:
    condition = Q(source_id__iexact=query)
    system, _, source_id = query.partition(":")
    if source_id:
        condition |= Q(source_system__code__iexact=system, source_id__iexact=source_id)
    return _hits_for(SourceRecord.objects.filter(condition).order_by("pk"))


def _search_uscc(uscc: str) -> list[SearchHit]:
    hits = _hits_for(SourceRecord.objects.filter(uscc=uscc).order_by("pk"))
    seen = {hit.golden.pk for hit in hits}
    hits += [
        SearchHit(golden=golden, record=None)
        for golden in GoldenRecord.objects.filter(
            uscc=uscc, status=GoldenRecord.Status.ACTIVE
        ).exclude(pk__in=seen)
    ]
    return hits[:SEARCH_LIMIT]


def _search_phone(query: str) -> list[SearchHit]:
    numbers = [phone.e164 for phone in standardise.phones(query)]
    if not numbers:
        return []
    condition = Q()
    for number in numbers:
        # Quoted, so that one number does not match a longer one.
        condition |= Q(standardised__phones__icontains=f'"{number}"')
    return _hits_for(SourceRecord.objects.filter(condition).order_by("pk"))


def _search_name(query: str) -> list[SearchHit]:
    best: dict[int, SearchHit] = {}
    for record, score in name_candidates(query):
        golden = record.xref.golden
        score *= 100
        if golden.pk not in best or score > best[golden.pk].score:
            best[golden.pk] = SearchHit(golden=golden, record=record, score=score)
    hits = sorted(best.values(), key=lambda h: -h.score)
    # Far below the best hit is noise ("weihai" finding every 威 and 海).
    floor = hits[0].score - NAME_SCORE_SPREAD if hits else 0
    return [hit for hit in hits if hit.score >= floor][:SEARCH_LIMIT]
