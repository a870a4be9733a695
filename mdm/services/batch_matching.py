"""Batch matching over every active source record: train, score, cluster,
then place unlinked records in golden records and fill the review queue.

Stewards' earlier work is never undone by a batch run: records that already
belong to a golden record stay there; the batch only places records that
have no golden record yet, and proposes reviews for the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

import matching
from mdm.matching_adapter import source_record_as_matching_record
from mdm.models import CrossReference, GoldenRecord, MatchRun, SourceRecord
from mdm.selectors.decisions import not_a_match_pairs
from mdm.services.golden_records import (
    golden_record_link,
    golden_record_recompute,
    golden_records_create_many,
)
from mdm.services.match_models import match_config_current
from mdm.services.realtime_matching import realtime_index_reset
from mdm.services.review_queue import Pair, review_tasks_open_many

Progress = Callable[[str, int, int], None]
# New golden records, or review tasks, written per statement batch.
CREATE_BATCH = 500


def matching_run_batch(*, progress: Progress | None = None) -> MatchRun:
    """Run batch matching and apply it; the run row keeps the trained model."""
    run = MatchRun.objects.create()
    try:
        records = {
            r.pk: r
            for r in SourceRecord.objects.filter(is_active=True).select_related(
                "source_system"
            )
        }
        result = matching.run_pipeline(
            [source_record_as_matching_record(r) for r in records.values()],
            match_config_current(),
            retrain=True,
            cannot_link=[(str(a), str(b)) for a, b in not_a_match_pairs()],
            progress=progress,
        )
        stats = _apply(result, records)
    except Exception as exc:
        MatchRun.objects.filter(pk=run.pk).update(
            status=MatchRun.Status.FAILED, error=repr(exc), finished_at=timezone.now()
        )
        raise
    run.status = MatchRun.Status.DONE
    run.config = result.config.to_dict()
    run.config_hash = result.config_hash
    run.records = len(records)
    run.pairs_scored = int(result.scores.size)
    run.stats = stats
    run.finished_at = timezone.now()
    run.save()
    realtime_index_reset()
    return run


@transaction.atomic
def _apply(result: matching.MatchResult, records: dict[int, SourceRecord]) -> dict:
    golden_of = dict(
        CrossReference.objects.filter(source_record_id__in=records).values_list(
            "source_record_id", "golden_id"
        )
    )
    clusters: dict[int, list[int]] = defaultdict(list)
    for record_id, cluster_id in zip(result.ids, result.cluster_ids, strict=True):
        clusters[int(cluster_id)].append(int(record_id))
    joined = 0
    new: list[tuple[list[SourceRecord], str]] = []
    for members in clusters.values():
        unlinked = [records[pk] for pk in members if pk not in golden_of]
        if not unlinked:
            continue
        existing = {golden_of[pk] for pk in members if pk in golden_of}
        if len(existing) == 1:
            golden_pk = _join(unlinked, existing.pop())
            golden_of.update((record.pk, golden_pk) for record in unlinked)
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
        for golden, (unlinked, _method) in zip(
            golden_records_create_many(batch), batch, strict=True
        ):
            golden_of.update((record.pk, golden.pk) for record in unlinked)
    reviews = _open_reviews(result, records, golden_of)
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


def _join(unlinked: list[SourceRecord], golden_pk: int) -> int:
    golden = GoldenRecord.objects.get(pk=golden_pk)
    for record in unlinked:
        golden_record_link(
            record=record, golden=golden, method=CrossReference.Method.AUTO_MATCH
        )
    golden_record_recompute(golden=golden, reason="batch match")
    return golden.pk


def _open_reviews(
    result: matching.MatchResult,
    records: dict[int, SourceRecord],
    golden_of: dict[int, int],
) -> int:
    pairs: list[Pair] = []
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
        pairs.append((records[a], records[b], float(result.scores[k]), evidence))
    for start in range(0, len(pairs), CREATE_BATCH):
        review_tasks_open_many(pairs[start : start + CREATE_BATCH])
    return len(pairs)
