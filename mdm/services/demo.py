"""Demo data: synthetic customers from an ERP, a CRM and a legacy sheet,
pushed through the same ingestion and matching as real data."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fixtures.chinese_b2b import generate, write
from mdm.models import ImportJob, MatchRun, SourceSystem
from mdm.services.batch_matching import matching_run_batch
from mdm.services.imports import import_job_confirm, import_job_create, import_job_run

DEMO_USERS = (
    # username, password, superuser
    ("steward", "golden-steward-demo", False),
    ("admin", "golden-admin-demo", True),
)

DEMO_FILES = (("erp", "erp.jsonl"), ("crm", "crm.jsonl"), ("legacy", "legacy.csv"))

Progress = Callable[[str, int, int], None]


def demo_users_ensure() -> None:
    """The demo steward (staff, in the `stewards` group), admin, and viewer
    (in the `viewers` group: reads masked personal data, decides nothing)."""
    stewards, _ = Group.objects.get_or_create(name="stewards")
    viewers, _ = Group.objects.get_or_create(name="viewers")
    users = get_user_model().objects
    for username, password, superuser in DEMO_USERS:
        user = users.filter(username=username).first()
        if user is None:
            user = users.create_user(
                username=username,
                password=password,
                is_staff=True,
                is_superuser=superuser,
            )
        user.groups.add(stewards)
    viewer = users.filter(username="viewer").first()
    if viewer is None:
        viewer = users.create_user(username="viewer", password="golden-viewer-demo")
    viewer.groups.add(viewers)


def demo_load(
    *, companies: int, seed: int, progress: Progress | None = None
) -> MatchRun:
    """Import the generated ERP and CRM exports (JSON Lines) and the legacy
    sheet (CSV) through the real importer, then run batch matching once."""
    demo_users_ensure()
    dataset = generate(companies=companies, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        write(dataset, Path(folder))
        for system, filename in DEMO_FILES:
            path = Path(folder) / filename
            job = import_job_create(
                system=SourceSystem.objects.get(code=system),
                content=path.read_bytes(),
                filename=filename,
                run_matching=False,
            )
            import_job_confirm(job=job, mapping=job.mapping)
            job = import_job_run(
                job=job,
                progress=(lambda done, total, f=filename: progress(f, done, total))
                if progress
                else None,
            )
            if job.status != ImportJob.Status.DONE:
                raise RuntimeError(f"demo import of {filename} failed: {job.error}")
    return matching_run_batch(progress=progress)
