"""Stewards working the review queue: claim, assign and release tasks; merge,
not a match, skip, defer and reopen; bulk-approve a set above a score.

Every service checks that the person may decide and that the task is still
as the steward saw it (open, not claimed by someone else, the golden records
at the versions on the page); if not, ConflictError and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.history import update_with_history
from mdm.models import CrossReference, GoldenRecord, ReviewTask, StewardDecision
from mdm.models.audit import AuditEvent
from mdm.selectors.review_queue import review_task_default_keep, review_task_sides
from mdm.selectors.roles import user_role
from mdm.services import audit
from mdm.services.decisions import decision_record_not_a_match
from mdm.services.errors import ConflictError, DomainError
from mdm.services.golden_records import golden_record_merge_locked, golden_records_lock

KEEP_SIDES = ("left", "right")


@audit.audited(AuditEvent.Action.TASK_CLAIM, on="task")
@transaction.atomic
def review_task_claim(*, task: ReviewTask, steward: AbstractBaseUser) -> ReviewTask:
    """Take an open task so that no one else decides it meanwhile."""
    task = _lock_open(task, steward)
    task.assignee = steward
    return _save(task, steward, reason=f"claimed by {steward.get_username()}")


@audit.audited(AuditEvent.Action.TASK_ASSIGN, on="task")
@transaction.atomic
def review_task_assign(
    *, task: ReviewTask, assignee: AbstractBaseUser, steward: AbstractBaseUser
) -> ReviewTask:
    """Give an open task to a steward (a claim by someone else is overruled
    only by an admin)."""
    _check_decider(steward)
    if not user_role(assignee).can_decide:
        raise DomainError(
            _("%(name)s is not a steward.") % {"name": assignee.get_username()}
        )
    task = _lock_open(task, steward)
    task.assignee = assignee
    return _save(
        task,
        steward,
        reason=f"assigned to {assignee.get_username()} by {steward.get_username()}",
    )


@audit.audited(AuditEvent.Action.TASK_RELEASE, on="task")
@transaction.atomic
def review_task_release(*, task: ReviewTask, steward: AbstractBaseUser) -> ReviewTask:
    """Give a claimed task back to the queue."""
    task = _lock_open(task, steward)
    task.assignee = None
    return _save(task, steward, reason=f"released by {steward.get_username()}")


@audit.audited(AuditEvent.Action.TASK_MERGE, on="task", describe=audit.describe_golden)
@transaction.atomic
def review_task_merge(
    *,
    task: ReviewTask,
    steward: AbstractBaseUser,
    reason: str,
    keep: str,
    overrides: Mapping[str, str],
    versions: Mapping[str, int],
) -> GoldenRecord:
    """Merge the golden records of the task's two source records.

    `keep` ("left"/"right") names the side whose golden ID survives;
    `overrides` are the values the steward chose ({attribute: value});
    `versions` the golden records' versions shown on the page.
    """
    if keep not in KEEP_SIDES:
        raise DomainError(f"keep must be one of {KEEP_SIDES}, not {keep!r}.")
    _check_decider(steward)
    left, right = _lock_goldens(task, versions)
    task = _lock_open(task, steward)
    if left.pk == right.pk:
        task.status = ReviewTask.Status.OBSOLETE
        _close(task, steward, reason="both records already in one golden record")
        return left
    merged = golden_record_merge_locked(
        locked={left.pk: left, right.pk: right},
        survivor=(left if keep == "left" else right).pk,
        steward=steward,
        reason=_decision_reason(task, reason),
        overrides=overrides,
    )
    task.status = ReviewTask.Status.MERGED
    _close(task, steward, reason=f"merged into {merged.golden_id}")
    _obsolete_within(merged, steward)
    return merged


@audit.audited(AuditEvent.Action.TASK_NOT_A_MATCH, on="task")
@transaction.atomic
def review_task_not_a_match(
    *,
    task: ReviewTask,
    steward: AbstractBaseUser,
    reason: str,
    versions: Mapping[str, int],
) -> StewardDecision:
    """Record that the two source records are different customers, for ever."""
    _check_decider(steward)
    _lock_goldens(task, versions)
    task = _lock_open(task, steward)
    decision = decision_record_not_a_match(
        records=[task.left, task.right],
        steward=steward,
        reason=_decision_reason(task, reason),
    )
    task.status = ReviewTask.Status.NOT_A_MATCH
    _close(task, steward, reason="not a match")
    return decision


@audit.audited(AuditEvent.Action.TASK_SKIP, on="task")
@transaction.atomic
def review_task_skip(
    *, task: ReviewTask, steward: AbstractBaseUser, comment: str = ""
) -> ReviewTask:
    """Leave the task undecided and out of the open queue; it can be reopened."""
    task = _lock_open(task, steward)
    task.status = ReviewTask.Status.SKIPPED
    task.comment = comment
    return _close(task, steward, reason="skipped")


@audit.audited(AuditEvent.Action.TASK_DEFER, on="task")
@transaction.atomic
def review_task_defer(
    *, task: ReviewTask, steward: AbstractBaseUser, comment: str
) -> ReviewTask:
    """Put the task aside with a comment saying what it waits for."""
    if not comment.strip():
        raise DomainError(_("Say why the task is deferred."))
    task = _lock_open(task, steward)
    task.status = ReviewTask.Status.DEFERRED
    task.comment = comment.strip()
    return _close(task, steward, reason="deferred")


@audit.audited(AuditEvent.Action.TASK_REOPEN, on="task")
@transaction.atomic
def review_task_reopen(*, task: ReviewTask, steward: AbstractBaseUser) -> ReviewTask:
    """Put a skipped or deferred task back in the open queue."""
    _check_decider(steward)
    task = ReviewTask.objects.select_for_update().get(pk=task.pk)
    if task.status not in (ReviewTask.Status.SKIPPED, ReviewTask.Status.DEFERRED):
        raise ConflictError(_("Only a skipped or deferred task can be reopened."))
    if ReviewTask.objects.filter(
        left_id=task.left_id, right_id=task.right_id, status=ReviewTask.Status.OPEN
    ).exists():
        raise ConflictError(_("The same pair is already open in another task."))
    task.status = ReviewTask.Status.OPEN
    task.resolved_at = None
    task.assignee = None
    return _save(task, steward, reason=f"reopened by {steward.get_username()}")


@dataclass(frozen=True)
class BulkItem:
    """A task as the steward saw it on the confirmation page."""

    task_id: int
    versions: Mapping[str, int]


@dataclass
class BulkOutcome:
    merged: list[int] = field(default_factory=list)
    # (task id, why it was left alone)
    left_alone: list[tuple[int, str]] = field(default_factory=list)


@audit.audited(
    AuditEvent.Action.TASK_BULK_APPROVE,
    on=audit.ref_bulk_items,
    describe=audit.describe_bulk,
)
@transaction.atomic
def review_tasks_bulk_approve(
    *,
    items: Sequence[BulkItem],
    min_score: float,
    steward: AbstractBaseUser,
    reason: str,
) -> BulkOutcome:
    """Merge every listed task still open at or above `min_score`, keeping the
    default survivor and survivorship. Tasks with a USCC conflict, claimed by
    someone else, or changed since the steward saw them are left alone."""
    _check_decider(steward)
    outcome = BulkOutcome()
    tasks = ReviewTask.objects.in_bulk([item.task_id for item in items])
    known = [item for item in items if item.task_id in tasks]
    # The merges below run in score order inside this one transaction, each
    # locking its two golden records: two bulk approvals (or a bulk approval
    # and a single merge) sharing records would take them in different
    # orders and could deadlock. Lock them all first, in id order, the
    # order of every other service (golden records by id, then tasks).
    _lock_goldens_of([tasks[item.task_id] for item in known])
    for item in sorted(known, key=lambda i: (-tasks[i.task_id].score, i.task_id)):
        task = tasks[item.task_id]
        if task.score < min_score:
            outcome.left_alone.append((task.pk, _("below the chosen score")))
            continue
        if task.has_uscc_conflict:
            outcome.left_alone.append((task.pk, _("USCC conflict")))
            continue
        left, right = review_task_sides(task)
        if left.golden.pk == right.golden.pk:
            outcome.left_alone.append((task.pk, _("already one golden record")))
            continue
        try:
            with transaction.atomic():
                review_task_merge(
                    task=task,
                    steward=steward,
                    reason=reason,
                    keep=review_task_default_keep(left, right),
                    overrides={},
                    versions=item.versions,
                )
        except DomainError as exc:
            outcome.left_alone.append((task.pk, str(exc)))
        else:
            outcome.merged.append(task.pk)
    return outcome


def _check_decider(steward: AbstractBaseUser) -> None:
    if not user_role(steward).can_decide:
        raise PermissionDenied


def _lock_open(task: ReviewTask, steward: AbstractBaseUser) -> ReviewTask:
    _check_decider(steward)
    # Lock the task row only, not the records and users joined to it.
    task = (
        ReviewTask.objects.select_for_update(of=("self",))
        .select_related("left__source_system", "right__source_system", "assignee")
        .get(pk=task.pk)
    )
    if task.status != ReviewTask.Status.OPEN:
        raise ConflictError(
            _("This task is no longer open (%(status)s).")
            % {"status": task.get_status_display()}
        )
    if (
        task.assignee_id is not None
        and task.assignee_id != steward.pk
        and not steward.is_superuser
    ):
        raise ConflictError(
            _("%(name)s has claimed this task.")
            % {"name": task.assignee.get_username()}
        )
    return task


def _lock_goldens(
    task: ReviewTask, versions: Mapping[str, int]
) -> tuple[GoldenRecord, GoldenRecord]:
    # Lock order, everywhere: golden records (by id) before review tasks.
    # A merge locks the other open tasks of its cluster (_obsolete_within)
    # while it holds the golden records; a decision that took its task first
    # and then waited for those golden records deadlocked with it (C8 bench).
    golden_of = dict(
        CrossReference.objects.filter(
            source_record_id__in=[task.left_id, task.right_id]
        ).values_list("source_record_id", "golden_id")
    )
    locked = golden_records_lock(golden_of.values(), versions)
    return locked[golden_of[task.left_id]], locked[golden_of[task.right_id]]


def _lock_goldens_of(tasks: Sequence[ReviewTask]) -> None:
    # A record merged elsewhere between this read and the lock belongs to a
    # golden record not locked here; review_task_merge locks that one when
    # it gets there, out of order. That window is short; should it deadlock,
    # PostgreSQL aborts one of the two transactions (an error, no damage).
    record_ids = {pk for task in tasks for pk in (task.left_id, task.right_id)}
    golden_ids = CrossReference.objects.filter(source_record_id__in=record_ids).values(
        "golden_id"
    )
    list(
        GoldenRecord.objects.select_for_update()
        .filter(pk__in=golden_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _decision_reason(task: ReviewTask, reason: str) -> str:
    context = f"review task {task.pk}, score {task.score:.2f}"
    return f"{reason.strip()} ({context})" if reason.strip() else context


def _save(task: ReviewTask, steward: AbstractBaseUser, *, reason: str) -> ReviewTask:
    task._history_user = steward
    task._change_reason = reason
    task.save()
    return task


def _close(task: ReviewTask, steward: AbstractBaseUser, *, reason: str) -> ReviewTask:
    task.resolved_at = timezone.now()
    task.assignee = steward
    return _save(task, steward, reason=f"{reason} by {steward.get_username()}")


def _obsolete_within(golden: GoldenRecord, steward: AbstractBaseUser) -> None:
    """Open tasks whose two records now share `golden` have nothing to decide."""
    members = CrossReference.objects.filter(golden=golden).values("source_record_id")
    tasks = list(
        ReviewTask.objects.select_for_update()
        .filter(status=ReviewTask.Status.OPEN, left__in=members, right__in=members)
        .order_by("pk")
    )
    if not tasks:
        return
    # One UPDATE and one history INSERT for all of them, not two statements a
    # task: this runs while the merge holds the cluster's golden records, and
    # every statement there is time other stewards of the cluster wait (C8).
    now = timezone.now()
    update_with_history(
        tasks,
        ReviewTask,
        {
            "status": ReviewTask.Status.OBSOLETE,
            "resolved_at": now,
            "assignee": steward,
        },
        user=steward,
        reason=f"both records now in {golden.golden_id} by {steward.get_username()}",
        when=now,
    )
