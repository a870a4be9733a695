"""Walking a big table in primary-key order, a batch at a time."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet


def pk_batches(queryset: QuerySet, size: int) -> Iterator[list[int]]:
    """The primary keys of `queryset` in ascending batches of `size`, each
    batch read when the one before it is done with (keyset pagination, no
    OFFSET): rows that leave the queryset meanwhile drop out, rows added
    meanwhile are read if their key comes after the batch being handled."""
    after = 0
    while batch := list(
        queryset.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size]
    ):
        yield batch
        after = batch[-1]
