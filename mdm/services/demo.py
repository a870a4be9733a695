"""Demo data: synthetic customers from an ERP, a CRM and a legacy sheet,
pushed through the same ingestion and matching as real data."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fixtures.chinese_b2b import generate
from mdm.models import MatchRun, SourceSystem
from mdm.services.batch_matching import matching_run_batch
from mdm.services.source_records import source_record_upsert

DEMO_USERS = (
    # username, password, superuser
    ("steward", "golden-steward-demo", False),
    ("admin", "golden-admin-demo", True),
)

Progress = Callable[[str, int, int], None]


def demo_users_ensure() -> None:
    """The demo steward (staff, in the `stewards` group) and admin."""
    stewards, _ = Group.objects.get_or_create(name="stewards")
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


def demo_load(
    *, companies: int, seed: int, progress: Progress | None = None
) -> MatchRun:
    """Upsert the generated records, then run batch matching over them."""
    demo_users_ensure()
    systems = {s.code: s for s in SourceSystem.objects.all()}
    dataset = generate(companies=companies, seed=seed)
    total = len(dataset.records)
    for done, spec in enumerate(dataset.records, start=1):
        source_record_upsert(
            system=systems[spec.system], source_id=spec.source_id, payload=spec.payload
        )
        if progress and (done % 200 == 0 or done == total):
            progress("load", done, total)
    return matching_run_batch(progress=progress)
