"""Matching one source record the moment it arrives.

Each process keeps an in-memory `matching.RecordIndex` of every active source
record. Before each match it applies the records changed since its last look
(by `updated_at`, with a margin for transactions that committed late), so
several app processes stay in step through the database alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

import matching
from mdm.matching_adapter import source_record_as_matching_record
from mdm.models import CrossReference, GoldenRecord, SourceRecord
from mdm.selectors import not_a_match_partners
from mdm.services.match_models import match_config_current

# A transaction may commit a little after the timestamp it wrote.
SYNC_MARGIN = timedelta(seconds=30)
TOP_CANDIDATES = 5


@dataclass(frozen=True)
class CandidateMatch:
    record: SourceRecord
    golden: GoldenRecord
    score: float
    evidence: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "golden_id": self.golden.golden_id,
            "source": self.record.key,
            "score": round(self.score, 4),
            "explanation": self.evidence,
        }


@dataclass(frozen=True)
class MatchOutcome:
    AUTO_MERGE = "auto_merge"
    REVIEW = "review"
    NEW = "new"

    decision: str
    candidates: list[CandidateMatch] = field(default_factory=list)
    review_threshold: float = 1.0

    @property
    def best(self) -> CandidateMatch:
        return self.candidates[0]

    @property
    def review_candidates(self) -> list[CandidateMatch]:
        return [c for c in self.candidates if c.score >= self.review_threshold]

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "score": round(self.best.score, 4) if self.candidates else None,
            "candidates": [c.as_dict() for c in self.candidates],
        }


class _IndexHolder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: matching.RecordIndex | None = None
        self.config: matching.MatchConfig | None = None
        self.synced_to: datetime | None = None
        # (pk, updated_at) of records applied within the sync margin, so a
        # busy API does not re-index the same recent changes on every call.
        self.applied: dict[int, datetime] = {}

    def reset(self) -> None:
        with self.lock:
            self.index = None
            self.config = None
            self.synced_to = None
            self.applied = {}


_holder = _IndexHolder()


def realtime_index_reset() -> None:
    """Forget this process's index (tests; after a bulk load)."""
    _holder.reset()


def _synced_index(config: matching.MatchConfig) -> matching.RecordIndex:
    with _holder.lock:
        now = timezone.now()
        # match_config_current returns the same object while the model is
        # unchanged, so identity tells whether the index must be rebuilt.
        if _holder.index is None or _holder.config is not config:
            records = SourceRecord.objects.filter(is_active=True).select_related(
                "source_system"
            )
            _holder.index = matching.RecordIndex(
                config,
                (source_record_as_matching_record(r) for r in records.iterator()),
            )
            _holder.config = config
            _holder.applied = {}
        else:
            since = _holder.synced_to - SYNC_MARGIN
            changed = SourceRecord.objects.filter(updated_at__gte=since).select_related(
                "source_system"
            )
            applied = {pk: at for pk, at in _holder.applied.items() if at >= since}
            for record in changed.iterator():
                if applied.get(record.pk) == record.updated_at:
                    continue
                _index_forget(_holder.index, str(record.pk))
                if record.is_active:
                    _holder.index.add(source_record_as_matching_record(record))
                applied[record.pk] = record.updated_at
            _holder.applied = applied
        _holder.synced_to = now
        return _holder.index


def _index_forget(index: matching.RecordIndex, record_id: str) -> None:
    try:
        index.remove(record_id)
    except KeyError:  # new since the last sync, or inactive: not indexed
        pass


def source_record_match(record: SourceRecord) -> MatchOutcome:
    """Score `record` against every active record and decide what to do."""
    config = match_config_current()
    index = _synced_index(config)
    found = matching.match_one(
        source_record_as_matching_record(record), index, config, top=TOP_CANDIDATES * 3
    )
    candidates = _live_candidates(record, found)[:TOP_CANDIDATES]
    if (
        candidates
        and candidates[0].score >= config.auto_merge_threshold
        and not _uscc_conflict(record, candidates[0].golden)
    ):
        decision = MatchOutcome.AUTO_MERGE
    elif candidates and candidates[0].score >= config.review_threshold:
        decision = MatchOutcome.REVIEW
    else:
        decision = MatchOutcome.NEW
    return MatchOutcome(
        decision=decision,
        candidates=candidates,
        review_threshold=config.review_threshold,
    )


def _uscc_conflict(record: SourceRecord, golden: GoldenRecord) -> bool:
    """True when the golden record already holds a valid USCC other than the
    record's: the pair may match, but not the whole cluster (the batch path's
    no-chain rule, on the real-time path)."""
    if not record.uscc_valid:
        return False
    return (
        SourceRecord.objects.filter(
            xref__golden=golden, is_active=True, uscc_valid=True
        )
        .exclude(uscc=record.uscc)
        .exists()
    )


def _live_candidates(
    record: SourceRecord, found: list[matching.Candidate]
) -> list[CandidateMatch]:
    """Turn engine candidates into live records with their golden records,
    one per golden record, dropping pairs a steward declared not a match."""
    ids = [int(c.id) for c in found]
    xrefs = {
        x.source_record_id: x
        for x in CrossReference.objects.select_related(
            "golden", "source_record__source_system"
        ).filter(source_record_id__in=ids, source_record__is_active=True)
    }
    forbidden = set(
        CrossReference.objects.filter(
            source_record_id__in=not_a_match_partners(record.pk)
        ).values_list("golden_id", flat=True)
    )
    result: list[CandidateMatch] = []
    seen_golden: set[int] = set()
    for candidate in found:
        xref = xrefs.get(int(candidate.id))
        if xref is None or xref.golden_id in seen_golden | forbidden:
            continue
        seen_golden.add(xref.golden_id)
        result.append(
            CandidateMatch(
                record=xref.source_record,
                golden=xref.golden,
                score=candidate.score,
                evidence=[_evidence_dict(e) for e in candidate.evidence],
            )
        )
    return result


def _evidence_dict(evidence: matching.FieldEvidence) -> dict[str, Any]:
    return {
        "comparison": evidence.comparison,
        "level": evidence.level,
        "text": evidence.text,
        "weight": round(evidence.weight, 3),
    }
