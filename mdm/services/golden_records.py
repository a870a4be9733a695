"""Golden records: creation, linking of source records, merge and recompute."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.golden_ids import golden_id_format
from mdm.history import update_with_history
from mdm.id_card import ATTRIBUTES, SCALAR_ATTRIBUTES
from mdm.models import (
    CrossReference,
    DecisionMember,
    GoldenIdAllocation,
    GoldenRecord,
    OutboxEvent,
    SourceRecord,
    SourceSystem,
    StewardDecision,
)
from mdm.models.audit import AuditEvent
from mdm.services.audit import audited, describe_attribute
from mdm.services.errors import ConflictError, DomainError, MergeError
from mdm.services.outbox import outbox_emit, outbox_emit_many
from mdm.services.survivorship import (
    Pins,
    steward_pins,
    survive,
    survivorship_policy_get,
)

# What a snapshot keeps of a golden record, besides its lineage and members.
SNAPSHOT_FIELDS: tuple[str, ...] = (*ATTRIBUTES, "uscc_valid")


def golden_id_issue() -> str:
    """Issue a golden ID that has never been issued before."""
    return golden_id_format(GoldenIdAllocation.objects.create().pk)


def golden_record_create(
    *,
    members: Sequence[SourceRecord],
    method: str = CrossReference.Method.NEW,
    score: float | None = None,
    members_new: bool = False,
    savepoint: bool = True,
) -> GoldenRecord:
    """Create a golden record for `members` (not yet linked elsewhere).

    `members_new`: the members were created in this transaction, so none
    has a cross-reference to look up. `savepoint=False`: the caller's
    transaction ends with any error raised here (no savepoint round trips).
    """
    if not members:
        raise MergeError("A golden record needs at least one source record.")
    with transaction.atomic(savepoint=savepoint):
        golden = GoldenRecord(golden_id=golden_id_issue())
        _apply_survivorship(golden, members)
        golden._change_reason = f"created from {', '.join(m.key for m in members)}"
        golden.save()
        for member in members:
            golden_record_link(
                record=member,
                golden=golden,
                method=method,
                score=score,
                record_new=members_new,
                savepoint=False,  # an error here fails the creation anyway
            )
        # One member needs no ordering (the event lists members by system
        # and source ID, as the database sorts them): no query to read it.
        known = (
            [(members[0].source_system.code, members[0].source_id)]
            if len(members) == 1
            else None
        )
        outbox_emit(topic=OutboxEvent.Topic.CREATED, golden=golden, members=known)
    return golden


def golden_records_create_many(
    groups: Sequence[tuple[Sequence[SourceRecord], str]],
) -> list[GoldenRecord]:
    """`golden_record_create` for many groups of source records at once, in
    a handful of statements: for each (members, method) the golden record
    that one call would create, with its cross-references, history rows
    (one date for all) and its outbox event and deliveries. The members must
    have no cross-reference yet (a concurrent link makes the INSERT fail on
    the one-link-per-record constraint: nothing is written). Runs inside the
    caller's transaction; for batch matching, where one call per new golden
    record cost ~3.5 ms, most of a first import's matching run."""
    if not groups:
        return []
    if not all(members for members, _method in groups):
        raise MergeError("A golden record needs at least one source record.")
    if not connection.features.can_return_rows_from_bulk_insert:
        # SQLite before 3.35 gives no keys back from a bulk INSERT.
        return [golden_record_create(members=m, method=method) for m, method in groups]
    policy = survivorship_policy_get()
    allocations = GoldenIdAllocation.objects.bulk_create(
        GoldenIdAllocation() for _ in groups
    )
    goldens = []
    for (members, _method), allocation in zip(groups, allocations, strict=True):
        golden = GoldenRecord(golden_id=golden_id_format(allocation.pk))
        values, golden.lineage = survive(members, policy=policy)
        for attribute, value in values.items():
            setattr(golden, attribute, value)
        golden._change_reason = f"created from {', '.join(m.key for m in members)}"
        goldens.append(golden)
    now = timezone.now()
    GoldenRecord.objects.bulk_create(goldens)
    GoldenRecord.history.bulk_history_create(goldens, default_date=now)
    links = []
    for golden, (members, method) in zip(goldens, groups, strict=True):
        for member in members:
            link = CrossReference(
                source_record=member, golden=golden, method=method, linked_at=now
            )
            link._change_reason = f"linked to {golden.golden_id} ({method})"
            links.append(link)
    CrossReference.objects.bulk_create(links)
    CrossReference.history.bulk_history_create(links, default_date=now)
    outbox_emit_many(
        topic=OutboxEvent.Topic.CREATED,
        changes=list(zip(goldens, _members_listed(goldens, groups), strict=True)),
    )
    return goldens


def _members_listed(
    goldens: Sequence[GoldenRecord],
    groups: Sequence[tuple[Sequence[SourceRecord], str]],
) -> list[list[tuple[str, str]]]:
    """Each golden record's (system code, source ID) in the order the
    database sorts them, as `outbox_emit` reads them: one query for every
    golden record of more than one member."""
    several = [
        golden.pk
        for golden, (members, _method) in zip(goldens, groups, strict=True)
        if len(members) > 1
    ]
    listed: dict[int, list[tuple[str, str]]] = {pk: [] for pk in several}
    if several:
        for golden_pk, code, source_id in (
            CrossReference.objects.filter(golden_id__in=several)
            .order_by(
                "golden_id",
                "source_record__source_system__code",
                "source_record__source_id",
            )
            .values_list(
                "golden_id",
                "source_record__source_system__code",
                "source_record__source_id",
            )
        ):
            listed[golden_pk].append((code, source_id))
    return [
        listed.get(golden.pk) or [(members[0].source_system.code, members[0].source_id)]
        for golden, (members, _m) in zip(goldens, groups, strict=True)
    ]


def golden_record_link(
    *,
    record: SourceRecord,
    golden: GoldenRecord,
    method: str,
    score: float | None = None,
    record_new: bool = False,
    savepoint: bool = True,
) -> CrossReference:
    """Point `record` at `golden`; the previous link stays in the history.

    `record_new`: the record was created in this transaction, so it has no
    link yet to look up. `savepoint=False` as for `golden_record_create`.
    """
    with transaction.atomic(savepoint=savepoint):
        xref = (
            None
            if record_new
            else CrossReference.objects.select_for_update()
            .filter(source_record=record)
            .first()
        )
        if xref is None:
            xref = CrossReference(source_record=record)
        elif xref.golden_id == golden.pk:
            return xref
        xref.golden = golden
        xref.method = method
        xref.score = score
        xref.linked_at = timezone.now()
        xref._change_reason = f"linked to {golden.golden_id} ({method})"
        xref.save()
    return xref


@transaction.atomic
def golden_record_merge(
    *,
    survivor: GoldenRecord,
    absorbed: Sequence[GoldenRecord],
    steward: AbstractBaseUser,
    reason: str,
    overrides: Mapping[str, str] | None = None,
    expected_versions: Mapping[str, int] | None = None,
) -> GoldenRecord:
    """Fold `absorbed` into `survivor`: their source records move over, their
    golden IDs keep resolving to the survivor, and the decision is recorded.

    `overrides` ({attribute: value}) are the steward's choices of surviving
    scalar values, pinned until cleared; pins the records had already are
    kept (the survivor's win). `expected_versions` ({golden_id: version}) are
    the versions the steward saw: any other raises ConflictError, no write.
    The decision keeps a snapshot of every record for `golden_record_unmerge`.
    """
    absorbed_ids = {record.pk for record in absorbed}
    if not absorbed_ids:
        raise MergeError("Nothing to merge.")
    if survivor.pk in absorbed_ids:
        raise MergeError("A golden record cannot absorb itself.")
    return golden_record_merge_locked(
        locked=golden_records_lock(absorbed_ids | {survivor.pk}, expected_versions),
        survivor=survivor.pk,
        steward=steward,
        reason=reason,
        overrides=overrides,
    )


def golden_record_merge_locked(
    *,
    locked: Mapping[int, GoldenRecord],
    survivor: int,
    steward: AbstractBaseUser,
    reason: str,
    overrides: Mapping[str, str] | None = None,
) -> GoldenRecord:
    """`golden_record_merge` of golden records the caller has locked in its
    own transaction (`golden_records_lock`, versions checked): `locked`
    {pk: record}, the survivor's pk among them, every other one absorbed.

    For a caller that must hold the golden records before anything else it
    locks (a review task: golden records by id, then tasks), so that the
    merge neither locks them a second time nor opens a savepoint while the
    stewards of a busy cluster wait for it (C8)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "golden_record_merge_locked must run in the lock's transaction"
        )
    absorbed_ids = set(locked) - {survivor}
    if survivor not in locked or not absorbed_ids:
        raise MergeError("Nothing to merge.")
    inactive = [
        r.golden_id for r in locked.values() if r.status != GoldenRecord.Status.ACTIVE
    ]
    if inactive:
        raise MergeError(
            f"Only active golden records can be merged: {', '.join(inactive)}."
        )
    survivor_record = locked[survivor]
    absorbed_records = [locked[pk] for pk in sorted(absorbed_ids)]
    snapshot = golden_record_snapshots(list(locked.values()))
    pins = _merge_pins(survivor_record, absorbed_records, overrides, steward)
    _links_move(absorbed_ids, survivor_record, steward)
    for record in absorbed_records:
        record.status = GoldenRecord.Status.MERGED
        record.merged_into = survivor_record
        record.version += 1
        record._change_reason = f"merged into {survivor_record.golden_id}: {reason}"
        record._history_user = steward
        record.save()
    survivor_record._history_user = steward
    _recompute(survivor_record, reason=reason, pins=pins)
    decision = StewardDecision.objects.create(
        kind=StewardDecision.Kind.MERGE,
        decided_by=steward,
        reason=reason,
        details={
            "survivor": survivor_record.golden_id,
            "absorbed": [record.golden_id for record in absorbed_records],
        },
        snapshot=snapshot,
    )
    # The survivor's members now are every member the snapshot saw.
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=decision, source_record_id=pk)
        for pk in sorted(pk for snap in snapshot.values() for pk in snap["members"])
    )
    outbox_emit(
        topic=OutboxEvent.Topic.MERGED,
        golden=survivor_record,
        extra={"absorbed": [record.golden_id for record in absorbed_records]},
    )
    return survivor_record


def _links_move(
    golden_pks: set[int], survivor: GoldenRecord, steward: AbstractBaseUser
) -> None:
    """Point every link of `golden_pks` at `survivor`: one UPDATE and one
    history INSERT for them all (as `golden_record_link` would one by one),
    since other stewards of the cluster wait while the merge holds it (C8)."""
    moving = list(
        CrossReference.objects.select_for_update()
        .filter(golden_id__in=golden_pks)
        .order_by("pk")
    )
    if not moving:
        return
    now = timezone.now()
    update_with_history(
        moving,
        CrossReference,
        {
            "golden": survivor,
            "method": CrossReference.Method.STEWARD,
            "score": None,
            "linked_at": now,
        },
        user=steward,
        reason=f"linked to {survivor.golden_id} ({CrossReference.Method.STEWARD})",
        when=now,
    )


def golden_record_recompute(
    *, golden: GoldenRecord, reason: str, savepoint: bool = True
) -> GoldenRecord:
    """Recompute the golden values from the current member source records;
    values a steward pinned stay. The row is locked and re-read first, so
    concurrent recomputes (two sources updating one customer) each get their
    own version. `savepoint=False` as for `golden_record_create`."""
    with transaction.atomic(savepoint=savepoint):
        locked = GoldenRecord.objects.select_for_update().get(pk=golden.pk)
        locked._history_user = getattr(golden, "_history_user", None)
        golden = _recompute(locked, reason=reason, pins=steward_pins(locked))
        outbox_emit(topic=OutboxEvent.Topic.UPDATED, golden=golden)
    return golden


def golden_record_refresh(
    *, golden: GoldenRecord, reason: str, savepoint: bool = True
) -> GoldenRecord:
    """Recompute after a member changed in its source (updated or deleted;
    the members are the same), writing only what changes: new values make a
    new version with history and an outbox event, as `golden_record_recompute`
    does; the same values from another source or rule are saved with history but
    no event, as a policy change does (consumers would get nothing new);
    nothing changed, nothing is written. A source that re-sends records
    whose only change is a field the ID card does not hold (a modification
    stamp, say) thus broadcasts nothing."""
    with transaction.atomic(savepoint=savepoint):
        locked = GoldenRecord.objects.select_for_update().get(pk=golden.pk)
        members = SourceRecord.objects.select_related("source_system").filter(
            xref__golden=locked
        )
        values, lineage = survive(list(members), steward_pins(locked))
        locked._history_user = getattr(golden, "_history_user", None)
        if any(getattr(locked, name) != value for name, value in values.items()):
            _save_values(locked, values, lineage, reason=reason)
            outbox_emit(topic=OutboxEvent.Topic.UPDATED, golden=locked)
            return locked
        if lineage != locked.lineage:
            golden_record_lineage_save(golden=locked, lineage=lineage, reason=reason)
        return locked


def golden_record_lineage_save(
    *, golden: GoldenRecord, lineage: dict, reason: str
) -> None:
    """Save a lineage that changed while the values did not (decided by
    another source or rule): a new version with history, no outbox event,
    for consumers would receive nothing new. The caller holds the row lock."""
    golden.lineage = lineage
    golden.version += 1
    golden._change_reason = f"{reason} (lineage only)"
    golden.save(update_fields=["lineage", "version", "updated_at"])


def golden_records_refresh_of(
    *, system: SourceSystem, source_ids: Sequence[str], reason: str
) -> None:
    """`golden_record_refresh` of each golden record holding these source
    records of `system` (changed by an import or deleted in the source),
    once each, locked in primary key order so that two imports touching the
    same golden records cannot deadlock."""
    goldens = GoldenRecord.objects.filter(
        pk__in=CrossReference.objects.filter(
            source_record__source_system=system,
            source_record__source_id__in=source_ids,
        ).values("golden_id")
    ).order_by("pk")
    for golden in goldens:
        golden_record_refresh(golden=golden, reason=reason, savepoint=False)


@audited(AuditEvent.Action.GOLDEN_UNPIN, on="golden", describe=describe_attribute)
@transaction.atomic
def golden_record_pin_clear(
    *,
    golden: GoldenRecord,
    attribute: str,
    steward: AbstractBaseUser,
    expected_version: int,
) -> GoldenRecord:
    """Drop a steward's pinned value: the attribute follows its sources again."""
    golden = golden_record_lock(golden, expected_version)
    pins = steward_pins(golden)
    if pins.pop(attribute, None) is None:
        raise DomainError(_("This value was not chosen by a steward."))
    golden._history_user = steward
    reason = f"{steward.get_username()} cleared the chosen {attribute}"
    golden = _recompute(golden, reason=reason, pins=pins)
    outbox_emit(topic=OutboxEvent.Topic.UPDATED, golden=golden)
    return golden


@audited(AuditEvent.Action.GOLDEN_PIN, on="golden", describe=describe_attribute)
@transaction.atomic
def golden_record_pin_set(
    *,
    golden: GoldenRecord,
    attribute: str,
    value: str,
    steward: AbstractBaseUser,
    expected_version: int,
) -> GoldenRecord:
    """A steward's own value for a scalar attribute: it wins over the sources
    until a steward clears it (`golden_record_pin_clear`)."""
    if attribute not in SCALAR_ATTRIBUTES:
        raise DomainError(_("This attribute cannot be edited by hand."))
    golden = golden_record_lock(golden, expected_version)
    pins = steward_pins(golden)
    pins[attribute] = {"steward": steward.get_username(), "value": value.strip()}
    golden._history_user = steward
    reason = f"{steward.get_username()} set {attribute}"
    golden = _recompute(golden, reason=reason, pins=pins)
    outbox_emit(topic=OutboxEvent.Topic.UPDATED, golden=golden)
    return golden


def golden_record_merge_preview(
    *,
    survivor: GoldenRecord,
    absorbed: Sequence[GoldenRecord],
    overrides: Mapping[str, str] | None,
    steward: AbstractBaseUser,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values, lineage) `golden_record_merge` would give, without writing."""
    members = list(
        SourceRecord.objects.select_related("source_system").filter(
            xref__golden__in=[survivor, *absorbed]
        )
    )
    return survive(members, _merge_pins(survivor, absorbed, overrides, steward))


def golden_records_lock(
    pks: Iterable[int], expected: Mapping[str, int] | None
) -> dict[int, GoldenRecord]:
    """Lock the golden records `pks` in id order (the one lock order of every
    service: golden records by id, then review tasks) and check that they are
    at the versions the steward saw (`golden_record_check_versions`).

    A page already out of date is refused before the lock is asked for:
    versions only grow, so it would be refused under the lock as well, and
    need not queue behind the steward who changed the records. On a busy
    cluster most calls are such pages (C8: 88 % of approvals answered 409,
    each after waiting its turn)."""
    pks = set(pks)
    if expected is not None:
        golden_record_check_versions(
            list(GoldenRecord.objects.filter(pk__in=pks).only("golden_id", "version")),
            expected,
        )
    locked = GoldenRecord.objects.select_for_update().order_by("pk").in_bulk(pks)
    golden_record_check_versions(list(locked.values()), expected)
    return locked


def golden_record_lock(golden: GoldenRecord, expected_version: int) -> GoldenRecord:
    """`golden_records_lock` of one record, at the version the steward saw."""
    return golden_records_lock([golden.pk], {golden.golden_id: expected_version})[
        golden.pk
    ]


def golden_record_check_versions(
    records: Sequence[GoldenRecord], expected: Mapping[str, int] | None
) -> None:
    """Raise ConflictError unless each record is at the version the steward
    saw (`expected` maps golden IDs to versions; None skips the check)."""
    if expected is None:
        return
    stale = {
        r.golden_id: r.version
        for r in records
        if expected.get(r.golden_id) != r.version
    }
    if stale:
        raise ConflictError(
            _(
                "%(ids)s changed since you opened this page (now: %(versions)s); "
                "reload it and decide again."
            )
            % {
                "ids": ", ".join(stale),
                "versions": ", ".join(f"{g} v{v}" for g, v in stale.items()),
            }
        )


def golden_record_snapshot(golden: GoldenRecord) -> dict[str, Any]:
    """What an unmerge needs to restore `golden` exactly: values, lineage,
    version, and its members with a digest of their content."""
    return golden_record_snapshots([golden])[golden.golden_id]


def golden_record_snapshots(
    records: Sequence[GoldenRecord],
) -> dict[str, dict[str, Any]]:
    """`golden_record_snapshot` of several records, with one query."""
    members: dict[int, list[tuple[int, str, bool]]] = {r.pk: [] for r in records}
    for golden_pk, pk, fingerprint, active in (
        SourceRecord.objects.filter(xref__golden__in=list(members))
        .order_by("pk")
        .values_list("xref__golden", "pk", "fingerprint", "is_active")
    ):
        members[golden_pk].append((pk, fingerprint, active))
    return {
        golden.golden_id: {
            "values": {field: getattr(golden, field) for field in SNAPSHOT_FIELDS},
            "lineage": golden.lineage,
            "version": golden.version,
            "members": [pk for pk, _, _ in members[golden.pk]],
            "members_digest": _members_digest(members[golden.pk]),
        }
        for golden in records
    }


def golden_record_members_digest(golden: GoldenRecord) -> str:
    """A digest of which source records belong to `golden` and what they say."""
    return _members_digest(
        SourceRecord.objects.filter(xref__golden=golden)
        .order_by("pk")
        .values_list("pk", "fingerprint", "is_active")
    )


def _members_digest(rows) -> str:
    text = "\n".join(f"{pk}:{fingerprint}:{active}" for pk, fingerprint, active in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def _merge_pins(
    survivor: GoldenRecord,
    absorbed: Sequence[GoldenRecord],
    overrides: Mapping[str, str] | None,
    steward: AbstractBaseUser,
) -> dict[str, Any]:
    pins: dict[str, Any] = {}
    for record in reversed(absorbed):
        pins.update(steward_pins(record))
    pins.update(steward_pins(survivor))
    for attribute, value in (overrides or {}).items():
        if attribute not in SCALAR_ATTRIBUTES:
            raise MergeError(f"{attribute} cannot be chosen by a steward.")
        pins[attribute] = {"steward": steward.get_username(), "value": value}
    return pins


def _recompute(golden: GoldenRecord, *, reason: str, pins: Pins) -> GoldenRecord:
    members = list(
        SourceRecord.objects.select_related("source_system").filter(xref__golden=golden)
    )
    values, lineage = survive(members, pins)
    _save_values(golden, values, lineage, reason=reason)
    return golden


def _save_values(
    golden: GoldenRecord, values: dict[str, Any], lineage: dict, *, reason: str
) -> None:
    """Store survivorship's values and lineage as the next version."""
    for attribute, value in values.items():
        setattr(golden, attribute, value)
    golden.lineage = lineage
    golden.version += 1
    golden._change_reason = reason
    golden.save()


def _apply_survivorship(
    golden: GoldenRecord, members: Sequence[SourceRecord], pins: Pins | None = None
) -> None:
    values, lineage = survive(members, pins)
    for attribute, value in values.items():
        setattr(golden, attribute, value)
    golden.lineage = lineage
