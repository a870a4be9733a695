"""Batch matching over every active source record: train, score, cluster,
then place unlinked records in golden records and fill the review queue.

Stewards' earlier work is never undone by a batch run: records that already
belong to a golden record stay there; the batch only places records that
have no golden record yet, and proposes reviews for the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

import matching
from mdm.matching_adapter import source_rows_as_matching_table
from mdm.models import CrossReference, GoldenRecord, MatchRun, SourceRecord
from mdm.selectors.decisions import not_a_match_pairs
from mdm.services.golden_records import (
    golden_record_link,
    golden_record_recompute,
    golden_records_create_many,
)
from mdm.services.match_models import match_config_current
from mdm.services.realtime_matching import realtime_index_reset
from mdm.services.review_queue import review_tasks_open_many

Progress = Callable[[str, int, int], None]
# New golden records, or review tasks, written per statement batch.
CREATE_BATCH = 500
# Rows read from the database at a time.
ROWS_CHUNK = 2000


def matching_run_batch(*, progress: Progress | None = None) -> MatchRun:
    """Run batch matching and apply it; the run row keeps the trained model.

    The engine gets (primary key, system, attributes) rows streamed from the
    database, never a model object per record; the records a golden record
    or a review task needs are loaded CREATE_BATCH at a time while the
    result is written. A 100,000-record run peaked at 1.7 GiB when every
    active record was held as a model object."""
    run = MatchRun.objects.create()
    config = match_config_current()
    try:
        rows = (
            SourceRecord.objects.filter(is_active=True)
            .order_by("pk")
            .values_list("pk", "source_system__code", "attributes")
        )
        result = matching.run_pipeline(
            source_rows_as_matching_table(
                rows.iterator(chunk_size=ROWS_CHUNK), config.schema
            ),
            config,
            retrain=True,
            cannot_link=[(str(a), str(b)) for a, b in not_a_match_pairs()],
            progress=progress,
        )
        stats = _apply(result)
    except Exception as exc:
        MatchRun.objects.filter(pk=run.pk).update(
            status=MatchRun.Status.FAILED, error=repr(exc), finished_at=timezone.now()
        )
        raise
    run.status = MatchRun.Status.DONE
    run.config = result.config.to_dict()
    run.config_hash = result.config_hash
    run.records = len(result.ids)
    run.pairs_scored = int(result.scores.size)
    run.stats = stats
    run.finished_at = timezone.now()
    run.save()
    realtime_index_reset()
    return run


@transaction.atomic
def _apply(result: matching.MatchResult) -> dict:
    ids = [int(pk) for pk in result.ids]
    # Every link, not those of the run's records by primary key: an IN list
    # of a million keys is over SQLite's limit on query parameters.
    linked = set(ids)
    golden_of = {
        record: golden
        for record, golden in CrossReference.objects.values_list(
            "source_record_id", "golden_id"
        ).iterator(chunk_size=ROWS_CHUNK)
        if record in linked
    }
    clusters: dict[int, list[int]] = defaultdict(list)
    for record_id, cluster_id in zip(ids, result.cluster_ids, strict=True):
        clusters[int(cluster_id)].append(record_id)
    gone = _lock_unlinked([pk for pk in ids if pk not in golden_of], golden_of)
    joined = 0
    new: list[tuple[list[int], str]] = []
    for members in clusters.values():
        unlinked = [pk for pk in members if pk not in golden_of and pk not in gone]
        if not unlinked:
            continue
        existing = {golden_of[pk] for pk in members if pk in golden_of}
        if len(existing) == 1:
            loaded = _records(unlinked)
            golden_pk = _join([loaded[pk] for pk in unlinked], existing.pop())
            golden_of.update((pk, golden_pk) for pk in unlinked)
            joined += len(unlinked)
        else:
            # No golden record yet, or several: the unlinked ones form a new
            # one; several existing golden records are a steward's call.
            method = (
                CrossReference.Method.AUTO_MATCH
                if len(unlinked) > 1
                else CrossReference.Method.NEW
            )
            new.append((unlinked, method))
    for start in range(0, len(new), CREATE_BATCH):
        batch = new[start : start + CREATE_BATCH]
        loaded = _records(pk for members, _method in batch for pk in members)
        groups = [([loaded[pk] for pk in members], m) for members, m in batch]
        for golden, (members, _method) in zip(
            golden_records_create_many(groups), batch, strict=True
        ):
            golden_of.update((pk, golden.pk) for pk in members)
    reviews = _open_reviews(result, golden_of)
    return {
        "golden_created": len(new),
        "records_joined_existing": joined,
        "review_tasks": reviews,
        "clusters": len(clusters),
        "blocking": {
            "candidate_pairs": result.blocking.candidate_pairs,
            "reduction_ratio": result.blocking.reduction_ratio,
        },
    }


def _lock_unlinked(pks: list[int], golden_of: dict[int, int]) -> set[int]:
    """Lock the records the run is to place (ascending ids), then look again
    at their links: a record placed since the links were read (an API
    upsert, an import placing its records one by one: `source_record_place`,
    which locks the record first) is added to `golden_of`, and one made
    inactive meanwhile is returned, to be left alone. Whoever places one of
    them from now on waits for this run, then finds it placed. Without this,
    on PostgreSQL, a record placed meanwhile made the run's link to it break
    the one-link-per-record key and the whole run roll back. (On SQLite the
    run's transaction holds the database's write lock from its start.)"""
    gone: set[int] = set()
    for start in range(0, len(pks), ROWS_CHUNK):
        chunk = pks[start : start + ROWS_CHUNK]
        active = set(
            SourceRecord.objects.select_for_update()
            .filter(pk__in=chunk, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        gone.update(pk for pk in chunk if pk not in active)
        golden_of.update(
            CrossReference.objects.filter(source_record_id__in=chunk).values_list(
                "source_record_id", "golden_id"
            )
        )
    return gone


def _records(pks: Iterable[int]) -> dict[int, SourceRecord]:
    """The source records a batch of writes needs, by primary key."""
    return SourceRecord.objects.select_related("source_system").in_bulk(list(pks))


def _join(unlinked: list[SourceRecord], golden_pk: int) -> int:
    golden = GoldenRecord.objects.get(pk=golden_pk)
    for record in unlinked:
        golden_record_link(
            record=record, golden=golden, method=CrossReference.Method.AUTO_MATCH
        )
    golden_record_recompute(golden=golden, reason="batch match")
    return golden.pk


def _open_reviews(result: matching.MatchResult, golden_of: dict[int, int]) -> int:
    opened = 0
    batch: list[tuple[int, int, float, list[dict]]] = []
    for k in result.review:
        a = int(result.ids[result.left[k]])
        b = int(result.ids[result.right[k]])
        if golden_of.get(a) == golden_of.get(b):
            continue
        evidence = [
            {
                "comparison": e.comparison,
                "level": e.level,
                "text": e.text,
                "weight": round(e.weight, 3),
            }
            for e in matching.explain_pair(result, int(k))
        ]
        batch.append((a, b, float(result.scores[k]), evidence))
        if len(batch) == CREATE_BATCH:
            opened += _open_batch(batch)
            batch = []
    return opened + _open_batch(batch)


def _open_batch(batch: list[tuple[int, int, float, list[dict]]]) -> int:
    if batch:
        loaded = _records(pk for a, b, _s, _e in batch for pk in (a, b))
        review_tasks_open_many(
            [(loaded[a], loaded[b], score, evidence) for a, b, score, evidence in batch]
        )
    return len(batch)
