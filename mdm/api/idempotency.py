"""`Idempotency-Key` on the API's writes (RELIABILITY D7).

A client sends the header with a PUT, DELETE or batch POST and may then
retry the request as often as it likes: the first request runs, every retry
with the same key gets the first response again (same status, same bytes,
and `Idempotent-Replayed: true`). The key row is inserted, in its own
transaction, before the view runs, so the unique (client, key) constraint
picks exactly one winner among concurrent duplicates; the others wait for
the winner's stored response. The same key with another body, method or
path is a client bug: 422. A 5xx is not stored: the key is released so the
client can retry. Keys are purged after IDEMPOTENCY_KEY_TTL_HOURS by
`manage.py purge_idempotency_keys`.

Keys belong to API clients (bearer tokens); a staff session's request runs
as if it had no key.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from mdm.api.permissions import request_client
from mdm.models import ApiClient, IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII: what an HTTP header carries safely (a UUID, a request id).
KEY_PATTERN = rf"^[ -~]{{1,{MAX_KEY_LENGTH}}}$"
_KEY_SHAPE = re.compile(KEY_PATTERN)
# How long a duplicate waits for the first request to finish before it is
# told to retry (409). A batch of 1,000 records can take longer; then the
# retry replays the stored answer.
WAIT_SECONDS = 10.0
# A key still "in progress" after this long belongs to a request whose
# process died; a retry may take it over.
STALE_AFTER = timedelta(minutes=15)

PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=KEY_PATTERN,
    description=(
        "A client-chosen unique string (1–255 printable ASCII characters, e.g. "
        "a UUID). A retry with the same key returns the first response again "
        "(header `Idempotent-Replayed: true`) instead of repeating the write; "
        "the same key with a different body or URL gives 422. Keys are kept "
        "for at least 24 hours."
    ),
)
RESPONSES = {
    409: OpenApiResponse(
        description="A request with this Idempotency-Key is still running; "
        "retry after Retry-After seconds"
    ),
    422: OpenApiResponse(
        description="This Idempotency-Key was used with a different body or URL"
    ),
}


def idempotent(handler):
    """Decorate an APIView handler (put/post/delete) to honour the header."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        client = request_client(request)
        if key is None or client is None:
            return handler(view, request, *args, **kwargs)
        if not _KEY_SHAPE.fullmatch(key):
            return _error(
                status.HTTP_400_BAD_REQUEST,
                "InvalidIdempotencyKey",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            )
        claim = _claim(
            client=client,
            key=key,
            method=request.method,
            path=request.path,
            request_hash=_body_hash(request),
        )
        if isinstance(claim, Response):
            return claim
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            # 4xx from exceptions (unknown system, invalid body) are answers
            # like any other; anything unhandled is a 500 and is not stored.
            try:
                response = view.handle_exception(exc)
            except Exception:
                _release(claim)
                raise
        _store(claim, response)
        return response

    return wrapper


def idempotency_keys_purge(*, now=None) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_HOURS; return how many."""
    cutoff = (now or timezone.now()) - timedelta(
        hours=settings.IDEMPOTENCY_KEY_TTL_HOURS
    )
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _body_hash(request) -> str:
    # Canonical JSON, so a retry that serialises its keys in another order
    # or with other spacing still counts as the same body.
    try:
        body = request.body
    except RawPostDataException:  # already parsed by DRF
        body = json.dumps(request.data).encode()
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:  # not JSON (or not UTF-8): the bytes as sent
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _claim(
    *, client: ApiClient, key: str, method: str, path: str, request_hash: str
) -> IdempotencyKey | Response:
    """Insert the key (this request runs the view) or answer from the row a
    first request wrote: a replay, a 422, or a 409 if it is still running."""
    deadline = time.monotonic() + WAIT_SECONDS
    pause = 0.02
    while True:
        try:
            # Its own transaction: the row must be visible to (and block)
            # concurrent duplicates before the view's work starts. On
            # PostgreSQL a duplicate insert waits here for this one to commit.
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    client=client,
                    key=key,
                    method=method,
                    path=path,
                    request_hash=request_hash,
                )
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(client=client, key=key).first()
        if row is None:  # released (a 5xx) or purged meanwhile: try again
            continue
        if (row.method, row.path, row.request_hash) != (method, path, request_hash):
            return _error(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "IdempotencyKeyReused",
                f"This {HEADER} was used for {row.method} {row.path} with a "
                "different body; use a new key for a different request.",
            )
        if row.state == IdempotencyKey.State.DONE:
            return _replay(row)
        if row.created_at < timezone.now() - STALE_AFTER:
            IdempotencyKey.objects.filter(
                pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS
            ).delete()
            continue
        if time.monotonic() >= deadline:
            response = _error(
                status.HTTP_409_CONFLICT,
                "IdempotencyKeyInUse",
                f"A request with this {HEADER} is still running; retry later.",
            )
            response["Retry-After"] = "1"
            return response
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _store(row: IdempotencyKey, response: Response) -> None:
    if response.status_code >= 500:
        _release(row)
        return
    # Stored as the renderer writes it; a replay renders the parsed text
    # again, which gives back the same bytes.
    body = (
        JSONRenderer().render(response.data).decode()
        if response.data is not None
        else ""
    )
    IdempotencyKey.objects.filter(pk=row.pk).update(
        state=IdempotencyKey.State.DONE,
        response_status=response.status_code,
        response_body=body,
    )


def _release(row: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=row.pk).delete()


def _replay(row: IdempotencyKey) -> Response:
    data = json.loads(row.response_body) if row.response_body else None
    response = Response(data, status=row.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _error(code: int, kind: str, detail: str) -> Response:
    return Response({"error": kind, "detail": detail}, status=code)
