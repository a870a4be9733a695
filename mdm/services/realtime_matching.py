"""Matching one source record the moment it arrives.

Each process keeps an in-memory `matching.RecordIndex` of every active source
record, built on first use (or at start-up: `realtime_index_warm`, which the
gunicorn config in deploy/ calls in the master before it forks the workers,
so they share one build). Building standardises every record: about 800 µs
each, 13 minutes at a million records, so it streams rows in chunks, then
indexes them as one segment. With REALTIME_INDEX_SNAPSHOT set, a build
keeps the index in a file and the next one reads it back in seconds
(mdm/services/realtime_snapshot.py).

The index follows the database through the source-record history table,
which every write path fills (a history row per change, RELIABILITY C5):
before each match it reads the history rows added since its last look, by
`history_id`, the table's primary key (an index range scan of a few rows),
and re-indexes those records. Several app processes stay in step this way,
and a record another process wrote is matched against as soon as its
transaction has committed. A transaction may commit after a later one: its
history ids show up as a gap, which is looked at again until it fills or
`SYNC_MARGIN` passes (a rolled-back transaction leaves a gap for good).
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any

from django.db.models import Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

import matching
from mdm.matching_adapter import (
    matching_fields,
    source_record_as_matching_record,
    source_rows_as_matching_table,
)
from mdm.models import (
    CrossReference,
    GoldenRecord,
    MatchRun,
    SourceRecord,
    SourceSystem,
)
from mdm.selectors.decisions import not_a_match_partners
from mdm.selectors.rows import links_of_active_records
from mdm.services.match_models import match_config_current
from mdm.services.realtime_snapshot import snapshot_read, snapshot_write

logger = logging.getLogger(__name__)

# A transaction may commit a little after the history ids it wrote.
SYNC_MARGIN = timedelta(seconds=30)
TOP_CANDIDATES = 5
# Records read, standardised and indexed at a time (one index segment each):
# bounds the memory of a build to one chunk's raw values.
BUILD_CHUNK = 250_000
# More changed records than this at once (a worker catching up after a bulk
# import) are standardised together and indexed as one segment.
BULK_CATCH_UP = 500
# A snapshot read back is written anew when its start-up caught up with
# more records than this (see realtime_index_warm).
SNAPSHOT_REFRESH_CHANGES = 10_000
_FETCH = 10_000


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


@dataclass(frozen=True)
class IndexBuild:
    """What building the index took: for logs and benchmarks."""

    records: int
    chunks: int  # standardised BUILD_CHUNK at a time, then indexed as one
    seconds: float
    rss_before_mib: float
    rss_after_mib: float
    from_snapshot: bool = False


class _IndexHolder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: matching.RecordIndex | None = None
        self.config: matching.MatchConfig | None = None
        # Every history row up to `watermark` is applied, except `pending`
        # ids (gaps: history_id -> when first missed, monotonic seconds).
        self.watermark = 0
        self.pending: dict[int, float] = {}
        self.last_build: IndexBuild | None = None
        self.last_catch_up = 0  # records the last catch-up re-indexed

    def reset(self) -> None:
        with self.lock:
            self.index = None
            self.config = None
            self.watermark = 0
            self.pending = {}


_holder = _IndexHolder()


def realtime_index_reset() -> None:
    """Forget this process's index (tests; after a batch run)."""
    _holder.reset()
    _codes.clear()
    _config_cache.clear()


# The model in force, checked at most every CONFIG_TTL seconds: a batch run
# that another process finishes takes effect here within that time (as if
# the records matched meanwhile had arrived a moment earlier). A run saved
# in this process clears it at once (the signal below; batch runs also call
# `realtime_index_reset`).
CONFIG_TTL = 5.0
_config_cache: dict[str, Any] = {}


def _config_current() -> matching.MatchConfig:
    now = time.monotonic()
    cached = _config_cache.get("config")
    if cached is None or now - _config_cache["at"] > CONFIG_TTL:
        cached = _config_cache["config"] = match_config_current()
        _config_cache["at"] = now
    return cached


@receiver(post_save, sender=MatchRun)
@receiver(post_delete, sender=MatchRun)
def _match_run_changed(**kwargs: Any) -> None:
    _config_cache.clear()


def realtime_index_warm() -> IndexBuild | None:
    """Build (or bring up to date) this process's index now, so the first
    request does not wait for it. Returns the build's figures, None if the
    index was already built.

    An index read from its snapshot that then caught up with more than
    SNAPSHOT_REFRESH_CHANGES records is written back, so that start-ups do
    not catch up with ever more changes."""
    _config_cache.clear()
    config = _config_current()
    before = _holder.last_build
    index = _synced_index(config)
    build = _holder.last_build
    if build is before:
        return None
    if not build.from_snapshot:
        with _holder.lock:
            _holder.index = index = _compacted(index)
    index.warm()
    if build.from_snapshot and _holder.last_catch_up > SNAPSHOT_REFRESH_CHANGES:
        with _holder.lock:
            # complete up to the first history id still awaited (a gap)
            complete = min(_holder.pending, default=_holder.watermark + 1) - 1
            snapshot_write(_holder.index, complete, config)
    return build


def _compacted(index: matching.RecordIndex) -> matching.RecordIndex:
    """A copy of a freshly built `index`, read back from its pickle while the
    original still lives: built from millions of standardised values, the
    original's strings lie scattered among the build's garbage; the copy's
    lie in order in fresh memory. At a million records the workers then
    spend 23.2 ms of CPU a REST ingest instead of 27.2 (22.4 from a
    snapshot; docs/benchmarks.md, REST ingest, session 9); for ~10 s the
    process holds both (~2 GiB more at a million)."""
    return pickle.loads(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))


def _synced_index(
    config: matching.MatchConfig, known: SourceRecord | None = None
) -> matching.RecordIndex:
    """The index, brought up to date; `known` is a record this transaction
    has just written (and locked): its row need not be read back."""
    with _holder.lock:
        # match_config_current returns the same object while the model is
        # unchanged, so identity tells whether the index must be rebuilt.
        if _holder.index is None or _holder.config is not config:
            _holder.index = None  # free the old index before building anew
            _holder.index, _holder.watermark = _build(config)
            _holder.config = config
            _holder.pending = {}
        _catch_up(_holder.index, known)
        return _holder.index


def _build(config: matching.MatchConfig) -> tuple[matching.RecordIndex, int]:
    """A fresh index of every active record, and the history id up to which
    it is certainly complete; read from the snapshot file when one fits
    (mdm/services/realtime_snapshot.py)."""
    started = time.perf_counter()
    rss_before = _rss_mib()
    kept = snapshot_read(config)
    if kept is not None:
        index, watermark = kept
        _holder.last_build = _build_figures(
            index, 0, started, rss_before, from_snapshot=True
        )
        return index, watermark
    history = SourceRecord.history.model
    # Changes of the last SYNC_MARGIN (and any made during the build) are
    # applied again by the first catch-up: a transaction in flight now may
    # commit with lower history ids than the highest one seen.
    settled = timezone.now() - SYNC_MARGIN
    watermark = (
        history.objects.filter(history_date__lt=settled).aggregate(
            top=Max("history_id")
        )["top"]
        or 0
    )
    index = matching.RecordIndex(config)
    # One segment for all: a query then looks each key up once, and its
    # candidates' values are read as arrays (matching.mini_column).
    chunks = list(
        _prepared_chunks(
            SourceRecord.objects.filter(is_active=True).values_list(
                "pk", "source_system_id", "attributes"
            ),
            config,
        )
    )
    chunk_count = len(chunks)
    if chunks:
        index.add_table(matching.concat_tables(chunks))
    del chunks  # the chunks' arrays, copied into the index's
    _holder.last_build = _build_figures(index, chunk_count, started, rss_before)
    snapshot_write(index, watermark, config)
    return index, watermark


def _build_figures(
    index: matching.RecordIndex,
    chunks: int,
    started: float,
    rss_before: float,
    *,
    from_snapshot: bool = False,
) -> IndexBuild:
    build = IndexBuild(
        records=len(index),
        chunks=chunks,
        seconds=round(time.perf_counter() - started, 2),
        rss_before_mib=rss_before,
        rss_after_mib=_rss_mib(),
        from_snapshot=from_snapshot,
    )
    logger.info(
        "real-time index: %d records in %.1f s (%s), RSS %.0f -> %.0f MiB",
        build.records,
        build.seconds,
        "read from its snapshot" if from_snapshot else f"{chunks} chunks",
        build.rss_before_mib,
        build.rss_after_mib,
    )
    return build


def _prepared_chunks(rows, config: matching.MatchConfig) -> Iterator[matching.Table]:
    """Rows (pk, system id, attributes), streamed with a server-side cursor
    on PostgreSQL, standardised BUILD_CHUNK at a time."""
    codes = _system_codes(refresh=True)
    stream = rows.order_by().iterator(chunk_size=_FETCH)
    while chunk := list(islice(stream, BUILD_CHUNK)):
        yield source_rows_as_matching_table(
            ((pk, codes[system], attributes) for pk, system, attributes in chunk),
            config.schema,
        )


def _catch_up(index: matching.RecordIndex, known: SourceRecord | None = None) -> None:
    """Re-index the records changed since the last look (see module doc)."""
    history = SourceRecord.history.model
    floor = min(_holder.pending, default=_holder.watermark + 1)
    seen: set[int] = set()
    changed: set[int] = set()
    # A plain query, not a server-side cursor: usually a row or two.
    for history_id, record_id in (
        history.objects.filter(history_id__gte=floor)
        .order_by()
        .values_list("history_id", "id")
    ):
        if history_id > _holder.watermark or history_id in _holder.pending:
            seen.add(history_id)
            changed.add(record_id)
    now = time.monotonic()
    top = max(seen, default=_holder.watermark)
    for history_id in seen:
        _holder.pending.pop(history_id, None)
    for history_id in range(_holder.watermark + 1, top):
        if history_id not in seen:
            _holder.pending[history_id] = now
    expired = now - SYNC_MARGIN.total_seconds()
    _holder.pending = {k: at for k, at in _holder.pending.items() if at >= expired}
    _holder.watermark = top
    _holder.last_catch_up = len(changed)
    if changed:
        _reindex(index, changed, known)


def _reindex(
    index: matching.RecordIndex,
    record_ids: Iterable[int],
    known: SourceRecord | None = None,
) -> None:
    record_ids = list(record_ids)
    for record_id in record_ids:
        _index_forget(index, str(record_id))
    if known is not None and known.pk in record_ids:
        record_ids.remove(known.pk)
        if known.is_active:
            index.add(source_record_as_matching_record(known))
        if not record_ids:
            return
    codes = _system_codes()
    active = SourceRecord.objects.filter(is_active=True).values_list(
        "pk", "source_system_id", "attributes"
    )
    if len(record_ids) > BULK_CATCH_UP:
        for start in range(0, len(record_ids), BUILD_CHUNK):
            rows = active.filter(pk__in=record_ids[start : start + BUILD_CHUNK])
            for table in _prepared_chunks(rows, index.config):
                index.add_table(table)
        return
    for pk, system, attributes in active.filter(pk__in=record_ids):
        if system not in codes:  # a system added since: read them again
            codes = _system_codes(refresh=True)
        index.add(
            matching.Record(
                id=str(pk),
                source=codes[system],
                fields=matching_fields(attributes),
            )
        )


_codes: dict[int, str] = {}


def _system_codes(refresh: bool = False) -> dict[int, str]:
    """Source system id -> code, read once per process (codes never change:
    a system's records are keyed by it)."""
    if refresh or not _codes:
        _codes.clear()
        _codes.update(SourceSystem.objects.values_list("pk", "code"))
    return _codes


def _index_forget(index: matching.RecordIndex, record_id: str) -> None:
    try:
        index.remove(record_id)
    except KeyError:  # new since the last look, or inactive: not indexed
        pass


def _rss_mib() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:  # not Linux
        pass
    return 0.0


def source_record_match(record: SourceRecord, *, created: bool = False) -> MatchOutcome:
    """Score `record` against every active record and decide what to do.

    `created`: the record was created in this transaction (no steward can
    have declared it apart from another yet)."""
    config = _config_current()
    index = _synced_index(config, known=record)
    found = matching.match_one(
        source_record_as_matching_record(record), index, config, top=TOP_CANDIDATES * 3
    )
    candidates = _live_candidates(record, found, created=created)
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
    record: SourceRecord, found: list[matching.Candidate], *, created: bool = False
) -> list[CandidateMatch]:
    """Turn engine candidates into live records with their golden records,
    one per golden record, dropping pairs a steward declared not a match; the
    best TOP_CANDIDATES (only theirs are explained)."""
    ids = [int(c.id) for c in found]
    if not ids:
        return []
    # A new record's candidates are only linked or queued against: their
    # golden records' JSON columns would be decoded for nothing.
    links = links_of_active_records(ids, whole_golden=not created)
    xrefs = {x.source_record_id: x for x in links}
    partners = set() if created else not_a_match_partners(record.pk)
    forbidden = set(
        CrossReference.objects.filter(source_record_id__in=partners).values_list(
            "golden_id", flat=True
        )
        if partners
        else ()
    )
    result: list[CandidateMatch] = []
    seen_golden: set[int] = set()
    for candidate in found:
        if len(result) == TOP_CANDIDATES:
            break
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
