"""The audit log: who did what to which object, when, from where, and how it
ended. Append-only: rows are never changed or removed (the model refuses, and
a database trigger refuses UPDATE and DELETE, migration 0012).

It holds no personal data: objects are named by their keys (golden ID, source
key, task id), and any free text is masked (mdm/masking.py) before it is
written.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """An attempt to change or remove an audit row."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")

    def delete(self):
        raise AppendOnlyError("The audit log is append-only.")

    # bulk_update goes through update(); _raw_delete is what a cascade uses.
    def _raw_delete(self, using):
        raise AppendOnlyError("The audit log is append-only.")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        LOGIN = "auth.login", _("login")
        LOGOUT = "auth.logout", _("logout")
        LOGIN_FAILED = "auth.login_failed", _("failed login")
        LOCKOUT = "auth.lockout", _("account locked out")
        # A write refused before any service ran (role, scope, bad token).
        ACCESS = "access", _("request refused")
        TASK_CLAIM = "task.claim", _("claim task")
        TASK_ASSIGN = "task.assign", _("assign task")
        TASK_RELEASE = "task.release", _("release task")
        TASK_MERGE = "task.merge", _("merge")
        TASK_NOT_A_MATCH = "task.not_a_match", _("not a match")
        TASK_SKIP = "task.skip", _("skip task")
        TASK_DEFER = "task.defer", _("defer task")
        TASK_REOPEN = "task.reopen", _("reopen task")
        TASK_BULK_APPROVE = "task.bulk_approve", _("bulk approve")
        GOLDEN_SPLIT = "golden.split", _("split")
        GOLDEN_SPLIT_UNDO = "golden.split_undo", _("undo split")
        GOLDEN_UNMERGE = "golden.unmerge", _("unmerge")
        GOLDEN_PIN = "golden.pin", _("edit value")
        GOLDEN_UNPIN = "golden.unpin", _("clear edited value")
        RECORD_UPSERT = "record.upsert", _("API: record upsert")
        RECORD_DELETE = "record.delete", _("API: record deleted in source")
        RECORD_BATCH = "record.batch", _("API: record batch")
        TOKEN_ISSUE = "token.issue", _("issue API token")
        TOKEN_ROTATE = "token.rotate", _("rotate API token")
        TOKEN_REVOKE = "token.revoke", _("revoke API token")
        IMPORT_CREATE = "import.create", _("import uploaded")
        IMPORT_CONFIRM = "import.confirm", _("import confirmed")
        IMPORT_FINISH = "import.finish", _("import finished")
        EXPORT = "export", _("export")
        SYNC_CONFLICT_RESOLVE = "sync_conflict.resolve", _("resolve sync conflict")
        UNMASK = "pii.unmask", _("show full value")
        ERASURE = "pii.erasure", _("erase personal data")

    class Outcome(models.TextChoices):
        OK = "ok", _("ok")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    class ActorKind(models.TextChoices):
        USER = "user", _("user")
        API_CLIENT = "api_client", _("API client")
        SYSTEM = "system", _("system")
        ANONYMOUS = "anonymous", _("anonymous")

    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind)
    # A username, "client-name gr_AbC123" (API client and token prefix),
    # "command:export_xref" or "worker". Text, not a foreign key: the row
    # must outlive (and never be rewritten by) a change to the user table.
    actor = models.CharField(_("actor"), max_length=150, db_index=True)
    action = models.CharField(_("action"), max_length=32, choices=Action)
    # "golden_record", "source_record", "review_task", "import_job", ...
    object_type = models.CharField(_("object type"), max_length=32, blank=True)
    # Golden ID, source key (system:source ID), task id, token prefix...
    object_ref = models.CharField(_("object"), max_length=255, blank=True)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome)
    # Short and masked: "into GR0000000012", "ConflictError: ...".
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["object_type", "object_ref"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")


class ErasureRecord(models.Model):
    """One executed erasure request (PIPL / GDPR): who, when, why, and which
    records it scrubbed. The erased values themselves are never stored:
    `subject_hashes` holds keyed hashes of the identifiers asked for, so a
    later "was this number erased?" can be answered, and nothing more."""

    executed_at = models.DateTimeField(_("executed at"), default=timezone.now)
    executed_by = models.CharField(_("executed by"), max_length=150)
    # Masked before it is stored (a reason may quote the person's number).
    reason = models.TextField(_("reason"))
    subject_hashes = models.JSONField(_("keyed hashes of the identifiers"))
    golden_ids = models.JSONField(_("golden records"), default=list)
    source_keys = models.JSONField(_("source records"), default=list)
    # {"mdm_sourcerecord": 2, "mdm_historicalsourcerecord": 5, ...}
    counts = models.JSONField(_("rows scrubbed per table"), default=dict)

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-executed_at"]

    def __str__(self) -> str:
        return f"erasure {self.pk} at {self.executed_at:%Y-%m-%d %H:%M}"
