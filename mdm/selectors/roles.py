"""Who may do what in the steward UI, and who a review task can go to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

STEWARDS_GROUP = "stewards"
VIEWERS_GROUP = "viewers"


@dataclass(frozen=True)
class Role:
    """What a person may do in the steward UI. Admins are superusers."""

    can_read: bool
    can_decide: bool

    @property
    def sees_personal_data(self) -> bool:
        # Viewers read masked phones, e-mails and tax IDs; deciders see them.
        return self.can_decide


def user_role(user: Any) -> Role:
    """The role of `user`: steward (decide), viewer (read, masked), or none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role(can_read=False, can_decide=False)
    cached = getattr(user, "_mdm_role", None)
    if cached is None:
        if user.is_superuser:
            cached = Role(can_read=True, can_decide=True)
        else:
            groups = set(user.groups.values_list("name", flat=True))
            decide = STEWARDS_GROUP in groups
            cached = Role(can_read=decide or VIEWERS_GROUP in groups, can_decide=decide)
        user._mdm_role = cached
    return cached


def steward_list() -> QuerySet:
    """People a review task can be assigned to."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=STEWARDS_GROUP) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )
