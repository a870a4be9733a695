"""Reads for the sync-conflict pages."""

from __future__ import annotations

from django.db.models import QuerySet

from mdm.models import SyncConflict


def sync_conflict_list(*, state: str | None) -> QuerySet[SyncConflict]:
    """Conflicts, newest first; `state` None (or unknown) means all."""
    rows = SyncConflict.objects.select_related("target").order_by("-created_at")
    if state in SyncConflict.State.values:
        rows = rows.filter(state=state)
    return rows
