import time

import pytest

import matching
from mdm.models import SourceRecord
from mdm.services import realtime_matching
from mdm.services.match_models import match_config_current
from mdm.services.source_records import (
    source_record_mark_deleted,
    source_record_upsert,
)
from tests.builders import make_golden, make_source_record

pytestmark = pytest.mark.django_db


def test_each_change_is_indexed_once_and_later_changes_are_seen(monkeypatch):
    config = match_config_current()
    first = make_source_record(FName="北京华盛科技有限公司")
    index = realtime_matching._synced_index(config)
    added = []
    original_add = index.add
    monkeypatch.setattr(index, "add", lambda r: (added.append(r.id), original_add(r)))
    second = make_source_record(FName="上海明远贸易有限公司")
    realtime_matching._synced_index(config)
    realtime_matching._synced_index(config)  # nothing new: nothing re-indexed
    assert added.count(str(second.pk)) == 1
    assert added.count(str(first.pk)) <= 1  # within the margin once, not per call


def test_the_same_model_is_parsed_once_per_process():
    assert match_config_current() is match_config_current()


def _indexed(index, record) -> bool:
    try:
        index.remove(str(record.pk))
    except KeyError:
        return False
    index.add(realtime_matching.source_record_as_matching_record(record))
    return True


def test_changes_are_followed_through_the_history():
    config = match_config_current()
    kept = make_source_record(FName="北京华盛科技有限公司")
    gone = make_source_record(FName="上海明远贸易有限公司")
    index = realtime_matching._synced_index(config)
    assert _indexed(index, kept) and _indexed(index, gone)
    source_record_mark_deleted(system=gone.source_system, source_id=gone.source_id)
    renamed = source_record_upsert(
        system=kept.source_system,
        source_id=kept.source_id,
        payload={"FNumber": kept.source_id, "FName": "深圳前海微众银行股份有限公司"},
    ).record
    index = realtime_matching._synced_index(config)
    assert not _indexed(index, gone)
    found = matching.match_one(
        realtime_matching.source_record_as_matching_record(renamed),
        index,
        config,
    )
    assert all(c.id != str(kept.pk) for c in found)  # the record itself is skipped
    query = matching.Record(
        id="query", source="crm", fields={"name": "深圳前海微众银行股份有限公司"}
    )
    assert str(kept.pk) in [c.id for c in matching.match_one(query, index, config)]


def test_a_history_gap_is_looked_at_again_until_the_margin_passes():
    config = match_config_current()
    realtime_matching._synced_index(config)
    late = make_source_record(FName="杭州云栖软件有限公司")
    history_id = late.history.latest().history_id
    # As if a later transaction had been seen first: `late` is a gap.
    holder = realtime_matching._holder
    holder.watermark = history_id + 1
    holder.pending = {history_id: time.monotonic()}
    index = realtime_matching._synced_index(config)
    assert _indexed(index, late)
    assert holder.pending == {}
    holder.pending = {history_id + 5: time.monotonic() - 3600}  # rolled back
    realtime_matching._synced_index(config)
    assert holder.pending == {}


def test_a_large_catch_up_is_indexed_as_one_segment(monkeypatch):
    monkeypatch.setattr(realtime_matching, "BULK_CATCH_UP", 2)
    config = match_config_current()
    realtime_matching._synced_index(config)
    names = ["北京华盛科技有限公司", "上海明远贸易有限公司", "广州市天河电子有限公司"]
    records = [make_source_record(FName=name) for name in names]
    tables = []
    original = realtime_matching.source_rows_as_matching_table
    monkeypatch.setattr(
        realtime_matching,
        "source_rows_as_matching_table",
        lambda rows, schema: tables.append(1) or original(rows, schema),
    )
    index = realtime_matching._synced_index(config)
    assert len(tables) == 1
    assert all(_indexed(index, r) for r in records)


def test_warm_builds_once_and_reports_the_build():
    make_source_record(FName="北京华盛科技有限公司")
    build = realtime_matching.realtime_index_warm()
    assert build is not None and build.records >= 1 and build.chunks >= 1
    assert realtime_matching.realtime_index_warm() is None


def test_warm_serves_a_compact_copy_of_a_fresh_build_that_matches_alike(
    monkeypatch,
):
    golden = make_golden("北京华盛科技有限公司", FTel="010-65521234")
    copies = []
    original = realtime_matching._compacted
    monkeypatch.setattr(
        realtime_matching,
        "_compacted",
        lambda index: copies.append((index, original(index))) or copies[-1][1],
    )
    realtime_matching.realtime_index_warm()
    [(built, copy)] = copies
    assert realtime_matching._holder.index is copy and copy is not built
    assert len(copy) == len(built)
    assert all(segment._id_index is not None for segment in copy._segments)
    outcome = realtime_matching.source_record_match(
        make_source_record("crm", Name="北京华盛科技有限公司", Phone="010-65521234")
    )
    assert outcome.decision == outcome.AUTO_MERGE and outcome.best.golden == golden


def test_an_unsaved_record_can_be_matched():
    # The lookup API's "what would happen" path matches a record it never saves.
    golden = make_golden("北京华盛科技有限公司", FTel="010-65521234")
    existing = golden.xrefs.get().source_record
    probe = SourceRecord(
        source_system=existing.source_system,
        source_id="",
        attributes={"legal_name": "北京华盛科技有限公司", "phones": ["010-65521234"]},
    )
    outcome = realtime_matching.source_record_match(probe)
    assert outcome.decision == outcome.AUTO_MERGE
    assert outcome.best.record.pk == existing.pk and outcome.best.golden == golden


def _probe(index, record) -> list[str]:
    found = matching.match_one(
        realtime_matching.source_record_as_matching_record(record),
        index,
        top=10,
    )
    return [c.id for c in found]


def test_a_restart_reads_the_index_from_its_snapshot_and_catches_up(settings, tmp_path):
    settings.REALTIME_INDEX_SNAPSHOT = str(tmp_path / "index.pickle")
    kept = make_source_record(FName="北京华盛科技有限公司", FTel="010-65521234")
    gone = make_source_record(FName="上海明远贸易有限公司", FTel="021-62345678")
    built = realtime_matching.realtime_index_warm()
    assert built is not None and not built.from_snapshot
    snapshot = tmp_path / "index.pickle"
    assert snapshot.stat().st_mode & 0o777 == 0o600

    realtime_matching.realtime_index_reset()  # as a new process
    source_record_mark_deleted(system=gone.source_system, source_id=gone.source_id)
    later = make_source_record(FName="北京华盛科技有限公司", FTel="010-65521234")
    read = realtime_matching.realtime_index_warm()
    assert read is not None and read.from_snapshot
    index = realtime_matching._holder.index
    assert str(later.pk) in _probe(index, kept)  # written after the snapshot
    assert str(gone.pk) not in _probe(index, gone)  # deleted after it


def test_a_snapshot_of_other_code_or_an_unreadable_one_is_built_anew(
    settings, tmp_path, monkeypatch
):
    from mdm.services import realtime_snapshot

    settings.REALTIME_INDEX_SNAPSHOT = str(tmp_path / "index.pickle")
    make_source_record(FName="北京华盛科技有限公司")
    realtime_matching.realtime_index_warm()
    realtime_matching.realtime_index_reset()
    monkeypatch.setattr(realtime_snapshot, "_code_version", lambda: "other code")
    assert not realtime_matching.realtime_index_warm().from_snapshot
    realtime_matching.realtime_index_reset()
    (tmp_path / "index.pickle").write_bytes(b"not a pickle")
    assert not realtime_matching.realtime_index_warm().from_snapshot
    realtime_matching.realtime_index_reset()
    assert realtime_matching.realtime_index_warm().from_snapshot  # rewritten


def test_a_snapshot_that_caught_up_with_many_changes_is_written_anew(
    settings, tmp_path, monkeypatch
):
    settings.REALTIME_INDEX_SNAPSHOT = str(tmp_path / "index.pickle")
    monkeypatch.setattr(realtime_matching, "SNAPSHOT_REFRESH_CHANGES", 2)
    for name in ("北京华盛科技有限公司", "上海明远贸易有限公司"):
        make_source_record(FName=name)
    realtime_matching.realtime_index_warm()  # builds; its watermark: none settled
    first = (tmp_path / "index.pickle").stat().st_mtime_ns
    realtime_matching.realtime_index_reset()
    make_source_record(FName="深圳前海微众银行股份有限公司")
    assert realtime_matching.realtime_index_warm().from_snapshot
    assert realtime_matching._holder.last_catch_up >= 3  # the build's watermark: 0
    assert (tmp_path / "index.pickle").stat().st_mtime_ns != first
    realtime_matching.realtime_index_reset()
    assert realtime_matching.realtime_index_warm().from_snapshot
    index = realtime_matching._holder.index
    assert len(index) == SourceRecord.objects.filter(is_active=True).count()
