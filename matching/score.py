"""Fellegi-Sunter scoring: m, u and the prior learnt by EM without labels.

EM runs over the distinct comparison-level patterns of the candidate pairs
(a few thousand rows, whatever the number of pairs).  Both m and u are
estimated among the *candidate* pairs, so a score is P(match | levels,
candidate).  This matters for hard negatives: among candidates, sharing an
address or a phone is common for non-matches (households, twins), and a u
taken from random pairs would make that agreement look like near-proof.

Term-frequency adjustment (splink's): on an exact level, agreeing on value v
adds log2(u_ref / tf(v)), where tf(v) is v's share of the column and u_ref
the chance that two random records agree on that column (sum of tf^2), so
agreeing on "smith" counts less than agreeing on "zelinski".  tf(v) is
shrunk towards u_ref, and a reference too small to tell leaves the weight
alone (see `_tf_adjustment`).  In an `ordered` comparison the adjustment
never takes a level below the looser levels after it: a common name agreeing
exactly still agrees at least as much as a name that only sounds the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from matching.compare import similarity
from matching.config import Comparison, Level, MatchConfig
from matching.prepare import LOOKALIKE_COLUMN
from matching.types import FieldEvidence, Table

log = logging.getLogger(__name__)

_EPS = 1e-9


def pattern_counts(
    levels: np.ndarray, config: MatchConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level patterns and how often each occurs.

    Args:
        levels: int8 levels (pairs x comparisons).
        config: supplies the number of codes per comparison.
    """
    sizes = [c.n_codes for c in config.comparisons]
    key = np.zeros(levels.shape[0], dtype=np.int64)
    for k, size in enumerate(sizes):
        key = key * size + levels[:, k]
    uniq, counts = np.unique(key, return_counts=True)
    return _decode(uniq, sizes), counts.astype(np.float64)


def merge_patterns(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-partition pattern counts into one table.

    Args:
        parts: (patterns, counts) per partition.
    """
    pats = np.concatenate([p for p, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    uniq, inv = np.unique(pats, axis=0, return_inverse=True)
    return uniq, np.bincount(inv.reshape(-1), weights=counts, minlength=len(uniq))


def _decode(keys: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    out = np.zeros((keys.size, len(sizes)), dtype=np.int8)
    rest = keys.copy()
    for k in range(len(sizes) - 1, -1, -1):
        rest, out[:, k] = np.divmod(rest, sizes[k])
    return out


def initial_parameters(comp: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """Starting m and u for EM: the trained values, else generic priors.

    The generic m puts most mass on the first level, the generic u on else.

    Args:
        comp: the comparison.
    """
    if comp.m is not None and comp.u is not None:
        return np.asarray(comp.m, dtype=float), np.asarray(comp.u, dtype=float)
    k = len(comp.levels)
    m = np.array([0.75, *[0.2 * 0.5**i for i in range(k - 1)], 0.05])
    u = np.array([0.05, *[0.05 * 0.5**i for i in range(k - 1)], 0.9])
    return m / m.sum(), u / u.sum()


def run_em(
    patterns: np.ndarray,
    counts: np.ndarray,
    config: MatchConfig,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Estimate m, u per comparison and the share of matches by EM.

    Args:
        patterns: distinct level patterns (patterns x comparisons).
        counts: number of candidate pairs with each pattern.
        config: comparisons and EM settings (trained values are the start).
    """
    comps = config.comparisons
    start = {c.name: initial_parameters(c) for c in comps}
    m = {k: v[0].copy() for k, v in start.items()}
    u = {k: v[1].copy() for k, v in start.items()}
    lam = config.prior or 0.5
    strength = config.em.m_prior_strength
    for it in range(config.em.max_iterations):
        logit = np.full(len(counts), np.log(lam / (1 - lam)))
        for k, c in enumerate(comps):
            w = np.log(np.r_[1.0, m[c.name]] + _EPS) - np.log(
                np.r_[1.0, u[c.name]] + _EPS
            )
            logit += w[patterns[:, k]]
        post = counts / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        change = 0.0
        for k, c in enumerate(comps):
            if not c.trainable:
                continue
            for params, weights in ((m, post), (u, counts - post)):
                got = np.bincount(patterns[:, k], weights=weights, minlength=c.n_codes)[
                    1:
                ]
                prior = start[c.name][0 if params is m else 1]
                new = (got + strength * prior) / (got.sum() + strength)
                change = max(change, float(np.abs(new - params[c.name]).max()))
                params[c.name] = new
        new_lam = float(np.clip(post.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        change = max(change, abs(new_lam - lam))
        lam = new_lam
        if change < config.em.tolerance:
            log.debug("EM converged after %d iterations", it + 1)
            break
    return m, u, lam


def tf_reference(table: Table, config: MatchConfig) -> dict[str, tuple]:
    """u_ref per TF-adjusted level: chance two random records share the value.

    Args:
        table: the prepared records.
        config: the comparisons.
    """
    out = {}
    for c in config.comparisons:
        ref = []
        for lv in (*c.levels, None):
            col = table.columns.get(lv.tests[0].columns[0]) if lv and lv.tf else None
            share = col.counts / max(col.total, 1) if col is not None else None
            ref.append(float((share**2).sum()) if share is not None else None)
        out[c.name] = tuple(ref)
    return out


def update_from_labels(
    config: MatchConfig,
    levels: np.ndarray,
    is_match: np.ndarray,
    strength: float = 200.0,
) -> MatchConfig:
    """Blend m/u with steward-labelled pairs and return the updated config.

    m is re-estimated from the pairs labelled as matches, u from those
    labelled as non-matches; each is blended with the current (EM) values
    as if those were `strength` pairs' worth of evidence.

    Args:
        config: a trained config.
        levels: comparison levels of the labelled pairs (pairs x comparisons).
        is_match: True where the steward said "same customer".
        strength: weight of the current parameters, in pairs.
    """
    if not config.trained:
        raise ValueError("train the config before updating it from labels")
    is_match = np.asarray(is_match, dtype=bool)
    m, u = {}, {}
    for k, c in enumerate(config.comparisons):
        for target, sel, old in ((m, is_match, c.m), (u, ~is_match, c.u)):
            got = np.bincount(levels[sel, k], minlength=c.n_codes)[1:].astype(float)
            target[c.name] = (got + strength * np.asarray(old)) / (got.sum() + strength)
    return config.with_parameters(m, u, config.prior)


def level_weights(config: MatchConfig) -> list[np.ndarray]:
    """log2(m/u) per comparison, indexed by level code (code 0 -> 0).

    Args:
        config: a trained config.
    """
    out = []
    for c in config.comparisons:
        m, u = np.asarray(c.m, dtype=float), np.asarray(c.u, dtype=float)
        out.append(np.r_[0.0, np.log2((m + _EPS) / (u + _EPS))])
    return out


def _tf_levels(config: MatchConfig) -> list[tuple[int, int, str]]:
    """(comparison index, level code, column) for each TF-adjusted level."""
    return [
        (k, j, lv.tests[0].columns[0])
        for k, c in enumerate(config.comparisons)
        for j, lv in enumerate(c.levels, start=1)
        if lv.tf
    ]


def decisive_mask(levels: np.ndarray, config: MatchConfig, kind: str) -> np.ndarray:
    """Pairs with a level (or else level) that is decisive of `kind`.

    Args:
        levels: comparison levels (pairs x comparisons).
        config: the comparisons.
        kind: "match", "non_match" or "review".
    """
    out = np.zeros(levels.shape[0], dtype=bool)
    for k, c in enumerate(config.comparisons):
        for j, lv in enumerate(c.levels, start=1):
            if lv.decisive == kind:
                out |= levels[:, k] == j
        if c.else_decisive == kind:
            out |= levels[:, k] == len(c.levels) + 1
    return out


def disputed(levels: np.ndarray, config: MatchConfig) -> np.ndarray:
    """Pairs held for review by a "review" level that no decisive match lifts.

    Such a level is evidence of two different companies (another line of
    business, a branch, names that differ): a cluster must not join the
    pair through a chain of other pairs either.

    Args:
        levels: comparison levels (pairs x comparisons).
        config: the comparisons.
    """
    against = decisive_mask(levels, config, "non_match")
    sure = decisive_mask(levels, config, "match") & ~against
    return decisive_mask(levels, config, "review") & ~sure


def uncorroborated(levels: np.ndarray, config: MatchConfig) -> np.ndarray:
    """Pairs at a "corroborate" level with no `corroborates` level elsewhere.

    Args:
        levels: comparison levels (pairs x comparisons).
        config: the comparisons.
    """
    backing = [
        np.isin(levels[:, k], [j for j, lv in _numbered(c) if lv.corroborates])
        for k, c in enumerate(config.comparisons)
    ]
    out = np.zeros(levels.shape[0], dtype=bool)
    for k, c in enumerate(config.comparisons):
        needs = [j for j, lv in _numbered(c) if lv.decisive == "corroborate"]
        if c.else_decisive == "corroborate":
            needs.append(len(c.levels) + 1)
        if not needs:
            continue
        backed = np.zeros(levels.shape[0], dtype=bool)
        for other, held in enumerate(backing):
            if other != k:
                backed |= held
        out |= np.isin(levels[:, k], needs) & ~backed
    return out


def _numbered(comp: Comparison) -> list[tuple[int, Level]]:
    return list(enumerate(comp.levels, start=1))


def match_weights(
    table: Table, left: np.ndarray, levels: np.ndarray, config: MatchConfig
) -> np.ndarray:
    """Total match weight (log2 odds, prior included) of each pair.

    Args:
        table: the prepared records (for term frequencies).
        left: left row index of each pair.
        levels: comparison levels (pairs x comparisons).
        config: a trained config.
    """
    total = np.full(levels.shape[0], np.log2(config.prior / (1 - config.prior)))
    weights = level_weights(config)
    for k, w in enumerate(weights):
        total += w[levels[:, k]]
    for k, j, column in _tf_levels(config):
        sel = np.flatnonzero(levels[:, k] == j)
        adjusted = _tf_weight(table, column, left[sel], config, weights, k, j)
        total[sel] += adjusted - weights[k][j]
    return total


def _tf_weight(
    table: Table,
    column: str,
    rows: np.ndarray,
    config: MatchConfig,
    weights: list[np.ndarray],
    k: int,
    j: int,
) -> np.ndarray:
    adjusted = weights[k][j] + _tf_adjustment(table, column, rows, config, k, j)
    if config.comparisons[k].ordered:
        # level j implies the looser ones after it: never weigh less
        return np.maximum(adjusted, weights[k][j + 1 :].max())
    return adjusted


def _tf_adjustment(
    table: Table, column: str, rows: np.ndarray, config: MatchConfig, k: int, j: int
) -> np.ndarray:
    # A value's share is shrunk towards u_ref by `tf_prior_records` pseudo
    # records.  The reference holds both records of the pair (a single-record
    # query counts itself in, see `single.RecordIndex.mini_table`), and in a
    # reference of fewer than 2 / u_ref records two records sharing a value
    # is no sign that the value is common: an average value gives that much.
    # Such a reference is read as having 2 / u_ref records, so that a pair
    # checked against one indexed record keeps the trained weight instead of
    # reading as a value every record has.
    col = table.columns[column]
    u_ref = max(config.comparisons[k].tf_u[j - 1], config.em.tf_minimum_u)
    alpha = config.em.tf_prior_records
    size = max(col.total, 2.0 / u_ref) + alpha
    freq = (col.counts[col.codes[rows]] + alpha * u_ref) / size
    return np.log2(u_ref / np.maximum(freq, config.em.tf_minimum_u))


# The evidence level that says why a pair is held (`explain`).
LOOKALIKE_LEVEL = "lookalike"


def held_for_review(table: Table, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs in which a record's names mix Latin letters with Cyrillic or
    Greek look-alikes (`LOOKALIKE_COLUMN`): a copy-paste accident or a
    spoof, never merged without a steward, whatever else agrees.

    Args:
        table: the prepared records.
        left: left row index of each pair.
        right: right row index of each pair.
    """
    column = table.columns.get(LOOKALIKE_COLUMN)
    if column is None:
        return np.zeros(left.size, dtype=bool)
    return (column.codes[left] >= 0) | (column.codes[right] >= 0)


def probabilities(
    weights: np.ndarray,
    levels: np.ndarray,
    config: MatchConfig,
    held: np.ndarray | None = None,
) -> np.ndarray:
    """Match probability from match weights, with decisive levels applied.

    Same valid identifier lifts a pair to the auto-merge threshold; a
    decisive conflict (two different valid USCCs) caps it below review; a
    "review" level (company names that differ), an uncorroborated
    "corroborate" level (names that only sound alike) and a pair `held` for
    review (look-alike letters, even with the same identifier) cap it below
    auto-merge.

    Args:
        weights: total match weights (log2 odds).
        levels: comparison levels (pairs x comparisons).
        config: a trained config.
        held: True for pairs held for review (`held_for_review`).
    """
    prob = 1.0 / (1.0 + np.exp2(-np.clip(weights, -1000, 1000)))
    against = decisive_mask(levels, config, "non_match")
    sure = decisive_mask(levels, config, "match") & ~against
    doubt = disputed(levels, config) | (uncorroborated(levels, config) & ~sure)
    if held is not None:
        doubt |= held & ~against
    prob[sure] = np.maximum(prob[sure], config.auto_merge_threshold)
    below_auto = np.nextafter(config.auto_merge_threshold, 0.0)
    prob[doubt] = np.minimum(prob[doubt], below_auto)
    prob[against] = np.minimum(
        prob[against], np.nextafter(config.review_threshold, 0.0)
    )
    return prob


def explain(
    table: Table, i: int, j: int, levels: np.ndarray, config: MatchConfig
) -> tuple[FieldEvidence, ...]:
    """Per-comparison explanation of one pair, in plain words, with weights.

    Args:
        table: the prepared records.
        i: left row index.
        j: right row index.
        levels: the pair's level code per comparison.
        config: a trained config.
    """
    weights = level_weights(config)
    tf = {(k, lv): col for k, lv, col in _tf_levels(config)}
    out = []
    for k, comp in enumerate(config.comparisons):
        code = int(levels[k])
        weight = float(weights[k][code])
        if code == 0:
            out.append(
                FieldEvidence(
                    comp.name,
                    "missing",
                    f"{comp.name} missing on one side: no evidence",
                    0.0,
                )
            )
            continue
        if code > len(comp.levels):
            out.append(FieldEvidence(comp.name, "else", comp.else_text, weight))
            continue
        lv = comp.levels[code - 1]
        if (k, code) in tf:
            rows = np.array([i])
            weight = float(
                _tf_weight(table, tf[k, code], rows, config, weights, k, code)[0]
            )
        out.append(
            FieldEvidence(comp.name, lv.label, _level_text(table, lv, i, j), weight)
        )
    if held_for_review(table, np.array([i]), np.array([j]))[0]:
        out.append(
            FieldEvidence(
                "name",
                LOOKALIKE_LEVEL,
                "a name mixes Latin letters with Cyrillic or Greek look-alikes:"
                " held for review",
                0.0,
            )
        )
    return tuple(out)


def _level_text(table: Table, level, i: int, j: int) -> str:
    if "{similarity}" not in level.text:
        return level.text
    for test in level.tests:
        sim = similarity(table, test, i, j)
        if sim is not None:
            return level.text.format(similarity=f"{sim:.0%}")
    return level.text.format(similarity="similar")
