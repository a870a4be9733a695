"""Database guards (RELIABILITY C4, W7): a DELETE of a source record or a
cross-reference, and any change to an audit row, fail in the database
itself, whatever the client; Django's flush (TRUNCATE on PostgreSQL, a
guarded DELETE on SQLite) still empties the tables between tests."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from mdm.models import AuditEvent, CrossReference, SourceRecord, SourceSystem
from mdm.models.audit import AppendOnlyError
from mdm.services.audit import audit_record
from mdm.services.golden_records import golden_record_create
from tests.builders import make_source_record


def _raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_a_source_record_cannot_be_deleted_with_sql():
    record = make_source_record()
    with pytest.raises(IntegrityError, match="never deleted"):
        _raw("DELETE FROM mdm_sourcerecord WHERE id = %s", [record.pk])
    assert SourceRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_source_record_cannot_be_deleted_with_the_orm():
    record = make_source_record()
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceRecord.objects.filter(pk=record.pk)._raw_delete(using="default")
    assert SourceRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_cross_reference_cannot_be_deleted():
    golden = golden_record_create(members=[make_source_record()])
    with pytest.raises(IntegrityError, match="never deleted"):
        _raw("DELETE FROM mdm_crossreference WHERE golden_id = %s", [golden.pk])
    assert CrossReference.objects.filter(golden=golden).count() == 1


@pytest.mark.django_db
def test_the_audit_log_refuses_update_and_delete_in_the_database():
    event = audit_record(action=AuditEvent.Action.EXPORT, object_ref="x")
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("UPDATE mdm_auditevent SET actor = 'mallory' WHERE id = %s", [event.pk])
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("DELETE FROM mdm_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor == "system"


@pytest.mark.django_db
def test_the_audit_model_refuses_update_and_delete():
    event = audit_record(action=AuditEvent.Action.EXPORT, object_ref="x")
    event.detail = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flush_still_empties_the_guarded_tables():
    make_source_record()
    audit_record(action=AuditEvent.Action.EXPORT)
    call_command("flush", interactive=False, verbosity=0)
    assert not SourceRecord.objects.exists() and not AuditEvent.objects.exists()
    # ... and the guard is back on at once.
    SourceSystem.objects.create(
        code="erp", name="ERP", kind="erp", mapping_preset="kingdee_k3cloud"
    )
    record = make_source_record()
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM mdm_sourcerecord WHERE id = %s", [record.pk])
