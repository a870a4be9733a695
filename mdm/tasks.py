"""Background tasks (django-tasks): run by `manage.py db_worker`."""

from __future__ import annotations

from django_tasks import task

from mdm.models import ImportJob
from mdm.selectors.imports import import_job_next_sheet_get
from mdm.services.imports import import_job_run


@task()
def import_run(job_id: int) -> str:
    job = ImportJob.objects.get(pk=job_id)
    try:
        job = import_job_run(job=job)
    finally:
        # The workbook's other sheets confirmed with it, one after the other,
        # even when this one failed.
        following = import_job_next_sheet_get(job=job)
        if following is not None:
            import_run.enqueue(following.pk)
    return job.status
