"""The single-record index: bulk segments, the live overlay, tombstones, and
the small table of a query and its candidates."""

import pickle

import numpy as np
import pytest

from matching import Record, RecordIndex, concat_tables, match_one
from matching.index_parts import Segment, row_values
from matching.mini_column import MiniColumn, NotPlainText
from matching.prepare import prepare_records


@pytest.fixture(scope="module")
def corpus(company_trained):
    result, _, data = company_trained
    records = [Record(r.key, r.system, r.flat) for r in data.records]
    return result.config, records


def _answers(index, queries):
    return [
        [(c.id, round(c.score, 9)) for c in match_one(q, index, top=10)]
        for q in queries
    ]


def test_a_bulk_load_and_one_by_one_adds_answer_alike(corpus):
    config, records = corpus
    bulk = RecordIndex(config, records)
    live = RecordIndex(config)
    for record in records:
        live.add(record)
    queries = records[::7]
    assert len(bulk) == len(live) == len(records)
    assert _answers(bulk, queries) == _answers(live, queries)


def test_removed_records_are_gone_from_blocks_and_term_frequencies(corpus):
    config, records = corpus
    kept, dropped = records[:-40], records[-40:]
    index = RecordIndex(config, records)
    for record in dropped:
        index.remove(record.id)
    assert len(index) == len(kept)
    queries = records[::7]
    assert _answers(index, queries) == _answers(RecordIndex(config, kept), queries)


def test_a_bulk_loaded_record_can_be_updated_and_re_added(corpus):
    config, records = corpus
    index = RecordIndex(config, records)
    target = records[0]
    probe = Record("probe", "api", dict(target.fields))
    assert target.id in [c.id for c in match_one(probe, index, top=10)]
    index.update(Record(target.id, target.source, {"name": "完全不同实业有限公司"}))
    assert target.id not in [c.id for c in match_one(probe, index, top=10)]
    index.remove(target.id)
    with pytest.raises(KeyError):
        index.remove(target.id)
    index.add(target)
    assert target.id in [c.id for c in match_one(probe, index, top=10)]
    with pytest.raises(ValueError):
        index.add(target)


def test_a_second_bulk_load_adds_a_segment_but_no_indexed_id_again(corpus):
    config, records = corpus
    index = RecordIndex(config, records[:10])
    index.add(records[10])
    with pytest.raises(ValueError):
        index.add_table(prepare_records(records[10:12], config.schema))
    index.add_table(prepare_records(records[11:], config.schema))
    assert len(index) == len(records)
    queries = records[::7]
    assert _answers(index, queries) == _answers(RecordIndex(config, records), queries)


def _explained(index, queries):
    return [
        [
            (c.id, round(c.score, 9), round(c.match_weight, 6), c.evidence)
            for c in match_one(q, index, top=10)
        ]
        for q in queries
    ]


def test_every_layout_of_the_stores_scores_and_explains_alike(corpus):
    # One segment (candidates read as arrays), several segments and the
    # overlay (value by value), and one segment beside the overlay (arrays
    # plus a few values): the same candidates, scores and evidence.
    config, records = corpus
    queries = [Record(f"q{r.id}", "api", dict(r.fields)) for r in records[::5]]
    one = RecordIndex(config)
    one.add_table(
        concat_tables(
            [
                prepare_records(records[i : i + 150], config.schema)
                for i in range(0, len(records), 150)
            ]
        )
    )
    several = RecordIndex(config)
    for i in range(0, len(records), 150):
        several.add_table(prepare_records(records[i : i + 150], config.schema))
    beside = RecordIndex(config, records[: len(records) // 2])
    for record in records[len(records) // 2 :]:
        beside.add(record)
    expected = _explained(one, queries)
    assert any(len(answer) > 3 for answer in expected)
    assert _explained(several, queries) == expected
    assert _explained(beside, queries) == expected


def test_concatenated_tables_hold_what_one_preparation_holds(corpus):
    config, records = corpus
    whole = prepare_records(records, config.schema)
    stacked = concat_tables(
        [
            prepare_records(records[i : i + 100], config.schema)
            for i in range(0, len(records), 100)
        ]
    )
    assert list(stacked.ids) == list(whole.ids)
    for name, column in whole.columns.items():
        other = stacked.columns[name]
        assert row_values(other) == row_values(column), name
        assert other.total == column.total
        assert dict(zip(other.values, other.counts, strict=True)) == dict(
            zip(column.values, column.counts, strict=True)
        )


def test_a_value_pandas_compares_its_own_way_is_refused_by_the_array_path(corpus):
    config, records = corpus
    table = prepare_records(records[:5], config.schema)
    segment = Segment(config, table, table.ids.astype(str))
    column = MiniColumn(
        segment, table.columns["co_core"], False, [1, 2], np.array([0, 1]), 3
    )
    column.put(0, "华盛科技")
    with pytest.raises(NotPlainText):
        column.put(0, "华盛\x00科技")


def test_a_pickled_index_answers_as_the_original(corpus):
    config, records = corpus
    index = RecordIndex(config, records[:300])
    for record in records[300:]:
        index.add(record)
    index.remove(records[0].id)
    queries = [Record(f"q{r.id}", "api", dict(r.fields)) for r in records[::9]]
    copy = pickle.loads(pickle.dumps(index))
    assert len(copy) == len(index)
    assert _explained(copy, queries) == _explained(index, queries)
    twin = Record("twin", "api", dict(records[1].fields))
    copy.add(twin)  # its lock and cache work again
    assert len(copy) == len(index) + 1
    assert "twin" in [c.id for c in match_one(records[1], copy, top=50)]


def test_a_warmed_copy_answers_as_the_original_and_finds_its_ids(corpus):
    config, records = corpus
    index = RecordIndex(config, records[:300])
    index.remove(records[0].id)  # builds the id index, which is not pickled
    copy = pickle.loads(pickle.dumps(index))
    assert all(segment._id_index is None for segment in copy._segments)
    copy.warm()
    assert all(segment._id_index is not None for segment in copy._segments)
    queries = [Record(f"q{r.id}", "api", dict(r.fields)) for r in records[::9]]
    assert _explained(copy, queries) == _explained(index, queries)
    with pytest.raises(KeyError):
        copy.remove(records[0].id)  # still tombstoned
    copy.remove(records[1].id)
    with pytest.raises(ValueError, match="already indexed"):
        copy.add(records[2])
