"""Background tasks (django-tasks): run by `manage.py db_worker`."""

from __future__ import annotations

from django_tasks import task

from mdm.models import ImportJob
from mdm.services.imports import import_job_run


@task()
def import_run(job_id: int) -> str:
    job = import_job_run(job=ImportJob.objects.get(pk=job_id))
    return job.status
