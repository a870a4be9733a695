"""Clustering: connected components over auto-merge pairs, split where doubtful.

A component is kept whole only if its members support each other: every
scored pair inside it must reach the review threshold (or the configured
share of them must), no pair in it may be a hard negative (a not-a-match
decision or a decisive conflict) or disputed (evidence that they are two
companies, which a steward must overrule), and no two of its records may hold
different exclusive keys (two valid USCCs), scored together or not: a chain
of good pairs must not join what one pair could not.  Doubtful components
are rebuilt greedily from their strongest edges; the links that did not
make it go to the review queue.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    auto_merge_threshold: float,
    review_threshold: float,
    hard_negative: np.ndarray | None = None,
    cannot_link: tuple[np.ndarray, np.ndarray] | None = None,
    min_support: float = 1.0,
    exclusive: np.ndarray | None = None,
    disputed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster id per record and the indices of the pairs to review.

    Args:
        n: number of records.
        left: left row index of each scored pair.
        right: right row index of each scored pair.
        scores: match probability of each pair.
        auto_merge_threshold: pairs at or above may merge without review.
        review_threshold: pairs below count against being in one cluster.
        hard_negative: True for pairs that must never share a cluster.
        cannot_link: extra (left, right) row pairs that must never share a
            cluster (steward "not a match" decisions).
        min_support: share of scored cross pairs at or above review needed
            to merge two parts of a doubtful component (1.0 = all).
        exclusive: keys per record (records x key kinds, -1: none); two
            records with different keys of one kind never share a cluster.
        disputed: True for pairs that may go to review but do not support
            being in one cluster, whatever their score.
    """
    hard = np.zeros(scores.size, dtype=bool) if hard_negative is None else hard_negative
    c_left, c_right = _cannot_link_arrays(cannot_link)
    hard = hard | _is_listed(left, right, c_left, c_right, n)
    edge = (scores >= auto_merge_threshold) & ~hard
    labels = _components(n, left[edge], right[edge])
    same = labels[left] == labels[right]
    supported = scores >= review_threshold
    if disputed is not None:
        supported &= ~disputed
    bad = same & (~supported | hard)
    bad_c = labels[c_left] == labels[c_right]
    keys = np.full((n, 0), -1, np.int64) if exclusive is None else exclusive
    doubtful = np.unique(
        np.r_[labels[left[bad]], labels[c_left[bad_c]], _clashing(labels, keys)]
    )
    if doubtful.size:
        labels = _split(
            labels,
            doubtful,
            left,
            right,
            scores,
            edge,
            hard,
            (c_left, c_right),
            supported,
            min_support,
            keys,
        )
    labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    together = labels[left] == labels[right]
    review = np.flatnonzero((scores >= review_threshold) & ~together & ~hard)
    return labels, review


def _cannot_link_arrays(
    cannot_link: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    if cannot_link is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return (
        np.asarray(cannot_link[0], dtype=np.int64),
        np.asarray(cannot_link[1], dtype=np.int64),
    )


def _is_listed(
    left: np.ndarray,
    right: np.ndarray,
    c_left: np.ndarray,
    c_right: np.ndarray,
    n: int,
) -> np.ndarray:
    if c_left.size == 0:
        return np.zeros(left.size, dtype=bool)
    key = np.minimum(left, right).astype(np.int64) * n + np.maximum(left, right)
    banned = np.minimum(c_left, c_right) * n + np.maximum(c_left, c_right)
    return np.isin(key, banned)


def _clashing(labels: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Components holding two different exclusive keys of one kind."""
    found = [np.empty(0, np.int64)]
    for kind in keys.T:
        has = np.flatnonzero(kind >= 0)
        pairs = np.unique(np.c_[labels[has], kind[has]], axis=0)
        comps, n_keys = np.unique(pairs[:, 0], return_counts=True)
        found.append(comps[n_keys > 1])
    return np.concatenate(found)


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _split(
    labels: np.ndarray,
    doubtful: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    edge: np.ndarray,
    hard: np.ndarray,
    cannot: tuple[np.ndarray, np.ndarray],
    supported: np.ndarray,
    min_support: float,
    keys: np.ndarray,
) -> np.ndarray:
    """Greedy strongest-edge-first rebuild of the doubtful components.

    Each part keeps, per neighbouring part, [supported, scored, hard] counts
    of the scored pairs between them, and its exclusive key; two parts merge
    only if no pair between them is hard, enough of them are supported and
    their keys do not clash.
    """
    labels = labels.copy()
    in_doubt = np.isin(labels, doubtful)
    inside = in_doubt[left] & (labels[left] == labels[right])
    idx = np.flatnonzero(inside)
    parent: dict[int, int] = {}
    stats: dict[int, dict[int, list[int]]] = {}
    for a, b, s, h in zip(
        left[idx], right[idx], supported[idx], hard[idx], strict=True
    ):
        a, b = int(a), int(b)
        for x, y in ((a, b), (b, a)):
            parent.setdefault(x, x)
            cell = stats.setdefault(x, {}).setdefault(y, [0, 0, 0])
            cell[0] += int(s)
            cell[1] += 1
            cell[2] += int(h)
    for a, b in zip(*cannot, strict=True):
        a, b = int(a), int(b)
        if a in parent and b in parent:
            for x, y in ((a, b), (b, a)):
                stats[x].setdefault(y, [0, 0, 0])[2] += 1

    key = {x: keys[x] for x in parent}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    strong = idx[edge[idx]]
    for e in strong[np.argsort(-scores[strong], kind="stable")]:
        ra, rb = find(int(left[e])), find(int(right[e]))
        if ra == rb:
            continue
        sup, scored, n_hard = stats[ra].get(rb, [0, 0, 0])
        if n_hard or sup < min_support * scored:
            continue
        ka, kb = key[ra], key[rb]
        if ((ka >= 0) & (kb >= 0) & (ka != kb)).any():
            continue
        if len(stats[ra]) < len(stats[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        key[ra] = np.maximum(ka, kb)
        for other, cell in stats.pop(rb).items():
            other = find(other) if other != rb else ra
            if other == ra:
                continue
            tgt = stats[ra].setdefault(other, [0, 0, 0])
            for t in range(3):
                tgt[t] += cell[t]
            back = stats[other]
            old = back.pop(rb, None)
            if old is not None:
                dst = back.setdefault(ra, [0, 0, 0])
                for t in range(3):
                    dst[t] += old[t]
        stats[ra].pop(rb, None)
    base = int(labels.max()) + 1
    for x in parent:
        labels[x] = base + find(x)
    return labels
