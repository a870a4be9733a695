"""API permissions: token scopes and a client's own source system."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from mdm.api.authentication import ClientPrincipal
from mdm.selectors.roles import user_role


def request_client(request):
    user = request.user
    return user.client if isinstance(user, ClientPrincipal) else None


def request_sees_pii(request) -> bool:
    """True when the caller may read phones, e-mails and ID numbers unmasked:
    a token with the `pii` (or `admin`) scope, or a steward's session."""
    client = request_client(request)
    if client is not None:
        return client.has_scope("pii")
    return user_role(request.user).sees_personal_data


class HasScope(BasePermission):
    """The scope a view names in `required_scope`; without one, reads need
    `read` and writes `write`. Staff sessions may read and write."""

    message = "This token lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:
        client = request_client(request)
        if client is None:
            return bool(request.user and request.user.is_staff)
        scope = getattr(view, "required_scope", None) or (
            "read" if request.method in SAFE_METHODS else "write"
        )
        return client.has_scope(scope)


class OwnsSourceSystem(BasePermission):
    """A client bound to a source system may write only that system's records."""

    message = "This client may only write records of its own source system."

    def has_permission(self, request, view) -> bool:
        client = request_client(request)
        if client is None or client.source_system_id is None:
            return True
        return view.kwargs.get("system") == client.source_system.code
