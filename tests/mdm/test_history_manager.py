"""Model.history: simple_history's manager, its class built once per model
(mdm.history.HistoricalRecords)."""

import pytest
from simple_history.manager import HistoricalQuerySet, HistoryManager

from mdm.models import GoldenRecord, SourceRecord, SourceSystem


def test_the_manager_class_is_built_once_per_model():
    first, second = SourceRecord.history, SourceRecord.history
    assert first is not second  # a manager per access, as the library's
    assert type(first) is type(second)
    assert isinstance(first, HistoryManager)
    assert isinstance(first.all(), HistoricalQuerySet)
    assert type(GoldenRecord.history) is not type(first)
    assert GoldenRecord.history.model is not first.model


@pytest.mark.django_db
def test_an_instance_history_is_that_record_s_only():
    system = SourceSystem.objects.get(code="erp")
    one = SourceRecord.objects.create(source_system=system, source_id="H-1")
    other = SourceRecord.objects.create(source_system=system, source_id="H-2")
    one.name = "北京华盛科技有限公司"
    one.save()
    assert [h.history_type for h in one.history.order_by("history_id")] == ["+", "~"]
    assert other.history.count() == 1
    assert one.history.as_of(one.history.earliest("history_id").history_date).name == ""
    assert SourceRecord.history.filter(id__in=[one.pk, other.pk]).count() == 3
