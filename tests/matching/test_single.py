"""The single-record index: bulk segments, the live overlay, tombstones."""

import pytest

from matching import Record, RecordIndex, match_one
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
