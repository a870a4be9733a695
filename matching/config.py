"""MatchConfig: the whole model as data, JSON round-trippable.

A config names the schema, the blocking rules, the comparisons with their
levels, the thresholds, the EM settings and, once trained, the m/u
probabilities and the prior, so that a run can be reproduced from the saved
file alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

TEST_OPS = frozenset(
    {
        "exact",  # equal values (columns may differ left/right: cross-field)
        "jaro_winkler",  # similarity >= threshold
        "ratio",  # normalised Indel similarity >= threshold
        "token_set",  # rapidfuzz token_set_ratio / 100 >= threshold
        "damerau",  # Damerau-Levenshtein distance <= threshold
        "abs_diff",  # |numeric(left) - numeric(right)| <= threshold
        "initial",  # one side is a single letter equal to the other's first
        "shares_part",  # hyphen/space-separated parts intersect
        "differ",  # both present and not equal
    }
)

DECISIVE = (None, "match", "non_match", "review", "corroborate")


@dataclass(frozen=True)
class Test:
    """One predicate over a pair: `op` on `columns` (left) vs `right_columns`."""

    op: str
    columns: tuple[str, ...]
    threshold: float | None = None
    right_columns: tuple[str, ...] | None = None

    @property
    def rcolumns(self) -> tuple[str, ...]:
        return self.right_columns or self.columns


@dataclass(frozen=True)
class Level:
    """A comparison level: all `tests` hold.  `text` is the explanation.

    `text` may use `{similarity}` (rendered on demand for one pair).
    `tf` turns on term-frequency adjustment for this (exact) level.
    `decisive` is "match" (hard evidence for: lifted to auto-merge),
    "non_match" (hard evidence against: capped below the review threshold),
    "review" (never auto-merged: capped below auto-merge) or "corroborate"
    (not auto-merged on its own: capped below auto-merge unless the pair
    also holds a `corroborates` level of another comparison).  A decisive
    match outweighs "review" and "corroborate" but not "non_match".
    `corroborates` marks identifying agreement (the same phone, street
    address or tax id), as opposed to agreement on a city or a district,
    where thousands of companies are.
    """

    label: str
    text: str
    tests: tuple[Test, ...]
    tf: bool = False
    decisive: str | None = None
    corroborates: bool = False


@dataclass(frozen=True)
class Comparison:
    """A field comparison: ordered levels, an implicit final "else" level.

    Level codes: 0 = no evidence (missing on a side), 1..len(levels) = the
    levels in order, len(levels)+1 = else.  `m`/`u` are indexed by code - 1
    (so they have len(levels)+1 entries) and are filled in by training
    unless `trainable` is False.  `else_decisive` makes the else level
    decisive (see `Level.decisive`).  `tf_u` holds, for term-frequency adjusted
    levels, the chance that two random records agree there (set by training).
    `ordered` says the levels are nested, closest agreement first (the same
    name also sounds the same): a term-frequency adjustment then never takes
    a level below a later one.
    """

    name: str
    columns: tuple[str, ...]
    levels: tuple[Level, ...]
    else_text: str
    m: tuple[float, ...] | None = None
    u: tuple[float, ...] | None = None
    tf_u: tuple[float | None, ...] | None = None
    trainable: bool = True
    else_decisive: str | None = None
    ordered: bool = False

    @property
    def n_codes(self) -> int:
        return len(self.levels) + 2


@dataclass(frozen=True)
class BlockingRule:
    """Records sharing all `columns` (exact) or near in sort order become pairs."""

    name: str
    columns: tuple[str, ...]
    method: str = "exact"  # or "sorted_neighbourhood"
    window: int = 3
    max_block_size: int | None = None


@dataclass(frozen=True)
class EMSettings:
    """Unsupervised training settings."""

    max_iterations: int = 40
    tolerance: float = 1e-5
    m_prior_strength: float = 50.0
    tf_minimum_u: float = 1e-7
    tf_prior_records: float = 1000.0


@dataclass(frozen=True)
class MatchConfig:
    """The matching model as data.

    Args:
        schema: "company_cn" or "person" (chooses the standardisation).
        blocking: blocking rules; candidate pairs are their union.
        comparisons: field comparisons with levels (and m/u once trained).
        auto_merge_threshold: pairs at or above merge without review.
        review_threshold: pairs at or above (and below auto-merge) go to review.
        em: training settings.
        max_block_size: default cap on block size (oversized blocks skipped).
        prior: share of candidate pairs that match (lambda), once trained.
        partitions: number of independent pair partitions in batch runs.
        min_cluster_support: when a component is doubtful, two of its parts
            merge only if this share of the scored pairs between them reach
            the review threshold (1.0: all of them, complete linkage).
    """

    schema: str
    blocking: tuple[BlockingRule, ...]
    comparisons: tuple[Comparison, ...]
    auto_merge_threshold: float = 0.9
    review_threshold: float = 0.5
    em: EMSettings = field(default_factory=EMSettings)
    max_block_size: int = 500
    prior: float | None = None
    partitions: int = 8
    min_cluster_support: float = 1.0

    @property
    def trained(self) -> bool:
        """True once m, u, the prior and the TF references are all set."""
        return self.prior is not None and all(
            c.m is not None
            and c.u is not None
            and (c.tf_u is not None or not any(lv.tf for lv in c.levels))
            for c in self.comparisons
        )

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        """The config as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def fingerprint(self) -> str:
        """Short stable hash of the config (for storing next to results)."""
        canon = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    def with_parameters(
        self,
        m: Mapping[str, Sequence[float]],
        u: Mapping[str, Sequence[float]],
        prior: float,
        tf_u: Mapping[str, Sequence[float | None]] | None = None,
    ) -> MatchConfig:
        """Copy with trained parameters per comparison name.

        Args:
            m: comparison name -> m probabilities (one per level plus else).
            u: comparison name -> u probabilities.
            prior: share of candidate pairs that match (lambda).
            tf_u: comparison name -> TF reference u per level (None: keep).
        """
        tf_u = tf_u or {}
        comps = tuple(
            replace(
                c,
                m=tuple(float(x) for x in m.get(c.name, c.m)),
                u=tuple(float(x) for x in u.get(c.name, c.u)),
                tf_u=tuple(tf_u.get(c.name, c.tf_u) or ()) or None,
            )
            for c in self.comparisons
        )
        return replace(self, comparisons=comps, prior=float(prior))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchConfig:
        """Build a config from `to_dict` output.

        Args:
            data: a mapping as produced by `to_dict` / JSON.
        """
        comps = tuple(_comparison(c) for c in data["comparisons"])
        rules = tuple(
            BlockingRule(**{**r, "columns": tuple(r["columns"])})
            for r in data["blocking"]
        )
        rest = {k: v for k, v in data.items() if k not in ("comparisons", "blocking")}
        rest["em"] = EMSettings(**rest.get("em", {}))
        config = cls(blocking=rules, comparisons=comps, **rest)
        validate(config)
        return config

    @classmethod
    def from_json(cls, text: str) -> MatchConfig:
        """Parse a JSON config.

        Args:
            text: JSON text as produced by `to_json`.
        """
        return cls.from_dict(json.loads(text))


def _tuple_or_none(x: Any) -> tuple | None:
    return None if x is None else tuple(x)


def _comparison(c: dict[str, Any]) -> Comparison:
    levels = tuple(
        Level(**{**lv, "tests": tuple(_test(t) for t in lv["tests"])})
        for lv in c["levels"]
    )
    return Comparison(
        name=c["name"],
        columns=tuple(c["columns"]),
        levels=levels,
        else_text=c["else_text"],
        m=_tuple_or_none(c.get("m")),
        u=_tuple_or_none(c.get("u")),
        tf_u=_tuple_or_none(c.get("tf_u")),
        trainable=c.get("trainable", True),
        else_decisive=c.get("else_decisive"),
        ordered=c.get("ordered", False),
    )


def _test(t: dict[str, Any]) -> Test:
    return Test(
        op=t["op"],
        columns=tuple(t["columns"]),
        threshold=t.get("threshold"),
        right_columns=_tuple_or_none(t.get("right_columns")),
    )


def validate(config: MatchConfig) -> None:
    """Raise ValueError when the config is inconsistent.

    Args:
        config: the config to check.
    """
    if not 0 < config.review_threshold <= config.auto_merge_threshold < 1:
        raise ValueError("need 0 < review_threshold <= auto_merge_threshold < 1")
    names = [c.name for c in config.comparisons]
    if len(set(names)) != len(names):
        raise ValueError("comparison names must be unique")
    for comp in config.comparisons:
        for params in (comp.m, comp.u):
            if params is not None and len(params) != len(comp.levels) + 1:
                raise ValueError(f"{comp.name}: need one m/u per level plus else")
        if comp.else_decisive not in DECISIVE:
            raise ValueError(f"{comp.name}: bad decisive {comp.else_decisive!r}")
        for level in comp.levels:
            if level.decisive not in DECISIVE:
                raise ValueError(f"{comp.name}: bad decisive {level.decisive!r}")
            for test in level.tests:
                if test.op not in TEST_OPS:
                    raise ValueError(f"{comp.name}: unknown test op {test.op!r}")
    for rule in config.blocking:
        if rule.method not in ("exact", "sorted_neighbourhood"):
            raise ValueError(f"{rule.name}: unknown blocking method {rule.method!r}")
