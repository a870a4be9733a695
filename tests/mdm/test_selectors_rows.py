"""The hand-written lookup reads give exactly what the ORM gives."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import CrossReference, GoldenRecord, SourceRecord
from mdm.selectors.rows import (
    golden_record_by_golden_id,
    link_by_source_key,
    links_of_active_records,
)
from tests.builders import make_golden

pytestmark = pytest.mark.django_db


def _fields(instance, names):
    return {name: getattr(instance, name) for name in names}


def test_a_golden_record_reads_as_the_orm_reads_it():
    golden = make_golden(
        FTaxRegisterCode="91110108MA01KPGK0L", FTel="13800138000", FAddress="北京海淀"
    )
    names = [f.attname for f in GoldenRecord._meta.concrete_fields]
    expected = _fields(GoldenRecord.objects.get(pk=golden.pk), names)
    with CaptureQueriesContext(connection) as queries:
        read = golden_record_by_golden_id(golden.golden_id)
    assert len(queries) == 1
    assert _fields(read, names) == expected
    assert read.phones and isinstance(read.phones, list)  # JSON decoded
    assert read.created_at.tzinfo is not None  # an aware datetime, as the ORM's
    assert read._state.adding is False and read._state.db == "default"


def test_an_unknown_golden_id_reads_as_none():
    assert golden_record_by_golden_id("GR0000000000") is None


def test_a_link_reads_with_its_golden_record_key_and_system_in_one_query():
    golden = make_golden()
    record = SourceRecord.objects.select_related("source_system").get(
        xref__golden=golden
    )
    orm = CrossReference.objects.select_related(
        "golden", "source_record__source_system"
    ).get(source_record=record)
    with CaptureQueriesContext(connection) as queries:
        link = link_by_source_key(record.source_system.code, record.source_id)
        seen = (
            link.source_record.source_system.code,
            link.source_record.source_id,
            link.source_record.is_active,
            link.method,
            link.score,
            link.linked_at,
            link.golden.golden_id,
            link.golden.version,
        )
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert seen == (
        orm.source_record.source_system.code,
        orm.source_record.source_id,
        orm.source_record.is_active,
        orm.method,
        orm.score,
        orm.linked_at,
        orm.golden.golden_id,
        orm.golden.version,
    )
    names = [f.attname for f in GoldenRecord._meta.concrete_fields]
    assert _fields(link.golden, names) == _fields(orm.golden, names)


def test_an_unknown_or_other_systems_key_reads_as_none():
    golden = make_golden()
    record = SourceRecord.objects.get(xref__golden=golden)
    assert link_by_source_key("crm", record.source_id) is None
    assert link_by_source_key(record.source_system.code, "nope") is None


def _candidate_view(link) -> tuple:
    # what the real-time match reads of a candidate's link
    return (
        link.source_record_id,
        link.source_record.key,
        link.source_record.uscc,
        link.source_record.uscc_valid,
        link.golden.golden_id,
        link.golden.status,
        link.golden.version,
    )


def test_candidate_links_read_their_keys_tax_ids_and_golden_records_at_once():
    first = make_golden(FTaxRegisterCode="91110108MA01KPGK0L")
    second = make_golden()
    inactive = make_golden()
    records = {
        g.pk: SourceRecord.objects.get(xref__golden=g)
        for g in (first, second, inactive)
    }
    SourceRecord.objects.filter(pk=records[inactive.pk].pk).update(is_active=False)
    ids = [r.pk for r in records.values()] + [10**9]
    with CaptureQueriesContext(connection) as queries:
        brief = links_of_active_records(ids, whole_golden=False)
        seen = sorted(_candidate_view(x) for x in brief)
    assert len(queries) == 1, [q["sql"] for q in queries]
    orm = CrossReference.objects.select_related(
        "golden", "source_record__source_system"
    ).filter(source_record_id__in=ids, source_record__is_active=True)
    assert seen == sorted(_candidate_view(x) for x in orm)
    assert len(seen) == 2 and seen[0][2] == "91110108MA01KPGK0L"
    whole = links_of_active_records(ids, whole_golden=True)
    names = [f.attname for f in GoldenRecord._meta.concrete_fields]
    by_pk = {x.golden.pk: x.golden for x in orm}
    assert all(
        _fields(x.golden, names) == _fields(by_pk[x.golden.pk], names) for x in whole
    )
    assert links_of_active_records([], whole_golden=True) == []
