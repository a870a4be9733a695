"""Who saw personal data in full (RELIABILITY W8).

Seeing unmasked phones, e-mails and ID numbers is a permission of the
steward role (viewers and API tokens without the pii scope get them masked
by mdm/masking.py); each page that shows a customer's personal data in full
is recorded in the audit log as `pii.unmask`, with the customer it showed.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from mdm.models import AuditEvent
from mdm.selectors.roles import user_role
from mdm.services.audit import audit_record


def personal_data_shown(
    *, user: AbstractBaseUser, object_type: str, object_refs: list[str], where: str
) -> bool:
    """Record that `user` was shown the objects' personal data unmasked, if
    their role unmasks it; return whether it does (the page's `reveal`)."""
    reveal = user_role(user).sees_personal_data
    if reveal:
        for ref in object_refs:
            audit_record(
                action=AuditEvent.Action.UNMASK,
                object_type=object_type,
                object_ref=ref,
                detail=where,
            )
    return reveal
