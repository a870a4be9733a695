"""django-simple-history wiring shared by every historised model."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
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
