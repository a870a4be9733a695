"""Who is acting, and from where: the actor and address of an audit event.

A context variable, set by a small middleware for each request and by
`audit_as()` in commands and workers, rather than a `request` argument
threaded through every service: services stay callable from commands and
workers, and the actor of an API call is only known once DRF has
authenticated it inside the view, so the actor is read from the request
when the event is written, not when the request comes in. A context
variable (not a thread-local) is also right under ASGI.

The address is REMOTE_ADDR. X-Forwarded-For is believed only as far as the
`NUM_PROXIES` setting of REST_FRAMEWORK (env API_TRUSTED_PROXIES) says, the
same rule as the API rate limits, so a client cannot forge where it is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Actor:
    kind: str  # an AuditEvent.ActorKind value
    name: str


@dataclass(frozen=True)
class _Context:
    request: HttpRequest | None = None
    actor: Actor | None = None
    ip: str | None = None


_current: ContextVar[_Context | None] = ContextVar("mdm_audit_context", default=None)

SYSTEM = Actor("system", "system")


class AuditContextMiddleware:
    """Make the request the audit context of everything it calls."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(_Context(request=request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


@contextmanager
def audit_as(name: str, *, ip: str | None = None) -> Iterator[None]:
    """Commands and workers: name the system actor, e.g. "command:export_xref"."""
    token = _current.set(_Context(actor=Actor("system", name[:150]), ip=ip))
    try:
        yield
    finally:
        _current.reset(token)


def current_actor() -> Actor:
    context = _current.get()
    if context is None:
        return SYSTEM
    if context.actor is not None:
        return context.actor
    return request_actor(context.request)


def current_ip() -> str | None:
    context = _current.get()
    if context is None:
        return None
    if context.ip is not None:
        return context.ip
    return client_ip(context.request) if context.request is not None else None


def request_actor(request: HttpRequest | None) -> Actor:
    """The person or API client behind `request` (anonymous if neither)."""
    from mdm.models import ApiToken  # models import this module's callers

    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return Actor("api_client", f"{auth.client.name} {auth.prefix}"[:150])
    user = getattr(request, "user", None)
    if isinstance(user, AbstractBaseUser) and user.is_authenticated:
        return Actor("user", user.get_username()[:150])
    return Actor("anonymous", "")


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the trusted proxies saw (DRF's rule)."""
    from rest_framework.settings import api_settings

    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = api_settings.NUM_PROXIES or 0
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
