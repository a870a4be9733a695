"""Blocking: candidate pairs as integer arrays, from several keys at once.

Each rule turns records into an integer key (the combination of the codes of
its columns); records sharing a key, or close in the sort order of the key
for a sorted-neighbourhood rule, become candidate pairs.  The union over all
rules is split into hash partitions of the pair and deduplicated partition
by partition, so the later stages can work on one partition at a time (or
on many machines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matching.config import BlockingRule, MatchConfig
from matching.types import BlockingReport, Table

_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class CandidatePairs:
    """Deduplicated candidate pairs (row indices, left < right) per partition."""

    partitions: tuple[tuple[np.ndarray, np.ndarray], ...]
    pairs_per_rule: dict[str, int]
    skipped_blocks: dict[str, int]
    skipped_records: dict[str, int]

    @property
    def count(self) -> int:
        return sum(int(left.size) for left, _ in self.partitions)

    def concatenated(self) -> tuple[np.ndarray, np.ndarray]:
        left = np.concatenate([p[0] for p in self.partitions])
        right = np.concatenate([p[1] for p in self.partitions])
        return left, right


def rule_keys(table: Table, rule: BlockingRule) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and int64 blocking keys of `rule` (rows missing a column dropped).

    A multi-valued column yields one (row, key) per value.

    Args:
        table: the prepared records.
        rule: the blocking rule.
    """
    cols = [table.columns[c] for c in rule.columns]
    if any(c.multi for c in cols):
        if len(cols) != 1:
            raise ValueError(f"{rule.name}: a multi-valued column must block alone")
        codes = cols[0].codes
        rows = np.repeat(np.arange(codes.shape[0], dtype=np.int32), codes.shape[1])
        keys = codes.reshape(-1).astype(np.int64)
        keep = keys >= 0
        return rows[keep], keys[keep]
    key = np.zeros(len(table), dtype=np.int64)
    ok = np.ones(len(table), dtype=bool)
    for col in cols:
        ok &= col.codes >= 0
        key = key * (len(col.values) + 1) + col.codes
    if len(cols) > 1:
        # re-number so wide combinations cannot overflow later arithmetic
        key = pd.factorize(key)[0].astype(np.int64)
    rows = np.flatnonzero(ok).astype(np.int32)
    return rows, key[rows]


def _exact_pairs(
    rows: np.ndarray, keys: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    order = np.argsort(keys, kind="stable")
    srows, skeys = rows[order], keys[order]
    if srows.size == 0:
        empty = np.empty(0, dtype=np.int32)
        return empty, empty, 0, 0
    starts = np.flatnonzero(np.r_[True, skeys[1:] != skeys[:-1]])
    sizes = np.diff(np.r_[starts, skeys.size])
    too_big = sizes > cap
    keep = (sizes >= 2) & ~too_big
    g_start, g_size = starts[keep], sizes[keep]
    # position of each kept row inside its group -> number of later partners
    member = np.repeat(g_start, g_size) + _ranges(g_size)
    partners = np.repeat(g_size, g_size) - _ranges(g_size) - 1
    left_pos = np.repeat(member, partners)
    right_pos = left_pos + _ranges(partners) + 1
    return (
        srows[left_pos],
        srows[right_pos],
        int(too_big.sum()),
        int(sizes[too_big].sum()),
    )


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..s0-1, 0..s1-1, ...]."""
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    return np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _neighbourhood_pairs(
    table: Table, rule: BlockingRule, rows: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    col = table.columns[rule.columns[0]]
    if len(rule.columns) != 1 or col.multi:
        raise ValueError(f"{rule.name}: sorted neighbourhood needs one plain column")
    rank = np.empty(len(col.values), dtype=np.int64)
    rank[np.argsort(col.values.astype(str), kind="stable")] = np.arange(len(col.values))
    srows = rows[np.argsort(rank[keys], kind="stable")]
    lefts, rights = [], []
    for step in range(1, max(rule.window, 2)):
        lefts.append(srows[:-step])
        rights.append(srows[step:])
    return np.concatenate(lefts), np.concatenate(rights)


def candidate_pairs(
    table: Table, config: MatchConfig, link: bool = False
) -> CandidatePairs:
    """Union of the pairs of all blocking rules, deduplicated, in partitions.

    Args:
        table: the prepared records.
        config: supplies the rules, the default block-size cap and the
            number of partitions.
        link: only pairs whose rows come from different sources.
    """
    parts: list[list[np.ndarray]] = [[] for _ in range(config.partitions)]
    per_rule, skipped_blocks, skipped_records = {}, {}, {}
    n = np.int64(len(table))
    for rule in config.blocking:
        if any(c not in table.columns for c in rule.columns):
            continue
        rows, keys = rule_keys(table, rule)
        cap = rule.max_block_size or config.max_block_size
        if rule.method == "exact":
            left, right, n_big, n_rec = _exact_pairs(rows, keys, cap)
            skipped_blocks[rule.name], skipped_records[rule.name] = n_big, n_rec
        else:
            left, right = _neighbourhood_pairs(table, rule, rows, keys)
        lo = np.minimum(left, right).astype(np.int64)
        hi = np.maximum(left, right).astype(np.int64)
        keep = lo != hi
        if link and table.sources is not None:
            keep &= table.sources[lo] != table.sources[hi]
        pair_key = lo[keep] * n + hi[keep]
        per_rule[rule.name] = int(pair_key.size)
        part = _partition_of(pair_key, config.partitions)
        for p in range(config.partitions):
            parts[p].append(pair_key[part == p])
    partitions = []
    for chunks in parts:
        keys = _sorted_unique(chunks)
        partitions.append(((keys // n).astype(np.int32), (keys % n).astype(np.int32)))
    return CandidatePairs(tuple(partitions), per_rule, skipped_blocks, skipped_records)


def _sorted_unique(chunks: list[np.ndarray]) -> np.ndarray:
    # sort-based: numpy's hash-based unique is several times slower here
    if not chunks:
        return np.empty(0, dtype=np.int64)
    keys = np.sort(np.concatenate(chunks))
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys


def _partition_of(pair_key: np.ndarray, partitions: int) -> np.ndarray:
    mixed = pair_key.astype(np.uint64) * _MIX
    return ((mixed >> np.uint64(33)) % np.uint64(partitions)).astype(np.int64)


def blocking_report(
    table: Table,
    pairs: CandidatePairs,
    entity_ids: Sequence | np.ndarray | None = None,
    link: bool = False,
) -> BlockingReport:
    """Candidate counts, reduction ratio and (with truth) pair completeness.

    Args:
        table: the prepared records.
        pairs: output of `candidate_pairs`.
        entity_ids: optional true entity per row; gives pair completeness
            (share of true pairs that are candidates).
        link: count only cross-source pairs as possible/true pairs.
    """
    n = len(table)
    if link and table.sources is not None:
        _, counts = np.unique(table.sources, return_counts=True)
        total = float(counts.prod()) if counts.size == 2 else 0.0
    else:
        total = n * (n - 1) / 2
    found = true = None
    completeness = None
    if entity_ids is not None:
        ent = pd.factorize(np.asarray(entity_ids, dtype=object))[0]
        left, right = pairs.concatenated()
        found = int((ent[left] == ent[right]).sum())
        true = _true_pair_count(ent, table.sources if link else None)
        completeness = found / true if true else 1.0
    count = pairs.count
    return BlockingReport(
        records=n,
        candidate_pairs=count,
        pairs_per_record=count / n if n else 0.0,
        reduction_ratio=1.0 - count / total if total else 0.0,
        pairs_per_rule=dict(pairs.pairs_per_rule),
        skipped_blocks=dict(pairs.skipped_blocks),
        skipped_records=dict(pairs.skipped_records),
        pair_completeness=completeness,
        true_pairs=true,
        true_pairs_found=found,
    )


def _true_pair_count(ent: np.ndarray, sources: np.ndarray | None) -> int:
    if sources is None:
        sizes = np.bincount(ent)
        return int((sizes * (sizes - 1) // 2).sum())
    src = pd.factorize(sources)[0]
    a = np.bincount(ent[src == 0], minlength=ent.max() + 1)
    b = np.bincount(ent[src == 1], minlength=ent.max() + 1)
    return int((a * b).sum())
