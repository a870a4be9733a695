"""One place that turns errors into consistent HTTP error bodies:
`{"error": "<kind>", "detail": <message or {field: [messages]}>}`."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mdm.selectors.api import LookupKeyError
from mdm.services.audit import audit_request_denied
from mdm.services.errors import ConflictError, DomainError

# Django's own exceptions, named as DRF names the errors it turns them into.
_KIND = {Http404: "NotFound", PermissionDenied: "PermissionDenied"}


def api_exception_handler(exc, context):
    if isinstance(exc, exceptions.APIException) and exc.status_code in (401, 403):
        audit_request_denied(context["request"], exc)  # refused before any service
    if isinstance(exc, DomainError | LookupKeyError):
        kind = "InvalidKey" if isinstance(exc, LookupKeyError) else type(exc).__name__
        # A write against a version that moved on: 409, as in the web UI.
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, ConflictError)
            else status.HTTP_400_BAD_REQUEST
        )
        return Response({"error": kind, "detail": str(exc)}, status=code)
    if isinstance(exc, ObjectDoesNotExist):
        # A record a service was asked about does not exist: the client's
        # mistake (e.g. DELETE of an unknown source record), never a 500.
        return Response(
            {"error": "NotFound", "detail": str(exc)}, status=status.HTTP_404_NOT_FOUND
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    kind = _KIND.get(type(exc), type(exc).__name__)
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        response.data = {"error": kind, "detail": response.data["detail"]}
    else:
        response.data = {"error": kind, "detail": response.data}
    return response


@csrf_exempt  # a JSON 404 for any method, not a CSRF page
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """A JSON 404 for any URL under /api/v1/ that names no endpoint."""
    return JsonResponse(
        {"error": "NotFound", "detail": "No API endpoint at this URL."}, status=404
    )
