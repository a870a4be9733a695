"""The batch pipeline: prepare, block, compare, train, score, cluster.

Candidate pairs come in independent hash partitions; comparison and scoring
run partition by partition (rapidfuzz uses every core inside each), and
training only needs the merged per-partition pattern counts, so each stage
could run on another machine.  No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from matching import blocking, cluster, score
from matching.compare import comparison_levels
from matching.config import MatchConfig
from matching.prepare import prepare_records
from matching.types import FieldEvidence, MatchResult, Record, ScoredPair, Table

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def run_pipeline(
    records: Iterable[Record] | Table,
    config: MatchConfig,
    *,
    link: bool = False,
    cannot_link: Iterable[tuple[str, str]] = (),
    retrain: bool = False,
    workers: int = -1,
    progress: Progress | None = None,
) -> MatchResult:
    """Deduplicate (or link) records end to end.

    An untrained config (no m/u yet) is trained without labels on the way
    (unless there is no candidate pair to learn from); the trained config is
    returned in the result so that it can be saved.

    Args:
        records: `Record`s, or a `Table` already prepared for the schema.
        config: the model.
        link: only match records from different sources (two-source linkage).
        cannot_link: (id, id) pairs a steward said are not a match.
        retrain: re-estimate m/u even if the config is trained.
        workers: rapidfuzz worker threads (-1 = all cores).
        progress: called as progress(stage, done, total).
    """
    table = (
        records
        if isinstance(records, Table)
        else prepare_records(records, config.schema)
    )
    pairs = blocking.candidate_pairs(table, config, link=link)
    report = blocking.blocking_report(table, pairs, link=link)
    levels = []
    for k, (left, right) in enumerate(pairs.partitions):
        levels.append(
            comparison_levels(table, left, right, config.comparisons, workers)
        )
        if progress:
            progress("compare", k + 1, len(pairs.partitions))
    if pairs.count and (retrain or not config.trained):
        config = train(table, config, levels)
    scores, held = [], []
    for k, ((left, right), lv) in enumerate(zip(pairs.partitions, levels, strict=True)):
        held.append(score.held_for_review(table, left, right))
        if left.size == 0:
            scores.append(np.zeros(0))
            continue
        weights = score.match_weights(table, left, lv, config)
        scores.append(score.probabilities(weights, lv, config, held[-1]))
        if progress:
            progress("score", k + 1, len(pairs.partitions))
    left, right = pairs.concatenated()
    all_levels = np.concatenate(levels) if levels else np.zeros((0, 0), np.int8)
    del levels
    all_scores = np.concatenate(scores)
    labels, review = cluster.cluster(
        len(table),
        left,
        right,
        all_scores,
        config.auto_merge_threshold,
        config.review_threshold,
        hard_negative=score.decisive_mask(all_levels, config, "non_match"),
        cannot_link=_rows_of(table, cannot_link),
        min_support=config.min_cluster_support,
        exclusive=exclusive_keys(table, config),
        disputed=score.disputed(all_levels, config) | np.concatenate(held),
    )
    return MatchResult(
        ids=table.ids,
        cluster_ids=labels,
        left=left,
        right=right,
        levels=all_levels,
        scores=all_scores,
        review=review,
        blocking=report,
        config_hash=config.fingerprint(),
        config=config,
        table=table,
    )


def train(
    table: Table, config: MatchConfig, levels: Sequence[np.ndarray]
) -> MatchConfig:
    """Estimate m, u and the prior by EM over the candidate pairs, no labels.

    Args:
        table: the prepared records (for the term-frequency reference).
        config: the model to train.
        levels: comparison levels of the candidate pairs, per partition.
    """
    patterns, counts = score.merge_patterns(
        [score.pattern_counts(lv, config) for lv in levels]
    )
    m, u, prior = score.run_em(patterns, counts, config)
    log.info("trained: %.3f of candidate pairs match", prior)
    return config.with_parameters(m, u, prior, score.tf_reference(table, config))


def exclusive_keys(table: Table, config: MatchConfig) -> np.ndarray:
    """Per record, the values no cluster may hold two of (records x kinds).

    A decisive conflict on one plain column ("two different valid USCCs") is
    a fact about the two values, not about one pair, so it holds through
    any chain of pairs: its column becomes an exclusive key (-1: missing).

    Args:
        table: the prepared records.
        config: the comparisons.
    """
    columns = dict.fromkeys(
        test.columns[0]
        for comp in config.comparisons
        for level in comp.levels
        if level.decisive == "non_match" and len(level.tests) == 1
        for test in level.tests
        if test.op == "differ"
        and test.rcolumns == test.columns
        and test.columns[0] in table.columns
        and not table.columns[test.columns[0]].multi
    )
    keys = [table.columns[name].codes.astype(np.int64) for name in columns]
    return np.stack(keys, axis=1) if keys else np.full((len(table), 0), -1, np.int64)


def _rows_of(
    table: Table, pairs: Iterable[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray] | None:
    pairs = list(pairs)
    if not pairs:
        return None
    index = pd.Index(table.ids)
    a = index.get_indexer([str(x) for x, _ in pairs])
    b = index.get_indexer([str(y) for _, y in pairs])
    keep = (a >= 0) & (b >= 0)
    return a[keep].astype(np.int64), b[keep].astype(np.int64)


def explain_pair(result: MatchResult, k: int) -> tuple[FieldEvidence, ...]:
    """Plain-words explanation of scored pair `k` of a batch result.

    Args:
        result: a batch result.
        k: index into result.left / right / scores.
    """
    return score.explain(
        result.table,
        int(result.left[k]),
        int(result.right[k]),
        result.levels[k],
        result.config,
    )


def scored_pairs(result: MatchResult, indices: Iterable[int]) -> list[ScoredPair]:
    """Selected pairs of a batch result with their explanations (for stewards).

    Args:
        result: a batch result.
        indices: indices into result.left / right / scores, e.g. result.review.
    """
    return [
        ScoredPair(
            left=str(result.ids[result.left[k]]),
            right=str(result.ids[result.right[k]]),
            score=float(result.scores[k]),
            evidence=explain_pair(result, k),
        )
        for k in indices
    ]


def learn_from_decisions(
    config: MatchConfig,
    decisions: Iterable[tuple[Record, Record, bool]],
    strength: float = 200.0,
) -> MatchConfig:
    """Blend steward decisions into a trained config's m/u.

    Args:
        config: a trained config.
        decisions: (record, record, same customer?) per reviewed pair.
        strength: weight of the current parameters, in pairs.
    """
    decisions = list(decisions)
    records = [r for a, b, _ in decisions for r in (a, b)]
    table = prepare_records(records, config.schema)
    left = np.arange(0, len(records), 2)
    levels = comparison_levels(table, left, left + 1, config.comparisons, workers=1)
    is_match = np.array([same for _, _, same in decisions], dtype=bool)
    return score.update_from_labels(config, levels, is_match, strength)
