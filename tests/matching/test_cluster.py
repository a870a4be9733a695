import numpy as np

from matching.cluster import cluster


def _run(pairs, n, **kw):
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    scores = np.array([p[2] for p in pairs])
    labels, review = cluster(n, left, right, scores, 0.9, 0.5, **kw)
    return labels, {(int(left[k]), int(right[k])) for k in review}


def test_strong_pairs_form_components():
    labels, review = _run([(0, 1, 0.99), (1, 2, 0.95), (3, 4, 0.7)], 5)
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[2], labels[3], labels[4]}) == 3
    assert review == {(3, 4)}


def test_a_chain_whose_ends_disagree_is_not_merged_as_a_whole():
    # A-B and B-C auto-merge, but A-C scored below review
    labels, review = _run([(0, 1, 0.99), (1, 2, 0.95), (0, 2, 0.1)], 3)
    assert labels[0] == labels[1]
    assert labels[2] != labels[0]
    assert review == {(1, 2)}


def test_unscored_far_ends_do_not_block_a_chain():
    labels, _ = _run([(0, 1, 0.99), (1, 2, 0.95)], 3)
    assert labels[0] == labels[1] == labels[2]


def test_hard_negatives_never_share_a_cluster():
    pairs = [(0, 1, 0.99), (1, 2, 0.99), (0, 2, 0.99)]
    hard = np.array([False, False, True])
    labels, _ = _run(pairs, 3, hard_negative=hard)
    assert labels[0] != labels[2]


def test_not_a_match_decisions_are_respected_even_when_unscored():
    pairs = [(0, 1, 0.99), (1, 2, 0.98), (2, 3, 0.97)]
    labels, review = _run(pairs, 4, cannot_link=(np.array([0]), np.array([3])))
    assert labels[0] != labels[3]
    assert labels[0] == labels[1]
    assert review  # the dropped link goes to review


def test_partial_support_is_enough_when_allowed():
    pairs = [(0, 1, 0.99), (1, 2, 0.95), (0, 2, 0.1)]
    left, right = np.array([0, 1, 0]), np.array([1, 2, 2])
    labels, _ = cluster(
        3, left, right, np.array([p[2] for p in pairs]), 0.9, 0.5, min_support=0.5
    )
    assert labels[0] == labels[1] == labels[2]


def test_two_different_exclusive_keys_never_share_a_cluster_through_a_chain():
    # A (USCC x) - B (no USCC) - C (USCC y): both links auto-merge, A-C unscored
    pairs = [(0, 1, 0.99), (1, 2, 0.98)]
    keys = np.array([[7], [-1], [8]])
    labels, review = _run(pairs, 3, exclusive=keys)
    assert labels[0] == labels[1]
    assert labels[2] != labels[0]
    assert review == {(1, 2)}


def test_records_with_the_same_exclusive_key_or_none_still_merge():
    pairs = [(0, 1, 0.99), (1, 2, 0.98), (2, 3, 0.97)]
    keys = np.array([[7], [-1], [7], [-1]])
    labels, _ = _run(pairs, 4, exclusive=keys)
    assert labels[0] == labels[1] == labels[2] == labels[3]


def test_a_disputed_pair_is_not_joined_through_a_chain():
    # A-B disputed (a group and its company), held for review at 0.89; a third
    # record links strongly to both
    pairs = [(0, 2, 0.99), (1, 2, 0.98), (0, 1, 0.89)]
    disputed = np.array([False, False, True])
    labels, review = _run(pairs, 3, disputed=disputed)
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])
    assert (0, 1) in review
