import numpy as np
import pytest

from matching import BlockingRule, MatchConfig, Record, preset
from matching.blocking import blocking_report, candidate_pairs
from matching.prepare import prepare_records


def _table(rows):
    return prepare_records(
        [Record(str(i), "crm", fields) for i, fields in enumerate(rows)], "person"
    )


def _config(*rules, cap=500, partitions=3):
    return MatchConfig(
        schema="person",
        blocking=rules,
        comparisons=(),
        max_block_size=cap,
        partitions=partitions,
    )


ROWS = [
    {"first_name": "Ann", "surname": "Lee", "dob": "1980-01-02", "phone": "5551234567"},
    {"first_name": "Anne", "surname": "Lee", "dob": "1980-01-02", "phone": None},
    {"first_name": "Bob", "surname": "Kay", "dob": "1970-05-05", "phone": "5551234567"},
    {"first_name": "Bob", "surname": "Kay", "dob": None, "phone": None},
    {"first_name": "Cy", "surname": "Ode", "dob": "1990-09-09", "phone": None},
]


def _pairs(cp):
    left, right = cp.concatenated()
    return sorted(zip(left.tolist(), right.tolist(), strict=True))


def test_union_of_keys_is_deduplicated():
    cfg = _config(
        BlockingRule("sn_dob", ("sn", "dob")),
        BlockingRule("phone", ("phone",)),
        BlockingRule("sn", ("sn",)),
    )
    cp = candidate_pairs(_table(ROWS), cfg)
    assert _pairs(cp) == [(0, 1), (0, 2), (2, 3)]
    assert cp.pairs_per_rule == {"sn_dob": 1, "phone": 1, "sn": 2}
    assert len(cp.partitions) == 3


def test_missing_key_values_never_block_together():
    cp = candidate_pairs(_table(ROWS), _config(BlockingRule("dob", ("dob",))))
    assert _pairs(cp) == [(0, 1)]


def test_oversized_blocks_are_skipped_and_reported():
    rows = [{"first_name": "Jo", "surname": "Roe"}] * 4 + ROWS
    cfg = _config(BlockingRule("sn", ("sn",)), cap=3)
    cp = candidate_pairs(_table(rows), cfg)
    assert _pairs(cp) == [(4, 5), (6, 7)]
    assert cp.skipped_blocks == {"sn": 1}
    assert cp.skipped_records == {"sn": 4}


def test_sorted_neighbourhood_pairs_neighbours_in_key_order():
    rows = [{"first_name": "a", "surname": s} for s in ("lee", "abbot", "leee", "zed")]
    rule = BlockingRule("sn_sorted", ("sn",), method="sorted_neighbourhood", window=2)
    cp = candidate_pairs(_table(rows), _config(rule))
    # order: abbot, lee, leee, zed
    assert _pairs(cp) == [(0, 1), (0, 2), (2, 3)]


def test_multi_valued_columns_block_on_each_value():
    rows = [{"first_name": "Bill"}, {"first_name": "William"}, {"first_name": "Will"}]
    cp = candidate_pairs(_table(rows), _config(BlockingRule("nick", ("fn_canon",))))
    assert _pairs(cp) == [(0, 1), (0, 2), (1, 2)]


def test_report_numbers_on_a_labelled_set():
    cfg = _config(
        BlockingRule("sn_dob", ("sn", "dob")), BlockingRule("phone", ("phone",))
    )
    table = _table(ROWS)
    cp = candidate_pairs(table, cfg)
    report = blocking_report(table, cp, entity_ids=["a", "a", "b", "b", "c"])
    assert report.candidate_pairs == 2
    assert report.pairs_per_record == pytest.approx(0.4)
    assert report.reduction_ratio == pytest.approx(1 - 2 / 10)
    assert report.true_pairs == 2
    assert report.true_pairs_found == 1
    assert report.pair_completeness == pytest.approx(0.5)


def test_linking_keeps_only_cross_source_pairs():
    table = _table(ROWS)
    table = type(table)(table.ids, table.columns, np.array([0, 0, 1, 1, 1]))
    cp = candidate_pairs(
        table,
        _config(BlockingRule("phone", ("phone",)), BlockingRule("sn", ("sn",))),
        link=True,
    )
    assert _pairs(cp) == [(0, 2)]


def test_person_preset_finds_the_true_pairs_of_a_small_set():
    from tests.matching.people import people

    records, truth = people(300)
    table = prepare_records(records, "person")
    cp = candidate_pairs(table, preset("person"))
    report = blocking_report(table, cp, entity_ids=truth)
    assert report.pair_completeness >= 0.98
    assert report.pairs_per_record < 3
