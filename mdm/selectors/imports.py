"""Reads about imports: the imports of a workbook's sheets confirmed together."""

from __future__ import annotations

from django.db.models import Q

from mdm.models import ImportJob


def import_job_sheet_list(*, job: ImportJob) -> list[ImportJob]:
    """The imports of the sheets of `job`'s workbook confirmed together with
    it (`ImportJob.part_of`), it included, in the order they run; [] when
    it was confirmed alone."""
    first = job.part_of_id or job.pk
    jobs = list(
        ImportJob.objects.filter(Q(pk=first) | Q(part_of_id=first)).order_by("pk")
    )
    return jobs if len(jobs) > 1 else []


def import_job_next_sheet_get(*, job: ImportJob) -> ImportJob | None:
    """The import of another sheet of `job`'s workbook queued to run after
    it, if any. They run one after the other, not side by side, so that each
    one's matching sees what the sheets before it placed."""
    return (
        ImportJob.objects.filter(
            part_of_id=job.part_of_id or job.pk,
            status=ImportJob.Status.QUEUED,
            pk__gt=job.pk,
        )
        .order_by("pk")
        .first()
    )


def import_job_made_from_check_get(*, job: ImportJob) -> ImportJob | None:
    """The first import made from the check `job` (or from a sheet checked
    with it), if it was imported."""
    group = import_job_sheet_list(job=job) or [job]
    return ImportJob.objects.filter(from_check__in=group).order_by("pk").first()
