"""Writing the audit log (mdm/models/audit.py).

`audit_record()` writes one event. `@audited(action, on=...)` wraps a
service so that every attempt leaves exactly one event:

- success: the event is written inside the same transaction as the
  service's writes, so the action and its record commit or vanish together;
- PermissionDenied: "denied", FAILED for any other exception; written after
  the service's savepoint rolled back (there is no on-rollback hook), so it
  survives, and the exception goes on up unchanged.

Only the outermost audited call records: a rotate that issues a token, or a
bulk approve that merges task after task, is one action of one person.

Writes refused before any service ran (a viewer's POST, a token without the
scope) are recorded by `audit_request_denied()` from the view layer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest

from mdm.audit_context import Actor, client_ip, current_actor, current_ip, request_actor
from mdm.masking import mask_text
from mdm.models import (
    ApiClient,
    ApiToken,
    AuditEvent,
    GoldenRecord,
    ImportJob,
    ReviewTask,
    SourceRecord,
    SourceSystem,
    StewardDecision,
)

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
# (object type, object reference), from the service's keyword arguments.
RefFinder = Callable[[dict[str, Any]], tuple[str, str]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DETAIL_MAX = 500
_REF_MAX = 255

_inside: ContextVar[bool] = ContextVar("mdm_audit_inside", default=False)


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_ref: str = "",
    outcome: str = AuditEvent.Outcome.OK,
    detail: str = "",
    actor: Actor | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event; `detail` is masked (no phone or ID number in it)."""
    actor = actor or current_actor()
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor=actor.name,
        action=action,
        object_type=object_type[:32],
        object_ref=object_ref[:_REF_MAX],
        ip=ip if ip is not None else current_ip(),
        outcome=outcome,
        detail=mask_text(detail)[:_DETAIL_MAX],
    )


def audit_ref(obj: Any) -> tuple[str, str]:
    """How the log names an object: its type and its key (never its content)."""
    if isinstance(obj, ReviewTask):
        return "review_task", str(obj.pk)
    if isinstance(obj, GoldenRecord):
        return "golden_record", obj.golden_id
    if isinstance(obj, SourceRecord):
        return "source_record", obj.key
    if isinstance(obj, StewardDecision):
        return "decision", str(obj.pk)
    if isinstance(obj, ImportJob):
        return "import_job", str(obj.pk)
    if isinstance(obj, ApiToken):
        return "api_token", obj.prefix
    if isinstance(obj, ApiClient):
        return "api_client", obj.name
    if isinstance(obj, SourceSystem):
        return "source_system", obj.code
    if isinstance(obj, list | tuple) and obj:
        kinds = {audit_ref(item)[0] for item in obj}
        refs = ",".join(audit_ref(item)[1] for item in obj)
        return (kinds.pop() if len(kinds) == 1 else "mixed"), refs[:_REF_MAX]
    return "", "" if obj is None else str(obj)[:_REF_MAX]


def audited(
    action: str,
    *,
    on: str | RefFinder | None = None,
    describe: Callable[[Any, dict[str, Any]], str] | None = None,
    atomic: bool = True,
) -> Callable[[F], F]:
    """Record every call of the decorated service (see the module doc).

    Args:
        action: an AuditEvent.Action.
        on: the keyword argument naming the object acted on, or a function
            of the keyword arguments returning (object type, reference).
        describe: a short text from the result and the keyword arguments
            ("golden record GR...", "legal_name"); masked.
        atomic: False for services that commit in several transactions
            themselves (an import run, an ingest batch): the event is then
            written after the service returns, not inside its transaction.
    """

    def decorator(service: F) -> F:
        @functools.wraps(service)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _inside.get():
                return service(*args, **kwargs)
            object_type, object_ref = _find_ref(on, kwargs)
            marker = _inside.set(True)
            try:
                with transaction.atomic() if atomic else _no_transaction():
                    result = service(*args, **kwargs)
                    audit_record(
                        action=action,
                        object_type=object_type,
                        object_ref=object_ref,
                        detail=describe(result, kwargs) if describe else "",
                    )
                return result
            except Exception as exc:
                _inside.reset(marker)
                marker = None
                _record_failure(action, object_type, object_ref, exc)
                raise
            finally:
                if marker is not None:
                    _inside.reset(marker)

        return wrapper  # type: ignore[return-value]

    return decorator


def audit_request_denied(request: HttpRequest, exc: Exception | None = None) -> None:
    """Record a write refused at the door (role, scope, missing login);
    reads that are refused are not logged."""
    if request.method not in UNSAFE_METHODS:
        return
    detail = type(exc).__name__ if exc is not None else "PermissionDenied"
    _safely(
        lambda: audit_record(
            action=AuditEvent.Action.ACCESS,
            object_type="url",
            object_ref=request.path,
            outcome=AuditEvent.Outcome.DENIED,
            detail=detail,
            actor=request_actor(request),
            ip=client_ip(request),
        )
    )


def _find_ref(on: str | RefFinder | None, kwargs: dict[str, Any]) -> tuple[str, str]:
    if on is None:
        return "", ""
    if callable(on):
        return on(kwargs)
    return audit_ref(kwargs.get(on))


def _record_failure(action: str, object_type: str, object_ref: str, exc: Exception):
    denied = isinstance(exc, PermissionDenied)
    message = str(exc)
    detail = type(exc).__name__ + (f": {message}" if message else "")
    _safely(
        lambda: audit_record(
            action=action,
            object_type=object_type,
            object_ref=object_ref,
            outcome=AuditEvent.Outcome.DENIED if denied else AuditEvent.Outcome.FAILED,
            detail=detail,
        )
    )


def _safely(write: Callable[[], Any]) -> None:
    # A failure inside a transaction that is already broken (or a database
    # that is down) cannot be recorded; the original error matters more.
    try:
        with transaction.atomic():
            write()
    except (DatabaseError, TransactionManagementError) as exc:
        # The type only: a database message may quote the values involved.
        logger.warning("audit event not written: %s", type(exc).__name__)


@contextmanager
def _no_transaction() -> Iterator[None]:
    yield


# How some services' arguments and results are named in the log.


def ref_bulk_items(kwargs: dict[str, Any]) -> tuple[str, str]:
    ids = ",".join(str(item.task_id) for item in kwargs.get("items", ()))
    return "review_task", ids[:_REF_MAX]


def ref_fixed(object_type: str, object_ref: str) -> RefFinder:
    return lambda kwargs: (object_type, object_ref)


def ref_source_key(kwargs: dict[str, Any]) -> tuple[str, str]:
    return "source_record", f"{kwargs['system'].code}:{kwargs['source_id']}"


def describe_golden(golden: Any, kwargs: dict[str, Any]) -> str:
    return f"golden record {golden.golden_id}"


def describe_bulk(outcome: Any, kwargs: dict[str, Any]) -> str:
    return f"merged {len(outcome.merged)}, left alone {len(outcome.left_alone)}"


def describe_issued(issued: Any, kwargs: dict[str, Any]) -> str:
    return f"new token {issued.token.prefix}"


def describe_import(job: Any, kwargs: dict[str, Any]) -> str:
    checked = " (checked only: nothing written)" if job.mode == "check" else ""
    return (
        f"{job.status}{checked}: {job.created_count} created, "
        f"{job.updated_count} updated, {job.unchanged_count} unchanged, "
        f"{job.failed_count} rejected"
    )


def describe_batch(results: Any, kwargs: dict[str, Any]) -> str:
    failed = sum(isinstance(result, dict) for result in results)
    return f"{len(results) - failed} records taken, {failed} refused"


def describe_attribute(result: Any, kwargs: dict[str, Any]) -> str:
    return f"attribute {kwargs['attribute']}"


def describe_decision(decision: Any, kwargs: dict[str, Any]) -> str:
    return f"decision {decision.pk}: {decision.details}"
