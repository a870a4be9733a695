"""Issuing, rotating, revoking and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from mdm.models import ApiClient, ApiToken, SourceSystem
from mdm.models.audit import AuditEvent
from mdm.services import audit
from mdm.services.errors import DomainError

TOKEN_PREFIX = "gr_"
# After a rotation the old token keeps working this long, so that a client
# can deploy its new secret without an outage.
ROTATION_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the operator once; only its hash is stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@audit.audited(
    AuditEvent.Action.TOKEN_ISSUE, on="client", describe=audit.describe_issued
)
@transaction.atomic
def api_token_issue(*, client: ApiClient) -> IssuedToken:
    """Issue a new token for `client`; earlier tokens keep working."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        client=client, prefix=secret[: len(TOKEN_PREFIX) + 6], key_hash=_hash(secret)
    )
    return IssuedToken(token=token, secret=secret)


@audit.audited(
    AuditEvent.Action.TOKEN_ROTATE, on="token", describe=audit.describe_issued
)
@transaction.atomic
def api_token_rotate(
    *, token: ApiToken, grace: timedelta = ROTATION_GRACE
) -> IssuedToken:
    """Issue a successor to `token`; `token` itself ends after `grace`
    (at once for a zero grace, never later than it would have anyway)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not token.is_usable(timezone.now()):
        raise DomainError("A revoked or expired token cannot be rotated.")
    issued = api_token_issue(client=token.client)
    if grace <= timedelta(0):
        api_token_revoke(token=token)
    else:
        ends = timezone.now() + grace
        if token.expires_at is None or token.expires_at > ends:
            token.expires_at = ends
            token.save(update_fields=["expires_at"])
    return issued


@audit.audited(AuditEvent.Action.TOKEN_REVOKE, on="token")
def api_token_revoke(*, token: ApiToken) -> None:
    """End `token` now (idempotent)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The live token for `secret`, or None (unknown, revoked, expired,
    or its client disabled).

    A token found is kept in this process for API_TOKEN_CACHE_SECONDS, so a
    lookup does not pay a three-table query on every call. A change saved in
    this process (revoke, rotate, a client disabled or re-scoped in the admin)
    clears the cache at once; another process sees it within that time.
    Expiry is checked on every call."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    key_hash = _hash(secret)
    now = timezone.now()
    token = _cached_token(key_hash)
    if token is None:
        token = (
            ApiToken.objects.select_related("client", "client__source_system")
            .filter(key_hash=key_hash)
            .first()
        )
        if token is None:
            return None
        _remember_token(key_hash, token)
    if not token.is_usable(now) or not token.client.is_active:
        return None
    # Touch at most once a minute: a lookup API must not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# key hash -> (monotonic time it was read, token with its client and system)
_token_cache: dict[str, tuple[float, ApiToken]] = {}
TOKEN_CACHE_MAX = 1024


def _cached_token(key_hash: str) -> ApiToken | None:
    held = _token_cache.get(key_hash)
    if held is None:
        return None
    read_at, token = held
    if time.monotonic() - read_at > settings.API_TOKEN_CACHE_SECONDS:
        del _token_cache[key_hash]
        return None
    return token


def _remember_token(key_hash: str, token: ApiToken) -> None:
    if settings.API_TOKEN_CACHE_SECONDS <= 0:
        return
    if len(_token_cache) >= TOKEN_CACHE_MAX:
        _token_cache.clear()
    _token_cache[key_hash] = (time.monotonic(), token)


@receiver(post_save, sender=ApiToken, dispatch_uid="api_token_cache_token_saved")
@receiver(post_save, sender=ApiClient, dispatch_uid="api_token_cache_client_saved")
@receiver(post_save, sender=SourceSystem, dispatch_uid="api_token_cache_system_saved")
@receiver(post_delete, sender=ApiToken, dispatch_uid="api_token_cache_token_gone")
@receiver(post_delete, sender=ApiClient, dispatch_uid="api_token_cache_client_gone")
def _forget_tokens(**kwargs) -> None:
    _token_cache.clear()
