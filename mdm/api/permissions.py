"""API permissions: token scopes and a client's own source system."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from mdm.api.authentication import ClientPrincipal


def request_client(request):
    user = request.user
    return user.client if isinstance(user, ClientPrincipal) else None


class HasScope(BasePermission):
    """Reads need `read`, writes need `write`. Staff sessions may read and write."""

    message = "This token lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:
        client = request_client(request)
        if client is None:
            return bool(request.user and request.user.is_staff)
        return client.has_scope("read" if request.method in SAFE_METHODS else "write")


class OwnsSourceSystem(BasePermission):
    """A client bound to a source system may write only that system's records."""

    message = "This client may only write records of its own source system."

    def has_permission(self, request, view) -> bool:
        client = request_client(request)
        if client is None or client.source_system_id is None:
            return True
        return view.kwargs.get("system") == client.source_system.code
