"""Logins, logouts, failed logins and lockouts into the audit log.

Django's auth signals and django-axes' `user_locked_out` are the only place
these are known (the login view is Django's own), and auditing them is a
concern of its own, not a domain flow: the one use of signals here.
Connected in MdmConfig.ready().
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from mdm.audit_context import Actor, client_ip
from mdm.masking import mask_text
from mdm.models import AuditEvent
from mdm.services.audit import audit_record

Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


def _ip(request) -> str | None:
    return client_ip(request) if request is not None else None


def _user(user) -> Actor:
    return Actor("user", user.get_username()[:150])


def _attempted(username: object) -> Actor:
    # Whatever was typed as a user name: masked, in case it is a phone number.
    return Actor("anonymous", mask_text(str(username or ""))[:150])


@receiver(user_logged_in, dispatch_uid="mdm_audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record(action=Action.LOGIN, actor=_user(user), ip=_ip(request))


@receiver(user_logged_out, dispatch_uid="mdm_audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # a logout without a session: nothing happened
        return
    audit_record(action=Action.LOGOUT, actor=_user(user), ip=_ip(request))


@receiver(user_login_failed, dispatch_uid="mdm_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    audit_record(
        action=Action.LOGIN_FAILED,
        actor=_attempted(credentials.get("username")),
        ip=_ip(request),
        outcome=Outcome.DENIED,
    )


@receiver(user_locked_out, dispatch_uid="mdm_audit_lockout")
def audit_lockout(sender, request, username, ip_address=None, **kwargs) -> None:
    audit_record(
        action=Action.LOCKOUT,
        actor=_attempted(username),
        ip=_ip(request),
        outcome=Outcome.DENIED,
    )
