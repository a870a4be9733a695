"""Plain data types shared by the matching stages (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matching.config import MatchConfig


@dataclass(frozen=True)
class Record:
    """One source record: an id, the system it came from and raw field values."""

    id: str
    source: str
    fields: Mapping[str, str | None]


@dataclass(frozen=True)
class Column:
    """A dictionary-encoded column of standardised values.

    `codes` index into `values`; -1 means missing.  `codes` is 1-D for a
    single-valued field and 2-D (records x slots) for a multi-valued one
    (several phones, several name tokens).  `counts` holds how often each
    value occurs (for term-frequency adjustment) and `total` the number of
    non-missing occurrences.
    """

    codes: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    total: int

    @property
    def multi(self) -> bool:
        return self.codes.ndim == 2


@dataclass(frozen=True)
class Table:
    """Standardised records in columnar form; row i is record `ids[i]`."""

    ids: np.ndarray
    columns: Mapping[str, Column]
    sources: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class FieldEvidence:
    """What one comparison said about a pair, in plain words, and its weight."""

    comparison: str
    level: str
    text: str
    weight: float


@dataclass(frozen=True)
class ScoredPair:
    """A scored pair of record ids with the per-comparison evidence."""

    left: str
    right: str
    score: float
    evidence: tuple[FieldEvidence, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A single-record match candidate returned by `match_one`. Its evidence
    is worked out when first read: callers keep a few of the candidates."""

    id: str
    score: float
    match_weight: float
    explain: Callable[[], tuple[FieldEvidence, ...]] = field(repr=False, compare=False)

    @cached_property
    def evidence(self) -> tuple[FieldEvidence, ...]:
        """What each comparison said about the query and this candidate."""
        return self.explain()


@dataclass(frozen=True)
class BlockingReport:
    """Blocking statistics (splink's blocking analysis, in small)."""

    records: int
    candidate_pairs: int
    pairs_per_record: float
    reduction_ratio: float
    pairs_per_rule: Mapping[str, int]
    skipped_blocks: Mapping[str, int]
    skipped_records: Mapping[str, int]
    pair_completeness: float | None = None
    true_pairs: int | None = None
    true_pairs_found: int | None = None


@dataclass(frozen=True)
class MatchResult:
    """Batch output: clusters, review pairs and the compact scored pairs.

    `left`/`right` are row indices into `ids`; `levels` holds the comparison
    level of every scored pair per comparison (0 = no evidence); `scores` is
    the match probability.  Explanations are rendered on demand
    (`pipeline.explain_pair`).
    """

    ids: np.ndarray
    cluster_ids: np.ndarray
    left: np.ndarray
    right: np.ndarray
    levels: np.ndarray
    scores: np.ndarray
    review: np.ndarray
    blocking: BlockingReport
    config_hash: str
    config: MatchConfig
    table: Table

    @property
    def clusters(self) -> dict[str, int]:
        return {str(i): int(c) for i, c in zip(self.ids, self.cluster_ids, strict=True)}

    def review_pairs(self) -> list[tuple[str, str, float]]:
        idx = self.review
        return [
            (str(self.ids[a]), str(self.ids[b]), float(s))
            for a, b, s in zip(
                self.left[idx], self.right[idx], self.scores[idx], strict=True
            )
        ]
