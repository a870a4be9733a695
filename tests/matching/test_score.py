import numpy as np
import pytest

from matching import BlockingRule, Comparison, EMSettings, Level, MatchConfig, Record
from matching import Test as Check
from matching.prepare import prepare_records
from matching.score import (
    level_weights,
    match_weights,
    pattern_counts,
    probabilities,
    run_em,
    tf_reference,
    uncorroborated,
    update_from_labels,
)


def _comp(name, n_levels):
    levels = tuple(
        Level(f"l{i}", f"level {i}", (Check("exact", ("fn",)),))
        for i in range(n_levels)
    )
    return Comparison(name, ("fn",), levels, "differ")


def test_em_recovers_m_and_u_of_a_known_model():
    rng = np.random.default_rng(0)
    comps = (_comp("a", 2), _comp("b", 1), _comp("c", 3))
    true_m = {"a": [0.8, 0.15, 0.05], "b": [0.9, 0.1], "c": [0.6, 0.2, 0.1, 0.1]}
    true_u = {"a": [0.05, 0.1, 0.85], "b": [0.2, 0.8], "c": [0.01, 0.04, 0.15, 0.8]}
    n, lam = 200_000, 0.3
    is_match = rng.random(n) < lam
    levels = np.zeros((n, 3), dtype=np.int8)
    for k, c in enumerate(comps):
        for sel, p in ((is_match, true_m[c.name]), (~is_match, true_u[c.name])):
            levels[sel, k] = 1 + rng.choice(len(p), size=int(sel.sum()), p=p)
    levels[rng.random(n) < 0.1, 0] = 0  # missing values are no evidence
    config = MatchConfig(schema="person", blocking=(), comparisons=comps)
    patterns, counts = pattern_counts(levels, config)
    m, u, prior = run_em(patterns, counts, config)
    assert prior == pytest.approx(lam, abs=0.01)
    for c in comps:
        np.testing.assert_allclose(m[c.name], true_m[c.name], atol=0.02)
        np.testing.assert_allclose(u[c.name], true_u[c.name], atol=0.02)


def _tf_setup():
    comp = Comparison(
        "surname",
        ("sn",),
        (Level("exact", "same surname", (Check("exact", ("sn",)),), tf=True),),
        "surnames differ",
    )
    config = MatchConfig(
        schema="person",
        blocking=(BlockingRule("sn", ("sn",)),),
        comparisons=(comp,),
        em=EMSettings(tf_prior_records=10),
    )
    names = ["Smith"] * 50 + ["Zelinski"] * 2 + [f"Other{i}" for i in range(48)]
    table = prepare_records(
        [Record(str(i), "x", {"surname": s}) for i, s in enumerate(names)], "person"
    )
    trained = config.with_parameters(
        {"surname": (0.9, 0.1)},
        {"surname": (0.2, 0.8)},
        0.5,
        tf_reference(table, config),
    )
    return table, trained


def test_rare_agreement_outweighs_common_agreement():
    table, config = _tf_setup()
    smiths, zelinskis = np.array([0]), np.array([50])
    agree = np.array([[1]], dtype=np.int8)
    common = match_weights(table, smiths, agree, config)[0]
    rare = match_weights(table, zelinskis, agree, config)[0]
    assert rare > common + 3
    base = np.log2(0.9 / 0.2)
    assert common < base < rare


def test_disagreement_and_missing_weights():
    _, config = _tf_setup()
    weights = level_weights(config)[0]
    assert weights[0] == 0.0
    assert weights[2] < 0


def test_labels_move_m_and_u_towards_the_steward_decisions():
    _, config = _tf_setup()
    levels = np.array([[2]] * 100 + [[1]] * 100, dtype=np.int8)
    is_match = np.array([True] * 100 + [False] * 100)
    updated = update_from_labels(config, levels, is_match, strength=100)
    comp = updated.comparisons[0]
    assert comp.m[1] > 0.1 and comp.u[0] > 0.2
    assert sum(comp.m) == pytest.approx(1.0)
    assert updated.prior == config.prior


def _corroboration_config():
    name = Comparison(
        "name",
        ("fn",),
        (
            Level("exact", "same", (Check("exact", ("fn",)),)),
            Level("alike", "alike", (Check("exact", ("fn",)),), decisive="corroborate"),
        ),
        "differ",
    )
    phone = Comparison(
        "phone",
        ("phone",),
        (Level("exact", "same", (Check("exact", ("phone",)),), corroborates=True),),
        "differ",
    )
    city = Comparison(
        "city", ("city",), (Level("same", "same", (Check("exact", ("city",)),)),), "x"
    )
    return MatchConfig(
        schema="person", blocking=(), comparisons=(name, phone, city)
    ).with_parameters(
        {"name": (0.8, 0.15, 0.05), "phone": (0.6, 0.4), "city": (0.9, 0.1)},
        {"name": (0.01, 0.04, 0.95), "phone": (0.01, 0.99), "city": (0.05, 0.95)},
        0.5,
    )


def test_a_corroborate_level_is_capped_unless_a_corroborating_level_holds():
    config = _corroboration_config()
    # name alike + same city / + same phone / + phone missing / exact name
    levels = np.array([[2, 2, 1], [2, 1, 1], [2, 0, 1], [1, 2, 1]], dtype=np.int8)
    np.testing.assert_array_equal(
        uncorroborated(levels, config), [True, False, True, False]
    )
    probs = probabilities(np.full(4, 30.0), levels, config)
    assert probs[0] < config.auto_merge_threshold <= probs[1]
    assert probs[2] < config.auto_merge_threshold <= probs[3]


def test_a_reference_of_just_the_pair_leaves_the_trained_weight_alone():
    _, config = _tf_setup()
    pair = prepare_records(
        [
            Record("a", "x", {"surname": "Unseen"}),
            Record("b", "y", {"surname": "Unseen"}),
        ],
        "person",
    )
    agree = np.array([[1]], dtype=np.int8)
    weight = match_weights(pair, np.array([0]), agree, config)[0]
    assert weight == pytest.approx(level_weights(config)[0][1])
