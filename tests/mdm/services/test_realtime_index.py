import pytest

from mdm.services import realtime_matching
from mdm.services.match_models import match_config_current
from tests.builders import make_source_record

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
