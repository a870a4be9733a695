"""Sync conflicts: opened by the delivery worker, settled by stewards.

Resolving never calls a target: it adjusts the link's base (what we last
pushed) so that the worker's three-way merge reaches the steward's choice,
and queues the golden record's latest delivery again:

* "push ours" for a field: the base takes their value, so only our side
  looks changed and the merge pushes ours;
* "accept theirs": the base takes our value, so only their side looks
  changed and their value stays in the target; on the golden record their
  value is pinned, as a steward's edit by hand is, so survivorship cannot
  prefer another source's (only scalar attributes can be pinned: a list
  field such as phones goes to survivorship as an inbound update);
* "re-create in target" (a remote deletion): the link forgets the remote
  record (an archived one is kept, to be reactivated) and the delivery
  creates a new one;
* "unlink": the link row goes; the task closes and nothing is queued (a
  later change of the golden record is delivered as to a new record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.mapping_presets import payload_map
from mdm.models import Delivery, GoldenRecord, RemoteLink, SyncConflict
from mdm.models.audit import AuditEvent
from mdm.services import audit
from mdm.services.deliveries import delivery_replay
from mdm.services.errors import ConflictError, DomainError
from mdm.services.golden_records import golden_record_pin_set

OURS, THEIRS = "ours", "theirs"


def _ref(kwargs: dict[str, Any]) -> tuple[str, str]:
    return "sync_conflict", str(kwargs["conflict"].pk)


def sync_conflict_open(
    *,
    target_id: int,
    golden_id: str,
    kind: str,
    delivery: Delivery | None = None,
    remote_id: str = "",
    remote_version: str = "",
    fields: Mapping[str, Mapping[str, Any]] | None = None,
    detail: str = "",
) -> SyncConflict:
    """Open the steward task for one link, or refresh the open one (a newer
    delivery met the same conflict). Called inside the worker's transaction."""
    assert transaction.get_connection().in_atomic_block
    conflict, _created = SyncConflict.objects.select_for_update().get_or_create(
        target_id=target_id,
        golden_id=golden_id,
        state=SyncConflict.State.OPEN,
        defaults={"kind": kind},
    )
    conflict.kind = kind
    conflict.delivery = delivery or conflict.delivery
    conflict.remote_id = remote_id or conflict.remote_id
    conflict.remote_version = remote_version
    conflict.fields = dict(fields or {})
    conflict.detail = detail[:4000]
    conflict.save()
    return conflict


def _lock_open(conflict: SyncConflict, kind: str) -> SyncConflict:
    locked = SyncConflict.objects.select_for_update().get(pk=conflict.pk)
    if locked.state != SyncConflict.State.OPEN:
        raise ConflictError(_("This sync conflict was resolved already."))
    if locked.kind != kind:
        raise DomainError(_("This action does not apply to this kind of conflict."))
    return locked


def _close(conflict: SyncConflict, *, user: Any, resolution: str) -> None:
    conflict.state = SyncConflict.State.RESOLVED
    conflict.resolution = resolution
    conflict.resolved_by = user
    conflict.resolved_at = timezone.now()
    conflict.save()


def _requeue(conflict: SyncConflict) -> None:
    latest = (
        Delivery.objects.filter(
            target_id=conflict.target_id, golden_id=conflict.golden_id
        )
        .order_by("-id")
        .first()
    )
    if latest is not None:
        delivery_replay(deliveries=[latest])


@audit.audited(AuditEvent.Action.SYNC_CONFLICT_RESOLVE, on=_ref)
@transaction.atomic
def sync_conflict_decide(
    *, conflict: SyncConflict, user: Any, choices: Mapping[str, str]
) -> SyncConflict:
    """Settle a both-sides conflict: `choices` maps every conflicting field
    to "ours" or "theirs" (see the module doc)."""
    conflict = _lock_open(conflict, SyncConflict.Kind.CONFLICT)
    if set(choices) != set(conflict.fields) or not set(choices.values()) <= {
        OURS,
        THEIRS,
    }:
        raise DomainError(_("Choose ours or theirs for every field."))
    link, _created = RemoteLink.objects.select_for_update().get_or_create(
        target_id=conflict.target_id, golden_id=conflict.golden_id
    )
    pushed = dict(link.pushed)
    for path, choice in choices.items():
        values = conflict.fields[path]
        _path_put(pushed, path, values[THEIRS] if choice == OURS else values[OURS])
    link.pushed = pushed
    # The pushed hash stays as it was: it names what we wrote, for echoes.
    # No version: the worker must compare fields, not trust an old version.
    link.remote_version = ""
    link.state = RemoteLink.State.LINKED
    link.updated_at = timezone.now()
    link.save()
    conflict.decisions = dict(choices)
    _close(conflict, user=user, resolution=SyncConflict.Resolution.MERGED)
    # Requeued before pinning: the pin's own delivery then supersedes the
    # parked one instead of leaving it counted as a conflict.
    _requeue(conflict)
    _pin_theirs(
        conflict,
        user=user,
        theirs={
            p: conflict.fields[p][THEIRS] for p, c in choices.items() if c == THEIRS
        },
    )
    return conflict


def _pin_theirs(conflict: SyncConflict, *, user: Any, theirs: dict[str, Any]) -> None:
    # Their values are remote fields: the target's source system's inbound
    # mapping (the one its inbound updates go through) names the ID-card
    # attributes they stand for. Without a source system nothing says so.
    system = conflict.target.source_system
    if not theirs or system is None:
        return
    payload: dict[str, Any] = {}
    for path, value in theirs.items():
        _path_put(payload, path, value)
    attributes = payload_map(payload, system.mapping_rules).attributes
    # Locked here, so the version the pin service checks is the current one.
    golden = (
        GoldenRecord.objects.select_for_update()
        .filter(golden_id=conflict.golden_id, status=GoldenRecord.Status.ACTIVE)
        .first()
    )
    for attribute in SCALAR_ATTRIBUTES:
        if golden is not None and attributes.get(attribute):
            golden = golden_record_pin_set(
                golden=golden,
                attribute=attribute,
                value=attributes[attribute],
                steward=user,
                expected_version=golden.version,
            )


@audit.audited(AuditEvent.Action.SYNC_CONFLICT_RESOLVE, on=_ref)
@transaction.atomic
def sync_conflict_recreate(*, conflict: SyncConflict, user: Any) -> SyncConflict:
    """Send the golden record to the target again after a remote deletion:
    a new remote record (or the archived one, reactivated)."""
    conflict = _lock_open(conflict, SyncConflict.Kind.REMOTE_DELETED)
    link = (
        RemoteLink.objects.select_for_update()
        .filter(target_id=conflict.target_id, golden_id=conflict.golden_id)
        .first()
    )
    if link is not None:
        if link.state != RemoteLink.State.REMOTE_ARCHIVED:
            link.remote_id, link.pushed, link.pushed_hash = "", {}, ""
        link.remote_version = ""
        link.updated_at = timezone.now()
        link.save()
    _close(conflict, user=user, resolution=SyncConflict.Resolution.RECREATED)
    _requeue(conflict)
    return conflict


@audit.audited(AuditEvent.Action.SYNC_CONFLICT_RESOLVE, on=_ref)
@transaction.atomic
def sync_conflict_unlink(*, conflict: SyncConflict, user: Any) -> SyncConflict:
    """Forget the link between the golden record and the remote record."""
    conflict = SyncConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.state != SyncConflict.State.OPEN:
        raise ConflictError(_("This sync conflict was resolved already."))
    RemoteLink.objects.filter(
        target_id=conflict.target_id, golden_id=conflict.golden_id
    ).delete()
    _close(conflict, user=user, resolution=SyncConflict.Resolution.UNLINKED)
    return conflict


def _path_put(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = data
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def sync_conflict_settle(*, target_id: int, golden_id: str) -> int:
    """Close an open both-sides conflict the worker's merge has since
    settled by itself (a newer version agreed with theirs, say). Called
    inside the worker's transaction; returns how many were closed."""
    return SyncConflict.objects.filter(
        target_id=target_id,
        golden_id=golden_id,
        state=SyncConflict.State.OPEN,
        kind=SyncConflict.Kind.CONFLICT,
    ).update(
        state=SyncConflict.State.RESOLVED,
        resolution=SyncConflict.Resolution.MERGED,
        resolved_at=timezone.now(),
    )
