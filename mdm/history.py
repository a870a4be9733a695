"""django-simple-history wiring shared by every historised model."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser


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
