import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from mdm.models import ImportJob, SourceRecord, SourceSystem
from mdm.services.imports import import_job_confirm, import_job_create
from mdm.tasks import import_run


def sheet() -> bytes:
    book = Workbook()
    book.active.append(["客户名称", "电话"])
    book.active.append(["北京华盛科技有限公司", "010-65521234"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_enqueued_import_is_run_by_the_database_worker():
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(system=system, content=sheet(), filename="a.xlsx")
    import_job_confirm(job=job, mapping=job.mapping)
    import_run.enqueue(job.pk)
    assert SourceRecord.objects.count() == 0  # nothing happens in the request
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 1)
    assert SourceRecord.objects.get().name == "北京华盛科技有限公司"
