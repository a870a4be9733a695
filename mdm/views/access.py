"""Who may see and do what, and how domain errors become HTTP answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from mdm.selectors.roles import user_role
from mdm.services.audit import audit_request_denied
from mdm.services.errors import ConflictError, DomainError

View = Callable[..., HttpResponse]


def reader_required(view: View) -> View:
    """Viewers, stewards and admins; anyone else logged in gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_role(request.user).can_read:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def steward_required(view: View) -> View:
    """Stewards and admins only: every action that writes, and its forms.
    Domain errors become 409 (someone changed it first) or 400 pages."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_role(request.user).can_decide:
            audit_request_denied(request)
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except ConflictError as exc:
            return _problem(request, exc, status=409)
        except DomainError as exc:
            return _problem(request, exc, status=400)

    return wrapper


def _problem(request: HttpRequest, exc: DomainError, *, status: int) -> HttpResponse:
    if request.htmx:
        # keys.js shows it: htmx swaps no 4xx answer into the page.
        return HttpResponse(str(exc), status=status, content_type="text/plain")
    return render(
        request,
        "mdm/problem.html",
        {"message": str(exc), "conflict": status == 409, "back": _back(request)},
        status=status,
    )


def _back(request: HttpRequest) -> str:
    referer = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    return referer if safe else ""
