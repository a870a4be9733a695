import numpy as np
import pytest

from matching import MatchConfig, Record, RecordIndex, match_one, preset, run_pipeline
from matching.pipeline import explain_pair, learn_from_decisions, scored_pairs
from tests.matching.people import people


@pytest.fixture(scope="module")
def batch():
    records, truth = people(600, seed=11)
    return records, np.array(truth), run_pipeline(records, preset("person"))


def _pairwise(result, truth, threshold):
    is_match = truth[result.left] == truth[result.right]
    sizes = np.bincount(truth)
    n_true = int((sizes * (sizes - 1) // 2).sum())
    predicted = result.scores >= threshold
    tp = int((predicted & is_match).sum())
    return tp / max(int(predicted.sum()), 1), tp / n_true


def test_precision_and_recall_floors_on_a_seeded_person_set(batch):
    _, truth, result = batch
    precision, recall = _pairwise(result, truth, result.config.review_threshold)
    assert precision >= 0.97
    assert recall >= 0.95
    precision, recall = _pairwise(result, truth, result.config.auto_merge_threshold)
    assert precision >= 0.98
    assert recall >= 0.9


def test_trained_config_round_trips_and_scores_the_same(batch):
    records, _, result = batch
    again = MatchConfig.from_json(result.config.to_json())
    assert again.trained
    rerun = run_pipeline(records, again)
    np.testing.assert_allclose(rerun.scores, result.scores, rtol=1e-6)
    assert rerun.config_hash == result.config_hash


def test_households_are_not_merged(batch):
    records, truth, result = batch
    by_id = {r.id: r for r in records}
    for cluster in set(result.cluster_ids.tolist()):
        members = np.flatnonzero(result.cluster_ids == cluster)
        firsts = {by_id[result.ids[i]].fields["first_name"] for i in members}
        if len(set(truth[members])) > 1:
            pytest.fail(f"cluster mixes entities: {firsts}")


def test_every_pair_has_a_plain_words_explanation(batch):
    _, _, result = batch
    k = int(np.argmax(result.scores))
    evidence = explain_pair(result, k)
    assert [e.comparison for e in evidence] == [
        c.name for c in result.config.comparisons
    ]
    assert any(e.weight > 0 for e in evidence)
    assert all(e.weight == 0 for e in evidence if e.level == "missing")
    assert all(e.text for e in evidence)


def test_scored_pairs_come_with_explanations(batch):
    _, _, result = batch
    top = np.argsort(-result.scores)[:5]
    pairs = scored_pairs(result, top)
    assert [p.score for p in pairs] == sorted(result.scores[top], reverse=True)
    for pair, k in zip(pairs, top, strict=True):
        assert pair.left == result.ids[result.left[k]]
        assert len(pair.evidence) == len(result.config.comparisons)


def test_single_record_path_finds_the_batch_top_match(batch):
    records, _, result = batch
    index = RecordIndex(result.config, records)
    assert len(index) == len(records)
    row_of = {str(i): k for k, i in enumerate(result.ids)}
    strong = np.flatnonzero(result.scores >= 0.99)[:20]
    for k in strong:
        query = records[row_of[result.ids[result.left[k]]]]
        mask = (result.left == result.left[k]) | (result.right == result.left[k])
        top = result.scores[mask].max()
        best = np.flatnonzero(mask & (result.scores == top))
        expected = {
            str(result.ids[i]) for i in np.r_[result.left[best], result.right[best]]
        }
        found = match_one(query, index)
        assert found[0].id in expected - {query.id}
        assert found[0].score == pytest.approx(float(top), abs=0.02)
        assert found[0].evidence


def test_index_supports_add_update_remove(batch):
    _, _, result = batch
    index = RecordIndex(result.config)
    ann = Record(
        "1",
        "crm",
        {
            "first_name": "Ann",
            "surname": "Quixley",
            "dob": "1980-01-02",
            "phone": "5551234567",
        },
    )
    index.add(ann)
    probe = Record(
        "p", "erp", {"first_name": "Anne", "surname": "Quixley", "dob": "1980-01-02"}
    )
    assert [c.id for c in match_one(probe, index)] == ["1"]
    index.update(
        Record("1", "crm", {"first_name": "Bob", "surname": "Zed", "dob": "1950-05-05"})
    )
    assert match_one(probe, index) == []
    index.remove("1")
    assert len(index) == 0
    with pytest.raises(KeyError):
        index.remove("1")


def test_not_a_match_decision_splits_a_cluster():
    records = [
        Record(
            "a",
            "crm",
            {
                "first_name": "Ann",
                "surname": "Quixley",
                "dob": "1980-01-02",
                "phone": "5551234567",
            },
        ),
        Record(
            "b",
            "erp",
            {
                "first_name": "Ann",
                "surname": "Quixley",
                "dob": "1980-01-02",
                "phone": "5551234567",
            },
        ),
    ]
    trained = run_pipeline(records * 1, preset("person")).config
    merged = run_pipeline(records, trained)
    assert merged.cluster_ids[0] == merged.cluster_ids[1]
    split = run_pipeline(records, trained, cannot_link=[("a", "b")])
    assert split.cluster_ids[0] != split.cluster_ids[1]


def test_records_without_candidates_stay_singletons():
    records = [
        Record("a", "crm", {"first_name": "Ann", "surname": "Lee"}),
        Record("b", "crm", {"first_name": "Bob", "surname": "Kay"}),
    ]
    result = run_pipeline(records, preset("person"))
    assert result.scores.size == 0
    assert result.cluster_ids.tolist() == [0, 1]
    assert run_pipeline([], preset("person")).cluster_ids.size == 0


def test_steward_decisions_move_the_weights(batch):
    _, _, result = batch
    config = result.config

    def person(rid, first, dob):
        return Record(
            rid,
            "crm",
            {
                "first_name": first,
                "surname": "Quixley",
                "dob": dob,
                "phone": "5551234567",
            },
        )

    # twins: same surname, dob and phone, different first names, not a match
    twins = [
        (
            person(f"a{i}", "Ann", "1980-01-02"),
            person(f"b{i}", "Zoe", "1980-01-02"),
            False,
        )
        for i in range(50)
    ]
    updated = learn_from_decisions(config, twins, strength=50)
    k = [c.name for c in config.comparisons].index("phone")
    assert updated.comparisons[k].u[0] > config.comparisons[k].u[0]
    assert updated.comparisons[k].m == pytest.approx(config.comparisons[k].m)
