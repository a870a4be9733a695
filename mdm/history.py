"""django-simple-history wiring shared by every historised model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model
from simple_history import models as simple_history_models
from simple_history.manager import HistoryDescriptor


def history_user(instance=None, request=None, **kwargs) -> AbstractBaseUser | None:
    """The person behind a change, for history rows. API clients are not
    users (their system is named in the change reason instead)."""
    explicit = getattr(instance, "_history_user", None)
    if explicit is not None:
        return explicit
    user = getattr(request, "user", None)
    if isinstance(user, AbstractBaseUser) and user.is_authenticated:
        return user
    return None


class HistoricalRecords(simple_history_models.HistoricalRecords):
    """simple_history's `HistoricalRecords`, whose `Model.history` manager
    class is built once per model.

    The library's descriptor builds it anew at every access
    (`Manager.from_queryset`, which inspects the queryset class: ~150 µs),
    and every saved row reads `Model.history` to write its history row: an
    ingest saves four or five, a merge a dozen."""

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _HistoryDescriptor(
                    descriptor.model,
                    manager=descriptor.manager_class,
                    queryset=descriptor.queryset_class,
                ),
            )


class _HistoryDescriptor(HistoryDescriptor):
    def __init__(self, model, manager, queryset) -> None:
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_with_queryset = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self.manager_with_queryset(self.model, instance)


def update_with_history(
    objs: Sequence[Model],
    model: type[Model],
    values: Mapping[str, Any],
    *,
    user: AbstractBaseUser | None,
    reason: str,
    when: datetime,
) -> None:
    """Give every row of `objs` the same `values`: one plain UPDATE, and one
    INSERT of their history rows (as `bulk_update_with_history` writes them).

    simple_history's `bulk_update_with_history` goes through Django's
    `bulk_update`, which builds a CASE per column over every row: ~8 ms of
    query building for a handful of rows. A merge does this twice while it
    holds its cluster's golden records, and every other steward of the
    cluster waits for that (C8)."""
    for obj in objs:
        for name, value in values.items():
            setattr(obj, name, value)
    model._default_manager.filter(pk__in=[obj.pk for obj in objs]).update(**values)
    model.history.bulk_history_create(
        objs,
        update=True,
        default_user=user,
        default_change_reason=reason,
        default_date=when,
    )
