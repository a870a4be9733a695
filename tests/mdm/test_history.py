"""mdm.history: Model.history (simple_history's manager, its class built once
per model) and update_with_history."""

from datetime import timedelta

import pytest
from django.utils import timezone
from simple_history.manager import HistoricalQuerySet, HistoryManager

from mdm.history import update_with_history
from mdm.models import GoldenRecord, SourceRecord, SourceSystem
from tests.mdm.ui.helpers import make_steward


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


@pytest.mark.django_db
def test_update_with_history_writes_the_values_and_one_history_row_each():
    system = SourceSystem.objects.get(code="erp")
    rows = [
        SourceRecord.objects.create(source_system=system, source_id=f"U-{i}")
        for i in range(3)
    ]
    untouched = SourceRecord.objects.create(source_system=system, source_id="U-x")
    steward = make_steward("alice")
    when = timezone.now() - timedelta(minutes=5)
    update_with_history(
        rows[:2],
        SourceRecord,
        {"name": "华盛科技", "is_active": False},
        user=steward,
        reason="test",
        when=when,
    )
    assert [r.name for r in rows[:2]] == ["华盛科技", "华盛科技"]  # in memory too
    stored = dict(SourceRecord.objects.values_list("source_id", "name"))
    assert stored == {"U-0": "华盛科技", "U-1": "华盛科技", "U-2": "", "U-x": ""}
    assert not SourceRecord.objects.get(pk=rows[0].pk).is_active
    for row in rows[:2]:
        latest = row.history.latest("history_id")
        assert (latest.history_type, latest.name, latest.is_active) == (
            "~",
            "华盛科技",
            False,
        )
        assert (latest.history_user, latest.history_change_reason) == (steward, "test")
        assert latest.history_date == when
        assert row.history.count() == 2
    assert rows[2].history.count() == untouched.history.count() == 1
