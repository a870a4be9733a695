"""One place that turns domain errors into consistent HTTP error bodies."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mdm.services.errors import DomainError


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            {"error": type(exc).__name__, "detail": str(exc)},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context)
    if (
        response is not None
        and isinstance(response.data, dict)
        and "detail" in response.data
    ):
        response.data = {"error": type(exc).__name__, "detail": response.data["detail"]}
    elif response is not None:
        response.data = {"error": type(exc).__name__, "detail": response.data}
    return response
