"""Standardising stored source records again after the standardisers changed."""

import pytest
from django.core.management import CommandError, call_command

from mdm.models import SourceRecord
from mdm.services.restandardise import source_records_restandardise
from tests.builders import make_source_record

pytestmark = pytest.mark.django_db

VALID = "91110108MA01KPGK0L"


def quoted_record_stored_by_older_code() -> SourceRecord:
    """A record whose stored values are what the standardisers made before
    they passed over quotation marks and Excel's text prefix."""
    record = make_source_record(
        "erp", FName="“北京华盛科技有限公司”", FTaxRegisterCode=f"'{VALID}"
    )
    stale = {
        **record.standardised,
        "name_core": "“北京华盛科技有限公司”",
        "name_region": None,
        "uscc": f"'{VALID}",
        "uscc_valid": False,
        "uscc_kind": "unknown",
    }
    SourceRecord.objects.filter(pk=record.pk).update(
        standardised=stale, uscc=f"'{VALID}", uscc_valid=False
    )
    return record


def test_only_records_whose_values_change_are_written_with_history(capsys):
    stale = quoted_record_stored_by_older_code()
    current = make_source_record("erp", FName="上海东方贸易有限公司")
    histories = {r.pk: r.history.count() for r in (stale, current)}
    call_command("restandardise_source_records", "--batch-size", "1")
    out = capsys.readouterr().out
    assert "1/2 examined, 1 changed" in out and "2/2 examined, 1 changed" in out
    assert "2 source records examined, 1 changed." in out
    assert "recompute_golden_records" in out
    stale.refresh_from_db()
    assert (stale.uscc, stale.uscc_valid) == (VALID, True)
    assert stale.standardised["name_core"] == "华盛科技"
    assert stale.standardised["name_region"] == "北京"
    last = stale.history.first()
    assert (last.history_type, last.history_change_reason) == (
        "~",
        "standardised again",
    )
    assert (last.uscc, last.standardised) == (VALID, stale.standardised)
    assert last.raw_payload == stale.raw_payload  # the rest as it was
    assert stale.history.count() == histories[stale.pk] + 1
    assert current.history.count() == histories[current.pk]


def test_a_second_run_changes_nothing():
    quoted_record_stored_by_older_code()
    assert source_records_restandardise().changed == 1
    histories = [r.history.count() for r in SourceRecord.objects.all()]
    report = source_records_restandardise()
    assert (report.examined, report.changed) == (1, 0)
    assert [r.history.count() for r in SourceRecord.objects.all()] == histories


def test_a_dry_run_counts_and_writes_nothing(capsys):
    stale = quoted_record_stored_by_older_code()
    history = stale.history.count()
    call_command("restandardise_source_records", "--dry-run")
    out = capsys.readouterr().out
    assert "1 source records examined, 1 would change." in out
    assert "recompute_golden_records" not in out
    stale.refresh_from_db()
    assert (stale.uscc, stale.history.count()) == (f"'{VALID}", history)


def test_the_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("restandardise_source_records", "--batch-size", "0")
